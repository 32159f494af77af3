/* SPDX-License-Identifier: MIT */
/*
 * daemon/policy: the pure decision "may a background scan transmit now" (every reason
 * it must not: listen-only, disabled, nothing to scan, an interlock, detached, quiet
 * bus, battery unknown or low, interval not elapsed, and the on-demand OBD battery
 * read), the reason texts; and, on a core of the router and the policy on a fake clock,
 * the interlocks between the activities that transmit (a scan refused during an
 * actuator test, and saying why; an actuator test refused during a scan or a guided
 * test), listen-only, the actuator test's rate limit and the stationary check from
 * frames the router decoded, the status object, and waiting for an activity's end.
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
#include "daemon/policy.h"
#include "core-fixture.h"

#define S 1000000LL /* µs */

/* Awake bus, fresh good battery from a signal, due: a scan may go. */
static struct policy_inputs base(void)
{
	return (struct policy_inputs){
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
	struct policy_inputs in = base();

	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
	/* Exactly one interval after the last scan is due. */
	in.last_scan_us = in.now_us - 60 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
}

static void disabled(void **state)
{
	struct policy_inputs in = base();

	in.enabled = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_DISABLED);
	/* Disabled wins over every other reason. */
	in.attached = false;
	in.n_targets = 0;
	assert_int_equal(policy_decide_scan(&in), POLICY_DISABLED);
}

static void nothing_to_scan(void **state)
{
	struct policy_inputs in = base();

	in.n_targets = 0;
	assert_int_equal(policy_decide_scan(&in), POLICY_NOTHING);
}

static void detached(void **state)
{
	struct policy_inputs in = base();

	in.attached = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_DETACHED);
}

static void quiet(void **state)
{
	struct policy_inputs in = base();

	/* Silent for exactly bus_quiet: asleep. */
	in.last_frame_us = in.now_us - 10 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUS_QUIET);
	in.last_frame_us = in.now_us - 10 * S + 1;
	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
	/* A bus never heard is not woken either. */
	in.last_frame_us = 0;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUS_QUIET);
	/* Quiet is reported even between scans, so `status` shows why at once. */
	in.last_frame_us = in.now_us - 20 * S;
	in.last_scan_us = in.now_us - 1 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUS_QUIET);
	/* A battery reading does not make a quiet bus awake. */
	in.battery_us = in.now_us;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUS_QUIET);
}

static void battery_low(void **state)
{
	struct policy_inputs in = base();

	in.battery_v = 11.79;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_LOW);
	in.battery_v = 11.8;
	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
	/* battery_low 0 turns the check off, even without a value. */
	in.battery_v = 3.0;
	in.battery_low_v = 0;
	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
	in.battery_known = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
}

static void battery_unknown(void **state)
{
	struct policy_inputs in = base();

	in.battery_known = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_UNKNOWN);
	/* A broadcast value older than bus_quiet is stale. */
	in.battery_known = true;
	in.battery_us = in.now_us - 10 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_UNKNOWN);
	in.battery_us = in.now_us - 1 * S;
	in.battery_v = NAN;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_UNKNOWN);
}

static void not_due(void **state)
{
	struct policy_inputs in = base();

	in.last_scan_us = in.now_us - 60 * S + 1;
	assert_int_equal(policy_decide_scan(&in), POLICY_NOT_DUE);
	/* A low battery is reported before the interval. */
	in.battery_v = 10.0;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_LOW);
}

/* Without a battery signal: OBD PID 0x42, at most once per interval, only when due. */
static void battery_on_demand(void **state)
{
	struct policy_inputs in = base();

	in.battery_on_demand = true;
	in.battery_known = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_READ_BATTERY);
	/* Not due: no read either. */
	in.last_scan_us = in.now_us - 30 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_NOT_DUE);
	/* Due, but a read went out less than an interval ago (no answer): wait. */
	in.last_scan_us = in.now_us - 120 * S;
	in.last_battery_request_us = in.now_us - 59 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_UNKNOWN);
	in.last_battery_request_us = in.now_us - 60 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_READ_BATTERY);
	/* The answer is good for an interval (longer than bus_quiet). */
	in.battery_known = true;
	in.battery_us = in.now_us - 30 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_GO);
	in.battery_v = 11.0;
	assert_int_equal(policy_decide_scan(&in), POLICY_BATTERY_LOW);
	/* Never on a quiet or detached bus. */
	in.battery_known = false;
	in.last_frame_us = in.now_us - 11 * S;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUS_QUIET);
	in.last_frame_us = in.now_us - 1;
	in.attached = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_DETACHED);
}

