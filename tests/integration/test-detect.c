/* SPDX-License-Identifier: MIT */
/*
 * `bodydiag detect` against the emulated SJA1000s: bodydiag-sim transmitting on can1, the
 * detecting node on can0, a capture on can2 (a third controller on the same bus).
 *
 * What the bench can and cannot show (measured, see bench_ignores_bit_timing): QEMU's
 * CAN bus has no bit timing, so frames pass between controllers at any bitrate and a wrong
 * bitrate never makes error frames here. Detection therefore finds whichever bitrate it
 * tries first while frames flow; that it tells a wrong bitrate from the right one is proved
 * by tests/unit/test-bitrate-detect.c (error frames as a real controller reports them).
 * Here: the controller really is listen-only while detecting (its ctrlmode read from
 * outside), it really moves through every bitrate (read back from outside), the detecting
 * node sends nothing (its tx counter, and no error frame and no foreign id on can2), the
 * per-bitrate report, and the controller put back as it was (or left at the bitrate found).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/linux/can_link.h"
#include "itest-daemon.h"
#include "itest-cli.h"

#define SIM_CTL "/tmp/itest-detect-sim.sock"
#define SIM_LOG "/tmp/itest-detect-sim.log"


/* What the controller did while a detect ran, polled from outside through netlink. */
struct watch {
	bool listen_only_seen;
	bool normal_mode_while_changed; /* not listen-only at a bitrate other than 500k */
	uint32_t rates[16];
	size_t n;
};

static void watch_once(void *userdata)
{
	struct watch *w = userdata;
	struct can_link_info info, again;
	/* can_link_get_info() asks for the state, the bitrate and the mode one after the
	 * other (libsocketcan): read across a change, it can pair the old bitrate with the
	 * new mode. A sample counts only when a second read agrees with it. */
	if (can_link_get_info(ITEST_CAN0, &info) < 0 || info.state == CAN_LINK_STATE_STOPPED ||
	    can_link_get_info(ITEST_CAN0, &again) < 0 || again.state != info.state ||
	    again.bitrate != info.bitrate || again.ctrlmode != info.ctrlmode)
		return;
	if (info.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY) {
		w->listen_only_seen = true;
		for (size_t i = 0; i < w->n; i++)
			if (w->rates[i] == info.bitrate)
				return;
		if (w->n < 16)
			w->rates[w->n++] = info.bitrate;
	} else if (info.bitrate != 500000) {
		w->normal_mode_while_changed = true;
	}
}

/* Runs detect as a child, watching can0 until it exits. */
static void detect_watched(const char *const *argv, struct itc_run *r, struct watch *w)
{
	memset(w, 0, sizeof(*w));
	itc_run_watched(argv, 60, r, watch_once, w);
}

static json_t *parse_json(const struct itc_run *r)
{
	json_error_t je;
	json_t *j = json_loads(r->out, 0, &je);
	if (!j) {
		itc_show("detect", r);
		fail_msg("not JSON: %s", je.text);
	}
	return j;
}

/* can0 after a detect that was not told to --apply: exactly as before. */
static void assert_put_back(uint32_t bitrate)
{
	struct can_link_info info;
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.bitrate, bitrate);
	assert_false(info.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY);
	assert_int_equal(info.state, CAN_LINK_STATE_ERROR_ACTIVE);
}

