/* SPDX-License-Identifier: MIT */
#include "diagnosis.h"

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/timeline.h"
#include "history.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "bodydiag/uds.h"
#include "log.h"
#include "macro.h"
#include "uds_broker.h"

#define MAX_READS 64		   /* outstanding UDS reads of one step */
#define DEFAULT_ANSWER_TIMEOUT_S 120.0
#define MAX_ANSWER_TIMEOUT_S 3600.0
#define MAX_WAIT_S 30.0		   /* a window never holds the test longer than this */
#define MAX_DIAG_IDS 2 * UDS_BROKER_MAX_ECUS

enum step_state {
	STEP_IDLE,
	STEP_READING, /* UDS reads outstanding */
	STEP_ASKING,  /* a question is out, waiting for its mark */
	STEP_WAITING, /* a rule window is open after an action */
};

struct diagnosis;

struct read {
	struct diagnosis *g;
	struct uds_broker_request *handle; /* NULL once done */
	size_t ecu;
	uint8_t req[8];
	size_t req_len;
};

struct diagnosis {
	struct ev_loop *loop;
	struct api_server *api;
	struct diagnosis_data data;
	struct engine *engine;
	uint32_t diag_ids[MAX_DIAG_IDS]; /* the profile ECUs' ids: their traffic is ours */
	size_t n_diag_ids;

	/* the guided test */
	enum step_state state;
	struct api_request *req;
	struct api_subscription *sub;
	double answer_timeout_s;
	bool ask;		/* false: evaluate right after the reads */
	bool reread;		/* an action happened: read again before the next question */
	const char *asked;	/* mark of the question that is out (owned by the rules set) */
	json_t *reads_log;	/* every read of the test, for the reply */
	json_t *asked_log;	/* questions asked, with their answer times */
	struct read reads[MAX_READS];
	size_t n_reads, reads_left;
	ev_timer timer;
	int64_t started_us;

	struct history *history; /* may be NULL */
	diagnosis_vin_fn vin_hook;
	void *vin_userdata;
	bool vin_asked;		 /* this test has read the VIN */
	int64_t session;	 /* history session of the running test, 0 = none */
};

/* History keeps wall-clock time (it outlives reboots); the engine runs on monotonic. */
static int64_t wall_of(int64_t mono_us)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return mono_us + ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - clock_now_us(CLOCK_MONOTONIC));
}

static double seconds(int64_t us)
{
	return (double)us / 1e6;
}

/* ---- findings as JSON (the keys of `bodydiag analyze --json`) ---- */

static json_t *string_list(const char *const *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static json_t *finding_json(const struct engine *e, const struct rules_finding *f)
{
	static const char *const ev_kind[] = {"event", "held", "absent"};
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:f, s:I, s:s?, s:s}", "id", f->id,
			      "title", f->title, "kind", rules_kind_name(f->kind), "state",
			      rules_state_name(f->state), "weight", f->weight, "score", f->score,
			      "cost", (json_int_t)f->cost, "by", f->by, "advice", f->advice);
	json_t *evidence = json_array();
	char buf[512];

	if (!o || !evidence) {
		json_decref(o);
		json_decref(evidence);
		return NULL;
	}
	if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED)
		json_object_set_new(o, "since", json_real(seconds(f->since_us)));
	json_object_set_new(o, "rules_out", string_list(f->rules_out, f->n_rules_out));
	json_object_set_new(o, "covers", string_list(f->covers, f->n_covers));
	for (size_t k = 0; k < f->n_evidence; k++) {
		const struct rules_evidence *ev = &f->evidence[k];
		if (engine_evidence_format(e, ev, buf, sizeof(buf)) < 0)
			buf[0] = 0;
		json_array_append_new(
			evidence,
			json_pack("{s:s, s:f, s:f, s:f, s:s, s:s}", "kind",
				  (unsigned)ev->kind < ARRAY_SIZE(ev_kind) ? ev_kind[ev->kind] : "?",
				  "t", seconds(ev->event.t_us), "from", seconds(ev->from_us), "until",
				  seconds(ev->until_us), "condition", ev->condition ? ev->condition : "",
				  "text", buf));
	}
	json_object_set_new(o, "evidence", evidence);
	return o;
}

