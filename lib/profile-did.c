/* SPDX-License-Identifier: MIT */
/*
 * profile-did: a profile's [did] sections: their keys, their signals compiled as a
 * one-message DBC, decoding and formatting a DID's payload.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/numfmt.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bytes.h"
#include "profile-private.h"

static void did_free_src(struct profile_did *d)
{
	for (size_t i = 0; i < d->nsrc; i++) {
		free(d->src[i].text);
		free(d->src[i].name);
		free(d->src[i].values.s);
	}
	free(d->src);
	d->src = NULL;
	d->nsrc = 0;
}

void profile_did_free(struct profile_did *d)
{
	if (!d)
		return;
	did_free_src(d);
	dbc_free(d->db);
	free(d->signals);
	free(d->signal_lines);
	free(d->signal_columns);
	free(d->name);
	free(d);
}

/* ---- DID signals ---- */

/* Bytes of payload a signal needs (lib/dbc bit numbering: Motorola start = MSB). */
static unsigned signal_bytes(const struct dbc_signal *s)
{
	unsigned start = dbc_signal_start(s), len = dbc_signal_length(s);
	if (!dbc_signal_is_big_endian(s))
		return (start + len - 1) / 8 + 1;
	unsigned in_first = start % 8 + 1;
	if (len <= in_first)
		return start / 8 + 1;
	return start / 8 + 1 + (len - in_first + 7) / 8;
}

/* Where each line of a generated DBC came from, to report its errors on the profile. */
struct origin {
	unsigned line, column; /* of the profile value */
	unsigned prefix;       /* bytes of generated text before the value on that line */
};

struct gen {
	struct text t;
	struct origin *orig;
	size_t norig, caporig;
};

static void gen_line(struct gen *g, unsigned line, unsigned column, unsigned prefix)
{
	if (g->norig == g->caporig) {
		size_t cap = g->caporig ? g->caporig * 2 : 16;
		struct origin *o = realloc(g->orig, cap * sizeof(*o));
		if (!o) {
			g->t.oom = true;
			return;
		}
		g->orig = o;
		g->caporig = cap;
	}
	g->orig[g->norig++] = (struct origin){line, column, prefix};
}

static unsigned map_column(const struct origin *o, unsigned column)
{
	if (column <= o->prefix)
		return o->column;
	return o->column + (column - 1 - o->prefix);
}

/*
 * Builds and parses the one-message DBC of a DID's signals [0, nsig) with their values.
 * On a DBC error, reports it on the profile line it came from.
 */
static int profile_compile_did(struct profile_parser *p, struct profile_did *d, size_t nsig,
			       struct dbc **ret)
{
	struct gen g = {0};
	struct dbc_error de = {0};
	struct dbc *db = NULL;
	unsigned msglen = d->length > 0 && d->length <= (int)DBC_MAX_MESSAGE_LEN
			      ? (unsigned)d->length
			      : DBC_MAX_MESSAGE_LEN;
	int r;

	gen_line(&g, d->line, d->column, 0);
	profile_text_add(&g.t, DID_MSG_HEADER, msglen);
	for (size_t i = 0; i < nsig; i++) {
		gen_line(&g, d->src[i].line, d->src[i].column, 4);
		profile_text_add(&g.t, "SG_ %s\n", d->src[i].text);
	}
	for (size_t i = 0; i < nsig; i++) {
		if (!d->src[i].values.len)
			continue;
		size_t before = g.t.len;
		profile_text_add(&g.t, "VAL_ 1 %s ", d->src[i].name);
		gen_line(&g, d->src[i].values_line, d->src[i].values_column,
			 (unsigned)(g.t.len - before));
		profile_text_add(&g.t, "%s ;\n", d->src[i].values.s);
	}
	if (g.t.oom) {
		r = -ENOMEM;
		goto out;
	}
	r = dbc_parse(g.t.s, g.t.len, p->filename, NULL, NULL, &de, &db);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		const struct origin *o =
		    de.line >= 1 && de.line <= g.norig ? &g.orig[de.line - 1] : &g.orig[0];
		r = profile_fail(p, o->line, map_column(o, de.column), "%s", de.message);
		goto out;
	}
	*ret = db;
	db = NULL;
	r = 0;
