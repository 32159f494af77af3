/* SPDX-License-Identifier: MIT */
/*
 * The DBC codec: message lookup by id, decode and encode. Semantics that decide what a
 * user sees (which signals a multiplexer selects, integer or float results) follow
 * cantools 42 so both tools give the same answer.
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
/* raw * factor + offset must round twice like Python does, never as one fused op */
#pragma GCC optimize("fp-contract=off")
#endif

#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbc-private.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

/* ---- plans ------------------------------------------------------------------------- */

static bool integral(double d)
{
	return isfinite(d) && d == floor(d);
}

static void make_plan(struct field *pl, bool big_endian, unsigned start, unsigned length)
{
	pl->length = length;
	pl->mask = length >= 64 ? UINT64_MAX : (UINT64_C(1) << length) - 1;
	if (big_endian) {
		unsigned p = dbci_network_msb(start);
		pl->byte_lo = p / 8;
		pl->shift = p % 8;
		pl->need = (p + length + 7) / 8;
	} else {
		pl->byte_lo = start / 8;
		pl->shift = start % 8;
		pl->need = (start + length + 7) / 8;
	}
	pl->wide = pl->shift + length > 64;
}

/* Conversion class and extraction plan of one signal. */
static void plan_signal(struct dbc_signal *s)
{
	if (s->is_float && s->length != 16 && s->length != 32 && s->length != 64)
		s->is_float = false;

	if (s->factor == 1 && s->offset == 0) {
		s->conv = CONV_IDENTITY;
	} else if (!s->is_float && integral(s->factor) && integral(s->offset) &&
		   fabs(s->factor) < 0x1p62 && fabs(s->offset) < 0x1p62) {
		s->conv = CONV_LINEAR_INT;
		s->iscale = (int64_t)s->factor;
		s->ioffset = (int64_t)s->offset;
	} else {
		s->conv = CONV_LINEAR;
		if (s->factor_is_int_literal && integral(s->factor) && fabs(s->factor) < 0x1p62)
			s->iscale = (int64_t)s->factor;
		else
			s->factor_is_int_literal = false;
	}

	make_plan(&s->pl, s->big_endian, s->start, s->length);
}

/* The part of a signal that lies inside a message of len bytes, when it sticks out. */
static void plan_part(struct dbc_signal *s, unsigned len)
{
	unsigned first = s->big_endian ? dbci_network_msb(s->start) : s->start;
	memset(&s->part, 0, sizeof(s->part));
	if (s->pl.need <= len || s->is_float || first >= 8 * len)
		return;
	unsigned avail = 8 * len - first;
	if (avail >= s->length || avail > 64)
		return;
	make_plan(&s->part, s->big_endian, s->start, avail);
}

void dbci_signal_locate(struct dbc_signal *s, unsigned msg_len)
{
	plan_signal(s);
	if (msg_len)
		plan_part(s, msg_len);
}

int dbci_compile(struct dbc *db)
{
	struct dbc_message **msgs = db->messages.v;
	size_t size = 16, number = 0;
	while (size < db->messages.n * 4)
		size *= 2;
	db->table = malloc(size * sizeof(*db->table));
	if (!db->table)
		return -ENOMEM;
	db->table_mask = size - 1;
	for (size_t i = 0; i < size; i++)
		db->table[i].key = DBCI_NO_KEY;
	/* exact (id, ext) keys first, the last duplicate winning as in cantools; then, where
	 * nothing holds it yet, the other format of every id (the last of that format) */
	for (int pass = 0; pass < 2; pass++)
		for (size_t k = 0; k < db->messages.n; k++) {
			size_t i = pass == 0 ? k : db->messages.n - 1 - k;
			bool ext = msgs[i]->ext != (pass == 1);
			uint32_t key = msgs[i]->id | (ext ? 0x80000000u : 0);
			size_t h = dbci_hash_id(key, db->table_mask);
			while (db->table[h].key != DBCI_NO_KEY && db->table[h].key != key)
				h = (h + 1) & db->table_mask;
			if (pass == 1 && db->table[h].key == key)
				continue;
			db->table[h].key = key;
			db->table[h].m = msgs[i];
		}
	for (size_t i = 0; i < db->messages.n; i++) {
		struct dbc_signal **sigs = msgs[i]->signals.v;
		msgs[i]->index = i;
		for (size_t k = 0; k < msgs[i]->signals.n; k++)
			sigs[k]->number = number++;
	}
	db->n_signals = number;
	return 0;
}

