/* SPDX-License-Identifier: MIT */
/*
 * The user-space ISO-TP (lib/isotp.c over a CAN_RAW socket, driven by ppoll and
 * isotp_next_deadline) against the kernel's CAN_ISOTP as the independent peer, both
 * directions, across can0/can1 (two SJA1000 on one bus): BS in {0, 1, 8}, STmin in
 * {0, 1 ms, 0xF5 = 500 µs}, lengths {1, 7, 8, 62, 4095}, padding off/on (with padding the
 * kernel checks ours: CAN_ISOTP_CHK_PAD_LEN|CHK_PAD_DATA), and CAN FD on vcan0 (ll_mtu 72).
 * Then the passive observer, fed from a CAN_RAW sniffer, reassembles a kernel <-> kernel
 * conversation (BS 4, STmin 300 µs, padded) in both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/isotp.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "itest.h"

#define TESTER_ID 0x7e0u /* user space sends here */
#define ECU_ID 0x7e8u    /* the kernel socket sends here */
#define MAX_PDU 5000u

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

struct us {
	int fd;
	struct isotp *tp;
	bool sent_done, rx_done;
	enum isotp_n_result sent_res, rx_res;
	uint8_t pdu[MAX_PDU];
	size_t pdu_len;
};

static int send_frame(void *ud, const struct bd_frame *f)
{
	struct us *u = ud;
	/* can_raw_send maps a full tx queue (ENOBUFS) to -EAGAIN: isotp retries it. */
	return can_raw_send(u->fd, f);
}

static void received(void *ud, enum isotp_n_result r, const uint8_t *pdu, size_t len)
{
	struct us *u = ud;
	u->rx_done = true;
	u->rx_res = r;
	if (r == ISOTP_N_OK && len <= sizeof(u->pdu)) {
		memcpy(u->pdu, pdu, len);
		u->pdu_len = len;
	}
}

static void sent(void *ud, enum isotp_n_result r)
{
	struct us *u = ud;
	u->sent_done = true;
	u->sent_res = r;
}

static const struct isotp_ops ops = {.send_frame = send_frame, .received = received, .sent = sent};

/* One event loop turn: wait for a frame or the next isotp deadline, then feed or poll. */
static void turn(struct us *u)
{
	int64_t now = mono_us(), d = isotp_next_deadline(u->tp), wait_us;
	struct pollfd p = {.fd = u->fd, .events = POLLIN};
	struct timespec ts;
	struct bd_timed_frame f;
	int r;

	wait_us = d == INT64_MAX ? 100000 : d - now;
	if (wait_us < 0)
		wait_us = 0;
	if (wait_us > 100000)
		wait_us = 100000;
	ts.tv_sec = wait_us / 1000000;
	ts.tv_nsec = (wait_us % 1000000) * 1000;
	r = ppoll(&p, 1, &ts, NULL);
	assert_true(r >= 0);
	while ((r = can_raw_recv(u->fd, &f, NULL, NULL)) == 1)
		isotp_on_frame(u->tp, &f.frame, mono_us());
	assert_true(r == 0);
	isotp_poll(u->tp, mono_us());
}

