/* SPDX-License-Identifier: MIT */
/*
 * profile: vehicle profile parser (profiles/README.md, format 1).
 *
 * Line oriented and streaming: bytes are buffered up to the next newline only, so a
 * profile of any size costs one line of buffer plus what it declares. Each line is
 * checked as soon as it is complete; section-level checks (required keys, a DID's
 * signals) run when the next section starts or at finish.
 *
 * DID signals are lib/dbc signals. `values` labels must become VAL_ choices, and lib/dbc
 * attaches choices only while parsing a whole database, so each DID is compiled as a
 * one-message DBC ("BO_ 1 D: ...", its SG_ lines, its VAL_ lines): the profile decodes
 * with exactly the engine and the number rules the bus decoder uses. Each `signal` is
 * first checked alone with dbc_signal_parse() and each `values` by check_values(), so
 * mistakes are reported on their own line (a signal's with the DBC parser's message and
 * column).
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
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bytes.h"

#define DEFAULT_P2_MS 50u
#define DEFAULT_P2STAR_MS 5000u
#define DEFAULT_S3_MS 5000u
#define DID_MSG_HEADER "BO_ 1 D: %u Vector__XXX\n"

/* ---- the profile ---- */

/* A growing string; oom is sticky. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void text_add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	if (t->oom)
		return;
	va_start(ap, fmt);
	int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		t->oom = true;
		return;
	}
	if (t->len + (size_t)n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		while (cap < t->len + (size_t)n + 1)
			cap *= 2;
		char *b = realloc(t->s, cap);
		if (!b) {
			t->oom = true;
			return;
		}
		t->s = b;
		t->cap = cap;
		va_start(ap, fmt);
		vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
	}
	t->len += (size_t)n;
}


struct sig_src {
	char *text; /* the `signal` value without a leading SG_ keyword */
	char *name;
	struct text values; /* all `values` of this signal, joined by blanks */
	unsigned need; /* payload bytes it needs */
	unsigned line, column;		 /* of the signal value */
	unsigned values_line, values_column; /* of its first `values` */
};

struct profile_did {
	uint16_t id;
	const char *ecu; /* the ecu's id string */
	char *name;
	int length; /* -1 = any */
	bool ascii;
	unsigned need; /* bytes the signals need */
	struct dbc *db;
	const struct dbc_signal **signals;
	unsigned *signal_lines, *signal_columns; /* where each was defined, for errors */
	size_t nsignals;
	/* parse state, freed once the section is compiled */
	struct sig_src *src;
	size_t nsrc;
	unsigned line, column; /* of the section header */
	unsigned ascii_line, ascii_column, length_line, length_column, name_line, name_column;
	bool has_length;
};

struct ecu_entry {
	struct profile_ecu pub;
	struct isotp_addr_spec spec; /* addressing keys, checked together at the section's end */
	unsigned line;
	unsigned ocd_line, ocd_column;	 /* output_control_did */
	unsigned resp_line, resp_column; /* response */
};

struct dtc_entry {
	struct profile_dtc pub;
	unsigned line;
};

struct role_entry {
	struct profile_role pub;
	struct profile_role_map *map;
	unsigned grade_line, grade_column, default_line, default_column;
	unsigned scale_line, scale_column;
	bool has_offset;
};

struct profile {
	char *filename;
	char *make, *platform, *name, *bus, *dbc;
	uint32_t bitrate;
	struct ecu_entry **ecus;
	size_t necus;
	struct profile_did **dids;
	size_t ndids;
	struct dtc_entry **dtcs;
	size_t ndtcs;
	struct role_entry **roles;
	size_t nroles;
};

/* ---- parser state ---- */

enum section_kind {
	SECTION_NONE,
	SECTION_VEHICLE,
	SECTION_ECU,
	SECTION_DID,
	SECTION_DTC,
	SECTION_ROLE,
	SECTION_MAX,
};

enum key_mult {
	KEY_REQUIRED,
	KEY_OPTIONAL,
	KEY_MULTI,
};

struct key_def {
	const char *name;
	enum key_mult mult;
};

static const struct key_def vehicle_keys[] = {
    {"make", KEY_REQUIRED}, {"platform", KEY_REQUIRED}, {"name", KEY_OPTIONAL},
    {"bus", KEY_OPTIONAL},  {"bitrate", KEY_OPTIONAL},	{"dbc", KEY_OPTIONAL},
    {NULL, 0},
};
/* request and response are required by the addressing (lib/isotp_addr): normal needs
 * them, normal_fixed computes them. Keys from ECU_ADDR_KEY_FIRST on go to isotp_addr. */
#define ECU_ADDR_KEY_FIRST 9
static const struct key_def ecu_keys[] = {
    {"name", KEY_OPTIONAL},	  {"request", KEY_OPTIONAL},   {"response", KEY_OPTIONAL},
    {"functional", KEY_OPTIONAL}, {"padding", KEY_OPTIONAL},   {"p2_ms", KEY_OPTIONAL},
    {"p2star_ms", KEY_OPTIONAL},  {"s3_ms", KEY_OPTIONAL},     {"output_control_did", KEY_OPTIONAL},
    {"addressing", KEY_OPTIONAL}, {"target", KEY_OPTIONAL},    {"source", KEY_OPTIONAL},
    {"ext_address", KEY_OPTIONAL}, {"bs", KEY_OPTIONAL},       {"stmin", KEY_OPTIONAL},
    {NULL, 0},
};
static const struct key_def did_keys[] = {
    {"name", KEY_REQUIRED}, {"length", KEY_OPTIONAL}, {"signal", KEY_MULTI},
    {"values", KEY_MULTI},  {"ascii", KEY_OPTIONAL},  {NULL, 0},
};
static const struct key_def dtc_keys[] = {
    {"text", KEY_REQUIRED},
    {"source", KEY_REQUIRED},
    {"set", KEY_OPTIONAL},
    {NULL, 0},
};

static const struct key_def role_keys[] = {
    {"dbc_signal", KEY_OPTIONAL}, {"did", KEY_OPTIONAL},	 {"map", KEY_MULTI},
    {"default", KEY_OPTIONAL}, {"scale", KEY_OPTIONAL},	 {"offset", KEY_OPTIONAL},
    {"source", KEY_REQUIRED},  {"grade", KEY_REQUIRED},	 {"note", KEY_OPTIONAL},
    {NULL, 0},
};

static const struct {
	const char *word;
	unsigned nargs;
	const char *usage;
	const struct key_def *keys;
} sections[SECTION_MAX] = {
    [SECTION_VEHICLE] = {"vehicle", 0, "[vehicle]", vehicle_keys},
    [SECTION_ECU] = {"ecu", 1, "[ecu NAME]", ecu_keys},
    [SECTION_DID] = {"did", 2, "[did ECU ID]", did_keys},
    [SECTION_DTC] = {"dtc", 2, "[dtc ECU CODE]", dtc_keys},
    [SECTION_ROLE] = {"role", 1, "[role NAME]", role_keys},
};

struct profile_parser {
	char *filename;
	struct profile *prof;
	char line[PROFILE_MAX_LINE + 2]; /* room for a CR and the byte that overflows */
	size_t linelen;
	unsigned lineno; /* of the line being buffered */
	size_t total;
	int failed;		  /* sticky error */
	struct profile_error err; /* copy of the first error */
	bool format_seen, vehicle_seen, any_section;
	enum section_kind kind;
	unsigned sec_line, sec_column;
	unsigned seen[32]; /* per key of the current section: line where it was set */
	struct ecu_entry *ecu;
	struct profile_did *did;
	struct dtc_entry *dtc;
	struct role_entry *role;
};

static int fail(struct profile_parser *p, unsigned line, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct profile_parser *p, unsigned line, unsigned column, const char *fmt, ...)
{
	va_list ap;
	snprintf(p->err.file, sizeof(p->err.file), "%s", p->filename);
	p->err.line = line;
	p->err.column = column;
	va_start(ap, fmt);
	vsnprintf(p->err.message, sizeof(p->err.message), fmt, ap);
	va_end(ap);
	p->failed = -EINVAL;
	return -EINVAL;
}

