/* SPDX-License-Identifier: MIT */
/*
 * The guided test (daemon/diagnosis.c) in-process, without a VM: the daemon's modules on
 * a fake clock, the simulated car broadcasting into the router, its UDS server behind a
 * scripted UDS port, the API over a real socket. Every state (starting, reading,
 * asking, waiting, idle) and every way out: a verdict, a question nobody answers, the
 * client gone while reading and while asking, a reload, the daemon stopping, refused
 * (an actuator test running, already running, no rules), failed reads; and what others
 * see: a dtc.read by another client reaches the live diagnosis and the history, in the
 * session of the guided test that runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/engine.h"
#include "daemon/diagnosis.h"
#include "daemon/history.h"
#include "daemon/methods.h"
#include "daemon/policy.h"
#include "daemon/records.h"
#include "passive-profile.h"
#include "sim-car.h"

#define MS 1000LL
#define S 1000000LL

static const struct module *const modules[] = {
	&router_module, &policy_module, &records_module, &methods_module, &diagnosis_module, NULL,
};

static char history_path[128];

static void with_history(struct config *cfg)
{
	snprintf(cfg->history.path, sizeof(cfg->history.path), "%s", history_path);
}

struct run {
	struct simcar s;
	struct fixture_client a, b; /* a runs the test, b marks and reads */
	unsigned states;	    /* bit per enum diagnosis_state seen */
	unsigned questions;
	int next_id;
};

static void start(struct run *r, const char *fault, bool rules, bool history)
{
	snprintf(history_path, sizeof(history_path), "/tmp/bodydiag-diag-%d.db", (int)getpid());
	unlink(history_path);
	simcar_start(&r->s, modules, fault, rules, true, history ? with_history : NULL);
	assert_int_equal(fixture_client_open(&r->a, r->s.sock), 0);
	assert_int_equal(fixture_client_open(&r->b, r->s.sock), 0);
	r->states = 0;
	r->questions = 0;
	r->next_id = 100;
	simcar_run(&r->s, 1500 * MS); /* the car wakes up */
}

static void stop(struct run *r)
{
	fixture_client_close(&r->a);
	fixture_client_close(&r->b);
	simcar_stop(&r->s);
	unlink(history_path);
}

/* A request on a client; returns its id. */
static int call(struct run *r, struct fixture_client *cl, const char *method, const char *params)
{
	char line[512];
	int id = r->next_id++;

	snprintf(line, sizeof(line), "{\"v\":1,\"id\":%d,\"method\":\"%s\",\"params\":%s}", id, method,
		 params);
	assert_int_equal(fixture_client_send(cl, line), 0);
	return id;
}

/* Answers a question as the person would: the button on the car, the mark from b. */
static void answer(struct run *r, const char *mark)
{
	if (!strcmp(mark, "fob_trunk_pressed"))
		assert_int_equal(sim_model_press(r->s.m, SIM_BUTTON_FOB_TRUNK, 0, 0, 0), 0);
	else if (!strcmp(mark, "interior_pressed"))
		assert_int_equal(sim_model_press(r->s.m, SIM_BUTTON_INTERIOR, 0, 0, 0), 0);
	else if (!strcmp(mark, "key_blade_turned"))
		assert_int_equal(sim_model_key_blade(r->s.m), 0);
	else
		fail_msg("unknown question %s", mark);
	char params[128];
	snprintf(params, sizeof(params), "{\"label\":\"%s\"}", mark);
	call(r, &r->b, "mark", params);
}

/*
 * Runs the car and the daemon until line `id` arrives on a (or max_us passed, or until
 * the test reaches state stop_at when that is not IDLE), answering questions when asked
 * to. Returns the reply (NULL when stopped or out of time).
 */
