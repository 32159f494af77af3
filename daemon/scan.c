/* SPDX-License-Identifier: MIT */
#include "scan.h"

#include <errno.h>
#include <ev.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/obd.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "bus.h"
#include "history.h"
#include "log.h"
#include "macro.h"
#include "uds_broker.h"

/* Often enough that a quiet bus or a low battery shows in `status` within a second. */
#define TICK_S 1.0
#define OBD_PID_BATTERY 0x42

static const char *const verdict_names[SCAN_VERDICT_MAX] = {
	[SCAN_GO] = "scanning",
	[SCAN_DISABLED] = "disabled",
	[SCAN_NOTHING] = "nothing_to_scan",
	[SCAN_DETACHED] = "detached",
	[SCAN_BUS_QUIET] = "bus_quiet",
	[SCAN_BATTERY_UNKNOWN] = "battery_unknown",
	[SCAN_BATTERY_LOW] = "battery_low",
	[SCAN_READ_BATTERY] = "reading_battery",
	[SCAN_NOT_DUE] = "waiting",
};

const char *scan_verdict_name(enum scan_verdict v)
{
	return (unsigned)v < SCAN_VERDICT_MAX ? verdict_names[v] : NULL;
}

enum scan_verdict scan_decide(const struct scan_inputs *in)
{
	int64_t interval_us = (int64_t)in->interval_ms * 1000;
	int64_t quiet_us = (int64_t)in->bus_quiet_ms * 1000;
	bool due = !in->last_scan_us || in->now_us - in->last_scan_us >= interval_us;

	if (!in->enabled)
		return SCAN_DISABLED;
	if (!in->n_targets)
		return SCAN_NOTHING;
	if (!in->attached)
		return SCAN_DETACHED;
	/* A bus never heard is asleep (or empty): a request would be the first frame on it. */
	if (!in->last_frame_us || in->now_us - in->last_frame_us >= quiet_us)
		return SCAN_BUS_QUIET;
	if (in->battery_low_v > 0) {
		/* A broadcast signal is refreshed all the time; a value read on demand is
		 * as current as the scans it guards. */
		int64_t valid_us = in->battery_on_demand ? interval_us : quiet_us;
		bool fresh = in->battery_known && in->now_us - in->battery_us < valid_us &&
			     isfinite(in->battery_v);

		if (!fresh) {
			if (!in->battery_on_demand)
				return SCAN_BATTERY_UNKNOWN;
			if (!due)
				return SCAN_NOT_DUE;
			if (in->last_battery_request_us &&
			    in->now_us - in->last_battery_request_us < interval_us)
				return SCAN_BATTERY_UNKNOWN;
			return SCAN_READ_BATTERY;
		}
		if (in->battery_v < in->battery_low_v)
			return SCAN_BATTERY_LOW;
	}
	return due ? SCAN_GO : SCAN_NOT_DUE;
}

int scan_verdict_format(enum scan_verdict v, const struct scan_inputs *in, char *buf, size_t size)
{
	switch (v) {
	case SCAN_GO:
		return snprintf(buf, size, "scanning");
	case SCAN_DISABLED:
		return snprintf(buf, size, "background scans disabled");
	case SCAN_NOTHING:
		return snprintf(buf, size, "no profile ECU with DTCs");
	case SCAN_DETACHED:
		return snprintf(buf, size, "bus detached");
	case SCAN_BUS_QUIET:
		if (!in->last_frame_us)
			return snprintf(buf, size, "bus quiet (no frame seen)");
		return snprintf(buf, size, "bus quiet for %lld s",
				(long long)((in->now_us - in->last_frame_us) / 1000000));
	case SCAN_BATTERY_UNKNOWN:
		return snprintf(buf, size, "battery voltage unknown");
	case SCAN_BATTERY_LOW:
		return snprintf(buf, size, "battery %.2f V below %.2f V", in->battery_v,
				in->battery_low_v);
	case SCAN_READ_BATTERY:
		return snprintf(buf, size, "reading the battery voltage (OBD PID 0x42)");
	case SCAN_NOT_DUE:
		return snprintf(buf, size, "waiting for the next scan");
	case SCAN_VERDICT_MAX:
		break;
	}
	return snprintf(buf, size, "?");
}

