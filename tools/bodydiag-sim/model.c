/* SPDX-License-Identifier: MIT */
/*
 * The release chain, one millisecond at a time. Numbers are chosen to look like a
 * mid-size car's BCM and a motor-driven trunk release actuator; each constant says
 * where its value comes from or what it must stay consistent with.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

#define MS 1000LL
#define S 1000000LL

/* --- RF link ---------------------------------------------------------------------- */
/* A healthy fob (CR2032 at ~3.0 V) radiates about -10 dBm at 315/433 MHz. */
#define FOB_TX_DBM -10.0
#define FOB_CELL_NEW_V 3.0
/* Below ~2.8 V the cell's internal resistance makes it sag under the RF burst; the
 * fob's output stage loses power steeply (dB per volt of unloaded cell voltage). */
#define FOB_TX_KNEE_V 2.8
#define FOB_TX_DB_PER_V 60.0
/* The fob flags "battery low" in its telegram below this (typical 2.5 V threshold). */
#define FOB_LOW_FLAG_V 2.5
/* Log-distance path loss near a car body: 40 dB at 1 m, exponent 3.3. With the
 * numbers above a healthy fob reaches ~30 m, a 2.2 V one ~1.5 m. */
#define PATH_LOSS_1M_DB 40.0
#define PATH_LOSS_EXP 3.3
#define FADING_SIGMA_DB 3.0
/* Receiver sensitivity; a telegram decodes reliably ~8 dB above it. */
#define RX_SENSITIVITY_DBM -100.0
#define RX_DECODE_MARGIN_DB 5.0
#define RX_DECODE_SLOPE_DB 1.5
/* Telegram airtime (~70 bits at 2.4 kbit/s) plus receiver processing. */
#define TELEGRAM_LATENCY_US (30 * MS)
#define TELEGRAM_JITTER_US (12 * MS)
#define TELEGRAM_QUEUE 8
/* GM B3109 sets after 3 low-battery telegrams from the same transmitter. */
#define FOB_LOW_TELEGRAMS 3
/* RSSI signal raw 0 = -150 dBm = "no signal" in the DBC. */
#define RSSI_NONE_DBM -150

/* --- BCM logic -------------------------------------------------------------------- */
#define BCM_LATENCY_US (10 * MS)
#define BCM_JITTER_US (15 * MS)
#define SWITCH_DEBOUNCE_US (20 * MS)
#define DEFAULT_HOLD_US (250 * MS)
/* Ford B2666: release switch pressed for over 2 min is ignored and flagged. */
#define SWITCH_STUCK_US (120 * S)
#define REQUEST_SHOW_US (300 * MS)
#define INHIBIT_SHOW_US (1000 * MS)
#define OUTPUT_DELAY_US (10 * MS)
/* Typical trunk release pulse: 300-800 ms. */
#define PULSE_US (400 * MS)
/* The BCM's 10 ms task reads the driver's fault flag and drops the command. */
#define SHORT_REACT_US (20 * MS)
#define ARMING_DELAY_US (20 * S)
#define LOW_VOLTAGE_V 9.0
#define OFFSTATE_PERIOD_US (100 * MS)
#define OFFSTATE_DEBOUNCE 3
#define SELFTEST_PERIOD_US (1000 * MS)

/* --- power stage and actuator ----------------------------------------------------- */
/* On-state open load: sense current below this for 30 ms while driven. */
#define OPEN_LOAD_A 0.25
#define OPEN_LOAD_US (30 * MS)
/* Driver current limit; a hard short trips it within microseconds. */
#define SHORT_LIMIT_A 28.0
/* Performance: mean current over the pulse (after inrush) below 0.12 A per volt. */
#define PERF_A_PER_V 0.12
#define INRUSH_SKIP_US (20 * MS)
/* Healthy motor: 1.6 ohm winding (7.75 A stall at 12.4 V), running current a third
 * of stall, spin-up time constant 25 ms. */
#define ACT_R_OHM 1.6
#define ACT_RUN_FRACTION 0.33
#define ACT_TAU_US (25 * MS)
#define ACT_SPINDOWN_US (15 * MS)
/* Worn: burnt commutator and brushes, 8 ohm effective, cannot pull the latch. */
#define ACT_WORN_R_OHM 8.0
/* Pawl travel at full motor speed: with the spin-up above, release ~100 ms in. */
#define LATCH_TRAVEL_US (75 * MS)
#define SENSE_SIGMA_A 0.02
#define SUPPLY_R_OHM 0.05
/* Gas struts lift the lid in ~1.25 s; a person closes it in ~0.8 s. */
#define LID_OPEN_PER_S 0.8
#define LID_CLOSE_PER_S 1.25

enum latch_state {
	LATCH_LATCHED,
	LATCH_RELEASED,
};

enum lid_motion {
	LID_STILL,
	LID_OPENING,
	LID_CLOSING,
};

struct fob {
	bool programmed;
	bool trunk_enabled;
	double cell_v;
	uint32_t counter; /* rolling code counter, advances on every press */
	unsigned low_telegrams;
};

struct telegram {
	int64_t t_us;
	unsigned fob;
	enum sim_rke_button button;
	enum sim_telegram_status status; /* IDLE here = lost (never reaches the BCM) */
	int rssi;
	bool battery_low;
	uint8_t counter;
};

struct sw {
	bool pressed;        /* physical state */
	int64_t release_at;  /* when the person lets go */
	int64_t since;       /* physical state since */
	bool seen;           /* debounced state as the BCM sees it */
	bool stuck;
};

struct sim_model {
	struct sim_model_config cfg;
	uint64_t rng;
	int64_t now;
	int64_t carry; /* step remainder below one tick */

	/* faults */
	bool fault[_SIM_FAULT_MAX];
	struct sim_fault_opts opts[_SIM_FAULT_MAX];
	bool fuse_blown_by_short;
	bool contact_ok; /* intermittent hinge wiring */

	/* people and vehicle */
	struct fob fobs[SIM_MODEL_FOB_SLOTS];
	struct telegram tq[TELEGRAM_QUEUE];
	unsigned tq_len;
	struct sw sw[2]; /* interior, exterior */
	double speed;
	enum sim_gear gear;
	enum sim_ignition ignition;
	double battery_v;
	enum sim_lock_state lock;
	enum sim_alarm_state perimeter;
	int64_t arming_at;
	bool valet;
	bool am_armed;

	/* BCM */
	int64_t rke_hold_until;
	enum sim_release_source pending_source;
	int64_t pending_at;
	int64_t request_until;
	enum sim_inhibit inhibit_shown;
	int64_t inhibit_until;
	int64_t lockout_until;
	bool lockout_active;
	int64_t next_offstate;
	unsigned offstate_open, offstate_ok;
	int64_t next_selftest;

	/* output driver */
	bool cmd;
	enum sim_release_source cmd_source;
	int64_t pulse_start, pulse_end;
	int64_t output_due;
	enum sim_release_source output_due_source;
	bool tripped;
	int64_t open_since;
	bool open_seen;
	double perf_sum;
	unsigned perf_n;

	/* actuator, latch, lid */
	double omega;  /* normalised motor speed 0..1 */
	double travel; /* pawl travel 0..1 */
	int dropout_ms;
	enum latch_state latch;
	enum lid_motion lid;
	double lid_pos;
	double current;

	/* diagnostics */
	struct sim_dtc dtc[_SIM_DTC_MAX];
	uint16_t op_cycle;

	struct sim_signals sig;
	struct sim_event ev[SIM_MODEL_EVENT_QUEUE];
	unsigned ev_head, ev_len;
	uint64_t ev_dropped;
};

