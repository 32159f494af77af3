/* SPDX-License-Identifier: MIT */
/*
 * numfmt: Python repr() texts of known doubles, random doubles read back with
 * strtod and compared with the shortest printf precision that reads back, the digits
 * variant for people, integers, and the portable 128-bit product against the compiler's.
 */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/numfmt.h"

#ifndef WIDE_PORTABLE
#define WIDE_PORTABLE
#endif
#include "../../lib/wide.h"
#include "../common/prng.h"

static uint64_t rng = PRNG_SEED_DEFAULT; /* reproducible */

static uint64_t rnd(void)
{
	return prng_next(&rng);
}

static double from_bits(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof(d));
	return d;
}

static void expect(double v, const char *text)
{
	char buf[NUMFMT_DOUBLE_MAX];
	size_t n = numfmt_double(buf, v);
	assert_string_equal(buf, text);
	assert_int_equal(n, strlen(text));
}

/* Texts as Python 3 prints repr(v). */
static void python_repr(void **state)
{
	expect(2.3, "2.3");
	expect(23 * 0.1, "2.3000000000000003");
	expect(0.1 + 0.2, "0.30000000000000004");
	expect(11.8, "11.8");
	expect(12.0, "12.0");
	expect(-40.0, "-40.0");
	expect(0.5, "0.5");
	expect(100.0, "100.0");
	expect(0.0001, "0.0001");
	expect(0.00001, "1e-05");
	expect(0.000123, "0.000123");
	expect(1.5e-7, "1.5e-07");
	expect(1e15, "1000000000000000.0");
	expect(1234567890123456.0, "1234567890123456.0");
	expect(1e16, "1e+16");
	expect(12345678901234567.0, "1.2345678901234568e+16");
	expect(9007199254740992.0, "9007199254740992.0");
	expect(1152921504606846976.0, "1.152921504606847e+18");
	expect(1e22, "1e+22");
	expect(1e23, "1e+23");
	expect(1.7976931348623157e308, "1.7976931348623157e+308");
	expect(2.2250738585072014e-308, "2.2250738585072014e-308");
	expect(5e-324, "5e-324");
	expect(1e-323, "1e-323");
	expect(8e-323, "8e-323");
	expect(-2.5e-320, "-2.5e-320");
	expect(0.0, "0.0");
	expect(-0.0, "-0.0");
	expect(NAN, "nan");
	expect(INFINITY, "inf");
	expect(-INFINITY, "-inf");
	expect(-0.14000000000000057, "-0.14000000000000057");
	expect(65535.0 * 0.01, "655.35");
	expect(3.0517578125e-05, "3.0517578125e-05");
}

/* The number of significant digits of the shortest %.*e that reads back to v. */
static int printf_shortest(double v, char *buf, size_t size)
{
	for (int p = 0; p < 17; p++) {
		snprintf(buf, size, "%.*e", p, v);
		if (strtod(buf, NULL) == v)
			return p + 1;
	}
	return 17;
}

/* The significant digits of a numfmt text, without point, sign and exponent. */
static int significant(const char *s, char *digits)
{
	int n = 0;
	bool lead = true;
	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = false;
		digits[n++] = *s;
	}
	while (n > 1 && digits[n - 1] == '0')
		n--;
	digits[n] = '\0';
	return n;
}

static void check_random(double v)
{
	char buf[NUMFMT_DOUBLE_MAX], ref[64], a[32], b[32];
	if (!isfinite(v))
		return; /* named: python_repr */
	numfmt_double(buf, v);
	if (strtod(buf, NULL) != v)
		fail_msg("%a printed as %s does not read back", v, buf);
	int pn = printf_shortest(v, ref, sizeof(ref));
	int n = significant(buf, a);
	significant(ref, b);
	/* never longer than printf's; as long: the same (closest) digits. Shorter happens
	 * only at a power of two, whose lower neighbour is nearer */
	if (n > pn || (n == pn && strcmp(a, b) != 0))
		fail_msg("%a: numfmt %s, printf %s", v, buf, ref);
}

