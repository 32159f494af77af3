/* SPDX-License-Identifier: MIT */
/*
 * The daemon and the controller's own listen-only mode on the bench: bodydiagd on can0,
 * bodydiag-sim on can1, a capture on can2 (the third controller on the bus), can0's
 * ctrlmode read from outside through netlink.
 *
 *   hard      [can] listen_only = hard: can0 in listen-only mode once the daemon runs;
 *             every transmitting method (and the CLI) refused with the reason before
 *             anything is sent: can0's tx and tx_dropped counters unchanged, no frame on
 *             a diagnostic request id on can2
 *   idle      the default: can0 in listen-only mode while the daemon only listens, out of
 *             it for a dtc.read (which works), back [can] idle_after later, and none of it
 *             an outage in status or the history
 *   auto      [can] bitrate = auto with can0 left at 125k: detection with can0 in
 *             listen-only mode throughout (polled from outside), nothing sent meanwhile,
 *             the bitrate found (the profile's 500k, tried first) applied and reported by
 *             status, then a dtc.read through it. The bench has no bit timing (QEMU's bus
 *             passes frames between controllers at any bitrate: test-detect.c shows it),
 *             so a wrong bitrate cannot be rejected here; tests/unit/test-bitrate-detect.c
 *             proves that with modelled error frames.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>

#include "bodydiag/linux/can_link.h"
#include "itest-daemon.h"
#include "itest-cli.h"

#define DMN_CONF "/tmp/itest-ctl.conf"
#define DMN_SOCK "/tmp/itest-ctl.sock"
#define DMN_LOG "/tmp/itest-ctl-daemon.log"
#define DMN_DB "/tmp/itest-ctl.db"
#define SIM_CTL "/tmp/itest-ctl-sim.sock"
#define SIM_LOG "/tmp/itest-ctl-sim.log"


/* After each case, also a failed one: no daemon or simulator left on the bus for the next. */
static int after_each(void **state)
{
	itd_kill_children();
	itc_put_back();
	return 0;
}

static bool can0_listen_only(void)
{
	uint32_t mode = 0;

	assert_int_equal(can_link_get_ctrlmode(ITEST_CAN0, &mode), 0);
	return mode & CAN_LINK_CTRLMODE_LISTENONLY;
}

/* can0's listen-only mode becomes on, within 10 s (a daemon starting under ASan and TCG,
 * beside other guests on the host, may take seconds to attach). */
static bool can0_listen_only_soon(bool on)
{
	for (int i = 0; i < 1000 && can0_listen_only() != on; i++)
		usleep(10000);
	return can0_listen_only() == on;
}

/* The daemon with extra config lines and the rules; the API connection. */
static int start(const char *extra, pid_t *pid)
{
	char more[512], rules[1100];

	unlink(DMN_DB);
	unlink(DMN_DB "-wal");
	unlink(DMN_DB "-shm");
	itd_path(more, sizeof(more), "BODYDIAG_SOURCE_ROOT", "rules/trunk.rules");
	snprintf(rules, sizeof(rules), "rules = %s\n", more);
	snprintf(more, sizeof(more), "[history]\npath = %s\n%s", DMN_DB, extra);
	itd_write_conf_level(DMN_CONF, DMN_SOCK, "debug", rules, NULL, more);
	return itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, pid);
}

/* Frames on the diagnostic request ids the daemon would use (BCM, OBD, functional). */
static unsigned requests_seen(int cap)
{
	struct bd_timed_frame tf;
	unsigned n = 0;

	while (can_raw_recv(cap, &tf, NULL, NULL) > 0)
		if (!(tf.frame.flags & BD_FRAME_ERR) &&
		    (tf.frame.id == 0x726 || tf.frame.id == 0x7E0 || tf.frame.id == 0x7DF))
			n++;
	return n;
}

static void refused(struct itd_client *api, const char *method, json_t *params)
{
	json_t *r = itd_call_or_fail(api, method, params, 15000);
	const char *msg =
	    json_string_value(json_object_get(json_object_get(r, "error"), "message"));

	if (!msg || !strstr(msg, "listen_only = hard") || !strstr(msg, "nothing was sent")) {
		itd_print_json(method, r);
		fail_msg("%s was not refused as listen-only", method);
	}
	print_message("# %s: %s: %s\n", method, itd_error(r), msg);
	json_decref(r);
}

