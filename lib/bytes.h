/* SPDX-License-Identifier: MIT */
/*
 * Small pieces the lib/ parsers share (not installed, not exported): a growable byte
 * buffer for streaming parsers that keep their whole source, hex digits and numbers, and
 * the error exit of the one-line parsers.
 */
#pragma once

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Appends n bytes to *buf (length *len, capacity *cap), doubling from first_cap. The
 * total stays at or below max: -EFBIG beyond it, -ENOMEM; nothing changes on failure.
 */
static inline int bytes_append(char **buf, size_t *len, size_t *cap, const void *data, size_t n,
			       size_t first_cap, size_t max)
{
	if (n > max || *len > max - n)
		return -EFBIG;
	if (*len + n > *cap) {
		size_t c = *cap ? *cap : first_cap;
		char *b;
		while (c < *len + n)
			c *= 2;
		b = realloc(*buf, c);
		if (!b)
			return -ENOMEM;
		*buf = b;
		*cap = c;
	}
	if (n)
		memcpy(*buf + *len, data, n);
	*len += n;
	return 0;
}

/* The value of one hex digit (either case), -1 for anything else. */
static inline int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * A hex number at s[*i] (a leading 0x is optional), at most max and 8 digits; *i moves past
 * what was read. 0 and *ret; -EINVAL no digits, -E2BIG more than 8, -ERANGE above max.
 */
static inline int bytes_hex(const char *s, size_t n, size_t *i, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;
	size_t d;

	if (*i + 1 < n && s[*i] == '0' && (s[*i + 1] == 'x' || s[*i + 1] == 'X'))
		*i += 2;
	d = *i;
	while (*i < n && hex_digit(s[*i]) >= 0) {
		if (*i - d == 8)
			return -E2BIG;
		v = v * 16 + (unsigned)hex_digit(s[*i]);
		(*i)++;
	}
	if (*i == d)
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = (uint32_t)v;
	return 0;
}

/* Formats a message into err (when err is not NULL) and returns -EINVAL. */
static inline int bytes_errf(char *err, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline int bytes_errf(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}
