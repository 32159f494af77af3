/* SPDX-License-Identifier: MIT */
#include "diagnosis.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "bodydiag/timeline.h"
#include "bodydiag/uds.h"
#include "core.h"
#include "engine_json.h"
#include "history.h"
#include "json_text.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "records.h"
#include "router.h"
#include "vehicle.h"

#define MAX_READS 64		   /* outstanding UDS reads of one step */
#define DEFAULT_ANSWER_TIMEOUT_S 120.0
#define MAX_ANSWER_TIMEOUT_S 3600.0
#define MAX_WAIT_US 30000000	   /* a window never holds the test longer than this */

struct diagnosis;

struct read {
	struct diagnosis *g;
	struct uds_port_request *handle; /* NULL once done */
	const char *ecu;		 /* the vehicle's */
	uint8_t req[8];
	size_t req_len;
};

struct diagnosis {
	struct core *c;
	struct vehicle *vehicle;
	struct engine *engine; /* NULL without rules (the methods answer `unavailable`) */
	struct router_watch *watch;

	/* the guided test */
	enum diagnosis_state state;
	struct api_request *req;
	struct api_subscription *sub;
	int64_t answer_timeout_us;
	bool ask;		/* false: evaluate right after the reads */
	bool reread;		/* an action happened: read again before the next question */
	const char *asked;	/* mark of the question that is out (owned by the rules set) */
	json_t *reads_log;	/* every read of the test, for the reply */
	json_t *asked_log;	/* questions asked, with their answer times */
	struct read reads[MAX_READS];
	size_t n_reads, reads_left;
	struct timer timer;
	int64_t started_us;
	bool vin_asked;		 /* this test has read the VIN */
	int64_t session;	 /* history session of the running test, 0 = none */
	int64_t session_start_us; /* the last test's start (engine reset), INT64_MIN: none */
};

static double seconds(int64_t us)
{
	return (double)us / 1e6;
}

static struct history *history_of(const struct diagnosis *g)
{
	return g->c->records ? records_history(g->c->records) : NULL;
}

static void notify_event(struct diagnosis *g, const char *event, json_t *data);

/* ---- the result: the shape of `bodydiag analyze --json` (engine_json.c) ---- */

static void member_int(struct json_text *w, const char *key, uint64_t v)
{
	json_text_key(w, key);
	json_text_integer(w, (int64_t)v);
}

static void member_str(struct json_text *w, const char *key, const char *v)
{
	json_text_key(w, key);
	json_text_string(w, v);
}

/* Evaluates now and writes the result, an object, into w: -ENOMEM or 0. Body events
 * since the last guided test began (else every one kept), their times from then (else
 * from the first frame). */
static int result_write(struct diagnosis *g, struct json_text *w)
{
	const struct profile *p = vehicle_profile(g->vehicle);
	struct engine_stats st;

	engine_advance(g->engine, clock_now(&g->c->clock));
	engine_stats(g->engine, &st);
	struct engine_json_opts jo = {
	    .t0_us = g->session_start_us != INT64_MIN ? g->session_start_us : st.first_us,
	    .since_us = g->session_start_us,
	    .input = ENGINE_JSON_BUS,
	};
	json_text_object_begin(w);
	if (engine_json_write(w, g->engine, &jo) < 0)
		return -ENOMEM;
	json_text_key(w, "input");
	json_text_object_begin(w);
	member_int(w, "frames", st.frames);
	member_int(w, "decoded", st.decoded);
	member_int(w, "pdus", st.pdus);
	member_int(w, "marks", st.marks);
	member_int(w, "dtc_events", st.dtc_events);
	json_text_object_end(w);
	if (p) {
		json_text_key(w, "vehicle");
		json_text_object_begin(w);
		member_str(w, "make", profile_make(p));
		member_str(w, "platform", profile_platform(p));
		member_str(w, "name", profile_vehicle_name(p));
		json_text_object_end(w);
	}
	json_text_object_end(w);
	return json_text_failed(w) ? -ENOMEM : 0;
}