static void names_and_reasons(void **state)
{
	struct policy_inputs in = base();
	char buf[128];

	for (int v = 0; v < POLICY_VERDICT_MAX; v++) {
		assert_non_null(policy_verdict_name((enum policy_verdict)v));
		assert_true(policy_verdict_format((enum policy_verdict)v, &in, buf, sizeof(buf)) > 0);
	}
	assert_null(policy_verdict_name(POLICY_VERDICT_MAX));
	in.last_frame_us = in.now_us - 312 * S - 1000;
	policy_verdict_format(POLICY_BUS_QUIET, &in, buf, sizeof(buf));
	assert_string_equal(buf, "bus quiet for 312 s");
	in.battery_v = 11.2;
	policy_verdict_format(POLICY_BATTERY_LOW, &in, buf, sizeof(buf));
	assert_string_equal(buf, "battery 11.20 V below 11.80 V");
	/* A tiny buffer truncates, never overflows. */
	policy_verdict_format(POLICY_BATTERY_LOW, &in, buf, 4);
	assert_string_equal(buf, "bat");
}

static void listen_only_and_busy(void **state)
{
	struct policy_inputs in = base();
	char buf[128];

	in.busy = true;
	in.busy_with = POLICY_ACTUATOR_TEST;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUSY);
	policy_verdict_format(POLICY_BUSY, &in, buf, sizeof(buf));
	assert_string_equal(buf, "an actuator test is running");
	in.busy_with = POLICY_GUIDED_TEST;
	policy_verdict_format(POLICY_BUSY, &in, buf, sizeof(buf));
	assert_string_equal(buf, "a guided test is running");
	/* Busy is said before the bus and the battery, after disabled. */
	in.attached = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_BUSY);
	in.enabled = false;
	assert_int_equal(policy_decide_scan(&in), POLICY_DISABLED);
	/* Listen-only wins over everything. */
	in.listen_only = true;
	assert_int_equal(policy_decide_scan(&in), POLICY_LISTEN_ONLY);
	assert_string_equal(policy_activity_name(POLICY_SCAN), "scan");
	assert_null(policy_activity_name(POLICY_ACTIVITY_MAX));
}

/* ---- the runtime: a core of the router and the policy on a fake clock ---- */

static const char test_dbc[] = "VERSION \"\"\n"
			       "BU_: BCM TESTER\n"
			       "BO_ 496 BCM_VehicleState: 8 BCM\n"
			       " SG_ VehicleSpeed : 0|16@1+ (0.01,0) [0|300] \"km/h\" TESTER\n"
			       " SG_ GearPosition : 16|3@1+ (1,0) [0|7] \"\" TESTER\n"
			       " SG_ BatteryVoltage : 24|10@1+ (0.02,0) [0|20.46] \"V\" TESTER\n"
			       "VAL_ 496 GearPosition 0 \"P\" 1 \"R\" 2 \"N\" 3 \"D\" ;\n";

/* The roles the policy reads, mapped as a profile does: nothing in the configuration. */
static const char test_profile[] = "format = 1\n[vehicle]\nmake = t\nplatform = t1\n"
				   "[role speed]\ndbc_signal = BCM_VehicleState.VehicleSpeed\n"
				   "source = t\ngrade = A\n"
				   "[role gear]\ndbc_signal = BCM_VehicleState.GearPosition\n"
				   "map = P:park, R:reverse, N:neutral, D:drive\nsource = t\n"
				   "grade = A\n"
				   "[role battery_voltage]\n"
				   "dbc_signal = BCM_VehicleState.BatteryVoltage\nsource = t\n"
				   "grade = A\n";