out:
	dbc_free(db);
	free(g.t.s);
	free(g.orig);
	return r;
}

/*
 * A `values` list: pairs of an integer raw value and a quoted label, the VAL_ syntax.
 * Checked here rather than left to lib/dbc, which skips a value that is not an integer
 * with a warning and accepts a missing `;`; a profile refuses both.
 */
static int check_values(struct profile_parser *p, const char *v, size_t vn, unsigned vcol)
{
	size_t i = 0;
	while (i < vn) {
		while (i < vn && profile_is_ws(v[i]))
			i++;
		if (i == vn)
			break;
		size_t a = i, e = i;
		while (e < vn && !profile_is_ws(v[e]) && v[e] != '"')
			e++;
		if (v[i] == '-' || v[i] == '+')
			i++;
		size_t digits = i;
		uint64_t x = 0;
		bool range = true;
		while (i < e && profile_is_digit(v[i])) {
			if (x > (UINT64_MAX - 9) / 10)
				range = false;
			x = x * 10 + (unsigned)(v[i] - '0');
			i++;
		}
		if (i == digits && e == a)
			return profile_fail(p, p->lineno, vcol + (unsigned)a,
					    "expected a value before the label");
		if (i != e || i == digits)
			return profile_fail(p, p->lineno, vcol + (unsigned)a,
					    "value '%.*s' is not an integer", (int)(e - a), v + a);
		if (!range || x > (uint64_t)INT64_MAX)
			return profile_fail(p, p->lineno, vcol + (unsigned)a,
					    "value '%.*s' is out of range", (int)(e - a), v + a);
		while (i < vn && profile_is_ws(v[i]))
			i++;
		if (i == vn || v[i] != '"')
			return profile_fail(p, p->lineno, vcol + (unsigned)i,
					    "expected a quoted label after %.*s", (int)(e - a),
					    v + a);
		/* the line lexer has checked that the quote is closed */
		for (i++; i < vn && v[i] != '"'; i++)
			if (v[i] == '\\' && i + 1 < vn && v[i + 1] == '"')
				i++;
		i++;
	}
	return 0;
}