/* Evaluates now and describes the result; NULL on out of memory. */
static json_t *result_json(struct diagnosis *g)
{
	struct rules_question q;
	struct engine_stats st;
	json_t *o, *findings;
	int r;

	engine_advance(g->engine, clock_now_us(CLOCK_MONOTONIC));
	r = engine_evaluate(g->engine);
	if (r < 0)
		return NULL;
	findings = json_array();
	if (!findings)
		return NULL;
	for (size_t i = 0; i < engine_finding_count(g->engine); i++) {
		json_t *f = finding_json(g->engine, engine_finding_at(g->engine, i));
		if (!f || json_array_append_new(findings, f) < 0) {
			json_decref(findings);
			return NULL;
		}
	}
	engine_stats(g->engine, &st);
	o = json_pack("{s:s, s:o, s:{s:I, s:I, s:I, s:I, s:I}}", "verdict",
		      rules_verdict_name(engine_verdict(g->engine)), "findings", findings, "input",
		      "frames", (json_int_t)st.frames, "decoded", (json_int_t)st.decoded, "pdus",
		      (json_int_t)st.pdus, "marks", (json_int_t)st.marks, "dtc_events",
		      (json_int_t)st.dtc_events);
	if (!o)
		return NULL;
	/* engine_next_question() re-evaluates: ask it last, the findings are copied above */
	r = engine_next_question(g->engine, &q);
	json_object_set_new(o, "next_question",
			    r == 0 ? json_pack("{s:s, s:s, s:I}", "mark", q.mark, "prompt", q.prompt,
					       "cost", (json_int_t)q.cost)
				   : json_null());
	return o;
}

/* ---- the engine ---- */

static int build(struct diagnosis *g, const struct diagnosis_data *data, struct engine **ret,
		 uint32_t *ids, size_t *n_ids)
{
	struct engine_config cfg;
	struct rules_error err = {0};
	size_t n = 0;
	int r;

	if (!data->rules)
		return -EINVAL;
	engine_config_init(&cfg);
	cfg.rules = data->rules;
	cfg.dbc = data->dbc;
	cfg.profile = data->profile;
	r = engine_new(&cfg, &err, ret);
	if (r < 0) {
		log_error("diagnosis: cannot build the engine: %s (%s)", strerror(-r), err.message);
		return r;
	}
	for (size_t i = 0; data->profile && i < profile_ecu_count(data->profile); i++) {
		const struct profile_ecu *ecu = profile_ecu_at(data->profile, i);
		if (n + 2 > MAX_DIAG_IDS)
			break;
		ids[n++] = ecu->request_id;
		ids[n++] = ecu->response_id;
	}
	*n_ids = n;
	(void)g;
	return 0;
}

/* ---- the guided test ---- */

static void step(struct diagnosis *g);

static void session_end(struct diagnosis *g)
{
	for (size_t i = 0; i < g->n_reads; i++)
		if (g->reads[i].handle) {
			uds_broker_request_cancel(g->reads[i].handle);
			g->reads[i].handle = NULL;
		}
	g->n_reads = g->reads_left = 0;
	ev_timer_stop(g->loop, &g->timer);
	g->sub = api_subscription_free(g->sub);
	json_decref(g->reads_log);
	json_decref(g->asked_log);
	g->reads_log = g->asked_log = NULL;
	g->req = NULL;
	g->asked = NULL;
	g->state = STEP_IDLE;
	g->session = 0;
	g->vin_asked = false;
}

/* The test into the history: findings that hold or may hold, with their evidence, and the
 * timeline of what the rules read, for the report. Failures are logged, not fatal: the
 * client still gets its answer. */