static void hard_refuses_before_sending(void **state)
{
	struct itd_client api = {.fd = -1};
	pid_t daemon = -1, sim;
	struct itc_run r;
	int cap;

	sim = itc_start_sim(itc_profile, SIM_CTL, SIM_LOG);
	cap = itc_capture(ITEST_CAN2);
	api.fd = start("[can]\nlisten_only = hard\n", &daemon);
	assert_true(can0_listen_only_soon(true));
	unsigned long long tx0 = itc_stat(ITEST_CAN0, "tx_packets");
	unsigned long long drop0 = itc_stat(ITEST_CAN0, "tx_dropped");

	refused(&api, "dtc.read", NULL);
	refused(&api, "did.read", json_pack("{s:s}", "did", "TrunkOutputCircuitStatus"));
	refused(&api, "dtc.clear", NULL);
	refused(&api, "actuator.test", NULL);
	refused(&api, "obd.request", json_pack("{s:i,s:i}", "mode", 1, "pid", 0x0D));
	refused(&api, "diagnose", NULL);
	refused(&api, "discover", NULL);
	const char *argv[] = {itc_bodydiag, "dtc", "--socket", DMN_SOCK, NULL};
	itc_run(argv, 30, &r);
	itc_show("bodydiag dtc, hard", &r);
	assert_true(r.status != 0);
	assert_non_null(strstr(r.err, "listen_only = hard"));
	const char *disc[] = {itc_bodydiag, "discover", "--socket", DMN_SOCK, NULL};
	itc_run(disc, 30, &r);
	itc_show("bodydiag discover, hard", &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "listen_only = hard"));
	assert_non_null(strstr(r.err, "nothing was sent"));
	usleep(300000);

	assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_dropped"), drop0);
	assert_int_equal(requests_seen(cap), 0);
	assert_true(can0_listen_only());
	json_t *st = itd_call_or_fail(&api, "status", NULL, 5000);
	json_t *ctl = json_object_get(json_object_get(st, "result"), "controller");
	itd_print_json("controller", ctl);
	assert_string_equal(json_string_value(json_object_get(ctl, "mode")), "always");
	assert_true(json_is_true(json_object_get(ctl, "listen_only")));
	json_decref(st);
	print_message("# hard: 9 transmitting calls refused, can0 sent 0 frames (tx %llu, dropped "
		      "%llu unchanged), listen-only throughout\n",
		      tx0, drop0);
	close(api.fd);
	close(cap);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);
	/* hard leaves the controller in listen-only mode: the safe way */
	assert_true(can0_listen_only());
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
	itc_put_back();
}

static void idle_listen_only_by_default(void **state)
{
	struct itd_client api = {.fd = -1};
	pid_t daemon = -1, sim;
	json_t *j, *res;
	int64_t t0;

	sim = itc_start_sim(itc_profile, SIM_CTL, SIM_LOG);
	api.fd = start("[can]\nidle_after = 1s\n", &daemon);
	assert_true(can0_listen_only_soon(true));

	j = itd_call_or_fail(&api, "dtc.read", json_pack("{s:s}", "ecu", "bcm"), 15000);
	res = json_object_get(j, "result");
	if (!res) {
		itd_print_json("dtc.read", j);
		itd_dump(DMN_LOG);
		print_message("# can0 tx %llu dropped %llu errors %llu, listen-only %d\n",
			      itc_stat(ITEST_CAN0, "tx_packets"),
			      itc_stat(ITEST_CAN0, "tx_dropped"), itc_stat(ITEST_CAN0, "tx_errors"),
			      can0_listen_only());
	}
	assert_non_null(res);
	json_decref(j);
	assert_false(can0_listen_only());
	t0 = itd_mono_us();
	while (!can0_listen_only() && itd_mono_us() - t0 < 5000000)
		usleep(20000);
	print_message("# idle: listen-only at start, out of it for dtc.read, back %.2f s after\n",
		      (double)(itd_mono_us() - t0) / 1e6);
	assert_true(can0_listen_only());
	/* a second read takes it out again, and works */
	j = itd_call_or_fail(&api, "did.read", json_pack("{s:s}", "did", "TrunkFuseVoltage"),
			     15000);
	assert_non_null(json_object_get(j, "result"));
	json_decref(j);

	/* none of those switches is an outage */
	j = itd_call_or_fail(&api, "status", NULL, 5000);
	res = json_object_get(j, "result");
	assert_int_equal(json_integer_value(json_object_get(res, "outages")), 0);
	assert_true(json_is_true(json_object_get(res, "attached")));
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(res, "controller"), "mode")), "idle");
	json_decref(j);
	j = itd_call_or_fail(&api, "history", json_pack("{s:s}", "kind", "bus"), 5000);
	itd_print_json("bus events", json_object_get(j, "result"));
	size_t i;
	json_t *row;
	json_array_foreach(json_object_get(json_object_get(j, "result"), "records"), i, row)
	    assert_null(strstr(json_string_value(json_object_get(row, "event")), "adapter"));
	json_decref(j);
	close(api.fd);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);
	/* the daemon puts the controller back as it found it */
	assert_false(can0_listen_only());
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
}

