/* SPDX-License-Identifier: MIT */
/*
 * daemon/scan on a core of the router, the transmit policy and the scanner, with a fake
 * clock and a scripted ECU: the status object (the battery signal from frames the router
 * decoded, paused and why, disabled), a scan that goes when the policy allows it and
 * reads every ECU with DTCs at background priority, none during an actuator test (and
 * the status says why), and the keys scans added to bodydiag.conf. The decision itself
 * is tested in test-policy.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "daemon/config.h"
#include "daemon/policy.h"
#include "daemon/scan.h"
#include "core-fixture.h"

#define S 1000000LL /* µs */

static const char test_dbc[] = "VERSION \"\"\n"
			       "BU_: BCM TESTER\n"
			       "BO_ 496 BCM_VehicleState: 8 BCM\n"
			       " SG_ VehicleSpeed : 0|16@1+ (0.01,0) [0|300] \"km/h\" TESTER\n"
			       " SG_ GearPosition : 16|3@1+ (1,0) [0|7] \"\" TESTER\n"
			       " SG_ BatteryVoltage : 24|10@1+ (0.02,0) [0|20.46] \"V\" TESTER\n"
			       "VAL_ 496 GearPosition 0 \"P\" 3 \"D\" ;\n";

/* The interlock reads speed and gear through the profile's roles. */
static const char test_profile[] = "format = 1\n[vehicle]\nmake = t\nplatform = t1\n"
				   "[ecu bcm]\nrequest = 0x726\nresponse = 0x72E\n"
				   "[dtc bcm B1A40-13]\ntext = open\nsource = test\n"
				   "[ecu gw]\nrequest = 0x710\nresponse = 0x718\n"
				   "[role speed]\ndbc_signal = BCM_VehicleState.VehicleSpeed\n"
				   "source = t\ngrade = A\n"
				   "[role gear]\ndbc_signal = BCM_VehicleState.GearPosition\n"
				   "map = P:park, D:drive\nsource = t\ngrade = A\n";

static const struct module *const modules[] = {&router_module, &policy_module, &scan_module, NULL};

struct rt {
	struct fake_clock fc;
	struct fake_ecu fe;
	struct core c;
};

static void answer_dtcs(struct fake_ecu *fe, const char *ecu, const uint8_t *req, size_t len,
			struct fake_answer *ret)
{
	static const uint8_t resp[] = {0x59, 0x02, 0x7f, 0x9a, 0x40, 0x13, 0x2f};

	memcpy(ret->resp, resp, sizeof(resp));
	ret->resp_len = sizeof(resp);
}

static void rt_start(struct rt *t, const char *battery_signal, bool with_profile)
{
	struct vehicle *v;
	struct dbc *db;
	struct profile *p = NULL;
	struct dbc_error err;
	struct profile_error perr;

	fake_clock_init(&t->fc, 1000 * S);
	t->c = (struct core){.clock = t->fc.clock};
	config_init_defaults(&t->c.cfg);
	snprintf(t->c.cfg.scan.battery_signal, sizeof(t->c.cfg.scan.battery_signal), "%s",
		 battery_signal);
	t->c.cfg.scan.enabled = true;
	t->c.cfg.scan.interval_ms = 60000;
	t->c.cfg.scan.battery_low_v = 11.8;
	assert_int_equal(dbc_parse(test_dbc, strlen(test_dbc), "t.dbc", NULL, NULL, &err, &db), 0);
	if (with_profile)
		assert_int_equal(profile_parse(test_profile, strlen(test_profile), "t.profile", &p,
					       &perr), 0);
	assert_int_equal(vehicle_new(db, p, NULL, &v), 0);
	fake_ecu_init(&t->fe, &t->fc, NULL, answer_dtcs, NULL, &t->c.uds);
	assert_int_equal(core_new_modules(&t->c, modules, v), 0);
	t->fe.router = t->c.router;
	vehicle_unref(v);
}

static void rt_stop(struct rt *t)
{
	core_free(&t->c);
	fake_ecu_finish(&t->fe);
}

static void battery_frame(struct rt *t, unsigned raw, uint8_t len, unsigned flags)
{
	struct bd_timed_frame f = {.t_us = t->fc.now, .frame = {.id = 496, .len = len}};

	f.frame.flags = (uint8_t)flags;
	f.frame.data[3] = raw & 0xff;
	f.frame.data[4] = (uint8_t)(raw >> 8);
	router_feed(t->c.router, &f);
}

