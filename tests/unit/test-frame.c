/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/frame.h"

static void dlc_mapping(void **state)
{
	static const uint8_t len[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64};
	for (uint8_t dlc = 0; dlc < 16; dlc++) {
		assert_int_equal(bd_frame_dlc_to_len(dlc), len[dlc]);
		assert_int_equal(bd_frame_len_to_dlc(len[dlc]), dlc);
	}
	assert_int_equal(bd_frame_len_to_dlc(9), 9);
	assert_int_equal(bd_frame_round_len(9), 12);
	assert_int_equal(bd_frame_round_len(33), 48);
	assert_int_equal(bd_frame_round_len(64), 64);
}

static void validity(void **state)
{
	struct bd_frame f = {.id = 0x7ff, .len = 8};
	assert_true(bd_frame_is_valid(&f));
	f.id = 0x800;
	assert_false(bd_frame_is_valid(&f));
	f.flags = BD_FRAME_EXT;
	assert_true(bd_frame_is_valid(&f));
	f.id = 0x20000000;
	assert_false(bd_frame_is_valid(&f));
	f = (struct bd_frame){.id = 0x123, .len = 9};
	assert_false(bd_frame_is_valid(&f));
	f.flags = BD_FRAME_FD;
	assert_false(bd_frame_is_valid(&f)); /* 9 is no FD length */
	f.len = 12;
	assert_true(bd_frame_is_valid(&f));
	f.flags = BD_FRAME_FD | BD_FRAME_RTR;
	assert_false(bd_frame_is_valid(&f));
	f = (struct bd_frame){.id = 0x123, .len = 8, .flags = BD_FRAME_BRS};
	assert_false(bd_frame_is_valid(&f)); /* BRS without FD */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dlc_mapping),
		cmocka_unit_test(validity),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