static void record(struct diagnosis *g, json_t *res)
{
	const struct timeline *tl = engine_timeline(g->engine);
	const struct timeline_symbols *sy = engine_symbols(g->engine);
	struct rules_engine *re = engine_rules(g->engine);
	int64_t end = clock_now_us(CLOCK_MONOTONIC);
	size_t i;
	json_t *f;
	int r;

	if (!g->history || !g->session)
		return;
	json_array_foreach(json_object_get(res, "findings"), i, f) {
		const char *state = json_string_value(json_object_get(f, "state"));
		char *ev;
		if (strcmp(state, "holds") != 0 && strcmp(state, "possible") != 0)
			continue;
		ev = json_dumps(json_object_get(f, "evidence"), JSON_COMPACT);
		r = history_record_finding(g->history, g->session, wall_of(end),
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
		history_session_end(g->history, g->session, wall_of(end));
		return;
	}
	for (i = timeline_find_time(tl, g->started_us); i < timeline_count(tl); i++) {
		const struct timeline_event *e = timeline_at(tl, i);
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
				g->history, g->session, wall_of(e->t_us),
				timeline_symbols_name(sy, TIMELINE_SYMBOL_SIGNAL, e->signal.index),
				e->signal.value, NULL);
		else if (e->type == TIMELINE_EVENT_MARK)
			r = history_record_timeline(
				g->history, g->session, wall_of(e->t_us), "mark", NAN,
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
	history_session_end(g->history, g->session, wall_of(end));
}

static void finish(struct diagnosis *g, const char *unanswered)
{
	json_t *res = result_json(g);
	struct api_request *req = g->req;

	if (!res) {
		g->req = NULL;
		session_end(g);
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	json_object_set(res, "reads", g->reads_log);
	json_object_set(res, "questions", g->asked_log);
	json_object_set_new(res, "unanswered", unanswered ? json_string(unanswered) : json_null());
	json_object_set_new(res, "duration", json_real(seconds(clock_now_us(CLOCK_MONOTONIC) - g->started_us)));
	record(g, res);
	if (g->session)
		json_object_set_new(res, "session", json_integer(g->session));
	session_end(g);
	api_request_reply(req, res);
}

static void notify(struct diagnosis *g, const char *event, json_t *data)
{
	if (g->sub)
		(void)api_subscription_send(g->sub, event, data);
	else
		json_decref(data);
}

/* The VIN (ISO 3779: 17 characters, no I, O, Q; we only insist on printable ASCII, as
 * ECUs pad or shorten it) into the history session and to whoever wants it. */
static void vin_read(struct diagnosis *g, const uint8_t *data, size_t len)
{
	char vin[33];
	size_t n = 0;

	for (size_t i = 0; i < len && n + 1 < sizeof(vin); i++) {
		if (data[i] == 0 || data[i] == ' ' || data[i] == 0xff)
			continue; /* padding */
		if (data[i] < 0x21 || data[i] > 0x7e)
			return;
		vin[n++] = (char)data[i];
	}
	vin[n] = 0;
	if (n == 0)
		return;
	if (g->history && g->session && history_session_set_vin(g->history, g->session, vin) < 0)
		log_warning("history: cannot record the VIN");
	if (g->vin_hook)
		g->vin_hook(g->vin_userdata, vin);
}

static void on_read_done(void *userdata, const struct uds_broker_result *r)
{
	struct read *rd = userdata;
	struct diagnosis *g = rd->g;
	const char *ecu = uds_broker_ecu_name(g->data.broker, rd->ecu);
	int64_t t = clock_now_us(CLOCK_MONOTONIC);
	char hex[2 * sizeof(rd->req) + 1];
	json_t *entry;

	rd->handle = NULL;
	for (size_t i = 0; i < rd->req_len; i++)
		snprintf(hex + 2 * i, 3, "%02x", rd->req[i]);
	entry = json_pack("{s:s, s:s, s:s, s:f}", "ecu", ecu, "request", hex, "outcome",
			  uds_broker_outcome_name(r->outcome), "ms", (double)r->elapsed_us / 1e3);
	if (r->outcome == UDS_BROKER_RESPONSE && rd->req_len == 3 && rd->req[0] == 0x22 &&
	    rd->req[1] == 0xf1 && rd->req[2] == 0x90 && r->resp_len > 3 && r->resp[0] == 0x62 &&
	    r->resp[1] == 0xf1 && r->resp[2] == 0x90)
		vin_read(g, r->resp + 3, r->resp_len - 3);
	if (r->outcome == UDS_BROKER_RESPONSE) {
		struct uds_rdtci_response dl;
		(void)engine_uds(g->engine, ecu, t, rd->req, rd->req_len, r->resp, r->resp_len);
		if (g->history && g->session && rd->req[0] == 0x19 &&
		    uds_parse_rdtci(rd->req, rd->req_len, r->resp, r->resp_len, &dl) == 0 &&
		    dl.r.result == UDS_RESULT_OK && dl.shape == UDS_RDTCI_SHAPE_DTC_LIST) {
			struct uds_dtc_record rec;
			for (size_t i = 0; uds_rdtci_dtc(&dl, i, &rec) == 0; i++)
				if (history_record_dtc(g->history, g->session, wall_of(t), ecu, rec.dtc,
						       rec.status, NULL) < 0)
					break;
		}
		if (entry && r->resp_len >= 3 && r->resp[0] == UDS_SID_NEGATIVE_RESPONSE)
			json_object_set_new(entry, "nrc", json_integer(r->resp[2]));
	} else if (r->outcome == UDS_BROKER_TIMEOUT) {
		(void)engine_transport(g->engine, t, TIMELINE_TRANSPORT_TIMEOUT,
				       uds_broker_ecu_config(g->data.broker, rd->ecu)->rx_id,
				       rd->req[0], 0);
	} else if (r->outcome == UDS_BROKER_TRANSPORT_ERROR && entry) {
		json_object_set_new(entry, "transport",
				    json_string(uds_broker_transport_name(r->transport_errno)));
	}
	if (entry)
		json_array_append_new(g->reads_log, entry);
	if (--g->reads_left == 0) {
		g->n_reads = 0;
		step(g);
	}
}

static int submit_read(struct diagnosis *g, size_t ecu, const uint8_t *req, size_t len)
{
	struct read *rd;
	int r;

	if (g->n_reads >= MAX_READS || len > sizeof(rd->req))
		return -ENOBUFS;
	rd = &g->reads[g->n_reads];
	*rd = (struct read){.g = g, .ecu = ecu, .req_len = len};
	memcpy(rd->req, req, len);
	r = uds_broker_submit(g->data.broker, ecu, UDS_BROKER_PRIORITY_INTERACTIVE, rd->req, len,
			      on_read_done, rd, &rd->handle);
	if (r < 0)
		return r;
	g->n_reads++;
	g->reads_left++;
	return 0;
}

/* True when an active rule reads one of the DID's values (by its name or its signals'). */
static bool did_wanted(struct diagnosis *g, const struct profile_did *d)
{
	const struct timeline_symbols *sy = engine_symbols(g->engine);
	struct rules_engine *re = engine_rules(g->engine);
	uint32_t idx;
	const char *name = profile_did_name(d);

	if (timeline_symbols_lookup(sy, TIMELINE_SYMBOL_SIGNAL, name, strlen(name), &idx) == 0 &&
	    rules_engine_reads_signal(re, idx))
		return true;
	for (size_t i = 0; i < profile_did_signal_count(d); i++) {
		const char *s = dbc_signal_name(profile_did_signal_at(d, i));
		if (timeline_symbols_lookup(sy, TIMELINE_SYMBOL_SIGNAL, s, strlen(s), &idx) == 0 &&
		    rules_engine_reads_signal(re, idx))
			return true;
	}
	return false;
}

/* The fault memory of every ECU the profile knows DTCs of, and the DIDs the rules read.
 * Returns the number of reads started (0: nothing to read). */
static int start_reads(struct diagnosis *g)
{
	const struct profile *p = g->data.profile;
	int n = 0;

	if (!g->data.broker || !p)
		return 0;
	for (size_t i = 0; i < profile_ecu_count(p) && i < uds_broker_ecu_count(g->data.broker); i++) {
		const struct profile_ecu *ecu = profile_ecu_at(p, i);
		bool has_dtcs = false;
		for (size_t k = 0; k < profile_dtc_count(p) && !has_dtcs; k++)
			has_dtcs = strcmp(profile_dtc_at(p, k)->ecu, ecu->id) == 0;
		if (has_dtcs) {
			/* reportDTCByStatusMask, every status bit: what is stored, not only active */
			const uint8_t req[] = {0x19, 0x02, 0xff};
			if (submit_read(g, i, req, sizeof(req)) == 0)
				n++;
		}
	}
	for (size_t k = 0; k < profile_did_count(p); k++) {
		const struct profile_did *d = profile_did_at(p, k);
		const struct profile_ecu *ecu;
		int idx = -1;
		/* the VIN names the vehicle in the history and on MQTT: once per test */
		bool vin = profile_did_id(d) == 0xf190 && !g->vin_asked;
		if (!vin && !did_wanted(g, d))
			continue;
		if (vin)
			g->vin_asked = true;
		for (size_t i = 0; i < profile_ecu_count(p); i++)
			if ((ecu = profile_ecu_at(p, i)) && strcmp(ecu->id, profile_did_ecu(d)) == 0)
				idx = (int)i;
		if (idx < 0 || (size_t)idx >= uds_broker_ecu_count(g->data.broker))
			continue;
		const uint8_t req[] = {0x22, profile_did_id(d) >> 8, profile_did_id(d) & 0xff};
		if (submit_read(g, (size_t)idx, req, sizeof(req)) == 0)
			n++;
	}
	if (n > 0) {
		g->state = STEP_READING;
		notify(g, "diagnose.reading", json_pack("{s:i}", "requests", n));
	}
	return n;
}

static void arm(struct diagnosis *g, double s)
{
	ev_timer_stop(g->loop, &g->timer);
	ev_timer_set(&g->timer, s > 0.001 ? s : 0.001, 0.);
	ev_timer_start(g->loop, &g->timer);
}

/* Decides what the guided test does next. */
static void step(struct diagnosis *g)
{
	struct rules_question q;
	int64_t now = clock_now_us(CLOCK_MONOTONIC);
	int r;

	if (!g->req)
		return;
	engine_advance(g->engine, now);
	r = engine_next_question(g->engine, &q);
	if (r == -EAGAIN) {
		int64_t due = engine_next_deadline(g->engine);
		double s = due == INT64_MAX ? MAX_WAIT_S : seconds(due - now) + 0.001;
		g->state = STEP_WAITING;
		arm(g, s < MAX_WAIT_S ? s : MAX_WAIT_S);
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
		g->state = STEP_ASKING;
		g->asked = q.mark;
		json_array_append_new(g->asked_log, json_pack("{s:s, s:s, s:f}", "mark", q.mark,
							      "prompt", q.prompt, "asked",
							      seconds(now - g->started_us)));
		notify(g, "diagnose.question",
		       json_pack("{s:s, s:s, s:I, s:I}", "mark", q.mark, "prompt", q.prompt, "cost",
				 (json_int_t)q.cost, "waiting", (json_int_t)q.waiting));
		arm(g, g->answer_timeout_s);
		return;
	}
	if (r < 0 && r != -ENOENT && r != -EAGAIN && r != 0) {
		struct api_request *req = g->req;
		g->req = NULL;
		session_end(g);
		api_request_fail(req, API_ERROR_INTERNAL, "rules: %s", strerror(-r));
		return;
	}
	finish(g, NULL);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct diagnosis *g = container_of(w, struct diagnosis, timer);

	if (g->state == STEP_ASKING) {
		log_notice("diagnose: no answer to \"%s\" within %.0f s", g->asked, g->answer_timeout_s);
		finish(g, g->asked);
		return;
	}
	step(g);
	(void)loop;
	(void)revents;
}

static void on_client_gone(void *data)
{
	struct diagnosis *g = data;
	struct api_request *req = g->req;

	if (!req)
		return;
	g->req = NULL;
	session_end(g);
	api_request_fail(req, API_ERROR_UNAVAILABLE, "client gone"); /* discarded, frees req */
}

static void method_diagnose(struct api_request *req, json_t *params, void *userdata)
{
	struct diagnosis *g = userdata;
	const char *system = "trunk";
	double timeout = DEFAULT_ANSWER_TIMEOUT_S;
	int ask = 1, read = 1;
	json_error_t jerr;

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
	if (api_request_subscribe(req, on_client_gone, g, &g->sub) < 0) {
		api_request_fail(req, API_ERROR_INTERNAL, "cannot subscribe");
		return;
	}
	g->reads_log = json_array();
	g->asked_log = json_array();
	if (!g->reads_log || !g->asked_log) {
		session_end(g);
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	g->req = req;
	api_request_set_cancel(req, on_client_gone, g);
	g->answer_timeout_s = timeout;
	g->ask = ask;
	g->started_us = clock_now_us(CLOCK_MONOTONIC);
	/* A new session: what is already true (stored DTCs, last values) holds from now on,
	 * windows and counts start afresh. */
	engine_reset(g->engine, g->started_us);
	if (g->history) {
		char label[64];
		snprintf(label, sizeof(label), "diagnose %s", system);
		if (history_session_begin(g->history, wall_of(g->started_us), NULL, label, &g->session) < 0) {
			log_warning("history: cannot begin a session, this test is not recorded");
			g->session = 0;
		}
	}
	notify(g, "diagnose.started", json_pack("{s:s, s:b}", "system", system, "read", read));
	if (read && start_reads(g) > 0)
		return;
	step(g);
}

static void method_findings(struct api_request *req, json_t *params, void *userdata)
{
	struct diagnosis *g = userdata;
	json_t *res;

	if (json_object_size(params) != 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "findings takes no parameters");
		return;
	}
	if (!g->engine) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no rules loaded");
		return;
	}
	res = result_json(g);
	if (!res) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	api_request_reply(req, res);
}

/* ---- public ---- */

int diagnosis_new(struct ev_loop *loop, struct api_server *api, const struct diagnosis_data *data,
		  struct diagnosis **ret)
{
	const struct api_method methods[] = {
		{"findings", API_PRIVILEGE_READ, method_findings, NULL,
		 "ranked causes from what the bus has shown so far"},
		{"diagnose", API_PRIVILEGE_READ, method_diagnose, NULL,
		 "guided trunk test: reads DTCs/DIDs, asks for actions, ranks causes"},
	};
	struct diagnosis *g = calloc(1, sizeof(*g));
	int r;

	if (!g)
		return -ENOMEM;
	g->loop = loop;
	g->api = api;
	ev_timer_init(&g->timer, on_timer, 1., 0.);
	if (data && data->rules) {
		r = build(g, data, &g->engine, g->diag_ids, &g->n_diag_ids);
		if (r < 0) {
			free(g);
			return r;
		}
		g->data = *data;
	}
	for (size_t i = 0; i < ARRAY_SIZE(methods); i++) {
		struct api_method m = methods[i];
		m.userdata = g;
		r = api_server_register(api, &m);
		if (r < 0) {
			for (size_t k = 0; k < i; k++)
				api_server_unregister(api, methods[k].name);
			engine_free(g->engine);
			free(g);
			return r;
		}
	}
	*ret = g;
	return 0;
}

static void abort_running(struct diagnosis *g, const char *why)
{
	struct api_request *req = g->req;

	if (!req)
		return;
	g->req = NULL;
	session_end(g);
	api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
}

struct diagnosis *diagnosis_free(struct diagnosis *g)
{
	if (!g)
		return NULL;
	abort_running(g, "daemon stopping");
	api_server_unregister(g->api, "findings");
	api_server_unregister(g->api, "diagnose");
	engine_free(g->engine);
	free(g);
	return NULL;
}

int diagnosis_set_data(struct diagnosis *g, const struct diagnosis_data *data)
{
	struct engine *e = NULL;
	uint32_t ids[MAX_DIAG_IDS];
	size_t n = 0;
	int r;

	if (data->rules) {
		r = build(g, data, &e, ids, &n);
		if (r < 0)
			return r;
	}
	abort_running(g, "configuration reloaded");
	engine_free(g->engine);
	g->engine = e;
	g->data = *data;
	memcpy(g->diag_ids, ids, n * sizeof(ids[0]));
	g->n_diag_ids = n;
	return 0;
}

void diagnosis_bus_frame(struct diagnosis *g, const struct bd_timed_frame *f)
{
	if (!g->engine)
		return;
	/* The daemon's own requests and their answers reach the engine with their request
	 * through engine_uds(); the same frames echoed on the bus would count them twice. */
	for (size_t i = 0; i < g->n_diag_ids; i++)
		if (g->diag_ids[i] == f->frame.id)
			return;
	(void)engine_feed_frame(g->engine, f);
}

int diagnosis_mark(struct diagnosis *g, int64_t t_us, const char *name)
{
	int r;

	if (!g->engine)
		return 0;
	r = engine_mark(g->engine, t_us, name, strlen(name));
	if (r < 0)
		return r;
	if (g->req && g->state == STEP_ASKING) {
		/* Whatever the person did is evidence; the answer to the question is its mark. */
		if (g->asked && strcmp(g->asked, name) == 0) {
			size_t n = json_array_size(g->asked_log);
			json_t *last = n ? json_array_get(g->asked_log, n - 1) : NULL;
			if (last)
				json_object_set_new(last, "answered", json_real(seconds(t_us - g->started_us)));
			g->asked = NULL;
			g->reread = true;
			notify(g, "diagnose.watching", json_pack("{s:s}", "mark", name));
			step(g);
		}
	}
	return 0;
}

void diagnosis_set_vin_hook(struct diagnosis *g, diagnosis_vin_fn fn, void *userdata)
{
	g->vin_hook = fn;
	g->vin_userdata = userdata;
}

void diagnosis_set_history(struct diagnosis *g, struct history *h)
{
	g->history = h;
}

bool diagnosis_running(const struct diagnosis *g)
{
	return g && g->req;
}
