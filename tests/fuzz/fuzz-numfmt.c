/* SPDX-License-Identifier: MIT */
/*
 * lib/numfmt on any 8 bytes: the shortest text of a double must read back to the same
 * double (both NaN for NaN), fit NUMFMT_DOUBLE_MAX, and never be longer than the 17
 * digits printf needs; the digits variant must stay within its digit count; integers must
 * print as printf prints them.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/numfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned significant(const char *s)
{
	unsigned n = 0, zeros = 0;
	bool lead = true;
	for (; *s && *s != 'e'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (lead && *s == '0')
			continue;
		lead = false;
		n++;
		zeros = *s == '0' ? zeros + 1 : 0;
	}
	return n - zeros;
}

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
		if (isfinite(v) && significant(buf) > 17)
			abort();
		unsigned digits = 1 + data[off] % 17;
		n = numfmt_double_digits(buf, v, digits);
		if (n >= NUMFMT_DOUBLE_MAX || strlen(buf) != n ||
		    (isfinite(v) && significant(buf) > digits))
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
