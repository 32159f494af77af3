/* SPDX-License-Identifier: MIT */
/* can_link against a real (emulated SJA1000) controller: bitrate and state through
 * libsocketcan's netlink calls, as a daemon would do at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bodydiag/linux/can_link.h"
#include "itest.h"

static void set_bitrate_and_read_back(void **state)
{
	struct can_link_info info;

	assert_int_equal(can_link_configure(ITEST_CAN0, 125000, 100), 0);
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.bitrate, 125000);
	assert_int_equal(info.restart_ms, 100);

	assert_int_equal(can_link_configure(ITEST_CAN0, 500000, 0), 0);
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.bitrate, 500000);
	assert_int_equal(info.restart_ms, 0);
	assert_int_equal(info.state, CAN_LINK_STATE_ERROR_ACTIVE);
	assert_string_equal(can_link_state_name(info.state), "ERROR-ACTIVE");
	assert_true(info.sample_point_permille > 500 && info.sample_point_permille < 1000);
}

static void stop_shows_stopped(void **state)
{
	struct can_link_info info;

	assert_int_equal(can_link_stop(ITEST_CAN0), 0);
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.state, CAN_LINK_STATE_STOPPED);
	assert_int_equal(can_link_start(ITEST_CAN0), 0);
	assert_int_equal(can_link_get_info(ITEST_CAN0, &info), 0);
	assert_int_equal(info.state, CAN_LINK_STATE_ERROR_ACTIVE);
}

static void missing_interface(void **state)
{
	struct can_link_info info;
	assert_int_equal(can_link_get_info("nosuchcan9", &info), -ENODEV);
}

static void vcan_has_no_bittiming(void **state)
{
	struct can_link_info info;
	assert_int_equal(can_link_get_info(ITEST_VCAN, &info), 0);
	assert_int_equal(info.bitrate, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(set_bitrate_and_read_back),
		cmocka_unit_test(stop_shows_stopped),
		cmocka_unit_test(missing_interface),
		cmocka_unit_test(vcan_has_no_bittiming),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
