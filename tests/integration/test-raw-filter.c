/* SPDX-License-Identifier: MIT */
/* can_raw on vcan0: kernel ID filters let exactly the wanted frames through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/linux/can_raw.h"
#include "itest.h"

static void filter_passes_only_matching(void **state)
{
	const struct can_raw_filter flt = {.id = 0x123, .mask = 0x7ff};
	struct bd_frame f = {.id = 0x123, .len = 3, .data = {1, 2, 3}};
	struct bd_timed_frame got;
	uint32_t drops = 0;
	int rx, tx, ifindex = 0;

	assert_int_equal(can_raw_open(ITEST_VCAN, &flt, 1, CAN_RAW_OPEN_TIMESTAMP, &rx), 0);
	assert_int_equal(can_raw_open(ITEST_VCAN, NULL, 0, 0, &tx), 0);

	/* Outside the filter: a neighbour id, and the same number as a 29-bit id. */
	struct bd_frame other = {.id = 0x124, .len = 1, .data = {9}};
	struct bd_frame ext = {.id = 0x123, .flags = BD_FRAME_EXT, .len = 1, .data = {8}};
	assert_int_equal(can_raw_send(tx, &other), 0);
	assert_int_equal(can_raw_send(tx, &ext), 0);
	assert_int_equal(can_raw_send(tx, &f), 0);

	assert_true(itest_wait_readable(rx, 1000));
	assert_int_equal(can_raw_recv(rx, &got, &ifindex, &drops), 1);
	assert_int_equal(got.frame.id, 0x123);
	/* Sent by another socket of this host: the kernel's loopback mark. */
	assert_int_equal(got.frame.flags, BD_FRAME_LOCAL);
	assert_int_equal(got.frame.len, 3);
	assert_memory_equal(got.frame.data, f.data, 3);
	assert_true(got.t_us > 0); /* kernel timestamp present */
	assert_true(ifindex > 0);
	assert_int_equal(drops, 0);

	/* Nothing else may arrive. */
	assert_false(itest_wait_readable(rx, 200));
	assert_int_equal(can_raw_recv(rx, &got, NULL, NULL), 0);
	close(rx);
	close(tx);
}

static void fd_frames_on_vcan(void **state)
{
	struct bd_frame f = {.id = 0x1abcdef, .flags = BD_FRAME_EXT | BD_FRAME_FD | BD_FRAME_BRS, .len = 48};
	struct bd_timed_frame got;
	int rx, tx;

	for (int i = 0; i < 48; i++)
		f.data[i] = (uint8_t)i;
	assert_int_equal(can_raw_open(ITEST_VCAN, NULL, 0, CAN_RAW_OPEN_FD, &rx), 0);
	assert_int_equal(can_raw_open(ITEST_VCAN, NULL, 0, CAN_RAW_OPEN_FD, &tx), 0);
	assert_int_equal(can_raw_send(tx, &f), 0);
	assert_true(itest_wait_readable(rx, 1000));
	assert_int_equal(can_raw_recv(rx, &got, NULL, NULL), 1);
	assert_int_equal(got.frame.id, 0x1abcdef);
	assert_int_equal(got.frame.flags,
			 BD_FRAME_EXT | BD_FRAME_FD | BD_FRAME_BRS | BD_FRAME_LOCAL);
	assert_int_equal(got.frame.len, 48);
	assert_memory_equal(got.frame.data, f.data, 48);
	close(rx);
	close(tx);
}

/* A frame that came over the wire from another controller is not ours; the sender's own
 * interface sees it as local (what the daemon's router tells its own requests by). */
static void local_only_for_this_host(void **state)
{
	struct bd_frame f = {.id = 0x321, .len = 2, .data = {4, 5}};
	struct bd_timed_frame got;
	int rx_wire, rx_here, tx;

	assert_int_equal(can_raw_open(ITEST_CAN1, NULL, 0, 0, &rx_wire), 0);
	assert_int_equal(can_raw_open(ITEST_CAN0, NULL, 0, 0, &rx_here), 0);
	assert_int_equal(can_raw_open(ITEST_CAN0, NULL, 0, 0, &tx), 0);
	while (can_raw_recv(rx_wire, &got, NULL, NULL) == 1 || can_raw_recv(rx_here, &got, NULL, NULL) == 1)
		; /* leftovers */
	assert_int_equal(can_raw_send(tx, &f), 0);
	assert_true(itest_wait_readable(rx_wire, 1000));
	assert_int_equal(can_raw_recv(rx_wire, &got, NULL, NULL), 1);
	assert_int_equal(got.frame.id, 0x321);
	assert_int_equal(got.frame.flags, 0);
	assert_true(itest_wait_readable(rx_here, 1000));
	assert_int_equal(can_raw_recv(rx_here, &got, NULL, NULL), 1);
	assert_int_equal(got.frame.id, 0x321);
	assert_int_equal(got.frame.flags, BD_FRAME_LOCAL);
	close(rx_wire);
	close(rx_here);
	close(tx);
}

static void invalid_frame_refused(void **state)
{
	struct bd_frame f = {.id = 0x800, .len = 1};
	int tx;
	assert_int_equal(can_raw_open(ITEST_VCAN, NULL, 0, 0, &tx), 0);
	assert_int_equal(can_raw_send(tx, &f), -EINVAL);
	close(tx);
	assert_int_equal(can_raw_open("nosuchcan9", NULL, 0, 0, &tx), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(filter_passes_only_matching),
		cmocka_unit_test(fd_frames_on_vcan),
		cmocka_unit_test(local_only_for_this_host),
		cmocka_unit_test(invalid_frame_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