static double json_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* The battery signal from bus frames, and the status object without a bus. */
static void runtime_status(void **state)
{
	struct rt t;
	json_t *o;

	rt_start(&t, "BatteryVoltage", false);
	o = scan_status_json(t.c.scan);
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "enabled")));
	assert_string_equal(json_string_value(json_object_get(o, "state")), "paused");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
			    "no profile ECU with DTCs");
	assert_true(json_is_null(json_object_get(o, "battery_v")));
	assert_true(json_is_null(json_object_get(o, "last_scan")));
	assert_string_equal(json_string_value(json_object_get(o, "battery_source")), "signal");
	json_decref(o);

	battery_frame(&t, 620, 8, 0); /* 12.40 V */
	o = scan_status_json(t.c.scan);
	assert_float_equal(json_num(o, "battery_v"), 12.40, 1e-9);
	json_decref(o);
	/* A short frame without the signal's bytes leaves the value as it was. */
	battery_frame(&t, 0, 2, 0);
	o = scan_status_json(t.c.scan);
	assert_float_equal(json_num(o, "battery_v"), 12.40, 1e-9);
	json_decref(o);

	/* Disabled by a reload; a signal that is not in the DBC gives no value. */
	{
		struct config cfg = t.c.cfg;
		struct vehicle *v = vehicle_ref(t.c.vehicle);

		cfg.scan.enabled = false;
		snprintf(cfg.scan.battery_signal, sizeof(cfg.scan.battery_signal), "NoSuchSignal");
		core_set_vehicle(&t.c, &cfg, v);
		battery_frame(&t, 620, 8, 0);
		o = scan_status_json(t.c.scan);
		assert_string_equal(json_string_value(json_object_get(o, "state")), "disabled");
		assert_true(json_is_null(json_object_get(o, "reason")));
		assert_true(json_is_null(json_object_get(o, "battery_v")));
		json_decref(o);
		/* Empty signal: OBD on demand. */
		cfg.scan.battery_signal[0] = '\0';
		core_set_vehicle(&t.c, &cfg, v);
		o = scan_status_json(t.c.scan);
		assert_string_equal(json_string_value(json_object_get(o, "battery_source")), "obd");
		json_decref(o);
		vehicle_unref(v);
	}
	rt_stop(&t);
}

/* An actuator test holds the scans off, and the status says why; without a bus they
 * pause as detached. (Scans on a live bus: tests/integration/test-scan.c.) */
static void interlock_reason(void **state)
{
	struct rt t;
	char why[128];
	json_t *o;

	rt_start(&t, "BatteryVoltage", true);
	fake_clock_advance(&t.fc, 2 * S);
	o = scan_status_json(t.c.scan);
	assert_string_equal(json_string_value(json_object_get(o, "reason")), "bus detached");
	assert_int_equal(json_integer_value(json_object_get(o, "ecus")), 1);
	json_decref(o);
	battery_frame(&t, 620, 8, 0); /* speed 0 and gear P in the same frame */
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	fake_clock_advance(&t.fc, 2 * S);
	o = scan_status_json(t.c.scan);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "paused");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
			    "an actuator test is running");
	json_decref(o);
	policy_end(t.c.policy, POLICY_ACTUATOR_TEST);
	assert_int_equal(t.fe.n_log, 0);
	rt_stop(&t);
}

/* The keys scans and the broker added to bodydiag.conf. */
static void config_keys(void **state)
{
	static const char text[] = "[scan]\nenabled = yes\nbattery_signal = BatteryVoltage\n"
				   "battery_low = 0\n[uds]\np2_cap = 2s\np2star_cap = 500ms\n"
				   "max_pending = 5\nmax_busy = 0\nrate_limit = 2.5\n";
	struct config c, back;
	struct config_parser p;
	struct config_error e;
	char buf[16384];

	config_init_defaults(&c);
	assert_string_equal(c.scan.battery_signal, "");
	assert_int_equal(c.uds.p2_cap_ms, 1000);
	assert_int_equal(c.uds.p2star_cap_ms, 10000);
	assert_int_equal(c.uds.max_pending, 20);
	assert_int_equal(c.uds.max_busy, 3);
	config_parser_init(&p, &c);
	assert_int_equal(config_parser_feed(&p, text, strlen(text)), 0);
	assert_int_equal(config_parser_finish(&p), 0);
	assert_string_equal(c.scan.battery_signal, "BatteryVoltage");
	assert_true(c.scan.battery_low_v == 0);
	assert_int_equal(c.uds.p2_cap_ms, 2000);
	assert_int_equal(c.uds.p2star_cap_ms, 500);
	assert_int_equal(c.uds.max_pending, 5);
	assert_int_equal(c.uds.max_busy, 0);
	assert_true(c.uds.rate_limit == 2.5);

	/* The effective configuration parses back to the same. */
	assert_true(config_format(&c, buf, sizeof(buf)) > 0);
	config_init_defaults(&back);
	config_parser_init(&p, &back);
	assert_int_equal(config_parser_feed(&p, buf, strlen(buf)), 0);
	assert_int_equal(config_parser_finish(&p), 0);
	assert_memory_equal(&c, &back, sizeof(c));

	/* Bad values: line and column. */
	config_init_defaults(&c);
	config_parser_init(&p, &c);
	assert_int_equal(config_parser_feed(&p, "[scan]\nbattery_signal = Battery Voltage\n", 40),
			 -EINVAL);
	assert_int_equal(p.error.line, 2);
	assert_true(p.error.column > 1);
	assert_int_equal(config_apply_override(&c, "uds.max_busy=-1", &e), -EINVAL);
	assert_int_equal(config_apply_override(&c, "uds.p2_cap=11min", &e), -EINVAL);
	assert_int_equal(config_apply_override(&c, "uds.rate_limit=20", &e), 0);
	assert_true(c.uds.rate_limit == 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(runtime_status),
		cmocka_unit_test(interlock_reason),
		cmocka_unit_test(config_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