/* The result as a jansson value (the guided test adds to it and records it); NULL on out
 * of memory. */
static json_t *result_json(struct diagnosis *g)
{
	struct json_text *w = json_text_new(JSON_TEXT_COMPACT);

	if (!w || result_write(g, w) < 0) {
		json_text_free(w);
		return NULL;
	}
	return json_text_finish_value(w);
}

/* ---- the engine: every frame, exchange and mark, as the router delivers them ---- */

static void on_frame(void *userdata, const struct router_frame *f)
{
	struct diagnosis *g = userdata;

	if (!g->engine)
		return;
	switch (f->hit.kind) {
	case ROUTE_MESSAGE:
		if (!f->samples)
			return; /* a message no rule reads: nothing to take */
		break;
	case ROUTE_UNKNOWN:
	case ROUTE_ERROR:
		break;
	case ROUTE_DIAG_REQUEST:
	case ROUTE_DIAG_RESPONSE:
	case ROUTE_FUNCTIONAL:
	case ROUTE_REMOTE:
	case ROUTE_KIND_MAX:
		/* diagnostic frames arrive as whole exchanges (on_exchange), once each */
		return;
	}
	(void)engine_feed_classified(g->engine, f->tf, f->hit, f->samples, f->n_samples);
}

static void on_exchange(void *userdata, const struct router_exchange *x)
{
	struct diagnosis *g = userdata;
	const struct profile_ecu *e = vehicle_ecu_at(g->vehicle, x->ecu);

	/* Exchanges name their ECU; a reload may have renumbered the vehicle's. */
	if (!g->engine || !e || strcmp(e->id, x->ecu_name) != 0)
		return;
	if (x->outcome == UDS_BROKER_RESPONSE && x->resp)
		(void)engine_uds(g->engine, x->ecu_name, x->t_us, x->req, x->req_len, x->resp,
				 x->resp_len);
	else if (x->outcome == UDS_BROKER_TIMEOUT && x->req_len)
		(void)engine_transport(g->engine, x->t_us, TIMELINE_TRANSPORT_TIMEOUT, e->response_id,
				       x->req[0], 0);
}

static void step(struct diagnosis *g);

static void on_mark(void *userdata, const struct router_mark *m)
{
	struct diagnosis *g = userdata;
	int r;

	if (!g->engine)
		return;
	r = engine_mark(g->engine, m->t_us, m->label, strlen(m->label));
	if (r < 0) {
		log_warning("mark \"%s\": the diagnosis did not take it: %s", m->label, strerror(-r));
		return;
	}
	if (!g->req || g->state != DIAGNOSIS_ASKING || !g->asked || strcmp(g->asked, m->label))
		return;
	/* Whatever the person did is evidence; the answer to the question is its mark. */
	size_t n = json_array_size(g->asked_log);
	json_t *last = n ? json_array_get(g->asked_log, n - 1) : NULL;
	if (last)
		json_object_set_new(last, "answered", json_real(seconds(m->t_us - g->started_us)));
	g->asked = NULL;
	g->reread = true;
	notify_event(g, "diagnose.watching", json_pack("{s:s}", "mark", m->label));
	step(g);
}

static int build(struct diagnosis *g, struct vehicle *v, struct engine **ret)
{
	struct engine_config cfg;
	struct rules_error err = {0};
	int r;

	engine_config_init(&cfg);
	cfg.rules = vehicle_rules(v);
	cfg.dbc = vehicle_dbc(v);
	cfg.profile = vehicle_profile(v);
	cfg.routes = vehicle_routes(v);
	r = engine_new(&cfg, &err, ret);
	if (r < 0) {
		log_error("diagnosis: cannot build the engine: %s (%s)", strerror(-r), err.message);
		return r;
	}
	/* Only the messages whose signals the rules read are decoded for us. */
	router_watch_want_none(g->watch);
	for (size_t i = 0; i < route_table_message_count(cfg.routes); i++)
		if (engine_reads_message(*ret, i) && router_watch_want(g->watch, v, i, true) < 0) {
			*ret = engine_free(*ret);
			return -ENOMEM;
		}
	return 0;
}