int profile_pair_did(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct profile_did *d = p->did;
	struct profile *pr = p->prof;
	uint32_t x;
	int r;

	switch (key) {
	case 0: /* name */
		if (vn == 0)
			return profile_fail(p, p->lineno, vcol, "empty value");
		for (size_t i = 0; i + 1 < pr->ndids; i++)
			if (strlen(pr->dids[i]->name) == vn &&
			    memcmp(pr->dids[i]->name, v, vn) == 0)
				return profile_fail(p, p->lineno, vcol,
						    "duplicate DID name '%.*s' (first at line %u)",
						    (int)vn, v, pr->dids[i]->name_line);
		d->name_line = p->lineno;
		d->name_column = vcol;
		return profile_set_string(p, &d->name, v, vn, vcol);
	case 1: /* length */
		if (!profile_parse_dec(v, vn, 1, PROFILE_MAX_DID_LENGTH, &x))
			return profile_fail(p, p->lineno, vcol,
					    "bad length '%.*s' (expected 1..%u bytes)", (int)vn, v,
					    PROFILE_MAX_DID_LENGTH);
		d->length = (int)x;
		d->has_length = true;
		d->length_line = p->lineno;
		d->length_column = vcol;
		for (size_t i = 0; i < d->nsrc; i++)
			if (d->src[i].need > x)
				return profile_fail(
				    p, p->lineno, vcol,
				    "length %u is too short for signal '%s' (line %u)", x,
				    d->src[i].name, d->src[i].line);
		return 0;
	case 2: { /* signal */
		struct dbc_error de = {0};
		struct dbc_signal *s = NULL;
		if (d->ascii)
			return profile_fail(p, p->lineno, vcol,
					    "'signal' and 'ascii' in the same DID");
		if (d->nsrc == PROFILE_MAX_SIGNALS)
			return profile_fail(p, p->lineno, vcol, "more than %u signals in one DID",
					    PROFILE_MAX_SIGNALS);
		r = dbc_signal_parse(v, vn, &de, &s);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			/* the value is one line, so the DBC column is an offset into it */
			return profile_fail(p, p->lineno, vcol + (de.column ? de.column - 1 : 0),
					    "%s", de.message);
		const char *name = dbc_signal_name(s);
		unsigned need = signal_bytes(s);
		size_t skip = 0;
		for (size_t i = 0; i < d->nsrc; i++)
			if (strcmp(d->src[i].name, name) == 0) {
				profile_fail(p, p->lineno, vcol,
					     "duplicate signal '%s' in DID 0x%04X", name, d->id);
				dbc_signal_free(s);
				return -EINVAL;
			}
		if (d->has_length && need > (unsigned)d->length) {
			profile_fail(p, p->lineno, vcol,
				     "signal '%s' needs %u bytes, outside length %d", name, need,
				     d->length);
			dbc_signal_free(s);
			return -EINVAL;
		}
		if (!PUSH(d->src, d->nsrc)) {
			dbc_signal_free(s);
			return -ENOMEM;
		}
		/* the generated DBC writes its own SG_ keyword */
		if (vn >= 3 && memcmp(v, "SG_", 3) == 0 && (vn == 3 || profile_is_ws(v[3])))
			for (skip = 3; skip < vn && profile_is_ws(v[skip]);)
				skip++;
		struct sig_src *src = &d->src[d->nsrc];
		*src = (struct sig_src){
		    .text = profile_dup_n(v + skip, vn - skip),
		    .name = strdup(name),
		    .need = need,
		    .line = p->lineno,
		    .column = vcol + (unsigned)skip,
		};
		dbc_signal_free(s);
		d->nsrc++;
		if (!src->text || !src->name)
			return -ENOMEM;
		return 0;
	}
	case 3: { /* values */
		if (d->nsrc == 0)
			return profile_fail(p, p->lineno, vcol,
					    "'values' without a preceding 'signal'");
		if (vn == 0)
			return profile_fail(p, p->lineno, vcol, "empty value");
		if ((r = check_values(p, v, vn, vcol)) < 0)
			return r;
		struct sig_src *src = &d->src[d->nsrc - 1];
		if (!src->values.len) {
			src->values_line = p->lineno;
			src->values_column = vcol;
		}
		/* several lines are one VAL_ list: a repeated value keeps its last label */
		profile_text_add(&src->values, "%s%.*s", src->values.len ? " " : "", (int)vn, v);
		return src->values.oom ? -ENOMEM : 0;
	}
	case 4: /* ascii */
		if (d->nsrc > 0)
			return profile_fail(p, p->lineno, vcol,
					    "'signal' and 'ascii' in the same DID");
		if (!profile_parse_dec(v, vn, 1, PROFILE_MAX_DID_LENGTH, &x))
			return profile_fail(p, p->lineno, vcol,
					    "bad ascii length '%.*s' (expected 1..%u bytes)",
					    (int)vn, v, PROFILE_MAX_DID_LENGTH);
		d->ascii = true;
		d->need = x;
		d->ascii_line = p->lineno;
		d->ascii_column = vcol;
		return 0;
	}
	return 0;
}

size_t profile_did_count(const struct profile *p)
{
	return p->ndids;
}

const struct profile_did *profile_did_at(const struct profile *p, size_t i)
{
	return i < p->ndids ? p->dids[i] : NULL;
}

