/* SPDX-License-Identifier: MIT */
/*
 * actuator.test on the VM bench: the bodydiagd binary on can0, bodydiag-sim on can1, a
 * capture of the tester's requests (0x726) on can1, the API as a root (admin) client.
 *
 *   healthy        commanded, current flowed, latch released; 0x2F 0x03 then 0x2F 0x00
 *                  and 0x10 0x01 on the bus
 *   rate limit     a second test within 5 s: rate_limited, nothing sent
 *   fuse_blown     commanded, no current
 *   speed 30 km/h  refused by the daemon: nothing at all on 0x726
 *   gear D         refused by the daemon ("not in park")
 *   client killed  a client process killed 300 ms into a 3 s test: ReturnControlToECU
 *                  still on the bus, long before the window would have ended
 *   lockout        the ECU refuses the 0x2F (NRC 0x22 after a short): a result with the
 *                  NRC, and ReturnControlToECU and 0x10 0x01 still sent
 *   SIGHUP, SIGTERM  mid-test: ReturnControlToECU and 0x10 0x01 still sent (through the
 *                  new broker; before the daemon exits, which it does cleanly)
 *
 * Paths: BODYDIAG_BUILD_ROOT and BODYDIAG_SOURCE_ROOT (meson test sets them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/linux/can_raw.h"
#include "itest-daemon.h"

#define DMN_SOCK "/tmp/bd-act-api.sock"
#define DMN_CONF "/tmp/bd-act.conf"
#define DMN_LOG "/tmp/bd-act-daemon.log"
#define SIM_SOCK "/tmp/bd-act-sim.sock"
#define SIM_LOG "/tmp/bd-act-sim.log"
#define BCM_REQ 0x726

static pid_t daemon_pid = -1, sim_pid = -1;
static int sim_ctl = -1, cap_fd = -1;
static struct itd_client api = {.fd = -1};

static json_t *api_call(const char *method, json_t *params)
{
	return itd_call_or_fail(&api, method, params, 15000);
}

static void sim_cmd(const char *cmd)
{
	itd_sim_cmd(sim_ctl, cmd);
}

/* What the capture on can1 saw of the tester's requests since the last call. */
struct seen {
	int frames;
	int io_on, io_return, session_ext, session_default;
	int64_t io_return_us; /* monotonic, of the first ReturnControlToECU */
};

static void drain(struct seen *s)
{
	struct bd_timed_frame f;

	while (can_raw_recv(cap_fd, &f, NULL, NULL) == 1) {
		const uint8_t *d = f.frame.data;
		if (f.frame.id != BCM_REQ || f.frame.len < 3)
			continue;
		s->frames++;
		if (d[0] == 0x05 && d[1] == 0x2f && d[4] == 0x03)
			s->io_on++;
		else if (d[0] == 0x04 && d[1] == 0x2f && d[4] == 0x00) {
			if (!s->io_return)
				s->io_return_us = itd_mono_us();
			s->io_return++;
		} else if (d[0] == 0x02 && d[1] == 0x10 && d[2] == 0x03)
			s->session_ext++;
		else if (d[0] == 0x02 && d[1] == 0x10 && d[2] == 0x01)
			s->session_default++;
	}
}

/* Watches the capture for ms. */
static void watch(struct seen *s, int ms)
{
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;

	while (itd_mono_us() < end) {
		if (itest_wait_readable(cap_fd, 20))
			drain(s);
	}
	drain(s);
}

/* actuator.test; while the daemon's one-per-5-s limit says so (its clock: it may have
 * started the last test well after we asked, under TCG), again every 250 ms. */
static json_t *call_retry(json_t *params)
{
	json_t *r;

	for (int i = 0;; i++) {
		const char *code;
		r = api_call("actuator.test", json_incref(params));
		code = json_string_value(json_object_get(json_object_get(r, "error"), "code"));
		if (!code || strcmp(code, "rate_limited") != 0 || i == 40)
			break;
		json_decref(r);
		usleep(250000);
	}
	json_decref(params);
	return r;
}

/*
 * Starts actuator.test on api.fd without waiting for its end (retrying while rate
 * limited) and watches the capture until its 0x2F 0x03 is on the bus. Returns its id.
 */
static int start_async(int duration_ms, struct seen *s)
{
	for (int i = 0; i < 40; i++) {
		json_t *j = NULL;
		int id;

		drain(&(struct seen){0});
		*s = (struct seen){0};
		id = itd_send(&api, "actuator.test", json_pack("{s:i}", "duration_ms", duration_ms));
		assert_true(id >= 0);
		for (int k = 0; k < 50 && !s->io_on; k++)
			watch(s, 20);
		if (s->io_on)
			return id;
		j = itd_read(&api, 100);
		itd_print_json("not started", j);
		json_decref(j);
		usleep(250000);
	}
	fail_msg("actuator.test did not start");
	return -1;
}

