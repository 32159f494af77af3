/* SPDX-License-Identifier: MIT */
/*
 * Shortest round-trip doubles by the Schubfach method (R. Giulietti, "The Schubfach way
 * to render doubles", 2020), written from the paper: v = c * 2^q is scaled by a 126-bit
 * upper approximation of 10^-k (numfmt-table.h) with round-to-odd, which keeps the
 * comparisons with the rounding interval [v - ulp/2, v + ulp/2] exact; the shortest
 * decimal in the interval is one of four candidates, the closest to v when two are as
 * short. Checked against Python's repr() on random and edge doubles (tests/unit/
 * test-numfmt.c reads them back with strtod).
 */
#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "bodydiag/numfmt.h"
#include "numfmt-table.h"
#include "wide.h"

#define MASK63 ((UINT64_C(1) << 63) - 1)
#define C_MIN (UINT64_C(1) << 52) /* the hidden bit */
#define Q_MIN (-1074)		   /* exponent of the subnormals */

static const char pairs[201] = "00010203040506070809"
			       "10111213141516171819"
			       "20212223242526272829"
			       "30313233343536373839"
			       "40414243444546474849"
			       "50515253545556575859"
			       "60616263646566676869"
			       "70717273747576777879"
			       "80818283848586878889"
			       "90919293949596979899";

static const uint64_t powers_of_10[20] = {
    UINT64_C(1),
    UINT64_C(10),
    UINT64_C(100),
    UINT64_C(1000),
    UINT64_C(10000),
    UINT64_C(100000),
    UINT64_C(1000000),
    UINT64_C(10000000),
    UINT64_C(100000000),
    UINT64_C(1000000000),
    UINT64_C(10000000000),
    UINT64_C(100000000000),
    UINT64_C(1000000000000),
    UINT64_C(10000000000000),
    UINT64_C(100000000000000),
    UINT64_C(1000000000000000),
    UINT64_C(10000000000000000),
    UINT64_C(100000000000000000),
    UINT64_C(1000000000000000000),
    UINT64_C(10000000000000000000),
};

/* v = f * 10^e */
struct decimal {
	uint64_t f;
	int e;
};

/* floor(q log10 2), floor(log10(3/4 2^q)), floor(e log2 10), exact over the ranges used
 * (numfmt-table.py checks the last one; the unit test the others) */
static int flog10_pow2(int q)
{
	return (int)(((int64_t)q * 661971961083) >> 41);
}

static int flog10_three_quarters_pow2(int q)
{
	return (int)(((int64_t)q * 661971961083 - 274743187321) >> 41);
}

static int flog2_pow10(int e)
{
	return (int)(((int64_t)e * 913124641741) >> 38);
}

/* floor(g * cp / 2^127) with its lowest bit set when anything was cut off (round to odd) */
static uint64_t rop(uint64_t g1, uint64_t g0, uint64_t cp)
{
	uint64_t y1, y0, x1 = wide_mul_hi(g0, cp);
	wide_mul(g1, cp, &y1, &y0);
	uint64_t z = (y0 >> 1) + x1;
	uint64_t vbp = y1 + (z >> 63);
	return vbp | (((z & MASK63) + MASK63) >> 63);
}

/* The shortest decimal in the rounding interval of c * 2^q, then multiplied by 10^dk. */
static struct decimal to_decimal(int q, uint64_t c, int dk)
{
	uint64_t out = c & 1; /* an odd c: the interval's ends do not round back to v */
	uint64_t cb = c << 2, cbr = cb + 2, cbl;
	int k;

	if (c != C_MIN || q == Q_MIN) {
		cbl = cb - 2;
		k = flog10_pow2(q);
	} else {
		/* at a power of two the lower neighbour is half as far */
		cbl = cb - 1;
		k = flog10_three_quarters_pow2(q);
	}
	int h = q + flog2_pow10(-k) + 2; /* 2..5: cb << h stays below 2^60 */
	const uint64_t *g = numfmt_pow10[-k - NUMFMT_POW10_MIN];
	uint64_t vb = rop(g[0], g[1], cb << h);
	uint64_t vbl = rop(g[0], g[1], cbl << h);
	uint64_t vbr = rop(g[0], g[1], cbr << h);

	/* vb / 4 = v 10^-k has 16 or 17 digits; a multiple of 10 in the interval is shorter */
	uint64_t s = vb >> 2;
	uint64_t sp10 = 10 * (s / 10), tp10 = sp10 + 10;
	bool upin = vbl + out <= sp10 << 2, wpin = (tp10 << 2) + out <= vbr;
	if (upin != wpin)
		return (struct decimal){upin ? sp10 : tp10, k + dk};
	/* one of s and s + 1 is in the interval; when both, the closer to v (ties: even) */
	uint64_t t = s + 1;
	bool uin = vbl + out <= s << 2, win = (t << 2) + out <= vbr;
	if (uin != win)
		return (struct decimal){uin ? s : t, k + dk};
	int64_t cmp = (int64_t)(vb - ((s + t) << 1));
	return (struct decimal){cmp < 0 || (cmp == 0 && !(s & 1)) ? s : t, k + dk};
}

/* Shortest digits of a finite v > 0 (bits without the sign), trailing zeros removed. */
static struct decimal shortest(uint64_t bits)
{
	uint64_t t = bits & (C_MIN - 1);
	int bq = (int)(bits >> 52);
	struct decimal d;

