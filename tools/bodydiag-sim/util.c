/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Tokens are short; a bounded copy gives strtod/strtoull the NUL they need. */
#define TOKEN_MAX 64

static int copy_token(const char *s, size_t len, char *buf)
{
	if (len == 0 || len >= TOKEN_MAX)
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return 0;
}

static int parse_double_prefix(const char *s, size_t len, double *ret, size_t *ret_used)
{
	char buf[TOKEN_MAX];
	char *end;
	double v;

	if (copy_token(s, len, buf) < 0)
		return -EINVAL;
	/* strtod accepts "inf", "nan", hex floats and leading blanks: none belongs here. */
	if (!(buf[0] == '-' || buf[0] == '+' || buf[0] == '.' || (buf[0] >= '0' && buf[0] <= '9')))
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (buf[i] == 'x' || buf[i] == 'X')
			return -EINVAL;
	errno = 0;
	v = strtod(buf, &end);
	if (errno != 0 || end == buf || !isfinite(v))
		return -EINVAL;
	*ret = v;
	*ret_used = (size_t)(end - buf);
	return 0;
}

int sim_util_parse_double(const char *s, size_t len, double *ret)
{
	double v;
	size_t used;

	if (parse_double_prefix(s, len, &v, &used) < 0 || used != len)
		return -EINVAL;
	*ret = v;
	return 0;
}

int sim_util_parse_u64(const char *s, size_t len, uint64_t max, uint64_t *ret)
{
	char buf[TOKEN_MAX];
	char *end;
	unsigned long long v;

	if (copy_token(s, len, buf) < 0)
		return -EINVAL;
	if (buf[0] < '0' || buf[0] > '9')
		return -EINVAL; /* strtoull would accept blanks, '+' and '-' */
	errno = 0;
	v = strtoull(buf, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int sim_util_parse_unit(const char *s, size_t len, const char *const *units,
			const double *scale, int allow_bare, double *ret)
{
	double v;
	size_t used;

	if (parse_double_prefix(s, len, &v, &used) < 0)
		return -EINVAL;
	/* strtod would eat the "e" of a unit like "e" only in odd cases; units here never start with e. */
	if (used == len) {
		if (!allow_bare)
			return -EINVAL;
		*ret = v * scale[0];
		return 0;
	}
	for (size_t i = 0; units[i]; i++) {
		size_t ul = strlen(units[i]);
		if (len - used == ul && memcmp(s + used, units[i], ul) == 0) {
			*ret = v * scale[i];
			return 0;
		}
	}
	return -EINVAL;
}