/* Arrays hold exactly n elements and grow by doubling when n is 0 or a power of two. */
static void *grow(void *v, size_t n, size_t size)
{
	if (n != 0 && (n & (n - 1)) != 0)
		return v;
	return realloc(v, (n ? n * 2 : 1) * size);
}

/* Makes room for element n of an array; NULL on allocation failure. */
#define PUSH(arr, n)                                                                               \
	({                                                                                         \
		void *_g = grow((arr), (n), sizeof(*(arr)));                                       \
		if (_g)                                                                            \
			(arr) = _g;                                                                \
		_g;                                                                                \
	})

/* ---- freeing ---- */

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

static void did_free(struct profile_did *d)
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

struct profile *profile_free(struct profile *p)
{
	if (!p)
		return NULL;
	free(p->make);
	free(p->platform);
	free(p->name);
	free(p->bus);
	free(p->dbc);
	for (size_t i = 0; i < p->necus; i++) {
		free((char *)p->ecus[i]->pub.id);
		free((char *)p->ecus[i]->pub.name);
		free(p->ecus[i]);
	}
	free(p->ecus);
	for (size_t i = 0; i < p->ndids; i++)
		did_free(p->dids[i]);
	free(p->dids);
	for (size_t i = 0; i < p->ndtcs; i++) {
		free((char *)p->dtcs[i]->pub.text);
		free((char *)p->dtcs[i]->pub.source);
		free((char *)p->dtcs[i]->pub.set);
		free(p->dtcs[i]);
	}
	free(p->dtcs);
	for (size_t i = 0; i < p->nroles; i++) {
		struct role_entry *e = p->roles[i];
		for (size_t k = 0; k < e->pub.n_map; k++)
			free((char *)e->map[k].from_label);
		free(e->map);
		free((char *)e->pub.message);
		free((char *)e->pub.signal);
		free((char *)e->pub.ecu);
		free((char *)e->pub.source);
		free((char *)e->pub.note);
		free(e);
	}
	free(p->roles);
	free(p->filename);
	free(p);
	return NULL;
}

struct profile_parser *profile_parser_new(const char *filename)
{
	struct profile_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->filename = strdup(filename ? filename : "<memory>");
	p->prof = calloc(1, sizeof(*p->prof));
	if (!p->filename || !p->prof)
		return profile_parser_free(p);
	p->prof->filename = strdup(p->filename);
	if (!p->prof->filename)
		return profile_parser_free(p);
	p->lineno = 1;
	return p;
}

struct profile_parser *profile_parser_free(struct profile_parser *p)
{
	if (!p)
		return NULL;
	profile_free(p->prof);
	free(p->filename);
	free(p);
	return NULL;
}

/* ---- lexical helpers ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t';
}

static bool is_lower(char c)
{
	return c >= 'a' && c <= 'z';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* "0x" + 1..8 hex digits. */
static bool parse_hex(const char *s, size_t n, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;
	if (n < 3 || n > 10 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
		return false;
	for (size_t i = 2; i < n; i++) {
		int h = hex_digit(s[i]);
		if (h < 0)
			return false;
		v = v * 16 + (unsigned)h;
	}
	if (v > max)
		return false;
	*ret = (uint32_t)v;
	return true;
}

static bool parse_dec(const char *s, size_t n, uint32_t min, uint32_t max, uint32_t *ret)
{
	uint64_t v = 0;
	if (n == 0 || n > 10)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v < min || v > max)
		return false;
	*ret = (uint32_t)v;
	return true;
}

