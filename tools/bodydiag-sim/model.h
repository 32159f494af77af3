/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * model: the physical model of the trunk release chain of the simulated car
 * (../shared/docs/trunk-domain.md): fob cell and RF link, BCM receiver and release
 * logic with its inhibits, high-side output driver with open/short diagnosis and DTCs
 * (ISO 14229-1 status byte life cycle), release fuse, hinge wiring, actuator, latch,
 * lid and ajar switch, key blade, and an optional aftermarket alarm node.
 *
 * Pure C: no sockets, no clock, no globals. Time is simulated and passed in
 * (sim_model_step()); all randomness comes from a PRNG seeded from the config, so a
 * seed and a sequence of calls always give the same result.
 *
 * The caller (the simulator binary, the tests) reads sim_model_signals() and encodes
 * the frames of dbc/bodydiag-sim.dbc from it, answers UDS from the signals and the DTC
 * table, and drains events with sim_model_pop_event().
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"

#define SIM_MODEL_FOB_SLOTS 4u
/* Internal time step. Physical effects (inrush, debounce) are resolved to this. */
#define SIM_MODEL_TICK_US 1000
/* Events queued but not popped beyond this are dropped (oldest first). */
#define SIM_MODEL_EVENT_QUEUE 256u

/* Values match the VAL_ tables of dbc/bodydiag-sim.dbc. */
enum sim_rke_button {
	SIM_RKE_BUTTON_NONE = 0,
	SIM_RKE_BUTTON_LOCK = 1,
	SIM_RKE_BUTTON_UNLOCK = 2,
	SIM_RKE_BUTTON_TRUNK = 3,
	SIM_RKE_BUTTON_PANIC = 4,
	_SIM_RKE_BUTTON_MAX,
};

enum sim_telegram_status {
	SIM_TELEGRAM_IDLE = 0,        /* no telegram in the last hold window */
	SIM_TELEGRAM_VALID = 1,       /* decoded, known fob, rolling code accepted */
	SIM_TELEGRAM_CRC_ERROR = 2,   /* carrier seen, telegram corrupt (weak signal) */
	SIM_TELEGRAM_UNKNOWN_FOB = 3, /* decoded, fob id not programmed in this BCM */
	_SIM_TELEGRAM_MAX,
};

enum sim_release_source {
	SIM_RELEASE_NONE = 0,
	SIM_RELEASE_FOB = 1,
	SIM_RELEASE_INTERIOR = 2,
	SIM_RELEASE_EXTERIOR = 3,
	SIM_RELEASE_TESTER = 4, /* UDS 0x2F input/output control */
	_SIM_RELEASE_MAX,
};

enum sim_inhibit {
	SIM_INHIBIT_NONE = 0,
	SIM_INHIBIT_SPEED = 1,
	SIM_INHIBIT_GEAR = 2,
	SIM_INHIBIT_ALARM_ARMED = 3,
	SIM_INHIBIT_VALET = 4,
	SIM_INHIBIT_OUTPUT_LOCKOUT = 5,
	SIM_INHIBIT_SWITCH_STUCK = 6,
	SIM_INHIBIT_LOW_VOLTAGE = 7,
	SIM_INHIBIT_EXTERNAL = 8, /* another node on the bus asked for an inhibit */
	SIM_INHIBIT_LOCKED = 9,   /* exterior switch while the car is locked */
	_SIM_INHIBIT_MAX,
};

enum sim_gear {
	SIM_GEAR_P = 0,
	SIM_GEAR_R = 1,
	SIM_GEAR_N = 2,
	SIM_GEAR_D = 3,
	_SIM_GEAR_MAX,
};

enum sim_ignition {
	SIM_IGNITION_OFF = 0,
	SIM_IGNITION_ACC = 1,
	SIM_IGNITION_RUN = 2,
	SIM_IGNITION_START = 3,
	_SIM_IGNITION_MAX,
};

enum sim_lock_state {
	SIM_LOCK_UNLOCKED = 0,
	SIM_LOCK_LOCKED = 1,
	_SIM_LOCK_MAX,
};

enum sim_alarm_state {
	SIM_ALARM_DISARMED = 0,
	SIM_ALARM_ARMING = 1, /* after a fob lock, before the arming delay ran out */
	SIM_ALARM_ARMED = 2,
	_SIM_ALARM_STATE_MAX,
};

/* What the BCM's output diagnosis last concluded (DID TrunkOutputCircuitStatus). */
enum sim_output_status {
	SIM_OUTPUT_STATUS_NOT_TESTED = 0,
	SIM_OUTPUT_STATUS_OK = 1,
	SIM_OUTPUT_STATUS_OPEN = 2,
	SIM_OUTPUT_STATUS_SHORT_TO_GROUND = 3,
	SIM_OUTPUT_STATUS_LOW_CURRENT = 4,
	_SIM_OUTPUT_STATUS_MAX,
};

