/* SPDX-License-Identifier: MIT */
/*
 * Every addressing mode of lib/isotp_addr through the kernel's CAN_ISOTP sockets
 * (isotp_socket_opts_from_addr): a tester socket on can0, the ECU's socket (the reversed
 * address) on can1, multi-frame PDUs both ways so flow control frames carry the address
 * bytes too, and a capture on can2 that checks every frame's id and first byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/isotp_addr.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "itest.h"

static void transfer(int from, int to, size_t len, uint8_t seed)
{
	uint8_t out[300], in[400];
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		out[i] = (uint8_t)(seed + i * 7);
	assert_int_equal(isotp_socket_send(from, out, len), 0);
	assert_true(itest_wait_readable(to, 3000));
	assert_int_equal(isotp_socket_recv(to, in, sizeof(in), &n), 1);
	assert_int_equal(n, len);
	assert_memory_equal(in, out, len);
}

/* Every frame on the bus belongs to the link: the right id, and for extended and mixed
 * addressing the right byte in front (requests: tx_ea; answers and our flow control
 * towards the ECU likewise by direction). */
static void check_capture(int cap, const struct isotp_addr *a, unsigned *ret_req,
			  unsigned *ret_resp)
{
	struct bd_timed_frame tf;
	bool byte = a->mode == ISOTP_ADDR_EXTENDED || a->mode == ISOTP_ADDR_MIXED;

	*ret_req = *ret_resp = 0;
	while (can_raw_recv(cap, &tf, NULL, NULL) > 0) {
		const struct bd_frame *f = &tf.frame;
		assert_false(f->flags & BD_FRAME_ERR);
		assert_int_equal(!!(f->flags & BD_FRAME_EXT), a->ext_ids);
		if (f->id == a->tx_id) {
			(*ret_req)++;
			if (byte)
				assert_int_equal(f->data[0], a->tx_ea);
		} else if (f->id == a->rx_id) {
			(*ret_resp)++;
			if (byte)
				assert_int_equal(f->data[0], a->rx_ea);
		} else {
			fail_msg("frame on 0x%X, not part of the link", f->id);
		}
		if (a->padding >= 0)
			assert_int_equal(f->len, 8);
	}
}

static void every_mode(void **state)
{
	static const char *const modes[] = {
	    "normal:0x726/0x72E,pad=0xAA",
	    "normal:0x18DA40F1/0x18DAF140",
	    "fixed:0x40/0xF1,pad=0xCC,bs=4,stmin=1",
	    "mixed:0x726/0x72E,ae=0x12,pad=0x55",
	    "mixed:0x18CE40F1/0x18CEF140,ae=0x05",
	    "ext:0x750/0x758,ta=0x40,pad=0x00",
	    "ext:0x6F1/0x640,ta=0x40,sa=0xF1,pad=0xCC,bs=2,stmin=300us",
	};
	for (size_t k = 0; k < sizeof(modes) / sizeof(modes[0]); k++) {
		struct isotp_addr a, srv;
		struct isotp_socket_opts o;
		struct isotp_addr_error e;
		int tester, ecu, cap;
		unsigned req, resp;

		if (isotp_addr_parse(modes[k], strlen(modes[k]), &a, &e) < 0)
			fail_msg("%s: %s", modes[k], e.message);
		isotp_addr_reverse(&a, &srv);
		assert_int_equal(can_raw_open(itest_if("BD_CAN2", "can2"), NULL, 0,
					      CAN_RAW_OPEN_ERR_FRAMES, &cap),
				 0);
		assert_int_equal(can_raw_set_rcvbuf(cap, 1 << 20), 0);
		isotp_socket_opts_from_addr(&o, &a);
		assert_int_equal(isotp_socket_open(ITEST_CAN0, &o, &tester), 0);
		isotp_socket_opts_from_addr(&o, &srv);
		assert_int_equal(isotp_socket_open(ITEST_CAN1, &o, &ecu), 0);

		transfer(tester, ecu, 3, 1);   /* single frame */
		transfer(tester, ecu, 120, 2); /* FF + CFs, FC from the ECU */
		transfer(ecu, tester, 250, 3); /* FF + CFs, FC from the tester: BS/STmin ours */
		usleep(100000);
		check_capture(cap, &a, &req, &resp);
		/* 120 bytes: FF + CFs + FCs both ways; both directions carried frames */
		assert_true(req > 10 && resp > 10);
		print_message("# %s: %u request-side and %u response-side frames, all addressed\n",
			      modes[k], req, resp);
		close(tester);
		close(ecu);
		close(cap);
	}
}

static void wrong_byte_is_not_ours(void **state)
{
	/* BMW-style: an answer carrying the ECU's byte instead of the tester's is not for
	 * this socket (CAN_ISOTP_RX_EXT_ADDR really filters). */
	struct isotp_addr a, other;
	struct isotp_socket_opts o;
	int tester, fake;
	uint8_t buf[16];
	size_t n;

	isotp_addr_init_extended(&a, 0x6F1, 0x640, 0x40, 0xF1);
	isotp_socket_opts_from_addr(&o, &a);
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &o, &tester), 0);
	isotp_addr_init_extended(&other, 0x640, 0x6F2, 0x40, -1); /* sends on 0x640, byte 0x40 */
	isotp_socket_opts_from_addr(&o, &other);
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &o, &fake), 0);
	const uint8_t pdu[] = {0x7E, 0x00};
	assert_int_equal(isotp_socket_send(fake, pdu, 2), 0);
	assert_false(itest_wait_readable(tester, 300));
	assert_int_equal(isotp_socket_recv(tester, buf, sizeof(buf), &n), 0);
	close(tester);
	close(fake);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(every_mode),
	    cmocka_unit_test(wrong_byte_is_not_ours),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