static const struct module *const modules[] = {&router_module, &policy_module, NULL};

struct rt {
	struct fake_clock fc;
	struct core c;
};

/* A core of the router and the policy over dbc_text and profile_text (may be NULL);
 * cfg_edit (may be NULL) sets keys before the modules start. */
static void rt_start_with(struct rt *t, bool listen_only, const char *dbc_text,
			  const char *profile_text, void (*cfg_edit)(struct config *))
{
	struct vehicle *v;
	struct dbc *db;
	struct dbc_error err;
	struct profile *p = NULL;
	struct profile_error perr;

	fake_clock_init(&t->fc, 1000 * S);
	t->c = (struct core){.clock = t->fc.clock};
	config_init_defaults(&t->c.cfg);
	t->c.cfg.scan.enabled = true;
	t->c.cfg.scan.battery_low_v = 11.8;
	t->c.cfg.can.listen_only = listen_only;
	if (cfg_edit)
		cfg_edit(&t->c.cfg);
	assert_int_equal(dbc_parse(dbc_text, strlen(dbc_text), "t.dbc", NULL, NULL, &err, &db), 0);
	if (profile_text)
		assert_int_equal(
		    profile_parse(profile_text, strlen(profile_text), "t.profile", &p, &perr), 0);
	assert_int_equal(vehicle_new(db, p, NULL, &v), 0);
	assert_int_equal(core_new_modules(&t->c, modules, v), 0);
	vehicle_unref(v);
}

static void rt_start(struct rt *t, bool listen_only)
{
	rt_start_with(t, listen_only, test_dbc, test_profile, NULL);
}

/* One BCM_VehicleState frame now: speed in km/h, gear raw, battery in V. */
static void state_frame(struct rt *t, double kmh, unsigned gear, double volts, bool local)
{
	unsigned speed = (unsigned)(kmh * 100 + 0.5), bat = (unsigned)(volts / 0.02 + 0.5);
	struct bd_timed_frame f = {.t_us = t->fc.now, .frame = {.id = 496, .len = 8}};

	f.frame.data[0] = speed & 0xff;
	f.frame.data[1] = (uint8_t)(speed >> 8);
	f.frame.data[2] = (uint8_t)gear;
	f.frame.data[3] = bat & 0xff;
	f.frame.data[4] = (uint8_t)(bat >> 8);
	if (local)
		f.frame.flags |= BD_FRAME_LOCAL;
	router_feed(t->c.router, &f);
}

static void interlocks(void **state)
{
	struct rt t;
	struct policy *p;
	struct policy_scan_state scan = {.n_targets = 1};
	struct policy_inputs in;
	char why[192], reason[128];

	rt_start(&t, false);
	p = t.c.policy;
	state_frame(&t, 0, 0, 12.6, false);
	/* Nothing runs: a scan would go (but the bus is detached: no bus module here). */
	assert_int_equal(policy_scan_check(p, &scan, &in), POLICY_DETACHED);
	assert_true(in.last_frame_us == t.fc.now);

	/* An actuator test holds the bus: the scan is refused and says why. */
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	assert_true(policy_running(p, POLICY_ACTUATOR_TEST));
	assert_int_equal(policy_scan_check(p, &scan, &in), POLICY_BUSY);
	policy_verdict_format(POLICY_BUSY, &in, reason, sizeof(reason));
	assert_string_equal(reason, "an actuator test is running");
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_BUSY);
	assert_string_equal(why, "an actuator test is running");
	/* ...and so is a guided test; a client's request is not held up. */
	assert_int_equal(policy_begin(p, POLICY_GUIDED_TEST, why, sizeof(why)), POLICY_BUSY);
	assert_string_equal(why, "an actuator test is running");
	assert_int_equal(policy_begin(p, POLICY_CLIENT, why, sizeof(why)), POLICY_GO);
	policy_end(p, POLICY_ACTUATOR_TEST);
	assert_false(policy_running(p, POLICY_ACTUATOR_TEST));

	/* A scan holds the bus: no actuator test. */
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
	t.fc.now += 6 * S;
	state_frame(&t, 0, 0, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_BUSY);
	assert_string_equal(why, "a background scan is running");
	/* A guided test may start during a scan (it goes first at the broker)... */
	assert_int_equal(policy_begin(p, POLICY_GUIDED_TEST, why, sizeof(why)), POLICY_GO);
	policy_end(p, POLICY_SCAN);
	/* ...and then holds off both the scans and the actuator test. */
	assert_int_equal(policy_scan_check(p, &scan, &in), POLICY_BUSY);
	policy_verdict_format(POLICY_BUSY, &in, reason, sizeof(reason));
	assert_string_equal(reason, "a guided test is running");
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_BUSY);
	assert_string_equal(why, "a guided test is running");
	policy_end(p, POLICY_GUIDED_TEST);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	policy_end(p, POLICY_ACTUATOR_TEST);
	core_free(&t.c);
}