/* NAME: [a-z][a-z0-9_]* */
static bool is_name(const char *s, size_t n)
{
	if (n == 0 || !is_lower(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_lower(s[i]) && !is_digit(s[i]) && s[i] != '_')
			return false;
	return true;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	if (s[0] < 0x80)
		return 1;
	size_t len;
	uint32_t min, cp;
	if ((s[0] & 0xE0) == 0xC0)
		len = 2, min = 0x80, cp = s[0] & 0x1F;
	else if ((s[0] & 0xF0) == 0xE0)
		len = 3, min = 0x800, cp = s[0] & 0x0F;
	else if ((s[0] & 0xF8) == 0xF0)
		len = 4, min = 0x10000, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static char *dup_n(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = 0;
	return d;
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
static int compile_signals(struct profile_parser *p, struct profile_did *d, size_t nsig,
			   struct dbc **ret)
{
	struct gen g = {0};
	struct dbc_error de = {0};
	struct dbc *db = NULL;
	unsigned msglen = d->length > 0 && d->length <= (int)DBC_MAX_MESSAGE_LEN ? (unsigned)d->length
										 : DBC_MAX_MESSAGE_LEN;
	int r;

	gen_line(&g, d->line, d->column, 0);
	text_add(&g.t, DID_MSG_HEADER, msglen);
	for (size_t i = 0; i < nsig; i++) {
		gen_line(&g, d->src[i].line, d->src[i].column, 4);
		text_add(&g.t, "SG_ %s\n", d->src[i].text);
	}
	for (size_t i = 0; i < nsig; i++) {
		if (!d->src[i].values.len)
			continue;
		size_t before = g.t.len;
		text_add(&g.t, "VAL_ 1 %s ", d->src[i].name);
		gen_line(&g, d->src[i].values_line, d->src[i].values_column,
			 (unsigned)(g.t.len - before));
		text_add(&g.t, "%s ;\n", d->src[i].values.s);
	}
	if (g.t.oom) {
		r = -ENOMEM;
		goto out;
	}
	r = dbc_parse(g.t.s, g.t.len, p->filename, NULL, NULL, &de, &db);
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		const struct origin *o = de.line >= 1 && de.line <= g.norig ? &g.orig[de.line - 1]
									 : &g.orig[0];
		r = fail(p, o->line, map_column(o, de.column), "%s", de.message);
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

/* ---- sections ---- */

static int key_index(const struct key_def *keys, const char *k, size_t n)
{
	for (int i = 0; keys[i].name; i++)
		if (strlen(keys[i].name) == n && memcmp(keys[i].name, k, n) == 0)
			return i;
	return -1;
}

static int start_role(struct profile_parser *p, unsigned column, const char *name, size_t len,
		      unsigned col);
static int end_role(struct profile_parser *p);

/* The [ecu] section's addressing, checked as a whole (lib/isotp_addr); request_id,
 * response_id and padding of the public struct follow it. */
static int ecu_addressing(struct profile_parser *p)
{
	struct ecu_entry *e = p->ecu;
	struct isotp_addr_spec *s = &e->spec;
	const char *key = NULL;
	char why[160];

	if (p->seen[1])
		s->request = e->pub.request_id;
	if (p->seen[2])
		s->response = e->pub.response_id;
	if (p->seen[3])
		s->functional = e->pub.functional_id;
	s->padding = e->pub.padding;
	if (isotp_addr_spec_build(s, &e->pub.addr, &key, why, sizeof(why)) < 0) {
		int k = key ? key_index(ecu_keys, key, strlen(key)) : -1;
		if (k >= 0 && p->seen[k])
			return fail(p, p->seen[k], 1, "%s", why);
		return fail(p, p->sec_line, p->sec_column, "%s in %s", why, sections[SECTION_ECU].usage);
	}
	e->pub.request_id = e->pub.addr.tx_id;
	e->pub.response_id = e->pub.addr.rx_id;
	return 0;
}

static int end_section(struct profile_parser *p)
{
	const struct key_def *keys = sections[p->kind].keys;
	int r;

	if (p->kind == SECTION_NONE)
		return 0;
	for (int i = 0; keys[i].name; i++)
		if (keys[i].mult == KEY_REQUIRED && !p->seen[i])
			return fail(p, p->sec_line, p->sec_column, "missing required key '%s' in %s",
				    keys[i].name, sections[p->kind].usage);

	/* request and response both written, and equal: said at the response's position */
	if (p->kind == SECTION_ECU && p->seen[1] && p->seen[2] &&
	    p->ecu->pub.request_id == p->ecu->pub.response_id)
		/* ISO-TP needs two ids: one each way (the kernel refuses a socket with both equal) */
		return fail(p, p->ecu->resp_line, p->ecu->resp_column,
			    "response id 0x%X is the request id too; an ECU answers on an id of its own",
			    p->ecu->pub.response_id);
	if (p->kind == SECTION_ROLE && (r = end_role(p)) < 0)
		return r;
	if (p->kind == SECTION_ECU && (r = ecu_addressing(p)) < 0)
		return r;
	if (p->kind == SECTION_DID) {
		struct profile_did *d = p->did;
		if (d->nsrc == 0 && !d->ascii)
			return fail(p, p->sec_line, p->sec_column,
				    "DID 0x%04X has neither 'signal' nor 'ascii'", d->id);
		if (d->ascii && d->has_length && d->length != (int)d->need)
			return fail(p, d->length_line, d->length_column,
				    "length %d differs from ascii %u", d->length, d->need);
		if (d->ascii) {
			d->length = (int)d->need;
		} else {
			if (d->nsrc == 1 && strcmp(d->name, d->src[0].name) != 0)
				return fail(p, d->name_line, d->name_column,
					    "DID name '%s' differs from its only signal '%s'",
					    d->name, d->src[0].name);
			if ((r = compile_signals(p, d, d->nsrc, &d->db)) < 0)
				return r;
			const struct dbc_message *m = dbc_message_at(d->db, 0);
			if (!m || dbc_message_signal_count(m) != d->nsrc)
				return fail(p, p->sec_line, p->sec_column,
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
					return fail(p, d->src[i].line, d->src[i].column,
						    "multiplexed signals are not allowed in a DID");
				if (dbc_signal_length(s) > 64)
					return fail(p, d->src[i].line, d->src[i].column,
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
	}
	p->kind = SECTION_NONE;
	return 0;
}

static int start_section(struct profile_parser *p, enum section_kind kind, unsigned column,
			 const char *const *arg, const size_t *arglen, const unsigned *argcol)
{
	struct profile *pr = p->prof;
	int r;

	if ((r = end_section(p)) < 0)
		return r;
	if (kind == SECTION_VEHICLE) {
		if (p->vehicle_seen)
			return fail(p, p->lineno, column, "a second [vehicle] section");
		if (p->any_section)
			return fail(p, p->lineno, column,
				    "[vehicle] must come before any other section");
		p->vehicle_seen = true;
	} else if (!p->vehicle_seen) {
		return fail(p, p->lineno, column, "[vehicle] must come before any other section");
	}
	p->any_section = true;
	p->kind = kind;
	p->sec_line = p->lineno;
	p->sec_column = column;
	memset(p->seen, 0, sizeof(p->seen));

	if (kind == SECTION_ECU) {
		if (!is_name(arg[0], arglen[0]))
			return fail(p, p->lineno, argcol[0],
				    "bad ECU name '%.*s' (expected [a-z][a-z0-9_]*)", (int)arglen[0],
				    arg[0]);
		for (size_t i = 0; i < pr->necus; i++)
			if (strlen(pr->ecus[i]->pub.id) == arglen[0] &&
			    memcmp(pr->ecus[i]->pub.id, arg[0], arglen[0]) == 0)
				return fail(p, p->lineno, argcol[0],
					    "duplicate [ecu %s] (first at line %u)", pr->ecus[i]->pub.id,
					    pr->ecus[i]->line);
		if (pr->necus == PROFILE_MAX_ECUS)
			return fail(p, p->lineno, column, "more than %u ECUs", PROFILE_MAX_ECUS);
		struct ecu_entry *e = calloc(1, sizeof(*e));
		if (!e || !PUSH(pr->ecus, pr->necus)) {
			free(e);
			return -ENOMEM;
		}
		pr->ecus[pr->necus++] = e;
		e->line = p->lineno;
		e->pub.padding = -1;
		isotp_addr_spec_init(&e->spec);
		e->pub.p2_ms = DEFAULT_P2_MS;
		e->pub.p2star_ms = DEFAULT_P2STAR_MS;
		e->pub.s3_ms = DEFAULT_S3_MS;
		if (!(e->pub.id = dup_n(arg[0], arglen[0])))
			return -ENOMEM;
		p->ecu = e;
		return 0;
	}
	if (kind == SECTION_ROLE)
		return start_role(p, column, arg[0], arglen[0], argcol[0]);
	if (kind == SECTION_DID || kind == SECTION_DTC) {
		const struct ecu_entry *ecu = NULL;
		for (size_t i = 0; i < pr->necus; i++)
			if (strlen(pr->ecus[i]->pub.id) == arglen[0] &&
			    memcmp(pr->ecus[i]->pub.id, arg[0], arglen[0]) == 0)
				ecu = pr->ecus[i];
		if (!ecu)
			return fail(p, p->lineno, argcol[0], "undeclared ECU '%.*s'", (int)arglen[0],
				    arg[0]);
		if (kind == SECTION_DID) {
			uint32_t id;
			if (arglen[1] != 6 || !parse_hex(arg[1], arglen[1], 0xFFFF, &id))
				return fail(p, p->lineno, argcol[1],
					    "bad DID '%.*s' (expected 0x and 4 hex digits)",
					    (int)arglen[1], arg[1]);
			for (size_t i = 0; i < pr->ndids; i++)
				if (pr->dids[i]->id == id && pr->dids[i]->ecu == ecu->pub.id)
					return fail(p, p->lineno, argcol[1],
						    "duplicate [did %s 0x%04X] (first at line %u)",
						    ecu->pub.id, id, pr->dids[i]->line);
			if (pr->ndids == PROFILE_MAX_DIDS)
				return fail(p, p->lineno, column, "more than %u DIDs", PROFILE_MAX_DIDS);
			struct profile_did *d = calloc(1, sizeof(*d));
			if (!d || !PUSH(pr->dids, pr->ndids)) {
				free(d);
				return -ENOMEM;
			}
			pr->dids[pr->ndids++] = d;
			d->id = (uint16_t)id;
			d->ecu = ecu->pub.id;
			d->length = -1;
			d->line = p->lineno;
			d->column = column;
			p->did = d;
			return 0;
		}
		/* L D H H H - H H, then lib/dtc's J2012 reading of it */
		const char *c = arg[1];
		uint32_t code;
		bool ok = arglen[1] == 8 && strchr("PCBU", c[0]) && c[1] >= '0' && c[1] <= '3' &&
			  hex_digit(c[2]) >= 0 && hex_digit(c[3]) >= 0 && hex_digit(c[4]) >= 0 && c[5] == '-' &&
			  hex_digit(c[6]) >= 0 && hex_digit(c[7]) >= 0;
		char code_text[DTC_TEXT_MAX];
		if (ok) {
			memcpy(code_text, c, 8);
			code_text[8] = 0;
			ok = dtc_parse(code_text, &code) == 0;
		}
		if (!ok)
			return fail(p, p->lineno, argcol[1],
				    "bad DTC '%.*s' (expected SAE J2012 text like B1A40-13)",
				    (int)arglen[1], arg[1]);
		for (size_t i = 0; i < pr->ndtcs; i++)
			if (pr->dtcs[i]->pub.code == code && pr->dtcs[i]->pub.ecu == ecu->pub.id)
				return fail(p, p->lineno, argcol[1],
					    "duplicate [dtc %s %s] (first at line %u)", ecu->pub.id,
					    code_text, pr->dtcs[i]->line);
		if (pr->ndtcs == PROFILE_MAX_DTCS)
			return fail(p, p->lineno, column, "more than %u DTCs", PROFILE_MAX_DTCS);
		struct dtc_entry *e = calloc(1, sizeof(*e));
		if (!e || !PUSH(pr->dtcs, pr->ndtcs)) {
			free(e);
			return -ENOMEM;
		}
		pr->dtcs[pr->ndtcs++] = e;
		e->pub.ecu = ecu->pub.id;
		e->pub.code = code;
		e->line = p->lineno;
		p->dtc = e;
	}
	return 0;
}

static int parse_section(struct profile_parser *p, const char *s, size_t n, size_t i)
{
	size_t col0 = i;
	const char *arg[3];
	size_t arglen[3];
	unsigned argcol[3];
	unsigned nargs = 0;
	enum section_kind kind = SECTION_NONE;

	i++;
	size_t k = i;
	while (i < n && is_lower(s[i]))
		i++;
	for (enum section_kind sk = SECTION_VEHICLE; sk < SECTION_MAX; sk++)
		if (strlen(sections[sk].word) == i - k && memcmp(sections[sk].word, s + k, i - k) == 0)
			kind = sk;
	if (kind == SECTION_NONE) {
		size_t e = k;
		while (e < n && !is_ws(s[e]) && s[e] != ']' && s[e] != ';')
			e++;
		return fail(p, p->lineno, (unsigned)k + 1, "unknown section kind '%.*s'",
			    (int)(e - k), s + k);
	}
	for (;;) {
		if (i < n && s[i] == ']')
			break;
		if (i >= n || s[i] == ';')
			return fail(p, p->lineno, (unsigned)i + 1, "missing ']'");
		if (!is_ws(s[i]))
			return fail(p, p->lineno, (unsigned)i + 1, "unexpected '%c' in section header",
				    s[i]);
		while (i < n && is_ws(s[i]))
			i++;
		if (i < n && s[i] == ']')
			return fail(p, p->lineno, (unsigned)i + 1, "blank before ']'");
		if (i >= n || s[i] == ';')
			return fail(p, p->lineno, (unsigned)i + 1, "missing ']'");
		size_t a = i;
		while (i < n && !is_ws(s[i]) && s[i] != ']' && s[i] != ';')
			i++;
		if (nargs == sections[kind].nargs)
			return fail(p, p->lineno, (unsigned)a + 1, "too many arguments: %s",
				    sections[kind].usage);
		arg[nargs] = s + a;
		arglen[nargs] = i - a;
		argcol[nargs] = (unsigned)a + 1;
		nargs++;
	}
	if (nargs != sections[kind].nargs)
		return fail(p, p->lineno, (unsigned)i + 1, "missing arguments: %s",
			    sections[kind].usage);
	i++;
	while (i < n && is_ws(s[i]))
		i++;
	if (i < n && s[i] != ';')
		return fail(p, p->lineno, (unsigned)i + 1, "unexpected text after ']'");
	return start_section(p, kind, (unsigned)col0 + 1, arg, arglen, argcol);
}

static int set_string(struct profile_parser *p, char **dst, const char *v, size_t vn, unsigned vcol)
{
	if (vn == 0)
		return fail(p, p->lineno, vcol, "empty value");
	free(*dst);
	*dst = dup_n(v, vn);
	return *dst ? 0 : -ENOMEM;
}

static int set_can_id(struct profile_parser *p, uint32_t *dst, const char *v, size_t vn, unsigned vcol)
{
	if (!parse_hex(v, vn, 0x1FFFFFFF, dst))
		return fail(p, p->lineno, vcol, "bad CAN id '%.*s' (expected 0x and up to 8 hex digits, at most 0x1FFFFFFF)",
			    (int)vn, v);
	return 0;
}

static int set_ms(struct profile_parser *p, uint32_t *dst, const char *v, size_t vn, unsigned vcol)
{
	/* one hour: far above any ISO 14229 timing, low enough to add to µs clocks */
	if (!parse_dec(v, vn, 1, 3600000, dst))
		return fail(p, p->lineno, vcol, "bad milliseconds '%.*s' (expected 1..3600000)",
			    (int)vn, v);
	return 0;
}

static int pair_vehicle(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct profile *pr = p->prof;
	switch (key) {
	case 0: /* make */
		for (size_t i = 0; i < vn; i++)
			if (!is_lower(v[i]) && !is_digit(v[i]) && v[i] != '-' && v[i] != '_')
				return fail(p, p->lineno, vcol + (unsigned)i,
					    "make must be a lower-case word");
		return set_string(p, &pr->make, v, vn, vcol);
	case 1:
		return set_string(p, &pr->platform, v, vn, vcol);
	case 2:
		return set_string(p, &pr->name, v, vn, vcol);
	case 3:
		return set_string(p, &pr->bus, v, vn, vcol);
	case 4:
		if (!parse_dec(v, vn, 1, 20000000, &pr->bitrate))
			return fail(p, p->lineno, vcol, "bad bitrate '%.*s' (expected 1..20000000 bit/s)",
				    (int)vn, v);
		return 0;
	case 5:
		return set_string(p, &pr->dbc, v, vn, vcol);
	}
	return 0;
}

static int pair_ecu(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct ecu_entry *e = p->ecu;
	uint32_t x;
	if (key >= ECU_ADDR_KEY_FIRST) {
		char why[160];
		if (isotp_addr_spec_set(&e->spec, ecu_keys[key].name, v, vn, why, sizeof(why)) < 0)
			return fail(p, p->lineno, vcol, "%s", why);
		return 0;
	}
	switch (key) {
	case 0:
		return set_string(p, (char **)&e->pub.name, v, vn, vcol);
	case 1:
		return set_can_id(p, &e->pub.request_id, v, vn, vcol);
	case 2:
		e->resp_line = p->lineno;
		e->resp_column = vcol;
		return set_can_id(p, &e->pub.response_id, v, vn, vcol);
	case 3:
		return set_can_id(p, &e->pub.functional_id, v, vn, vcol);
	case 4:
		if (!parse_hex(v, vn, 0xFF, &x))
			return fail(p, p->lineno, vcol, "bad padding byte '%.*s' (expected 0x00..0xFF)",
				    (int)vn, v);
		e->pub.padding = (int)x;
		return 0;
	case 5:
		return set_ms(p, &e->pub.p2_ms, v, vn, vcol);
	case 6:
		return set_ms(p, &e->pub.p2star_ms, v, vn, vcol);
	case 7:
		return set_ms(p, &e->pub.s3_ms, v, vn, vcol);
	case 8:
		if (!parse_hex(v, vn, 0xFFFF, &x) || x == 0)
			return fail(p, p->lineno, vcol, "bad DID '%.*s' (expected 0x0001..0xFFFF)",
				    (int)vn, v);
		e->pub.output_control_did = x;
		e->ocd_line = p->lineno;
		e->ocd_column = vcol;
		return 0;
	}
	return 0;
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
		while (i < vn && is_ws(v[i]))
			i++;
		if (i == vn)
			break;
		size_t a = i, e = i;
		while (e < vn && !is_ws(v[e]) && v[e] != '"')
			e++;
		if (v[i] == '-' || v[i] == '+')
			i++;
		size_t digits = i;
		uint64_t x = 0;
		bool range = true;
		while (i < e && is_digit(v[i])) {
			if (x > (UINT64_MAX - 9) / 10)
				range = false;
			x = x * 10 + (unsigned)(v[i] - '0');
			i++;
		}
		if (i == digits && e == a)
			return fail(p, p->lineno, vcol + (unsigned)a, "expected a value before the label");
		if (i != e || i == digits)
			return fail(p, p->lineno, vcol + (unsigned)a, "value '%.*s' is not an integer",
				    (int)(e - a), v + a);
		if (!range || x > (uint64_t)INT64_MAX)
			return fail(p, p->lineno, vcol + (unsigned)a, "value '%.*s' is out of range",
				    (int)(e - a), v + a);
		while (i < vn && is_ws(v[i]))
			i++;
		if (i == vn || v[i] != '"')
			return fail(p, p->lineno, vcol + (unsigned)i, "expected a quoted label after %.*s",
				    (int)(e - a), v + a);
		/* the line lexer has checked that the quote is closed */
		for (i++; i < vn && v[i] != '"'; i++)
			if (v[i] == '\\' && i + 1 < vn && v[i + 1] == '"')
				i++;
		i++;
	}
	return 0;
}

static int pair_did(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct profile_did *d = p->did;
	struct profile *pr = p->prof;
	uint32_t x;
	int r;

	switch (key) {
	case 0: /* name */
		if (vn == 0)
			return fail(p, p->lineno, vcol, "empty value");
		for (size_t i = 0; i + 1 < pr->ndids; i++)
			if (strlen(pr->dids[i]->name) == vn && memcmp(pr->dids[i]->name, v, vn) == 0)
				return fail(p, p->lineno, vcol,
					    "duplicate DID name '%.*s' (first at line %u)", (int)vn, v,
					    pr->dids[i]->name_line);
		d->name_line = p->lineno;
		d->name_column = vcol;
		return set_string(p, &d->name, v, vn, vcol);
	case 1: /* length */
		if (!parse_dec(v, vn, 1, PROFILE_MAX_DID_LENGTH, &x))
			return fail(p, p->lineno, vcol, "bad length '%.*s' (expected 1..%u bytes)",
				    (int)vn, v, PROFILE_MAX_DID_LENGTH);
		d->length = (int)x;
		d->has_length = true;
		d->length_line = p->lineno;
		d->length_column = vcol;
		for (size_t i = 0; i < d->nsrc; i++)
			if (d->src[i].need > x)
				return fail(p, p->lineno, vcol,
					    "length %u is too short for signal '%s' (line %u)", x,
					    d->src[i].name, d->src[i].line);
		return 0;
	case 2: { /* signal */
		struct dbc_error de = {0};
		struct dbc_signal *s = NULL;
		if (d->ascii)
			return fail(p, p->lineno, vcol, "'signal' and 'ascii' in the same DID");
		if (d->nsrc == PROFILE_MAX_SIGNALS)
			return fail(p, p->lineno, vcol, "more than %u signals in one DID",
				    PROFILE_MAX_SIGNALS);
		r = dbc_signal_parse(v, vn, &de, &s);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			/* the value is one line, so the DBC column is an offset into it */
			return fail(p, p->lineno, vcol + (de.column ? de.column - 1 : 0), "%s",
				    de.message);
		const char *name = dbc_signal_name(s);
		unsigned need = signal_bytes(s);
		size_t skip = 0;
		for (size_t i = 0; i < d->nsrc; i++)
			if (strcmp(d->src[i].name, name) == 0) {
				fail(p, p->lineno, vcol, "duplicate signal '%s' in DID 0x%04X", name,
				     d->id);
				dbc_signal_free(s);
				return -EINVAL;
			}
		if (d->has_length && need > (unsigned)d->length) {
			fail(p, p->lineno, vcol, "signal '%s' needs %u bytes, outside length %d", name,
			     need, d->length);
			dbc_signal_free(s);
			return -EINVAL;
		}
		if (!PUSH(d->src, d->nsrc)) {
			dbc_signal_free(s);
			return -ENOMEM;
		}
		/* the generated DBC writes its own SG_ keyword */
		if (vn >= 3 && memcmp(v, "SG_", 3) == 0 && (vn == 3 || is_ws(v[3])))
			for (skip = 3; skip < vn && is_ws(v[skip]);)
				skip++;
		struct sig_src *src = &d->src[d->nsrc];
		*src = (struct sig_src){
		    .text = dup_n(v + skip, vn - skip),
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
			return fail(p, p->lineno, vcol, "'values' without a preceding 'signal'");
		if (vn == 0)
			return fail(p, p->lineno, vcol, "empty value");
		if ((r = check_values(p, v, vn, vcol)) < 0)
			return r;
		struct sig_src *src = &d->src[d->nsrc - 1];
		if (!src->values.len) {
			src->values_line = p->lineno;
			src->values_column = vcol;
		}
		/* several lines are one VAL_ list: a repeated value keeps its last label */
		text_add(&src->values, "%s%.*s", src->values.len ? " " : "", (int)vn, v);
		return src->values.oom ? -ENOMEM : 0;
	}
	case 4: /* ascii */
		if (d->nsrc > 0)
			return fail(p, p->lineno, vcol, "'signal' and 'ascii' in the same DID");
		if (!parse_dec(v, vn, 1, PROFILE_MAX_DID_LENGTH, &x))
			return fail(p, p->lineno, vcol, "bad ascii length '%.*s' (expected 1..%u bytes)",
				    (int)vn, v, PROFILE_MAX_DID_LENGTH);
		d->ascii = true;
		d->need = x;
		d->ascii_line = p->lineno;
		d->ascii_column = vcol;
		return 0;
	}
	return 0;
}

/* ---- [role NAME] ---- */

static int start_role(struct profile_parser *p, unsigned column, const char *name, size_t len,
		      unsigned col)
{
	struct profile *pr = p->prof;
	unsigned idx;
	if (role_find(name, len, &idx) < 0)
		return fail(p, p->lineno, col,
			    "unknown role '%.*s' (the roles are listed in rules/README.md)",
			    (int)len, name);
	if (pr->nroles == PROFILE_MAX_ROLES)
		return fail(p, p->lineno, column, "more than %u [role] sections", PROFILE_MAX_ROLES);
	struct role_entry *e = calloc(1, sizeof(*e));
	if (!e || !PUSH(pr->roles, pr->nroles)) {
		free(e);
		return -ENOMEM;
	}
	pr->roles[pr->nroles++] = e;
	e->pub.role = idx;
	e->pub.default_value = -1;
	e->pub.scale = 1;
	e->pub.line = p->lineno;
	e->pub.column = column;
	p->role = e;
	return 0;
}

static int end_role(struct profile_parser *p)
{
	struct role_entry *e = p->role;
	const struct role *ro = role_at(e->pub.role);
	if (!e->pub.message && !e->pub.ecu)
		return fail(p, p->sec_line, p->sec_column,
			    "[role %s] needs 'dbc_signal' (a DBC signal) or 'did' (a DID of this "
			    "profile)",
			    ro->name);
	if (ro->kind == ROLE_KIND_NUMBER && e->pub.n_map)
		return fail(p, e->pub.map[0].line, e->pub.map[0].column,
			    "role '%s' is a number (%s): it takes 'scale' and 'offset', not 'map'",
			    ro->name, ro->unit[0] ? ro->unit : "no unit");
	if (ro->kind == ROLE_KIND_NUMBER && e->pub.default_value >= 0)
		return fail(p, e->default_line, e->default_column,
			    "role '%s' is a number: 'default' names a label", ro->name);
	if (ro->kind != ROLE_KIND_NUMBER && (e->pub.has_scale || e->has_offset))
		return fail(p, e->scale_line, e->scale_column,
			    "role '%s' has labels: 'scale' and 'offset' are for number roles",
			    ro->name);
	if (ro->kind == ROLE_KIND_ENUM && !e->pub.n_map)
		return fail(p, p->sec_line, p->sec_column,
			    "role '%s' has labels: its source needs a 'map' (raw value or source "
			    "label ':' role label)",
			    ro->name);
	return 0;
}

/* A role label at v (n bytes): its value, or a failure naming the labels. */
static int want_role_label(struct profile_parser *p, const struct role *ro, const char *v,
			   size_t n, unsigned col, unsigned *ret)
{
	char list[200];
	size_t k = 0;
	if (role_label_find(ro, v, n, ret) == 0)
		return 0;
	list[0] = 0;
	for (unsigned i = 0; i < ro->n_labels && k < sizeof(list); i++)
		k += (size_t)snprintf(list + k, sizeof(list) - k, "%s%s", i ? ", " : "",
				      ro->labels[i]);
	return fail(p, p->lineno, col, "unknown value '%.*s' of role '%s' (%s)", (int)n, v,
		    ro->name, list);
}

/*
 * `map = FROM:LABEL {, FROM:LABEL}`: FROM is a raw integer (decimal, or 0x hex, maybe
 * negative) or a label of the source signal, bare or in double quotes; LABEL a label of
 * the role.
 */
static int parse_map(struct profile_parser *p, struct role_entry *e, const char *v, size_t vn,
		     unsigned vcol)
{
	const struct role *ro = role_at(e->pub.role);
	size_t i = 0;
	if (vn == 0)
		return fail(p, p->lineno, vcol, "empty value");
	for (;;) {
		struct profile_role_map m = {.line = p->lineno};
		while (i < vn && is_ws(v[i]))
			i++;
		size_t a = i;
		m.column = vcol + (unsigned)a;
		if (i < vn && v[i] == '"') {
			size_t b = ++i;
			while (i < vn && v[i] != '"')
				i++;
			if (i >= vn || i == b)
				return fail(p, p->lineno, m.column, "expected a quoted source label");
			if (!(m.from_label = dup_n(v + b, i - b)))
				return -ENOMEM;
			i++;
		} else {
			while (i < vn && v[i] != ':' && v[i] != ',' && !is_ws(v[i]))
				i++;
			if (i == a)
				return fail(p, p->lineno, m.column,
					    "expected a source value (a raw number or a label) before "
					    "':'");
			char num[32], *endp;
			long long x = 0;
			bool numeric = false;
			if (i - a < sizeof(num)) {
				memcpy(num, v + a, i - a);
				num[i - a] = 0;
				errno = 0;
				x = strtoll(num, &endp, 0);
				numeric = endp != num && !*endp && errno != ERANGE &&
					  (is_digit(num[0]) || (num[0] == '-' && is_digit(num[1])));
			}
			if (numeric)
				m.from_raw = x;
			else if (!(m.from_label = dup_n(v + a, i - a)))
				return -ENOMEM;
		}
		while (i < vn && is_ws(v[i]))
			i++;
		if (i >= vn || v[i] != ':') {
			free((char *)m.from_label);
			return fail(p, p->lineno, vcol + (unsigned)i,
				    "expected ':' and a label of role '%s'", ro->name);
		}
		i++;
		while (i < vn && is_ws(v[i]))
			i++;
		size_t b = i;
		while (i < vn && v[i] != ',' && !is_ws(v[i]))
			i++;
		int r = want_role_label(p, ro, v + b, i - b, vcol + (unsigned)b, &m.value);
		if (r == 0 && e->pub.n_map == PROFILE_MAX_ROLE_MAP)
			r = fail(p, p->lineno, m.column, "more than %u map entries",
				 PROFILE_MAX_ROLE_MAP);
		if (r == 0 && !PUSH(e->map, e->pub.n_map))
			r = -ENOMEM;
		if (r < 0) {
			free((char *)m.from_label);
			return r;
		}
		e->map[e->pub.n_map++] = m;
		e->pub.map = e->map;
		while (i < vn && is_ws(v[i]))
			i++;
		if (i == vn)
			return 0;
		if (v[i] != ',')
			return fail(p, p->lineno, vcol + (unsigned)i, "expected ',' or the end");
		i++;
	}
}

static int parse_double(struct profile_parser *p, const char *v, size_t vn, unsigned vcol,
			double *ret)
{
	char num[64], *endp;
	if (vn == 0 || vn >= sizeof(num))
		return fail(p, p->lineno, vcol, "expected a number");
	memcpy(num, v, vn);
	num[vn] = 0;
	errno = 0;
	double x = strtod(num, &endp);
	if (endp == num || *endp || errno == ERANGE || x != x || x - x != 0)
		return fail(p, p->lineno, vcol, "expected a number, got '%.*s'", (int)vn, v);
	*ret = x;
	return 0;
}

static int pair_role(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct role_entry *e = p->role;
	const struct role *ro = role_at(e->pub.role);
	switch (key) {
	case 0: { /* dbc_signal = MESSAGE.SIGNAL */
		const char *dot = memchr(v, '.', vn);
		if (e->pub.ecu)
			return fail(p, p->lineno, vcol, "'dbc_signal' and 'did' in the same [role]");
		if (!dot || dot == v || dot == v + vn - 1 || memchr(dot + 1, '.', vn - (size_t)(dot + 1 - v)))
			return fail(p, p->lineno, vcol,
				    "expected MESSAGE.SIGNAL (a message name or 0x id, a dot, a "
				    "signal name), got '%.*s'",
				    (int)vn, v);
		for (size_t k = 0; k < vn; k++)
			if (is_ws(v[k]))
				return fail(p, p->lineno, vcol + (unsigned)k,
					    "blank in MESSAGE.SIGNAL");
		e->pub.from = PROFILE_ROLE_FROM_DBC;
		e->pub.message = dup_n(v, (size_t)(dot - v));
		e->pub.signal = dup_n(dot + 1, vn - (size_t)(dot + 1 - v));
		e->pub.from_line = p->lineno;
		e->pub.from_column = vcol;
		return e->pub.message && e->pub.signal ? 0 : -ENOMEM;
	}
	case 1: { /* did = ECU 0xDID [SIGNAL] */
		const char *w[4];
		size_t wl[4];
		unsigned n = 0;
		uint32_t id;
		if (e->pub.message)
			return fail(p, p->lineno, vcol, "'dbc_signal' and 'did' in the same [role]");
		for (size_t k = 0; k < vn && n < 4;) {
			while (k < vn && is_ws(v[k]))
				k++;
			if (k == vn)
				break;
			w[n] = v + k;
			while (k < vn && !is_ws(v[k]))
				k++;
			wl[n] = (size_t)(v + k - w[n]);
			n++;
		}
		if (n < 2 || n > 3)
			return fail(p, p->lineno, vcol, "expected 'ECU 0xDID' or 'ECU 0xDID SIGNAL'");
		const struct ecu_entry *ecu = NULL;
		for (size_t i = 0; i < p->prof->necus; i++)
			if (strlen(p->prof->ecus[i]->pub.id) == wl[0] &&
			    !memcmp(p->prof->ecus[i]->pub.id, w[0], wl[0]))
				ecu = p->prof->ecus[i];
		if (!ecu)
			return fail(p, p->lineno, vcol, "undeclared ECU '%.*s'", (int)wl[0], w[0]);
		if (wl[1] != 6 || !parse_hex(w[1], wl[1], 0xFFFF, &id))
			return fail(p, p->lineno, vcol + (unsigned)(w[1] - v),
				    "bad DID '%.*s' (expected 0x and 4 hex digits)", (int)wl[1], w[1]);
		e->pub.from = PROFILE_ROLE_FROM_DID;
		e->pub.ecu = dup_n(w[0], wl[0]);
		e->pub.did = (uint16_t)id;
		if (n == 3 && !(e->pub.signal = dup_n(w[2], wl[2])))
			return -ENOMEM;
		e->pub.from_line = p->lineno;
		e->pub.from_column = vcol;
		return e->pub.ecu ? 0 : -ENOMEM;
	}
	case 2: /* map */
		return parse_map(p, e, v, vn, vcol);
	case 3: { /* default */
		unsigned val;
		int r;
		e->default_line = p->lineno;
		e->default_column = vcol;
		if (ro->kind == ROLE_KIND_NUMBER)
			return fail(p, p->lineno, vcol, "role '%s' is a number: 'default' names a label",
				    ro->name);
		if ((r = want_role_label(p, ro, v, vn, vcol, &val)) < 0)
			return r;
		e->pub.default_value = (int)val;
		return 0;
	}
	case 4: /* scale */
	case 5: /* offset */
		e->scale_line = p->lineno;
		e->scale_column = vcol;
		if (key == 4) {
			e->pub.has_scale = true;
			return parse_double(p, v, vn, vcol, &e->pub.scale);
		}
		e->has_offset = true;
		return parse_double(p, v, vn, vcol, &e->pub.offset);
	case 6: /* source */
		return set_string(p, (char **)&e->pub.source, v, vn, vcol);
	case 7: /* grade */
		if (vn != 1 || (v[0] != 'A' && v[0] != 'B' && v[0] != 'C'))
			return fail(p, p->lineno, vcol, "grade must be A, B or C, got '%.*s'", (int)vn,
				    v);
		e->pub.grade = v[0];
		return 0;
	case 8: /* note */
		return set_string(p, (char **)&e->pub.note, v, vn, vcol);
	}
	return 0;
}

/* A `did` source names a DID of this profile (declared anywhere in the file), one of its
 * signals, and labels that signal has. */
static int check_role_dids(struct profile_parser *p)
{
	struct profile *pr = p->prof;
	for (size_t i = 0; i < pr->nroles; i++) {
		const struct role_entry *e = pr->roles[i];
		const struct profile_role *r = &e->pub;
		if (r->from != PROFILE_ROLE_FROM_DID)
			continue;
		const struct profile_did *d = profile_did_find(pr, r->ecu, r->did);
		if (!d)
			return fail(p, r->from_line, r->from_column,
				    "[did %s 0x%04X] is not in this profile", r->ecu, r->did);
		const struct dbc_signal *sig = NULL;
		for (size_t k = 0; k < d->nsignals; k++)
			if (r->signal ? !strcmp(dbc_signal_name(d->signals[k]), r->signal)
				      : d->nsignals == 1)
				sig = d->signals[k];
		if (!sig && r->signal)
			return fail(p, r->from_line, r->from_column, "DID 0x%04X has no signal '%s'",
				    r->did, r->signal);
		if (!sig)
			return fail(p, r->from_line, r->from_column,
				    "DID 0x%04X has %zu signals: name one (did = ECU 0xDID SIGNAL)",
				    r->did, d->nsignals);
		for (size_t k = 0; k < r->n_map; k++) {
			const struct profile_role_map *m = &r->map[k];
			bool found = !m->from_label;
			for (size_t c = 0; m->from_label && c < dbc_signal_choice_count(sig); c++) {
				int64_t raw;
				const char *label;
				if (dbc_signal_choice_at(sig, c, &raw, &label) &&
				    !strcmp(label, m->from_label))
					found = true;
			}
			if (!found)
				return fail(p, m->line, m->column, "signal '%s' has no value '%s'",
					    dbc_signal_name(sig), m->from_label);
		}
	}
	return 0;
}

static int pair_dtc(struct profile_parser *p, int key, const char *v, size_t vn, unsigned vcol)
{
	struct dtc_entry *e = p->dtc;
	switch (key) {
	case 0:
		return set_string(p, (char **)&e->pub.text, v, vn, vcol);
	case 1:
		return set_string(p, (char **)&e->pub.source, v, vn, vcol);
	case 2:
		return set_string(p, (char **)&e->pub.set, v, vn, vcol);
	}
	return 0;
}

static int parse_pair(struct profile_parser *p, const char *s, size_t n, size_t i)
{
	size_t k = i;
	unsigned kcol = (unsigned)k + 1;

	if (!is_lower(s[i]))
		return fail(p, p->lineno, kcol, "expected a key, a [section] or a comment");
	while (i < n && (is_lower(s[i]) || is_digit(s[i]) || s[i] == '_'))
		i++;
	size_t kn = i - k;
	while (i < n && is_ws(s[i]))
		i++;
	if (i >= n || s[i] != '=')
		return fail(p, p->lineno, (unsigned)i + 1, "expected '=' after key '%.*s'", (int)kn,
			    s + k);
	i++;
	while (i < n && is_ws(s[i]))
		i++;
	size_t v = i, e = i;
	bool quoted = false;
	size_t qpos = 0;
	for (; i < n; i++) {
		if (quoted && s[i] == '\\' && i + 1 < n && s[i + 1] == '"') {
			i++;
			continue;
		}
		if (s[i] == '"') {
			quoted = !quoted;
			qpos = i;
			continue;
		}
		if (!quoted && s[i] == ';')
			break;
	}
	if (quoted)
		return fail(p, p->lineno, (unsigned)qpos + 1, "unterminated string");
	e = i;
	while (e > v && is_ws(s[e - 1]))
		e--;
	const char *val = s + v;
	size_t vn = e - v;
	unsigned vcol = (unsigned)v + 1;

	if (!p->format_seen) {
		if (kn != 6 || memcmp(s + k, "format", 6) != 0)
			return fail(p, p->lineno, kcol, "the first statement must be 'format = 1'");
		if (vn != 1 || val[0] != '1')
			return fail(p, p->lineno, vcol, "unsupported format '%.*s' (this loader reads format 1)",
				    (int)vn, val);
		p->format_seen = true;
		return 0;
	}
	if (p->kind == SECTION_NONE)
		return fail(p, p->lineno, kcol, "key '%.*s' outside a section", (int)kn, s + k);

	const struct key_def *keys = sections[p->kind].keys;
	int key = key_index(keys, s + k, kn);
	if (key < 0)
		return fail(p, p->lineno, kcol, "unknown key '%.*s' in %s", (int)kn, s + k,
			    sections[p->kind].usage);
	if (keys[key].mult != KEY_MULTI && p->seen[key])
		return fail(p, p->lineno, kcol, "repeated key '%s' (first at line %u)",
			    keys[key].name, p->seen[key]);
	p->seen[key] = p->lineno;
	switch (p->kind) {
	case SECTION_VEHICLE:
		return pair_vehicle(p, key, val, vn, vcol);
	case SECTION_ECU:
		return pair_ecu(p, key, val, vn, vcol);
	case SECTION_DID:
		return pair_did(p, key, val, vn, vcol);
	case SECTION_DTC:
		return pair_dtc(p, key, val, vn, vcol);
	case SECTION_ROLE:
		return pair_role(p, key, val, vn, vcol);
	case SECTION_NONE:
	case SECTION_MAX:
		break;
	}
	return 0;
}

/* One line without its newline (a CR before it already dropped). */
static int parse_line(struct profile_parser *p, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		if (s[i] == 0)
			return fail(p, p->lineno, (unsigned)i + 1, "NUL byte");
		size_t l = utf8_len((const unsigned char *)s + i, n - i);
		if (l == 0)
			return fail(p, p->lineno, (unsigned)i + 1, "invalid UTF-8");
		if (l == 1 && (unsigned char)s[i] < 0x20 && s[i] != '\t')
			return fail(p, p->lineno, (unsigned)i + 1, "control character 0x%02X",
				    (unsigned char)s[i]);
		i += l;
	}
	size_t i = 0;
	while (i < n && is_ws(s[i]))
		i++;
	if (i == n || s[i] == ';')
		return 0;
	if (s[i] == '[') {
		if (!p->format_seen)
			return fail(p, p->lineno, (unsigned)i + 1,
				    "the first statement must be 'format = 1'");
		return parse_section(p, s, n, i);
	}
	return parse_pair(p, s, n, i);
}

static int complete_line(struct profile_parser *p)
{
	size_t n = p->linelen;
	int r;
	if (n > 0 && p->line[n - 1] == '\r')
		n--;
	if (n > PROFILE_MAX_LINE)
		return fail(p, p->lineno, PROFILE_MAX_LINE + 1, "line longer than %u bytes",
			    PROFILE_MAX_LINE);
	r = parse_line(p, p->line, n);
	p->linelen = 0;
	return r;
}

static int set_error(struct profile_parser *p, int r, struct profile_error *ret_err)
{
	if (r < 0) {
		if (!p->err.message[0]) {
			/* -ENOMEM: no position, errno's text */
			snprintf(p->err.file, sizeof(p->err.file), "%s", p->filename);
			p->err.line = p->lineno;
			p->err.column = 0;
			snprintf(p->err.message, sizeof(p->err.message), "%s", strerror(-r));
		}
		p->failed = r;
		if (ret_err)
			*ret_err = p->err;
	}
	return r;
}

int profile_parser_feed(struct profile_parser *p, const char *data, size_t len,
			struct profile_error *ret_err)
{
	int r = 0;
	if (p->failed)
		return set_error(p, p->failed, ret_err);
	if (len > PROFILE_MAX_SOURCE - p->total) {
		fail(p, p->lineno, 0, "profile larger than %u bytes", PROFILE_MAX_SOURCE);
		p->failed = -EFBIG;
		if (ret_err)
			*ret_err = p->err;
		return -EFBIG;
	}
	p->total += len;
	for (size_t i = 0; i < len;) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t chunk = nl ? (size_t)(nl - (data + i)) : len - i;
		/* the buffer holds a full line plus a CR; more can only be an overlong line */
		if (chunk > sizeof(p->line) - p->linelen) {
			r = fail(p, p->lineno, PROFILE_MAX_LINE + 1, "line longer than %u bytes",
				 PROFILE_MAX_LINE);
			return set_error(p, r, ret_err);
		}
		memcpy(p->line + p->linelen, data + i, chunk);
		p->linelen += chunk;
		i += chunk;
		if (!nl)
			break;
		if ((r = complete_line(p)) < 0)
			return set_error(p, r, ret_err);
		p->lineno++;
		i++;
	}
	return 0;
}

struct name_ref {
	const char *name;
	size_t did;
	unsigned line, column;
};

static int cmp_name_ref(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	if (c)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * Rules name a value by DID name or signal name without an ECU (profile_did_find_name),
 * so a name may belong to one DID only. Sorted once: profiles may hold many signals.
 */
static int check_value_names(struct profile_parser *p)
{
	struct profile *pr = p->prof;
	size_t n = 0, k = 0;
	int r = 0;
	for (size_t i = 0; i < pr->ndids; i++)
		n += 1 + pr->dids[i]->nsignals;
	if (n < 2)
		return 0;
	struct name_ref *refs = calloc(n, sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < pr->ndids; i++) {
		const struct profile_did *d = pr->dids[i];
		refs[k++] = (struct name_ref){d->name, i, d->name_line, d->name_column};
		for (size_t j = 0; j < d->nsignals; j++)
			refs[k++] = (struct name_ref){dbc_signal_name(d->signals[j]), i,
						      d->signal_lines[j], d->signal_columns[j]};
	}
	qsort(refs, n, sizeof(*refs), cmp_name_ref);
	for (size_t i = 1; i < n && r == 0; i++) {
		const struct name_ref *a = &refs[i - 1], *b = &refs[i];
		if (strcmp(a->name, b->name) == 0 && a->did != b->did)
			r = fail(p, b->line, b->column, "name '%s' already names DID 0x%04X (line %u)",
				 b->name, pr->dids[a->did]->id, a->line);
	}
	free(refs);
	return r;
}

static int finish_checks(struct profile_parser *p)
{
	struct profile *pr = p->prof;
	if (!p->format_seen)
		return fail(p, p->lineno, 1, "the first statement must be 'format = 1'");
	if (!p->vehicle_seen)
		return fail(p, p->lineno, 1, "missing [vehicle] section");
	int r = check_value_names(p);
	if (r < 0 || (r = check_role_dids(p)) < 0)
		return r;
	for (size_t i = 0; i < pr->necus; i++) {
		const struct ecu_entry *e = pr->ecus[i];
		uint32_t did = e->pub.output_control_did;
		if (did && !profile_did_find(pr, e->pub.id, (uint16_t)did))
			return fail(p, e->ocd_line, e->ocd_column,
				    "output_control_did 0x%04X is not a [did %s] of this profile", did,
				    e->pub.id);
	}
	return 0;
}

int profile_parser_finish(struct profile_parser *p, struct profile **ret,
			  struct profile_error *ret_err)
{
	int r;
	if (p->failed)
		return set_error(p, p->failed, ret_err);
	if (p->linelen > 0) {
		if ((r = complete_line(p)) < 0)
			return set_error(p, r, ret_err);
	} else if (p->lineno > 1) {
		/* the last newline ended the last line: report "end of file" on it */
		p->lineno--;
	}
	if ((r = end_section(p)) < 0 || (r = finish_checks(p)) < 0)
		return set_error(p, r, ret_err);
	*ret = p->prof;
	p->prof = NULL;
	p->failed = -EINVAL; /* not reusable */
	snprintf(p->err.message, sizeof(p->err.message), "parser already finished");
	return 0;
}

int profile_parse(const char *data, size_t len, const char *filename, struct profile **ret,
		  struct profile_error *ret_err)
{
	struct profile_parser *p = profile_parser_new(filename);
	int r;
	if (!p)
		return -ENOMEM;
	r = profile_parser_feed(p, data, len, ret_err);
	if (r >= 0)
		r = profile_parser_finish(p, ret, ret_err);
	profile_parser_free(p);
	return r;
}

int profile_load(const char *path, struct profile **ret, struct profile_error *ret_err)
{
	struct profile_parser *p = NULL;
	char buf[16384];
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto io_fail;
	}
	p = profile_parser_new(path);
	if (!p) {
		close(fd);
		return -ENOMEM;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			close(fd);
			profile_parser_free(p);
			goto io_fail;
		}
		if (n == 0)
			break;
		if ((r = profile_parser_feed(p, buf, (size_t)n, ret_err)) < 0)
			break;
	}
	close(fd);
	if (r >= 0)
		r = profile_parser_finish(p, ret, ret_err);
	profile_parser_free(p);
	return r;

io_fail:
	if (ret_err) {
		memset(ret_err, 0, sizeof(*ret_err));
		snprintf(ret_err->file, sizeof(ret_err->file), "%s", path);
		snprintf(ret_err->message, sizeof(ret_err->message), "%s", strerror(-r));
	}
	return r;
}

int profile_error_format(const struct profile_error *e, char *buf, size_t size)
{
	if (e->line == 0)
		return snprintf(buf, size, "%s: %s", e->file, e->message);
	return snprintf(buf, size, "%s:%u:%u: %s", e->file, e->line, e->column, e->message);
}

/* ---- accessors ---- */

const char *profile_make(const struct profile *p)
{
	return p->make;
}
const char *profile_platform(const struct profile *p)
{
	return p->platform;
}
const char *profile_vehicle_name(const struct profile *p)
{
	return p->name;
}
const char *profile_bus(const struct profile *p)
{
	return p->bus;
}
uint32_t profile_bitrate(const struct profile *p)
{
	return p->bitrate;
}
const char *profile_dbc(const struct profile *p)
{
	return p->dbc;
}

size_t profile_ecu_count(const struct profile *p)
{
	return p->necus;
}

const struct profile_ecu *profile_ecu_at(const struct profile *p, size_t i)
{
	return i < p->necus ? &p->ecus[i]->pub : NULL;
}

const struct profile_ecu *profile_ecu_find(const struct profile *p, const char *id)
{
	if (!id)
		return NULL;
	for (size_t i = 0; i < p->necus; i++)
		if (strcmp(p->ecus[i]->pub.id, id) == 0)
			return &p->ecus[i]->pub;
	return NULL;
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
		if (dbc_signal_choice_count(s) > 0 && dbc_signal_decode_raw(s, data, len, &raw) == 0 &&
		    raw >= (double)INT64_MIN && raw < (double)INT64_MAX)
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

static void fmt_add(struct fmt_state *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

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
		fmt_add(f, "%.15g", dbc_value_as_double(v));
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

/* ---- DTCs ---- */

size_t profile_dtc_count(const struct profile *p)
{
	return p->ndtcs;
}

const struct profile_dtc *profile_dtc_at(const struct profile *p, size_t i)
{
	return i < p->ndtcs ? &p->dtcs[i]->pub : NULL;
}

const struct profile_dtc *profile_dtc_find(const struct profile *p, const char *ecu, uint32_t code)
{
	for (size_t i = 0; i < p->ndtcs; i++)
		if (p->dtcs[i]->pub.code == (code & 0xFFFFFF) &&
		    (!ecu || strcmp(p->dtcs[i]->pub.ecu, ecu) == 0))
			return &p->dtcs[i]->pub;
	return NULL;
}

/* ---- roles ---- */

size_t profile_role_count(const struct profile *p)
{
	return p ? p->nroles : 0;
}

const struct profile_role *profile_role_at(const struct profile *p, size_t i)
{
	return p && i < p->nroles ? &p->roles[i]->pub : NULL;
}

const char *profile_filename(const struct profile *p)
{
	return p && p->filename ? p->filename : "<memory>";
}

int profile_dbc_path(const struct profile *p, const char *profile_path, const char *datadir,
		     char *buf, size_t size)
{
	char dir[4096], cand[3][4096];
	size_t n = 0, used = 0;
	if (!p || !p->dbc) {
		snprintf(buf, size, "the profile names no dbc");
		return -ENOENT;
	}
	if (p->dbc[0] == '/') {
		if (snprintf(cand[n++], sizeof(cand[0]), "%s", p->dbc) >= (int)sizeof(cand[0]))
			return -ENAMETOOLONG;
	} else {
		const char *slash = profile_path ? strrchr(profile_path, '/') : NULL;
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash - profile_path), profile_path);
		else
			snprintf(dir, sizeof(dir), ".");
		if (slash == profile_path)
			snprintf(dir, sizeof(dir), "/");
		if (snprintf(cand[n++], sizeof(cand[0]), "%s/%s", dir, p->dbc) >= (int)sizeof(cand[0]) ||
		    snprintf(cand[n++], sizeof(cand[0]), "%s/../dbc/%s", dir, p->dbc) >= (int)sizeof(cand[0]))
			return -ENAMETOOLONG;
		if (datadir && snprintf(cand[n++], sizeof(cand[0]), "%s/dbc/%s", datadir, p->dbc) >=
				   (int)sizeof(cand[0]))
			return -ENAMETOOLONG;
	}
	for (size_t i = 0; i < n; i++) {
		if (access(cand[i], R_OK) == 0) {
			if (snprintf(buf, size, "%s", cand[i]) >= (int)size)
				return -ENAMETOOLONG;
			return 0;
		}
	}
	buf[0] = 0;
	for (size_t i = 0; i < n && used < size; i++)
		used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "", cand[i]);
	return -ENOENT;
}