const struct profile_did *profile_did_find(const struct profile *p, const char *ecu, uint16_t did)
{
	for (size_t i = 0; i < p->ndids; i++)
		if (p->dids[i]->id == did && (!ecu || strcmp(p->dids[i]->ecu, ecu) == 0))
			return p->dids[i];
	return NULL;
}

const struct profile_did *profile_did_find_name(const struct profile *p, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < p->ndids; i++)
		if (strcmp(p->dids[i]->name, name) == 0)
			return p->dids[i];
	for (size_t i = 0; i < p->ndids; i++)
		for (size_t j = 0; j < p->dids[i]->nsignals; j++)
			if (strcmp(dbc_signal_name(p->dids[i]->signals[j]), name) == 0)
				return p->dids[i];
	return NULL;
}

uint16_t profile_did_id(const struct profile_did *d)
{
	return d->id;
}
const char *profile_did_ecu(const struct profile_did *d)
{
	return d->ecu;
}
const char *profile_did_name(const struct profile_did *d)
{
	return d->name;
}
int profile_did_length(const struct profile_did *d)
{
	return d->length;
}
bool profile_did_is_ascii(const struct profile_did *d)
{
	return d->ascii;
}
size_t profile_did_signal_count(const struct profile_did *d)
{
	return d->nsignals;
}
const struct dbc_signal *profile_did_signal_at(const struct profile_did *d, size_t i)
{
	return i < d->nsignals ? d->signals[i] : NULL;
}

static bool length_ok(const struct profile_did *d, size_t len)
{
	if (d->length >= 0)
		return len == (size_t)d->length;
	return len >= d->need;
}

int profile_did_decode(const struct profile_did *d, const uint8_t *data, size_t len,
		       profile_value_cb cb, void *userdata)
{
	int r;
	if (!length_ok(d, len))
		return -EBADMSG;
	if (d->ascii) {
		char *t = malloc(len + 1);
		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < len; i++)
			t[i] = data[i] >= 0x20 && data[i] <= 0x7E ? (char)data[i] : '.';
		t[len] = 0;
		r = cb(userdata, d, NULL, (struct dbc_value){.type = DBC_VALUE_INT}, NULL, t);
		free(t);
		return r < 0 ? r : 0;
	}
	for (size_t i = 0; i < d->nsignals; i++) {
		const struct dbc_signal *s = d->signals[i];
		struct dbc_value v;
		double raw;
		const char *label = NULL;
		r = dbc_signal_decode(s, data, len, &v);
		if (r == -ENODATA)
			return -EBADMSG;
		if (r < 0)
			return r;
		if (dbc_signal_choice_count(s) > 0 &&
		    dbc_signal_decode_raw(s, data, len, &raw) == 0 && raw >= (double)INT64_MIN &&
		    raw < (double)INT64_MAX)
			label = dbc_signal_choice_label(s, (int64_t)raw);
		if ((r = cb(userdata, d, s, v, label, NULL)) < 0)
			return r;
	}
	return 0;
}

struct fmt_state {
	char *buf;
	size_t size, used;
	bool truncated;
	unsigned n;
};

