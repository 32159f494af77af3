/* SPDX-License-Identifier: MIT */
/*
 * The actuator test (daemon/actuator.c) in-process, without a VM: the daemon's modules on
 * a fake clock, the simulated car broadcasting into the router (speed, gear, command,
 * current, ajar), its UDS server behind a scripted UDS port, the API over a real socket.
 * Every phase and every way out, and on each of them ReturnControlToECU (0x2F DID 0x00)
 * then 0x10 0x01 go out: the verdict; 0x10 0x03 refused or unanswered; the 0x2F refused,
 * unanswered or not sent; ReturnControlToECU unanswered; the client gone, a reload and
 * the daemon stopping in each phase. And the refusals before anything is sent: not
 * stationary, one test per 5 s, during a background scan or a guided test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "daemon/actuator.h"
#include "daemon/policy.h"
#include "sim-car.h"

#define MS 1000LL
#define S 1000000LL

static const struct module *const modules[] = {&router_module, &policy_module, &actuator_module,
					       NULL};

static const uint8_t EXTENDED[] = {0x10, 0x03};
static const uint8_t OUTPUT_ON[] = {0x2f, 0xd1, 0x01, 0x03, 0x01};
static const uint8_t RETURN_CONTROL[] = {0x2f, 0xd1, 0x01, 0x00};
static const uint8_t DEFAULT_SESSION[] = {0x10, 0x01};

struct run {
	struct simcar s;
	struct fixture_client a;
	int id;
};

static void start(struct run *r, const char *fault)
{
	simcar_start(&r->s, modules, fault, false, true, NULL);
	assert_int_equal(fixture_client_open(&r->a, r->s.sock), 0);
	simcar_run(&r->s, 1500 * MS); /* speed and gear frames: stationary */
}

static void stop(struct run *r)
{
	fixture_client_close(&r->a);
	simcar_stop(&r->s);
}

static void begin(struct run *r, const char *params)
{
	char line[256];

	r->id = 7;
	snprintf(line, sizeof(line), "{\"v\":1,\"id\":7,\"method\":\"actuator.test\",\"params\":%s}",
		 params);
	assert_int_equal(fixture_client_send(&r->a, line), 0);
}

/* Runs until the reply (returned) or, with stop_at not IDLE, until that phase. */
static json_t *run_until(struct run *r, int64_t max_us, enum actuator_phase stop_at)
{
	for (int64_t t = 0; t < max_us; t += 100) {
		json_t *j;

		simcar_run(&r->s, 100);
		if (stop_at != ACTUATOR_IDLE && actuator_phase(r->s.c.actuator) == stop_at)
			return NULL;
		while ((j = fixture_client_try(&r->a, r->s.loop))) {
			if (json_integer_value(json_object_get(j, "id")) == r->id)
				return j;
			json_decref(j);
		}
	}
	return NULL;
}

/* The clean-up went out: ReturnControlToECU, then 0x10 0x01 after it. */
static void assert_cleanup(struct run *r, size_t min_return)
{
	const struct fake_ecu *fe = &r->s.fe;
	ssize_t last_return = -1, last_default = -1;

	for (size_t i = 0; i < fe->n_log; i++) {
		if (fe->log[i].len == sizeof(RETURN_CONTROL) &&
		    !memcmp(fe->log[i].req, RETURN_CONTROL, sizeof(RETURN_CONTROL)))
			last_return = (ssize_t)i;
		if (fe->log[i].len == sizeof(DEFAULT_SESSION) &&
		    !memcmp(fe->log[i].req, DEFAULT_SESSION, sizeof(DEFAULT_SESSION)))
			last_default = (ssize_t)i;
	}
	assert_true(fake_ecu_count(fe, RETURN_CONTROL, sizeof(RETURN_CONTROL)) >= min_return);
	assert_true(last_return >= 0);
	assert_true(last_default > last_return);
	assert_int_equal(actuator_phase(r->s.c.actuator), ACTUATOR_IDLE);
	assert_false(policy_running(r->s.c.policy, POLICY_ACTUATOR_TEST));
}

static const char *str(json_t *reply, const char *key)
{
	return json_string_value(json_object_get(json_object_get(reply, "result"), key));
}

static const char *error_of(json_t *reply)
{
	return json_string_value(json_object_get(json_object_get(reply, "error"), "message"));
}

/* ---- the verdicts ---- */