static void random_doubles_read_back(void **state)
{
	for (int i = 0; i < 300000; i++)
		check_random(from_bits(rnd()));
	/* the values decoding gives: small integers times a decimal factor */
	static const double factors[] = {0.1, 0.01, 0.001, 0.05, 0.0625, 0.03125, 1e-5, 0.3};
	for (int i = 0; i < 200000; i++) {
		int64_t raw = (int64_t)(rnd() % 2000001) - 1000000;
		check_random((double)raw * factors[i % 8] + (i % 3 ? 0.0 : -40.0));
	}
	/* every power of two and its neighbours, the smallest subnormals */
	for (int e = -1074; e <= 1023; e++) {
		double p = ldexp(1.0, e);
		check_random(p);
		check_random(nextafter(p, 0));
		check_random(nextafter(p, INFINITY));
	}
	for (uint64_t t = 1; t < 5000; t++)
		check_random(from_bits(t));
	check_random(DBL_MAX);
}

static void digits_for_people(void **state)
{
	char buf[NUMFMT_DOUBLE_MAX];
	numfmt_double_digits(buf, 23 * 0.1, 15);
	assert_string_equal(buf, "2.3");
	numfmt_double_digits(buf, 11.800000000000001, 15);
	assert_string_equal(buf, "11.8");
	numfmt_double_digits(buf, 0.1 + 0.2, 15);
	assert_string_equal(buf, "0.3");
	numfmt_double_digits(buf, 2.0 / 3.0, 4);
	assert_string_equal(buf, "0.6667");
	numfmt_double_digits(buf, 9.9996, 4);
	assert_string_equal(buf, "10.0");
	numfmt_double_digits(buf, 0.125, 2); /* a tie goes to the even digit */
	assert_string_equal(buf, "0.12");
	numfmt_double_digits(buf, 0.375, 2);
	assert_string_equal(buf, "0.38");
	numfmt_double_digits(buf, 123456789.0, 3);
	assert_string_equal(buf, "123000000.0");
	numfmt_double_digits(buf, -1.5e-7, 1);
	assert_string_equal(buf, "-2e-07");
	numfmt_double_digits(buf, 2.3000000000000003, 17);
	assert_string_equal(buf, "2.3000000000000003");
	numfmt_double_digits(buf, NAN, 15);
	assert_string_equal(buf, "nan");
	/* numfmt_double_text: as people write numbers */
	static const struct {
		double v;
		const char *text;
	} texts[] = {{3.0, "3"},	 {12.0, "12"},	   {-0.0, "0"},	      {0.0, "0"},
		     {23 * 0.1, "2.3"}, {12.240000000000002, "12.24"}, {-7.0, "-7"},
		     {1e16, "1e+16"},	 {0.5, "0.5"},	   {123456789.0, "123456789"}};
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		size_t n = numfmt_double_text(buf, texts[i].v);
		assert_string_equal(buf, texts[i].text);
		assert_int_equal(n, strlen(texts[i].text));
	}
}

static void integers(void **state)
{
	char buf[NUMFMT_INT_MAX], ref[32];
	assert_int_equal(numfmt_u64(buf, 0), 1);
	assert_string_equal(buf, "0");
	numfmt_u64(buf, UINT64_MAX);
	assert_string_equal(buf, "18446744073709551615");
	numfmt_i64(buf, INT64_MIN);
	assert_string_equal(buf, "-9223372036854775808");
	numfmt_i64(buf, -7);
	assert_string_equal(buf, "-7");
	for (int i = 0; i < 100000; i++) {
		int64_t v = (int64_t)rnd() >> (rnd() % 64);
		snprintf(ref, sizeof(ref), "%lld", (long long)v);
		assert_int_equal(numfmt_i64(buf, v), strlen(ref));
		assert_string_equal(buf, ref);
	}
}

static void portable_product(void **state)
{
	uint64_t hi, lo;
	wide_mul(UINT64_MAX, UINT64_MAX, &hi, &lo);
	assert_true(hi == UINT64_MAX - 1 && lo == 1);
	for (int i = 0; i < 100000; i++) {
		uint64_t a = rnd() >> (rnd() % 64), b = rnd();
		wide_mul(a, b, &hi, &lo);
#ifdef __SIZEOF_INT128__
		unsigned __int128 p = (unsigned __int128)a * b;
		assert_true(hi == (uint64_t)(p >> 64) && lo == (uint64_t)p);
#else
		/* the low half is the plain product; the high half checked by division */
		assert_true(lo == a * b);
		if (a)
			assert_true(hi == 0 ? b <= UINT64_MAX / a : b > UINT64_MAX / a);
#endif
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(python_repr),	 cmocka_unit_test(random_doubles_read_back),
	    cmocka_unit_test(digits_for_people), cmocka_unit_test(integers),
	    cmocka_unit_test(portable_product),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
