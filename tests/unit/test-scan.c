/* SPDX-License-Identifier: MIT */
/*
 * daemon/scan: the decision "may a background scan transmit now" (every reason it must
 * not: disabled, nothing to scan, detached, quiet bus, battery unknown or low, interval
 * not elapsed, and the on-demand OBD battery read), the reason texts, and the battery
 * signal taken from bus frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "daemon/config.h"
#include "daemon/scan.h"

#define S 1000000LL /* µs */

/* Awake bus, fresh good battery from a signal, due: a scan may go. */
static struct scan_inputs base(void)
{
	return (struct scan_inputs){
		.enabled = true,
		.attached = true,
		.now_us = 1000 * S,
		.last_frame_us = 1000 * S - 5000,
		.last_scan_us = 0,
		.interval_ms = 60000,
		.bus_quiet_ms = 10000,
		.battery_low_v = 11.8,
		.battery_known = true,
		.battery_v = 12.6,
		.battery_us = 1000 * S - 100000,
		.n_targets = 1,
	};
}

static void go(void **state)
{
	struct scan_inputs in = base();

	assert_int_equal(scan_decide(&in), SCAN_GO);
	/* Exactly one interval after the last scan is due. */
	in.last_scan_us = in.now_us - 60 * S;
	assert_int_equal(scan_decide(&in), SCAN_GO);
}

static void disabled(void **state)
{
	struct scan_inputs in = base();

	in.enabled = false;
	assert_int_equal(scan_decide(&in), SCAN_DISABLED);
	/* Disabled wins over every other reason. */
	in.attached = false;
	in.n_targets = 0;
	assert_int_equal(scan_decide(&in), SCAN_DISABLED);
}

static void nothing_to_scan(void **state)
{
	struct scan_inputs in = base();

	in.n_targets = 0;
	assert_int_equal(scan_decide(&in), SCAN_NOTHING);
}

static void detached(void **state)
{
	struct scan_inputs in = base();

	in.attached = false;
	assert_int_equal(scan_decide(&in), SCAN_DETACHED);
}

static void quiet(void **state)
{
	struct scan_inputs in = base();

	/* Silent for exactly bus_quiet: asleep. */
	in.last_frame_us = in.now_us - 10 * S;
	assert_int_equal(scan_decide(&in), SCAN_BUS_QUIET);
	in.last_frame_us = in.now_us - 10 * S + 1;
	assert_int_equal(scan_decide(&in), SCAN_GO);
	/* A bus never heard is not woken either. */
	in.last_frame_us = 0;
	assert_int_equal(scan_decide(&in), SCAN_BUS_QUIET);
	/* Quiet is reported even between scans, so `status` shows why at once. */
	in.last_frame_us = in.now_us - 20 * S;
	in.last_scan_us = in.now_us - 1 * S;
	assert_int_equal(scan_decide(&in), SCAN_BUS_QUIET);
	/* A battery reading does not make a quiet bus awake. */
	in.battery_us = in.now_us;
	assert_int_equal(scan_decide(&in), SCAN_BUS_QUIET);
}

static void battery_low(void **state)
{
	struct scan_inputs in = base();

	in.battery_v = 11.79;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_LOW);
	in.battery_v = 11.8;
	assert_int_equal(scan_decide(&in), SCAN_GO);
	/* battery_low 0 turns the check off, even without a value. */
	in.battery_v = 3.0;
	in.battery_low_v = 0;
	assert_int_equal(scan_decide(&in), SCAN_GO);
	in.battery_known = false;
	assert_int_equal(scan_decide(&in), SCAN_GO);
}

static void battery_unknown(void **state)
{
	struct scan_inputs in = base();

	in.battery_known = false;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_UNKNOWN);
	/* A broadcast value older than bus_quiet is stale. */
	in.battery_known = true;
	in.battery_us = in.now_us - 10 * S;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_UNKNOWN);
	in.battery_us = in.now_us - 1 * S;
	in.battery_v = NAN;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_UNKNOWN);
}

static void not_due(void **state)
{
	struct scan_inputs in = base();

	in.last_scan_us = in.now_us - 60 * S + 1;
	assert_int_equal(scan_decide(&in), SCAN_NOT_DUE);
	/* A low battery is reported before the interval. */
	in.battery_v = 10.0;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_LOW);
}

/* Without a battery signal: OBD PID 0x42, at most once per interval, only when due. */
static void battery_on_demand(void **state)
{
	struct scan_inputs in = base();

	in.battery_on_demand = true;
	in.battery_known = false;
	assert_int_equal(scan_decide(&in), SCAN_READ_BATTERY);
	/* Not due: no read either. */
	in.last_scan_us = in.now_us - 30 * S;
	assert_int_equal(scan_decide(&in), SCAN_NOT_DUE);
	/* Due, but a read went out less than an interval ago (no answer): wait. */
	in.last_scan_us = in.now_us - 120 * S;
	in.last_battery_request_us = in.now_us - 59 * S;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_UNKNOWN);
	in.last_battery_request_us = in.now_us - 60 * S;
	assert_int_equal(scan_decide(&in), SCAN_READ_BATTERY);
	/* The answer is good for an interval (longer than bus_quiet). */
	in.battery_known = true;
	in.battery_us = in.now_us - 30 * S;
	assert_int_equal(scan_decide(&in), SCAN_GO);
	in.battery_v = 11.0;
	assert_int_equal(scan_decide(&in), SCAN_BATTERY_LOW);
	/* Never on a quiet or detached bus. */
	in.battery_known = false;
	in.last_frame_us = in.now_us - 11 * S;
	assert_int_equal(scan_decide(&in), SCAN_BUS_QUIET);
	in.last_frame_us = in.now_us - 1;
	in.attached = false;
	assert_int_equal(scan_decide(&in), SCAN_DETACHED);
}

