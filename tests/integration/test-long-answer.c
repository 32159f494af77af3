/* SPDX-License-Identifier: MIT */
/*
 * Long multi-frame answers through the bodydiagd binary (issue 17): P2/P2* are measured to
 * the start of the response (its first frame, seen on the daemon's CAN_RAW socket through
 * the frame router), then each consecutive frame must come within N_Cr.
 *
 *  - A BCM with 1,023 DTCs in its fault memory answers 0x19 0x02 with 4,095 bytes (the
 *    longest classic ISO-TP PDU), one consecutive frame per millisecond from a kernel
 *    ISO-TP socket on can1: far longer than P2 (50 ms), yet `dtc.read` reads all of it,
 *    and the history records every DTC in one transaction.
 *  - An ECU whose first frame comes after P2 still times out at P2 (`timeout`).
 *  - An ECU that sends its first frame and 10 consecutive frames, then stops (raw frames
 *    on can1), gives `transport_timeout` (reason isotp_timeout) within N_Cr of its last
 *    frame, not a P2 timeout; the next request is served normally.
 *  - Consecutive frames 300 ms apart (each within N_Cr, together longer than N_Cr) make
 *    a complete answer: N_Cr bounds each frame, not the transfer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "itest-daemon.h"

#define SOCK "/tmp/bd-long-answer.sock"
#define CONF "/tmp/bd-long-answer.conf"
#define LOG "/tmp/bd-long-answer.log"
#define DB "/tmp/bd-long-answer.db"
#define REQ_ID 0x726
#define RESP_ID 0x72e
#define N_DTCS 1023
#define LONG_LEN (3 + 4 * N_DTCS) /* 4095: the ISO-TP first frame's 12-bit length */

static struct itd_client api = {.fd = -1};
static pid_t daemon_pid = -1;

/* ---- a reply of any size (a DTC list of 1,023 entries is ~200 KB of JSON) ---- */

static char *big;
static size_t big_len, big_cap;

static json_t *read_reply(int id, int ms)
{
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;

	for (;;) {
		char *nl = big ? memchr(big, '\n', big_len) : NULL;

		if (nl) {
			json_t *j = json_loadb(big, (size_t)(nl - big), 0, NULL);
			big_len -= (size_t)(nl - big) + 1;
			memmove(big, nl + 1, big_len);
			if (j && json_integer_value(json_object_get(j, "id")) == id)
				return j;
			json_decref(j);
			continue;
		}
		if (big_cap - big_len < 65536) {
			big_cap = big_cap ? big_cap * 2 : 1 << 20;
			big = realloc(big, big_cap);
			assert_non_null(big);
		}
		int left = (int)((end - itd_mono_us()) / 1000);
		if (left < 0 || !itest_wait_readable(api.fd, left))
			return NULL;
		ssize_t n = read(api.fd, big + big_len, big_cap - big_len);
		if (n <= 0)
			return NULL;
		big_len += (size_t)n;
	}
}

static json_t *call(const char *method, json_t *params, int ms)
{
	int id = itd_send(&api, method, params);
	json_t *r;

	assert_true(id > 0);
	r = read_reply(id, ms);
	if (!r) {
		itd_dump(LOG);
		fail_msg("no reply to %s within %d ms", method, ms);
	}
	return r;
}

/* ---- the ECU on can1: a kernel ISO-TP socket in a thread ---- */

struct iso_ecu {
	int fd;
	int delay_ms; /* before the answer starts */
	pthread_t thread;
	int64_t t_request, t_sent; /* request seen, answer handed to the kernel */
	bool served;
};

static void long_answer(uint8_t *buf)
{
	buf[0] = 0x59;
	buf[1] = 0x02;
	buf[2] = 0xff;
	for (int i = 0; i < N_DTCS; i++) {
		uint8_t *d = buf + 3 + 4 * i;

		d[0] = (uint8_t)(0x80 | (i >> 8)); /* B0000.. B03FF, failure type 0x13 */
		d[1] = (uint8_t)i;
		d[2] = 0x13;
		d[3] = i % 2 ? 0x2f : 0x09;
	}
}