static void released(void **state)
{
	struct run r;
	json_t *reply;

	start(&r, NULL);
	begin(&r, "{\"duration_ms\":500}");
	reply = run_until(&r, 3 * S, ACTUATOR_IDLE);
	assert_non_null(reply);
	assert_string_equal(str(reply, "verdict"), "released");
	assert_true(json_is_true(json_object_get(json_object_get(reply, "result"), "current_flowed")));
	assert_int_equal(json_array_size(json_object_get(json_object_get(reply, "result"), "steps")), 4);
	assert_int_equal(fake_ecu_count(&r.s.fe, EXTENDED, sizeof(EXTENDED)), 1);
	assert_int_equal(fake_ecu_count(&r.s.fe, OUTPUT_ON, sizeof(OUTPUT_ON)), 1);
	assert_int_equal(fake_ecu_count(&r.s.fe, RETURN_CONTROL, sizeof(RETURN_CONTROL)), 1);
	assert_cleanup(&r, 1);
	json_decref(reply);
	stop(&r);
}

static void no_current(void **state)
{
	struct run r;
	json_t *reply;

	start(&r, "fuse_blown");
	begin(&r, "{}");
	reply = run_until(&r, 3 * S, ACTUATOR_IDLE);
	assert_string_equal(str(reply, "verdict"), "no_current");
	assert_cleanup(&r, 1);
	json_decref(reply);
	stop(&r);
}

/* One request answered otherwise than by the car: the verdict, and the clean-up. */
static void scripted(const uint8_t *prefix, size_t len, const struct fake_answer *a,
		     const char *verdict, const char *failure)
{
	struct run r;
	json_t *reply;

	start(&r, NULL);
	simcar_script(&r.s, prefix, len, a, 1);
	begin(&r, "{}");
	reply = run_until(&r, 10 * S, ACTUATOR_IDLE);
	assert_non_null(reply);
	assert_string_equal(str(reply, "verdict"), verdict);
	if (failure)
		assert_string_equal(str(reply, "failure"), failure);
	assert_cleanup(&r, 1);
	json_decref(reply);
	stop(&r);
}

static void extended_session_refused(void **state)
{
	struct fake_answer nrc = {.outcome = UDS_BROKER_RESPONSE, .resp = {0x7f, 0x10, 0x22},
				  .resp_len = 3};
	scripted(EXTENDED, sizeof(EXTENDED), &nrc, "refused", NULL);
}

static void extended_session_unanswered(void **state)
{
	struct fake_answer timeout = {.outcome = UDS_BROKER_TIMEOUT, .delay_us = 60 * MS};
	scripted(EXTENDED, sizeof(EXTENDED), &timeout, "no_response", "timeout");
}

static void output_refused(void **state)
{
	struct fake_answer nrc = {.outcome = UDS_BROKER_RESPONSE, .resp = {0x7f, 0x2f, 0x22},
				  .resp_len = 3};
	scripted(OUTPUT_ON, 3, &nrc, "refused", NULL);
}

static void output_unanswered(void **state)
{
	struct fake_answer timeout = {.outcome = UDS_BROKER_TIMEOUT, .delay_us = 60 * MS};
	scripted(OUTPUT_ON, 3, &timeout, "no_response", "timeout");
}

static void output_not_sent(void **state)
{
	struct fake_answer full = {.submit_error = -ENOBUFS};
	scripted(OUTPUT_ON, 3, &full, "no_response", "not_sent");
}

static void return_control_unanswered(void **state)
{
	struct fake_answer timeout = {.outcome = UDS_BROKER_TIMEOUT, .delay_us = 60 * MS};
	scripted(RETURN_CONTROL, sizeof(RETURN_CONTROL), &timeout, "released", NULL);
}

/* ---- the ways out, in every phase ---- */

enum way_out {
	OUT_CLIENT_GONE,
	OUT_RELOAD,
	OUT_STOP,
};