void dbci_plan_free(struct dbci_plan *p)
{
	free(p);
}

const struct dbc_message *dbc_find_message(const struct dbc *db, uint32_t id, bool ext)
{
	uint32_t key = id | (ext ? 0x80000000u : 0);
	size_t h = dbci_hash_id(key, db->table_mask);
	while (db->table[h].key != DBCI_NO_KEY) {
		if (db->table[h].key == key)
			return db->table[h].m;
		h = (h + 1) & db->table_mask;
	}
	return NULL;
}

int dbc_signal_set_type(struct dbc_signal *s, enum dbc_signal_type type)
{
	switch (type) {
	case DBC_SIGNAL_TYPE_INTEGER:
		s->is_float = false;
		break;
	case DBC_SIGNAL_TYPE_FLOAT:
	case DBC_SIGNAL_TYPE_DOUBLE:
		if (s->length != 16 && s->length != 32 && s->length != 64)
			return -EINVAL;
		s->is_float = true;
		break;
	case DBC_SIGNAL_TYPE_MAX:
		return -EINVAL;
	}
	plan_signal(s);
	return 0;
}

double dbc_value_as_double(struct dbc_value v)
{
	switch (v.type) {
	case DBC_VALUE_INT:
		return (double)v.i;
	case DBC_VALUE_UINT:
		return (double)v.u;
	case DBC_VALUE_FLOAT:
		return v.f;
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return NAN;
}

/* ---- decoding -------------------------------------------------------------------- */

/* data padded with zeros so every load window of 16 bytes stays inside */
#define PAD_LEN (DBC_MAX_MESSAGE_LEN + 16)

static double half_to_double(uint16_t h)
{
	int e = (h >> 10) & 0x1f;
	int mant = h & 0x3ff;
	double v;
	if (e == 0)
		v = ldexp(mant, -24);
	else if (e == 31)
		v = mant ? NAN : INFINITY;
	else
		v = ldexp(mant + 1024, e - 25);
	return (h & 0x8000) ? -v : v;
}

static uint64_t extract(const struct field *pl, bool big_endian, const uint8_t *pad)
{
	if (!pl->wide) {
		uint64_t v;
		memcpy(&v, pad + pl->byte_lo, 8);
		if (big_endian)
			return (be64toh(v) << pl->shift) >> (64 - pl->length);
		return (le64toh(v) >> pl->shift) & pl->mask;
	}
	uint64_t a, b;
	memcpy(&a, pad + pl->byte_lo, 8);
	memcpy(&b, pad + pl->byte_lo + 8, 8);
	if (big_endian) {
		u128 v = ((u128)be64toh(a) << 64) | be64toh(b);
		return (uint64_t)((v << pl->shift) >> (128 - pl->length));
	}
	u128 v = ((u128)le64toh(b) << 64) | le64toh(a);
	return (uint64_t)(v >> pl->shift) & pl->mask;
}

struct raw {
	bool is_float;
	double f;
	int64_t i;  /* signed view (sign-extended for signed signals) */
	uint64_t u; /* unsigned view */
	bool neg_ok;
};

static struct raw raw_value(const struct dbc_signal *s, const struct field *pl, uint64_t bits)
{
	struct raw r = {0};
	if (s->is_float) {
		r.is_float = true;
		if (s->length == 32) {
			float f;
			uint32_t b = (uint32_t)bits;
			memcpy(&f, &b, 4);
			r.f = f;
		} else if (s->length == 64) {
			memcpy(&r.f, &bits, 8);
		} else {
			r.f = half_to_double((uint16_t)bits);
		}
		return r;
	}
	if (s->is_signed && pl->length < 64 && (bits >> (pl->length - 1)) & 1)
		bits |= ~pl->mask;
	r.u = bits;
	r.i = (int64_t)bits;
	r.neg_ok = s->is_signed;
	return r;
}

static struct dbc_value int128_value(s128 v)
{
	struct dbc_value out;
	if (v >= INT64_MIN && v <= INT64_MAX) {
		out.type = DBC_VALUE_INT;
		out.i = (int64_t)v;
	} else if (v > 0 && v <= (s128)UINT64_MAX) {
		out.type = DBC_VALUE_UINT;
		out.u = (uint64_t)v;
	} else {
		out.type = DBC_VALUE_FLOAT;
		out.f = (double)v;
	}
	return out;
}

static struct dbc_value physical(const struct dbc_signal *s, const struct raw *r)
{
	struct dbc_value v;
	if (r->is_float) {
		v.type = DBC_VALUE_FLOAT;
		v.f = s->conv == CONV_IDENTITY ? r->f : r->f * s->factor + s->offset;
		return v;
	}
	s128 raw = r->neg_ok ? (s128)r->i : (s128)r->u;
	switch (s->conv) {
	case CONV_IDENTITY:
		return int128_value(raw);
	case CONV_LINEAR_INT:
		return int128_value(raw * s->iscale + s->ioffset);
	case CONV_LINEAR:
		v.type = DBC_VALUE_FLOAT;
		if (s->factor_is_int_literal)
			/* Python: int * int stays exact, then int + float */
			v.f = (double)(raw * s->iscale) + s->offset;
		else
			v.f = (r->neg_ok ? (double)r->i : (double)r->u) * s->factor + s->offset;
		return v;
	}
	v.type = DBC_VALUE_FLOAT;
	v.f = NAN;
	return v;
}

static const char *choice_of(const struct dbc_signal *s, const struct raw *r,
			     const struct choice **ret)
{
	*ret = NULL;
	if (s->choices.n == 0)
		return NULL;
	int64_t key;
	if (r->is_float) {
		if (!(r->f >= -9.2e18 && r->f <= 9.2e18) || r->f != floor(r->f))
			return NULL;
		key = (int64_t)r->f;
	} else if (!r->neg_ok && r->u > INT64_MAX) {
		return NULL;
	} else {
		key = r->i;
	}
	*ret = dbci_find_choice(s, key);
	return *ret ? (*ret)->label : NULL;
}

struct decode_ctx {
	const uint8_t *pad;
	unsigned avail;
	unsigned msg_len;
	struct dbc_sample *out;
	size_t cap, n;
	struct dbc_decode_status st;
};

static int decode_list(struct decode_ctx *c, const struct dbc_signal *const *sigs, size_t n,
		       const struct dbc_signal *parent, int64_t sel, unsigned depth);

static int decode_one(struct decode_ctx *c, const struct dbc_signal *s, unsigned depth)
{
	const struct field *pl = &s->pl;
	if (s->length > 64 && pl->need <= c->msg_len) {
		/* cantools would give a Python integer of any width; ours stop at 64 bits */
		c->st.flags |= DBC_DECODE_TOO_WIDE;
		return 0;
	}
	if (pl->need > c->avail) {
		if (pl->need <= c->msg_len)
			return 0; /* short frame */
		c->st.flags |= DBC_DECODE_PAST_END;
		pl = &s->part;
		if (pl->length == 0 || pl->need > c->avail)
			return 0;
	}
	if (c->n >= c->cap)
		return -ENOBUFS;
	struct raw r = raw_value(s, pl, extract(pl, s->big_endian, c->pad));
	const struct choice *ch;
	struct dbc_sample *out = &c->out[c->n++];
	out->signal = s;
	out->value = physical(s, &r);
	out->choice = choice_of(s, &r, &ch);
	if (!s->is_multiplexer || !s->check_mux)
		return 0;

	/* cantools selects on int(physical value), or the number a label maps back to */
	int64_t sel;
	if (ch) {
		sel = ch->mux_number;
	} else if (out->value.type == DBC_VALUE_FLOAT) {
		double f = trunc(out->value.f);
		if (!(f >= -9.2e18 && f <= 9.2e18)) {
			if (!(c->st.flags & DBC_DECODE_BAD_MUX)) {
				c->st.bad_mux = s;
				c->st.bad_mux_value = 0;
			}
			c->st.flags |= DBC_DECODE_BAD_MUX;
			return 0;
		}
		sel = (int64_t)f;
	} else if (out->value.type == DBC_VALUE_UINT) {
		sel = INT64_MAX;
	} else {
		sel = out->value.i;
	}
	if (s->check_mux && !dbci_in_ranges(&s->valid_ids, sel)) {
		if (!(c->st.flags & DBC_DECODE_BAD_MUX)) {
			c->st.bad_mux = s;
			c->st.bad_mux_value = sel;
		}
		c->st.flags |= DBC_DECODE_BAD_MUX;
		return 0;
	}
	return decode_list(c, (const struct dbc_signal *const *)s->children.v, s->children.n, s,
			   sel, depth + 1);
}

static int decode_list(struct decode_ctx *c, const struct dbc_signal *const *sigs, size_t n,
		       const struct dbc_signal *parent, int64_t sel, unsigned depth)
{
	if (depth > 64)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (parent && !dbci_in_ranges(&sigs[i]->mux_ranges, sel))
			continue;
		int r = decode_one(c, sigs[i], depth);
		if (r < 0)
			return r;
	}
	return 0;
}