/* Buttons and switches a person can operate. */
enum sim_button {
	SIM_BUTTON_FOB_TRUNK,
	SIM_BUTTON_FOB_LOCK,
	SIM_BUTTON_FOB_UNLOCK,
	SIM_BUTTON_INTERIOR,
	SIM_BUTTON_EXTERIOR,
	_SIM_BUTTON_MAX,
};

/*
 * Current values of everything the simulated BCM broadcasts or serves as a DID.
 * Physical units as in the DBC/profile; the encoder applies factor/offset.
 */
struct sim_signals {
	/* BCM_RkeStatus: the last telegram, held for SIM_MODEL_RKE_HOLD_MS after it */
	enum sim_rke_button rke_button;
	enum sim_telegram_status rke_telegram_status;
	int rke_rssi_dbm;           /* last telegram's RSSI, or the receiver noise floor */
	bool rke_battery_low;       /* battery-low flag in the last telegram */
	unsigned rke_fob_index;     /* slot of the last telegram's fob, 7 = none/unknown */
	uint8_t rke_telegram_counter; /* low byte of the last telegram's rolling counter */
	uint32_t rke_seq;           /* +1 per telegram the receiver saw: send the event frame */

	/* BCM_TrunkStatus */
	enum sim_release_source release_request;
	bool actuator_cmd;          /* what the BCM commanded, not what happened */
	double actuator_current_a;  /* high-side driver current sense */
	bool ajar;                  /* trunk ajar switch (in the latch) */
	enum sim_inhibit inhibit;
	bool interior_switch;
	bool exterior_switch;
	uint32_t trunk_seq;         /* +1 on every change of the discrete trunk signals */

	/* BCM_VehicleState */
	double speed_kmh;
	enum sim_gear gear;
	enum sim_ignition ignition;
	double battery_v;

	/* BCM_Power */
	double bcm_supply_v;
	double fuse_v;              /* load side of the trunk release fuse */
	enum sim_lock_state lock_state;
	enum sim_alarm_state perimeter_alarm;
	bool valet;

	/* ALARM_Status / ALARM_Command: only sent while alarm_present */
	bool alarm_present;
	bool alarm_armed;
	bool alarm_cut_active;      /* splice relay open */
	bool alarm_inhibit_request;
	uint32_t alarm_cmd_seq;     /* +1 per ALARM_Command event frame to send */

	/* DID-only values */
	unsigned fob_count;         /* programmed fobs */
	uint8_t fob_programmed_mask;    /* bit i: slot i programmed */
	uint8_t fob_trunk_enabled_mask; /* bit i: slot i has the trunk function */
	uint8_t fob_battery_low_mask;   /* bit i: last telegram from slot i had the flag */
	unsigned last_fob;          /* slot of the last accepted fob, 7 = none */
	uint32_t lockout_remaining_ms;
	enum sim_output_status output_status;
	double lid_position;        /* 0 closed .. 1 fully open (not broadcast: physics) */
};

#define SIM_MODEL_RKE_HOLD_MS 300

/* DTCs the simulated BCM can set; texts and provenance in profiles/sim-2026.profile. */
enum sim_dtc_id {
	SIM_DTC_RELEASE_SHORT_GND, /* B1A40-11 */
	SIM_DTC_RELEASE_OPEN,      /* B1A40-13 */
	SIM_DTC_RELEASE_PERF,      /* B1A40-92 */
	SIM_DTC_INTERIOR_STUCK,    /* B1A44-24 */
	SIM_DTC_EXTERIOR_STUCK,    /* B1A45-24 */
	SIM_DTC_FOB1_BATTERY,      /* B1A51-16 */
	SIM_DTC_FOB2_BATTERY,      /* B1A52-16 */
	SIM_DTC_FOB3_BATTERY,      /* B1A53-16 */
	SIM_DTC_FOB4_BATTERY,      /* B1A54-16 */
	SIM_DTC_BCM_INTERNAL,      /* U3000-49 */
	_SIM_DTC_MAX,
};

/* ISO 14229-1 DTC status bits. */
enum sim_dtc_status_bit {
	SIM_DTC_TF = 1u << 0,      /* testFailed */
	SIM_DTC_TFTOC = 1u << 1,   /* testFailedThisOperationCycle */
	SIM_DTC_PDTC = 1u << 2,    /* pendingDTC */
	SIM_DTC_CDTC = 1u << 3,    /* confirmedDTC */
	SIM_DTC_TNCSLC = 1u << 4,  /* testNotCompletedSinceLastClear */
	SIM_DTC_TFSLC = 1u << 5,   /* testFailedSinceLastClear */
	SIM_DTC_TNCTOC = 1u << 6,  /* testNotCompletedThisOperationCycle */
	SIM_DTC_WIR = 1u << 7,     /* warningIndicatorRequested: never set by a body DTC here */
};
/* The bits this BCM supports (answer of 0x19 0x01/0x02 availability mask). */
#define SIM_DTC_AVAILABILITY_MASK 0x7Fu