static json_t *run_until(struct run *r, int id, int64_t max_us, bool answering,
			 enum diagnosis_state stop_at)
{
	for (int64_t t = 0; t < max_us; t += 1 * MS) {
		json_t *j, *k;

		simcar_run(&r->s, 1 * MS);
		r->states |= 1u << diagnosis_state(r->s.c.diagnosis);
		if (stop_at != DIAGNOSIS_IDLE && diagnosis_state(r->s.c.diagnosis) == stop_at)
			return NULL;
		while ((k = fixture_client_try(&r->b, r->s.loop)))
			json_decref(k); /* mark replies */
		while ((j = fixture_client_try(&r->a, r->s.loop))) {
			const char *ev = json_string_value(json_object_get(j, "event"));

			if (ev && !strcmp(ev, "diagnose.question")) {
				r->questions++;
				if (answering)
					answer(r, json_string_value(json_object_get(
							  json_object_get(j, "data"), "mark")));
			}
			if (json_integer_value(json_object_get(j, "id")) == id)
				return j;
			json_decref(j);
		}
	}
	return NULL;
}

static const char *top_of(json_t *reply)
{
	json_t *f = json_array_get(json_object_get(json_object_get(reply, "result"), "findings"), 0);

	return f ? json_string_value(json_object_get(f, "id")) : "-";
}

static const char *error_of(json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
}

static int count_row(const struct history_row *row, void *userdata)
{
	return 0;
}

static struct history *history_ro(void)
{
	struct history *h = NULL;
	char err[128];

	assert_int_equal(history_open(history_path, &(struct history_options){.read_only = true},
				      &h, err, sizeof(err)),
			 0);
	return h;
}

/* Rows of a kind, in a session (0: any). */
static size_t history_rows(enum history_kind kind, int64_t session)
{
	struct history *h = history_ro();
	struct history_filter f = {.kinds = 1u << kind, .session = session};
	int n;

	n = history_query(h, &f, count_row, NULL);
	history_free(h);
	assert_true(n >= 0);
	return (size_t)n;
}

/* A session's recorded timeline: its start and end, each series' first point. */
struct recorded {
	int64_t start_us, end_us; /* end 0: still open */
	char series[64][64];
	int64_t first_us[64];
	size_t n;
};

static int timeline_point(int64_t t_us, const char *series, double value, const char *label,
			  void *userdata)
{
	struct recorded *rec = userdata;
	for (size_t i = 0; i < rec->n; i++)
		if (!strcmp(rec->series[i], series))
			return 0;
	if (rec->n < 64) {
		snprintf(rec->series[rec->n], sizeof(rec->series[0]), "%s", series);
		rec->first_us[rec->n++] = t_us;
	}
	return 0;
}

static int session_end_of(const struct history_row *row, void *userdata)
{
	struct recorded *rec = userdata;
	rec->start_us = row->t_us;
	rec->end_us = row->end_us;
	return 0;
}

/* The session's timeline points (their count), start and end, as committed. */
static int history_session_timeline(int64_t session, struct recorded *rec)
{
	struct history *h = history_ro();
	struct history_filter f = {.kinds = 1u << HISTORY_KIND_SESSION, .session = session};
	int n;

	memset(rec, 0, sizeof(*rec));
	assert_int_equal(history_query(h, &f, session_end_of, rec), 1);
	n = history_timeline(h, session, timeline_point, rec);
	history_free(h);
	assert_true(n >= 0);
	return n;
}

/* ---- the way through ---- */

