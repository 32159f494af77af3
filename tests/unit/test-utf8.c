/* SPDX-License-Identifier: MIT */
/* lib/utf8: what RFC 3629 calls UTF-8, at every boundary of its table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "bodydiag/utf8.h"

static size_t len_of(const char *s)
{
	return utf8_len((const unsigned char *)s, strlen(s));
}

static void valid(void **state)
{
	(void)state;
	assert_int_equal(len_of("a"), 1);
	assert_int_equal(utf8_len((const unsigned char *)"\0", 1), 1);
	assert_int_equal(len_of("\x7f"), 1);
	assert_int_equal(len_of("\xc2\x80"), 2);	 /* U+0080, the first of two bytes */
	assert_int_equal(len_of("\xdf\xbf"), 2);	 /* U+07FF */
	assert_int_equal(len_of("\xe0\xa0\x80"), 3);	 /* U+0800 */
	assert_int_equal(len_of("\xed\x9f\xbf"), 3);	 /* U+D7FF, below the surrogates */
	assert_int_equal(len_of("\xee\x80\x80"), 3);	 /* U+E000, above them */
	assert_int_equal(len_of("\xef\xbf\xbd"), 3);	 /* U+FFFD */
	assert_int_equal(len_of("\xf0\x90\x80\x80"), 4); /* U+10000 */
	assert_int_equal(len_of("\xf4\x8f\xbf\xbf"), 4); /* U+10FFFF, the last */
	assert_int_equal(len_of("\xc3\xa9tc"), 2);	 /* only the sequence at s */
}

static void invalid(void **state)
{
	(void)state;
	assert_int_equal(len_of("\x80"), 0); /* a continuation byte alone */
	assert_int_equal(len_of("\xbf"), 0);
	assert_int_equal(len_of("\xc0\x80"), 0);	 /* overlong NUL */
	assert_int_equal(len_of("\xc1\xbf"), 0);	 /* overlong U+007F */
	assert_int_equal(len_of("\xe0\x9f\xbf"), 0);	 /* overlong U+07FF */
	assert_int_equal(len_of("\xf0\x8f\xbf\xbf"), 0); /* overlong U+FFFF */
	assert_int_equal(len_of("\xed\xa0\x80"), 0);	 /* U+D800 */
	assert_int_equal(len_of("\xed\xbf\xbf"), 0);	 /* U+DFFF */
	assert_int_equal(len_of("\xf4\x90\x80\x80"), 0); /* U+110000 */
	assert_int_equal(len_of("\xf8\x88\x80\x80\x80"), 0);
	assert_int_equal(len_of("\xff"), 0);
	assert_int_equal(len_of("\xc3"), 0); /* cut short */
	assert_int_equal(len_of("\xe2\x82"), 0);
	assert_int_equal(len_of("\xc3\x28"), 0); /* not a continuation */
	assert_int_equal(len_of("\xe2\x28\xa1"), 0);
	assert_int_equal(utf8_len((const unsigned char *)"\xc3\xa9", 1), 0); /* n counts */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(valid),
	    cmocka_unit_test(invalid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
