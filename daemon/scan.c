/* SPDX-License-Identifier: MIT */
#include "scan.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodydiag/obd.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "core.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "vehicle.h"

/* Often enough that a quiet bus or a low battery shows in `status` within a second. */
#define TICK_US 1000000
#define OBD_PID_BATTERY 0x42

struct target {
	struct scan *s;
	char ecu[UDS_BROKER_MAX_NAME];
	struct uds_port_request *req; /* while on the broker */
};

/* The functional request cannot be cancelled: its callback finds s NULL when the scanner
 * went away (or reloaded) meanwhile, and frees the ticket. */
struct battery_ticket {
	struct scan *s;
};

struct scan {
	struct core *c;
	struct timer tick;
	struct target targets[UDS_BROKER_MAX_ECUS];
	size_t n_targets;
	size_t outstanding;	       /* DTC reads of the current scan still on the broker */
	struct battery_ticket *ticket; /* OBD PID 0x42 request in flight */
	bool holding;		       /* policy_begin(SCAN) until the scan or read is over */
	struct policy_scan_state state;
	enum policy_verdict verdict;   /* last one, for logging changes */
	bool verdict_valid;
	uint64_t scans, dtcs, failures;
};

/* Running normally (scanning or waiting for the interval) is one state for the log. */
static bool verdict_is_running(enum policy_verdict v)
{
	return v == POLICY_GO || v == POLICY_NOT_DUE || v == POLICY_READ_BATTERY;
}

static void note_verdict(struct scan *s, enum policy_verdict v, const struct policy_inputs *in)
{
	char reason[128];

	/* The battery read between two pauses for an unknown voltage is no news. */
	if (v == POLICY_READ_BATTERY && s->verdict_valid)
		return;
	if (s->verdict_valid && (v == s->verdict ||
				 (verdict_is_running(v) && verdict_is_running(s->verdict)))) {
		s->verdict = v;
		return;
	}
	s->verdict = v;
	s->verdict_valid = true;
	if (v == POLICY_DISABLED)
		return;
	policy_verdict_format(v, in, reason, sizeof(reason));
	if (verdict_is_running(v))
		log_info("background scans running (every %.0f s)",
			 s->c->cfg.scan.interval_ms / 1000.0);
	else
		log_notice("background scans paused: %s", reason);
}

static void release(struct scan *s)
{
	if (s->holding && !s->outstanding && !s->ticket) {
		s->holding = false;
		policy_end(s->c->policy, POLICY_SCAN);
	}
}

static void on_dtcs(void *userdata, const struct uds_broker_result *r)
{
	static const uint8_t req[] = {UDS_SID_READ_DTC_INFORMATION, 0x02, 0xff};
	struct target *t = userdata;
	struct scan *s = t->s;
	struct uds_rdtci_response rr;

	/* The DTCs themselves reach the history from the router (records module). */
	t->req = NULL;
	if (s->outstanding > 0)
		s->outstanding--;
	release(s);
	if (r->outcome != UDS_BROKER_RESPONSE) {
		s->failures++;
		log_debug("background scan of %s: %s", t->ecu, uds_broker_outcome_name(r->outcome));
		return;
	}
	if (uds_parse_rdtci(req, sizeof(req), r->resp, r->resp_len, &rr) < 0 ||
	    rr.r.result != UDS_RESULT_OK || rr.shape != UDS_RDTCI_SHAPE_DTC_LIST) {
		s->failures++;
		log_debug("background scan of %s: no DTC list in the answer", t->ecu);
		return;
	}
	s->dtcs += rr.n_dtcs;
}

static void scan_start(struct scan *s, int64_t now)
{
	static const uint8_t req[] = {UDS_SID_READ_DTC_INFORMATION, 0x02, 0xff};

	s->state.last_scan_us = now;
	s->scans++;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = &s->targets[i];
		int r = uds_port_submit(&s->c->uds, t->ecu, UDS_BROKER_PRIORITY_BACKGROUND, req,
					sizeof(req), on_dtcs, t, &t->req);

		if (r < 0) {
			s->failures++;
			log_debug("background scan of %s: %s", t->ecu, strerror(-r));
			continue;
		}
		s->outstanding++;
	}
}

