/* SPDX-License-Identifier: MIT */
/*
 * 128-bit products of 64-bit values (not installed, not exported) for the DBC codec and
 * the number formatter: exact on every target, also where there is no __int128 (armhf).
 */
#pragma once

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

/* a * b = *ret_hi * 2^64 + *ret_lo, exactly. Where the compiler has a 128-bit type it
 * does this in one instruction; WIDE_PORTABLE forces the plain form (tests compare them). */
static inline void wide_mul(uint64_t a, uint64_t b, uint64_t *ret_hi, uint64_t *ret_lo)
{
#if defined(__SIZEOF_INT128__) && !defined(WIDE_PORTABLE)
	unsigned __int128 p = (unsigned __int128)a * b;
	*ret_hi = (uint64_t)(p >> 64);
	*ret_lo = (uint64_t)p;
#else
	uint64_t a0 = (uint32_t)a, a1 = a >> 32, b0 = (uint32_t)b, b1 = b >> 32;
	uint64_t p00 = a0 * b0, p01 = a0 * b1, p10 = a1 * b0, p11 = a1 * b1;
	uint64_t mid = (p00 >> 32) + (uint32_t)p01 + (uint32_t)p10;
	*ret_lo = (mid << 32) | (uint32_t)p00;
	*ret_hi = p11 + (p01 >> 32) + (p10 >> 32) + (mid >> 32);
#endif
}

/* The high 64 bits of a * b. */
static inline uint64_t wide_mul_hi(uint64_t a, uint64_t b)
{
	uint64_t hi, lo;
	wide_mul(a, b, &hi, &lo);
	return hi;
}

/*
 * A signed integer below 2^127 in magnitude, as sign and magnitude: what raw * factor +
 * offset reaches for integral factors before the codec classifies it (an integer, an
 * unsigned integer above INT64_MAX or, beyond both, a double).
 */
struct wide {
	bool neg;
	uint64_t hi, lo;
};

static inline struct wide wide_from_i64(int64_t v)
{
	return (struct wide){.neg = v < 0, .lo = v < 0 ? 0 - (uint64_t)v : (uint64_t)v};
}

static inline struct wide wide_from_u64(uint64_t v)
{
	return (struct wide){.lo = v};
}

/* w (at most 64 bits) * m */
static inline struct wide wide_mul_i64(struct wide w, int64_t m)
{
	struct wide r = {.neg = w.neg != (m < 0)};
	wide_mul(w.lo, m < 0 ? 0 - (uint64_t)m : (uint64_t)m, &r.hi, &r.lo);
	if (!r.hi && !r.lo)
		r.neg = false;
	return r;
}

/* w + a; w stays below 2^127 */
static inline struct wide wide_add_i64(struct wide w, int64_t a)
{
	bool aneg = a < 0;
	uint64_t am = aneg ? 0 - (uint64_t)a : (uint64_t)a;
	if (w.neg == aneg) {
		w.lo += am;
		w.hi += w.lo < am;
	} else if (w.hi || w.lo >= am) {
		w.hi -= w.lo < am;
		w.lo -= am;
	} else {
		w.lo = am - w.lo;
		w.neg = aneg;
	}
	if (!w.hi && !w.lo)
		w.neg = false;
	return w;
}

/* The nearest double (ties to even), as a conversion of a 128-bit integer gives it. */
static inline double wide_to_double(struct wide w)
{
	double d;
	if (!w.hi) {
		d = (double)w.lo;
	} else {
		/* the top 64 bits, with every bit below them folded into the lowest one: the
		 * 64-to-53-bit rounding then sees the same round and sticky bits */
		int lz = __builtin_clzll(w.hi);
		uint64_t top = lz ? (w.hi << lz) | (w.lo >> (64 - lz)) : w.hi;
		uint64_t rest = lz ? w.lo << lz : w.lo;
		d = ldexp((double)(top | (rest != 0)), 64 - lz);
	}
	return w.neg ? -d : d;
}