static void bench_ignores_bit_timing(void **state)
{
	/* The bench fact the other cases rest on: can0 at 125k listen-only receives what
	 * can1 at 500k sends. On real controllers it would see error frames instead. */
	int rx, tx;
	struct bd_timed_frame tf;
	const struct bd_frame f = {.id = 0x321, .len = 2, .data = {1, 2}};

	assert_int_equal(can_link_set_mode(ITEST_CAN0, 125000, CAN_LINK_CTRLMODE_LISTENONLY,
					   CAN_LINK_CTRLMODE_LISTENONLY, true),
			 0);
	rx = itc_capture(ITEST_CAN0);
	assert_int_equal(can_raw_open(ITEST_CAN1, NULL, 0, 0, &tx), 0);
	assert_int_equal(can_raw_send(tx, &f), 0);
	assert_true(itest_wait_readable(rx, 2000));
	assert_int_equal(can_raw_recv(rx, &tf, NULL, NULL), 1);
	assert_false(tf.frame.flags & BD_FRAME_ERR);
	assert_int_equal(tf.frame.id, 0x321);
	print_message("# bench: a 500k frame arrived at a 125k listen-only controller: QEMU's bus "
		      "has no bit timing, a wrong bitrate cannot be shown here\n");
	close(rx);
	close(tx);
	itc_put_back();
}

static void finds_the_bus_bitrate(void **state)
{
	static const uint32_t rates[] = {125000, 250000, 500000, 1000000};

	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		char list[64], arg_rate[16];
		struct itc_run r;
		struct watch w;
		struct itc_count c1, c2;

		/* the bus runs at rates[k]: the simulator's controller and the capture's */
		assert_int_equal(can_link_set_mode(ITEST_CAN1, rates[k], 0, 0, true), 0);
		assert_int_equal(can_link_set_mode(ITEST_CAN2, rates[k], 0, 0, true), 0);
		int cap2 = itc_capture(ITEST_CAN2), cap1 = itc_capture(ITEST_CAN1);
		pid_t sim = itc_start_sim(itc_profile, SIM_CTL, SIM_LOG);
		unsigned long long tx0 = itc_stat(ITEST_CAN0, "tx_packets");

		/* the bus's rate first, as a profile would give it; the rest after */
		snprintf(arg_rate, sizeof(arg_rate), "%u", rates[k]);
		snprintf(list, sizeof(list), "%s,500k,250k,125k,1M", arg_rate);
		const char *argv[] = {itc_bodydiag, "detect",	"--iface", ITEST_CAN0, "--bitrates",
				      list,	"--min-frames", "30",	   "--json",   NULL};
		detect_watched(argv, &r, &w);
		assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
		usleep(100000);
		itc_read(cap2, &c2);
		itc_read(cap1, &c1);
		close(cap1);
		close(cap2);

		itc_show("detect", &r);
		assert_int_equal(r.status, 0);
		json_t *j = parse_json(&r);
		assert_string_equal(json_string_value(json_object_get(j, "outcome")), "found");
		assert_int_equal(json_integer_value(json_object_get(j, "bitrate")), rates[k]);
		json_t *r0 = json_array_get(json_object_get(j, "results"), 0);
		assert_int_equal(json_integer_value(json_object_get(r0, "applied")), rates[k]);
		assert_int_equal(json_integer_value(json_object_get(r0, "frames")), 30);
		assert_int_equal(json_integer_value(json_object_get(r0, "error_frames")), 0);
		assert_true(json_is_true(json_object_get(j, "bus_error_reporting")));
		json_t *left = json_object_get(j, "left_at");
		assert_int_equal(json_integer_value(json_object_get(left, "bitrate")), 500000);
		assert_true(json_is_false(json_object_get(left, "listen_only")));
		json_decref(j);

		/* the detecting node sent nothing: no frame counted by its controller, no
		 * error frame on the bus, no id on can2 that the simulator did not send */
		assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);
		assert_int_equal(c2.errors, 0);
		assert_true(c2.frames > 30);
		for (unsigned id = 0; id < 2048; id++)
			if ((c2.ids[id / 8] >> (id % 8)) & 1)
				assert_true((c1.ids[id / 8] >> (id % 8)) & 1);
		assert_false(w.normal_mode_while_changed);
		assert_put_back(500000);
		print_message(
		    "# %u bit/s: found, can2 saw %u frames and %u error frames, can0 sent 0"
		    "%s\n",
		    rates[k], c2.frames, c2.errors,
		    w.listen_only_seen ? ", listen-only seen from outside" : "");
	}
	itc_put_back();
}

