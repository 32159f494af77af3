/* SPDX-License-Identifier: MIT */
/*
 * The DBC codec: message lookup by id, decode and encode. Semantics that decide what a
 * user sees (which signals a multiplexer selects, integer or float results) follow
 * cantools 42 so both tools give the same answer.
 *
 * At load every message is compiled into a plan: a flat array of ops in decode order
 * (roots, each multiplexer followed by the signals below it). The common signal (an
 * integer field of at most 64 bits, inside the message, with no or 1:1 integer scaling,
 * or a double factor and offset) is one op of a fast kind: one 8-byte load, two shifts,
 * at most a multiply and an add, a label from a table. Everything else (IEEE floats,
 * values that need 128 bits, fields reaching past the message, multiplexers, long value
 * tables) takes the general path, which is the reference for what the fast kinds give.
 * Nothing is allocated and no string is compared per frame.
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
#include "wide.h"

/* value tables of fields up to this many bits may be looked up directly */
#define LABEL_TABLE_BITS 8u

static struct dbc_value wide_value(struct wide w)
{
	struct dbc_value out;
	if (!w.hi && (w.neg ? w.lo <= (uint64_t)INT64_MAX + 1 : w.lo <= INT64_MAX)) {
		out.type = DBC_VALUE_INT;
		out.i = w.neg ? (int64_t)(0 - w.lo) : (int64_t)w.lo;
	} else if (!w.hi && !w.neg) {
		out.type = DBC_VALUE_UINT;
		out.u = w.lo;
	} else {
		out.type = DBC_VALUE_FLOAT;
		out.f = wide_to_double(w);
	}
	return out;
}

/* ---- fields and conversions ----------------------------------------------------------- */

static bool integral(double d)
{
	return isfinite(d) && d == floor(d);
}

static void make_field(struct field *pl, bool big_endian, unsigned start, unsigned length)
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

/* Conversion class and field of one signal. */
static void locate_signal(struct dbc_signal *s)
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

	make_field(&s->pl, s->big_endian, s->start, s->length);
}

/* The part of a signal that lies inside a message of len bytes, when it sticks out. */
static void locate_part(struct dbc_signal *s, unsigned len)
{
	unsigned first = s->big_endian ? dbci_network_msb(s->start) : s->start;
	memset(&s->part, 0, sizeof(s->part));
	if (s->pl.need <= len || s->is_float || first >= 8 * len)
		return;
	unsigned avail = 8 * len - first;
	if (avail >= s->length || avail > 64)
		return;
	make_field(&s->part, s->big_endian, s->start, avail);
}