static void tick(struct scan *s);

static void on_battery(void *userdata, const struct uds_broker_functional_answer *a, size_t n)
{
	struct battery_ticket *ticket = userdata;
	struct scan *s = ticket->s;

	free(ticket);
	if (!s)
		return;
	s->ticket = NULL;
	release(s);
	for (size_t i = 0; i < n; i++) {
		struct obd_pid_value pids[8];
		struct obd_mode01_response mr;
		double v;

		if (!a[i].resp || obd_parse_mode01(a[i].resp, a[i].resp_len, pids, ARRAY_SIZE(pids),
						   &mr) < 0 || mr.result != OBD_RESULT_OK)
			continue;
		for (size_t k = 0; k < mr.n; k++) {
			if (pids[k].pid != OBD_PID_BATTERY ||
			    obd_decode_pid(OBD_PID_BATTERY, pids[k].data, pids[k].len, &v) < 0)
				continue;
			policy_note_battery(s->c->policy, v, clock_now(&s->c->clock));
			/* With the voltage known the scan can start now rather than a tick later. */
			tick(s);
			return;
		}
	}
}

static void read_battery(struct scan *s, int64_t now)
{
	static const uint8_t req[] = {0x01, OBD_PID_BATTERY};
	struct battery_ticket *ticket;
	int r;

	s->state.last_battery_request_us = now;
	ticket = calloc(1, sizeof(*ticket));
	if (!ticket)
		return;
	ticket->s = s;
	r = uds_port_functional(&s->c->uds, req, sizeof(req), on_battery, ticket);
	if (r < 0) {
		free(ticket);
		log_debug("background scan: cannot read OBD PID 0x42: %s", strerror(-r));
		return;
	}
	s->ticket = ticket;
}

static void tick(struct scan *s)
{
	int64_t now = clock_now(&s->c->clock), next = TICK_US;
	struct policy_inputs in;
	enum policy_verdict v = policy_scan_check(s->c->policy, &s->state, &in);
	char why[128];

	note_verdict(s, v, &in);
	if (!s->outstanding && !s->ticket && (v == POLICY_READ_BATTERY || v == POLICY_GO) &&
	    policy_begin(s->c->policy, POLICY_SCAN, why, sizeof(why)) == POLICY_GO) {
		s->holding = true;
		if (v == POLICY_READ_BATTERY)
			read_battery(s, now);
		else
			scan_start(s, now);
		release(s);
	}
	/* Wake up on the due time itself, so that scans keep their interval rather than
	 * slipping to the next whole tick. */
	if (s->state.last_scan_us) {
		int64_t until = s->state.last_scan_us + (int64_t)s->c->cfg.scan.interval_ms * 1000 - now;

		if (until > 0 && until < TICK_US)
			next = until + 1000;
	}
	timer_start(&s->tick, next);
}

static void on_tick(struct timer *t)
{
	tick(container_of(t, struct scan, tick));
}

/* Stops what is on the broker: requests cancelled, a functional answer ignored. */
static void detach(struct scan *s)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		uds_port_cancel(&s->c->uds, s->targets[i].req);
		s->targets[i].req = NULL;
	}
	s->outstanding = 0;
	if (s->ticket) {
		s->ticket->s = NULL;
		s->ticket = NULL;
	}
	release(s);
}