static void fmt_add(struct fmt_state *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void fmt_add(struct fmt_state *f, const char *fmt, ...)
{
	va_list ap;
	size_t room = f->used < f->size ? f->size - f->used : 0;
	va_start(ap, fmt);
	int n = vsnprintf(f->buf + f->used, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		f->truncated = true;
		f->used = f->size ? f->size - 1 : 0;
		return;
	}
	f->used += (size_t)n;
}

static int fmt_value(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
		     struct dbc_value v, const char *label, const char *text)
{
	struct fmt_state *f = userdata;
	if (f->n++)
		fmt_add(f, ", ");
	if (!s) {
		fmt_add(f, "%s=\"%s\"", d->name, text ? text : "");
		return 0;
	}
	fmt_add(f, "%s=", dbc_signal_name(s));
	switch (v.type) {
	case DBC_VALUE_INT:
		fmt_add(f, "%" PRId64, v.i);
		break;
	case DBC_VALUE_UINT:
		fmt_add(f, "%" PRIu64, v.u);
		break;
	case DBC_VALUE_FLOAT:
	case DBC_VALUE_TYPE_MAX:
	{
		char num[NUMFMT_DOUBLE_MAX];
		numfmt_double_text(num, dbc_value_as_double(v));
		fmt_add(f, "%s", num);
	}
		break;
	}
	if (*dbc_signal_unit(s))
		fmt_add(f, " %s", dbc_signal_unit(s));
	if (label)
		fmt_add(f, " (%s)", label);
	return 0;
}

int profile_did_format(const struct profile_did *d, const uint8_t *data, size_t len, char *buf,
		       size_t size)
{
	struct fmt_state f = {.buf = buf, .size = size};
	int r;
	if (size == 0)
		return -ENOBUFS;
	buf[0] = 0;
	r = profile_did_decode(d, data, len, fmt_value, &f);
	if (r == -EBADMSG) {
		if (d->length >= 0)
			snprintf(buf, size, "length %zu, expected %d", len, d->length);
		else
			snprintf(buf, size, "length %zu, expected at least %u", len, d->need);
		return r;
	}
	if (r < 0)
		return r;
	return f.truncated ? -ENOBUFS : 0;
}

/* The end of a [did] section: ascii or signals, the signals compiled and checked. */
int profile_end_did(struct profile_parser *p)
{
	int r;
	struct profile_did *d = p->did;
	if (d->nsrc == 0 && !d->ascii)
		return profile_fail(p, p->sec_line, p->sec_column,
				    "DID 0x%04X has neither 'signal' nor 'ascii'", d->id);
	if (d->ascii && d->has_length && d->length != (int)d->need)
		return profile_fail(p, d->length_line, d->length_column,
				    "length %d differs from ascii %u", d->length, d->need);
	if (d->ascii) {
		d->length = (int)d->need;
	} else {
		if (d->nsrc == 1 && strcmp(d->name, d->src[0].name) != 0)
			return profile_fail(p, d->name_line, d->name_column,
					    "DID name '%s' differs from its only signal '%s'",
					    d->name, d->src[0].name);
		if ((r = profile_compile_did(p, d, d->nsrc, &d->db)) < 0)
			return r;
		const struct dbc_message *m = dbc_message_at(d->db, 0);
		if (!m || dbc_message_signal_count(m) != d->nsrc)
			return profile_fail(p, p->sec_line, p->sec_column,
					    "DID 0x%04X: signals do not compile", d->id);
		d->signals = calloc(d->nsrc, sizeof(*d->signals));
		d->signal_lines = calloc(d->nsrc, sizeof(*d->signal_lines));
		d->signal_columns = calloc(d->nsrc, sizeof(*d->signal_columns));
		if (!d->signals || !d->signal_lines || !d->signal_columns)
			return -ENOMEM;
		for (size_t i = 0; i < d->nsrc; i++) {
			const struct dbc_signal *s = dbc_message_signal_at(m, i);
			unsigned need = signal_bytes(s);
			if (dbc_signal_is_multiplexer(s) || dbc_signal_multiplexer(s))
				return profile_fail(p, d->src[i].line, d->src[i].column,
						    "multiplexed signals are not allowed in a DID");
			if (dbc_signal_length(s) > 64)
				return profile_fail(p, d->src[i].line, d->src[i].column,
						    "signal '%s' is wider than 64 bits",
						    dbc_signal_name(s));
			if (need > d->need)
				d->need = need;
			d->signals[i] = s;
			d->signal_lines[i] = d->src[i].line;
			d->signal_columns[i] = d->src[i].column;
		}
		d->nsignals = d->nsrc;
	}
	did_free_src(d);
	return 0;
}