void dbci_signal_locate(struct dbc_signal *s, unsigned msg_len)
{
	locate_signal(s);
	if (msg_len)
		locate_part(s, msg_len);
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
	locate_signal(s);
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

/* ---- the general path ------------------------------------------------------------------ */

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

/* The field's bits (length <= 64) from zero-padded data. */
static uint64_t extract(const struct field *pl, bool big_endian, const uint8_t *pad)
{
	const uint8_t *p = pad + pl->byte_lo;
	if (big_endian) {
		uint64_t v = dbci_load_be(p) << pl->shift;
		if (pl->wide)
			v |= dbci_load_be(p + 8) >> (64 - pl->shift);
		return v >> (64 - pl->length);
	}
	uint64_t v = dbci_load_le(p) >> pl->shift;
	if (pl->wide)
		v |= dbci_load_le(p + 8) << (64 - pl->shift);
	return v & pl->mask;
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

static struct dbc_value physical(const struct dbc_signal *s, const struct raw *r)
{
	struct dbc_value v;
	if (r->is_float) {
		v.type = DBC_VALUE_FLOAT;
		v.f = s->conv == CONV_IDENTITY ? r->f : r->f * s->factor + s->offset;
		return v;
	}
	struct wide raw = r->neg_ok ? wide_from_i64(r->i) : wide_from_u64(r->u);
	switch (s->conv) {
	case CONV_IDENTITY:
		return wide_value(raw);
	case CONV_LINEAR_INT:
		return wide_value(wide_add_i64(wide_mul_i64(raw, s->iscale), s->ioffset));
	case CONV_LINEAR:
		v.type = DBC_VALUE_FLOAT;
		if (s->factor_is_int_literal)
			/* Python: int * int stays exact, then int + float */
			v.f = wide_to_double(wide_mul_i64(raw, s->iscale)) + s->offset;
		else
			v.f = (r->neg_ok ? (double)r->i : (double)r->u) * s->factor + s->offset;
		return v;
	}
	v.type = DBC_VALUE_FLOAT;
	v.f = NAN;
	return v;
}

static const struct choice *choice_of(const struct dbc_signal *s, const struct raw *r)
{
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
	return dbci_find_choice(s, key);
}

/*
 * One signal of a message the general way: 1 and *o written (o NULL: -ENOBUFS) when it is
 * in the data, 0 when not; what was left out goes to st->flags. *ret_choice is the label's
 * entry (a multiplexer selects by it).
 */
static int decode_general(const struct dbc_signal *s, const uint8_t *pad, unsigned avail,
			  unsigned msg_len, struct dbc_sample *o, struct dbc_decode_status *st,
			  const struct choice **ret_choice)
{
	const struct field *pl = &s->pl;
	if (s->length > 64 && pl->need <= msg_len) {
		/* cantools would give a Python integer of any width; ours stop at 64 bits */
		st->flags |= DBC_DECODE_TOO_WIDE;
		return 0;
	}
	if (pl->need > avail) {
		if (pl->need <= msg_len)
			return 0; /* short frame */
		st->flags |= DBC_DECODE_PAST_END;
		pl = &s->part;
		if (pl->length == 0 || pl->need > avail)
			return 0;
	}
	if (!o)
		return -ENOBUFS;
	struct raw r = raw_value(s, pl, extract(pl, s->big_endian, pad));
	const struct choice *ch = choice_of(s, &r);
	o->signal = s;
	o->value = physical(s, &r);
	o->choice = ch ? ch->label : NULL;
	*ret_choice = ch;
	return 1;
}

/* The selector a multiplexer's sample gives: cantools selects on int(physical value), or
 * the number a label maps back to. false when no signal can be selected by it. */
static bool mux_select(const struct dbc_signal *s, const struct dbc_sample *o,
		       const struct choice *ch, struct dbc_decode_status *st, int64_t *ret_sel)
{
	int64_t sel;
	if (ch) {
		sel = ch->mux_number;
	} else if (o->value.type == DBC_VALUE_FLOAT) {
		double f = trunc(o->value.f);
		if (!(f >= -9.2e18 && f <= 9.2e18)) {
			if (!(st->flags & DBC_DECODE_BAD_MUX)) {
				st->bad_mux = s;
				st->bad_mux_value = 0;
			}
			st->flags |= DBC_DECODE_BAD_MUX;
			return false;
		}
		sel = (int64_t)f;
	} else if (o->value.type == DBC_VALUE_UINT) {
		sel = INT64_MAX;
	} else {
		sel = o->value.i;
	}
	if (!dbci_in_ranges(&s->valid_ids, sel)) {
		if (!(st->flags & DBC_DECODE_BAD_MUX)) {
			st->bad_mux = s;
			st->bad_mux_value = sel;
		}
		st->flags |= DBC_DECODE_BAD_MUX;
		return false;
	}
	*ret_sel = sel;
	return true;
}

/* ---- plans ---------------------------------------------------------------------------- */

/*
 * What an op does: byte order and signedness of the field, times the conversion, times
 * with or without value labels (body = 4 * conversion + field, + OP_LABELED), or the
 * general path. OP_SELECT and OP_END are only dispatched: a multiplexed op checks its
 * selector before its body; the end of a plan.
 */
enum op_kind {
	OP_LE_U_INT, /* the raw integer (factor 1, offset 0) */
	OP_LE_S_INT,
	OP_BE_U_INT,
	OP_BE_S_INT,
	OP_LE_U_LIN, /* raw * scale + offset in 64 bits (integral factor and offset) */
	OP_LE_S_LIN,
	OP_BE_U_LIN,
	OP_BE_S_LIN,
	OP_LE_U_FLT, /* (double)raw * factor + offset */
	OP_LE_S_FLT,
	OP_BE_U_FLT,
	OP_BE_S_FLT,
	OP_LABELED,		     /* + one of the above: a label from op->labels */
	OP_GENERAL = 2 * OP_LABELED, /* decode_general(), and a multiplexer's selection */
	OP_SELECT,
	OP_END,
	OP_KIND_MAX,
};

struct op {
	const struct dbc_signal *sig;
	union {
		int64_t i;
		double f;
	} scale, offset;
	uint64_t mask;		   /* of an unsigned field */
	const char *const *labels; /* by raw bits (2^length entries) */
	uint8_t kind;		   /* enum op_kind: what is dispatched */
	uint8_t body;		   /* enum op_kind: what decodes the signal */
	uint8_t byte_lo;	   /* the 8-byte load window: data[byte_lo .. byte_lo + 7] */
	uint8_t sh1, sh2;	   /* unsigned: (window >> sh1) & mask; signed:
				    * (window << sh1) >> sh2, arithmetic */
	uint8_t need;		   /* bytes of data the field needs (0: the general path checks) */
	uint8_t label_mask;
	uint8_t depth; /* multiplexers above it */
	bool mux;      /* a multiplexer: selects the ops after it, up to end */
	uint32_t end;  /* index after the ops below it */
};

struct dbci_plan {
	size_t n;	   /* ops, followed by one OP_END */
	unsigned max_need; /* data of at least this many bytes needs no per-op length check */
	struct op ops[];
};

/* Largest raw magnitude of an integer field, as a double (2^length is an upper bound). */
static double raw_bound(const struct dbc_signal *s)
{
	return ldexp(1.0, (int)s->length);
}

/* The fast body of s in message m (without labels), or OP_GENERAL. */
static enum op_kind fast_kind(const struct dbc_signal *s, const struct dbc_message *m, bool mux,
			      struct op *op)
{
	unsigned field = (s->big_endian ? 2u : 0u) + (s->is_signed ? 1u : 0u);

	if (s->is_float || s->length > 64 || s->pl.wide || s->pl.need > m->length || mux)
		return OP_GENERAL;
	/* a direct table of labels costs 8 bytes per raw value: only where labels are dense
	 * enough (wide sparse enums are searched, on the general path) */
	if (s->choices.n > 0 && (s->length > LABEL_TABLE_BITS ||
				 (s->length > 4 && (1u << s->length) > 8 * s->choices.n)))
		return OP_GENERAL;
	switch (s->conv) {
	case CONV_IDENTITY:
		/* an unsigned 64-bit value above INT64_MAX is DBC_VALUE_UINT */
		if (!s->is_signed && s->length == 64)
			return OP_GENERAL;
		return OP_LE_U_INT + field;
	case CONV_LINEAR_INT:
		if (raw_bound(s) * fabs((double)s->iscale) + fabs((double)s->ioffset) >= 0x1p62)
			return OP_GENERAL;
		op->scale.i = s->iscale;
		op->offset.i = s->ioffset;
		return OP_LE_U_LIN + field;
	case CONV_LINEAR:
		if (!s->is_signed && s->length == 64)
			return OP_GENERAL; /* (double) of the unsigned value */
		/* an integer literal factor multiplies exactly first: the same as a double
		 * product while that stays within 53 bits */
		if (s->factor_is_int_literal && raw_bound(s) * fabs(s->factor) > 0x1p53)
			return OP_GENERAL;
		op->scale.f = s->factor;
		op->offset.f = s->offset;
		return OP_LE_U_FLT + field;
	}
	return OP_GENERAL;
}

static int make_op(struct dbc *db, const struct dbc_message *m, const struct dbc_signal *s,
		   unsigned depth, struct op *op)
{
	op->sig = s;
	op->depth = (uint8_t)depth;
	op->mux = s->is_multiplexer && s->check_mux;
	op->body = (uint8_t)fast_kind(s, m, op->mux, op);
	op->kind = depth ? OP_SELECT : op->body;
	if (op->body == OP_GENERAL)
		return 0;
	op->byte_lo = (uint8_t)s->pl.byte_lo;
	op->need = (uint8_t)s->pl.need;
	op->mask = s->pl.mask;
	if (!s->is_signed)
		op->sh1 = (uint8_t)(s->big_endian ? 64 - s->pl.shift - s->length : s->pl.shift);
	else
		op->sh1 = (uint8_t)(s->big_endian ? s->pl.shift : 64 - s->pl.shift - s->length);
	op->sh2 = (uint8_t)(64 - s->length);
	if (s->choices.n == 0)
		return 0;
	size_t n = (size_t)1 << s->length;
	const char **labels = dbci_arena_alloc(&db->arena, n * sizeof(*labels));
	if (!labels)
		return -ENOMEM;
	for (size_t b = 0; b < n; b++) {
		int64_t v = (int64_t)b;
		if (s->is_signed && (b >> (s->length - 1)) & 1)
			v -= (int64_t)n;
		const struct choice *c = dbci_find_choice(s, v);
		labels[b] = c ? c->label : NULL;
	}
	op->labels = labels;
	op->label_mask = (uint8_t)(n - 1);
	op->body += OP_LABELED;
	if (!depth)
		op->kind = op->body;
	return 0;
}

/* Ops of s and, below a multiplexer, of the signals it selects, in cantools' order. */
static int flatten(struct dbc *db, const struct dbc_message *m, const struct dbc_signal *s,
		   unsigned depth, struct dbci_plan *p)
{
	size_t at = p->n++;
	int r = make_op(db, m, s, depth, &p->ops[at]);
	if (r < 0)
		return r;
	if (p->ops[at].mux && depth < DBCI_MAX_DEPTH) {
		const struct dbc_signal *const *ch = s->children.v;
		for (size_t k = 0; k < s->children.n; k++)
			if ((r = flatten(db, m, ch[k], depth + 1, p)) < 0)
				return r;
	}
	p->ops[at].end = (uint32_t)p->n;
	return 0;
}

static int compile_message(struct dbc *db, struct dbc_message *m)
{
	/* every signal is at most once in the tree: its multiplexer is unique */
	struct dbci_plan *p =
	    dbci_arena_alloc(&db->arena, sizeof(*p) + (m->signals.n + 1) * sizeof(struct op));
	if (!p)
		return -ENOMEM;
	const struct dbc_signal *const *roots = m->roots.v;
	for (size_t i = 0; i < m->roots.n; i++) {
		int r = flatten(db, m, roots[i], 0, p);
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < p->n; i++)
		if (p->ops[i].need > p->max_need)
			p->max_need = p->ops[i].need;
	p->ops[p->n].kind = OP_END;
	m->plan = p;
	return 0;
}

static const struct dbc_message *find_in_table(const struct dbc *db, uint32_t key)
{
	size_t h = dbci_hash_id(key, db->table_mask);
	while (db->table[h].key != DBCI_NO_KEY) {
		if (db->table[h].key == key)
			return db->table[h].m;
		h = (h + 1) & db->table_mask;
	}
	return NULL;
}

static int build_table(struct dbc *db)
{
	struct dbc_message **msgs = db->messages.v;
	size_t size = 16;
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
	/* 11-bit ids, what most buses carry, are one load away; not in a database of one
	 * message (a profile's DID is one: 16 KiB each for nothing), whose table finds it in
	 * a probe */
	if (db->messages.n >= DBCI_STD_MIN_MESSAGES) {
		db->std = calloc(DBCI_STD_IDS, sizeof(*db->std));
		if (!db->std)
			return -ENOMEM;
		for (size_t i = 0; i < db->messages.n; i++)
			if (msgs[i]->id < DBCI_STD_IDS)
				db->std[msgs[i]->id] = find_in_table(db, msgs[i]->id);
	}
	return 0;
}

int dbci_compile(struct dbc *db)
{
	struct dbc_message **msgs = db->messages.v;
	size_t number = 0;
	int r;

	for (size_t i = 0; i < db->messages.n; i++) {
		struct dbc_signal **sigs = msgs[i]->signals.v;
		msgs[i]->index = i;
		for (size_t k = 0; k < msgs[i]->signals.n; k++)
			sigs[k]->number = number++;
		if ((r = compile_message(db, msgs[i])) < 0)
			return r;
	}
	db->n_signals = number;
	return build_table(db);
}

const struct dbc_message *dbc_find_message(const struct dbc *db, uint32_t id, bool ext)
{
	if (!ext && id < DBCI_STD_IDS && db->std)
		return db->std[id];
	return find_in_table(db, id | (ext ? 0x80000000u : 0));
}

/* ---- decoding ------------------------------------------------------------------------- */

/*
 * A plan with a limit on the samples (-ENOBUFS past cap), every op the general way: the
 * reference the fast path must agree with.
 */
static int run_plan_general(const struct dbci_plan *p, const uint8_t *pad, unsigned avail,
			    unsigned msg_len, struct dbc_sample *out, size_t cap,
			    struct dbc_decode_status *st)
{
	int64_t sel[DBCI_MAX_DEPTH + 1];
	size_t n = 0;

	for (size_t i = 0; i < p->n;) {
		const struct op *op = &p->ops[i];
		const struct choice *ch = NULL;
		if (op->depth && !dbci_in_ranges(&op->sig->mux_ranges, sel[op->depth - 1])) {
			i = op->end;
			continue;
		}
		int got =
		    decode_general(op->sig, pad, avail, msg_len, n < cap ? &out[n] : NULL, st, &ch);
		if (got < 0)
			return got;
		n += (size_t)got;
		if (op->mux && (!got || !mux_select(op->sig, &out[n - 1], ch, st, &sel[op->depth])))
			i = op->end;
		else
			i++;
	}
	return (int)n;
}

/* One sample per name, like cantools' dict: the value its unpacking leaves. */
static size_t keep_last_of_name(struct dbc_sample *out, size_t n_in)
{
	size_t n = 0;
	for (size_t i = 0; i < n_in; i++) {
		size_t j;
		for (j = 0; j < n; j++)
			if (out[j].signal->dup_group == out[i].signal->dup_group)
				break;
		if (j == n)
			out[n++] = out[i];
		else if (out[i].signal->dup_rank > out[j].signal->dup_rank)
			out[j] = out[i];
	}
	return n;
}

/*
 * Decoding runs the message's plan threaded: every op's code ends by jumping straight to
 * the next op's (no loop, no range check), so the common signal costs about fifteen
 * instructions. With data shorter than the plan's max_need each op's length is checked
 * first; with less room than ops the plan runs the general way (run_plan_general).
 */
int dbc_decode(const struct dbc_message *m, const uint8_t *data, size_t len, struct dbc_sample *out,
	       size_t cap, struct dbc_decode_status *ret_status)
{
#define BODIES(LABELED, SUFFIX)                                                                    \
	[OP_LE_U_INT + (LABELED)] = &&le_u_int##SUFFIX, [OP_LE_S_INT + (LABELED)] = &&le_s_int##SUFFIX, \
	[OP_BE_U_INT + (LABELED)] = &&be_u_int##SUFFIX, [OP_BE_S_INT + (LABELED)] = &&be_s_int##SUFFIX, \
	[OP_LE_U_LIN + (LABELED)] = &&le_u_lin##SUFFIX, [OP_LE_S_LIN + (LABELED)] = &&le_s_lin##SUFFIX, \
	[OP_BE_U_LIN + (LABELED)] = &&be_u_lin##SUFFIX, [OP_BE_S_LIN + (LABELED)] = &&be_s_lin##SUFFIX, \
	[OP_LE_U_FLT + (LABELED)] = &&le_u_flt##SUFFIX, [OP_LE_S_FLT + (LABELED)] = &&le_s_flt##SUFFIX, \
	[OP_BE_U_FLT + (LABELED)] = &&be_u_flt##SUFFIX, [OP_BE_S_FLT + (LABELED)] = &&be_s_flt##SUFFIX
	static const void *const body[OP_KIND_MAX] = {
	    BODIES(0, ), BODIES(OP_LABELED, _l),
	    [OP_GENERAL] = &&general, [OP_SELECT] = &&select, [OP_END] = &&end,
	};
	static const void *const check[OP_KIND_MAX] = {
	    [0 ... OP_END - 1] = &&check_need,
	    [OP_END] = &&end,
	};
#undef BODIES
	const struct dbci_plan *p = m->plan;
	uint8_t pad[DBCI_PAD_LEN];
	struct dbc_decode_status st = {
	    .frame_len = (unsigned)(len > UINT_MAX ? UINT_MAX : len),
	    .message_len = m->length,
	};
	/* bytes past the message length are ignored, as cantools trims them */
	unsigned avail = (unsigned)(len < m->length ? len : m->length);
	const struct op *op = p->ops;
	struct dbc_sample *o = out;
	int64_t sel[DBCI_MAX_DEPTH + 1];
	uint64_t w;
	int64_t v;
	size_t n;

	/* a field's load window ends at most 15 bytes past the data it needs: zeros there */
	if (avail == 8)
		memcpy(pad, data, 8); /* classic CAN: one load, no call */
	else if (avail)
		memcpy(pad, data, avail);
	memset(pad + avail, 0, 16);
	if (len < m->length)
		st.flags |= DBC_DECODE_SHORT;
	if (cap < p->n) {
		int r = run_plan_general(p, pad, avail, m->length, out, cap, &st);
		if (r < 0)
			return r;
		n = (size_t)r;
		goto done;
	}
	const void *const *dispatch = avail < p->max_need ? check : body;

#define NEXT goto *dispatch[op->kind]
#define LOAD memcpy(&w, pad + op->byte_lo, 8)
#define LE_U (int64_t)((le64toh(w) >> op->sh1) & op->mask)
#define LE_S ((int64_t)(le64toh(w) << op->sh1) >> op->sh2)
#define BE_U (int64_t)((be64toh(w) >> op->sh1) & op->mask)
#define BE_S ((int64_t)(be64toh(w) << op->sh1) >> op->sh2)
#define AS_INT                                                                                     \
	o->value.type = DBC_VALUE_INT;                                                             \
	o->value.i = v
#define AS_LIN                                                                                     \
	o->value.type = DBC_VALUE_INT;                                                             \
	o->value.i = v * op->scale.i + op->offset.i
#define AS_FLT                                                                                     \
	o->value.type = DBC_VALUE_FLOAT;                                                           \
	o->value.f = (double)v * op->scale.f + op->offset.f
#define UNLABELED o->choice = NULL
#define LABELED o->choice = op->labels[v & op->label_mask]
/* one body per kind, written out whole: no jump between field and conversion */
#define BODY(NAME, FIELD, CONV, LABEL)                                                             \
	NAME : LOAD;                                                                               \
	v = FIELD;                                                                                 \
	CONV;                                                                                      \
	o->signal = op->sig;                                                                       \
	LABEL;                                                                                     \
	o++;                                                                                       \
	op++;                                                                                      \
	NEXT;
#define FIELDS(KIND, CONV, SUFFIX, LABEL)                                                          \
	BODY(le_u_##KIND##SUFFIX, LE_U, CONV, LABEL)                                               \
	BODY(le_s_##KIND##SUFFIX, LE_S, CONV, LABEL)                                               \
	BODY(be_u_##KIND##SUFFIX, BE_U, CONV, LABEL)                                               \
	BODY(be_s_##KIND##SUFFIX, BE_S, CONV, LABEL)

	NEXT;

check_need:
	if (op->need > avail) {
		op = p->ops + op->end;
		NEXT;
	}
	goto *body[op->kind];

select:
	if (!dbci_in_ranges(&op->sig->mux_ranges, sel[op->depth - 1])) {
		op = p->ops + op->end;
		NEXT;
	}
	goto *body[op->body];

general: {
	const struct choice *ch = NULL;
	int got = decode_general(op->sig, pad, avail, m->length, o, &st, &ch);
	o += got;
	if (op->mux && (!got || !mux_select(op->sig, o - 1, ch, &st, &sel[op->depth])))
		op = p->ops + op->end;
	else
		op++;
	NEXT;
}

	FIELDS(int, AS_INT, , UNLABELED)
	FIELDS(lin, AS_LIN, , UNLABELED)
	FIELDS(flt, AS_FLT, , UNLABELED)
	FIELDS(int, AS_INT, _l, LABELED)
	FIELDS(lin, AS_LIN, _l, LABELED)
	FIELDS(flt, AS_FLT, _l, LABELED)

end:
	n = (size_t)(o - out);
#undef FIELDS
#undef BODY
#undef LABELED
#undef UNLABELED
#undef AS_FLT
#undef AS_LIN
#undef AS_INT
#undef BE_S
#undef BE_U
#undef LE_S
#undef LE_U
#undef LOAD
#undef NEXT
done:
	if (m->dup_names)
		n = keep_last_of_name(out, n);
	if (ret_status)
		*ret_status = st;
	return (int)n;
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

/* A standalone signal's raw value from data (bit positions count from data[0]). */
static int signal_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
		      struct raw *ret_raw)
{
	uint8_t pad[DBCI_PAD_LEN];
	if (s->length > 64)
		return -ERANGE;
	if (s->pl.need > len || s->pl.need > DBC_MAX_MESSAGE_LEN)
		return -ENODATA;
	memset(pad, 0, sizeof(pad));
	memcpy(pad, data, s->pl.need);
	*ret_raw = raw_value(s, &s->pl, extract(&s->pl, s->big_endian, pad));
	return 0;
}

int dbc_signal_decode_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
			  double *ret_raw)
{
	struct raw r;
	int ret = signal_raw(s, data, len, &r);
	if (ret < 0)
		return ret;
	*ret_raw = r.is_float ? r.f : r.neg_ok ? (double)r.i : (double)r.u;
	return 0;
}

int dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len,
		      struct dbc_value *ret_value)
{
	struct raw r;
	int ret = signal_raw(s, data, len, &r);
	if (ret < 0)
		return ret;
	*ret_value = physical(s, &r);
	return 0;
}