static void actuator_conditions(void **state)
{
	struct rt t;
	struct policy *p;
	char why[192];

	rt_start(&t, false);
	p = t.c.policy;
	/* No speed frame yet. */
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_non_null(strstr(
	    why, "vehicle speed unknown: no BCM_VehicleState.VehicleSpeed on the bus within"));
	state_frame(&t, 30, 3, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why,
			    "vehicle not stationary: speed = 30 km/h (BCM_VehicleState.VehicleSpeed)");
	state_frame(&t, 0, 3, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why, "vehicle not in park: gear = drive (BCM_VehicleState.GearPosition)");
	/* A stale speed is unknown again. */
	state_frame(&t, 0, 0, 12.6, false);
	t.fc.now += ACTUATOR_SPEED_MAX_AGE_US + 1;
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	state_frame(&t, 0, 0, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	policy_end(p, POLICY_ACTUATOR_TEST);
	/* One start per 5 s. */
	t.fc.now += 1 * S;
	state_frame(&t, 0, 0, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_RATE_LIMITED);
	assert_string_equal(why, "one actuator test per 5 s: retry in 4.0 s");
	t.fc.now += 4 * S;
	state_frame(&t, 0, 0, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	policy_end(p, POLICY_ACTUATOR_TEST);
	core_free(&t.c);
}

/* A client's functional request: one per 0.5 s, none during an actuator test, not held. */
static void functional_requests(void **state)
{
	struct rt t;
	struct policy *p;
	char why[192];

	rt_start(&t, false);
	p = t.c.policy;
	assert_string_equal(policy_activity_name(POLICY_FUNCTIONAL), "functional");
	assert_int_equal(policy_begin(p, POLICY_FUNCTIONAL, why, sizeof(why)), POLICY_GO);
	assert_false(policy_running(p, POLICY_FUNCTIONAL));
	t.fc.now += 200000;
	assert_int_equal(policy_begin(p, POLICY_FUNCTIONAL, why, sizeof(why)), POLICY_RATE_LIMITED);
	assert_string_equal(why, "one functional request per 0.5 s: retry in 0.3 s");
	t.fc.now += 300000;
	assert_int_equal(policy_begin(p, POLICY_FUNCTIONAL, why, sizeof(why)), POLICY_GO);
	/* An actuator test holds the bus: no request to every ECU meanwhile. */
	state_frame(&t, 0, 0, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	t.fc.now += S;
	assert_int_equal(policy_begin(p, POLICY_FUNCTIONAL, why, sizeof(why)), POLICY_BUSY);
	assert_string_equal(why, "an actuator test is running");
	policy_end(p, POLICY_ACTUATOR_TEST);
	assert_int_equal(policy_begin(p, POLICY_FUNCTIONAL, why, sizeof(why)), POLICY_GO);
	/* ...and a functional request does not hold off an actuator test or a scan. */
	t.fc.now += 5 * S;
	state_frame(&t, 0, 0, 12.6, false);
	assert_int_equal(policy_begin(p, POLICY_ACTUATOR_TEST, why, sizeof(why)), POLICY_GO);
	policy_end(p, POLICY_ACTUATOR_TEST);
	core_free(&t.c);
}

/* Frames this host sent do not keep the bus awake; the battery comes from the signal. */
static void awake_and_battery(void **state)
{
	struct rt t;
	struct policy_scan_state scan = {.n_targets = 1};
	struct policy_inputs in;
	const char *source;

	rt_start(&t, false);
	state_frame(&t, 0, 0, 12.4, true);
	(void)policy_scan_check(t.c.policy, &scan, &in);
	assert_true(in.last_frame_us == 0);
	assert_true(in.battery_known);
	assert_float_equal(in.battery_v, 12.4, 1e-9);
	const char *name;
	assert_float_equal(policy_battery(t.c.policy, &source, &name), 12.4, 1e-9);
	assert_string_equal(source, "signal");
	assert_string_equal(name, "BCM_VehicleState.BatteryVoltage");
	t.fc.now += 100;
	state_frame(&t, 0, 0, 11.0, false);
	(void)policy_scan_check(t.c.policy, &scan, &in);
	assert_true(in.last_frame_us == t.fc.now);
	assert_float_equal(in.battery_v, 11.0, 1e-9);
	core_free(&t.c);
}

/* ---- the roles: from the profile alone, or named in the configuration ---- */

/* A real car's names: the profile maps them, the configuration names nothing. */
static const char car_dbc[] = "VERSION \"\"\n"
			      "BU_: PCM\n"
			      "BO_ 1056 Powertrain_Data: 8 PCM\n"
			      " SG_ VEHICLE_SPEED : 7|16@0+ (0.01,0) [0|655.35] \"mph\" Vector__XXX\n"
			      " SG_ GEAR_LEVER : 19|4@0+ (1,0) [0|15] \"\" Vector__XXX\n"
			      "VAL_ 1056 GEAR_LEVER 1 \"PARK\" 2 \"REVERSE\" 3 \"NEUTRAL\" 4 \"DRIVE\" ;\n";
static const char car_profile[] = "format = 1\n[vehicle]\nmake = c\nplatform = c1\n"
				  "[role speed]\ndbc_signal = Powertrain_Data.VEHICLE_SPEED\n"
				  "source = t\ngrade = A\n"
				  "[role gear]\ndbc_signal = Powertrain_Data.GEAR_LEVER\n"
				  "map = PARK:park, REVERSE:reverse, NEUTRAL:neutral, DRIVE:drive\n"
				  "source = t\ngrade = A\n";

static void car_frame(struct rt *t, double mph, unsigned lever)
{
	unsigned v = (unsigned)(mph * 100 + 0.5);
	struct bd_timed_frame f = {.t_us = t->fc.now, .frame = {.id = 1056, .len = 8}};

	f.frame.data[0] = (uint8_t)(v >> 8); /* Motorola: start bit 7 is the MSB */
	f.frame.data[1] = v & 0xff;
	f.frame.data[2] = (uint8_t)lever; /* start bit 19: bits 3..0 of byte 2 */
	router_feed(t->c.router, &f);
}

static void roles_from_profile(void **state)
{
	struct rt t;
	char why[192];

	rt_start_with(&t, false, car_dbc, car_profile, NULL);
	car_frame(&t, 20, 4);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	/* the profile's mph, in the role's km/h */
	assert_string_equal(
	    why, "vehicle not stationary: speed = 32.18688 km/h (Powertrain_Data.VEHICLE_SPEED)");
	car_frame(&t, 0, 4);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why, "vehicle not in park: gear = drive (Powertrain_Data.GEAR_LEVER)");
	car_frame(&t, 0, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_GO);
	policy_end(t.c.policy, POLICY_ACTUATOR_TEST);
	core_free(&t.c);
}

static void no_speed_role(void **state)
{
	static const char only_gear[] = "format = 1\n[vehicle]\nmake = c\nplatform = c1\n"
					"[role gear]\ndbc_signal = Powertrain_Data.GEAR_LEVER\n"
					"map = PARK:park\nsource = t\ngrade = A\n";
	static const char only_speed[] = "format = 1\n[vehicle]\nmake = c\nplatform = c1\n"
					 "[role speed]\ndbc_signal = Powertrain_Data.VEHICLE_SPEED\n"
					 "source = t\ngrade = A\n";
	struct rt t;
	char why[192];
	json_t *o;

	/* the speed can never be known: refused, and the reason says why */
	rt_start_with(&t, false, car_dbc, only_gear, NULL);
	car_frame(&t, 0, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why, "vehicle speed unknown: the profile maps no speed role ([role "
				 "speed]) and [safety] speed_signal is not set");
	o = policy_status_json(t.c.policy);
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(o, "refused"), "actuator_test")),
	    why);
	json_decref(o);
	core_free(&t.c);
	/* nor the gear (stopped is not parked) */
	rt_start_with(&t, false, car_dbc, only_speed, NULL);
	car_frame(&t, 0, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why, "vehicle gear unknown: the profile maps no gear role ([role "
				 "gear]) and [safety] gear_signal is not set");
	core_free(&t.c);
	/* no profile at all: the same */
	rt_start_with(&t, false, car_dbc, NULL, NULL);
	car_frame(&t, 0, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_non_null(strstr(why, "the profile maps no speed role"));
	core_free(&t.c);
}