static void leave_in(enum actuator_phase phase, enum way_out how)
{
	struct run r;
	json_t *reply = NULL;

	start(&r, NULL);
	begin(&r, "{\"duration_ms\":1000}");
	assert_null(run_until(&r, 3 * S, phase));
	switch (how) {
	case OUT_CLIENT_GONE:
		fixture_client_close(&r.a);
		for (int i = 0; i < 10; i++)
			ev_run(r.s.loop, EVRUN_NOWAIT);
		simcar_run(&r.s, 200 * MS);
		break;
	case OUT_RELOAD: {
		struct vehicle *v = vehicle_ref(r.s.c.vehicle);

		core_set_vehicle(&r.s.c, &r.s.c.cfg, v);
		vehicle_unref(v);
		reply = run_until(&r, 1 * S, ACTUATOR_IDLE);
		assert_non_null(reply);
		assert_non_null(strstr(error_of(reply), "configuration reloaded; control returned"));
		json_decref(reply);
		simcar_run(&r.s, 200 * MS);
		break;
	}
	case OUT_STOP:
		/* The module's free turns the (fake) clock itself for the clean-up. */
		actuator_module.free(&r.s.c);
		assert_null(r.s.c.actuator);
		break;
	}
	print_message("  left in phase %d by %d: 0x2F 00 x%zu, 0x10 01 x%zu\n", phase, how,
		      fake_ecu_count(&r.s.fe, RETURN_CONTROL, sizeof(RETURN_CONTROL)),
		      fake_ecu_count(&r.s.fe, DEFAULT_SESSION, sizeof(DEFAULT_SESSION)));
	assert_cleanup(&r, 1);
	stop(&r);
}

static void ways_out(void **state)
{
	static const enum actuator_phase phases[] = {
		ACTUATOR_SESSION_EXTENDED, ACTUATOR_OUTPUT_ON, ACTUATOR_WATCH,
		ACTUATOR_RETURN_CONTROL, ACTUATOR_SESSION_DEFAULT,
	};

	for (size_t p = 0; p < sizeof(phases) / sizeof(phases[0]); p++)
		for (int how = OUT_CLIENT_GONE; how <= OUT_STOP; how++)
			leave_in(phases[p], (enum way_out)how);
}

/* ---- refused before anything is sent ---- */

static void refusals(void **state)
{
	struct run r;
	json_t *reply;
	char why[128];

	start(&r, NULL);
	/* During a background scan, during a guided test. */
	for (size_t k = 0; k < 2; k++) {
		static const enum policy_activity holder[] = {POLICY_SCAN, POLICY_GUIDED_TEST};
		static const char *const text[] = {"a background scan is running",
						   "a guided test is running"};

		assert_int_equal(policy_begin(r.s.c.policy, holder[k], why, sizeof(why)), POLICY_GO);
		begin(&r, "{}");
		reply = run_until(&r, 1 * S, ACTUATOR_IDLE);
		assert_string_equal(error_of(reply), text[k]);
		json_decref(reply);
		policy_end(r.s.c.policy, holder[k]);
	}
	assert_int_equal(r.s.fe.n_log, 0);
	/* One test, then a second within 5 s: rate limited. */
	begin(&r, "{\"duration_ms\":100}");
	reply = run_until(&r, 3 * S, ACTUATOR_IDLE);
	assert_non_null(str(reply, "verdict"));
	json_decref(reply);
	begin(&r, "{}");
	reply = run_until(&r, 1 * S, ACTUATOR_IDLE);
	assert_string_equal(json_string_value(json_object_get(json_object_get(reply, "error"), "code")),
			    "rate_limited");
	json_decref(reply);
	/* Moving. */
	assert_int_equal(sim_model_set_speed(r.s.m, 30), 0);
	simcar_run(&r.s, 6 * S);
	begin(&r, "{}");
	reply = run_until(&r, 1 * S, ACTUATOR_IDLE);
	assert_non_null(strstr(error_of(reply), "vehicle not stationary: speed = 30 km/h "
						"(BCM_VehicleState.VehicleSpeed)"));
	json_decref(reply);
	/* Bad parameters, no such ECU. */
	begin(&r, "{\"duration_ms\":5}");
	reply = run_until(&r, 1 * S, ACTUATOR_IDLE);
	assert_non_null(strstr(error_of(reply), "duration_ms"));
	json_decref(reply);
	begin(&r, "{\"ecu\":\"nosuch\"}");
	reply = run_until(&r, 1 * S, ACTUATOR_IDLE);
	assert_non_null(strstr(error_of(reply), "no ECU"));
	json_decref(reply);
	stop(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(released),
		cmocka_unit_test(no_current),
		cmocka_unit_test(extended_session_refused),
		cmocka_unit_test(extended_session_unanswered),
		cmocka_unit_test(output_refused),
		cmocka_unit_test(output_unanswered),
		cmocka_unit_test(output_not_sent),
		cmocka_unit_test(return_control_unanswered),
		cmocka_unit_test(ways_out),
		cmocka_unit_test(refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