	if (bq) {
		int mq = 1075 - bq;
		uint64_t c = C_MIN | t;
		/* an integer below 2^53 is its own shortest form */
		if (mq > 0 && mq < 53 && !(c & ((UINT64_C(1) << mq) - 1)))
			d = (struct decimal){c >> mq, 0};
		else
			d = to_decimal(-mq, c, 0);
	} else {
		/* the smallest subnormals have too few bits for the method: scale by 10 */
		d = t < 3 ? to_decimal(Q_MIN, 10 * t, -1) : to_decimal(Q_MIN, t, 0);
	}
	/* up to 16 trailing zeros */
	while (d.f % 100000000 == 0) {
		d.f /= 100000000;
		d.e += 8;
	}
	if (d.f % 10000 == 0) {
		d.f /= 10000;
		d.e += 4;
	}
	if (d.f % 100 == 0) {
		d.f /= 100;
		d.e += 2;
	}
	if (d.f % 10 == 0) {
		d.f /= 10;
		d.e += 1;
	}
	return d;
}

static unsigned count_digits(uint64_t f)
{
	/* log10 from log2: 1233 / 4096 is just above log10(2), then one correction */
	f |= 1; /* 0 has one digit; no power of ten above 1 is odd */
	unsigned n = ((64 - (unsigned)__builtin_clzll(f)) * 1233) >> 12;
	return n + (f >= powers_of_10[n]);
}

/* The n digits of f, most significant first, at p. */
static void put_digits(char *p, uint64_t f, unsigned n)
{
	while (n >= 2) {
		memcpy(p + n - 2, pairs + 2 * (f % 100), 2);
		f /= 100;
		n -= 2;
	}
	if (n)
		p[0] = (char)('0' + f);
}

/* f * 10^e as repr() lays it out: plain from 1e-4 to below 1e16, else d.ddde+XX. */
static size_t layout(char *buf, bool neg, struct decimal d)
{
	char digits[20];
	unsigned n = count_digits(d.f);
	int point = (int)n + d.e; /* value = 0.digits * 10^point */
	char *p = buf;

	put_digits(digits, d.f, n);
	if (neg)
		*p++ = '-';
	if (point > -4 && point <= 16) {
		if (point <= 0) {
			memcpy(p, "0.000", 2 + (size_t)-point);
			p += 2 + -point;
			memcpy(p, digits, n);
			p += n;
		} else if ((unsigned)point >= n) {
			memcpy(p, digits, n);
			p += n;
			memset(p, '0', (unsigned)point - n);
			p += (unsigned)point - n;
			memcpy(p, ".0", 2);
			p += 2;
		} else {
			memcpy(p, digits, (size_t)point);
			p += point;
			*p++ = '.';
			memcpy(p, digits + point, n - (unsigned)point);
			p += n - (unsigned)point;
		}
	} else {
		int x = point - 1;
		*p++ = digits[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, digits + 1, n - 1);
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x >= 100) {
			*p++ = (char)('0' + x / 100);
			x %= 100;
		}
		memcpy(p, pairs + 2 * x, 2);
		p += 2;
	}
	*p = '\0';
	return (size_t)(p - buf);
}

static size_t special(char *buf, double v, uint64_t bits, bool *ret_done)
{
	const char *s = NULL;
	*ret_done = true;
	if (isnan(v))
		s = "nan";
	else if (isinf(v))
		s = v < 0 ? "-inf" : "inf";
	else if (!(bits << 1))
		s = bits ? "-0.0" : "0.0";
	if (!s) {
		*ret_done = false;
		return 0;
	}
	size_t n = strlen(s);
	memcpy(buf, s, n + 1);
	return n;
}

size_t numfmt_double(char *buf, double v)
{
	uint64_t bits;
	bool done;
	memcpy(&bits, &v, sizeof(bits));
	size_t n = special(buf, v, bits, &done);
	if (done)
		return n;
	return layout(buf, bits >> 63, shortest(bits & ~(UINT64_C(1) << 63)));
}

size_t numfmt_double_digits(char *buf, double v, unsigned digits)
{
	uint64_t bits;
	bool done;
	memcpy(&bits, &v, sizeof(bits));
	size_t len = special(buf, v, bits, &done);
	if (done)
		return len;
	struct decimal d = shortest(bits & ~(UINT64_C(1) << 63));
	unsigned n = count_digits(d.f);
	if (digits < 1)
		digits = 1;
	if (n > digits) {
		uint64_t p = powers_of_10[n - digits], r = d.f % p, half = p / 2;
		d.f /= p;
		d.e += (int)(n - digits);
		if (r > half || (r == half && (d.f & 1)))
			d.f++;
		while (d.f % 10 == 0) {
			d.f /= 10;
			d.e++;
		}
	}
	return layout(buf, bits >> 63, d);
}

size_t numfmt_double_text(char *buf, double v)
{
	size_t n = numfmt_double_digits(buf, v, 15);
	/* the layout writes integral values below 1e16 as "N.0": people write N */
	if (n > 2 && buf[n - 2] == '.' && buf[n - 1] == '0') {
		n -= 2;
		buf[n] = '\0';
	}
	if (n == 2 && buf[0] == '-' && buf[1] == '0') /* -0.0 is 0 to people */
		memmove(buf, buf + 1, n--);
	return n;
}

size_t numfmt_u64(char *buf, uint64_t v)
{
	unsigned n = count_digits(v);
	put_digits(buf, v, n);
	buf[n] = '\0';
	return n;
}

size_t numfmt_i64(char *buf, int64_t v)
{
	if (v >= 0)
		return numfmt_u64(buf, (uint64_t)v);
	buf[0] = '-';
	return 1 + numfmt_u64(buf + 1, 0 - (uint64_t)v);
}