static void name_signals(struct config *cfg)
{
	snprintf(cfg->safety.speed_signal, sizeof(cfg->safety.speed_signal), "VEHICLE_SPEED");
	snprintf(cfg->safety.gear_signal, sizeof(cfg->safety.gear_signal), "GEAR_LEVER");
}

static void name_missing(struct config *cfg)
{
	snprintf(cfg->safety.speed_signal, sizeof(cfg->safety.speed_signal), "VehicleSpeed");
}

/* The [safety] keys of older configurations still name DBC signals, over the profile. */
static void signals_override(void **state)
{
	struct rt t;
	char why[192];

	rt_start_with(&t, false, car_dbc, NULL, name_signals);
	car_frame(&t, 20, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	/* the signal's own unit: no profile says what it is in the role's */
	assert_string_equal(why, "vehicle not stationary: speed = 20 km/h (VEHICLE_SPEED)");
	car_frame(&t, 0, 4); /* VAL_ "DRIVE" is the gear's drive */
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why, "vehicle not in park: gear = drive (GEAR_LEVER)");
	car_frame(&t, 0, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_GO);
	policy_end(t.c.policy, POLICY_ACTUATOR_TEST);
	core_free(&t.c);
	/* a name the DBC does not have: unknown, and said so (over a profile that has it) */
	rt_start_with(&t, false, car_dbc, car_profile, name_missing);
	car_frame(&t, 0, 1);
	assert_int_equal(policy_begin(t.c.policy, POLICY_ACTUATOR_TEST, why, sizeof(why)),
			 POLICY_NOT_STATIONARY);
	assert_string_equal(why, "vehicle speed unknown: no signal VehicleSpeed in the DBC "
				 "([safety] speed_signal)");
	core_free(&t.c);
}