/* ---- the scanner ---- */

struct target {
	struct scan *s;
	size_t ecu; /* broker index */
	struct uds_broker_request *req; /* while on the broker */
};

/* The functional request cannot be cancelled: its callback finds s NULL when the scanner
 * went away (or changed brokers) meanwhile, and frees the ticket. */
struct battery_ticket {
	struct scan *s;
};

struct scan {
	struct ev_loop *loop;
	ev_timer tick;
	struct scan_config cfg;
	char battery_signal[128];
	struct scan_data data;
	struct api_server *api;

	struct target targets[UDS_BROKER_MAX_ECUS];
	size_t n_targets;
	size_t outstanding; /* DTC reads of the current scan still on the broker */

	const struct dbc_message *battery_msg; /* the message carrying battery_signal */
	const struct dbc_signal *battery_sig;
	struct dbc_sample *samples;
	size_t samples_cap;

	/* Ids the daemon itself sends on (requests, flow control, functional): the kernel
	 * loops our own frames back to the bus listener, and they must not count as the car
	 * being awake, or a scan would keep the bus "awake" by itself. */
	uint32_t own_ids[2 * UDS_BROKER_MAX_ECUS];
	size_t n_own_ids;
	int64_t last_foreign_us; /* monotonic µs of the last frame not sent by us */

	struct battery_ticket *ticket; /* OBD PID 0x42 request in flight */
	bool battery_known;
	double battery_v;
	int64_t battery_us;
	int64_t last_battery_request_us;

	int64_t last_scan_us, last_scan_end_us;
	enum scan_verdict verdict; /* last one, for logging changes */
	bool verdict_valid;
	uint64_t scans, dtcs, transitions, failures;
};

static bool battery_on_demand(const struct scan *s)
{
	return !s->battery_signal[0];
}

static void inputs_of(const struct scan *s, int64_t now, struct scan_inputs *in)
{
	struct bus_stats st = {0};

	if (s->data.bus)
		bus_get_stats(s->data.bus, &st);
	/* Both clocks are the frames' kernel timestamps; a frame of our own is in the bus
	 * stats but not in last_foreign_us. */
	if (st.last_frame_us > s->last_foreign_us)
		st.last_frame_us = s->last_foreign_us;
	*in = (struct scan_inputs){
		.enabled = s->cfg.enabled,
		.attached = s->data.bus && st.attached,
		.now_us = now,
		.last_frame_us = st.last_frame_us,
		.last_scan_us = s->last_scan_us,
		.interval_ms = s->cfg.interval_ms,
		.bus_quiet_ms = s->cfg.bus_quiet_ms,
		.battery_low_v = s->cfg.battery_low_v,
		.battery_on_demand = battery_on_demand(s),
		.battery_known = s->battery_known,
		.battery_v = s->battery_v,
		.battery_us = s->battery_us,
		.last_battery_request_us = s->last_battery_request_us,
		.n_targets = s->n_targets,
	};
}

/* Running normally (scanning or waiting for the interval) is one state for the log. */
static bool verdict_is_running(enum scan_verdict v)
{
	return v == SCAN_GO || v == SCAN_NOT_DUE || v == SCAN_READ_BATTERY;
}

static void note_verdict(struct scan *s, enum scan_verdict v, const struct scan_inputs *in)
{
	char reason[128];

	/* The battery read between two pauses for an unknown voltage is no news. */
	if (v == SCAN_READ_BATTERY && s->verdict_valid)
		return;
	if (s->verdict_valid && (v == s->verdict ||
				 (verdict_is_running(v) && verdict_is_running(s->verdict)))) {
		s->verdict = v;
		return;
	}
	s->verdict = v;
	s->verdict_valid = true;
	if (v == SCAN_DISABLED)
		return;
	scan_verdict_format(v, in, reason, sizeof(reason));
	if (verdict_is_running(v))
		log_info("background scans running (every %.0f s)", s->cfg.interval_ms / 1000.0);
	else
		log_notice("background scans paused: %s", reason);
}