/* ---- the guided test ---- */

static void session_end(struct diagnosis *g)
{
	for (size_t i = 0; i < g->n_reads; i++)
		if (g->reads[i].handle) {
			uds_port_cancel(&g->c->uds, g->reads[i].handle);
			g->reads[i].handle = NULL;
		}
	if (g->state != DIAGNOSIS_IDLE)
		policy_end(g->c->policy, POLICY_GUIDED_TEST);
	g->n_reads = g->reads_left = 0;
	timer_stop(&g->timer);
	g->sub = api_subscription_free(g->sub);
	json_decref(g->reads_log);
	json_decref(g->asked_log);
	g->reads_log = g->asked_log = NULL;
	g->req = NULL;
	g->asked = NULL;
	g->state = DIAGNOSIS_IDLE;
	g->session = 0;
	g->vin_asked = false;
}

/* Ends the running test with an error (its client is told why). */
static void abort_running(struct diagnosis *g, enum api_error err, const char *why)
{
	struct api_request *req = g->req;

	if (!req)
		return;
	g->req = NULL;
	session_end(g);
	api_request_fail(req, err, "%s", why);
}

/* The session's end, and the batch record() opened committed. */
static void record_end(struct diagnosis *g, struct history *h, int64_t end)
{
	int r;

	history_session_end(h, g->session, core_wall_of(g->c, end));
	r = history_batch_end(h);
	if (r < 0 && r != -EINVAL)
		log_warning_errno(-r, "history: the test's records were not committed");
}

/* The verdict and the leading cause that held, for the session's summary (the fleet's). */
static void record_verdict(struct diagnosis *g, struct history *h, json_t *res)
{
	const char *top = NULL;
	size_t i;
	json_t *f;

	json_array_foreach(json_object_get(res, "findings"), i, f) {
		const char *kind = json_string_value(json_object_get(f, "kind"));
		const char *state = json_string_value(json_object_get(f, "state"));

		if (kind && state && strcmp(kind, "cause") == 0 && strcmp(state, "holds") == 0) {
			top = json_string_value(json_object_get(f, "id"));
			break;
		}
	}
	if (history_session_set_verdict(h, g->session,
					json_string_value(json_object_get(res, "verdict")), top) < 0)
		log_warning("history: cannot record the test's verdict");
}

/* The test into the history: findings that hold or may hold, with their evidence, and the
 * timeline of what the rules read, for the report. Failures are logged, not fatal: the
 * client still gets its answer. */