static void *iso_ecu_run(void *arg)
{
	struct iso_ecu *e = arg;
	static uint8_t resp[LONG_LEN];
	uint8_t req[64];
	size_t len = 0;

	if (!itest_wait_readable(e->fd, 20000) || isotp_socket_recv(e->fd, req, sizeof(req), &len) != 1 ||
	    len != 3 || req[0] != 0x19 || req[1] != 0x02)
		return NULL;
	e->t_request = itd_mono_us();
	long_answer(resp);
	usleep((useconds_t)e->delay_ms * 1000);
	/* The socket waits for the whole transmission (WAIT_TX_DONE): blocking is fine here. */
	int fl = fcntl(e->fd, F_GETFL);
	fcntl(e->fd, F_SETFL, fl & ~O_NONBLOCK);
	e->served = isotp_socket_send(e->fd, resp, sizeof(resp)) == 0;
	e->t_sent = itd_mono_us();
	return NULL;
}

/* One at a time; static, so that a failed test's thread never outlives its struct. */
static struct iso_ecu iso;

static void iso_ecu_start(struct iso_ecu *e, int delay_ms)
{
	struct isotp_socket_opts o;

	memset(e, 0, sizeof(*e));
	e->delay_ms = delay_ms;
	isotp_socket_opts_init(&o, RESP_ID, REQ_ID);
	o.tx_pad = 0xaa;
	/* One consecutive frame per millisecond whatever the daemon's flow control allows:
	 * 585 frames, about 0.6 s, twelve times P2. */
	o.force_tx_stmin_ns = 1000000;
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &o, &e->fd), 0);
	assert_int_equal(pthread_create(&e->thread, NULL, iso_ecu_run, e), 0);
}

static void iso_ecu_stop(struct iso_ecu *e)
{
	pthread_join(e->thread, NULL);
	close(e->fd);
}

static void start(void)
{
	char extra[256];

	snprintf(extra, sizeof(extra), "[history]\npath = %s\n", DB);
	unlink(DB);
	itd_write_conf_level(CONF, SOCK, "debug", NULL, NULL, extra);
	api.fd = itd_start_daemon(CONF, SOCK, LOG, &daemon_pid);
	api.len = 0;
	big_len = 0;
}

static void stop(void)
{
	close(api.fd);
	api.fd = -1;
	assert_int_equal(itd_stop(&daemon_pid, LOG), 0);
}

static int count_kind(const char *kind)
{
	json_t *r = call("history", json_pack("{s:s,s:i}", "kind", kind, "limit", 5000), 30000);
	json_t *recs = json_object_get(json_object_get(r, "result"), "records");
	int n = recs ? (int)json_array_size(recs) : -1;

	if (!recs)
		itd_print_json("history", r);
	json_decref(r);
	return n;
}