static void listen_only_refuses(void **state)
{
	struct rt t;
	struct policy_scan_state scan = {.n_targets = 1};
	struct policy_inputs in;
	char why[192];
	json_t *o;

	rt_start(&t, true);
	state_frame(&t, 0, 0, 12.6, false);
	for (int a = 0; a < POLICY_ACTIVITY_MAX; a++) {
		assert_int_equal(policy_begin(t.c.policy, (enum policy_activity)a, why, sizeof(why)),
				 POLICY_LISTEN_ONLY);
		assert_non_null(strstr(why, "listen-only"));
	}
	assert_int_equal(policy_scan_check(t.c.policy, &scan, &in), POLICY_LISTEN_ONLY);
	o = policy_status_json(t.c.policy);
	assert_true(json_is_true(json_object_get(o, "listen_only")));
	assert_string_equal(json_string_value(json_object_get(o, "transmit")), "never");
	assert_string_equal(json_string_value(json_object_get(o, "bus")), "detached");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(o, "refused"),
								 "actuator_test")),
			       "listen-only"));
	json_decref(o);
	core_free(&t.c);
}

static void hard(struct config *cfg)
{
	cfg->can.listen_only = CONFIG_LISTEN_ONLY_HARD;
}

/* [can] listen_only = hard: every activity refused and the broker's gate closed, with the
 * reason; the controller kept in listen-only mode; the default switches it on demand. */