static void record(struct diagnosis *g, json_t *res)
{
	struct history *h = history_of(g);
	const struct timeline *tl = engine_timeline(g->engine);
	const struct timeline_symbols *sy = engine_symbols(g->engine);
	struct rules_engine *re = engine_rules(g->engine);
	int64_t end = clock_now(&g->c->clock);
	size_t i;
	json_t *f;
	int r;

	if (!h || !g->session)
		return;
	/* Findings, timeline and the session's end in one transaction: with a durable
	 * history one fsync, not one per timeline point. */
	r = history_batch_begin(h);
	if (r < 0)
		log_warning_errno(-r, "history: recording the test without a batch");
	record_verdict(g, h, res);
	/* the whole result, for `bodydiag report`: the chain, the verdict, the DTCs' texts */
	char *text = json_text_dumps(res, JSON_TEXT_COMPACT, NULL);
	r = text ? history_session_set_result(h, g->session, text) : -ENOMEM;
	free(text);
	if (r < 0)
		log_warning_errno(-r, "history: cannot record the test's result");
	json_array_foreach(json_object_get(res, "findings"), i, f) {
		const char *state = json_string_value(json_object_get(f, "state"));
		char *ev;
		if (strcmp(state, "holds") != 0 && strcmp(state, "possible") != 0)
			continue;
		ev = json_text_dumps(json_object_get(f, "evidence"), JSON_TEXT_COMPACT, NULL);
		r = history_record_finding(h, g->session, core_wall_of(g->c, end),
					   json_string_value(json_object_get(f, "id")),
					   json_real_value(json_object_get(f, "score")), state,
					   json_string_value(json_object_get(f, "advice")), ev, NULL);
		free(ev);
		if (r < 0)
			log_warning_errno(-r, "history: cannot record finding");
	}
	/* Periodic frames repeat values; the report needs the first value and every change. */
	size_t n_sig = timeline_symbols_count(sy, TIMELINE_SYMBOL_SIGNAL);
	double *last = calloc(n_sig ? n_sig : 1, sizeof(*last));
	bool *seen = calloc(n_sig ? n_sig : 1, sizeof(*seen));
	if (!last || !seen) {
		free(last);
		free(seen);
		log_warning("history: out of memory, timeline not recorded");
		record_end(g, h, end);
		return;
	}
	for (i = timeline_find_time(tl, g->started_us); i < timeline_count(tl); i++) {
		struct timeline_event ev;
		const struct timeline_event *e = &ev;
		if (timeline_get(tl, i, &ev) < 0)
			break;
		uint32_t si = e->type == TIMELINE_EVENT_SIGNAL ? e->signal.index : 0;
		if (e->type == TIMELINE_EVENT_SIGNAL && si < n_sig && seen[si] &&
		    last[si] == e->signal.value)
			continue;
		if (e->type == TIMELINE_EVENT_SIGNAL && si < n_sig) {
			seen[si] = true;
			last[si] = e->signal.value;
		}
		if (e->type == TIMELINE_EVENT_SIGNAL && rules_engine_reads_signal(re, e->signal.index))
			r = history_record_timeline(
				h, g->session, core_wall_of(g->c, e->t_us),
				timeline_symbols_name(sy, TIMELINE_SYMBOL_SIGNAL, e->signal.index),
				e->signal.value, NULL);
		else if (e->type == TIMELINE_EVENT_MARK)
			r = history_record_timeline(
				h, g->session, core_wall_of(g->c, e->t_us), "mark", NAN,
				timeline_symbols_name(sy, TIMELINE_SYMBOL_MARK, e->mark.index));
		else
			continue;
		if (r < 0) {
			log_warning_errno(-r, "history: cannot record the timeline");
			break;
		}
	}
	free(last);
	free(seen);
	record_end(g, h, end);
}