int dbc_decode(const struct dbc_message *m, const uint8_t *data, size_t len, struct dbc_sample *out,
	       size_t cap, struct dbc_decode_status *ret_status)
{
	uint8_t pad[PAD_LEN];
	struct decode_ctx c = {
	    .pad = pad,
	    .msg_len = m->length,
	    .out = out,
	    .cap = cap,
	};
	/* bytes past the message length are ignored, as cantools trims them */
	c.avail = (unsigned)(len < m->length ? len : m->length);
	memset(pad, 0, sizeof(pad));
	if (c.avail)
		memcpy(pad, data, c.avail);
	c.st.frame_len = (unsigned)(len > UINT_MAX ? UINT_MAX : len);
	c.st.message_len = m->length;
	if (len < m->length)
		c.st.flags |= DBC_DECODE_SHORT;
	int r =
	    decode_list(&c, (const struct dbc_signal *const *)m->roots.v, m->roots.n, NULL, 0, 0);
	if (r < 0)
		return r;
	if (m->dup_names) {
		/* one sample per name, like cantools' dict: the value its unpacking leaves */
		size_t n = 0;
		for (size_t i = 0; i < c.n; i++) {
			size_t j;
			for (j = 0; j < n; j++)
				if (strcmp(out[j].signal->name, out[i].signal->name) == 0)
					break;
			if (j == n)
				out[n++] = out[i];
			else if (out[i].signal->dup_rank > out[j].signal->dup_rank)
				out[j] = out[i];
		}
		c.n = n;
	}
	if (ret_status)
		*ret_status = c.st;
	return (int)c.n;
}

