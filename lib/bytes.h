/* SPDX-License-Identifier: MIT */
/*
 * Small pieces the lib/ parsers share (not installed, not exported): a growable byte
 * buffer for streaming parsers that keep their whole source, and hex digits.
 */
#pragma once

#include <errno.h>
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