static void finish(struct diagnosis *g, const char *unanswered)
{
	json_t *res = result_json(g);
	struct api_request *req = g->req;

	if (!res) {
		abort_running(g, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	json_object_set(res, "reads", g->reads_log);
	json_object_set(res, "questions", g->asked_log);
	json_object_set_new(res, "unanswered", unanswered ? json_string(unanswered) : json_null());
	json_object_set_new(res, "duration",
			    json_real(seconds(clock_now(&g->c->clock) - g->started_us)));
	record(g, res);
	if (g->session)
		json_object_set_new(res, "session", json_integer(g->session));
	g->req = NULL;
	session_end(g);
	api_request_reply(req, res);
}

static void notify_event(struct diagnosis *g, const char *event, json_t *data)
{
	if (g->sub)
		(void)api_subscription_send(g->sub, event, data);
	else
		json_decref(data);
}

static void on_read_done(void *userdata, const struct uds_broker_result *r)
{
	struct read *rd = userdata;
	struct diagnosis *g = rd->g;
	char hex[2 * sizeof(rd->req) + 1];
	json_t *entry;

	/* The exchange itself reached the engine through the router, before this. */
	rd->handle = NULL;
	for (size_t i = 0; i < rd->req_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", rd->req[i]);
	entry = json_pack("{s:s, s:s, s:s, s:f}", "ecu", rd->ecu, "request", hex, "outcome",
			  uds_broker_outcome_name(r->outcome), "ms", (double)r->elapsed_us / 1e3);
	if (entry && r->outcome == UDS_BROKER_RESPONSE && r->resp_len >= 3 &&
	    r->resp[0] == UDS_SID_NEGATIVE_RESPONSE)
		json_object_set_new(entry, "nrc", json_integer(r->resp[2]));
	else if (entry && r->outcome == UDS_BROKER_TRANSPORT_ERROR)
		json_object_set_new(entry, "transport",
				    json_string(uds_broker_transport_name(r->transport_errno)));
	if (entry)
		json_array_append_new(g->reads_log, entry);
	if (--g->reads_left == 0) {
		g->n_reads = 0;
		step(g);
	}
}

static int submit_read(struct diagnosis *g, const char *ecu, const uint8_t *req, size_t len)
{
	struct read *rd;
	int r;

	if (g->n_reads >= MAX_READS || len > sizeof(rd->req))
		return -ENOBUFS;
	rd = &g->reads[g->n_reads];
	*rd = (struct read){.g = g, .ecu = ecu, .req_len = len};
	memcpy(rd->req, req, len);
	r = uds_port_submit(&g->c->uds, ecu, UDS_BROKER_PRIORITY_INTERACTIVE, rd->req, len,
			    on_read_done, rd, &rd->handle);
	if (r < 0)
		return r;
	g->n_reads++;
	g->reads_left++;
	return 0;
}

/* True when the DID carries a chain role an active rule reads (the engine's list). */
static bool did_wanted(struct diagnosis *g, const struct profile_did *d)
{
	for (size_t i = 0; i < engine_did_count(g->engine); i++)
		if (engine_did_at(g->engine, i) == d)
			return true;
	return false;
}

/* The fault memory of every ECU the profile knows DTCs of, and the DIDs the rules read.
 * Returns the number of reads started (0: nothing to read). */
static int start_reads(struct diagnosis *g)
{
	const struct profile *p = vehicle_profile(g->vehicle);
	int n = 0;

	for (size_t i = 0; i < vehicle_ecu_count(g->vehicle); i++) {
		/* reportDTCByStatusMask, every status bit: what is stored, not only active */
		static const uint8_t req[] = {UDS_SID_READ_DTC_INFORMATION, 0x02, 0xff};
		if (vehicle_ecu_has_dtcs(g->vehicle, i) &&
		    submit_read(g, vehicle_ecu_at(g->vehicle, i)->id, req, sizeof(req)) == 0)
			n++;
	}
	for (size_t k = 0; p && k < profile_did_count(p); k++) {
		const struct profile_did *d = profile_did_at(p, k);
		/* the VIN names the vehicle in the history and on MQTT: once per test */
		bool vin = profile_did_id(d) == 0xf190 && !g->vin_asked;
		int idx = vehicle_ecu_find(g->vehicle, profile_did_ecu(d));
		if (idx < 0 || (!vin && !did_wanted(g, d)))
			continue;
		if (vin)
			g->vin_asked = true;
		const uint8_t req[] = {UDS_SID_READ_DATA_BY_IDENTIFIER, profile_did_id(d) >> 8,
				       profile_did_id(d) & 0xff};
		if (submit_read(g, vehicle_ecu_at(g->vehicle, (size_t)idx)->id, req, sizeof(req)) == 0)
			n++;
	}
	if (n > 0) {
		g->state = DIAGNOSIS_READING;
		notify_event(g, "diagnose.reading", json_pack("{s:i}", "requests", n));
	}
	return n;
}

/* Decides what the guided test does next. */
static void step(struct diagnosis *g)
{
	struct rules_question q;
	int64_t now = clock_now(&g->c->clock);
	int r;

	if (!g->req)
		return;
	engine_advance(g->engine, now);
	r = engine_next_question(g->engine, &q);
	if (r == -EAGAIN) {
		int64_t due = engine_next_deadline(g->engine);
		int64_t wait = due == INT64_MAX || due - now > MAX_WAIT_US ? MAX_WAIT_US
									  : due - now + 1000;
		g->state = DIAGNOSIS_WAITING;
		timer_start(&g->timer, wait);
		return;
	}
	/* The windows of the last action are closed: what the ECU says now belongs to it. */
	if (g->reread) {
		g->reread = false;
		if (start_reads(g) > 0)
			return;
		r = engine_next_question(g->engine, &q);
	}
	if (r == 0 && g->ask) {
		g->state = DIAGNOSIS_ASKING;
		g->asked = q.mark;
		json_array_append_new(g->asked_log, json_pack("{s:s, s:s, s:f}", "mark", q.mark,
							      "prompt", q.prompt, "asked",
							      seconds(now - g->started_us)));
		notify_event(g, "diagnose.question",
			     json_pack("{s:s, s:s, s:I, s:I}", "mark", q.mark, "prompt", q.prompt,
				       "cost", (json_int_t)q.cost, "waiting", (json_int_t)q.waiting));
		timer_start(&g->timer, g->answer_timeout_us);
		return;
	}
	if (r < 0 && r != -ENOENT && r != -EAGAIN) {
		char why[96];
		snprintf(why, sizeof(why), "rules: %s", strerror(-r));
		abort_running(g, API_ERROR_INTERNAL, why);
		return;
	}
	finish(g, NULL);
}

static void on_timer(struct timer *t)
{
	struct diagnosis *g = container_of(t, struct diagnosis, timer);

	if (g->state == DIAGNOSIS_ASKING) {
		log_notice("diagnose: no answer to \"%s\" within %.1f s", g->asked,
			   seconds(g->answer_timeout_us));
		finish(g, g->asked);
		return;
	}
	step(g);
}

static void on_client_gone(void *data)
{
	/* The request is an orphan now: failing it discards the answer and frees it. */
	abort_running(data, API_ERROR_UNAVAILABLE, "client gone");
}

static void method_diagnose(struct api_request *req, json_t *params, void *userdata)
{
	struct diagnosis *g = ((struct core *)userdata)->diagnosis;
	struct history *h = history_of(g);
	const char *system = "trunk";
	double timeout = DEFAULT_ANSWER_TIMEOUT_S;
	int ask = 1, read = 1;
	json_error_t jerr;
	char why[192];

	if (json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s, s?F, s?b, s?b}", "system", &system,
			   "answer_timeout", &timeout, "questions", &ask, "read", &read) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "%s", jerr.text);
		return;
	}
	if (strcmp(system, "trunk") != 0) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "no guided test for system \"%s\" (known: trunk)",
				 system);
		return;
	}
	if (!(timeout > 0 && timeout <= MAX_ANSWER_TIMEOUT_S)) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "answer_timeout must be in (0, %.0f] s",
				 MAX_ANSWER_TIMEOUT_S);
		return;
	}
	if (!g->engine) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no rules loaded");
		return;
	}
	if (g->req) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "a guided test is already running");
		return;
	}
	if (policy_begin(g->c->policy, POLICY_GUIDED_TEST, why, sizeof(why)) != POLICY_GO) {
		log_notice("diagnose refused: %s", why);
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
		return;
	}
	g->state = DIAGNOSIS_STARTING;
	g->reads_log = json_array();
	g->asked_log = json_array();
	if (!g->reads_log || !g->asked_log || api_request_subscribe(req, on_client_gone, g, &g->sub) < 0) {
		session_end(g);
		api_request_fail(req, API_ERROR_INTERNAL, "cannot start: out of memory");
		return;
	}
	g->req = req;
	api_request_set_cancel(req, on_client_gone, g);
	g->answer_timeout_us = (int64_t)(timeout * 1e6);
	g->ask = ask;
	g->started_us = clock_now(&g->c->clock);
	/* A new session: what is already true (stored DTCs, last values) holds from now on,
	 * windows and counts start afresh. */
	engine_reset(g->engine, g->started_us);
	g->session_start_us = g->started_us;
	if (h) {
		char label[64];
		snprintf(label, sizeof(label), "diagnose %s", system);
		if (history_session_begin(h, core_wall_of(g->c, g->started_us), NULL, label,
					  &g->session) < 0) {
			log_warning("history: cannot begin a session, this test is not recorded");
			g->session = 0;
		}
	}
	notify_event(g, "diagnose.started", json_pack("{s:s, s:b}", "system", system, "read", read));
	if (read && start_reads(g) > 0)
		return;
	step(g);
}

