/* SPDX-License-Identifier: MIT */
/*
 * The transmit policy: every decision whether the daemon may send something on the
 * car's bus is taken here, with its reason, and the reasons are what `status` shows.
 *
 *  - Listen-only: with [can] listen_only (yes or hard) nothing is ever sent (clients are
 *    refused before anything goes out); otherwise nothing is sent unless a client asks,
 *    [scan] schedules it or [data] profile = auto reads the VIN at attach.
 *  - The controller's own listen-only mode (bus.h): hard keeps it for good; by default
 *    ([can] idle_listen_only) it is on while the daemon only listens, taken off by
 *    policy_transmit() right before something is sent, and put back [can] idle_after
 *    after the last transmission once nothing transmits or holds a session.
 *  - Interlocks between the activities that transmit: no background scan during an
 *    actuator test or a guided test; no actuator test during a scan or a guided test;
 *    no guided test and no functional request during an actuator test.
 *  - A client's functional OBD request, which every ECU on the bus hears: at most one per
 *    FUNCTIONAL_MIN_INTERVAL_US over the daemon. An activity holds its place from
 *    policy_begin() to policy_end().
 *  - The actuator test: at most one start per ACTUATOR_MIN_INTERVAL_US, and only with
 *    the vehicle known to be stationary: its speed and gear, read through the profile's
 *    `speed` and `gear` roles (role_watch.h; a [safety] speed_signal / gear_signal
 *    overrides them with a DBC signal), each decoded within the last second, read 0 and
 *    park. A vehicle whose profile maps neither role cannot be known stationary.
 *  - Background scans: never on a detached bus, on a bus quiet for [scan] bus_quiet (a
 *    request would wake the car), or with the battery below [scan] battery_low or not
 *    known (the profile's `battery_voltage` role from the bus, or the [scan]
 *    battery_signal instead, else OBD PID 0x42 read on demand just before a scan:
 *    policy_decide_scan() says when that read may go).
 *
 * The bus is watched through the router: frames not sent by this host keep the bus
 * "awake" (our own requests must not keep a sleeping car awake), and the speed, gear
 * and battery signals are taken from the frames the router decoded.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"
#include "list.h"

struct config;
struct core;
struct policy;

enum policy_activity {
	POLICY_CLIENT,	       /* a client's request: dtc.read, dtc.clear, did.read */
	POLICY_GUIDED_TEST,    /* diagnose */
	POLICY_ACTUATOR_TEST,  /* actuator.test */
	POLICY_SCAN,	       /* a background scan and its battery read */
	POLICY_FUNCTIONAL,     /* a client's functional OBD request (obd.request): it reaches
				* every ECU, so at most one per FUNCTIONAL_MIN_INTERVAL_US, and
				* none during an actuator test */
	POLICY_DISCOVERY,      /* the discover method: probes on every id, so nothing else
				* transmits meanwhile and it starts only when nothing does */
	POLICY_IDENTIFY,       /* the VIN read at attach ([data] profile = auto) */
	POLICY_ACTIVITY_MAX,
};

/* Why something may not transmit now; POLICY_GO when it may. */
enum policy_verdict {
	POLICY_GO,
	POLICY_LISTEN_ONLY,	 /* [can] listen_only */
	POLICY_DISABLED,	 /* scans: [scan] enabled = false */
	POLICY_NOTHING,		 /* scans: no ECU to scan */
	POLICY_BUSY,		 /* an interlock: another activity runs */
	POLICY_DETACHED,	 /* no bus (link down, adapter gone) */
	POLICY_BUS_QUIET,	 /* no frame for bus_quiet (or none yet): the car sleeps */
	POLICY_BATTERY_UNKNOWN,	 /* a threshold is set but no current voltage is known */
	POLICY_BATTERY_LOW,	 /* below battery_low */
	POLICY_READ_BATTERY,	 /* scans: only the OBD PID 0x42 request may go out now */
	POLICY_NOT_DUE,		 /* scans: the interval since the last scan has not elapsed */
	POLICY_RATE_LIMITED,	 /* actuator: one start per ACTUATOR_MIN_INTERVAL_US; functional:
				  * one per FUNCTIONAL_MIN_INTERVAL_US */
	POLICY_NOT_STATIONARY,	 /* actuator: speed unknown, not 0, or not in park */
	POLICY_VERDICT_MAX,
};

/* What policy_decide_scan() looks at; times in monotonic µs. */
struct policy_inputs {
	bool listen_only;
	bool enabled;
	bool busy;		 /* an actuator test or a guided test runs: busy_with */
	enum policy_activity busy_with;
	bool attached;
	int64_t now_us;
	int64_t last_frame_us;	 /* 0 = no frame seen yet */
	int64_t last_scan_us;	 /* 0 = never */
	uint64_t interval_ms, bus_quiet_ms;
	double battery_low_v;	 /* 0 = no battery check */
	bool battery_on_demand;	 /* no battery signal: read OBD PID 0x42 before a scan */
	bool battery_known;
	double battery_v;
	int64_t battery_us;	 /* when battery_v was seen */
	int64_t last_battery_request_us; /* on demand: 0 = never */
	size_t n_targets;	 /* ECUs to scan */
};

