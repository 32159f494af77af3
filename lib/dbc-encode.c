/* SPDX-License-Identifier: MIT */
/*
 * DBC encoding: physical values to the bytes of a message, the inverse of dbc_decode()
 * the way cantools does it (minus offset, divided by factor, rounded half to even,
 * range-checked; the branches a multiplexer's value selects).
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
/* (value - offset) / factor rounds twice like Python does, never as one fused op */
#pragma GCC optimize("fp-contract=off")
#endif

#include <endian.h>
#include <errno.h>
#include <math.h>
#include <string.h>

#include "dbc-private.h"
#include "wide.h"

static uint16_t double_to_half(double d)
{
	uint16_t sign = signbit(d) ? 0x8000 : 0;
	d = fabs(d);
	if (isnan(d))
		return sign | 0x7e00;
	if (d >= 65520.0)
		return sign | 0x7c00;
	if (d < 0x1p-24 / 2)
		return sign;
	int e;
	frexp(d, &e); /* d = f * 2^e, f in [0.5, 1) */
	int he = e + 14;
	if (he <= 0) /* subnormal */
		return sign | (uint16_t)nearbyint(ldexp(d, 24));
	double mant = nearbyint(ldexp(d, 11 - e)); /* 1024..2048 */
	if (mant >= 2048) {
		mant /= 2;
		he++;
	}
	if (he >= 31)
		return sign | 0x7c00;
	return sign | (uint16_t)(he << 10) | ((uint16_t)mant & 0x3ff);
}

/* w / d (d != 0), truncated towards zero, when the quotient's magnitude fits 64 bits;
 * *ret_exact tells whether nothing remained. false when it does not fit. */
static bool wide_div_i64(struct wide w, int64_t d, struct wide *ret_q, bool *ret_exact)
{
	uint64_t dm = d < 0 ? 0 - (uint64_t)d : (uint64_t)d;
	uint64_t q = 0, rem = 0;
	if (w.hi >= dm)
		return false;
	if (!w.hi) {
		q = w.lo / dm;
		rem = w.lo % dm;
	} else {
		/* long division, one bit at a time: only for magnitudes above 2^64 */
		rem = w.hi;
		for (int b = 63; b >= 0; b--) {
			bool carry = rem >> 63;
			rem = (rem << 1) | ((w.lo >> b) & 1);
			q <<= 1;
			if (carry || rem >= dm) {
				rem -= dm;
				q |= 1;
			}
		}
	}
	*ret_q = (struct wide){.neg = q && (w.neg != (d < 0)), .lo = q};
	*ret_exact = rem == 0;
	return true;
}

/* A double already rounded to an integer in [-2^63, 2^64) as a wide value; false outside. */
static bool wide_from_double(double q, struct wide *ret)
{
	if (!(q >= -0x1p63 && q < 0x1p64))
		return false;
	if (q < 0)
		*ret = (struct wide){.neg = q != 0, .lo = 0 - (uint64_t)(int64_t)q};
	else
		*ret = wide_from_u64((uint64_t)q);
	return true;
}

/* Physical value to raw bits, cantools' numeric_scaled_to_raw. */
static int to_raw(const struct dbc_signal *s, struct dbc_value v, uint64_t *ret_bits)
{
	if (s->is_float) {
		double raw = dbc_value_as_double(v);
		if (s->conv != CONV_IDENTITY)
			raw = (raw - s->offset) / s->factor;
		if (s->length == 64) {
			memcpy(ret_bits, &raw, 8);
		} else if (s->length == 32) {
			float f = (float)raw;
			uint32_t b;
			memcpy(&b, &f, 4);
			*ret_bits = b;
		} else {
			*ret_bits = double_to_half(raw);
		}
		return 0;
	}

	struct wide raw;
	if (v.type != DBC_VALUE_FLOAT && s->conv != CONV_LINEAR) {
		struct wide x = v.type == DBC_VALUE_INT ? wide_from_i64(v.i) : wide_from_u64(v.u);
		if (s->conv == CONV_IDENTITY) {
			raw = x;
		} else {
			struct wide d = wide_add_i64(x, 0 - s->ioffset);
			bool exact;
			if (s->iscale == 0)
				return -ERANGE;
			if (!wide_div_i64(d, s->iscale, &raw, &exact))
				return -ERANGE; /* beyond every signal's range */
			if (!exact) {
				double q = nearbyint(wide_to_double(d) / (double)s->iscale);
				if (!wide_from_double(q, &raw))
					return -ERANGE;
			}
		}
	} else {
		double x = dbc_value_as_double(v), q;
		if (!isfinite(x))
			return -EINVAL;
		if (s->conv == CONV_IDENTITY)
			q = x;
		else
			q = (x - s->offset) / s->factor;
		q = nearbyint(q); /* round half to even, like Python's round() */
		if (!wide_from_double(q, &raw))
			return -ERANGE;
	}

	/* raw is below 2^64 in magnitude here */
	if (raw.hi)
		return -ERANGE;
	if (s->is_signed) {
		uint64_t lim = UINT64_C(1) << (s->length - 1); /* -lim .. lim - 1 */
		if (raw.neg ? raw.lo > lim : raw.lo >= lim)
			return -ERANGE;
	} else if (raw.neg || raw.lo > s->pl.mask) {
		return -ERANGE;
	}
	*ret_bits = (raw.neg ? 0 - raw.lo : raw.lo) & s->pl.mask;
	return 0;
}