static void method_findings(struct api_request *req, json_t *params, void *userdata)
{
	struct diagnosis *g = ((struct core *)userdata)->diagnosis;
	struct json_text *w;

	if (json_object_size(params) != 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "findings takes no parameters");
		return;
	}
	if (!g->engine) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no rules loaded");
		return;
	}
	/* written as text straight into the reply: after an hour on the bus its thousands
	 * of body events as jansson objects took ~8 MB at once */
	w = api_request_reply_begin(req);
	if (!w || result_write(g, w) < 0) {
		json_text_free(w);
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply_end(req, w);
}

static const struct api_method method_table[] = {
	{"findings", API_PRIVILEGE_READ, method_findings, NULL,
	 "ranked causes from what the bus has shown so far"},
	{"diagnose", API_PRIVILEGE_READ, method_diagnose, NULL,
	 "guided trunk test: reads DTCs/DIDs, asks for actions, ranks causes"},
};

/* ---- the module ---- */

static void use_vehicle(struct diagnosis *g, struct vehicle *v)
{
	struct engine *e = NULL;

	if (vehicle_rules(v) && build(g, v, &e) < 0)
		log_warning("diagnosis: off until the next reload (the engine cannot be built)");
	g->engine = engine_free(g->engine);
	g->engine = e;
	g->session_start_us = INT64_MIN; /* a new engine: no test began on it */
	vehicle_set(&g->vehicle, v);
}