/*
 * The pure decision "may a background scan transmit now", checked in the order of the
 * verdicts above, so listen-only or a disabled scanner says so whatever the bus does
 * and a sleeping bus shows as quiet before the interval matters. A broadcast battery
 * value older than bus_quiet counts as unknown; one read on demand is good for one
 * interval, and the request for it goes out at most once per interval, only when a
 * scan is due and the bus is awake.
 */
enum policy_verdict policy_decide_scan(const struct policy_inputs *in);

/* "scanning" (GO), "listen_only", "disabled", "nothing_to_scan", "busy", "detached",
 * "bus_quiet", "battery_unknown", "battery_low", "reading_battery", "waiting",
 * "rate_limited", "not_stationary"; NULL out of range. */
const char *policy_verdict_name(enum policy_verdict v);
/* One-line human reason of a scan verdict ("bus quiet for 312 s", "battery 11.20 V below
 * 11.80 V"); the running activity for BUSY. */
int policy_verdict_format(enum policy_verdict v, const struct policy_inputs *in, char *buf,
			  size_t size);
/* "client", "guided_test", "actuator_test", "scan", "functional", "discovery",
 * "identify"; NULL out of range. */
const char *policy_activity_name(enum policy_activity a);

/*
 * Asks to start activity a now. POLICY_GO: it runs until policy_end(); anything else:
 * refused, with the reason in why (e.g. "a background scan is running",
 * "vehicle not stationary: VehicleSpeed = 30 km/h", "one actuator test per 5 s: retry in
 * 3.2 s"). A refusal is logged by the caller, not here.
 */
enum policy_verdict policy_begin(struct policy *p, enum policy_activity a, char *why, size_t size);
void policy_end(struct policy *p, enum policy_activity a);
bool policy_running(const struct policy *p, enum policy_activity a);

/*
 * Waiting for an activity's end, instead of polling policy_running(): w->fn runs once,
 * from the loop at the next turn after the policy_end() that left activity a with nothing
 * running (never inside policy_end(), whose caller is still tidying up), or at the next
 * turn when a is not running now. The waiter then is no longer queued; fn may queue it
 * again. Embedded in its owner (container_of in fn); policy_wait_cancel() before it goes
 * away (harmless when not queued).
 */
struct policy_waiter {
	void (*fn)(struct policy_waiter *w);
	enum policy_activity activity;
	struct list_head link;
};
void policy_waiter_init(struct policy_waiter *w, void (*fn)(struct policy_waiter *w));
void policy_wait_end(struct policy *p, enum policy_activity a, struct policy_waiter *w);
void policy_wait_cancel(struct policy_waiter *w);
bool policy_waiting(const struct policy_waiter *w);

/* The scanner's view: its own state in, the inputs of policy_decide_scan() out (for
 * the reason text), the verdict returned. */
struct policy_scan_state {
	int64_t last_scan_us;
	int64_t last_battery_request_us;
	size_t n_targets;
};
enum policy_verdict policy_scan_check(struct policy *p, const struct policy_scan_state *s,
				      struct policy_inputs *ret_in);
/* A battery voltage read on demand (OBD PID 0x42), at monotonic t_us. */
void policy_note_battery(struct policy *p, double volts, int64_t t_us);
/* The battery as known now: the source ("signal", "obd"), with a signal where it comes
 * from ("BCM_VehicleState.BatteryVoltage", NULL for obd; either may be NULL), and the
 * value (NAN unknown). */
double policy_battery(const struct policy *p, const char **ret_source, const char **ret_name);

/* {"listen_only":..,"transmit":"clients"|"clients_and_scans"|"never","running":[...],
 *  "bus":"awake"|"quiet"|"detached","actuator_test":null|"reason","scan":null|"reason",
 *  "guided_test":null|"reason"}: null where the activity may start now. */
json_t *policy_status_json(struct policy *p);

/*
 * Right before anything goes on the bus (the broker's requests, a discovery's probes):
 * 0 when it may, the controller out of listen-only mode; -EPERM with [can] listen_only
 * (nothing may be sent, whoever asks); -errno when the controller could not be taken out
 * of listen-only mode. why says it on failure.
 */
int policy_transmit(struct policy *p, char *why, size_t size);

/* The controller mode the bus keeps (bus.h) for this configuration. */
enum bus_listen_only policy_bus_listen_only(const struct config *cfg);

extern const struct module policy_module;

#define ACTUATOR_MIN_INTERVAL_US 5000000  /* between two actuator test starts */
#define ACTUATOR_SPEED_MAX_AGE_US 1000000 /* older speed samples count as unknown */
#define FUNCTIONAL_MIN_INTERVAL_US 500000 /* between two clients' functional requests */