static void listen_only_hard_and_the_gate(void **state)
{
	struct rt t;
	struct config cfg;
	char why[192];

	rt_start_with(&t, false, test_dbc, test_profile, hard);
	for (int a = 0; a < POLICY_ACTIVITY_MAX; a++) {
		assert_int_equal(policy_begin(t.c.policy, (enum policy_activity)a, why, sizeof(why)),
				 POLICY_LISTEN_ONLY);
		assert_non_null(strstr(why, "listen_only = hard"));
		assert_non_null(strstr(why, "nothing was sent"));
	}
	assert_int_equal(policy_transmit(t.c.policy, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "hard"));
	core_free(&t.c);

	rt_start(&t, false);
	assert_int_equal(policy_transmit(t.c.policy, why, sizeof(why)), 0);
	core_free(&t.c);

	config_init_defaults(&cfg);
	assert_int_equal(policy_bus_listen_only(&cfg), BUS_LISTEN_ONLY_IDLE);
	cfg.can.idle_listen_only = false;
	assert_int_equal(policy_bus_listen_only(&cfg), BUS_LISTEN_ONLY_LEAVE);
	cfg.can.listen_only = CONFIG_LISTEN_ONLY_YES;
	assert_int_equal(policy_bus_listen_only(&cfg), BUS_LISTEN_ONLY_LEAVE);
	cfg.can.listen_only = CONFIG_LISTEN_ONLY_HARD;
	assert_int_equal(policy_bus_listen_only(&cfg), BUS_LISTEN_ONLY_ALWAYS);
}

/* A discovery is alone on the bus: it waits for everything else and everything else,
 * clients included, waits for it. The VIN read at attach waits for the car to talk. */
static void discovery_and_identify(void **state)
{
	struct rt t;
	struct policy *p;
	char why[192];

	rt_start(&t, false);
	p = t.c.policy;
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
	assert_int_equal(policy_begin(p, POLICY_DISCOVERY, why, sizeof(why)), POLICY_BUSY);
	assert_string_equal(why, "a background scan is running");
	policy_end(p, POLICY_SCAN);
	assert_int_equal(policy_begin(p, POLICY_DISCOVERY, why, sizeof(why)), POLICY_GO);
	for (int a = 0; a < POLICY_ACTIVITY_MAX; a++) {
		assert_int_equal(policy_begin(p, (enum policy_activity)a, why, sizeof(why)),
				 POLICY_BUSY);
		assert_string_equal(why, "an ECU discovery is running");
	}
	policy_end(p, POLICY_DISCOVERY);
	assert_int_equal(policy_begin(p, POLICY_CLIENT, why, sizeof(why)), POLICY_GO);
	/* no bus module here: detached */
	assert_int_equal(policy_begin(p, POLICY_IDENTIFY, why, sizeof(why)), POLICY_DETACHED);
	assert_string_equal(policy_activity_name(POLICY_DISCOVERY), "discovery");
	assert_string_equal(policy_activity_name(POLICY_IDENTIFY), "identify");
	core_free(&t.c);
}

/* Waiting for an activity's end: woken from the loop after the last policy_end() of it,
 * never inside it; at once when it is not running; a cancelled waiter never runs; a
 * waiter may queue itself again from its callback. */
