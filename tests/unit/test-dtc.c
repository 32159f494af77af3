/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bodydiag/dtc.h"

static void format_uds(void **state)
{
	char b[DTC_TEXT_MAX];

	/* B1A40-13: B = 10, digit 1 = 01, then A, 4, 0 -> 0x9A40, FTB 0x13 */
	assert_int_equal(dtc_format(0x9a4013, b, sizeof(b)), 0);
	assert_string_equal(b, "B1A40-13");
	assert_int_equal(dtc_format(0x000000, b, sizeof(b)), 0);
	assert_string_equal(b, "P0000-00");
	assert_int_equal(dtc_format(0x4123ff, b, sizeof(b)), 0);
	assert_string_equal(b, "C0123-FF");
	assert_int_equal(dtc_format(0xffffff, b, sizeof(b)), 0);
	assert_string_equal(b, "U3FFF-FF");
	/* GM B3265: B = 10, 3 = 11 -> 0xB265 */
	assert_int_equal(dtc_format(0xb26511, b, sizeof(b)), 0);
	assert_string_equal(b, "B3265-11");
	assert_int_equal(dtc_format(0x9a4013, b, DTC_TEXT_MAX - 1), -ENOBUFS);
	assert_int_equal(dtc_system_letter(0xc10000), 'U');
}

static void format_obd(void **state)
{
	char b[DTC_OBD_TEXT_MAX];

	assert_int_equal(dtc_format_obd(0x0420, b, sizeof(b)), 0);
	assert_string_equal(b, "P0420");
	assert_int_equal(dtc_format_obd(0xc073, b, sizeof(b)), 0);
	assert_string_equal(b, "U0073");
	assert_int_equal(dtc_format_obd(0x9a40, b, sizeof(b)), 0);
	assert_string_equal(b, "B1A40");
	assert_int_equal(dtc_format_obd(0x0420, b, 5), -ENOBUFS);
}

static void parse(void **state)
{
	uint32_t d;
	uint16_t o;

	assert_int_equal(dtc_parse("B1A40-13", &d), 0);
	assert_int_equal(d, 0x9a4013);
	assert_int_equal(dtc_parse("b1a40-13", &d), 0);
	assert_int_equal(d, 0x9a4013);
	assert_int_equal(dtc_parse("B113E:11", &d), 0); /* Mazda writes the FTB after ':' */
	assert_int_equal(d, 0x913e11);
	assert_int_equal(dtc_parse("B1A4013", &d), 0);
	assert_int_equal(d, 0x9a4013);
	assert_int_equal(dtc_parse("U0100", &d), 0);
	assert_int_equal(d, 0xc10000);
	d = 42;
	assert_int_equal(dtc_parse("B4A40-13", &d), -EINVAL); /* first digit 0-3 */
	assert_int_equal(dtc_parse("X1A40-13", &d), -EINVAL);
	assert_int_equal(dtc_parse("B1A4G-13", &d), -EINVAL);
	assert_int_equal(dtc_parse("B1A40-1", &d), -EINVAL);
	assert_int_equal(dtc_parse("B1A40-123", &d), -EINVAL);
	assert_int_equal(dtc_parse("B1A40+13", &d), -EINVAL);
	assert_int_equal(dtc_parse("B1A", &d), -EINVAL);
	assert_int_equal(dtc_parse("", &d), -EINVAL);
	assert_int_equal(d, 42); /* untouched on failure */
	assert_int_equal(dtc_parse_obd("P0420", &o), 0);
	assert_int_equal(o, 0x0420);
	assert_int_equal(dtc_parse_obd("U0073", &o), 0);
	assert_int_equal(o, 0xc073);
	assert_int_equal(dtc_parse_obd("P04201", &o), -EINVAL);
	/* round trip over a spread of values */
	for (uint32_t v = 0; v <= 0xffffff; v += 0x10101) {
		char b[DTC_TEXT_MAX];
		dtc_format(v, b, sizeof(b));
		assert_int_equal(dtc_parse(b, &d), 0);
		assert_int_equal(d, v);
	}
}

static void patterns(void **state)
{
	struct dtc_pattern p;

	assert_int_equal(dtc_pattern_compile("B1A40-*", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x9a4013));
	assert_true(dtc_pattern_match(&p, 0x9a40ff));
	assert_false(dtc_pattern_match(&p, 0x9a4113));

	assert_int_equal(dtc_pattern_compile("B1A4?", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x9a4013));
	assert_true(dtc_pattern_match(&p, 0x9a4f00));
	assert_false(dtc_pattern_match(&p, 0x9a5013));

	assert_int_equal(dtc_pattern_compile("B1A40", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x9a4013));
	assert_false(dtc_pattern_match(&p, 0x9a4113));

	assert_int_equal(dtc_pattern_compile("B1A40-13", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x9a4013));
	assert_false(dtc_pattern_match(&p, 0x9a4011));

	assert_int_equal(dtc_pattern_compile("B1A40-1?", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x9a4011));
	assert_true(dtc_pattern_match(&p, 0x9a401f));
	assert_false(dtc_pattern_match(&p, 0x9a4021));

	assert_int_equal(dtc_pattern_compile("U0*", &p), 0);
	assert_true(dtc_pattern_match(&p, 0xc07300));
	assert_true(dtc_pattern_match(&p, 0xcfff88));
	assert_false(dtc_pattern_match(&p, 0xd00000)); /* U1000 */
	assert_false(dtc_pattern_match(&p, 0x807300)); /* B0073 */

	assert_int_equal(dtc_pattern_compile("?1A40-13", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x1a4013)); /* P1A40-13 */
	assert_true(dtc_pattern_match(&p, 0xda4013)); /* U1A40-13 */

	assert_int_equal(dtc_pattern_compile("*", &p), 0);
	assert_true(dtc_pattern_match(&p, 0x123456));

	assert_int_equal(dtc_pattern_compile("B*1", &p), -EINVAL);
	assert_int_equal(dtc_pattern_compile("B1A", &p), -EINVAL);
	assert_int_equal(dtc_pattern_compile("B1A40-", &p), -EINVAL);
	assert_int_equal(dtc_pattern_compile("B1A40-1", &p), -EINVAL);
	assert_int_equal(dtc_pattern_compile("B5A40", &p), -EINVAL);
	assert_int_equal(dtc_pattern_compile("", &p), -EINVAL);
	assert_int_equal(dtc_pattern_compile("B1A40-13X", &p), -EINVAL);
	assert_false(dtc_pattern_match(NULL, 0));
}