/* Freeze frame taken when a DTC fails (record 0x01 first, 0x02 most recent). */
struct sim_dtc_snapshot {
	int64_t t_us;
	double battery_v;
	double speed_kmh;
	enum sim_ignition ignition;
	double actuator_current_a;
	double fuse_v;
	uint16_t operation_cycle;
};

struct sim_dtc {
	uint32_t code;          /* 3-byte DTC: high byte J2012 letter/number, low byte FTB */
	uint8_t status;         /* enum sim_dtc_status_bit */
	uint8_t occurrence;     /* testFailed 0->1 transitions, saturating (ext. data 0x01) */
	uint8_t aging;          /* operation cycles without failure since confirmed (0x02) */
	uint8_t failed_cycles;  /* operation cycles with a failure while pending (0x03) */
	bool has_first, has_last;
	struct sim_dtc_snapshot first, last;
};

enum sim_event_type {
	SIM_EVENT_TELEGRAM,         /* a = enum sim_telegram_status, b = button, c = fob slot */
	SIM_EVENT_TELEGRAM_LOST,    /* fob sent, receiver saw nothing; a = button, c = fob */
	SIM_EVENT_LOCK,             /* a = enum sim_lock_state */
	SIM_EVENT_ALARM,            /* a = enum sim_alarm_state (perimeter) */
	SIM_EVENT_RELEASE_REQUEST,  /* a = enum sim_release_source */
	SIM_EVENT_RELEASE_INHIBITED,/* a = source, b = enum sim_inhibit */
	SIM_EVENT_OUTPUT_ON,        /* a = source */
	SIM_EVENT_OUTPUT_OFF,
	SIM_EVENT_SHORT_DETECTED,
	SIM_EVENT_LOCKOUT_END,
	SIM_EVENT_FUSE_BLOWN,
	SIM_EVENT_LATCH_RELEASED,   /* a = 1 when by the key blade */
	SIM_EVENT_LATCH_CLOSED,
	SIM_EVENT_KEY_BLADE,        /* a = 1 when the latch moved */
	SIM_EVENT_DTC_STATUS,       /* a = enum sim_dtc_id, b = old status, c = new status */
	SIM_EVENT_IGNITION,         /* a = enum sim_ignition */
	SIM_EVENT_FAULT,            /* a = enum sim_fault, b = 1 added / 0 removed */
	SIM_EVENT_ALARM_NODE,       /* a = aftermarket armed, b = inhibit request */
	_SIM_EVENT_MAX,
};

struct sim_event {
	int64_t t_us;
	enum sim_event_type type;
	int a, b, c;
};

struct sim_model_config {
	uint64_t seed;
	uint32_t lockout_ms;      /* output lockout after a short: 30000..180000 */
	uint8_t confirm_cycles;   /* cycles with a failure before confirmedDTC: 1..255 */
	uint8_t aging_cycles;     /* clean cycles before a confirmed DTC ages out: 1..255 */
	unsigned fob_count;       /* programmed fobs, slots 0..fob_count-1: 1..4 */
	double battery_v;         /* resting battery voltage: 9..16 */
	double fob_distance_m;    /* distance of a fob press when none is given: 0.1..100 */
};

struct sim_model;

/* Fills the defaults: seed 1, lockout 60 s, confirm 1, aging 40, 2 fobs, 12.4 V, 3 m. */
void sim_model_config_init(struct sim_model_config *cfg);

/*
 * New model at simulated time 0: ignition run, engine off, speed 0, gear P, unlocked,
 * lid closed, no faults, DTC status bytes 0x50 (never tested). cfg NULL = defaults.
 * Returns 0 and *ret, -EINVAL for a config out of range, -ENOMEM.
 */
int sim_model_new(const struct sim_model_config *cfg, struct sim_model **ret);
/* Accepts NULL; returns NULL. */
struct sim_model *sim_model_free(struct sim_model *m);

/* Current simulated time, microseconds. */
int64_t sim_model_now(const struct sim_model *m);
/*
 * Advances the model to now_us in SIM_MODEL_TICK_US steps; sim_model_now() is then
 * now_us rounded down to a tick, and the remainder is carried to the next call (a call
 * with a time between the two is a no-op). Actions take effect at sim_model_now().
 * Returns 0, -EINVAL when now_us is earlier than sim_model_now().
 */
int sim_model_step(struct sim_model *m, int64_t now_us);