static json_t *actuator_call(int duration_ms, struct seen *s)
{
	json_t *r, *res;

	*s = (struct seen){0};
	drain(&(struct seen){0});
	r = call_retry(json_pack("{s:s,s:i}", "ecu", "bcm", "duration_ms", duration_ms));
	watch(s, 300); /* the last requests' frames */
	res = json_object_get(r, "result");
	if (!res) {
		itd_print_json("actuator.test", r);
		itd_dump(DMN_LOG);
		fail();
	}
	itd_print_json("actuator.test", res);
	json_incref(res);
	json_decref(r);
	print_message("bus: %d request frames, 0x10 03 x%d, 0x2F 03 x%d, 0x2F 00 x%d, 0x10 01 x%d\n",
		      s->frames, s->session_ext, s->io_on, s->io_return, s->session_default);
	return res;
}

static void actuator_on_the_bench(void **state)
{
	char sim[1024];
	const char *sargv[] = {sim, "--iface", ITEST_CAN1, "--control", SIM_SOCK, "--no-stdin",
			       "--seed", "11", NULL};
	const struct can_raw_filter flt = {.id = BCM_REQ, .mask = 0x7ff};
	struct seen s;
	json_t *res, *r;
	pid_t client;

	(void)state;
	itd_path(sim, sizeof(sim), "BODYDIAG_BUILD_ROOT", "tools/bodydiag-sim/bodydiag-sim");
	itd_write_conf_level(DMN_CONF, DMN_SOCK, "debug", NULL, NULL, NULL);

	assert_int_equal(can_raw_open(ITEST_CAN1, &flt, 1, 0, &cap_fd), 0);
	unlink(SIM_SOCK);
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon_pid);
	sim_pid = itd_spawn(sargv, SIM_LOG);
	sim_ctl = itd_connect_wait(SIM_SOCK, sim_pid, SIM_LOG);
	usleep(1500000); /* the daemon hears VehicleSpeed = 0 */

	/* 1. Healthy: the whole loop. */
	res = actuator_call(500, &s);
	assert_true(json_is_true(json_object_get(res, "accepted")));
	assert_true(json_is_true(json_object_get(res, "commanded")));
	assert_true(json_is_true(json_object_get(res, "current_flowed")));
	assert_true(json_real_value(json_object_get(res, "peak_current")) > 5.0);
	assert_true(json_is_true(json_object_get(res, "latch_released")));
	assert_string_equal(json_string_value(json_object_get(res, "verdict")), "released");
	assert_true(json_is_null(json_object_get(res, "nrc")));
	assert_int_equal(json_array_size(json_object_get(res, "steps")), 4);
	json_decref(res);
	assert_int_equal(s.session_ext, 1);
	assert_int_equal(s.io_on, 1);
	assert_int_equal(s.io_return, 1);
	assert_int_equal(s.session_default, 1);

	/* 2. Rate limit: at once again, refused, nothing sent. */
	r = api_call("actuator.test", NULL);
	itd_print_json("second test at once", r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
			    "rate_limited");
	json_decref(r);
	sim_cmd("close_lid");

	/* 3. Blown fuse: commanded, no current. */
	sim_cmd("fault add fuse_blown");
	res = actuator_call(500, &s);
	assert_true(json_is_true(json_object_get(res, "commanded")));
	assert_false(json_is_true(json_object_get(res, "current_flowed")));
	assert_false(json_is_true(json_object_get(res, "latch_released")));
	assert_string_equal(json_string_value(json_object_get(res, "verdict")), "no_current");
	json_decref(res);
	assert_int_equal(s.io_on, 1);
	assert_int_equal(s.io_return, 1);
	sim_cmd("fault clear");

	/* 4. At speed: the daemon refuses, the bus stays silent. */
	sim_cmd("set speed 30");
	usleep(200000); /* a VehicleState frame with the speed */
	s = (struct seen){0};
	drain(&s);
	s = (struct seen){0};
	r = call_retry(json_object());
	watch(&s, 500);
	itd_print_json("at 30 km/h", r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(r, "error"), "code")),
			    "unavailable");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
								 "message")),
			       "not stationary"));
	json_decref(r);
	print_message("at speed: %d request frames on 0x726 (0x2F: %d)\n", s.frames, s.io_on);
	assert_int_equal(s.frames, 0);
	sim_cmd("set speed 0");
	sim_cmd("set gear D");
	usleep(200000);
	r = call_retry(json_object());
	itd_print_json("in D", r);
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
								 "message")),
			       "not in park"));
	json_decref(r);
	sim_cmd("set gear P");
	usleep(300000);

	/* 5. The client killed 300 ms into a 3 s test: control still returned. */
	client = fork();
	assert_true(client >= 0);
	if (client == 0) {
		static struct itd_client c;

		c.fd = itd_connect_wait(DMN_SOCK, -1, DMN_LOG);
		assert_int_equal(itd_send(&c, "actuator.test",
					  json_pack("{s:i}", "duration_ms", 3000)),
				 1);
		pause();
		_exit(0);
	}
	s = (struct seen){0};
	drain(&s);
	s = (struct seen){0};
	watch(&s, 300);
	assert_int_equal(s.io_on, 1); /* it did start */
	{
		int64_t killed = itd_mono_us();
		int st;

		kill(client, SIGKILL);
		waitpid(client, &st, 0);
		watch(&s, 1000);
		print_message("client killed: 0x2F 00 x%d, %.0f ms after the kill; 0x10 01 x%d\n",
			      s.io_return, s.io_return ? (double)(s.io_return_us - killed) / 1e3 : -1.0,
			      s.session_default);
		assert_int_equal(s.io_return, 1);
		assert_true(s.io_return_us - killed < 1000000); /* not the 3 s window's end */
		assert_int_equal(s.session_default, 1);
	}
	/* 6. The ECU refuses (output lockout after a short): NRC 0x22 as data, and control
	 * is still returned. */
	sim_cmd("fault add hinge_wiring_short");
	sim_cmd("press fob_trunk");
	usleep(500000);
	res = actuator_call(500, &s);
	assert_false(json_is_true(json_object_get(res, "accepted")));
	assert_string_equal(json_string_value(json_object_get(res, "verdict")), "refused");
	assert_int_equal(json_integer_value(json_object_get(res, "nrc")), 0x22);
	json_decref(res);
	assert_int_equal(s.io_on, 1);
	assert_int_equal(s.io_return, 1);
	assert_int_equal(s.session_default, 1);

	/* A fresh simulator: the lockout would refuse everything below. */
	close(sim_ctl);
	itd_stop(&sim_pid, SIM_LOG);
	unlink(SIM_SOCK);
	sim_pid = itd_spawn(sargv, SIM_LOG);
	sim_ctl = itd_connect_wait(SIM_SOCK, sim_pid, SIM_LOG);
	usleep(1500000);

	/* 7. SIGHUP mid-test: the client is told, control still returned (new broker). */
	{
		int id = start_async(3000, &s);
		int64_t t = itd_mono_us();

		kill(daemon_pid, SIGHUP);
		watch(&s, 1000);
		print_message("reload mid-test: 0x2F 00 x%d, %.0f ms after SIGHUP; 0x10 01 x%d\n",
			      s.io_return, s.io_return ? (double)(s.io_return_us - t) / 1e3 : -1.0,
			      s.session_default);
		assert_int_equal(s.io_return, 1);
		assert_int_equal(s.session_default, 1);
		for (;;) {
			r = itd_read(&api, 2000);
			assert_non_null(r);
			if (json_integer_value(json_object_get(r, "id")) == id)
				break;
			json_decref(r);
		}
		itd_print_json("reload mid-test", r);
		assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
									 "message")),
				       "reloaded"));
		json_decref(r);
	}

	/* 8. SIGTERM mid-test: control returned before the daemon exits, cleanly. */
	{
		int64_t t;

		(void)start_async(3000, &s);
		t = itd_mono_us();
		kill(daemon_pid, SIGTERM);
		watch(&s, 1500);
		print_message("stop mid-test: 0x2F 00 x%d, %.0f ms after SIGTERM; 0x10 01 x%d\n",
			      s.io_return, s.io_return ? (double)(s.io_return_us - t) / 1e3 : -1.0,
			      s.session_default);
		assert_int_equal(s.io_return, 1);
		assert_int_equal(s.session_default, 1);
	}

	close(api.fd);
	api.fd = -1;
	close(sim_ctl);
	sim_ctl = -1;
	close(cap_fd);
	cap_fd = -1;
	itd_stop(&sim_pid, SIM_LOG);
	assert_int_equal(itd_stop(&daemon_pid, DMN_LOG), 0);
}

static int teardown(void **state)
{
	(void)state;
	if (sim_pid > 0)
		itd_stop(&sim_pid, SIM_LOG);
	if (daemon_pid > 0)
		itd_stop(&daemon_pid, DMN_LOG);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(actuator_on_the_bench, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