static void names_and_reasons(void **state)
{
	struct scan_inputs in = base();
	char buf[128];

	for (int v = 0; v < SCAN_VERDICT_MAX; v++) {
		assert_non_null(scan_verdict_name((enum scan_verdict)v));
		assert_true(scan_verdict_format((enum scan_verdict)v, &in, buf, sizeof(buf)) > 0);
	}
	assert_null(scan_verdict_name(SCAN_VERDICT_MAX));
	in.last_frame_us = in.now_us - 312 * S - 1000;
	scan_verdict_format(SCAN_BUS_QUIET, &in, buf, sizeof(buf));
	assert_string_equal(buf, "bus quiet for 312 s");
	in.battery_v = 11.2;
	scan_verdict_format(SCAN_BATTERY_LOW, &in, buf, sizeof(buf));
	assert_string_equal(buf, "battery 11.20 V below 11.80 V");
	/* A tiny buffer truncates, never overflows. */
	scan_verdict_format(SCAN_BATTERY_LOW, &in, buf, 4);
	assert_string_equal(buf, "bat");
}

static const char test_dbc[] = "VERSION \"\"\n"
			       "BU_: BCM TESTER\n"
			       "BO_ 496 BCM_VehicleState: 8 BCM\n"
			       " SG_ VehicleSpeed : 0|16@1+ (0.01,0) [0|300] \"km/h\" TESTER\n"
			       " SG_ BatteryVoltage : 24|10@1+ (0.02,0) [0|20.46] \"V\" TESTER\n";

static double json_num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

/* The battery signal from bus frames, and the status object without bus or broker. */
static void runtime_status(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct dbc *db = NULL;
	struct dbc_error err = {0};
	struct scan *s = NULL;
	struct scan_config cfg = {
		.enabled = true,
		.interval_ms = 60000,
		.bus_quiet_ms = 10000,
		.battery_low_v = 11.8,
		.battery_signal = "BatteryVoltage",
	};
	struct scan_data data = {0};
	struct bd_timed_frame f = {.t_us = 1, .frame = {.id = 496, .len = 8}};
	json_t *o;
	unsigned raw = 620; /* 12.40 V */

	assert_non_null(loop);
	assert_int_equal(dbc_parse(test_dbc, strlen(test_dbc), "test.dbc", NULL, NULL, &err, &db),
			 0);
	data.dbc = db;
	assert_int_equal(scan_new(loop, &cfg, &data, &s), 0);

	o = scan_status_json(s);
	assert_non_null(o);
	assert_true(json_is_true(json_object_get(o, "enabled")));
	assert_string_equal(json_string_value(json_object_get(o, "state")), "paused");
	assert_string_equal(json_string_value(json_object_get(o, "reason")),
			    "no profile ECU with DTCs");
	assert_true(json_is_null(json_object_get(o, "battery_v")));
	assert_true(json_is_null(json_object_get(o, "last_scan")));
	assert_string_equal(json_string_value(json_object_get(o, "battery_source")), "signal");
	json_decref(o);

	f.frame.data[3] = raw & 0xff;
	f.frame.data[4] = (uint8_t)(raw >> 8);
	scan_bus_frame(s, &f);
	/* Another id, an extended frame with the same id: ignored. */
	f.frame.id = 497;
	f.frame.data[3] = 0;
	scan_bus_frame(s, &f);
	f.frame.id = 496;
	f.frame.flags = BD_FRAME_EXT;
	scan_bus_frame(s, &f);
	o = scan_status_json(s);
	assert_float_equal(json_num(o, "battery_v"), 12.40, 1e-9);
	json_decref(o);

	/* A short frame without the signal's bytes leaves the value as it was. */
	f.frame.flags = 0;
	f.frame.len = 2;
	scan_bus_frame(s, &f);
	o = scan_status_json(s);
	assert_float_equal(json_num(o, "battery_v"), 12.40, 1e-9);
	json_decref(o);

	/* Disabled by a reload; a signal that is not in the DBC gives no value. */
	cfg.enabled = false;
	cfg.battery_signal = "NoSuchSignal";
	assert_int_equal(scan_set_config(s, &cfg), 0);
	f.frame.len = 8;
	scan_bus_frame(s, &f);
	o = scan_status_json(s);
	assert_string_equal(json_string_value(json_object_get(o, "state")), "disabled");
	assert_true(json_is_null(json_object_get(o, "reason")));
	assert_true(json_is_null(json_object_get(o, "battery_v")));
	json_decref(o);

	/* Empty signal: OBD on demand. */
	cfg.battery_signal = "";
	assert_int_equal(scan_set_config(s, &cfg), 0);
	o = scan_status_json(s);
	assert_string_equal(json_string_value(json_object_get(o, "battery_source")), "obd");
	json_decref(o);

	s = scan_free(s);
	assert_null(s);
	dbc_free(db);
	ev_loop_destroy(loop);
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
		cmocka_unit_test(go),
		cmocka_unit_test(disabled),
		cmocka_unit_test(nothing_to_scan),
		cmocka_unit_test(detached),
		cmocka_unit_test(quiet),
		cmocka_unit_test(battery_low),
		cmocka_unit_test(battery_unknown),
		cmocka_unit_test(not_due),
		cmocka_unit_test(battery_on_demand),
		cmocka_unit_test(names_and_reasons),
		cmocka_unit_test(runtime_status),
		cmocka_unit_test(config_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