static void run_case(const char *ifa, const char *ifb, bool fd, uint8_t bs, uint8_t stmin, int pad, size_t len)
{
	const struct can_raw_filter flt = {.id = ECU_ID, .mask = 0x7ff};
	struct isotp_socket_opts ko;
	struct isotp_config c;
	struct us u = {0};
	uint8_t out[MAX_PDU], in[MAX_PDU + 1];
	size_t got = 0;
	int kfd, rcvbuf = 1 << 20;
	int64_t until;

	print_message("case %s%s bs=%u stmin=0x%02x pad=%d len=%zu\n", ifa, fd ? " fd" : "", bs, stmin, pad, len);
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 13 + bs + stmin);

	/* the kernel peer */
	isotp_socket_opts_init(&ko, ECU_ID, TESTER_ID);
	ko.tx_pad = pad;
	ko.rx_pad_check = pad; /* the kernel verifies our padding */
	ko.block_size = bs;    /* its FC governs what user space sends */
	ko.stmin = stmin;
	/* write() must not wait for the whole PDU: the FCs come from this same thread. */
	ko.wait_tx_done = false;
	if (fd) {
		ko.ll_mtu = 72;
		ko.tx_dl = 64;
	}
	assert_int_equal(isotp_socket_open(ifb, &ko, &kfd), 0);

	/* user space */
	assert_int_equal(can_raw_open(ifa, &flt, 1, fd ? CAN_RAW_OPEN_FD : 0, &u.fd), 0);
	/* a burst of 4095 bytes with STmin 0 is ~585 frames: room for all of them */
	assert_int_equal(setsockopt(u.fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
	isotp_config_init(&c, TESTER_ID, ECU_ID);
	c.tx_pad = pad;
	c.bs = bs; /* our FC governs what the kernel sends */
	c.stmin = stmin;
	c.fd = fd;
	c.tx_dl = fd ? 64 : 8;
	c.rx_max = c.tx_max = MAX_PDU;
	assert_int_equal(isotp_new(&c, &ops, &u, &u.tp), 0);

	/* user space -> kernel */
	assert_int_equal(isotp_send(u.tp, out, len, mono_us()), 0);
	until = mono_us() + 20000000;
	while (!u.sent_done && mono_us() < until)
		turn(&u);
	assert_true(u.sent_done);
	assert_int_equal(u.sent_res, ISOTP_N_OK);
	assert_true(itest_wait_readable(kfd, 3000));
	assert_int_equal(isotp_socket_recv(kfd, in, sizeof(in), &got), 1);
	assert_int_equal(got, len);
	assert_memory_equal(in, out, len);

	/* kernel -> user space */
	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)~out[i];
	assert_int_equal(isotp_socket_send(kfd, out, len), 0);
	until = mono_us() + 20000000;
	while (!u.rx_done && mono_us() < until)
		turn(&u);
	assert_true(u.rx_done);
	assert_int_equal(u.rx_res, ISOTP_N_OK);
	assert_int_equal(u.pdu_len, len);
	assert_memory_equal(u.pdu, out, len);
	/* and the kernel saw nothing wrong with our flow control */
	{
		int err = 0;
		socklen_t el = sizeof(err);
		assert_int_equal(getsockopt(kfd, SOL_SOCKET, SO_ERROR, &err, &el), 0);
		assert_int_equal(err, 0);
	}

	isotp_free(u.tp);
	close(u.fd);
	close(kfd);
}

static const size_t lens[] = {1, 7, 8, 62, 4095};

static void classic_matrix(uint8_t bs)
{
	static const uint8_t stmins[] = {0x00, 0x01, 0xf5};

	for (size_t j = 0; j < sizeof(stmins); j++)
		for (size_t k = 0; k < sizeof(lens) / sizeof(lens[0]); k++) {
			run_case(ITEST_CAN0, ITEST_CAN1, false, bs, stmins[j], -1, lens[k]);
			run_case(ITEST_CAN0, ITEST_CAN1, false, bs, stmins[j], 0xaa, lens[k]);
		}
}

static void classic_bs0(void **state)
{
	classic_matrix(0);
}

static void classic_bs1(void **state)
{
	classic_matrix(1);
}

static void classic_bs8(void **state)
{
	classic_matrix(8);
}

static void canfd_vcan(void **state)
{
	/* CAN FD: SF escape (8 < len <= 62), 64-byte FF/CF, and the FF_DL escape above 4095
	 * (kernels >= 6.0 accept PDUs up to 66000 bytes). */
	static const size_t fd_lens[] = {1, 7, 8, 62, 63, 4095, 5000};

	for (size_t k = 0; k < sizeof(fd_lens) / sizeof(fd_lens[0]); k++) {
		run_case(ITEST_VCAN, ITEST_VCAN, true, 0, 0, -1, fd_lens[k]);
		run_case(ITEST_VCAN, ITEST_VCAN, true, 8, 0xf5, 0xcc, fd_lens[k]);
	}
}