int dbc_decode_status_format(const struct dbc_decode_status *st, char *buf, size_t size)
{
	if (st->flags & DBC_DECODE_SHORT)
		return snprintf(buf, size, "frame is %u bytes, message is %u bytes", st->frame_len,
				st->message_len);
	if (st->flags & DBC_DECODE_BAD_MUX)
		return snprintf(buf, size, "multiplexer %s value %lld selects no signals",
				st->bad_mux ? st->bad_mux->name : "?",
				(long long)st->bad_mux_value);
	if (st->flags & DBC_DECODE_PAST_END)
		return snprintf(buf, size, "signals extend past the %u-byte message",
				st->message_len);
	if (st->flags & DBC_DECODE_TOO_WIDE)
		return snprintf(buf, size, "signals wider than 64 bits are not decoded");
	if (size)
		buf[0] = '\0';
	return 0;
}

int dbc_signal_decode_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
			  double *ret_raw)
{
	uint8_t pad[PAD_LEN];
	if (s->length > 64)
		return -ERANGE;
	if (s->pl.need > len || s->pl.need > DBC_MAX_MESSAGE_LEN)
		return -ENODATA;
	memset(pad, 0, sizeof(pad));
	memcpy(pad, data, s->pl.need);
	struct raw r = raw_value(s, &s->pl, extract(&s->pl, s->big_endian, pad));
	*ret_raw = r.is_float ? r.f : r.neg_ok ? (double)r.i : (double)r.u;
	return 0;
}

int dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len,
		      struct dbc_value *ret_value)
{
	uint8_t pad[PAD_LEN];
	if (s->length > 64)
		return -ERANGE;
	if (s->pl.need > len || s->pl.need > DBC_MAX_MESSAGE_LEN)
		return -ENODATA;
	memset(pad, 0, sizeof(pad));
	memcpy(pad, data, s->pl.need);
	struct raw r = raw_value(s, &s->pl, extract(&s->pl, s->big_endian, pad));
	*ret_value = physical(s, &r);
	return 0;
}

/* ---- encoding -------------------------------------------------------------------- */

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

	s128 raw;
	if (v.type != DBC_VALUE_FLOAT && s->conv != CONV_LINEAR) {
		s128 x = v.type == DBC_VALUE_INT ? (s128)v.i : (s128)v.u;
		if (s->conv == CONV_IDENTITY) {
			raw = x;
		} else {
			s128 d = x - s->ioffset;
			if (s->iscale == 0)
				return -ERANGE;
			if (d % s->iscale == 0) {
				raw = d / s->iscale;
			} else {
				double q = nearbyint((double)d / (double)s->iscale);
				if (!(q >= -0x1p64 && q < 0x1p64))
					return -ERANGE;
				raw = (s128)q;
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
		if (!(q >= -0x1p64 && q < 0x1p64))
			return -ERANGE;
		raw = (s128)q;
	}

	if (s->is_signed) {
		s128 lo = -((s128)1 << (s->length - 1)), hi = ((s128)1 << (s->length - 1)) - 1;
		if (raw < lo || raw > hi)
			return -ERANGE;
	} else if (raw < 0 || raw > (s128)s->pl.mask) {
		return -ERANGE;
	}
	*ret_bits = (uint64_t)raw & s->pl.mask;
	return 0;
}

static void insert(const struct dbc_signal *s, uint8_t *pad, uint64_t bits)
{
	const struct field *pl = &s->pl;
	uint64_t a, b;
	memcpy(&a, pad + pl->byte_lo, 8);
	memcpy(&b, pad + pl->byte_lo + 8, 8);
	if (s->big_endian) {
		u128 v = ((u128)be64toh(a) << 64) | be64toh(b);
		unsigned sh = 128 - pl->shift - pl->length;
		u128 mask = (u128)pl->mask << sh;
		v = (v & ~mask) | ((u128)bits << sh);
		a = htobe64((uint64_t)(v >> 64));
		b = htobe64((uint64_t)v);
	} else {
		u128 v = ((u128)le64toh(b) << 64) | le64toh(a);
		u128 mask = (u128)pl->mask << pl->shift;
		v = (v & ~mask) | ((u128)bits << pl->shift);
		a = htole64((uint64_t)v);
		b = htole64((uint64_t)(v >> 64));
	}
	memcpy(pad + pl->byte_lo, &a, 8);
	memcpy(pad + pl->byte_lo + 8, &b, 8);
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
	if (depth > 64)
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
	uint8_t pad[PAD_LEN];
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