/* Faults: added with options (NULL = defaults), removed, or all cleared ("healthy"). */
int sim_model_fault_add(struct sim_model *m, enum sim_fault f, const struct sim_fault_opts *opts);
int sim_model_fault_remove(struct sim_model *m, enum sim_fault f); /* -ENOENT if not active */
void sim_model_fault_clear(struct sim_model *m);
bool sim_model_fault_active(const struct sim_model *m, enum sim_fault f);

/*
 * Actions, taking effect at sim_model_now(). Fob presses: fob slot 0..3, distance in
 * metres (<= 0: the configured default). A switch press holds the switch for hold_us
 * (<= 0: 250 ms). Return 0 or -EINVAL (argument out of range), -EBUSY (that switch is
 * already held).
 */
int sim_model_press(struct sim_model *m, enum sim_button b, unsigned fob, double distance_m,
		    int64_t hold_us);
/* The mechanical key in the lid's lock cylinder: releases the latch unless it is jammed. */
int sim_model_key_blade(struct sim_model *m);
/* The person pushes the lid down; it latches when it reaches the striker. */
int sim_model_close_lid(struct sim_model *m);
/* Ignition transitions delimit DTC operation cycles (one cycle = ignition on to on). */
int sim_model_set_ignition(struct sim_model *m, enum sim_ignition ign);
int sim_model_set_speed(struct sim_model *m, double kmh);       /* 0..300 */
int sim_model_set_gear(struct sim_model *m, enum sim_gear g);
int sim_model_set_battery(struct sim_model *m, double volts);   /* 6..16 */
int sim_model_set_perimeter_alarm(struct sim_model *m, bool armed);
int sim_model_set_valet(struct sim_model *m, bool on);
/*
 * Fob learning (UDS routine, security unlocked): programs slot 0..3 with the trunk
 * function. This is the repair of fob_unprogrammed for that slot, so the fault goes.
 * Returns 0, -EINVAL for a slot out of range.
 */
int sim_model_fob_learn(struct sim_model *m, unsigned slot);
/* Arms/disarms the aftermarket alarm; -ENODEV when none is installed. */
int sim_model_set_aftermarket_armed(struct sim_model *m, bool armed);

/*
 * UDS 0x2F on the release output, as the UDS server will call it: on = short-term
 * adjustment "on" for one release pulse, !on = return control to the ECU (ends the
 * pulse). Protocol outcomes are the caller's: this returns -EPERM when the vehicle is
 * moving or not in P (NRC 0x22 conditionsNotCorrect), -EBUSY during the output
 * lockout (NRC 0x22 as well), 0 otherwise.
 */
int sim_model_output_control(struct sim_model *m, bool on);

/* The values to broadcast now. Pointer valid until the next non-const call. */
const struct sim_signals *sim_model_signals(const struct sim_model *m);

/* DTC table, indexed by enum sim_dtc_id. NULL for out-of-range ids. */
const struct sim_dtc *sim_model_dtc(const struct sim_model *m, enum sim_dtc_id id);
/* 3-byte code of a DTC id (0 out of range), and its text form "B1A40-13" (buf >= 9). */
uint32_t sim_dtc_code(enum sim_dtc_id id);
void sim_dtc_format(uint32_t code, char buf[static 9]);
/*
 * UDS 0x14: clears DTCs whose 3-byte code matches group (0xFFFFFF = all, 0xFFFF00-style
 * group masks are not supported: exact code or all). Status back to 0x50, counters and
 * snapshots dropped. Returns the number cleared, -ENOENT when no DTC matches.
 */
int sim_model_dtc_clear(struct sim_model *m, uint32_t group);

/*
 * Pops the oldest event. Returns 1 and *ret, 0 when none is queued. Events beyond
 * SIM_MODEL_EVENT_QUEUE are dropped oldest first; sim_model_events_dropped() counts them.
 */
int sim_model_pop_event(struct sim_model *m, struct sim_event *ret);
uint64_t sim_model_events_dropped(const struct sim_model *m);
/* Human-readable event, for logs and --print. Always NUL-terminates buf (len > 0). */
void sim_event_format(const struct sim_event *e, char *buf, size_t len);

/* Names matching the DBC VAL_ tables, for printing; NULL out of range. */
const char *sim_release_source_name(enum sim_release_source s);
const char *sim_inhibit_name(enum sim_inhibit i);
const char *sim_rke_button_name(enum sim_rke_button b);
const char *sim_telegram_status_name(enum sim_telegram_status s);
const char *sim_gear_name(enum sim_gear g);
const char *sim_ignition_name(enum sim_ignition i);
const char *sim_button_name(enum sim_button b);

/*
 * CRC-8 SAE J1850 (poly 0x1D, init 0xFF, final XOR 0xFF): the *_Checksum signals of
 * dbc/bodydiag-sim.dbc, computed over payload bytes 0..6 (check value of "123456789"
 * is 0x4B).
 */
uint8_t sim_crc8_j1850(const uint8_t *data, size_t len);