static void verdict(void **state)
{
	struct run r;
	json_t *reply, *res;
	int id;

	start(&r, "fuse_blown", true, true);
	id = call(&r, &r.a, "diagnose", "{\"answer_timeout\":20}");
	reply = run_until(&r, id, 60 * S, true, DIAGNOSIS_IDLE);
	assert_non_null(reply);
	res = json_object_get(reply, "result");
	assert_non_null(res);
	print_message("verdict %s, top %s after %u questions\n",
		      json_string_value(json_object_get(res, "verdict")), top_of(reply), r.questions);
	assert_string_equal(top_of(reply), "fuse_blown");
	assert_string_equal(json_string_value(json_object_get(res, "verdict")), "fault");
	assert_true(r.questions >= 1);
	/* What `bodydiag analyze --json` carries: the chain link by link, the body events of
	 * the test, the roles, what each finding that cannot be told needs. */
	json_t *chain = json_object_get(res, "chain"), *x;
	size_t i;
	assert_int_equal(json_array_size(chain), 7);
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 0), "link")),
			    "fob");
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 4), "state")),
			    "failing"); /* current: commanded, nothing flowed */
	assert_string_equal(json_string_value(json_object_get(json_array_get(chain, 3), "state")),
			    "working"); /* output */
	assert_true(json_array_size(json_object_get(res, "body_events")) > 0);
	json_array_foreach(json_object_get(res, "body_events"), i, x)
		assert_true(json_real_value(json_object_get(x, "t")) >= 0); /* since the test began */
	assert_true(json_is_object(json_object_get(json_object_get(res, "roles"), "ajar")));
	json_array_foreach(json_object_get(res, "findings"), i, x)
		assert_true(json_is_array(json_object_get(x, "missing")));
	assert_true(json_is_null(json_object_get(res, "unanswered")));
	assert_true(json_array_size(json_object_get(res, "reads")) >= 2);
	/* Every state was gone through, and it ends idle with the bus given back. */
	for (int st = DIAGNOSIS_STARTING; st < DIAGNOSIS_STATE_MAX; st++)
		if (st != DIAGNOSIS_STARTING)
			assert_true(r.states & (1u << st));
	assert_int_equal(diagnosis_state(r.s.c.diagnosis), DIAGNOSIS_IDLE);
	assert_false(policy_running(r.s.c.policy, POLICY_GUIDED_TEST));
	/* The session: its findings, and the DTCs its reads showed (recorded from the router). */
	int64_t session = json_integer_value(json_object_get(res, "session"));
	assert_true(session > 0);
	assert_true(history_rows(HISTORY_KIND_FINDING, session) >= 1);
	assert_true(history_rows(HISTORY_KIND_DTC, session) >= 1);
	/* findings, timeline and end: one batch, committed before the answer went out */
	struct recorded rec;
	int points = history_session_timeline(session, &rec);
	print_message("session %lld: %d timeline points\n", (long long)session, points);
	assert_true(points >= 2);
	assert_true(rec.end_us > 0);
	/* Every lane begins when the test does: the engine stores each role's first sample of
	 * the session, not only its next change or keepalive (up to 0.5 s later in the
	 * simulated car when it did not) */
	int64_t first = INT64_MAX;
	for (size_t k = 0; k < rec.n; k++)
		first = rec.first_us[k] < first ? rec.first_us[k] : first;
	assert_true(rec.n >= 20);
	for (size_t k = 0; k < rec.n; k++)
		if (rec.first_us[k] - first > 100 * MS)
			fail_msg("lane %s begins %.3f s after the test's first point", rec.series[k],
				 (double)(rec.first_us[k] - first) / 1e6);
	/* ... and the result with it, what `bodydiag report` draws: the same verdict and
	 * chain, the DTCs with the profile's texts, the rules' thresholds */
	struct history *h = history_ro();
	char *text = NULL;
	assert_int_equal(history_session_result(h, session, &text), 0);
	history_free(h);
	json_t *stored = json_loads(text, 0, NULL);
	free(text);
	assert_non_null(stored);
	assert_true(json_equal(json_object_get(stored, "verdict"), json_object_get(res, "verdict")));
	assert_true(json_equal(json_object_get(stored, "chain"), json_object_get(res, "chain")));
	json_t *dtcs = json_object_get(stored, "dtcs"), *d;
	assert_true(json_array_size(dtcs) >= 1);
	json_array_foreach(dtcs, i, d) {
		if (strcmp(json_string_value(json_object_get(d, "code")), "B1A40-13") == 0)
			assert_string_equal(json_string_value(json_object_get(d, "text")),
					    "Trunk release output circuit open");
	}
	assert_true(json_array_size(json_object_get(json_object_get(stored, "thresholds"),
						    "actuator_current")) >= 2);
	assert_string_equal(json_string_value(json_object_get(json_object_get(stored, "vehicle"),
							      "platform")),
			    "sim-2026");
	json_decref(stored);
	json_decref(reply);
	stop(&r);
}

/* A car seen only passively (no ECU, no DID, no actuator current): the result says what
 * cannot be told there, and why. */