/* can0 polled from outside, every millisecond in a thread of its own, from the first
 * moment it is seen in listen-only mode (the detection began) until the test stops it. */
struct watch {
	unsigned all, polls, normal_polls;
	bool started;
	atomic_bool stop;
	pthread_t thread;
};

static void *watch_run(void *arg)
{
	struct watch *w = arg;
	struct can_link_info info;

	while (!atomic_load(&w->stop)) {
		w->all++;
		if (can_link_get_info(ITEST_CAN0, &info) == 0 &&
		    info.state != CAN_LINK_STATE_STOPPED) {
			if (info.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY)
				w->started = true;
			if (w->started) {
				w->polls++;
				if (!(info.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY))
					w->normal_polls++;
			}
		}
		usleep(1000);
	}
	return NULL;
}

static void bitrate_auto(void **state)
{
	struct itd_client api = {.fd = -1};
	static struct watch w;
	struct can_link_info info;
	pid_t daemon = -1, sim;
	json_t *j = NULL, *det = NULL;
	int cap;

	sim = itc_start_sim(itc_profile, SIM_CTL, SIM_LOG);
	assert_int_equal(
	    can_link_set_mode(ITEST_CAN0, 125000, CAN_LINK_CTRLMODE_LISTENONLY, 0, true), 0);
	cap = itc_capture(ITEST_CAN2);
	/* the car talks before the daemon listens: a slow emulator may take a while to start
	 * the simulator's broadcast, and a silent 500k would be left for the next bitrate */
	struct itc_count c;
	unsigned heard = 0;
	for (int i = 0; i < 100 && heard < 4; i++)
		if (itest_wait_readable(cap, 100)) {
			itc_read(cap, &c);
			heard += c.frames;
		}
	assert_true(heard >= 4);
	unsigned long long tx0 = itc_stat(ITEST_CAN0, "tx_packets");
	atomic_store(&w.stop, false);
	assert_int_equal(pthread_create(&w.thread, NULL, watch_run, &w), 0);
	api.fd = start("[can]\nbitrate = auto\n", &daemon);
	int64_t t0 = itd_mono_us();
	for (;;) {
		usleep(50000);
		json_decref(j);
		j = itd_call(&api, "status", NULL, 5000);
		if (!j) {
			itd_dump(DMN_LOG);
			fail_msg("no reply to status");
		}
		det = json_object_get(json_object_get(json_object_get(j, "result"), "controller"),
				      "detection");
		const char *s = json_string_value(json_object_get(det, "state"));
		if (s && strcmp(s, "running") && strcmp(s, "off"))
			break;
		if (itd_mono_us() - t0 > 30000000) {
			itd_print_json("status", j);
			fail_msg("no detection result within 30 s");
		}
	}
	atomic_store(&w.stop, true);
	pthread_join(w.thread, NULL);
	itd_print_json("detection", det);
	if (json_integer_value(json_object_get(det, "bitrate")) != 500000)
		itd_dump(DMN_LOG);
	assert_string_equal(json_string_value(json_object_get(det, "state")), "found");
	assert_int_equal(json_integer_value(json_object_get(det, "bitrate")), 500000);
	assert_true(json_array_size(json_object_get(det, "results")) >= 1);
	json_decref(j);
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.bitrate, 500000);
	assert_true(info.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY);
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);
	assert_int_equal(requests_seen(cap), 0);
	print_message("# auto: 125k -> 500k in %.2f s, can0 listen-only in %u of %u polls (of %u), "
		      "nothing sent\n",
		      (double)(itd_mono_us() - t0) / 1e6, w.polls - w.normal_polls, w.polls, w.all);
	assert_true(w.started);
	assert_int_equal(w.normal_polls, 0);

	j = itd_call_or_fail(&api, "dtc.read", json_pack("{s:s}", "ecu", "bcm"), 15000);
	if (!json_object_get(j, "result")) {
		itd_print_json("dtc.read", j);
		itd_dump(DMN_LOG);
	}
	assert_non_null(json_object_get(j, "result"));
	json_decref(j);
	close(api.fd);
	close(cap);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
	itc_put_back();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(hard_refuses_before_sending, after_each),
	    cmocka_unit_test_teardown(idle_listen_only_by_default, after_each),
	    cmocka_unit_test_teardown(bitrate_auto, after_each),
	};
	return cmocka_run_group_tests(tests, itc_group_setup, itc_group_teardown);
}