static void on_dtcs(void *userdata, const struct uds_broker_result *r)
{
	static const uint8_t req[] = {UDS_SID_READ_DTC_INFORMATION, 0x02, 0xff};
	struct target *t = userdata;
	struct scan *s = t->s;
	const char *ecu = uds_broker_ecu_name(s->data.broker, t->ecu);
	struct uds_rdtci_response rr;
	int64_t now = clock_now_us(CLOCK_REALTIME);

	t->req = NULL;
	if (s->outstanding > 0 && --s->outstanding == 0)
		s->last_scan_end_us = clock_now_us(CLOCK_MONOTONIC);
	if (r->outcome != UDS_BROKER_RESPONSE) {
		s->failures++;
		log_debug("background scan of %s: %s", ecu, uds_broker_outcome_name(r->outcome));
		return;
	}
	if (uds_parse_rdtci(req, sizeof(req), r->resp, r->resp_len, &rr) < 0 ||
	    rr.r.result != UDS_RESULT_OK || rr.shape != UDS_RDTCI_SHAPE_DTC_LIST) {
		s->failures++;
		log_debug("background scan of %s: no DTC list in the answer", ecu);
		return;
	}
	for (size_t i = 0; i < rr.n_dtcs; i++) {
		struct uds_dtc_record d;
		bool transition = false;
		int e;

		if (uds_rdtci_dtc(&rr, i, &d) < 0)
			break;
		s->dtcs++;
		if (!s->data.history)
			continue;
		e = history_record_dtc(s->data.history, 0, now, ecu, d.dtc & 0xffffffu, d.status,
				       &transition);
		if (e < 0)
			log_warning_errno(-e, "background scan: cannot record a DTC of %s", ecu);
		else if (transition)
			s->transitions++;
	}
}