static void passive_car(void **state)
{
	char path[96];
	size_t len, out = 0;
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char src[256];
	FILE *f;
	struct run r;
	json_t *reply, *res, *x;
	bool nobs_open = false;
	size_t i;
	int id;

	snprintf(src, sizeof(src), "%s/profiles/sim-2026.profile", root ? root : ".");
	f = fopen(src, "re");
	assert_non_null(f);
	char *text = malloc(1 << 16);
	len = fread(text, 1, 1 << 16, f);
	fclose(f);
	char *passive = passive_profile_text(text, len, &out);
	snprintf(path, sizeof(path), "/tmp/bodydiag-passive-%d.profile", (int)getpid());
	f = fopen(path, "we");
	assert_non_null(f);
	fwrite(passive, 1, out, f);
	fclose(f);
	free(text);
	free(passive);
	simcar_profile_path = path;
	start(&r, "hinge_wiring_open", true, false);
	simcar_profile_path = NULL;
	id = call(&r, &r.a, "diagnose", "{\"answer_timeout\":20}");
	reply = run_until(&r, id, 90 * S, true, DIAGNOSIS_IDLE);
	assert_non_null(reply);
	res = json_object_get(reply, "result");
	print_message("passive: verdict %s, top %s after %u questions\n",
		      json_string_value(json_object_get(res, "verdict")), top_of(reply), r.questions);
	assert_string_equal(json_string_value(json_object_get(res, "verdict")),
			    "not observable on this vehicle");
	assert_int_equal(json_array_size(json_object_get(res, "reads")), 0); /* no ECU */
	json_array_foreach(json_object_get(res, "findings"), i, x) {
		const char *id_ = json_string_value(json_object_get(x, "id"));
		assert_string_not_equal(json_string_value(json_object_get(x, "state")), "holds");
		if (!strcmp(id_, "hinge_wiring_open")) {
			json_t *m = json_array_get(json_object_get(x, "missing"), 0);
			nobs_open = !strcmp(json_string_value(json_object_get(x, "state")),
					    "not observable") &&
				    !strcmp(json_string_value(json_object_get(m, "what")),
					    "actuator_current") &&
				    !strcmp(json_string_value(json_object_get(m, "why")),
					    "not shown by this vehicle");
		}
	}
	assert_true(nobs_open);
	/* the current link cannot be seen on this car at all */
	x = json_array_get(json_object_get(res, "chain"), 4);
	assert_string_equal(json_string_value(json_object_get(x, "state")), "not observable");
	json_decref(reply);
	stop(&r);
	unlink(path);
}

static void unanswered(void **state)
{
	struct run r;
	json_t *reply, *res;
	int id;

	start(&r, "fuse_blown", true, false);
	id = call(&r, &r.a, "diagnose", "{\"answer_timeout\":0.5}");
	reply = run_until(&r, id, 10 * S, false, DIAGNOSIS_IDLE);
	assert_non_null(reply);
	res = json_object_get(reply, "result");
	assert_string_equal(json_string_value(json_object_get(res, "unanswered")), "fob_trunk_pressed");
	assert_int_equal(r.questions, 1);
	assert_true(r.states & (1u << DIAGNOSIS_ASKING));
	assert_int_equal(diagnosis_state(r.s.c.diagnosis), DIAGNOSIS_IDLE);
	assert_false(policy_running(r.s.c.policy, POLICY_GUIDED_TEST));
	json_decref(reply);
	stop(&r);
}

/* ---- the ways out ---- */

static void client_gone_while_reading(void **state)
{
	struct run r;
	size_t cancelled = 0;

	start(&r, NULL, true, false);
	call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, -1, 1 * S, false, DIAGNOSIS_READING));
	/* The client leaves before the answers come (they take 2 ms on the fake clock). */
	fixture_client_close(&r.a);
	for (size_t i = 0; i < 10; i++)
		ev_run(r.s.loop, EVRUN_NOWAIT);
	simcar_run(&r.s, 10 * MS);
	for (size_t i = 0; i < r.s.fe.n_log; i++)
		cancelled += r.s.fe.log[i].cancelled;
	assert_true(cancelled >= 1);
	assert_int_equal(diagnosis_state(r.s.c.diagnosis), DIAGNOSIS_IDLE);
	assert_false(policy_running(r.s.c.policy, POLICY_GUIDED_TEST));
	stop(&r);
}

