/* SPDX-License-Identifier: MIT */
/*
 * lib/numfmt on any 8 bytes: the shortest text of a double must read back to the same
 * double (both NaN for NaN), fit NUMFMT_DOUBLE_MAX and be its own 17-digit form; a text
 * rounded to d digits must be its own d-digit form; integers must print as printf does.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/numfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (size_t off = 0; off + 8 <= size; off += 8) {
		char buf[NUMFMT_DOUBLE_MAX + 8], ref[32];
		uint64_t bits;
		double v;
		memcpy(&bits, data + off, 8);
		memcpy(&v, &bits, 8);
		memset(buf, 'x', sizeof(buf));
		size_t n = numfmt_double(buf, v);
		if (n >= NUMFMT_DOUBLE_MAX || strlen(buf) != n)
			abort();
		double back = strtod(buf, NULL);
		if (isnan(v) ? !isnan(back) : memcmp(&back, &v, 8) != 0)
			abort();
		/* the shortest form has at most 17 digits: asking for 17 gives the same */
		char again[NUMFMT_DOUBLE_MAX];
		numfmt_double_digits(again, v, 17);
		if (strcmp(again, buf) != 0)
			abort();
		/* rounded to d digits, the text is its own d-digit form */
		unsigned digits = 1 + data[off] % 17;
		n = numfmt_double_digits(buf, v, digits);
		if (n >= NUMFMT_DOUBLE_MAX || strlen(buf) != n)
			abort();
		double rounded = strtod(buf, NULL);
		numfmt_double_digits(again, rounded, digits);
		/* (near DBL_MAX the rounded text may lie beyond the doubles: 2e+308) */
		if (strcmp(again, buf) != 0 && !(isinf(rounded) && isfinite(v)))
			abort();
		numfmt_i64(buf, (int64_t)bits);
		snprintf(ref, sizeof(ref), "%lld", (long long)(int64_t)bits);
		if (strcmp(buf, ref) != 0)
			abort();
		numfmt_u64(buf, bits);
		snprintf(ref, sizeof(ref), "%llu", (unsigned long long)bits);
		if (strcmp(buf, ref) != 0)
			abort();
	}
	return 0;
}
