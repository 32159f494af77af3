/* SPDX-License-Identifier: MIT */
/*
 * Background DTC scans ([scan] in bodydiag.conf): every interval, the fault memory
 * (0x19 0x02 0xFF) of each profile ECU that has DTCs is read at BACKGROUND priority
 * through the UDS broker and every DTC goes into the history (history_record_dtc keeps
 * the transitions).
 *
 * A scan transmits, so it must never wake a sleeping car or drain a weak battery: it is
 * skipped while the bus is detached, while the bus has been quiet for bus_quiet (a
 * request would wake the ECUs), and while the battery voltage is below battery_low or
 * not known. The voltage is the latest value of the DBC signal [scan] battery_signal
 * decoded from bus frames, or, without such a signal, OBD PID 0x42 read by a functional
 * request just before a scan (so no more often than the scans, and only while awake).
 *
 * scan_decide() is the pure decision (unit-tested); the rest drives it from a libev
 * timer. The state and the reason of a skip are in scan_status_json() and are logged
 * once per change, not per tick.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

struct bus;
struct dbc;
struct ev_loop;
struct history;
struct profile;
struct uds_broker;
struct scan;

/* Why no scan may start now; SCAN_GO when one may. */
enum scan_verdict {
	SCAN_GO,
	SCAN_DISABLED,	      /* [scan] enabled = false */
	SCAN_NOTHING,	      /* no broker, or no profile ECU has DTCs */
	SCAN_DETACHED,	      /* no bus (link down, adapter gone) */
	SCAN_BUS_QUIET,	      /* no frame for bus_quiet (or none yet): the car sleeps */
	SCAN_BATTERY_UNKNOWN, /* a threshold is set but no current voltage is known */
	SCAN_BATTERY_LOW,     /* below battery_low */
	SCAN_READ_BATTERY,    /* only the OBD PID 0x42 request may go out now */
	SCAN_NOT_DUE,	      /* the interval since the last scan has not elapsed */
	SCAN_VERDICT_MAX,
};

/* What scan_decide() looks at; times in monotonic µs. */
struct scan_inputs {
	bool enabled;
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
 * verdicts above, so a disabled scanner says "disabled" whatever the bus does and a
 * sleeping bus shows as quiet before the interval matters. A broadcast battery value
 * older than bus_quiet counts as unknown; one read on demand is good for one interval,
 * and the request for it goes out at most once per interval, only when a scan is due
 * and the bus is awake.
 */
enum scan_verdict scan_decide(const struct scan_inputs *in);

/* "scanning", "disabled", "nothing_to_scan", "detached", "bus_quiet", "battery_unknown",
 * "battery_low", "reading_battery", "waiting"; NULL out of range. */
const char *scan_verdict_name(enum scan_verdict v);

/* One-line human reason of a verdict ("bus quiet for 312 s", "battery 11.2 V < 11.8 V"). */
int scan_verdict_format(enum scan_verdict v, const struct scan_inputs *in, char *buf, size_t size);

/* What the scanner works with; borrowed, any may be NULL (the scanner then idles). */
struct scan_data {
	struct uds_broker *broker; /* ECU i is the profile's ECU i */
	const struct profile *profile;
	const struct dbc *dbc;
	struct bus *bus;
	struct history *history;
};

struct scan_config {
	bool enabled;
	uint64_t interval_ms, bus_quiet_ms;
	double battery_low_v;
	const char *battery_signal; /* DBC signal name; NULL/"" = OBD PID 0x42 (copied) */
};

int scan_new(struct ev_loop *loop, const struct scan_config *cfg, const struct scan_data *data,
	     struct scan **ret);
/* Cancels a scan in progress. NULL-safe, returns NULL. */
struct scan *scan_free(struct scan *s);
static inline void scan_freep(struct scan **s)
{
	scan_free(*s);
}

/* SIGHUP: new settings and data (the old broker must not be freed before this returns:
 * requests on it are cancelled here). */
int scan_set_config(struct scan *s, const struct scan_config *cfg);
void scan_set_data(struct scan *s, const struct scan_data *data);

/* Every bus frame (main.c feeds them all): the battery signal is taken from it, and
 * frames on ids other than our own request ids tell that the car is awake (our own
 * requests come back to the bus listener and must not keep a sleeping bus "awake"). */
void scan_bus_frame(struct scan *s, const struct bd_timed_frame *f);

/* {"enabled":..,"state":..,"reason":..,"last_scan":..,"next_scan":..,"battery_v":..,
 * "scans":..,"dtcs":..}; times in Unix seconds, null when none. NULL on out of memory. */
json_t *scan_status_json(struct scan *s);

/* Registers the API method "scan" (read privilege) returning scan_status_json. */
struct api_server;
int scan_api_register(struct scan *s, struct api_server *api);