static void long_dtc_list(void **state)
{
	struct iso_ecu *e = &iso;
	json_t *r, *res, *dtcs, *ecu;
	int64_t t0, t1;

	start();
	iso_ecu_start(e, 5);
	t0 = itd_mono_us();
	r = call("dtc.read", json_pack("{s:s,s:s}", "ecu", "bcm", "mask", "0xff"), 30000);
	t1 = itd_mono_us();
	iso_ecu_stop(e);
	assert_true(e->served);
	res = json_object_get(r, "result");
	if (!res) {
		itd_print_json("dtc.read", r);
		itd_dump(LOG);
		fail_msg("dtc.read of a 4095-byte answer failed");
	}
	dtcs = json_object_get(res, "dtcs");
	assert_int_equal(json_array_size(dtcs), N_DTCS);
	assert_string_equal(json_string_value(json_object_get(json_array_get(dtcs, 0), "code")),
			    "B0000-13");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(dtcs, N_DTCS - 1), "code")),
		"B03FE-13");
	assert_string_equal(
		json_string_value(json_object_get(json_array_get(dtcs, N_DTCS - 2), "status")),
		"0x2f");
	json_decref(r);

	r = call("ecus", NULL, 5000);
	ecu = json_array_get(json_object_get(json_object_get(r, "result"), "ecus"), 0);
	print_message("4095-byte 0x19 answer (%d DTCs): dtc.read %.0f ms (ECU: request to last "
		      "frame handed over %.0f ms); first frame after %.1f ms (P2 %d ms)\n",
		      N_DTCS, (double)(t1 - t0) / 1000, (double)(e->t_sent - e->t_request) / 1000,
		      json_real_value(json_object_get(ecu, "latency_max_ms")),
		      (int)json_integer_value(json_object_get(ecu, "p2_ms")));
	/* The point: the transfer took many times P2, and P2 was met by the first frame. */
	assert_true(t1 - t0 > 4 * 50000);
	assert_true(json_real_value(json_object_get(ecu, "latency_max_ms")) < 50.0);
	json_decref(r);

	/* Every DTC into the history (first sightings: one snapshot and one transition each),
	 * written in one transaction; the daemon still answers at once. */
	t0 = itd_mono_us();
	r = call("ping", NULL, 5000);
	json_decref(r);
	print_message("ping after recording %d DTCs: %.1f ms\n", N_DTCS,
		      (double)(itd_mono_us() - t0) / 1000);
	assert_int_equal(count_kind("transition"), N_DTCS);
	stop();
}

static void late_start_times_out(void **state)
{
	struct iso_ecu *e = &iso;
	json_t *r;
	const char *code;
	int64_t ms;

	start();
	iso_ecu_start(e, 200); /* the first frame comes 200 ms after the request */
	r = call("dtc.read", json_pack("{s:s}", "ecu", "bcm"), 30000);
	/* from the request on the wire (as the ECU saw it) to the reply */
	ms = (itd_mono_us() - e->t_request) / 1000;
	code = itd_error(r);
	itd_print_json("late first frame", r);
	assert_non_null(code);
	assert_string_equal(code, "timeout");
	assert_non_null(strstr(json_string_value(json_object_get(json_object_get(r, "error"),
								 "message")),
			       "P2 50 ms"));
	/* at P2, not after the answer (which the ECU only begins at 200 ms) */
	print_message("first frame 200 ms late: timeout %lld ms after the request\n", (long long)ms);
	assert_true(ms < 180);
	json_decref(r);
	iso_ecu_stop(e);
	stop();
}

/* ---- raw frames on can1: full control of the timing ---- */

static int raw = -1;

static bool raw_wait(uint32_t id, struct bd_frame *ret, int ms)
{
	return itd_wait_frame(raw, id, ret, ms);
}

static void raw_send(const uint8_t *data, size_t len)
{
	struct bd_frame f = {.id = RESP_ID, .len = 8};
	int r;

	memset(f.data, 0xaa, sizeof(f.data));
	memcpy(f.data, data, len);
	for (int i = 0; (r = can_raw_send(raw, &f)) == -ENOBUFS && i < 100; i++)
		usleep(1000);
	assert_int_equal(r, 0);
}

/* Sends dtc.read, waits for its request frame on can1; the request's id. */
static int raw_request(void)
{
	struct bd_frame req;
	int id = itd_send(&api, "dtc.read", json_pack("{s:s}", "ecu", "bcm"));

	assert_true(id > 0);
	if (!raw_wait(REQ_ID, &req, 20000))
		fail_msg("no request on %s", ITEST_CAN1);
	assert_int_equal(req.data[1], 0x19);
	return id;
}