static void client_gone_while_asking(void **state)
{
	struct run r;

	start(&r, NULL, true, false);
	call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, -1, 5 * S, false, DIAGNOSIS_ASKING));
	fixture_client_close(&r.a);
	for (size_t i = 0; i < 10; i++)
		ev_run(r.s.loop, EVRUN_NOWAIT);
	simcar_run(&r.s, 10 * MS);
	assert_int_equal(diagnosis_state(r.s.c.diagnosis), DIAGNOSIS_IDLE);
	assert_false(policy_running(r.s.c.policy, POLICY_GUIDED_TEST));
	/* and a new test may start */
	assert_int_equal(fixture_client_open(&r.a, r.s.sock), 0);
	call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, -1, 5 * S, false, DIAGNOSIS_ASKING));
	stop(&r);
}

static void reload_mid_test(void **state)
{
	struct run r;
	struct vehicle *v;
	json_t *reply;
	int id;

	start(&r, NULL, true, false);
	id = call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, id, 5 * S, false, DIAGNOSIS_ASKING));
	v = vehicle_ref(r.s.c.vehicle);
	core_set_vehicle(&r.s.c, &r.s.c.cfg, v);
	vehicle_unref(v);
	reply = run_until(&r, id, 1 * S, false, DIAGNOSIS_IDLE);
	assert_non_null(reply);
	assert_string_equal(error_of(reply), "configuration reloaded");
	assert_int_equal(diagnosis_state(r.s.c.diagnosis), DIAGNOSIS_IDLE);
	assert_false(policy_running(r.s.c.policy, POLICY_GUIDED_TEST));
	json_decref(reply);
	stop(&r);
}

static void stop_mid_test(void **state)
{
	struct run r;
	json_t *reply = NULL;
	int id;

	start(&r, NULL, true, false);
	id = call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, id, 1 * S, false, DIAGNOSIS_READING));
	core_free(&r.s.c); /* the modules stop; the API server is the test's */
	for (int i = 0; i < 50 && !reply; i++) {
		reply = fixture_client_try(&r.a, r.s.loop);
		if (reply && json_integer_value(json_object_get(reply, "id")) != id)
			reply = (json_decref(reply), NULL);
	}
	assert_non_null(reply);
	assert_string_equal(error_of(reply), "daemon stopping");
	json_decref(reply);
	stop(&r); /* core_free again: every module is gone already */
}

static void refused(void **state)
{
	struct run r;
	json_t *reply;
	char why[128];
	int id, id2;

	start(&r, NULL, true, false);
	/* An actuator test holds the bus. */
	assert_int_equal(policy_begin(r.s.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	id = call(&r, &r.a, "diagnose", "{}");
	reply = run_until(&r, id, 1 * S, false, DIAGNOSIS_IDLE);
	assert_string_equal(error_of(reply), "an actuator test is running");
	json_decref(reply);
	assert_int_equal(r.s.fe.n_log, 0);
	policy_end(r.s.c.policy, POLICY_ACTUATOR_TEST);
	/* One at a time. */
	id = call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, id, 1 * S, false, DIAGNOSIS_READING));
	id2 = call(&r, &r.b, "diagnose", "{}");
	for (int i = 0; i < 100 && !(reply = fixture_client_try(&r.b, r.s.loop)); i++)
		;
	assert_non_null(reply);
	assert_int_equal(json_integer_value(json_object_get(reply, "id")), id2);
	assert_string_equal(error_of(reply), "a guided test is already running");
	json_decref(reply);
	/* Bad parameters. */
	id2 = call(&r, &r.b, "diagnose", "{\"answer_timeout\":0}");
	for (int i = 0; i < 100 && !(reply = fixture_client_try(&r.b, r.s.loop)); i++)
		;
	assert_non_null(strstr(error_of(reply), "answer_timeout"));
	json_decref(reply);
	stop(&r);

	/* No rules: findings and diagnose are unavailable. */
	start(&r, NULL, false, false);
	id = call(&r, &r.a, "diagnose", "{}");
	reply = run_until(&r, id, 1 * S, false, DIAGNOSIS_IDLE);
	assert_string_equal(error_of(reply), "no rules loaded");
	json_decref(reply);
	stop(&r);
}

