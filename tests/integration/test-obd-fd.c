/* SPDX-License-Identifier: MIT */
/*
 * Two API features of the bodydiagd binary on a real kernel CAN stack (issue 17):
 *
 *  - `obd.request`: functional OBD requests (0x7DF) answered by bodydiag-sim's OBD ECU on
 *    can1: a mode 01 PID decoded and scaled, mode 09 PID 02 (the VIN, a multi-frame answer
 *    to a single-frame functional request), a mode the ECU does not support (silence,
 *    listed as such), the policy's rate limit between two requests.
 *  - `[can] fd = yes` on vcan0 (MTU 72): a CAN FD frame of a DBC message reaches the
 *    router, the decoder and a live subscriber; with the default (fd = no) the kernel does
 *    not deliver it at all, while a classic frame still is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/linux/can_raw.h"
#include "itest-daemon.h"

#define SOCK "/tmp/bd-obd-fd.sock"
#define CONF "/tmp/bd-obd-fd.conf"
#define LOG "/tmp/bd-obd-fd.log"
#define SIM_SOCK "/tmp/bd-obd-fd-sim.sock"
#define SIM_LOG "/tmp/bd-obd-fd-sim.log"

static struct itd_client api = {.fd = -1};
static pid_t daemon_pid = -1, sim_pid = -1;

static json_t *call(const char *method, json_t *params)
{
	return itd_call_or_fail(&api, method, params, 15000);
}

/* The answer of ECU ecu in an obd.request result, or NULL. */
static json_t *answer_of(json_t *res, const char *ecu)
{
	size_t i;
	json_t *a;

	json_array_foreach(json_object_get(res, "answers"), i, a)
		if (!strcmp(json_string_value(json_object_get(a, "ecu")), ecu))
			return a;
	return NULL;
}

static void obd_functional(void **state)
{
	json_t *r, *res, *a, *pid;
	const char *code;
	size_t i;
	int n13 = 0;

	itd_conf_iface = NULL;
	/* The rate limit below is timed from the first request's start; the controller left
	 * as it is, so that its switch out of listen-only mode (test-controller.c) does not
	 * eat into those 0.5 s under a slow emulator. */
	itd_write_conf(CONF, SOCK, NULL, NULL, "[can]\nidle_listen_only = no\n");
	sim_pid = itd_start_sim(NULL, SIM_SOCK, SIM_LOG);
	api.fd = itd_start_daemon(CONF, SOCK, LOG, &daemon_pid);

	/* mode 01: vehicle speed (0x0D; the simulator answers one PID per request) */
	r = call("obd.request", json_pack("{s:i,s:[i]}", "mode", 1, "pids", 0x0d));
	res = json_object_get(r, "result");
	itd_print_json("obd.request 01 0d", r);
	assert_non_null(res);
	assert_string_equal(json_string_value(json_object_get(res, "request")), "010d");
	a = answer_of(res, "obd");
	assert_non_null(a);
	json_array_foreach(json_object_get(a, "pids"), i, pid)
		if (json_integer_value(json_object_get(pid, "pid")) == 0x0d) {
			n13++;
			assert_true(json_real_value(json_object_get(pid, "value")) == 0.0);
			assert_string_equal(json_string_value(json_object_get(pid, "unit")), "km/h");
		}
	assert_int_equal(n13, 1);
	json_decref(r);

	/* right after: the policy's rate limit (one functional request per 0.5 s) */
	r = call("obd.request", json_pack("{s:i,s:i}", "mode", 1, "pid", 0x0d));
	code = itd_error(r);
	itd_print_json("obd.request at once again", r);
	assert_non_null(code);
	assert_string_equal(code, "rate_limited");
	json_decref(r);
	usleep(600000);

	/* mode 09 PID 02: the VIN, a multi-frame answer to a single-frame request */
	r = call("obd.request", json_pack("{s:s,s:s}", "mode", "0x09", "pid", "0x02"));
	res = json_object_get(r, "result");
	itd_print_json("obd.request 09 02", r);
	assert_non_null(res);
	a = answer_of(res, "obd");
	assert_non_null(a);
	assert_string_equal(json_string_value(json_object_get(a, "vin")), "1BDSM2AT5TR000042");
	json_decref(r);
	usleep(600000);

	/* mode 03: the simulator does not support it and, functionally asked, stays silent */
	r = call("obd.request", json_pack("{s:i}", "mode", 3));
	res = json_object_get(r, "result");
	itd_print_json("obd.request 03", r);
	assert_non_null(res);
	assert_int_equal(json_array_size(json_object_get(res, "answers")), 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(res, "silent"), 0)),
			    "obd");
	json_decref(r);

	close(api.fd);
	api.fd = -1;
	assert_int_equal(itd_stop(&daemon_pid, LOG), 0);
	itd_stop(&sim_pid, SIM_LOG);
}