/* The passive observer on a sniffer reassembles a kernel <-> kernel conversation. */
struct seen {
	uint8_t pdu[ISOTP_DIR_MAX][600];
	size_t len[ISOTP_DIR_MAX];
	unsigned n[ISOTP_DIR_MAX], errors;
};

static void seen_pdu(void *ud, enum isotp_dir d, const uint8_t *pdu, size_t len, int64_t t0, int64_t t1)
{
	struct seen *s = ud;
	assert_true(len <= sizeof(s->pdu[d]));
	memcpy(s->pdu[d], pdu, len);
	s->len[d] = len;
	s->n[d]++;
	assert_true(t1 >= t0);
}

static void seen_error(void *ud, enum isotp_dir d, enum isotp_n_result r, const uint8_t *partial, size_t got,
		       size_t len, int64_t t)
{
	((struct seen *)ud)->errors++;
}

static void drain(int fd, struct isotp_observer *o)
{
	struct bd_timed_frame f;
	int r;

	while (itest_wait_readable(fd, 200))
		while ((r = can_raw_recv(fd, &f, NULL, NULL)) == 1)
			assert_int_equal(isotp_observer_feed(o, &f.frame, mono_us()), 1);
}

static void observer_on_kernel_traffic(void **state)
{
	static const struct isotp_observer_ops oops = {.pdu = seen_pdu, .error = seen_error};
	/* 0x7e0 and 0x7e8 only */
	const struct can_raw_filter flt = {.id = TESTER_ID, .mask = 0x7f7};
	struct isotp_socket_opts a, b;
	struct isotp_observer_config oc;
	struct isotp_observer *o;
	struct seen seen = {0};
	uint8_t req[100], resp[600], in[600];
	size_t got;
	int fa, fb, sniff;

	for (size_t i = 0; i < sizeof(req); i++)
		req[i] = (uint8_t)(i + 1);
	for (size_t i = 0; i < sizeof(resp); i++)
		resp[i] = (uint8_t)(i * 3);
	isotp_socket_opts_init(&a, TESTER_ID, ECU_ID);
	isotp_socket_opts_init(&b, ECU_ID, TESTER_ID);
	a.tx_pad = b.tx_pad = 0x55;
	b.block_size = 4;
	b.stmin = 0xf3;
	a.block_size = 0;
	a.stmin = 1;
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &a, &fa), 0);
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &b, &fb), 0);
	assert_int_equal(can_raw_open(ITEST_CAN1, &flt, 1, 0, &sniff), 0);
	isotp_observer_config_init(&oc, TESTER_ID, ECU_ID);
	assert_int_equal(isotp_observer_new(&oc, &oops, &seen, &o), 0);

	assert_int_equal(isotp_socket_send(fa, req, sizeof(req)), 0);
	assert_true(itest_wait_readable(fb, 3000));
	assert_int_equal(isotp_socket_recv(fb, in, sizeof(in), &got), 1);
	assert_int_equal(got, sizeof(req));
	assert_int_equal(isotp_socket_send(fb, resp, sizeof(resp)), 0);
	assert_true(itest_wait_readable(fa, 3000));
	assert_int_equal(isotp_socket_recv(fa, in, sizeof(in), &got), 1);
	assert_int_equal(got, sizeof(resp));
	drain(sniff, o);

	assert_int_equal(seen.errors, 0);
	assert_int_equal(seen.n[ISOTP_DIR_REQUEST], 1);
	assert_int_equal(seen.len[ISOTP_DIR_REQUEST], sizeof(req));
	assert_memory_equal(seen.pdu[ISOTP_DIR_REQUEST], req, sizeof(req));
	assert_int_equal(seen.n[ISOTP_DIR_RESPONSE], 1);
	assert_int_equal(seen.len[ISOTP_DIR_RESPONSE], sizeof(resp));
	assert_memory_equal(seen.pdu[ISOTP_DIR_RESPONSE], resp, sizeof(resp));

	isotp_observer_free(o);
	close(fa);
	close(fb);
	close(sniff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classic_bs0),
		cmocka_unit_test(classic_bs1),
		cmocka_unit_test(classic_bs8),
		cmocka_unit_test(canfd_vcan),
		cmocka_unit_test(observer_on_kernel_traffic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