static void failed_reads(void **state)
{
	static const uint8_t rdtci[] = {0x19};
	static const uint8_t rdbi[] = {0x22};
	const struct fake_answer timeout = {.outcome = UDS_BROKER_TIMEOUT, .delay_us = 60 * MS};
	const struct fake_answer broken = {.outcome = UDS_BROKER_TRANSPORT_ERROR, .delay_us = 5 * MS};
	struct run r;
	json_t *reply, *reads, *e;
	size_t i;
	bool saw_timeout = false, saw_transport = false;
	int id;

	start(&r, NULL, true, false);
	simcar_script(&r.s, rdtci, 1, &timeout, 0);
	simcar_script(&r.s, rdbi, 1, &broken, 0);
	id = call(&r, &r.a, "diagnose", "{\"questions\":false}");
	reply = run_until(&r, id, 5 * S, false, DIAGNOSIS_IDLE);
	assert_non_null(reply);
	reads = json_object_get(json_object_get(reply, "result"), "reads");
	json_array_foreach(reads, i, e) {
		const char *o = json_string_value(json_object_get(e, "outcome"));
		saw_timeout |= !strcmp(o, "timeout");
		saw_transport |= !strcmp(o, "transport_error") && json_object_get(e, "transport");
	}
	assert_true(saw_timeout && saw_transport);
	assert_int_equal(r.questions, 0);
	json_decref(reply);
	stop(&r);
}

/* ---- what others see ---- */

static void dtc_read_by_another_client(void **state)
{
	struct run r;
	struct engine_stats before, after;
	json_t *reply;
	int id, id2;

	start(&r, "hinge_wiring_open", true, true);
	/* No test running: a client's dtc.read reaches the live diagnosis and the history. */
	engine_stats(diagnosis_engine(r.s.c.diagnosis), &before);
	id2 = call(&r, &r.b, "dtc.read", "{}");
	for (int i = 0; i < 200; i++) {
		simcar_run(&r.s, 1 * MS);
		if ((reply = fixture_client_try(&r.b, r.s.loop)))
			break;
	}
	assert_non_null(reply);
	assert_int_equal(json_integer_value(json_object_get(reply, "id")), id2);
	assert_true(json_array_size(json_object_get(json_object_get(reply, "result"), "dtcs")) >= 1);
	json_decref(reply);
	engine_stats(diagnosis_engine(r.s.c.diagnosis), &after);
	assert_int_equal(after.pdus, before.pdus + 1);
	assert_true(after.dtc_events > before.dtc_events);
	assert_true(history_rows(HISTORY_KIND_DTC, 0) >= 1);

	/* During a guided test (session 1 of this fresh history) the DTCs go into its
	 * session, whoever read them. */
	id = call(&r, &r.a, "diagnose", "{}");
	assert_null(run_until(&r, id, 5 * S, false, DIAGNOSIS_ASKING));
	size_t rows = history_rows(HISTORY_KIND_DTC, 1);
	assert_true(rows >= 1); /* the test's own read */
	id2 = call(&r, &r.b, "dtc.read", "{}");
	reply = NULL;
	for (int i = 0; i < 200 && !reply; i++) {
		simcar_run(&r.s, 1 * MS);
		reply = fixture_client_try(&r.b, r.s.loop);
	}
	assert_int_equal(json_integer_value(json_object_get(reply, "id")), id2);
	json_decref(reply);
	assert_true(history_rows(HISTORY_KIND_DTC, 1) > rows);
	stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(verdict),
		cmocka_unit_test(passive_car),
		cmocka_unit_test(unanswered),
		cmocka_unit_test(client_gone_while_reading),
		cmocka_unit_test(client_gone_while_asking),
		cmocka_unit_test(reload_mid_test),
		cmocka_unit_test(stop_mid_test),
		cmocka_unit_test(refused),
		cmocka_unit_test(failed_reads),
		cmocka_unit_test(dtc_read_by_another_client),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