/* BCM_Power (0x3C0) with BcmSupplyVoltage = raw * 0.02 V in bits 0..9. */
static struct bd_frame power_frame(bool fd, unsigned raw)
{
	struct bd_frame f = {.id = 0x3c0, .len = fd ? 12 : 8, .flags = fd ? BD_FRAME_FD : 0};

	f.data[0] = (uint8_t)raw;
	f.data[1] = (uint8_t)(raw >> 8) & 0x03;
	return f;
}

/* Runs the daemon on vcan0 with [can] fd as given; sends an FD frame, then a classic one;
 * returns how many live events each produced. */
static void fd_round(bool fd, int *ret_fd_events, int *ret_classic_events)
{
	char extra[64];
	struct bd_frame f;
	json_t *r, *ev;
	int tx;

	snprintf(extra, sizeof(extra), "[history]\npath =\n[can]\nfd = %s\n", fd ? "yes" : "no");
	itd_conf_iface = ITEST_VCAN;
	/* the [can] section comes first in the helper's file: fd goes in a second one */
	itd_write_conf(CONF, SOCK, NULL, NULL, extra);
	api.fd = itd_start_daemon(CONF, SOCK, LOG, &daemon_pid);
	assert_int_equal(can_raw_open(ITEST_VCAN, NULL, 0, CAN_RAW_OPEN_FD, &tx), 0);
	r = call("live.subscribe", json_pack("{s:[s]}", "signals", "BcmSupplyVoltage"));
	assert_non_null(json_object_get(r, "result"));
	json_decref(r);

	for (int round = 0; round < 2; round++) {
		int *count = round == 0 ? ret_fd_events : ret_classic_events;
		int64_t end;

		*count = 0;
		f = power_frame(round == 0, round == 0 ? 620 : 600); /* 12.4 V, then 12.0 V */
		assert_int_equal(can_raw_send(tx, &f), 0);
		for (end = itd_mono_us() + 1500000; itd_mono_us() < end;) {
			ev = itd_read(&api, 300);
			if (!ev)
				continue;
			json_t *d = json_object_get(ev, "data");
			if (json_is_string(json_object_get(ev, "event")) &&
			    !strcmp(json_string_value(json_object_get(ev, "event")), "live")) {
				double v = json_real_value(json_object_get(d, "value"));
				print_message("fd = %s: %s frame -> BcmSupplyVoltage = %.2f V\n",
					      fd ? "yes" : "no", round == 0 ? "FD" : "classic", v);
				if ((round == 0 && v > 12.39 && v < 12.41) ||
				    (round == 1 && v > 11.99 && v < 12.01))
					(*count)++;
			}
			json_decref(ev);
		}
	}
	r = call("status", NULL);
	print_message("fd = %s: status frames %lld\n", fd ? "yes" : "no",
		      (long long)json_integer_value(
			      json_object_get(json_object_get(r, "result"), "frames")));
	json_decref(r);
	close(tx);
	close(api.fd);
	api.fd = -1;
	assert_int_equal(itd_stop(&daemon_pid, LOG), 0);
	itd_conf_iface = NULL;
}

static void can_fd_reception(void **state)
{
	int fd_events, classic_events;

	fd_round(true, &fd_events, &classic_events);
	assert_int_equal(fd_events, 1);
	assert_int_equal(classic_events, 1);
	fd_round(false, &fd_events, &classic_events);
	assert_int_equal(fd_events, 0);	     /* not delivered without CAN_RAW_FD_FRAMES */
	assert_int_equal(classic_events, 1); /* 12.0 V: the first value this subscriber sees */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(obd_functional),
		cmocka_unit_test(can_fd_reception),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