static void use_vehicle(struct scan *s, struct vehicle *v)
{
	detach(s);
	s->n_targets = 0;
	for (size_t i = 0; i < vehicle_ecu_count(v) && s->n_targets < ARRAY_SIZE(s->targets); i++) {
		struct target *t = &s->targets[s->n_targets];

		if (!vehicle_ecu_has_dtcs(v, i))
			continue;
		*t = (struct target){.s = s};
		snprintf(t->ecu, sizeof(t->ecu), "%s", vehicle_ecu_at(v, i)->id);
		s->n_targets++;
	}
	s->state.n_targets = s->n_targets;
	/* The battery value of the old data source does not carry over (the policy's). */
	s->state.last_battery_request_us = 0;
}

static json_t *time_json(int64_t mono, int64_t now_mono, int64_t now_wall)
{
	if (!mono)
		return json_null();
	return json_real((double)(now_wall - (now_mono - mono)) / 1e6);
}

json_t *scan_status_json(struct scan *s)
{
	const struct config *cfg = &s->c->cfg;
	int64_t now = clock_now(&s->c->clock), wall = clock_now_us(CLOCK_REALTIME);
	struct policy_inputs in;
	enum policy_verdict v = policy_scan_check(s->c->policy, &s->state, &in);
	const char *state, *source, *signal;
	double battery = policy_battery(s->c->policy, &source, &signal);
	char reason[128];
	int64_t next = 0;

	if (v == POLICY_DISABLED)
		state = "disabled";
	else if (s->outstanding || s->ticket)
		state = "scanning";
	else if (verdict_is_running(v))
		state = "idle";
	else
		state = "paused";
	policy_verdict_format(v, &in, reason, sizeof(reason));
	if (strcmp(state, "paused") != 0 && v != POLICY_DISABLED)
		next = s->state.last_scan_us
			       ? s->state.last_scan_us + (int64_t)cfg->scan.interval_ms * 1000
			       : now;
	if (next && next < now)
		next = now;
	return json_pack("{s:b,s:s,s:o,s:o,s:o,s:o,s:s,s:f,s:f,s:o,s:I,s:I,s:I,s:I}", "enabled",
			 cfg->scan.enabled, "state", state, "reason",
			 strcmp(state, "paused") == 0 ? json_string(reason) : json_null(),
			 "last_scan", time_json(s->state.last_scan_us, now, wall), "next_scan",
			 time_json(next, now, wall), "battery_v",
			 isfinite(battery) ? json_real(battery) : json_null(), "battery_source",
			 source, "interval_s", cfg->scan.interval_ms / 1000.0, "bus_quiet_s",
			 cfg->scan.bus_quiet_ms / 1000.0, "battery_signal",
			 signal ? json_string(signal) : json_null(),
			 "ecus", (json_int_t)s->n_targets, "scans", (json_int_t)s->scans, "dtcs",
			 (json_int_t)s->dtcs, "failures", (json_int_t)s->failures);
}

static void method_scan(struct api_request *req, json_t *params, void *userdata)
{
	json_t *o;

	if (json_object_size(params) > 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "scan takes no parameters");
		return;
	}
	o = scan_status_json(((struct core *)userdata)->scan);
	if (!o) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply(req, o);
}

static const struct api_method method_table[] = {
	{.name = "scan", .privilege = API_PRIVILEGE_READ, .handler = method_scan,
	 .summary = "background scan state: running, paused (and why), last and next scan"},
};

static int scan_new(struct core *c)
{
	struct scan *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->c = c;
	c->scan = s;
	timer_init(&s->tick, &c->clock, on_tick);
	use_vehicle(s, c->vehicle);
	timer_start(&s->tick, TICK_US);
	return 0;
}

static void scan_set_vehicle(struct core *c, struct vehicle *v)
{
	use_vehicle(c->scan, v);
}

static void scan_free(struct core *c)
{
	struct scan *s = c->scan;

	if (!s)
		return;
	timer_stop(&s->tick);
	detach(s);
	free(s);
	c->scan = NULL;
}

const struct module scan_module = {
	.name = "background scans",
	.new = scan_new,
	.set_vehicle = scan_set_vehicle,
	.free = scan_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};