static void status_bits(void **state)
{
	char b[256];
	enum dtc_status_bit bit;

	assert_string_equal(dtc_status_bit_name(DTC_STATUS_TEST_FAILED), "testFailed");
	assert_string_equal(dtc_status_bit_name(DTC_STATUS_WARNING_INDICATOR_REQUESTED),
			    "warningIndicatorRequested");
	assert_string_equal(dtc_status_bit_name(DTC_STATUS_PENDING_DTC), "pendingDTC");
	assert_string_equal(dtc_status_bit_name(DTC_STATUS_BIT_MAX), "?");
	assert_int_equal(dtc_status_bit_from_name("confirmedDTC", &bit), 0);
	assert_int_equal(bit, DTC_STATUS_CONFIRMED_DTC);
	assert_int_equal(dtc_status_bit_from_name("confirmed", &bit), -EINVAL);
	assert_int_equal(dtc_status_format(0x09, b, sizeof(b)), 0);
	assert_string_equal(b, "testFailed|confirmedDTC");
	assert_int_equal(dtc_status_format(0x00, b, sizeof(b)), 0);
	assert_string_equal(b, "none");
	assert_int_equal(dtc_status_format(0xff, b, sizeof(b)), 0);
	assert_string_equal(b, "testFailed|testFailedThisOperationCycle|pendingDTC|confirmedDTC|"
			       "testNotCompletedSinceLastClear|testFailedSinceLastClear|"
			       "testNotCompletedThisOperationCycle|warningIndicatorRequested");
	assert_int_equal(dtc_status_format(0x09, b, 12), -ENOBUFS);
	assert_int_equal(strlen(b), 11);
}

static void failure_types(void **state)
{
	char b[256];

	assert_string_equal(dtc_ftb_name(0x11), "circuit short to ground");
	assert_string_equal(dtc_ftb_name(0x12), "circuit short to battery");
	assert_string_equal(dtc_ftb_name(0x13), "circuit open");
	assert_string_equal(dtc_ftb_name(0x1f), "circuit intermittent");
	assert_string_equal(dtc_ftb_name(0x71), "actuator stuck");
	assert_string_equal(dtc_ftb_name(0x92), "performance or incorrect operation");
	assert_string_equal(dtc_ftb_name(0x87), "missing message");
	assert_null(dtc_ftb_name(0x10)); /* reserved */
	assert_null(dtc_ftb_name(0xa5));
	assert_null(dtc_ftb_name(0xf3));
	assert_int_equal(dtc_ftb_category(0x13), DTC_FTB_ELECTRICAL);
	assert_int_equal(dtc_ftb_category(0x92), DTC_FTB_COMPONENT);
	assert_int_equal(dtc_ftb_category(0x05), DTC_FTB_GENERAL);
	assert_int_equal(dtc_ftb_category(0xb0), DTC_FTB_RESERVED);
	assert_int_equal(dtc_ftb_category(0xf0), DTC_FTB_MANUFACTURER);
	assert_string_equal(dtc_ftb_category_name(DTC_FTB_BUS), "bus signal / message failure");
	assert_string_equal(dtc_ftb_category_name(DTC_FTB_CATEGORY_MAX), "?");
	/* every category has a name, every named FTB lies below 0xA0 */
	for (unsigned c = 0; c < DTC_FTB_CATEGORY_MAX; c++)
		assert_string_not_equal(dtc_ftb_category_name((enum dtc_ftb_category)c), "?");
	assert_int_equal(dtc_describe(0x9a4013, 0x09, b, sizeof(b)), 0);
	assert_string_equal(b, "B1A40-13 circuit open, status 0x09 testFailed|confirmedDTC");
	assert_int_equal(dtc_describe(0x9a40f3, 0x00, b, sizeof(b)), 0);
	assert_string_equal(b, "B1A40-F3 manufacturer specific, status 0x00 none");
	assert_int_equal(dtc_describe(0x9a4013, 0x09, b, 10), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_uds),
		cmocka_unit_test(format_obd),
		cmocka_unit_test(parse),
		cmocka_unit_test(patterns),
		cmocka_unit_test(status_bits),
		cmocka_unit_test(failure_types),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