static int diagnosis_new(struct core *c)
{
	static const struct router_watch_ops ops = {
		.frame = on_frame, .exchange = on_exchange, .mark = on_mark};
	struct diagnosis *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->c = c;
	g->session_start_us = INT64_MIN;
	c->diagnosis = g;
	timer_init(&g->timer, &c->clock, on_timer);
	r = router_watch_new(c->router, &ops, g, &g->watch);
	if (r < 0)
		return r;
	use_vehicle(g, c->vehicle);
	return 0;
}

static void diagnosis_set_vehicle(struct core *c, struct vehicle *v)
{
	struct diagnosis *g = c->diagnosis;

	abort_running(g, API_ERROR_UNAVAILABLE, "configuration reloaded");
	use_vehicle(g, v);
}

static void diagnosis_free(struct core *c)
{
	struct diagnosis *g = c->diagnosis;

	if (!g)
		return;
	abort_running(g, API_ERROR_UNAVAILABLE, "daemon stopping");
	router_watch_free(g->watch);
	engine_free(g->engine);
	vehicle_unref(g->vehicle);
	free(g);
	c->diagnosis = NULL;
}

const struct module diagnosis_module = {
	.name = "diagnosis",
	.new = diagnosis_new,
	.set_vehicle = diagnosis_set_vehicle,
	.free = diagnosis_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};

enum diagnosis_state diagnosis_state(const struct diagnosis *g)
{
	return g ? g->state : DIAGNOSIS_IDLE;
}

struct engine *diagnosis_engine(const struct diagnosis *g)
{
	return g ? g->engine : NULL;
}