static void store_le(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

static void store_be(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, 8);
}

/* Writes a field's bits (length <= 64) into zero-padded data. */
static void insert(const struct dbc_signal *s, uint8_t *pad, uint64_t bits)
{
	const struct field *pl = &s->pl;
	uint8_t *p = pad + pl->byte_lo;
	if (s->big_endian) {
		/* the field as it sits in a 128-bit big-endian window: in a, then in b */
		unsigned sh = 128 - pl->shift - pl->length; /* bits below the field */
		uint64_t a = dbci_load_be(p), b = dbci_load_be(p + 8), ma, mb, va, vb;
		if (sh >= 64) {
			ma = pl->mask << (sh - 64);
			va = bits << (sh - 64);
			mb = vb = 0;
		} else {
			ma = sh ? pl->mask >> (64 - sh) : 0;
			va = sh ? bits >> (64 - sh) : 0;
			mb = pl->mask << sh;
			vb = bits << sh;
		}
		store_be(p, (a & ~ma) | va);
		store_be(p + 8, (b & ~mb) | vb);
		return;
	}
	uint64_t a = dbci_load_le(p), b = dbci_load_le(p + 8);
	uint64_t ma = pl->mask << pl->shift, va = bits << pl->shift;
	uint64_t mb = pl->shift ? pl->mask >> (64 - pl->shift) : 0;
	uint64_t vb = pl->shift ? bits >> (64 - pl->shift) : 0;
	store_le(p, (a & ~ma) | va);
	store_le(p + 8, (b & ~mb) | vb);
}

static int mux_selector(const struct dbc_signal *s, struct dbc_value v, int64_t *ret)
{
	switch (v.type) {
	case DBC_VALUE_INT:
		*ret = v.i;
		return 0;
	case DBC_VALUE_UINT:
		*ret = INT64_MAX;
		return 0;
	case DBC_VALUE_FLOAT:
		if (!(v.f >= -9.2e18 && v.f <= 9.2e18))
			return -EINVAL;
		*ret = (int64_t)v.f;
		return 0;
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return -EINVAL;
}

static int encode_list(const struct dbc_message *m, const struct dbc_signal *const *sigs, size_t n,
		       const struct dbc_signal *parent, int64_t sel, const struct dbc_value *values,
		       uint8_t *pad, unsigned depth)
{
	int r;
	if (depth > DBCI_MAX_DEPTH)
		return 0;
	for (size_t i = 0; i < n; i++) {
		const struct dbc_signal *s = sigs[i];
		uint64_t bits;
		if (parent && !dbci_in_ranges(&s->mux_ranges, sel))
			continue;
		if (s->pl.need > m->length || s->length > 64)
			continue;
		if ((r = to_raw(s, values[s->index], &bits)) < 0)
			return r;
		insert(s, pad, bits);
		if (s->is_multiplexer && s->children.n > 0) {
			int64_t v;
			if ((r = mux_selector(s, values[s->index], &v)) < 0)
				return r;
			if ((r = encode_list(m, (const struct dbc_signal *const *)s->children.v,
					     s->children.n, s, v, values, pad, depth + 1)) < 0)
				return r;
		}
	}
	return 0;
}

int dbc_encode(const struct dbc_message *m, const struct dbc_value *values, uint8_t *data,
	       size_t size)
{
	uint8_t pad[DBCI_PAD_LEN];
	int r;

	if (size < m->length)
		return -ENOBUFS;
	memset(pad, 0, sizeof(pad));
	r = encode_list(m, (const struct dbc_signal *const *)m->roots.v, m->roots.n, NULL, 0,
			values, pad, 0);
	if (r < 0)
		return r;
	memcpy(data, pad, m->length);
	return (int)m->length;
}