/* First frame of a 0x59 answer of len bytes, then the daemon's flow control. */
static void raw_first_frame(size_t len)
{
	uint8_t ff[8] = {(uint8_t)(0x10 | (len >> 8)), (uint8_t)len, 0x59, 0x02, 0xff, 0x80, 0x01,
			 0x13};
	struct bd_frame fc = {0};

	raw_send(ff, 8);
	if (!raw_wait(REQ_ID, &fc, 2000))
		fail_msg("no flow control from the daemon");
	assert_int_equal(fc.data[0] & 0xf0, 0x30);
}

static void raw_consecutive(unsigned sn)
{
	uint8_t cf[8] = {(uint8_t)(0x20 | (sn & 0x0f)), 0x2f, 0x80, 0x02, 0x13, 0x09, 0x80, 0x03};

	raw_send(cf, 8);
}

static void stops_mid_transfer(void **state)
{
	const struct can_raw_filter flt = {.id = REQ_ID, .mask = 0x7ff};
	int64_t t_last, t_req, gap;
	const char *code, *msg;
	json_t *r;
	int id;

	start();
	assert_int_equal(can_raw_open(ITEST_CAN1, &flt, 1, 0, &raw), 0);

	/* 4095 bytes announced, 6 + 10 * 7 sent, then nothing. */
	id = raw_request();
	t_req = itd_mono_us();
	raw_first_frame(LONG_LEN);
	for (unsigned sn = 1; sn <= 10; sn++)
		raw_consecutive(sn);
	t_last = itd_mono_us();
	r = read_reply(id, 10000);
	gap = itd_mono_us() - t_last;
	assert_non_null(r);
	code = itd_error(r);
	msg = json_string_value(json_object_get(json_object_get(r, "error"), "message"));
	itd_print_json("stopped mid-transfer", r);
	print_message("answer stopped mid-transfer: %s %.0f ms after the last frame (%.0f ms after "
		      "the request; N_Cr 1000 ms)\n",
		      code ? code : "result", (double)gap / 1000, (double)(itd_mono_us() - t_req) / 1000);
	assert_non_null(code);
	assert_string_equal(code, "transport_timeout");
	assert_non_null(strstr(msg, "isotp_timeout"));
	/* N_Cr after the last frame: not P2 (50 ms) after the request, not P2* either */
	assert_true(gap >= 800000);
	assert_true(gap <= 1600000);
	json_decref(r);

	/* The next request is served (no late error of the abandoned transfer hits it). */
	id = raw_request();
	raw_send((const uint8_t[]){0x07, 0x59, 0x02, 0xff, 0x80, 0x01, 0x13, 0x2f}, 8);
	r = read_reply(id, 10000);
	assert_non_null(r);
	if (!json_object_get(r, "result"))
		itd_print_json("after the stopped transfer", r);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "result"), "dtcs")), 1);
	json_decref(r);

	/* Slow but steady: 5 consecutive frames 300 ms apart, 1.5 s in all (> N_Cr, each
	 * frame < N_Cr): a complete answer of 9 DTCs. */
	id = raw_request();
	t_req = itd_mono_us();
	raw_first_frame(3 + 4 * 9);
	for (unsigned sn = 1; sn <= 5; sn++) {
		usleep(300000);
		raw_consecutive(sn);
	}
	r = read_reply(id, 10000);
	assert_non_null(r);
	if (!json_object_get(r, "result"))
		itd_print_json("slow consecutive frames", r);
	assert_int_equal(json_array_size(json_object_get(json_object_get(r, "result"), "dtcs")), 9);
	print_message("5 consecutive frames 300 ms apart: complete after %.0f ms\n",
		      (double)(itd_mono_us() - t_req) / 1000);
	json_decref(r);
	close(raw);
	raw = -1;
	stop();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(long_dtc_list),
		cmocka_unit_test(late_start_times_out),
		cmocka_unit_test(stops_mid_transfer),
	};
	int r = cmocka_run_group_tests(tests, itd_group_start, itd_group_end);

	free(big);
	return r;
}
