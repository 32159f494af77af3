/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * numfmt: numbers as text, fast and the same everywhere (JSON, text output, reports).
 *
 * Doubles are written in their shortest form that reads back to the same double, laid
 * out as Python's repr() does it (what cantools and the reference answers print):
 * "2.3", "12.0", "0.0001", "1e-05", "1e+16", "-0.0", "nan", "inf", "-inf". Integers with
 * ".0" and 16 or fewer digits before the point stay in plain notation. For people,
 * numfmt_double_digits() rounds to fewer significant digits, so that a value computed as
 * 23 * 0.1 (the double 2.3000000000000003) shows as "2.3".
 *
 * Writes into the caller's buffer, never allocates, no locale, no printf.
 */

#include <stddef.h>
#include <stdint.h>

#define NUMFMT_DOUBLE_MAX 32 /* longest double text with its NUL ("-1.2345678901234567e-308") */
#define NUMFMT_INT_MAX 24    /* longest 64-bit integer text with its NUL */

/* Shortest round-trip text of v into buf (NUMFMT_DOUBLE_MAX bytes); returns its length. */
size_t numfmt_double(char *buf, double v);

/*
 * The same layout, with at most `digits` significant digits (1..17; 17 gives the shortest
 * round-trip form), rounded half to even from the shortest form. The text need not read
 * back to v: it is for people.
 */
size_t numfmt_double_digits(char *buf, double v, unsigned digits);

/* For people: numfmt_double_digits(v, 15) without the ".0" of integral values and
 * without the sign of a zero: "3", "12.24", "0.1", "1e+16". */
size_t numfmt_double_text(char *buf, double v);

/* Decimal text of v into buf (NUMFMT_INT_MAX bytes); returns its length. */
size_t numfmt_u64(char *buf, uint64_t v);
size_t numfmt_i64(char *buf, int64_t v);