/* --- PRNG: splitmix64 (Steele, Lea, Flood 2014), state in the model ---------------- */
static uint64_t rng_next(struct sim_model *m)
{
	uint64_t z = (m->rng += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_uniform(struct sim_model *m)
{
	return (double)(rng_next(m) >> 11) * (1.0 / 9007199254740992.0);
}

static bool rng_chance(struct sim_model *m, double p)
{
	return rng_uniform(m) < p;
}

/* Standard normal, Box-Muller. */
static double rng_normal(struct sim_model *m)
{
	double u1 = rng_uniform(m), u2 = rng_uniform(m);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static int64_t rng_jitter(struct sim_model *m, int64_t max_us)
{
	return (int64_t)(rng_uniform(m) * (double)max_us);
}

/* --- events ------------------------------------------------------------------------ */
static void emit(struct sim_model *m, enum sim_event_type type, int a, int b, int c)
{
	unsigned idx;

	if (m->ev_len == SIM_MODEL_EVENT_QUEUE) {
		m->ev_head = (m->ev_head + 1) % SIM_MODEL_EVENT_QUEUE;
		m->ev_len--;
		m->ev_dropped++;
	}
	idx = (m->ev_head + m->ev_len) % SIM_MODEL_EVENT_QUEUE;
	m->ev[idx] = (struct sim_event){.t_us = m->now, .type = type, .a = a, .b = b, .c = c};
	m->ev_len++;
}

int sim_model_pop_event(struct sim_model *m, struct sim_event *ret)
{
	if (m->ev_len == 0)
		return 0;
	*ret = m->ev[m->ev_head];
	m->ev_head = (m->ev_head + 1) % SIM_MODEL_EVENT_QUEUE;
	m->ev_len--;
	return 1;
}

uint64_t sim_model_events_dropped(const struct sim_model *m)
{
	return m->ev_dropped;
}

/* --- DTCs: ISO 14229-1 Annex D status byte life cycle ------------------------------ */
static const uint32_t dtc_codes[_SIM_DTC_MAX] = {
	[SIM_DTC_RELEASE_SHORT_GND] = 0x9A4011, /* B1A40-11 */
	[SIM_DTC_RELEASE_OPEN] = 0x9A4013,      /* B1A40-13 */
	[SIM_DTC_RELEASE_PERF] = 0x9A4092,      /* B1A40-92 */
	[SIM_DTC_INTERIOR_STUCK] = 0x9A4424,    /* B1A44-24 */
	[SIM_DTC_EXTERIOR_STUCK] = 0x9A4524,    /* B1A45-24 */
	[SIM_DTC_FOB1_BATTERY] = 0x9A5116,      /* B1A51-16 */
	[SIM_DTC_FOB2_BATTERY] = 0x9A5216,      /* B1A52-16 */
	[SIM_DTC_FOB3_BATTERY] = 0x9A5316,      /* B1A53-16 */
	[SIM_DTC_FOB4_BATTERY] = 0x9A5416,      /* B1A54-16 */
	[SIM_DTC_BCM_INTERNAL] = 0xF00049,      /* U3000-49 */
};

uint32_t sim_dtc_code(enum sim_dtc_id id)
{
	if ((unsigned)id >= _SIM_DTC_MAX)
		return 0;
	return dtc_codes[id];
}

void sim_dtc_format(uint32_t code, char buf[static 9])
{
	static const char letter[4] = {'P', 'C', 'B', 'U'};
	unsigned hi = (code >> 16) & 0xFF, mid = (code >> 8) & 0xFF, ftb = code & 0xFF;

	/* SAE J2012: bits 7-6 letter, 5-4 first digit, then three hex digits. */
	snprintf(buf, 9, "%c%u%X%02X-%02X", letter[hi >> 6], (hi >> 4) & 3, hi & 0xF, mid, ftb);
}

const struct sim_dtc *sim_model_dtc(const struct sim_model *m, enum sim_dtc_id id)
{
	if ((unsigned)id >= _SIM_DTC_MAX)
		return NULL;
	return &m->dtc[id];
}

static void dtc_reset(struct sim_dtc *d, uint32_t code)
{
	*d = (struct sim_dtc){.code = code, .status = SIM_DTC_TNCSLC | SIM_DTC_TNCTOC};
}

static void dtc_set_status(struct sim_model *m, enum sim_dtc_id id, uint8_t status)
{
	struct sim_dtc *d = &m->dtc[id];

	if (d->status == status)
		return;
	emit(m, SIM_EVENT_DTC_STATUS, (int)id, d->status, status);
	d->status = status;
}

static struct sim_dtc_snapshot snapshot(const struct sim_model *m)
{
	return (struct sim_dtc_snapshot){
		.t_us = m->now,
		.battery_v = m->battery_v,
		.speed_kmh = m->speed,
		.ignition = m->ignition,
		.actuator_current_a = m->current,
		.fuse_v = m->sig.fuse_v,
		.operation_cycle = m->op_cycle,
	};
}

static void dtc_report(struct sim_model *m, enum sim_dtc_id id, bool failed)
{
	struct sim_dtc *d = &m->dtc[id];
	uint8_t st = d->status;

	if (!failed) {
		st &= (uint8_t)~(SIM_DTC_TF | SIM_DTC_TNCSLC | SIM_DTC_TNCTOC);
		dtc_set_status(m, id, st);
		return;
	}
	if (!(st & SIM_DTC_TF)) {
		if (d->occurrence < 255)
			d->occurrence++;
		if (!d->has_first) {
			d->first = snapshot(m);
			d->has_first = true;
		}
		d->last = snapshot(m);
		d->has_last = true;
	}
	if (!(st & SIM_DTC_TFTOC) && d->failed_cycles < 255)
		d->failed_cycles++;
	d->aging = 0;
	st |= SIM_DTC_TF | SIM_DTC_TFTOC | SIM_DTC_PDTC | SIM_DTC_TFSLC;
	st &= (uint8_t)~(SIM_DTC_TNCSLC | SIM_DTC_TNCTOC);
	if (d->failed_cycles >= m->cfg.confirm_cycles)
		st |= SIM_DTC_CDTC;
	dtc_set_status(m, id, st);
}

/*
 * End of an operation cycle (ISO 14229-1 D.2): pendingDTC clears after a cycle in which
 * the test completed and never failed; a confirmed DTC ages one step per cycle without a
 * failure and is cleared after aging_cycles of them. testFailedSinceLastClear stays:
 * it is the history a technician wants to see.
 */
static void operation_cycle_end(struct sim_model *m)
{
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
		struct sim_dtc *d = &m->dtc[i];
		uint8_t st = d->status;

		if (st & SIM_DTC_TFTOC)
			continue;
		if (!(st & SIM_DTC_TNCTOC)) {
			st &= (uint8_t)~SIM_DTC_PDTC;
			d->failed_cycles = 0;
		}
		if (st & SIM_DTC_CDTC) {
			if (d->aging < 255)
				d->aging++;
			if (d->aging >= m->cfg.aging_cycles) {
				st &= (uint8_t)~SIM_DTC_CDTC;
				d->aging = 0;
			}
		}
		dtc_set_status(m, (enum sim_dtc_id)i, st);
	}
}

static void operation_cycle_start(struct sim_model *m)
{
	if (m->op_cycle < UINT16_MAX)
		m->op_cycle++;
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
		uint8_t st = m->dtc[i].status;
		st &= (uint8_t)~SIM_DTC_TFTOC;
		st |= SIM_DTC_TNCTOC;
		dtc_set_status(m, (enum sim_dtc_id)i, st);
	}
	m->next_selftest = m->now;
}

int sim_model_dtc_clear(struct sim_model *m, uint32_t group)
{
	int n = 0;

	for (unsigned i = 0; i < _SIM_DTC_MAX; i++) {
		if (group != 0xFFFFFF && group != dtc_codes[i])
			continue;
		dtc_set_status(m, (enum sim_dtc_id)i, SIM_DTC_TNCSLC | SIM_DTC_TNCTOC);
		dtc_reset(&m->dtc[i], dtc_codes[i]);
		n++;
	}
	if (n == 0)
		return -ENOENT;
	/* Tests re-run from scratch: the off-state debounce starts over too. */
	m->offstate_open = m->offstate_ok = 0;
	m->next_selftest = m->now;
	for (unsigned i = 0; i < SIM_MODEL_FOB_SLOTS; i++)
		m->fobs[i].low_telegrams = 0;
	return n;
}

/* --- configuration and life cycle -------------------------------------------------- */
void sim_model_config_init(struct sim_model_config *cfg)
{
	*cfg = (struct sim_model_config){
		.seed = 1,
		.lockout_ms = 60000,
		.confirm_cycles = 1,
		/* GM-style aging: 40 clean cycles; the tests use a few. */
		.aging_cycles = 40,
		.fob_count = 2,
		.battery_v = 12.4,
		.fob_distance_m = 3.0,
	};
}

static bool config_valid(const struct sim_model_config *c)
{
	return c->lockout_ms >= 30000 && c->lockout_ms <= 180000 && c->confirm_cycles >= 1 &&
	       c->aging_cycles >= 1 && c->fob_count >= 1 && c->fob_count <= SIM_MODEL_FOB_SLOTS &&
	       c->battery_v >= 9.0 && c->battery_v <= 16.0 && c->fob_distance_m >= 0.1 &&
	       c->fob_distance_m <= 100.0;
}

static void update_signals(struct sim_model *m);

int sim_model_new(const struct sim_model_config *cfg, struct sim_model **ret)
{
	struct sim_model_config defaults;
	struct sim_model *m;

	if (!cfg) {
		sim_model_config_init(&defaults);
		cfg = &defaults;
	}
	if (!config_valid(cfg))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->cfg = *cfg;
	m->rng = cfg->seed;
	m->ignition = SIM_IGNITION_RUN;
	m->gear = SIM_GEAR_P;
	m->battery_v = cfg->battery_v;
	m->contact_ok = true;
	m->latch = LATCH_LATCHED;
	m->op_cycle = 1;
	for (unsigned i = 0; i < SIM_MODEL_FOB_SLOTS; i++) {
		bool prog = i < cfg->fob_count;
		m->fobs[i] = (struct fob){
			.programmed = prog,
			.trunk_enabled = prog,
			.cell_v = FOB_CELL_NEW_V,
			/* Fobs have been in use: counters well away from zero. */
			.counter = (uint32_t)(rng_next(m) & 0xFFFF),
		};
	}
	for (unsigned i = 0; i < _SIM_DTC_MAX; i++)
		dtc_reset(&m->dtc[i], dtc_codes[i]);
	m->next_offstate = OFFSTATE_PERIOD_US;
	m->inhibit_shown = SIM_INHIBIT_NONE;
	m->sig.last_fob = 7;
	update_signals(m);
	m->sig.trunk_seq = 0;
	*ret = m;
	return 0;
}

struct sim_model *sim_model_free(struct sim_model *m)
{
	free(m);
	return NULL;
}

int64_t sim_model_now(const struct sim_model *m)
{
	return m->now;
}

/* --- faults ------------------------------------------------------------------------ */
static void apply_fob_faults(struct sim_model *m)
{
	for (unsigned i = 0; i < SIM_MODEL_FOB_SLOTS; i++) {
		m->fobs[i].cell_v = FOB_CELL_NEW_V;
		m->fobs[i].trunk_enabled = m->fobs[i].programmed;
	}
	if (m->fault[SIM_FAULT_FOB_BATTERY_WEAK])
		m->fobs[m->opts[SIM_FAULT_FOB_BATTERY_WEAK].fob].cell_v =
			m->opts[SIM_FAULT_FOB_BATTERY_WEAK].cell_v;
	if (m->fault[SIM_FAULT_FOB_UNPROGRAMMED])
		m->fobs[m->opts[SIM_FAULT_FOB_UNPROGRAMMED].fob].trunk_enabled = false;
}

static void alarm_node_changed(struct sim_model *m)
{
	emit(m, SIM_EVENT_ALARM_NODE, m->am_armed, m->sig.alarm_inhibit_request, 0);
	m->sig.alarm_cmd_seq++;
}

int sim_model_fault_add(struct sim_model *m, enum sim_fault f, const struct sim_fault_opts *opts)
{
	struct sim_fault_opts o;

	if ((unsigned)f >= _SIM_FAULT_MAX)
		return -EINVAL;
	if (opts)
		o = *opts;
	else
		sim_fault_opts_init(&o, f);
	if (o.fob >= SIM_MODEL_FOB_SLOTS || o.cell_v < 1.5 || o.cell_v > 2.8 ||
	    o.contact_p < 0.0 || o.contact_p > 1.0 ||
	    (unsigned)o.bcm_mode >= _SIM_BCM_FAULT_MODE_MAX ||
	    (unsigned)o.alarm_mode >= _SIM_ALARM_MODE_MAX)
		return -EINVAL;
	m->fault[f] = true;
	m->opts[f] = o;
	switch (f) {
	case SIM_FAULT_FOB_BATTERY_WEAK:
	case SIM_FAULT_FOB_UNPROGRAMMED:
		apply_fob_faults(m);
		break;
	case SIM_FAULT_HINGE_WIRING_INTERMITTENT:
		m->contact_ok = rng_chance(m, o.contact_p);
		break;
	case SIM_FAULT_AFTERMARKET_ALARM:
		m->am_armed = o.alarm_armed;
		break;
	case SIM_FAULT_FUSE_BLOWN:
	case SIM_FAULT_HINGE_WIRING_OPEN:
	case SIM_FAULT_HINGE_WIRING_SHORT:
	case SIM_FAULT_ACTUATOR_WORN:
	case SIM_FAULT_LATCH_JAMMED:
	case SIM_FAULT_BCM_FAULT:
	case _SIM_FAULT_MAX:
		break;
	}
	emit(m, SIM_EVENT_FAULT, (int)f, 1, 0);
	update_signals(m);
	if (f == SIM_FAULT_AFTERMARKET_ALARM)
		alarm_node_changed(m);
	return 0;
}

int sim_model_fault_remove(struct sim_model *m, enum sim_fault f)
{
	if ((unsigned)f >= _SIM_FAULT_MAX)
		return -EINVAL;
	if (!m->fault[f])
		return -ENOENT;
	m->fault[f] = false;
	if (f == SIM_FAULT_FOB_BATTERY_WEAK || f == SIM_FAULT_FOB_UNPROGRAMMED)
		apply_fob_faults(m);
	if (f == SIM_FAULT_HINGE_WIRING_INTERMITTENT)
		m->contact_ok = true;
	if (f == SIM_FAULT_AFTERMARKET_ALARM)
		m->am_armed = false;
	emit(m, SIM_EVENT_FAULT, (int)f, 0, 0);
	update_signals(m);
	return 0;
}

void sim_model_fault_clear(struct sim_model *m)
{
	for (unsigned i = 0; i < _SIM_FAULT_MAX; i++)
		if (m->fault[i])
			sim_model_fault_remove(m, (enum sim_fault)i);
	/* "healthy" means a good fuse as well, whatever blew it. */
	m->fuse_blown_by_short = false;
	update_signals(m);
}

bool sim_model_fault_active(const struct sim_model *m, enum sim_fault f)
{
	return (unsigned)f < _SIM_FAULT_MAX && m->fault[f];
}

/* --- the chain --------------------------------------------------------------------- */
static bool fuse_ok(const struct sim_model *m)
{
	return !m->fault[SIM_FAULT_FUSE_BLOWN] && !m->fuse_blown_by_short;
}

static bool alarm_cut(const struct sim_model *m)
{
	return m->fault[SIM_FAULT_AFTERMARKET_ALARM] && m->am_armed &&
	       m->opts[SIM_FAULT_AFTERMARKET_ALARM].alarm_mode == SIM_ALARM_MODE_SPLICE;
}

static bool alarm_inhibit(const struct sim_model *m)
{
	return m->fault[SIM_FAULT_AFTERMARKET_ALARM] && m->am_armed &&
	       m->opts[SIM_FAULT_AFTERMARKET_ALARM].alarm_mode == SIM_ALARM_MODE_INHIBIT;
}

/* Release wire from the driver to the actuator, through the hinge. */
static bool path_open(const struct sim_model *m)
{
	return m->fault[SIM_FAULT_HINGE_WIRING_OPEN] ||
	       (m->fault[SIM_FAULT_HINGE_WIRING_INTERMITTENT] && !m->contact_ok) || alarm_cut(m);
}

static bool path_short(const struct sim_model *m)
{
	return m->fault[SIM_FAULT_HINGE_WIRING_SHORT];
}

/* Conditions that refuse every source, most specific first. */
static enum sim_inhibit inhibit_common(const struct sim_model *m)
{
	if (m->lockout_active)
		return SIM_INHIBIT_OUTPUT_LOCKOUT;
	if (alarm_inhibit(m))
		return SIM_INHIBIT_EXTERNAL;
	if (m->battery_v < LOW_VOLTAGE_V)
		return SIM_INHIBIT_LOW_VOLTAGE;
	if (m->speed > 0.0)
		return SIM_INHIBIT_SPEED;
	if (m->gear != SIM_GEAR_P)
		return SIM_INHIBIT_GEAR;
	return SIM_INHIBIT_NONE;
}

/*
 * The fob authenticates its holder, so a fob release is allowed with the perimeter
 * alarm armed (the BCM disarms the trunk zone) and in valet mode (whose point is to
 * lock the valet out of the trunk from the cabin).
 */
static enum sim_inhibit inhibit_for(const struct sim_model *m, enum sim_release_source src)
{
	enum sim_inhibit i = inhibit_common(m);

	if (i != SIM_INHIBIT_NONE)
		return i;
	switch (src) {
	case SIM_RELEASE_INTERIOR:
	case SIM_RELEASE_EXTERIOR:
		if (m->perimeter == SIM_ALARM_ARMED)
			return SIM_INHIBIT_ALARM_ARMED;
		if (m->valet)
			return SIM_INHIBIT_VALET;
		if (src == SIM_RELEASE_EXTERIOR && m->lock == SIM_LOCK_LOCKED)
			return SIM_INHIBIT_LOCKED;
		if (m->sw[src == SIM_RELEASE_INTERIOR ? 0 : 1].stuck)
			return SIM_INHIBIT_SWITCH_STUCK;
		break;
	case SIM_RELEASE_NONE:
	case SIM_RELEASE_FOB:
	case SIM_RELEASE_TESTER:
	case _SIM_RELEASE_MAX:
		break;
	}
	return SIM_INHIBIT_NONE;
}

static void bcm_selftest(struct sim_model *m)
{
	bool bad = m->fault[SIM_FAULT_BCM_FAULT] &&
		   m->opts[SIM_FAULT_BCM_FAULT].bcm_mode == SIM_BCM_FAULT_MODE_NO_COMMAND;
	dtc_report(m, SIM_DTC_BCM_INTERNAL, bad);
}

/* A release request reaches the BCM's release logic (after its processing delay). */
static void release_request(struct sim_model *m, enum sim_release_source src)
{
	enum sim_inhibit inh;

	m->sig.release_request = src;
	m->request_until = m->now + REQUEST_SHOW_US;
	emit(m, SIM_EVENT_RELEASE_REQUEST, (int)src, 0, 0);
	inh = inhibit_for(m, src);
	if (inh != SIM_INHIBIT_NONE) {
		m->inhibit_shown = inh;
		m->inhibit_until = m->now + INHIBIT_SHOW_US;
		emit(m, SIM_EVENT_RELEASE_INHIBITED, (int)src, (int)inh, 0);
		return;
	}
	if (m->fault[SIM_FAULT_BCM_FAULT] &&
	    m->opts[SIM_FAULT_BCM_FAULT].bcm_mode == SIM_BCM_FAULT_MODE_NO_COMMAND) {
		/* The output stage's SPI status never acknowledges the command. */
		bcm_selftest(m);
		return;
	}
	if (m->cmd || m->output_due)
		return; /* a pulse is already running */
	m->output_due = m->now + OUTPUT_DELAY_US;
	m->output_due_source = src;
}

static void queue_request(struct sim_model *m, enum sim_release_source src)
{
	if (m->pending_source != SIM_RELEASE_NONE)
		return;
	m->pending_source = src;
	m->pending_at = m->now + BCM_LATENCY_US + rng_jitter(m, BCM_JITTER_US);
}

static void output_start(struct sim_model *m, enum sim_release_source src)
{
	m->cmd = true;
	m->cmd_source = src;
	m->pulse_start = m->now;
	m->pulse_end = m->now + PULSE_US;
	m->tripped = false;
	m->open_since = -1;
	m->open_seen = false;
	m->perf_sum = 0.0;
	m->perf_n = 0;
	m->request_until = m->pulse_end;
	/* The actuator's kick moves the cracked strand: contact is a new draw each time. */
	if (m->fault[SIM_FAULT_HINGE_WIRING_INTERMITTENT])
		m->contact_ok = rng_chance(m, m->opts[SIM_FAULT_HINGE_WIRING_INTERMITTENT].contact_p);
	emit(m, SIM_EVENT_OUTPUT_ON, (int)src, 0, 0);
}

/* On-state diagnosis concludes when the pulse ends. */
static void output_stop(struct sim_model *m)
{
	double v = fuse_ok(m) ? m->battery_v : 0.0;

	m->cmd = false;
	m->request_until = m->now;
	emit(m, SIM_EVENT_OUTPUT_OFF, 0, 0, 0);
	if (m->tripped) {
		m->sig.output_status = SIM_OUTPUT_STATUS_SHORT_TO_GROUND;
		return; /* open and performance tests cannot conclude on a tripped output */
	}
	dtc_report(m, SIM_DTC_RELEASE_SHORT_GND, false);
	if (m->open_seen) {
		dtc_report(m, SIM_DTC_RELEASE_OPEN, true);
		m->sig.output_status = SIM_OUTPUT_STATUS_OPEN;
		return;
	}
	dtc_report(m, SIM_DTC_RELEASE_OPEN, false);
	if (m->perf_n > 0 && m->perf_sum / m->perf_n < PERF_A_PER_V * v) {
		dtc_report(m, SIM_DTC_RELEASE_PERF, true);
		m->sig.output_status = SIM_OUTPUT_STATUS_LOW_CURRENT;
		return;
	}
	dtc_report(m, SIM_DTC_RELEASE_PERF, false);
	m->sig.output_status = SIM_OUTPUT_STATUS_OK;
}

static void latch_release(struct sim_model *m, bool key)
{
	if (m->latch == LATCH_RELEASED)
		return;
	m->latch = LATCH_RELEASED;
	m->lid = LID_OPENING;
	emit(m, SIM_EVENT_LATCH_RELEASED, key, 0, 0);
}

/* One millisecond of the high-side driver, wiring and actuator. */
static void power_stage_tick(struct sim_model *m)
{
	double dt = (double)SIM_MODEL_TICK_US;
	double supply = fuse_ok(m) ? m->battery_v : 0.0;
	double i = 0.0;
	bool driven = m->cmd && !m->tripped;
	bool powered = driven && supply > 1.0 && !path_open(m) && !path_short(m);

	if (driven && supply > 1.0 && path_short(m)) {
		/* Current limit, then thermal/overcurrent shutdown of the driver. */
		m->tripped = true;
		m->current = SHORT_LIMIT_A;
		m->lockout_active = true;
		m->lockout_until = m->now + (int64_t)m->cfg.lockout_ms * MS;
		m->pulse_end = m->now + SHORT_REACT_US;
		dtc_report(m, SIM_DTC_RELEASE_SHORT_GND, true);
		emit(m, SIM_EVENT_SHORT_DETECTED, 0, 0, 0);
		if (m->opts[SIM_FAULT_HINGE_WIRING_SHORT].blow_fuse && !m->fuse_blown_by_short) {
			m->fuse_blown_by_short = true;
			emit(m, SIM_EVENT_FUSE_BLOWN, 0, 0, 0);
		}
		return;
	}

	if (powered) {
		bool worn = m->fault[SIM_FAULT_ACTUATOR_WORN];
		bool blocked = m->fault[SIM_FAULT_LATCH_JAMMED] || worn;
		double r = worn ? ACT_WORN_R_OHM : ACT_R_OHM;
		double stall = supply / r;
		double run = stall * ACT_RUN_FRACTION;

		/* Blocked rotor: no back-EMF, stall current for the whole pulse. */
		if (blocked)
			m->omega = 0.0;
		else
			m->omega += (1.0 - m->omega) * (dt / (double)ACT_TAU_US);
		i = run + (stall - run) * (1.0 - m->omega);
		if (worn) {
			/* Brushes lift off burnt commutator segments: dropouts and ripple. */
			if (m->dropout_ms > 0) {
				m->dropout_ms--;
				i = 0.0;
			} else if (rng_chance(m, 0.03)) {
				m->dropout_ms = 2 + (int)(rng_uniform(m) * 9.0);
			} else {
				i *= 0.7 + 0.6 * rng_uniform(m);
			}
		} else if (m->latch == LATCH_LATCHED && m->travel < 1.0) {
			m->travel += m->omega * dt / (double)LATCH_TRAVEL_US;
			if (m->travel >= 1.0)
				latch_release(m, false);
		}
		/* Commutator ripple while the rotor turns, a few percent. */
		if (m->omega > 0.1)
			i *= 1.0 + 0.03 * m->omega * sin((double)(m->now / MS) * 1.3);
	} else {
		m->omega -= m->omega * (dt / (double)ACT_SPINDOWN_US);
		if (m->omega < 1e-3)
			m->omega = 0.0;
	}

	if (driven) {
		double sense = i + SENSE_SIGMA_A * rng_normal(m);
		if (sense < 0.0)
			sense = 0.0;
		m->current = round(sense * 100.0) / 100.0;
		if (m->current < OPEN_LOAD_A) {
			if (m->open_since < 0)
				m->open_since = m->now;
			else if (m->now - m->open_since >= OPEN_LOAD_US)
				m->open_seen = true;
		} else {
			m->open_since = -1;
		}
		if (m->now - m->pulse_start >= INRUSH_SKIP_US) {
			m->perf_sum += m->current;
			m->perf_n++;
		}
	} else {
		m->current = 0.0;
	}
}

/*
 * Off-state open-load diagnosis: the driver's pull-up sees the output float high when
 * nothing loads it. A short to ground looks like a healthy load here, and without
 * supply (fuse) the test cannot run at all.
 */
static void offstate_tick(struct sim_model *m)
{
	if (m->now < m->next_offstate)
		return;
	m->next_offstate = m->now + OFFSTATE_PERIOD_US;
	if (m->cmd || !fuse_ok(m))
		return;
	if (path_open(m) && !path_short(m)) {
		m->offstate_ok = 0;
		if (++m->offstate_open >= OFFSTATE_DEBOUNCE) {
			m->offstate_open = OFFSTATE_DEBOUNCE;
			dtc_report(m, SIM_DTC_RELEASE_OPEN, true);
			m->sig.output_status = SIM_OUTPUT_STATUS_OPEN;
		}
	} else {
		m->offstate_open = 0;
		if (++m->offstate_ok >= OFFSTATE_DEBOUNCE) {
			m->offstate_ok = OFFSTATE_DEBOUNCE;
			dtc_report(m, SIM_DTC_RELEASE_OPEN, false);
			if (m->sig.output_status == SIM_OUTPUT_STATUS_OPEN ||
			    m->sig.output_status == SIM_OUTPUT_STATUS_NOT_TESTED)
				m->sig.output_status = SIM_OUTPUT_STATUS_OK;
		}
	}
}

static void lid_tick(struct sim_model *m)
{
	double dt_s = (double)SIM_MODEL_TICK_US / 1e6;

	switch (m->lid) {
	case LID_OPENING:
		m->lid_pos += LID_OPEN_PER_S * dt_s;
		if (m->lid_pos >= 1.0) {
			m->lid_pos = 1.0;
			m->lid = LID_STILL;
		}
		break;
	case LID_CLOSING:
		m->lid_pos -= LID_CLOSE_PER_S * dt_s;
		if (m->lid_pos <= 0.0) {
			m->lid_pos = 0.0;
			m->lid = LID_STILL;
			m->latch = LATCH_LATCHED;
			m->travel = 0.0;
			emit(m, SIM_EVENT_LATCH_CLOSED, 0, 0, 0);
		}
		break;
	case LID_STILL:
		break;
	}
	/* The cracked strand at the hinge makes and breaks contact as the hinge flexes,
	 * less so from road vibration, and a little under the actuator's own pull. */
	if (m->fault[SIM_FAULT_HINGE_WIRING_INTERMITTENT]) {
		double p = 0.0;
		if (m->lid != LID_STILL)
			p = 0.05;
		else if (m->cmd)
			p = 0.01;
		else if (m->speed > 0.0)
			p = 0.005;
		if (p > 0.0 && rng_chance(m, p))
			m->contact_ok = !m->contact_ok;
	}
}

static void telegram_arrive(struct sim_model *m, const struct telegram *t)
{
	struct fob *f = &m->fobs[t->fob];

	if (t->status == SIM_TELEGRAM_IDLE) {
		emit(m, SIM_EVENT_TELEGRAM_LOST, (int)t->button, 0, (int)t->fob);
		return;
	}
	m->sig.rke_telegram_status = t->status;
	m->sig.rke_rssi_dbm = t->rssi;
	m->sig.rke_seq++;
	m->rke_hold_until = m->now + SIM_MODEL_RKE_HOLD_MS * MS;
	emit(m, SIM_EVENT_TELEGRAM, (int)t->status, (int)t->button, (int)t->fob);
	if (t->status == SIM_TELEGRAM_CRC_ERROR) {
		/* Only the carrier made it: no button, no fob id. */
		m->sig.rke_button = SIM_RKE_BUTTON_NONE;
		m->sig.rke_battery_low = false;
		m->sig.rke_fob_index = 7;
		return;
	}
	m->sig.rke_button = t->button;
	m->sig.rke_battery_low = t->battery_low;
	m->sig.rke_telegram_counter = t->counter;
	if (t->status == SIM_TELEGRAM_UNKNOWN_FOB) {
		m->sig.rke_fob_index = 7;
		return;
	}
	m->sig.rke_fob_index = t->fob;
	m->sig.last_fob = t->fob;
	if (t->battery_low) {
		m->sig.fob_battery_low_mask |= (uint8_t)(1u << t->fob);
		if (++f->low_telegrams >= FOB_LOW_TELEGRAMS) {
			f->low_telegrams = FOB_LOW_TELEGRAMS;
			dtc_report(m, (enum sim_dtc_id)(SIM_DTC_FOB1_BATTERY + t->fob), true);
		}
	} else {
		m->sig.fob_battery_low_mask &= (uint8_t)~(1u << t->fob);
		f->low_telegrams = 0;
		dtc_report(m, (enum sim_dtc_id)(SIM_DTC_FOB1_BATTERY + t->fob), false);
	}
	switch (t->button) {
	case SIM_RKE_BUTTON_LOCK:
		if (m->lock != SIM_LOCK_LOCKED)
			emit(m, SIM_EVENT_LOCK, SIM_LOCK_LOCKED, 0, 0);
		m->lock = SIM_LOCK_LOCKED;
		if (m->perimeter == SIM_ALARM_DISARMED) {
			m->perimeter = SIM_ALARM_ARMING;
			m->arming_at = m->now + ARMING_DELAY_US;
			emit(m, SIM_EVENT_ALARM, SIM_ALARM_ARMING, 0, 0);
		}
		break;
	case SIM_RKE_BUTTON_UNLOCK:
		if (m->lock != SIM_LOCK_UNLOCKED)
			emit(m, SIM_EVENT_LOCK, SIM_LOCK_UNLOCKED, 0, 0);
		m->lock = SIM_LOCK_UNLOCKED;
		if (m->perimeter != SIM_ALARM_DISARMED)
			emit(m, SIM_EVENT_ALARM, SIM_ALARM_DISARMED, 0, 0);
		m->perimeter = SIM_ALARM_DISARMED;
		break;
	case SIM_RKE_BUTTON_TRUNK:
		/* A fob without the trunk function: the BCM drops the button silently. A BCM
		 * whose RKE-to-release path is broken does the same, without any DTC. */
		if (!f->trunk_enabled)
			break;
		if (m->fault[SIM_FAULT_BCM_FAULT] &&
		    m->opts[SIM_FAULT_BCM_FAULT].bcm_mode == SIM_BCM_FAULT_MODE_NO_REQUEST)
			break;
		queue_request(m, SIM_RELEASE_FOB);
		break;
	case SIM_RKE_BUTTON_NONE:
	case SIM_RKE_BUTTON_PANIC:
	case _SIM_RKE_BUTTON_MAX:
		break;
	}
}

static void switch_tick(struct sim_model *m, unsigned idx)
{
	struct sw *s = &m->sw[idx];
	enum sim_release_source src = idx == 0 ? SIM_RELEASE_INTERIOR : SIM_RELEASE_EXTERIOR;
	enum sim_dtc_id dtc = idx == 0 ? SIM_DTC_INTERIOR_STUCK : SIM_DTC_EXTERIOR_STUCK;

	if (s->pressed && m->now >= s->release_at) {
		s->pressed = false;
		s->since = m->now;
	}
	if (s->pressed != s->seen && m->now - s->since >= SWITCH_DEBOUNCE_US) {
		s->seen = s->pressed;
		if (s->seen) {
			queue_request(m, src);
		} else if (s->stuck) {
			s->stuck = false;
		}
	}
	if (s->seen && !s->stuck && m->now - s->since >= SWITCH_STUCK_US) {
		s->stuck = true;
		dtc_report(m, dtc, true);
	}
	/* The stuck-switch monitor completes every 100 ms while the switch is released. */
	if (!s->seen && m->now % OFFSTATE_PERIOD_US == 0)
		dtc_report(m, dtc, false);
}

static void tick(struct sim_model *m)
{
	m->now += SIM_MODEL_TICK_US;

	/* RF telegrams whose airtime is over. */
	for (unsigned k = 0; k < m->tq_len;) {
		if (m->tq[k].t_us <= m->now) {
			struct telegram t = m->tq[k];
			memmove(&m->tq[k], &m->tq[k + 1], (m->tq_len - k - 1) * sizeof(m->tq[0]));
			m->tq_len--;
			telegram_arrive(m, &t);
			continue;
		}
		k++;
	}
	for (unsigned k = 0; k < 2; k++)
		switch_tick(m, k);
	if (m->pending_source != SIM_RELEASE_NONE && m->now >= m->pending_at) {
		enum sim_release_source src = m->pending_source;
		m->pending_source = SIM_RELEASE_NONE;
		release_request(m, src);
	}
	if (m->output_due && m->now >= m->output_due) {
		m->output_due = 0;
		if (inhibit_common(m) == SIM_INHIBIT_NONE || m->output_due_source == SIM_RELEASE_TESTER)
			output_start(m, m->output_due_source);
	}
	if (m->perimeter == SIM_ALARM_ARMING && m->now >= m->arming_at) {
		m->perimeter = SIM_ALARM_ARMED;
		emit(m, SIM_EVENT_ALARM, SIM_ALARM_ARMED, 0, 0);
	}
	if (m->lockout_active && m->now >= m->lockout_until) {
		m->lockout_active = false;
		emit(m, SIM_EVENT_LOCKOUT_END, 0, 0, 0);
	}
	if (m->now >= m->next_selftest) {
		m->next_selftest = m->now + SELFTEST_PERIOD_US;
		bcm_selftest(m);
	}

	lid_tick(m);
	power_stage_tick(m);
	if (m->cmd && m->now >= m->pulse_end)
		output_stop(m);
	offstate_tick(m);
	update_signals(m);
}

int sim_model_step(struct sim_model *m, int64_t now_us)
{
	if (now_us < m->now)
		return -EINVAL;
	/* Between the last tick and the last requested time: nothing to do. */
	if (now_us < m->now + m->carry)
		return 0;
	m->carry = now_us - m->now;
	while (m->carry >= SIM_MODEL_TICK_US) {
		m->carry -= SIM_MODEL_TICK_US;
		tick(m);
	}
	return 0;
}

/* --- signals ---------------------------------------------------------------------- */
static void update_signals(struct sim_model *m)
{
	struct sim_signals *s = &m->sig;
	enum sim_release_source old_req = s->release_request;
	bool old_cmd = s->actuator_cmd, old_ajar = s->ajar;
	enum sim_inhibit old_inh = s->inhibit;
	bool old_in = s->interior_switch, old_ex = s->exterior_switch;
	double sag = m->current < SHORT_LIMIT_A ? m->current * SUPPLY_R_OHM : 0.0;

	if (m->now >= m->rke_hold_until) {
		s->rke_button = SIM_RKE_BUTTON_NONE;
		s->rke_telegram_status = SIM_TELEGRAM_IDLE;
		s->rke_rssi_dbm = RSSI_NONE_DBM;
		s->rke_battery_low = false;
		s->rke_fob_index = 7;
	}
	if (m->now >= m->request_until && !m->cmd)
		s->release_request = SIM_RELEASE_NONE;
	s->actuator_cmd = m->cmd;
	s->actuator_current_a = m->current;
	s->ajar = m->latch == LATCH_RELEASED;
	s->inhibit = m->now < m->inhibit_until ? m->inhibit_shown : inhibit_common(m);
	s->interior_switch = m->sw[0].seen;
	s->exterior_switch = m->sw[1].seen;

	s->speed_kmh = m->speed;
	s->gear = m->gear;
	s->ignition = m->ignition;
	s->battery_v = m->battery_v - sag;
	s->bcm_supply_v = m->battery_v - sag - 0.15; /* reverse-polarity diode and feed */
	s->fuse_v = fuse_ok(m) ? m->battery_v - sag : 0.0;
	s->lock_state = m->lock;
	s->perimeter_alarm = m->perimeter;
	s->valet = m->valet;

	s->alarm_present = m->fault[SIM_FAULT_AFTERMARKET_ALARM];
	s->alarm_armed = s->alarm_present && m->am_armed;
	s->alarm_cut_active = alarm_cut(m);
	s->alarm_inhibit_request = alarm_inhibit(m);

	s->fob_count = 0;
	s->fob_programmed_mask = 0;
	s->fob_trunk_enabled_mask = 0;
	for (unsigned i = 0; i < SIM_MODEL_FOB_SLOTS; i++) {
		if (m->fobs[i].programmed) {
			s->fob_count++;
			s->fob_programmed_mask |= (uint8_t)(1u << i);
		}
		if (m->fobs[i].trunk_enabled)
			s->fob_trunk_enabled_mask |= (uint8_t)(1u << i);
	}
	s->lockout_remaining_ms =
		m->lockout_active ? (uint32_t)((m->lockout_until - m->now) / MS) : 0;
	s->lid_position = m->lid_pos;

	if (old_req != s->release_request || old_cmd != s->actuator_cmd || old_ajar != s->ajar ||
	    old_inh != s->inhibit || old_in != s->interior_switch ||
	    old_ex != s->exterior_switch)
		s->trunk_seq++;
}

const struct sim_signals *sim_model_signals(const struct sim_model *m)
{
	return &m->sig;
}

/* --- actions ----------------------------------------------------------------------- */
static double rf_tx_power(double cell_v)
{
	if (cell_v >= FOB_TX_KNEE_V)
		return FOB_TX_DBM;
	return FOB_TX_DBM - FOB_TX_DB_PER_V * (FOB_TX_KNEE_V - cell_v);
}

static int fob_press(struct sim_model *m, enum sim_rke_button button, unsigned fob, double d)
{
	struct fob *f;
	struct telegram t;
	double rssi, p_ok;

	if (fob >= SIM_MODEL_FOB_SLOTS)
		return -EINVAL;
	if (d <= 0.0)
		d = m->cfg.fob_distance_m;
	if (d < 0.1 || d > 1000.0)
		return -EINVAL;
	if (m->tq_len == TELEGRAM_QUEUE)
		return -EBUSY;
	f = &m->fobs[fob];
	f->counter++;
	rssi = rf_tx_power(f->cell_v) - PATH_LOSS_1M_DB - 10.0 * PATH_LOSS_EXP * log10(d) +
	       FADING_SIGMA_DB * rng_normal(m);
	t = (struct telegram){
		.t_us = m->now + TELEGRAM_LATENCY_US + rng_jitter(m, TELEGRAM_JITTER_US),
		.fob = fob,
		.button = button,
		.rssi = (int)lround(rssi),
		.battery_low = f->cell_v < FOB_LOW_FLAG_V,
		.counter = (uint8_t)f->counter,
		.status = SIM_TELEGRAM_IDLE,
	};
	if (rssi >= RX_SENSITIVITY_DBM) {
		p_ok = 1.0 / (1.0 + exp(-(rssi - RX_SENSITIVITY_DBM - RX_DECODE_MARGIN_DB) /
					RX_DECODE_SLOPE_DB));
		if (!rng_chance(m, p_ok))
			t.status = SIM_TELEGRAM_CRC_ERROR;
		else if (!f->programmed)
			t.status = SIM_TELEGRAM_UNKNOWN_FOB;
		else
			t.status = SIM_TELEGRAM_VALID;
	}
	if (t.rssi < RSSI_NONE_DBM + 1)
		t.rssi = RSSI_NONE_DBM + 1;
	m->tq[m->tq_len++] = t;
	return 0;
}

int sim_model_press(struct sim_model *m, enum sim_button b, unsigned fob, double distance_m,
		    int64_t hold_us)
{
	struct sw *s;

	switch (b) {
	case SIM_BUTTON_FOB_TRUNK:
		return fob_press(m, SIM_RKE_BUTTON_TRUNK, fob, distance_m);
	case SIM_BUTTON_FOB_LOCK:
		return fob_press(m, SIM_RKE_BUTTON_LOCK, fob, distance_m);
	case SIM_BUTTON_FOB_UNLOCK:
		return fob_press(m, SIM_RKE_BUTTON_UNLOCK, fob, distance_m);
	case SIM_BUTTON_INTERIOR:
	case SIM_BUTTON_EXTERIOR:
		s = &m->sw[b == SIM_BUTTON_INTERIOR ? 0 : 1];
		if (s->pressed)
			return -EBUSY;
		if (hold_us <= 0)
			hold_us = DEFAULT_HOLD_US;
		s->pressed = true;
		s->since = m->now;
		s->release_at = m->now + hold_us;
		return 0;
	case _SIM_BUTTON_MAX:
		break;
	}
	return -EINVAL;
}

int sim_model_key_blade(struct sim_model *m)
{
	bool moved = !m->fault[SIM_FAULT_LATCH_JAMMED] && m->latch == LATCH_LATCHED;

	emit(m, SIM_EVENT_KEY_BLADE, moved, 0, 0);
	if (moved)
		latch_release(m, true);
	update_signals(m);
	return 0;
}

int sim_model_close_lid(struct sim_model *m)
{
	if (m->latch == LATCH_LATCHED)
		return 0;
	m->lid = LID_CLOSING;
	return 0;
}

int sim_model_set_ignition(struct sim_model *m, enum sim_ignition ign)
{
	bool was_on, is_on;

	if ((unsigned)ign >= _SIM_IGNITION_MAX)
		return -EINVAL;
	was_on = m->ignition == SIM_IGNITION_RUN || m->ignition == SIM_IGNITION_START;
	is_on = ign == SIM_IGNITION_RUN || ign == SIM_IGNITION_START;
	if (ign != m->ignition)
		emit(m, SIM_EVENT_IGNITION, (int)ign, 0, 0);
	m->ignition = ign;
	if (is_on && !was_on) {
		operation_cycle_end(m);
		operation_cycle_start(m);
	}
	update_signals(m);
	return 0;
}

int sim_model_set_speed(struct sim_model *m, double kmh)
{
	if (!(kmh >= 0.0 && kmh <= 300.0))
		return -EINVAL;
	m->speed = kmh;
	update_signals(m);
	return 0;
}

int sim_model_set_gear(struct sim_model *m, enum sim_gear g)
{
	if ((unsigned)g >= _SIM_GEAR_MAX)
		return -EINVAL;
	m->gear = g;
	update_signals(m);
	return 0;
}

int sim_model_set_battery(struct sim_model *m, double volts)
{
	if (!(volts >= 6.0 && volts <= 16.0))
		return -EINVAL;
	m->battery_v = volts;
	update_signals(m);
	return 0;
}

int sim_model_set_perimeter_alarm(struct sim_model *m, bool armed)
{
	enum sim_alarm_state st = armed ? SIM_ALARM_ARMED : SIM_ALARM_DISARMED;

	if (st != m->perimeter)
		emit(m, SIM_EVENT_ALARM, (int)st, 0, 0);
	m->perimeter = st;
	update_signals(m);
	return 0;
}

int sim_model_set_valet(struct sim_model *m, bool on)
{
	m->valet = on;
	update_signals(m);
	return 0;
}

int sim_model_fob_learn(struct sim_model *m, unsigned slot)
{
	if (slot >= SIM_MODEL_FOB_SLOTS)
		return -EINVAL;
	if (m->fault[SIM_FAULT_FOB_UNPROGRAMMED] && m->opts[SIM_FAULT_FOB_UNPROGRAMMED].fob == slot)
		sim_model_fault_remove(m, SIM_FAULT_FOB_UNPROGRAMMED);
	m->fobs[slot].programmed = true;
	apply_fob_faults(m);
	update_signals(m);
	return 0;
}

int sim_model_set_aftermarket_armed(struct sim_model *m, bool armed)
{
	if (!m->fault[SIM_FAULT_AFTERMARKET_ALARM])
		return -ENODEV;
	if (m->am_armed == armed)
		return 0;
	m->am_armed = armed;
	update_signals(m);
	alarm_node_changed(m);
	return 0;
}

int sim_model_output_control(struct sim_model *m, bool on)
{
	if (!on) {
		/* ReturnControlToECU ends the pulse now, not at the next tick. */
		m->output_due = 0;
		if (m->cmd) {
			m->pulse_end = m->now;
			output_stop(m);
			update_signals(m);
		}
		return 0;
	}
	if (m->speed > 0.0 || m->gear != SIM_GEAR_P)
		return -EPERM;
	if (m->lockout_active)
		return -EBUSY;
	release_request(m, SIM_RELEASE_TESTER);
	update_signals(m);
	return 0;
}

/* --- names ------------------------------------------------------------------------- */
#define NAME(table, v) ((unsigned)(v) < sizeof(table) / sizeof(table[0]) ? table[v] : NULL)

const char *sim_release_source_name(enum sim_release_source s)
{
	static const char *const n[_SIM_RELEASE_MAX] = {"idle", "fob", "interior", "exterior",
							"tester"};
	return NAME(n, s);
}

const char *sim_inhibit_name(enum sim_inhibit i)
{
	static const char *const n[_SIM_INHIBIT_MAX] = {
		"none", "speed", "gear", "alarm_armed", "valet", "output_lockout",
		"switch_stuck", "low_voltage", "external_request", "vehicle_locked"};
	return NAME(n, i);
}

const char *sim_rke_button_name(enum sim_rke_button b)
{
	static const char *const n[_SIM_RKE_BUTTON_MAX] = {"none", "lock", "unlock", "trunk",
							   "panic"};
	return NAME(n, b);
}

const char *sim_telegram_status_name(enum sim_telegram_status s)
{
	static const char *const n[_SIM_TELEGRAM_MAX] = {"idle", "valid", "crc_error",
							 "unknown_fob"};
	return NAME(n, s);
}

const char *sim_gear_name(enum sim_gear g)
{
	static const char *const n[_SIM_GEAR_MAX] = {"P", "R", "N", "D"};
	return NAME(n, g);
}

const char *sim_ignition_name(enum sim_ignition i)
{
	static const char *const n[_SIM_IGNITION_MAX] = {"off", "acc", "run", "start"};
	return NAME(n, i);
}

const char *sim_button_name(enum sim_button b)
{
	static const char *const n[_SIM_BUTTON_MAX] = {"fob_trunk", "fob_lock", "fob_unlock",
						       "interior", "exterior"};
	return NAME(n, b);
}

static const char *str(const char *s)
{
	return s ? s : "?";
}

void sim_event_format(const struct sim_event *e, char *buf, size_t len)
{
	char code[9];
	static const char *const alarm[_SIM_ALARM_STATE_MAX] = {"disarmed", "arming", "armed"};

	switch (e->type) {
	case SIM_EVENT_TELEGRAM:
		snprintf(buf, len, "telegram %s button=%s fob=%d",
			 str(sim_telegram_status_name((enum sim_telegram_status)e->a)),
			 str(sim_rke_button_name((enum sim_rke_button)e->b)), e->c);
		return;
	case SIM_EVENT_TELEGRAM_LOST:
		snprintf(buf, len, "telegram lost (not received) button=%s fob=%d",
			 str(sim_rke_button_name((enum sim_rke_button)e->a)), e->c);
		return;
	case SIM_EVENT_LOCK:
		snprintf(buf, len, "doors %s", e->a ? "locked" : "unlocked");
		return;
	case SIM_EVENT_ALARM:
		snprintf(buf, len, "perimeter alarm %s", str(NAME(alarm, e->a)));
		return;
	case SIM_EVENT_RELEASE_REQUEST:
		snprintf(buf, len, "release request from %s",
			 str(sim_release_source_name((enum sim_release_source)e->a)));
		return;
	case SIM_EVENT_RELEASE_INHIBITED:
		snprintf(buf, len, "release from %s inhibited: %s",
			 str(sim_release_source_name((enum sim_release_source)e->a)),
			 str(sim_inhibit_name((enum sim_inhibit)e->b)));
		return;
	case SIM_EVENT_OUTPUT_ON:
		snprintf(buf, len, "release output on (%s)",
			 str(sim_release_source_name((enum sim_release_source)e->a)));
		return;
	case SIM_EVENT_OUTPUT_OFF:
		snprintf(buf, len, "release output off");
		return;
	case SIM_EVENT_SHORT_DETECTED:
		snprintf(buf, len, "release output short to ground: driver tripped, lockout");
		return;
	case SIM_EVENT_LOCKOUT_END:
		snprintf(buf, len, "output lockout ended");
		return;
	case SIM_EVENT_FUSE_BLOWN:
		snprintf(buf, len, "trunk release fuse blew");
		return;
	case SIM_EVENT_LATCH_RELEASED:
		snprintf(buf, len, "latch released%s", e->a ? " (key blade)" : "");
		return;
	case SIM_EVENT_LATCH_CLOSED:
		snprintf(buf, len, "lid closed and latched");
		return;
	case SIM_EVENT_KEY_BLADE:
		snprintf(buf, len, "key blade turned: latch %s", e->a ? "moved" : "did not move");
		return;
	case SIM_EVENT_DTC_STATUS:
		sim_dtc_format(sim_dtc_code((enum sim_dtc_id)e->a), code);
		snprintf(buf, len, "DTC %s status 0x%02X -> 0x%02X", code, (unsigned)e->b,
			 (unsigned)e->c);
		return;
	case SIM_EVENT_IGNITION:
		snprintf(buf, len, "ignition %s", str(sim_ignition_name((enum sim_ignition)e->a)));
		return;
	case SIM_EVENT_FAULT:
		snprintf(buf, len, "fault %s %s", e->b ? "added" : "removed",
			 str(sim_fault_name((enum sim_fault)e->a)));
		return;
	case SIM_EVENT_ALARM_NODE:
		snprintf(buf, len, "aftermarket alarm %s, inhibit request %d",
			 e->a ? "armed" : "disarmed", e->b);
		return;
	case _SIM_EVENT_MAX:
		break;
	}
	snprintf(buf, len, "event %d", (int)e->type);
}

/* --- checksum ---------------------------------------------------------------------- */
uint8_t sim_crc8_j1850(const uint8_t *data, size_t len)
{
	uint8_t crc = 0xFF;

	for (size_t i = 0; i < len; i++) {
		crc ^= data[i];
		for (int b = 0; b < 8; b++)
			crc = (uint8_t)((crc & 0x80) ? (crc << 1) ^ 0x1D : crc << 1);
	}
	return crc ^ 0xFF;
}