static void scan_start(struct scan *s, int64_t now)
{
	static const uint8_t req[] = {UDS_SID_READ_DTC_INFORMATION, 0x02, 0xff};

	s->last_scan_us = now;
	s->scans++;
	for (size_t i = 0; i < s->n_targets; i++) {
		struct target *t = &s->targets[i];
		int r;

		if (t->req)
			continue;
		r = uds_broker_submit(s->data.broker, t->ecu, UDS_BROKER_PRIORITY_BACKGROUND, req,
				      sizeof(req), on_dtcs, t, &t->req);
		if (r < 0) {
			s->failures++;
			log_debug("background scan of %s: %s",
				  uds_broker_ecu_name(s->data.broker, t->ecu), strerror(-r));
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
			s->battery_known = true;
			s->battery_v = v;
			s->battery_us = clock_now_us(CLOCK_MONOTONIC);
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

	if (s->ticket)
		return;
	s->last_battery_request_us = now;
	ticket = calloc(1, sizeof(*ticket));
	if (!ticket)
		return;
	ticket->s = s;
	r = uds_broker_functional(s->data.broker, req, sizeof(req), on_battery, ticket);
	if (r < 0) {
		free(ticket);
		log_debug("background scan: cannot read OBD PID 0x42: %s", strerror(-r));
		return;
	}
	s->ticket = ticket;
}

static void tick(struct scan *s)
{
	int64_t now = clock_now_us(CLOCK_MONOTONIC);
	struct scan_inputs in;
	enum scan_verdict v;

	double next_s = TICK_S;

	inputs_of(s, now, &in);
	v = scan_decide(&in);
	note_verdict(s, v, &in);
	if (!s->outstanding && !s->ticket && s->data.broker) {
		if (v == SCAN_READ_BATTERY)
			read_battery(s, now);
		else if (v == SCAN_GO)
			scan_start(s, now);
	}
	/* Wake up on the due time itself, so that scans keep their interval rather than
	 * slipping to the next whole tick. */
	if (s->last_scan_us) {
		int64_t until = s->last_scan_us + (int64_t)s->cfg.interval_ms * 1000 - now;

		if (until > 0 && until < TICK_S * 1e6)
			next_s = (double)until / 1e6 + 0.001;
	}
	s->tick.repeat = next_s;
	ev_timer_again(s->loop, &s->tick);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	tick(container_of(w, struct scan, tick));
}

/* Stops using the current broker: its requests are cancelled, a functional request's
 * answer is ignored. */
static void detach_broker(struct scan *s)
{
	for (size_t i = 0; i < s->n_targets; i++) {
		if (s->targets[i].req)
			uds_broker_request_cancel(s->targets[i].req);
		s->targets[i].req = NULL;
	}
	s->outstanding = 0;
	if (s->ticket) {
		s->ticket->s = NULL;
		s->ticket = NULL;
	}
}

static void find_battery_signal(struct scan *s)
{
	const struct dbc *db = s->data.dbc;

	s->battery_msg = NULL;
	s->battery_sig = NULL;
	if (!db || !s->battery_signal[0])
		return;
	for (size_t i = 0; i < dbc_message_count(db); i++) {
		const struct dbc_message *m = dbc_message_at(db, i);
		const struct dbc_signal *sig = dbc_message_find_signal(m, s->battery_signal);

		if (sig) {
			s->battery_msg = m;
			s->battery_sig = sig;
			return;
		}
	}
	log_warning("[scan] battery_signal %s is not in the DBC: battery voltage unknown",
		    s->battery_signal);
}

static int samples_reserve(struct scan *s)
{
	size_t need = s->battery_msg ? dbc_message_max_samples(s->battery_msg) : 0;
	struct dbc_sample *n;

	if (need <= s->samples_cap)
		return 0;
	n = realloc(s->samples, need * sizeof(*n));
	if (!n)
		return -ENOMEM;
	s->samples = n;
	s->samples_cap = need;
	return 0;
}

void scan_set_data(struct scan *s, const struct scan_data *data)
{
	const struct profile *p = data->profile;

	detach_broker(s);
	s->data = *data;
	s->n_targets = 0;
	for (size_t i = 0; p && data->broker && i < profile_ecu_count(p); i++) {
		const struct profile_ecu *e = profile_ecu_at(p, i);
		bool has_dtcs = false;
		int k;

		for (size_t j = 0; j < profile_dtc_count(p) && !has_dtcs; j++)
			has_dtcs = strcmp(profile_dtc_at(p, j)->ecu, e->id) == 0;
		k = uds_broker_ecu_find(data->broker, e->id);
		if (!has_dtcs || k < 0 || s->n_targets == ARRAY_SIZE(s->targets))
			continue;
		s->targets[s->n_targets++] = (struct target){.s = s, .ecu = (size_t)k};
	}
	s->n_own_ids = 0;
	for (size_t i = 0; data->broker && i < uds_broker_ecu_count(data->broker); i++) {
		const struct uds_broker_ecu_config *c = uds_broker_ecu_config(data->broker, i);

		if (!c || s->n_own_ids + 2 > ARRAY_SIZE(s->own_ids))
			break;
		s->own_ids[s->n_own_ids++] = c->tx_id;
		if (c->functional_id)
			s->own_ids[s->n_own_ids++] = c->functional_id;
	}
	find_battery_signal(s);
	if (samples_reserve(s) < 0) {
		log_warning("background scan: out of memory, battery signal not decoded");
		s->battery_msg = NULL;
		s->battery_sig = NULL;
	}
	/* The battery value of the old data source does not carry over. */
	s->battery_known = false;
	s->last_battery_request_us = 0;
}

int scan_set_config(struct scan *s, const struct scan_config *cfg)
{
	const char *sig = cfg->battery_signal ? cfg->battery_signal : "";

	if (strlen(sig) >= sizeof(s->battery_signal))
		return -EINVAL;
	s->cfg = *cfg;
	s->cfg.battery_signal = NULL;
	if (strcmp(sig, s->battery_signal) != 0) {
		snprintf(s->battery_signal, sizeof(s->battery_signal), "%s", sig);
		s->battery_known = false;
		find_battery_signal(s);
		if (samples_reserve(s) < 0) {
			s->battery_msg = NULL;
			s->battery_sig = NULL;
		}
	}
	return 0;
}

int scan_new(struct ev_loop *loop, const struct scan_config *cfg, const struct scan_data *data,
	     struct scan **ret)
{
	struct scan *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->loop = loop;
	r = scan_set_config(s, cfg);
	if (r < 0) {
		free(s);
		return r;
	}
	scan_set_data(s, data);
	ev_timer_init(&s->tick, on_tick, TICK_S, TICK_S);
	ev_timer_start(loop, &s->tick);
	*ret = s;
	return 0;
}

struct scan *scan_free(struct scan *s)
{
	if (!s)
		return NULL;
	ev_timer_stop(s->loop, &s->tick);
	detach_broker(s);
	if (s->api)
		api_server_unregister(s->api, "scan");
	free(s->samples);
	free(s);
	return NULL;
}

void scan_bus_frame(struct scan *s, const struct bd_timed_frame *f)
{
	bool own = false;
	int n;

	for (size_t i = 0; i < s->n_own_ids && !own; i++)
		own = f->frame.id == s->own_ids[i];
	if (!own && f->t_us > s->last_foreign_us)
		s->last_foreign_us = f->t_us;
	if (!s->battery_sig || f->frame.id != dbc_message_id(s->battery_msg) ||
	    !!(f->frame.flags & BD_FRAME_EXT) != dbc_message_is_extended(s->battery_msg) ||
	    (f->frame.flags & (BD_FRAME_RTR | BD_FRAME_ERR)))
		return;
	n = dbc_decode(s->battery_msg, f->frame.data, f->frame.len, s->samples, s->samples_cap,
		       NULL);
	for (int i = 0; i < n; i++) {
		if (s->samples[i].signal != s->battery_sig)
			continue;
		s->battery_known = true;
		s->battery_v = dbc_value_as_double(s->samples[i].value);
		s->battery_us = f->t_us;
		return;
	}
}

static json_t *time_json(int64_t mono, int64_t now_mono, int64_t now_wall)
{
	if (!mono)
		return json_null();
	return json_real((double)(now_wall - (now_mono - mono)) / 1e6);
}

json_t *scan_status_json(struct scan *s)
{
	int64_t now = clock_now_us(CLOCK_MONOTONIC), wall = clock_now_us(CLOCK_REALTIME);
	struct scan_inputs in;
	enum scan_verdict v;
	const char *state;
	char reason[128];
	int64_t next = 0;

	inputs_of(s, now, &in);
	v = scan_decide(&in);
	if (v == SCAN_DISABLED)
		state = "disabled";
	else if (s->outstanding || s->ticket)
		state = "scanning";
	else if (verdict_is_running(v))
		state = "idle";
	else
		state = "paused";
	scan_verdict_format(v, &in, reason, sizeof(reason));
	if (strcmp(state, "paused") != 0 && v != SCAN_DISABLED)
		next = s->last_scan_us ? s->last_scan_us + (int64_t)s->cfg.interval_ms * 1000 : now;
	if (next && next < now)
		next = now;
	return json_pack("{s:b,s:s,s:o,s:o,s:o,s:o,s:s,s:f,s:f,s:o,s:I,s:I,s:I,s:I,s:I}",
			 "enabled", s->cfg.enabled, "state", state, "reason",
			 strcmp(state, "paused") == 0 ? json_string(reason) : json_null(), "last_scan",
			 time_json(s->last_scan_us, now, wall), "next_scan",
			 time_json(next, now, wall), "battery_v",
			 s->battery_known ? json_real(s->battery_v) : json_null(),
			 "battery_source", battery_on_demand(s) ? "obd" : "signal", "interval_s",
			 s->cfg.interval_ms / 1000.0, "bus_quiet_s", s->cfg.bus_quiet_ms / 1000.0,
			 "battery_signal",
			 s->battery_signal[0] ? json_string(s->battery_signal) : json_null(), "ecus",
			 (json_int_t)s->n_targets, "scans", (json_int_t)s->scans, "dtcs",
			 (json_int_t)s->dtcs, "transitions", (json_int_t)s->transitions,
			 "failures", (json_int_t)s->failures);
}

static void method_scan(struct api_request *req, json_t *params, void *userdata)
{
	json_t *o;

	if (json_object_size(params) > 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "scan takes no parameters");
		return;
	}
	o = scan_status_json(userdata);
	if (!o) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply(req, o);
}

int scan_api_register(struct scan *s, struct api_server *api)
{
	const struct api_method m = {
		.name = "scan",
		.privilege = API_PRIVILEGE_READ,
		.handler = method_scan,
		.userdata = s,
		.summary = "background scan state: running, paused (and why), last and next scan",
	};
	int r = api_server_register(api, &m);

	if (r >= 0)
		s->api = api;
	return r;
}
