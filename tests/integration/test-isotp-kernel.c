/* SPDX-License-Identifier: MIT */
/* isotp_socket across two emulated controllers (can0 -> can1 and back) over the kernel's
 * ISO-TP: multi-frame PDUs byte-exact with padding, block size and STmin set through
 * socket options, and the padding checked on the wire with a raw sniffer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "itest.h"

static int recv_pdu(int fd, uint8_t *buf, size_t cap, size_t *len)
{
	if (!itest_wait_readable(fd, 3000))
		return -ETIMEDOUT;
	return isotp_socket_recv(fd, buf, cap, len);
}

static void roundtrip(uint8_t bs, uint8_t stmin, int pad, size_t len)
{
	struct isotp_socket_opts a, b;
	const struct can_raw_filter flt = {.id = 0x7e0, .mask = 0x7ff};
	uint8_t out[4095], in[4096];
	size_t got = 0;
	int fa, fb, sniff;

	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(i * 7 + 3);

	isotp_socket_opts_init(&a, 0x7e0, 0x7e8);
	isotp_socket_opts_init(&b, 0x7e8, 0x7e0);
	a.tx_pad = b.tx_pad = pad;
	b.block_size = bs; /* b's flow control governs what a sends */
	b.stmin = stmin;
	a.block_size = bs;
	a.stmin = stmin;
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &a, &fa), 0);
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &b, &fb), 0);
	assert_int_equal(can_raw_open(ITEST_CAN1, &flt, 1, 0, &sniff), 0);
	assert_int_equal(can_raw_set_rcvbuf(sniff, 4 << 20), 0);

	assert_int_equal(isotp_socket_send(fa, out, len), 0); /* WAIT_TX_DONE: returns when sent */
	assert_int_equal(recv_pdu(fb, in, sizeof(in), &got), 1);
	assert_int_equal(got, len);
	assert_memory_equal(in, out, len);

	/* What went over the wire: with padding every frame is 8 bytes filled with pad. */
	size_t frames = 0;
	uint32_t drops = 0;
	struct bd_timed_frame fr;
	while (can_raw_recv(sniff, &fr, NULL, &drops) == 1) {
		frames++;
		if (pad >= 0) {
			assert_int_equal(fr.frame.len, 8);
		}
		if (frames == 1)
			assert_int_equal(fr.frame.data[0] >> 4, len <= 7 ? 0 : 1);
	}
	assert_int_equal(drops, 0);
	assert_int_equal(frames, len <= 7 ? 1 : 1 + (len - 6 + 6) / 7);
	if (pad >= 0 && len > 7) {
		/* last CF: bytes after the payload are the pad byte */
		size_t last = (len - 6) % 7;
		if (last)
			for (size_t i = 1 + last; i < 8; i++)
				assert_int_equal(fr.frame.data[i], pad);
	}

	/* and back, b -> a */
	assert_int_equal(isotp_socket_send(fb, in, len), 0);
	assert_int_equal(recv_pdu(fa, out, sizeof(out), &got), 1);
	assert_int_equal(got, len);
	assert_memory_equal(in, out, len);

	close(fa);
	close(fb);
	close(sniff);
}

static void multiframe_padded_stmin_1ms(void **state)
{
	roundtrip(8, 0x01, 0xAA, 200);
}

static void multiframe_unpadded_stmin_500us(void **state)
{
	roundtrip(0, 0xF5, -1, 100);
}

static void max_classic_pdu(void **state)
{
	roundtrip(1, 0, 0x55, 4095);
}

static void single_frame(void **state)
{
	roundtrip(0, 0, 0xCC, 7);
}

static void small_buffer_reports_emsgsize(void **state)
{
	struct isotp_socket_opts a, b;
	uint8_t out[64] = {1}, in[16];
	size_t got;
	int fa, fb;

	isotp_socket_opts_init(&a, 0x7e1, 0x7e9);
	isotp_socket_opts_init(&b, 0x7e9, 0x7e1);
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &a, &fa), 0);
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &b, &fb), 0);
	assert_int_equal(isotp_socket_send(fa, out, sizeof(out)), 0);
	assert_int_equal(recv_pdu(fb, in, sizeof(in), &got), -EMSGSIZE);
	close(fa);
	close(fb);
}

static void no_peer_times_out(void **state)
{
	/* Nobody answers 0x7e2's first frame with flow control: the kernel reports ECOMM
	 * (N_Bs timeout) and we name it. */
	struct isotp_socket_opts a;
	uint8_t out[100] = {0};
	int fa;

	isotp_socket_opts_init(&a, 0x7e2, 0x7ea);
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &a, &fa), 0);
	int r = isotp_socket_send(fa, out, sizeof(out));
	if (r == 0) {
		/* older kernels report the error on the next call */
		assert_true(itest_wait_readable(fa, 3000));
		size_t got;
		r = isotp_socket_recv(fa, out, sizeof(out), &got);
	}
	assert_int_equal(r, -ECOMM);
	assert_string_equal(isotp_socket_error_name(r), "N_TIMEOUT_Bs: no flow control from the peer");
	close(fa);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(multiframe_padded_stmin_1ms),
		cmocka_unit_test(multiframe_unpadded_stmin_500us),
		cmocka_unit_test(max_classic_pdu),
		cmocka_unit_test(single_frame),
		cmocka_unit_test(small_buffer_reports_emsgsize),
		cmocka_unit_test(no_peer_times_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