static void silent_bus_every_bitrate_listen_only(void **state)
{
	struct itc_run r;
	struct watch w;
	struct itc_count c2;
	int cap2 = itc_capture(ITEST_CAN2);
	unsigned long long tx0 = itc_stat(ITEST_CAN0, "tx_packets");
	const char *argv[] = {itc_bodydiag,	 "detect", "--iface", ITEST_CAN0,
			      "--dwell", "0.6",	   "--json",  NULL};
	static const uint32_t order[] = {500000, 250000, 125000, 83333, 33333, 1000000};

	detect_watched(argv, &r, &w);
	itc_show("detect (silent bus)", &r);
	assert_int_equal(r.status, 2);
	json_t *j = parse_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "outcome")),
			    "no traffic at any bitrate");
	json_t *res = json_object_get(j, "results");
	assert_int_equal(json_array_size(res), 6);
	for (size_t i = 0; i < 6; i++) {
		json_t *x = json_array_get(res, i);
		assert_int_equal(json_integer_value(json_object_get(x, "bitrate")), order[i]);
		/* read back from the kernel by detect: the controller took every bitrate */
		assert_int_equal(json_integer_value(json_object_get(x, "applied")), order[i]);
		assert_string_equal(json_string_value(json_object_get(x, "verdict")), "silent");
	}
	json_decref(j);
	/* and seen from outside: listen-only, at each bitrate in turn, never normal mode */
	assert_true(w.listen_only_seen);
	assert_false(w.normal_mode_while_changed);
	print_message("# seen from outside while listen-only: %zu bitrates\n", w.n);
	for (size_t i = 0; i < 6; i++) {
		bool seen = false;
		for (size_t k = 0; k < w.n; k++)
			seen = seen || w.rates[k] == order[i];
		if (!seen)
			fail_msg("can0 never seen listen-only at %u bit/s", order[i]);
	}
	itc_read(cap2, &c2);
	close(cap2);
	assert_int_equal(c2.frames, 0);
	assert_int_equal(c2.errors, 0);
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);
	assert_put_back(500000);
}

static void apply_leaves_the_bitrate_found(void **state)
{
	struct itc_run r;
	struct can_link_info info;

	assert_int_equal(can_link_set_mode(ITEST_CAN1, 250000, 0, 0, true), 0);
	pid_t sim = itc_start_sim(itc_profile, SIM_CTL, SIM_LOG);
	const char *argv[] = {itc_bodydiag,	    "detect", "--iface", ITEST_CAN0,
			      "--bitrates", "250k",   "--apply", NULL};
	itc_run(argv, 60, &r);
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
	itc_show("detect --apply", &r);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "found: 250k; can0 left at 250k, normal mode, up (--apply"));
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.bitrate, 250000);
	assert_false(info.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY);
	itc_put_back();
}

static void refuses_what_it_cannot_do(void **state)
{
	struct itc_run r;
	const char *vcan[] = {itc_bodydiag, "detect", "--iface", ITEST_VCAN, NULL};
	const char *none[] = {itc_bodydiag, "detect", "--iface", "nosuchcan7", NULL};
	const char *bad[] = {itc_bodydiag, "detect", "--iface", ITEST_CAN0, "--bitrates", "fast", NULL};

	itc_run(vcan, 30, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "no bit timing"));
	itc_run(none, 30, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "nosuchcan7"));
	itc_run(bad, 30, &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "--bitrates fast"));
	assert_put_back(500000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(bench_ignores_bit_timing),
	    cmocka_unit_test(finds_the_bus_bitrate),
	    cmocka_unit_test(silent_bus_every_bitrate_listen_only),
	    cmocka_unit_test(apply_leaves_the_bitrate_found),
	    cmocka_unit_test(refuses_what_it_cannot_do),
	};
	return cmocka_run_group_tests(tests, itc_group_setup, itc_group_teardown);
}