struct waiter_probe {
	struct policy_waiter w;
	struct policy *p;
	int runs;
	bool requeue;
	bool scan_running_in_fn; /* what the waiter saw when it ran */
};

static void on_probe(struct policy_waiter *w)
{
	struct waiter_probe *pr = container_of(w, struct waiter_probe, w);
	pr->runs++;
	pr->scan_running_in_fn = policy_running(pr->p, POLICY_SCAN);
	assert_false(policy_waiting(w));
	if (pr->requeue) {
		pr->requeue = false;
		policy_wait_end(pr->p, POLICY_SCAN, w);
	}
}

static void waiters(void **state)
{
	struct rt t;
	struct policy *p;
	struct waiter_probe a = {0}, b = {0}, gone = {0};
	char why[192];

	rt_start(&t, false);
	p = t.c.policy;
	a.p = b.p = gone.p = p;
	policy_waiter_init(&a.w, on_probe);
	policy_waiter_init(&b.w, on_probe);
	policy_waiter_init(&gone.w, on_probe);
	assert_false(policy_waiting(&a.w));

	/* two scans at once (a client's and the background's): the second end wakes */
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
	policy_wait_end(p, POLICY_SCAN, &a.w);
	policy_wait_end(p, POLICY_SCAN, &gone.w);
	assert_true(policy_waiting(&a.w));
	policy_wait_cancel(&gone.w);
	fake_clock_advance(&t.fc, S);
	assert_int_equal(a.runs, 0); /* nothing ended: no polling, no wake */
	policy_end(p, POLICY_SCAN);
	fake_clock_advance(&t.fc, S);
	assert_int_equal(a.runs, 0);
	policy_end(p, POLICY_SCAN);
	assert_int_equal(a.runs, 0); /* not inside policy_end */
	fake_clock_advance(&t.fc, 0);
	assert_int_equal(a.runs, 1);
	assert_false(a.scan_running_in_fn);
	assert_int_equal(gone.runs, 0);

	/* not running: woken at the next turn; a requeue in the callback is honoured */
	a.requeue = true;
	policy_wait_end(p, POLICY_SCAN, &a.w);
	fake_clock_advance(&t.fc, 0);
	assert_int_equal(a.runs, 3); /* woken, queued again, woken again (not running) */
	assert_false(policy_waiting(&a.w));

	/* a waiter for another activity stays while the scan ends */
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
	assert_int_equal(policy_begin(p, POLICY_GUIDED_TEST, why, sizeof(why)), POLICY_GO);
	policy_wait_end(p, POLICY_SCAN, &a.w);
	policy_wait_end(p, POLICY_GUIDED_TEST, &b.w);
	policy_end(p, POLICY_SCAN);
	fake_clock_advance(&t.fc, S);
	assert_int_equal(a.runs, 4);
	assert_int_equal(b.runs, 0);
	assert_true(policy_waiting(&b.w));
	policy_end(p, POLICY_GUIDED_TEST);
	fake_clock_advance(&t.fc, S);
	assert_int_equal(b.runs, 1);

	/* one still queued when the policy goes: unlinked, cancel harmless afterwards */
	assert_int_equal(policy_begin(p, POLICY_SCAN, why, sizeof(why)), POLICY_GO);
	policy_wait_end(p, POLICY_SCAN, &gone.w);
	core_free(&t.c);
	assert_false(policy_waiting(&gone.w));
	policy_wait_cancel(&gone.w);
	assert_int_equal(gone.runs, 0);
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
		cmocka_unit_test(listen_only_and_busy),
		cmocka_unit_test(interlocks),
		cmocka_unit_test(functional_requests),
		cmocka_unit_test(actuator_conditions),
		cmocka_unit_test(awake_and_battery),
		cmocka_unit_test(listen_only_refuses),
		cmocka_unit_test(listen_only_hard_and_the_gate),
		cmocka_unit_test(discovery_and_identify),
		cmocka_unit_test(waiters),
		cmocka_unit_test(roles_from_profile),
		cmocka_unit_test(no_speed_role),
		cmocka_unit_test(signals_override),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
