/* SPDX-License-Identifier: MIT */
/*
 * DBC parser, decoder and encoder. The grammar is read token by token the way cantools
 * reads it (newlines carry no meaning), with opendbc's quirks accepted. Semantics that
 * decide what a user sees (which signals a multiplexer selects, integer or float
 * results, long names) follow cantools 42 so both tools give the same answer.
 */
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
/* raw * factor + offset must round twice like Python does, never as one fused op */
#pragma GCC optimize("fp-contract=off")
#endif

#include <ctype.h>
#include <endian.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "bytes.h"

/*
 * Exact integers past 64 bits, as cantools gets them from Python: a 64-bit raw value
 * times an integral factor plus an integral offset. Two's complement in two words
 * rather than __int128, which GCC lacks on 32-bit targets (armhf). Every value these
 * functions see has a magnitude below 2^127.
 */
struct wide {
	uint64_t hi, lo;
};

static struct wide wide_from_i64(int64_t v)
{
	return (struct wide){.hi = v < 0 ? UINT64_MAX : 0, .lo = (uint64_t)v};
}

static struct wide wide_from_u64(uint64_t v)
{
	return (struct wide){.hi = 0, .lo = v};
}

static bool wide_negative(struct wide a)
{
	return a.hi >> 63;
}

static struct wide wide_neg(struct wide a)
{
	struct wide r = {.hi = ~a.hi, .lo = ~a.lo + 1};
	if (r.lo == 0)
		r.hi++;
	return r;
}

static struct wide wide_add(struct wide a, struct wide b)
{
	struct wide r = {.hi = a.hi + b.hi, .lo = a.lo + b.lo};
	if (r.lo < a.lo)
		r.hi++;
	return r;
}

/* The value as int64_t, if it fits. */
static bool wide_to_i64(struct wide a, int64_t *ret)
{
	if (a.hi != ((a.lo >> 63) ? UINT64_MAX : 0))
		return false;
	*ret = (int64_t)a.lo;
	return true;
}

/* |a| for a magnitude below 2^127, where the high word's sign bit is free. */
static struct wide wide_abs(struct wide a)
{
	return wide_negative(a) ? wide_neg(a) : a;
}

/* 64 x 64 -> 128 bits, unsigned, from 32-bit halves. */
static struct wide umul_64(uint64_t a, uint64_t b)
{
	uint64_t al = a & UINT32_MAX, ah = a >> 32, bl = b & UINT32_MAX, bh = b >> 32;
	uint64_t ll = al * bl, lh = al * bh, hl = ah * bl, hh = ah * bh;
	uint64_t mid = (ll >> 32) + (lh & UINT32_MAX) + (hl & UINT32_MAX);
	return (struct wide){
		.hi = hh + (lh >> 32) + (hl >> 32) + (mid >> 32),
		.lo = (mid << 32) | (ll & UINT32_MAX),
	};
}

/* a * b for |a| < 2^64 (any int64_t or uint64_t) and any int64_t b. */
static struct wide wide_mul_i64(struct wide a, int64_t b)
{
	uint64_t mb = b < 0 ? 0 - (uint64_t)b : (uint64_t)b;
	struct wide p = umul_64(wide_abs(a).lo, mb);
	return wide_negative(a) != (b < 0) ? wide_neg(p) : p;
}

/*
 * Truncating division as C does it (quotient toward zero, remainder with the dividend's
 * sign), for |d| < 2^127 and |m| < 2^62: long division, one bit at a time, so the
 * remainder (below |m|) never overflows a word.
 */
static void wide_divmod_i64(struct wide d, int64_t m, struct wide *ret_q, int64_t *ret_r)
{
	struct wide n = wide_abs(d), q = {0};
	uint64_t mm = m < 0 ? 0 - (uint64_t)m : (uint64_t)m, rem = 0;
	int64_t d64;

	if (wide_to_i64(d, &d64) && d64 != INT64_MIN) {
		*ret_q = wide_from_i64(d64 / m);
		*ret_r = d64 % m;
		return;
	}
	for (int i = 127; i >= 0; i--) {
		uint64_t bit = i >= 64 ? (n.hi >> (i - 64)) & 1 : (n.lo >> i) & 1;
		rem = rem << 1 | bit;
		if (rem >= mm) {
			rem -= mm;
			if (i >= 64)
				q.hi |= UINT64_C(1) << (i - 64);
			else
				q.lo |= UINT64_C(1) << i;
		}
	}
	*ret_q = wide_negative(d) != (m < 0) ? wide_neg(q) : q;
	*ret_r = wide_negative(d) ? -(int64_t)rem : (int64_t)rem;
}

/*
 * The nearest double, ties to even, as a conversion from __int128 gives it: the top 64
 * significant bits are converted with every bit shifted out folded into the lowest one
 * (a sticky bit: it lies below the rounding position, so only a tie changes), then
 * scaled back exactly.
 */
static double wide_to_double(struct wide a)
{
	struct wide m = wide_abs(a);
	double v;

	if (m.hi == 0) {
		v = (double)m.lo;
	} else {
		int sh = 64 - __builtin_clzll(m.hi); /* 1..63 below 2^127 */
		uint64_t top = (m.hi << (64 - sh)) | (m.lo >> sh);
		if (m.lo << (64 - sh))
			top |= 1;
		v = ldexp((double)top, sh);
	}
	return wide_negative(a) ? -v : v;
}

/* An integral double in [-2^64, 2^64). */
static struct wide wide_from_double(double q)
{
	double mag = fabs(q);
	struct wide m = mag >= 0x1p64 ? (struct wide){.hi = 1} : wide_from_u64((uint64_t)mag);
	return q < 0 ? wide_neg(m) : m;
}

/* ---- memory ---------------------------------------------------------------------- */

/* Strings and fixed-size objects live in an arena freed with the database. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t size)
{
	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!a->head || a->head->cap - a->head->used < size) {
		size_t cap = size > 32768 ? size : 32768;
		struct arena_block *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += size;
	memset(p, 0, size);
	return p;
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *b = a->head;
		a->head = b->next;
		free(b);
	}
}

/* Growable array of elements of one size; zeroes new elements. */
struct vec {
	void *v;
	size_t n, cap;
};

static void *vec_push(struct vec *vec, size_t elem)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 8;
		void *nv = realloc(vec->v, cap * elem);
		if (!nv)
			return NULL;
		vec->v = nv;
		vec->cap = cap;
	}
	void *p = (char *)vec->v + vec->n * elem;
	vec->n++;
	memset(p, 0, elem);
	return p;
}

static int vec_push_ptr(struct vec *vec, void *ptr)
{
	void **p = vec_push(vec, sizeof(void *));
	if (!p)
		return -ENOMEM;
	*p = ptr;
	return 0;
}

/* ---- objects --------------------------------------------------------------------- */

enum conv {
	CONV_IDENTITY,	 /* factor 1, offset 0: the raw value */
	CONV_LINEAR_INT, /* integral factor and offset on an integer signal: exact integer */
	CONV_LINEAR,	 /* anything else: a double */
};

struct range {
	int64_t lo, hi;
};

struct choice {
	int64_t value;
	const char *label;
	int64_t mux_number; /* what cantools' inverse lookup of label gives back */
};

/* Where a field sits in the data: a load window, a shift and a mask. */
struct plan {
	unsigned byte_lo; /* first byte of the load window */
	unsigned need;	  /* bytes of data the field needs */
	unsigned shift;	  /* LE: right shift; BE: left shift dropping bits above the MSB */
	unsigned length;  /* bits */
	bool wide;	  /* the field spans 9 bytes: 128-bit window */
	uint64_t mask;
};

struct dbc_signal {
	const char *name;     /* after SystemSignalLongSymbol */
	const char *dbc_name; /* as written; comments and attributes refer to it */
	const char *unit;
	const char *comment;
	struct vec receivers; /* const char * */
	unsigned start, length;
	bool big_endian, is_signed, is_float;
	bool is_multiplexer;
	bool orphan; /* names a multiplexer the message lacks: never present */
	bool has_range, has_initial;
	double factor, offset, min, max, initial;
	bool factor_is_int_literal;
	enum conv conv;
	int64_t iscale, ioffset;
	/* multiplexing as written: mN / SG_MUL_VAL_, resolved per message */
	const char *mux_token;
	const char *mux_name;
	struct vec mux_ranges; /* struct range */
	const struct dbc_signal *mux;
	struct vec children;  /* struct dbc_signal *: signals this multiplexer selects */
	bool check_mux;	      /* a value outside every child's ids is an error */
	struct vec valid_ids; /* struct range: children ids and choice values */
	struct vec choices;   /* struct choice, sorted by value */
	unsigned dup_rank;    /* which of two same-named signals gives the value */
	struct plan pl;
	/* a signal reaching past the message end: the part inside it (what canmatrix, the
	 * reference's fallback, decodes); length 0 when nothing usable remains */
	struct plan part;
	size_t index;
	struct arena *own; /* standalone signal: its own arena */
};

struct sig_group {
	const char *name;
	unsigned repetitions;
	const char **members;
	size_t n_members;
};

struct dbc_message {
	const char *name;
	const char *dbc_name;
	uint32_t dbc_id; /* as written, with bit 31 (repaired for 29-bit ids) */
	uint32_t id;
	bool ext, fd;
	unsigned length;
	unsigned cycle_time;
	const char *comment;
	struct vec senders;		  /* const char * */
	struct vec signals;		  /* struct dbc_signal * */
	struct vec roots;		  /* struct dbc_signal *: present in every frame */
	struct vec groups;		  /* struct sig_group */
	bool dup_names;			  /* two signals share a (display) name */
	bool dropped;			  /* not representable: parsed for syntax, then left out */
	struct dbc_message *next_same_id; /* while loading */
	unsigned line, column;
};

struct dbc {
	struct arena arena;
	const char *version;
	struct vec messages;	    /* struct dbc_message * */
	struct vec nodes;	    /* const char * */
	struct dbc_message **table; /* open addressing by (id, ext) */
	size_t table_size;
};

/* ---- lexer ----------------------------------------------------------------------- */

struct attr_def {
	const char *name;
	const char *type; /* INT HEX FLOAT STRING ENUM */
	struct vec enums; /* const char * */
	const char *def_text;
};

struct ref {
	/* a statement that refers to a message (and maybe a signal), resolved at the end */
	int kind;
	uint32_t dbc_id;
	const char *sig;
	const char *name;
	const char *text;
	double num;
	bool is_string;
	struct vec pairs; /* choices: struct choice; mul val: struct range; senders: char * */
	unsigned line, column;
};

enum ref_kind {
	REF_COMMENT_MSG,
	REF_COMMENT_SIG,
	REF_ATTR_MSG,
	REF_ATTR_SIG,
	REF_CHOICES,
	REF_SIGTYPE,
	REF_MULVAL,
	REF_TX_BU,
	REF_SIG_GROUP,
};

struct dbc_parser {
	char *file;
	dbc_warn_fn warn;
	void *userdata;
	char *buf;
	size_t len, cap;
};

struct lex {
	const char *s;
	size_t len, pos;
	const char *file;
	dbc_warn_fn warn;
	void *userdata;
	struct dbc_error *err;
	struct arena *arena;
	/* collected while parsing */
	struct vec refs; /* struct ref */
	struct vec defs; /* struct attr_def */
	struct dbc *db;
	size_t line_cache_pos;
	unsigned line_cache_line, line_cache_col_base;
};

static const char *const keywords[] = {
    "BA_",	    "BA_DEF_",
    "BA_DEF_DEF_",  "BA_DEF_DEF_REL_",
    "BA_DEF_REL_",  "BA_DEF_SGTYPE_",
    "BA_REL_",	    "BA_SGTYPE_",
    "BO_",	    "BO_TX_BU_",
    "BS_",	    "BU_",
    "BU_BO_REL_",   "BU_EV_REL_",
    "BU_SG_REL_",   "CAT_",
    "CAT_DEF_",	    "CM_",
    "ENVVAR_DATA_", "EV_",
    "EV_DATA_",	    "FILTER",
    "NS_",	    "NS_DESC_",
    "SG_",	    "SG_MUL_VAL_",
    "SGTYPE_",	    "SGTYPE_VAL_",
    "SIG_GROUP_",   "SIG_TYPE_REF_",
    "SIG_VALTYPE_", "SIGTYPE_VALTYPE_",
    "VAL_",	    "VAL_TABLE_",
    "VERSION",
};

static bool is_word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

static bool is_keyword(const char *w, size_t n)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strlen(keywords[i]) == n && memcmp(keywords[i], w, n) == 0)
			return true;
	return false;
}

static void position(struct lex *l, size_t pos, unsigned *ret_line, unsigned *ret_col)
{
	/* errors and warnings are rare: count from a cached point, restarting if behind */
	if (pos < l->line_cache_pos) {
		l->line_cache_pos = 0;
		l->line_cache_line = 1;
		l->line_cache_col_base = 0;
	}
	size_t line_start = l->line_cache_col_base;
	unsigned line = l->line_cache_line;
	for (size_t i = l->line_cache_pos; i < pos && i < l->len; i++)
		if (l->s[i] == '\n') {
			line++;
			line_start = i + 1;
		}
	l->line_cache_pos = pos;
	l->line_cache_line = line;
	l->line_cache_col_base = line_start;
	*ret_line = line;
	*ret_col = (unsigned)(pos - line_start) + 1;
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct lex *l, size_t pos, const char *fmt,
							 ...)
{
	if (l->err) {
		va_list ap;
		memset(l->err, 0, sizeof(*l->err));
		snprintf(l->err->file, sizeof(l->err->file), "%s", l->file);
		position(l, pos, &l->err->line, &l->err->column);
		va_start(ap, fmt);
		vsnprintf(l->err->message, sizeof(l->err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

__attribute__((format(printf, 3, 4))) static void warn_at(struct lex *l, size_t pos,
							  const char *fmt, ...)
{
	char msg[256];
	unsigned line, col;
	va_list ap;

	if (!l->warn)
		return;
	position(l, pos, &line, &col);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->warn(l->userdata, l->file, line, col, msg);
}

__attribute__((format(printf, 4, 5))) static void
warn_msg(struct lex *l, const struct dbc_message *m, const char *what, const char *fmt, ...)
{
	char msg[256];
	int n;
	va_list ap;

	if (!l->warn)
		return;
	n = snprintf(msg, sizeof(msg), "message %s: %s", m->name, what);
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < sizeof(msg))
		vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	l->warn(l->userdata, l->file, m->line, m->column, msg);
}

__attribute__((format(printf, 4, 5))) static void warn_line(struct lex *l, unsigned line,
							    unsigned column, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	l->warn(l->userdata, l->file, line, column, msg);
}

/* A fatal problem found while resolving a message, reported at its BO_. */
__attribute__((format(printf, 3, 4))) static int
fail_msg(struct lex *l, const struct dbc_message *m, const char *fmt, ...)
{
	if (l->err) {
		va_list ap;
		int n;
		memset(l->err, 0, sizeof(*l->err));
		snprintf(l->err->file, sizeof(l->err->file), "%s", l->file);
		l->err->line = m->line;
		l->err->column = m->column;
		n = snprintf(l->err->message, sizeof(l->err->message), "message %s: ", m->name);
		va_start(ap, fmt);
		if (n >= 0 && (size_t)n < sizeof(l->err->message))
			vsnprintf(l->err->message + n, sizeof(l->err->message) - (size_t)n, fmt,
				  ap);
		va_end(ap);
	}
	return -EINVAL;
}

static void skip_ws(struct lex *l)
{
	while (l->pos < l->len) {
		char c = l->s[l->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
			l->pos++;
		} else if (c == '/' && l->pos + 1 < l->len && l->s[l->pos + 1] == '/') {
			while (l->pos < l->len && l->s[l->pos] != '\n')
				l->pos++;
		} else {
			break;
		}
	}
}

static bool at_end(struct lex *l)
{
	skip_ws(l);
	return l->pos >= l->len;
}

static char peek(struct lex *l)
{
	skip_ws(l);
	return l->pos < l->len ? l->s[l->pos] : '\0';
}

static size_t word_len_at(struct lex *l, size_t pos)
{
	size_t n = 0;
	while (pos + n < l->len && is_word_char(l->s[pos + n]))
		n++;
	return n;
}

/* The word at the cursor, without consuming it. */
static size_t peek_word(struct lex *l, const char **ret)
{
	skip_ws(l);
	*ret = l->s + l->pos;
	return word_len_at(l, l->pos);
}

static bool peek_keyword(struct lex *l)
{
	const char *w;
	size_t n = peek_word(l, &w);
	return n > 0 && is_keyword(w, n);
}

static bool accept_word(struct lex *l, const char *kw)
{
	const char *w;
	size_t n = peek_word(l, &w);
	if (n == strlen(kw) && memcmp(w, kw, n) == 0) {
		l->pos += n;
		return true;
	}
	return false;
}

static bool accept_char(struct lex *l, char c)
{
	if (peek(l) == c) {
		l->pos++;
		return true;
	}
	return false;
}

static int expect_char(struct lex *l, char c, const char *what)
{
	if (accept_char(l, c))
		return 0;
	if (l->pos >= l->len)
		return fail_at(l, l->pos, "expected '%c' %s, got end of file", c, what);
	return fail_at(l, l->pos, "expected '%c' %s", c, what);
}

/* A name: [A-Za-z0-9_]+ (opendbc has names starting with a digit). */
static int read_name(struct lex *l, const char *what, const char **ret)
{
	const char *w;
	size_t n = peek_word(l, &w);
	if (n == 0)
		return fail_at(l, l->pos, "expected %s", what);
	const char *s = arena_strndup(l->arena, w, n);
	if (!s)
		return -ENOMEM;
	l->pos += n;
	*ret = s;
	return 0;
}

struct num {
	double d;
	bool is_int; /* written without '.' or exponent: Python's num() gives an int */
	bool i_ok;   /* i holds the exact value */
	int64_t i;
	const char *text;
	size_t text_len;
};

static bool num_start(struct lex *l)
{
	char c = peek(l);
	if (c == '.' || (c >= '0' && c <= '9'))
		return true;
	if ((c == '-' || c == '+') && l->pos + 1 < l->len) {
		char d = l->s[l->pos + 1];
		return d == '.' || (d >= '0' && d <= '9');
	}
	return false;
}

/* [-+]? digits? (. digits?)? ([eE][-+]?digits)? with at least one mantissa digit. */
static int read_number(struct lex *l, const char *what, struct num *ret)
{
	char tmp[128];
	size_t p, start, mant = 0;
	bool is_int = true;

	skip_ws(l);
	start = p = l->pos;
	if (p < l->len && (l->s[p] == '-' || l->s[p] == '+'))
		p++;
	while (p < l->len && isdigit((unsigned char)l->s[p])) {
		p++;
		mant++;
	}
	if (p < l->len && l->s[p] == '.') {
		is_int = false;
		p++;
		while (p < l->len && isdigit((unsigned char)l->s[p])) {
			p++;
			mant++;
		}
	}
	if (mant == 0)
		return fail_at(l, start, "expected a number for %s", what);
	if (p < l->len && (l->s[p] == 'e' || l->s[p] == 'E')) {
		size_t q = p + 1;
		if (q < l->len && (l->s[q] == '-' || l->s[q] == '+'))
			q++;
		if (q < l->len && isdigit((unsigned char)l->s[q])) {
			while (q < l->len && isdigit((unsigned char)l->s[q]))
				q++;
			p = q;
			is_int = false;
		}
	}
	if (p - start >= sizeof(tmp))
		return fail_at(l, start, "number too long for %s", what);
	memcpy(tmp, l->s + start, p - start);
	tmp[p - start] = '\0';

	struct num n = {.is_int = is_int, .text = l->s + start, .text_len = p - start};
	char *end;
	errno = 0;
	n.d = strtod(tmp, &end);
	if (*end != '\0')
		return fail_at(l, start, "bad number '%s' for %s", tmp, what);
	/* a value beyond double range becomes inf, as Python's float() makes it */
	if (is_int) {
		errno = 0;
		long long v = strtoll(tmp, &end, 10);
		if (*end == '\0' && errno == 0) {
			n.i = v;
			n.i_ok = true;
		}
	} else if (n.d >= -9.2e18 && n.d <= 9.2e18 && n.d == floor(n.d)) {
		n.i = (int64_t)n.d;
		n.i_ok = true;
	}
	l->pos = p;
	*ret = n;
	return 0;
}

/* Unsigned decimal integer (identifiers, bit positions), range-checked. */
static int read_uint(struct lex *l, const char *what, uint64_t max, uint64_t *ret)
{
	skip_ws(l);
	size_t start = l->pos, p = l->pos;
	char tmp[32];
	while (p < l->len && isdigit((unsigned char)l->s[p]))
		p++;
	/* a word glued to the digits is a name, not a number */
	if (p == start || (p < l->len && is_word_char(l->s[p])))
		return fail_at(l, start, "expected an unsigned integer for %s", what);
	if (p - start >= sizeof(tmp))
		return fail_at(l, start, "%s out of range", what);
	memcpy(tmp, l->s + start, p - start);
	tmp[p - start] = '\0';
	char *end;
	errno = 0;
	unsigned long long v = strtoull(tmp, &end, 10);
	if (*end != '\0' || errno == ERANGE || v > max)
		return fail_at(l, start, "%s %s out of range (max %llu)", what, tmp,
			       (unsigned long long)max);
	l->pos = p;
	*ret = v;
	return 0;
}

static bool uint_start(struct lex *l)
{
	skip_ws(l);
	size_t p = l->pos;
	while (p < l->len && isdigit((unsigned char)l->s[p]))
		p++;
	return p > l->pos && !(p < l->len && is_word_char(l->s[p]));
}

/* "..." where \" stands for a quote and every other byte is itself (cantools' rule). */
static int read_string(struct lex *l, const char *what, const char **ret)
{
	skip_ws(l);
	size_t start = l->pos;
	if (l->pos >= l->len || l->s[l->pos] != '"')
		return fail_at(l, l->pos, "expected a quoted string for %s", what);
	size_t p = start + 1, n = 0;
	bool closed = false;
	while (p < l->len) {
		if (l->s[p] == '\\' && p + 1 < l->len && l->s[p + 1] == '"') {
			p += 2;
			n++;
		} else if (l->s[p] == '"') {
			closed = true;
			break;
		} else {
			p++;
			n++;
		}
	}
	if (!closed)
		return fail_at(l, start, "unterminated string for %s", what);
	char *s = arena_alloc(l->arena, n + 1);
	if (!s)
		return -ENOMEM;
	size_t o = 0;
	for (size_t i = start + 1; i < p;) {
		if (l->s[i] == '\\' && i + 1 < p && l->s[i + 1] == '"') {
			s[o++] = '"';
			i += 2;
		} else {
			s[o++] = l->s[i++];
		}
	}
	s[o] = '\0';
	l->pos = p + 1;
	*ret = s;
	return 0;
}

/* End of a statement: ';', or (opendbc quirk) nothing before the next keyword. */
static int expect_end(struct lex *l, const char *what)
{
	if (accept_char(l, ';'))
		return 0;
	if (at_end(l) || peek_keyword(l)) {
		warn_at(l, l->pos, "missing ';' after %s", what);
		return 0;
	}
	return fail_at(l, l->pos, "expected ';' after %s", what);
}

/* Skips a statement we do not use: up to ';' (outside strings) or the next keyword that
 * starts a line (a statement missing its ';'). */
static void skip_statement(struct lex *l)
{
	bool line_start = false;
	while (l->pos < l->len) {
		char c = l->s[l->pos];
		if (c == ';') {
			l->pos++;
			return;
		}
		if (c == '"') {
			l->pos++;
			while (l->pos < l->len && l->s[l->pos] != '"') {
				if (l->s[l->pos] == '\\' && l->pos + 1 < l->len &&
				    l->s[l->pos + 1] == '"')
					l->pos++;
				l->pos++;
			}
			l->pos++;
			line_start = false;
			continue;
		}
		if (c == '\n') {
			line_start = true;
			l->pos++;
			continue;
		}
		if (c == ' ' || c == '\t' || c == '\r') {
			l->pos++;
			continue;
		}
		if (line_start && is_word_char(c)) {
			size_t n = word_len_at(l, l->pos);
			if (is_keyword(l->s + l->pos, n))
				return;
		}
		line_start = false;
		l->pos++;
	}
}

/* ---- statements ------------------------------------------------------------------ */

static struct ref *new_ref(struct lex *l, enum ref_kind kind, size_t pos)
{
	struct ref *r = vec_push(&l->refs, sizeof(*r));
	if (!r)
		return NULL;
	r->kind = kind;
	position(l, pos, &r->line, &r->column);
	return r;
}

/* opendbc writes 29-bit ids above 0x7FF without bit 31; take them as extended. */
static uint32_t canonical_id(uint64_t id)
{
	if (!(id & 0x80000000u) && id > 0x7ffu)
		id |= 0x80000000u;
	return (uint32_t)id;
}

static int read_msg_id(struct lex *l, uint32_t *ret)
{
	uint64_t v;
	int r = read_uint(l, "message id", UINT32_MAX, &v);
	if (r < 0)
		return r;
	*ret = canonical_id(v);
	return 0;
}

static int parse_signal_body(struct lex *l, struct dbc_signal *s, bool with_receivers)
{
	struct num n;
	uint64_t v;
	int r;

	if ((r = read_name(l, "signal name", &s->dbc_name)) < 0)
		return r;
	s->name = s->dbc_name;
	if (peek(l) != ':') {
		if ((r = read_name(l, "multiplexer indicator or ':'", &s->mux_token)) < 0)
			return r;
	}
	if ((r = expect_char(l, ':', "after signal name")) < 0)
		return r;
	if ((r = read_uint(l, "start bit", 511, &v)) < 0)
		return r;
	s->start = (unsigned)v;
	if ((r = expect_char(l, '|', "after start bit")) < 0)
		return r;
	size_t lpos = (skip_ws(l), l->pos);
	if ((r = read_uint(l, "signal length", 1u << 24, &v)) < 0)
		return r;
	if (v == 0)
		return fail_at(l, lpos, "signal length 0");
	/* cantools loads wider signals in lax mode; only the part inside the message is
	 * ever decoded */
	if (v > 64)
		warn_at(l, lpos, "signal %s is %llu bits long", s->name, (unsigned long long)v);
	s->length = (unsigned)v;
	if ((r = expect_char(l, '@', "after signal length")) < 0)
		return r;
	char c = peek(l);
	if (c != '0' && c != '1')
		return fail_at(l, l->pos, "expected byte order 0 or 1 after '@'");
	s->big_endian = c == '0';
	l->pos++;
	c = peek(l);
	if (c != '+' && c != '-')
		return fail_at(l, l->pos, "expected '+' or '-' after byte order");
	s->is_signed = c == '-';
	l->pos++;
	if ((r = expect_char(l, '(', "before factor")) < 0)
		return r;
	if ((r = read_number(l, "factor", &n)) < 0)
		return r;
	s->factor = n.d;
	s->factor_is_int_literal = n.is_int;
	if ((r = expect_char(l, ',', "after factor")) < 0)
		return r;
	if ((r = read_number(l, "offset", &n)) < 0)
		return r;
	s->offset = n.d;
	if ((r = expect_char(l, ')', "after offset")) < 0)
		return r;
	if ((r = expect_char(l, '[', "before minimum")) < 0)
		return r;
	if ((r = read_number(l, "minimum", &n)) < 0)
		return r;
	s->min = n.d;
	bool min_zero = n.text_len == 1 && n.text[0] == '0';
	if ((r = expect_char(l, '|', "after minimum")) < 0)
		return r;
	if ((r = read_number(l, "maximum", &n)) < 0)
		return r;
	s->max = n.d;
	/* cantools: the literal text [0|0] means no range */
	s->has_range = !(min_zero && n.text_len == 1 && n.text[0] == '0');
	if ((r = expect_char(l, ']', "after maximum")) < 0)
		return r;
	if ((r = read_string(l, "unit", &s->unit)) < 0)
		return r;
	if (!with_receivers)
		return 0;
	for (;;) {
		const char *w;
		size_t wn = peek_word(l, &w);
		if (wn == 0 || is_keyword(w, wn))
			break;
		const char *name;
		if ((r = read_name(l, "receiver", &name)) < 0)
			return r;
		if (strcmp(name, "Vector__XXX") != 0 &&
		    vec_push_ptr(&s->receivers, (void *)name) < 0)
			return -ENOMEM;
		accept_char(l, ',');
	}
	return 0;
}

static void signal_release(struct dbc_signal *s);
static void message_release(struct dbc_message *m);
static int parse_message_body(struct lex *l, struct dbc_message *m, size_t kwpos);

static int parse_message(struct lex *l, size_t kwpos)
{
	struct dbc_message *m = arena_alloc(l->arena, sizeof(*m));
	int r;

	if (!m)
		return -ENOMEM;
	r = parse_message_body(l, m, kwpos);
	/* cantools drops the pseudo message holding signals that belong to no message */
	if (r >= 0 && !m->dropped && strcmp(m->dbc_name, "VECTOR__INDEPENDENT_SIG_MSG") != 0) {
		r = vec_push_ptr(&l->db->messages, m);
		if (r >= 0)
			return r;
	}
	message_release(m);
	return r;
}

static int parse_message_body(struct lex *l, struct dbc_message *m, size_t kwpos)
{
	uint64_t v;
	int r;

	position(l, kwpos, &m->line, &m->column);
	size_t idpos = (skip_ws(l), l->pos);
	if ((r = read_uint(l, "message id", UINT32_MAX, &v)) < 0)
		return r;
	m->dbc_id = canonical_id(v);
	if ((r = read_name(l, "message name", &m->dbc_name)) < 0)
		return r;
	if ((m->dbc_id & 0x7fffffffu) > 0x1fffffffu) {
		/* no CAN frame carries it; cantools refuses the file, we leave the message out
		 * (VECTOR__INDEPENDENT_SIG_MSG, 0x40000000, is dropped anyway) */
		if (strcmp(m->dbc_name, "VECTOR__INDEPENDENT_SIG_MSG") != 0)
			warn_at(l, idpos, "message %s: id 0x%x is more than 29 bits; left out",
				m->dbc_name, m->dbc_id & 0x7fffffffu);
		m->dropped = true;
	} else if (m->dbc_id != v) {
		warn_at(l, idpos, "id 0x%llx above 0x7FF without bit 31: taken as extended",
			(unsigned long long)v);
	}
	m->name = m->dbc_name;
	if (m->name[0] >= '0' && m->name[0] <= '9') {
		/* not a C identifier; the reference decoder (cantools after repairing opendbc's
		 * quirks) names such messages D__<name>, and so do we */
		char *n = arena_alloc(l->arena, strlen(m->dbc_name) + 4);
		if (!n)
			return -ENOMEM;
		sprintf(n, "D__%s", m->dbc_name);
		m->name = n;
		warn_at(l, kwpos, "message name %s starts with a digit; called %s", m->dbc_name, n);
	}
	if ((r = expect_char(l, ':', "after message name")) < 0)
		return r;
	size_t lpos = (skip_ws(l), l->pos);
	if ((r = read_uint(l, "message length", 4096, &v)) < 0)
		return r;
	m->length = (unsigned)v;
	if (m->length > DBC_MAX_MESSAGE_LEN)
		return fail_at(l, lpos, "message length %u exceeds %u bytes", m->length,
			       DBC_MAX_MESSAGE_LEN);
	if (!peek_keyword(l) && !at_end(l) && peek(l) != ';') {
		const char *sender;
		if ((r = read_name(l, "sender", &sender)) < 0)
			return r;
		if (strcmp(sender, "Vector__XXX") != 0 &&
		    vec_push_ptr(&m->senders, (void *)sender) < 0)
			return -ENOMEM;
	}
	accept_char(l, ';');
	while (accept_word(l, "SG_")) {
		struct dbc_signal *s = arena_alloc(l->arena, sizeof(*s));
		if (!s)
			return -ENOMEM;
		s->index = m->signals.n;
		if (vec_push_ptr(&m->signals, s) < 0)
			return -ENOMEM;
		if ((r = parse_signal_body(l, s, true)) < 0)
			return r;
	}
	return 0;
}

/* NUMBER STRING pairs, as in VAL_ and VAL_TABLE_. */
static int parse_pairs(struct lex *l, struct vec *pairs)
{
	while (num_start(l)) {
		struct num n;
		const char *label;
		size_t pos = l->pos;
		int r;
		if ((r = read_number(l, "value", &n)) < 0)
			return r;
		if ((r = read_string(l, "value description", &label)) < 0)
			return r;
		if (!n.i_ok) {
			warn_at(l, pos, "value %.*s is not an integer; ignored", (int)n.text_len,
				n.text);
			continue;
		}
		struct choice *c = vec_push(pairs, sizeof(*c));
		if (!c)
			return -ENOMEM;
		c->value = n.i;
		c->label = label;
	}
	return 0;
}

static int parse_val(struct lex *l, size_t kwpos)
{
	const char *name;
	int r;

	if (uint_start(l)) {
		struct ref *ref = new_ref(l, REF_CHOICES, kwpos);
		if (!ref)
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if ((r = read_name(l, "signal name", &ref->sig)) < 0)
			return r;
		if ((r = parse_pairs(l, &ref->pairs)) < 0)
			return r;
	} else {
		/* value descriptions of an environment variable: not used */
		struct vec pairs = {0};
		if ((r = read_name(l, "signal or environment variable name", &name)) < 0)
			return r;
		r = parse_pairs(l, &pairs);
		free(pairs.v);
		if (r < 0)
			return r;
	}
	return expect_end(l, "VAL_");
}

static int parse_comment(struct lex *l, size_t kwpos)
{
	const char *text, *name;
	struct ref *ref;
	int r;

	if (accept_word(l, "SG_")) {
		if (!(ref = new_ref(l, REF_COMMENT_SIG, kwpos)))
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if (peek(l) == '"') {
			/* opendbc quirk: no signal name; the comment belongs to nothing */
			warn_at(l, l->pos, "signal comment without a signal name");
			ref->kind = -1;
		} else if ((r = read_name(l, "signal name", &ref->sig)) < 0) {
			return r;
		}
		if ((r = read_string(l, "comment", &ref->text)) < 0)
			return r;
	} else if (accept_word(l, "BO_")) {
		if (!(ref = new_ref(l, REF_COMMENT_MSG, kwpos)))
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if ((r = read_string(l, "comment", &ref->text)) < 0)
			return r;
	} else if (accept_word(l, "BU_") || accept_word(l, "EV_")) {
		if ((r = read_name(l, "name", &name)) < 0)
			return r;
		if ((r = read_string(l, "comment", &text)) < 0)
			return r;
	} else if (uint_start(l)) {
		/* opendbc writes message comments without BO_ */
		warn_at(l, l->pos, "message comment without BO_");
		if (!(ref = new_ref(l, REF_COMMENT_MSG, kwpos)))
			return -ENOMEM;
		if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
			return r;
		if ((r = read_string(l, "comment", &ref->text)) < 0)
			return r;
	} else {
		if ((r = read_string(l, "comment", &text)) < 0)
			return r;
	}
	return expect_end(l, "CM_");
}

static struct attr_def *find_def(struct lex *l, const char *name)
{
	struct attr_def *d = l->defs.v;
	for (size_t i = l->defs.n; i-- > 0;)
		if (strcmp(d[i].name, name) == 0)
			return &d[i];
	return NULL;
}

static int parse_attr_def(struct lex *l)
{
	struct attr_def *d = vec_push(&l->defs, sizeof(*d));
	int r;

	if (!d)
		return -ENOMEM;
	if (!accept_word(l, "SG_") && !accept_word(l, "BO_") && !accept_word(l, "BU_"))
		accept_word(l, "EV_");
	if ((r = read_string(l, "attribute name", &d->name)) < 0)
		return r;
	if ((r = read_name(l, "attribute type", &d->type)) < 0)
		return r;
	while (!at_end(l) && peek(l) != ';' && !peek_keyword(l)) {
		if (peek(l) == '"') {
			const char *e;
			if ((r = read_string(l, "enum value", &e)) < 0)
				return r;
			if (vec_push_ptr(&d->enums, (void *)e) < 0)
				return -ENOMEM;
		} else if (num_start(l)) {
			struct num n;
			if ((r = read_number(l, "attribute limit", &n)) < 0)
				return r;
		} else if (peek(l) == ',') {
			l->pos++;
		} else {
			return fail_at(l, l->pos, "unexpected character in BA_DEF_");
		}
	}
	return expect_end(l, "BA_DEF_");
}

static int read_attr_value(struct lex *l, const char **ret_text, double *ret_num,
			   bool *ret_is_string)
{
	int r;
	if (peek(l) == '"') {
		*ret_is_string = true;
		*ret_num = 0;
		return read_string(l, "attribute value", ret_text);
	}
	struct num n;
	if ((r = read_number(l, "attribute value", &n)) < 0)
		return r;
	*ret_is_string = false;
	*ret_num = n.d;
	*ret_text = arena_strndup(l->arena, n.text, n.text_len);
	return *ret_text ? 0 : -ENOMEM;
}

static int parse_attr_default(struct lex *l)
{
	const char *name, *text;
	double num;
	bool is_string;
	int r;

	if ((r = read_string(l, "attribute name", &name)) < 0)
		return r;
	if ((r = read_attr_value(l, &text, &num, &is_string)) < 0)
		return r;
	struct attr_def *d = find_def(l, name);
	if (d)
		d->def_text = text;
	return expect_end(l, "BA_DEF_DEF_");
}

static int parse_attr(struct lex *l, size_t kwpos)
{
	const char *name, *text, *other;
	struct ref tmp = {0};
	double num;
	bool is_string;
	int r, kind = -1;

	if ((r = read_string(l, "attribute name", &name)) < 0)
		return r;
	if (accept_word(l, "BO_")) {
		kind = REF_ATTR_MSG;
		if ((r = read_msg_id(l, &tmp.dbc_id)) < 0)
			return r;
	} else if (accept_word(l, "SG_")) {
		kind = REF_ATTR_SIG;
		if ((r = read_msg_id(l, &tmp.dbc_id)) < 0)
			return r;
		if ((r = read_name(l, "signal name", &tmp.sig)) < 0)
			return r;
	} else if (accept_word(l, "BU_") || accept_word(l, "EV_")) {
		if ((r = read_name(l, "name", &other)) < 0)
			return r;
	}
	if ((r = read_attr_value(l, &text, &num, &is_string)) < 0)
		return r;
	if (kind >= 0) {
		struct ref *ref = new_ref(l, kind, kwpos);
		if (!ref)
			return -ENOMEM;
		ref->dbc_id = tmp.dbc_id;
		ref->sig = tmp.sig;
		ref->name = name;
		ref->text = text;
		ref->num = num;
		ref->is_string = is_string;
	}
	return expect_end(l, "BA_");
}

static int parse_sig_valtype(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_SIGTYPE, kwpos);
	uint64_t v;
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = read_name(l, "signal name", &ref->sig)) < 0)
		return r;
	accept_char(l, ':');
	if ((r = read_uint(l, "signal value type", 3, &v)) < 0)
		return r;
	ref->num = (double)v;
	return expect_end(l, "SIG_VALTYPE_");
}

static int parse_mul_val(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_MULVAL, kwpos);
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = read_name(l, "signal name", &ref->sig)) < 0)
		return r;
	if ((r = read_name(l, "multiplexer name", &ref->name)) < 0)
		return r;
	do {
		uint64_t lo, hi;
		size_t pos = (skip_ws(l), l->pos);
		if ((r = read_uint(l, "multiplexer value", INT64_MAX, &lo)) < 0)
			return r;
		if ((r = expect_char(l, '-', "in multiplexer value range")) < 0)
			return r;
		if ((r = read_uint(l, "multiplexer value", INT64_MAX, &hi)) < 0)
			return r;
		if (hi < lo)
			return fail_at(l, pos, "multiplexer range %llu-%llu is empty",
				       (unsigned long long)lo, (unsigned long long)hi);
		struct range *rg = vec_push(&ref->pairs, sizeof(*rg));
		if (!rg)
			return -ENOMEM;
		rg->lo = (int64_t)lo;
		rg->hi = (int64_t)hi;
	} while (accept_char(l, ','));
	return expect_end(l, "SG_MUL_VAL_");
}

static int parse_tx_bu(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_TX_BU, kwpos);
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = expect_char(l, ':', "after message id")) < 0)
		return r;
	while (!peek_keyword(l) && word_len_at(l, (skip_ws(l), l->pos)) > 0) {
		const char *name;
		if ((r = read_name(l, "sender", &name)) < 0)
			return r;
		if (vec_push_ptr(&ref->pairs, (void *)name) < 0)
			return -ENOMEM;
		accept_char(l, ',');
	}
	return expect_end(l, "BO_TX_BU_");
}

static int parse_sig_group(struct lex *l, size_t kwpos)
{
	struct ref *ref = new_ref(l, REF_SIG_GROUP, kwpos);
	uint64_t reps;
	int r;

	if (!ref)
		return -ENOMEM;
	if ((r = read_msg_id(l, &ref->dbc_id)) < 0)
		return r;
	if ((r = read_name(l, "signal group name", &ref->name)) < 0)
		return r;
	if ((r = read_uint(l, "repetitions", UINT32_MAX, &reps)) < 0)
		return r;
	ref->num = (double)reps;
	if ((r = expect_char(l, ':', "after repetitions")) < 0)
		return r;
	while (!peek_keyword(l) && word_len_at(l, (skip_ws(l), l->pos)) > 0) {
		const char *name;
		if ((r = read_name(l, "signal name", &name)) < 0)
			return r;
		if (vec_push_ptr(&ref->pairs, (void *)name) < 0)
			return -ENOMEM;
		accept_char(l, ',');
	}
	return expect_end(l, "SIG_GROUP_");
}

static int parse_value_table(struct lex *l)
{
	const char *name;
	struct vec pairs = {0};
	int r;

	/* kept by cantools but never linked to signals: parsed for syntax only */
	if ((r = read_name(l, "value table name", &name)) < 0)
		return r;
	r = parse_pairs(l, &pairs);
	free(pairs.v);
	if (r < 0)
		return r;
	return expect_end(l, "VAL_TABLE_");
}

static int parse_nodes(struct lex *l)
{
	int r;
	accept_char(l, ':');
	for (;;) {
		const char *w;
		size_t n = peek_word(l, &w);
		if (n == 0 || is_keyword(w, n))
			break;
		const char *name;
		if ((r = read_name(l, "node name", &name)) < 0)
			return r;
		if (vec_push_ptr(&l->db->nodes, (void *)name) < 0)
			return -ENOMEM;
		accept_char(l, ',');
	}
	accept_char(l, ';');
	return 0;
}

static void parse_ns(struct lex *l)
{
	/* the list of symbol names ends at the first word followed by ':' (cantools) */
	accept_char(l, ':');
	for (;;) {
		const char *w;
		size_t n = peek_word(l, &w);
		if (n == 0)
			return;
		if ((n == 3 &&
		     (!memcmp(w, "BS_", 3) || !memcmp(w, "BU_", 3) || !memcmp(w, "BO_", 3))))
			return;
		size_t p = l->pos + n;
		while (p < l->len &&
		       (l->s[p] == ' ' || l->s[p] == '\t' || l->s[p] == '\r' || l->s[p] == '\n'))
			p++;
		if (p < l->len && l->s[p] == ':')
			return;
		l->pos += n;
	}
}

static void parse_bs(struct lex *l)
{
	accept_char(l, ':');
	/* optional "baudrate : btr1 , btr2" */
	while (uint_start(l) || peek(l) == ':' || peek(l) == ',') {
		if (uint_start(l)) {
			uint64_t v;
			if (read_uint(l, "baudrate", UINT64_MAX, &v) < 0)
				return;
		} else {
			l->pos++;
		}
	}
	accept_char(l, ';');
}

static int parse_statements(struct lex *l)
{
	int r = 0;

	while (!at_end(l)) {
		size_t kwpos = l->pos;
		const char *w;
		size_t n = peek_word(l, &w);

		if (n == 0) {
			char c = l->s[l->pos];
			if (c == ';') {
				/* stray ';' after a statement: harmless */
				l->pos++;
				continue;
			}
			if (isprint((unsigned char)c))
				return fail_at(l, l->pos, "unexpected '%c' at top level", c);
			return fail_at(l, l->pos, "unexpected byte 0x%02x at top level",
				       (unsigned char)c);
		}
		l->pos += n;
#define IS(kw) (n == sizeof(kw) - 1 && memcmp(w, kw, n) == 0)
		if (IS("VERSION")) {
			r = read_string(l, "version", &l->db->version);
		} else if (IS("NS_")) {
			parse_ns(l);
		} else if (IS("BS_")) {
			parse_bs(l);
		} else if (IS("BU_")) {
			r = parse_nodes(l);
		} else if (IS("BO_")) {
			r = parse_message(l, kwpos);
		} else if (IS("SG_")) {
			return fail_at(l, kwpos, "SG_ outside a BO_ message");
		} else if (IS("CM_")) {
			r = parse_comment(l, kwpos);
		} else if (IS("BA_DEF_")) {
			r = parse_attr_def(l);
		} else if (IS("BA_DEF_DEF_")) {
			r = parse_attr_default(l);
		} else if (IS("BA_")) {
			r = parse_attr(l, kwpos);
		} else if (IS("VAL_")) {
			r = parse_val(l, kwpos);
		} else if (IS("VAL_TABLE_")) {
			r = parse_value_table(l);
		} else if (IS("SIG_VALTYPE_")) {
			r = parse_sig_valtype(l, kwpos);
		} else if (IS("SG_MUL_VAL_")) {
			r = parse_mul_val(l, kwpos);
		} else if (IS("BO_TX_BU_")) {
			r = parse_tx_bu(l, kwpos);
		} else if (IS("SIG_GROUP_")) {
			r = parse_sig_group(l, kwpos);
		} else if (is_keyword(w, n)) {
			/* EV_, ENVVAR_DATA_, relations, categories, signal types: not used */
			skip_statement(l);
		} else {
			warn_at(l, kwpos, "unknown statement '%.*s' skipped", (int)n, w);
			skip_statement(l);
		}
#undef IS
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- resolution ------------------------------------------------------------------ */

static size_t hash_id(uint32_t key, size_t size)
{
	uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (size - 1);
}

static uint32_t table_key(uint32_t id, bool ext)
{
	return id | (ext ? 0x80000000u : 0);
}

static int build_table(struct dbc *db)
{
	size_t size = 16;
	while (size < db->messages.n * 2)
		size *= 2;
	db->table = calloc(size, sizeof(*db->table));
	if (!db->table)
		return -ENOMEM;
	db->table_size = size;
	struct dbc_message **msgs = db->messages.v;
	for (size_t i = 0; i < db->messages.n; i++) {
		uint32_t key = table_key(msgs[i]->id, msgs[i]->ext);
		size_t h = hash_id(key, size);
		while (db->table[h] && table_key(db->table[h]->id, db->table[h]->ext) != key)
			h = (h + 1) & (size - 1);
		db->table[h] = msgs[i]; /* duplicates: the last one wins, as in cantools */
	}
	return 0;
}

static struct dbc_message *lookup(const struct dbc *db, uint32_t key)
{
	size_t h = hash_id(key, db->table_size);
	while (db->table[h]) {
		if (table_key(db->table[h]->id, db->table[h]->ext) == key)
			return db->table[h];
		h = (h + 1) & (db->table_size - 1);
	}
	return NULL;
}

static struct dbc_signal *find_sig_dbc_name(struct dbc_message *m, const char *name)
{
	struct dbc_signal **s = m->signals.v;
	for (size_t i = 0; i < m->signals.n; i++)
		if (strcmp(s[i]->dbc_name, name) == 0)
			return s[i];
	return NULL;
}

static int cmp_choice(const void *a, const void *b)
{
	const struct choice *x = a, *y = b;
	return (x->value > y->value) - (x->value < y->value);
}

/* Sets the choices of s from a VAL_ list: a repeated value keeps its last label. */
static int set_choices(struct dbc_signal *s, const struct vec *pairs)
{
	const struct choice *src = pairs->v;
	free(s->choices.v);
	s->choices = (struct vec){0};
	for (size_t i = 0; i < pairs->n; i++) {
		struct choice *c = s->choices.v;
		size_t j;
		for (j = 0; j < s->choices.n; j++)
			if (c[j].value == src[i].value)
				break;
		if (j < s->choices.n) {
			c[j].label = src[i].label;
			continue;
		}
		struct choice *n = vec_push(&s->choices, sizeof(*n));
		if (!n)
			return -ENOMEM;
		*n = src[i];
	}
	/* cantools maps a label back to the last value carrying it */
	struct choice *c = s->choices.v;
	for (size_t i = 0; i < s->choices.n; i++) {
		c[i].mux_number = c[i].value;
		for (size_t j = 0; j < s->choices.n; j++)
			if (strcmp(c[j].label, c[i].label) == 0)
				c[i].mux_number = c[j].value;
	}
	if (s->choices.n > 1)
		qsort(s->choices.v, s->choices.n, sizeof(struct choice), cmp_choice);
	return 0;
}

static bool integral(double d)
{
	return isfinite(d) && d == floor(d);
}

/* Sawtooth start bit (the MSB of a Motorola signal) in network order, where bit 0 is the
 * MSB of byte 0 and numbers grow towards the end of the frame. */
static unsigned network_msb(unsigned start)
{
	return 8 * (start / 8) + (7 - start % 8);
}

static void make_plan(struct plan *pl, bool big_endian, unsigned start, unsigned length)
{
	pl->length = length;
	pl->mask = length >= 64 ? UINT64_MAX : (UINT64_C(1) << length) - 1;
	if (big_endian) {
		unsigned p = network_msb(start);
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
	unsigned first = s->big_endian ? network_msb(s->start) : s->start;
	memset(&s->part, 0, sizeof(s->part));
	if (s->pl.need <= len || s->is_float || first >= 8 * len)
		return;
	unsigned avail = 8 * len - first;
	if (avail >= s->length || avail > 64)
		return;
	make_plan(&s->part, s->big_endian, s->start, avail);
}

static bool in_ranges(const struct vec *ranges, int64_t v)
{
	const struct range *r = ranges->v;
	for (size_t i = 0; i < ranges->n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

static bool ranges_intersect(const struct vec *a, const struct vec *b)
{
	const struct range *x = a->v, *y = b->v;
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (x[i].lo <= y[j].hi && y[j].lo <= x[i].hi)
				return true;
	return false;
}

static int add_range(struct vec *v, int64_t lo, int64_t hi)
{
	struct range *r = vec_push(v, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lo = lo;
	r->hi = hi;
	return 0;
}

/* Bits a signal covers, in a 512-bit map in network-independent (LE bit) numbering. */
static void signal_bits(const struct dbc_signal *s, uint64_t map[8])
{
	memset(map, 0, 8 * sizeof(uint64_t));
	for (unsigned k = 0; k < s->length && k < 512; k++) {
		unsigned bit;
		if (s->big_endian) {
			unsigned p = network_msb(s->start) + k;
			bit = 8 * (p / 8) + (7 - p % 8);
		} else {
			bit = s->start + k;
		}
		if (bit < 512)
			map[bit / 64] |= UINT64_C(1) << (bit % 64);
	}
}

static bool may_coexist(const struct dbc_signal *a, const struct dbc_signal *b)
{
	if (!a->mux || !b->mux)
		return true;
	return a->mux == b->mux && ranges_intersect(&a->mux_ranges, &b->mux_ranges);
}

static int resolve_message(struct lex *l, struct dbc_message *m, struct vec *mulvals)
{
	struct dbc_signal **sigs = m->signals.v;
	const char *simple_mux = NULL;
	size_t n_m = 0;
	int r;

	/* one 'M' signal: simple multiplexing; several: extended, SG_MUL_VAL_ only */
	for (size_t i = 0; i < m->signals.n; i++) {
		const char *t = sigs[i]->mux_token;
		if (t && t[strlen(t) - 1] == 'M') {
			sigs[i]->is_multiplexer = true;
			n_m++;
			simple_mux = sigs[i]->dbc_name;
		}
	}
	if (n_m != 1)
		simple_mux = NULL;

	for (size_t i = 0; i < m->signals.n; i++) {
		struct dbc_signal *s = sigs[i];
		const char *t = s->mux_token;
		const struct ref *mv = NULL;

		/* the last SG_MUL_VAL_ for this signal of this message */
		const struct ref *refs = mulvals->v;
		for (size_t k = 0; k < mulvals->n; k++)
			if (refs[k].dbc_id == m->dbc_id && strcmp(refs[k].sig, s->dbc_name) == 0)
				mv = &refs[k];

		if (simple_mux) {
			if (strcmp(s->dbc_name, simple_mux) != 0 && t) {
				s->mux_name = simple_mux;
				if (t[0] == 'm' && t[strlen(t) - 1] != 'M') {
					char *end;
					errno = 0;
					long long id = strtoll(t + 1, &end, 10);
					if (end == t + 1 || *end != '\0' || errno)
						return fail_msg(
						    l, m, "bad multiplexer indicator '%s'", t);
					if ((r = add_range(&s->mux_ranges, id, id)) < 0)
						return r;
				}
				if (mv && strcmp(mv->name, simple_mux) == 0) {
					const struct range *rg = mv->pairs.v;
					for (size_t k = 0; k < mv->pairs.n; k++)
						if ((r = add_range(&s->mux_ranges, rg[k].lo,
								   rg[k].hi)) < 0)
							return r;
				}
				if (s->mux_ranges.n == 0)
					s->mux_name = NULL;
			}
		} else if (t && mv) {
			s->mux_name = mv->name;
			const struct range *rg = mv->pairs.v;
			for (size_t k = 0; k < mv->pairs.n; k++)
				if ((r = add_range(&s->mux_ranges, rg[k].lo, rg[k].hi)) < 0)
					return r;
			if (s->mux_ranges.n == 0)
				s->mux_name = NULL;
		}
	}

	/* link multiplexers and children */
	for (size_t i = 0; i < m->signals.n; i++) {
		struct dbc_signal *s = sigs[i];
		if (!s->mux_name) {
			if ((r = vec_push_ptr(&m->roots, s)) < 0)
				return r;
			continue;
		}
		struct dbc_signal *mux = find_sig_dbc_name(m, s->mux_name);
		if (!mux || mux == s || !mux->is_multiplexer) {
			s->orphan = true;
			warn_msg(l, m, "signal ", "%s refers to multiplexer %s which is not one",
				 s->name, s->mux_name);
			continue;
		}
		s->mux = mux;
		if ((r = vec_push_ptr(&mux->children, s)) < 0)
			return r;
	}
	for (size_t i = 0; i < m->signals.n; i++) {
		struct dbc_signal *s = sigs[i];
		if (!s->is_multiplexer)
			continue;
		struct dbc_signal **ch = s->children.v;
		for (size_t k = 0; k < s->children.n; k++) {
			const struct range *rg = ch[k]->mux_ranges.v;
			for (size_t j = 0; j < ch[k]->mux_ranges.n; j++)
				if ((r = add_range(&s->valid_ids, rg[j].lo, rg[j].hi)) < 0)
					return r;
		}
		/* cantools accepts a multiplexer value that has a VAL_ label, even with no
		 * signals behind it; with neither children nor labels nothing is checked */
		const struct choice *c = s->choices.v;
		for (size_t k = 0; k < s->choices.n; k++)
			if ((r = add_range(&s->valid_ids, c[k].value, c[k].value)) < 0)
				return r;
		s->check_mux = s->valid_ids.n > 0;
	}

	/* plans, and the structural checks cantools makes in strict mode, as warnings */
	for (size_t i = 0; i < m->signals.n; i++) {
		plan_signal(sigs[i]);
		plan_part(sigs[i], m->length);
		/* cantools unpacks into a dict by name: Motorola fields first in network order,
		 * then Intel fields from the highest start bit down; the last write wins */
		sigs[i]->dup_rank = sigs[i]->big_endian
					? network_msb(sigs[i]->start)
					: (1u << 30) | ((1u << 24) - sigs[i]->start);
		for (size_t j = 0; j < i; j++)
			if (strcmp(sigs[i]->name, sigs[j]->name) == 0) {
				m->dup_names = true;
				warn_msg(l, m, "signal name ", "%s used twice", sigs[i]->name);
			}
	}
	for (size_t i = 0; i < m->signals.n; i++) {
		if (sigs[i]->pl.need > m->length)
			warn_msg(l, m, "signal ", "%s does not fit in %u bytes", sigs[i]->name,
				 m->length);
	}
	if (l->warn && m->signals.n < 256) {
		uint64_t(*maps)[8] = calloc(m->signals.n, sizeof(*maps));
		if (!maps)
			return -ENOMEM;
		for (size_t i = 0; i < m->signals.n; i++)
			signal_bits(sigs[i], maps[i]);
		for (size_t i = 0; i < m->signals.n; i++)
			for (size_t j = i + 1; j < m->signals.n; j++) {
				bool ov = false;
				for (int k = 0; k < 8; k++)
					ov |= (maps[i][k] & maps[j][k]) != 0;
				if (ov && may_coexist(sigs[i], sigs[j]))
					warn_msg(l, m, "signals ", "%s and %s overlap",
						 sigs[i]->name, sigs[j]->name);
			}
		free(maps);
	}
	return 0;
}

static bool def_is(struct lex *l, const char *name, const char *type)
{
	struct attr_def *d = find_def(l, name);
	return d && (!type || strcmp(d->type, type) == 0);
}

static void apply_frame_format(struct lex *l, struct dbc_message *m, const struct ref *attr)
{
	struct attr_def *d = find_def(l, "VFrameFormat");
	const char *format = NULL;

	if (!d)
		return;
	if (attr) {
		if (attr->is_string) {
			format = attr->text;
		} else if (attr->num >= 0 && attr->num < (double)d->enums.n) {
			format = ((const char **)d->enums.v)[(size_t)attr->num];
		}
	} else {
		format = d->def_text;
	}
	if (format) {
		size_t n = strlen(format);
		m->fd = n >= 6 && strcmp(format + n - 6, "CAN_FD") == 0;
	}
}

/* Head of the chain of messages written with this id (statements refer to all of them). */
static struct dbc_message *first_with_id(struct dbc_message **heads, size_t size, uint32_t id)
{
	size_t h = hash_id(id, size);
	while (heads[h] && heads[h]->dbc_id != id)
		h = (h + 1) & (size - 1);
	return heads[h];
}

static int resolve(struct lex *l)
{
	struct dbc *db = l->db;
	struct dbc_message **msgs = db->messages.v;
	struct vec mulvals = {0};
	int r = 0;

	/* chain messages by written id: statements refer to every message with that id */
	size_t size = 16;
	while (size < db->messages.n * 2)
		size *= 2;
	struct dbc_message **heads = calloc(size, sizeof(*heads));
	if (!heads)
		return -ENOMEM;
	for (size_t i = db->messages.n; i-- > 0;) {
		size_t h = hash_id(msgs[i]->dbc_id, size);
		while (heads[h] && heads[h]->dbc_id != msgs[i]->dbc_id)
			h = (h + 1) & (size - 1);
		msgs[i]->next_same_id = heads[h];
		heads[h] = msgs[i];
		msgs[i]->id = msgs[i]->dbc_id & 0x7fffffffu;
		msgs[i]->ext = (msgs[i]->dbc_id & 0x80000000u) != 0;
	}

	bool have_cycle = def_is(l, "GenMsgCycleTime", NULL);
	unsigned default_cycle = 0;
	if (have_cycle) {
		const char *t = find_def(l, "GenMsgCycleTime")->def_text;
		if (t) {
			char *end;
			double d = strtod(t, &end);
			if (end != t && d >= 0 && d <= UINT_MAX)
				default_cycle = (unsigned)d;
		}
	}
	for (size_t i = 0; i < db->messages.n; i++) {
		msgs[i]->cycle_time = default_cycle;
		apply_frame_format(l, msgs[i], NULL);
	}

	struct ref *refs = l->refs.v;
	for (size_t i = 0; i < l->refs.n; i++) {
		struct ref *ref = &refs[i];
		switch ((enum ref_kind)ref->kind) {
		case REF_MULVAL:
			if (vec_push(&mulvals, sizeof(struct ref)) == NULL) {
				r = -ENOMEM;
				goto out;
			}
			((struct ref *)mulvals.v)[mulvals.n - 1] = *ref;
			continue;
		case REF_COMMENT_MSG:
		case REF_COMMENT_SIG:
		case REF_ATTR_MSG:
		case REF_ATTR_SIG:
		case REF_CHOICES:
		case REF_SIGTYPE:
		case REF_TX_BU:
		case REF_SIG_GROUP:
			break;
		}
		if (ref->kind < 0)
			continue;
		/* cantools ignores statements about messages or signals that do not exist;
		 * so do we, but say so */
		if (l->warn) {
			struct dbc_message *m = first_with_id(heads, size, ref->dbc_id);
			if (!m)
				warn_line(l, ref->line, ref->column, "message id %u is not defined",
					  ref->dbc_id);
			else if (ref->sig && !find_sig_dbc_name(m, ref->sig))
				warn_line(l, ref->line, ref->column, "message %s has no signal %s",
					  m->name, ref->sig);
		}
		for (struct dbc_message *m = first_with_id(heads, size, ref->dbc_id); m;
		     m = m->next_same_id) {
			/* a name a message defines twice: every signal of that name (cantools
			 * looks attributes up by name for each signal) */
			struct dbc_signal **sv = m->signals.v;
			size_t next = 0;
			do {
				struct dbc_signal *s = NULL;
				if (ref->sig) {
					while (next < m->signals.n &&
					       strcmp(sv[next]->dbc_name, ref->sig) != 0)
						next++;
					if (next == m->signals.n)
						break;
					s = sv[next++];
				}
				switch ((enum ref_kind)ref->kind) {
				case REF_COMMENT_MSG:
					m->comment = ref->text;
					break;
				case REF_COMMENT_SIG:
					if (s)
						s->comment = ref->text;
					break;
				case REF_ATTR_MSG:
					if (strcmp(ref->name, "GenMsgCycleTime") == 0 &&
					    have_cycle) {
						/* cantools: an explicit 0 means none, not the
						 * default */
						if (!ref->is_string)
							m->cycle_time =
							    ref->num > 0 && ref->num <= UINT_MAX
								? (unsigned)ref->num
								: 0;
					} else if (strcmp(ref->name, "VFrameFormat") == 0) {
						apply_frame_format(l, m, ref);
					} else if (strcmp(ref->name, "SystemMessageLongSymbol") ==
						       0 &&
						   ref->is_string) {
						m->name = ref->text;
					}
					break;
				case REF_ATTR_SIG:
					if (!s)
						break;
					if (strcmp(ref->name, "GenSigStartValue") == 0 &&
					    !ref->is_string) {
						s->initial = ref->num;
						s->has_initial = true;
					} else if (strcmp(ref->name, "SystemSignalLongSymbol") ==
						       0 &&
						   ref->is_string) {
						s->name = ref->text;
					}
					break;
				case REF_CHOICES:
					/* an empty VAL_ leaves the signal's labels alone (cantools)
					 */
					if (s && ref->pairs.n > 0 &&
					    (r = set_choices(s, &ref->pairs)) < 0)
						goto out;
					break;
				case REF_SIGTYPE:
					if (s)
						s->is_float = ref->num == 1 || ref->num == 2;
					break;
				case REF_TX_BU: {
					const char **names = ref->pairs.v;
					for (size_t k = 0; k < ref->pairs.n; k++) {
						const char **have = m->senders.v;
						bool dup = false;
						for (size_t j = 0; j < m->senders.n; j++)
							dup |= strcmp(have[j], names[k]) == 0;
						if (!dup &&
						    (r = vec_push_ptr(&m->senders,
								      (void *)names[k])) < 0)
							goto out;
					}
					break;
				}
				case REF_SIG_GROUP: {
					struct sig_group *g = vec_push(&m->groups, sizeof(*g));
					if (!g) {
						r = -ENOMEM;
						goto out;
					}
					g->name = ref->name;
					g->repetitions = (unsigned)ref->num;
					/* the names live in the arena: the list goes there too */
					g->members = arena_alloc(&db->arena, (ref->pairs.n + 1) *
										 sizeof(char *));
					if (!g->members) {
						r = -ENOMEM;
						goto out;
					}
					if (ref->pairs.n)
						memcpy(g->members, ref->pairs.v,
						       ref->pairs.n * sizeof(char *));
					g->n_members = ref->pairs.n;
					break;
				}
				case REF_MULVAL:
					break;
				}
			} while (ref->sig);
		}
	}

	for (size_t i = 0; i < db->messages.n; i++) {
		struct dbc_signal **sigs = msgs[i]->signals.v;
		for (size_t k = 0; k < msgs[i]->signals.n; k++)
			if (sigs[k]->is_float && sigs[k]->length != 16 && sigs[k]->length != 32 &&
			    sigs[k]->length != 64)
				warn_msg(l, msgs[i], "IEEE float signal ",
					 "%s is %u bits; read as integer", sigs[k]->name,
					 sigs[k]->length);
		if ((r = resolve_message(l, msgs[i], &mulvals)) < 0)
			goto out;
	}
	r = build_table(db);
out:
	free(mulvals.v);
	free(heads);
	return r;
}

/* ---- public: parsing ------------------------------------------------------------- */

static void signal_release(struct dbc_signal *s)
{
	free(s->receivers.v);
	free(s->mux_ranges.v);
	free(s->children.v);
	free(s->valid_ids.v);
	free(s->choices.v);
}

static void message_release(struct dbc_message *m)
{
	struct dbc_signal **sigs = m->signals.v;
	for (size_t k = 0; k < m->signals.n; k++)
		signal_release(sigs[k]);
	free(m->signals.v);
	free(m->senders.v);
	free(m->roots.v);
	free(m->groups.v);
}

struct dbc *dbc_free(struct dbc *db)
{
	if (!db)
		return NULL;
	struct dbc_message **msgs = db->messages.v;
	for (size_t i = 0; i < db->messages.n; i++)
		message_release(msgs[i]);
	free(db->messages.v);
	free(db->nodes.v);
	free(db->table);
	arena_free(&db->arena);
	free(db);
	return NULL;
}

static void lex_release(struct lex *l)
{
	struct ref *refs = l->refs.v;
	for (size_t i = 0; i < l->refs.n; i++)
		free(refs[i].pairs.v);
	free(l->refs.v);
	struct attr_def *defs = l->defs.v;
	for (size_t i = 0; i < l->defs.n; i++)
		free(defs[i].enums.v);
	free(l->defs.v);
}

int dbc_parse(const void *buf, size_t len, const char *filename, dbc_warn_fn warn, void *userdata,
	      struct dbc_error *err, struct dbc **ret_dbc)
{
	struct dbc *db;
	int r;

	if (len > DBC_MAX_SOURCE)
		return -EFBIG;
	db = calloc(1, sizeof(*db));
	if (!db)
		return -ENOMEM;
	struct lex l = {
	    .s = buf ? buf : "",
	    .len = len,
	    .file = filename ? filename : "<memory>",
	    .warn = warn,
	    .userdata = userdata,
	    .err = err,
	    .arena = &db->arena,
	    .db = db,
	    .line_cache_line = 1,
	};
	db->version = "";
	/* a UTF-8 byte order mark is not part of the grammar */
	if (l.len >= 3 && memcmp(l.s, "\xef\xbb\xbf", 3) == 0)
		l.pos = 3;
	r = parse_statements(&l);
	if (r >= 0)
		r = resolve(&l);
	lex_release(&l);
	if (r < 0) {
		if (r == -ENOMEM && err) {
			memset(err, 0, sizeof(*err));
			snprintf(err->file, sizeof(err->file), "%s", l.file);
			snprintf(err->message, sizeof(err->message), "out of memory");
		}
		dbc_free(db);
		return r;
	}
	*ret_dbc = db;
	return 0;
}

struct dbc_parser *dbc_parser_new(const char *filename, dbc_warn_fn warn, void *userdata)
{
	struct dbc_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->file = strdup(filename ? filename : "<memory>");
	if (!p->file) {
		free(p);
		return NULL;
	}
	p->warn = warn;
	p->userdata = userdata;
	return p;
}

int dbc_parser_feed(struct dbc_parser *p, const void *buf, size_t len)
{
	/* the grammar has no line structure (strings span lines), so the text is kept
	 * whole and parsed at _finish; the bound keeps that memory finite */
	return bytes_append(&p->buf, &p->len, &p->cap, buf, len, 65536, DBC_MAX_SOURCE);
}

int dbc_parser_finish(struct dbc_parser *p, struct dbc_error *err, struct dbc **ret_dbc)
{
	return dbc_parse(p->buf, p->len, p->file, p->warn, p->userdata, err, ret_dbc);
}

struct dbc_parser *dbc_parser_free(struct dbc_parser *p)
{
	if (!p)
		return NULL;
	free(p->buf);
	free(p->file);
	free(p);
	return NULL;
}

int dbc_signal_parse(const char *text, size_t len, struct dbc_error *err,
		     struct dbc_signal **ret_signal)
{
	struct arena *a = calloc(1, sizeof(*a));
	struct dbc_signal *s;
	int r;

	if (!a)
		return -ENOMEM;
	s = arena_alloc(a, sizeof(*s));
	if (!s) {
		free(a);
		return -ENOMEM;
	}
	s->own = a;
	struct lex l = {
	    .s = text ? text : "",
	    .len = len,
	    .file = "<signal>",
	    .err = err,
	    .arena = a,
	    .line_cache_line = 1,
	};
	accept_word(&l, "SG_");
	r = parse_signal_body(&l, s, true);
	if (r >= 0 && !at_end(&l)) {
		accept_char(&l, ';');
		if (!at_end(&l))
			r = fail_at(&l, l.pos, "unexpected text after signal definition");
	}
	if (r < 0) {
		dbc_signal_free(s);
		return r;
	}
	s->mux_token = NULL;
	plan_signal(s);
	*ret_signal = s;
	return 0;
}

struct dbc_signal *dbc_signal_free(struct dbc_signal *s)
{
	if (!s || !s->own)
		return NULL;
	struct arena *a = s->own;
	signal_release(s);
	arena_free(a);
	free(a);
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

/* ---- public: accessors ----------------------------------------------------------- */

const char *dbc_version(const struct dbc *db)
{
	return db->version ? db->version : "";
}

size_t dbc_message_count(const struct dbc *db)
{
	return db->messages.n;
}

const struct dbc_message *dbc_message_at(const struct dbc *db, size_t index)
{
	return index < db->messages.n ? ((struct dbc_message **)db->messages.v)[index] : NULL;
}

const struct dbc_message *dbc_find_message(const struct dbc *db, uint32_t id, bool ext)
{
	const struct dbc_message *m = lookup(db, table_key(id, ext));
	if (!m)
		m = lookup(db, table_key(id, !ext));
	return m;
}

const struct dbc_message *dbc_find_message_by_name(const struct dbc *db, const char *name)
{
	struct dbc_message **msgs = db->messages.v;
	const struct dbc_message *found = NULL;
	for (size_t i = 0; i < db->messages.n; i++)
		if (strcmp(msgs[i]->name, name) == 0)
			found = msgs[i];
	return found;
}

size_t dbc_node_count(const struct dbc *db)
{
	return db->nodes.n;
}

const char *dbc_node_at(const struct dbc *db, size_t index)
{
	return index < db->nodes.n ? ((const char **)db->nodes.v)[index] : NULL;
}

const char *dbc_message_name(const struct dbc_message *m)
{
	return m->name;
}

uint32_t dbc_message_id(const struct dbc_message *m)
{
	return m->id;
}

bool dbc_message_is_extended(const struct dbc_message *m)
{
	return m->ext;
}

bool dbc_message_is_fd(const struct dbc_message *m)
{
	return m->fd;
}

unsigned dbc_message_length(const struct dbc_message *m)
{
	return m->length;
}

unsigned dbc_message_cycle_time(const struct dbc_message *m)
{
	return m->cycle_time;
}

const char *dbc_message_comment(const struct dbc_message *m)
{
	return m->comment;
}

size_t dbc_message_sender_count(const struct dbc_message *m)
{
	return m->senders.n;
}

const char *dbc_message_sender_at(const struct dbc_message *m, size_t index)
{
	return index < m->senders.n ? ((const char **)m->senders.v)[index] : NULL;
}

size_t dbc_message_signal_count(const struct dbc_message *m)
{
	return m->signals.n;
}

const struct dbc_signal *dbc_message_signal_at(const struct dbc_message *m, size_t index)
{
	return index < m->signals.n ? ((struct dbc_signal **)m->signals.v)[index] : NULL;
}

const struct dbc_signal *dbc_message_find_signal(const struct dbc_message *m, const char *name)
{
	struct dbc_signal **s = m->signals.v;
	for (size_t i = 0; i < m->signals.n; i++)
		if (strcmp(s[i]->name, name) == 0)
			return s[i];
	return NULL;
}

size_t dbc_message_signal_group_count(const struct dbc_message *m)
{
	return m->groups.n;
}

bool dbc_message_signal_group_at(const struct dbc_message *m, size_t index, const char **ret_name,
				 unsigned *ret_repetitions, const char *const **ret_members,
				 size_t *ret_count)
{
	if (index >= m->groups.n)
		return false;
	const struct sig_group *g = (const struct sig_group *)m->groups.v + index;
	if (ret_name)
		*ret_name = g->name;
	if (ret_repetitions)
		*ret_repetitions = g->repetitions;
	if (ret_members)
		*ret_members = g->members;
	if (ret_count)
		*ret_count = g->n_members;
	return true;
}

size_t dbc_message_max_samples(const struct dbc_message *m)
{
	return m->signals.n;
}

const char *dbc_signal_name(const struct dbc_signal *s)
{
	return s->name;
}

unsigned dbc_signal_start(const struct dbc_signal *s)
{
	return s->start;
}

unsigned dbc_signal_length(const struct dbc_signal *s)
{
	return s->length;
}

bool dbc_signal_is_big_endian(const struct dbc_signal *s)
{
	return s->big_endian;
}

bool dbc_signal_is_signed(const struct dbc_signal *s)
{
	return s->is_signed;
}

enum dbc_signal_type dbc_signal_type(const struct dbc_signal *s)
{
	if (!s->is_float)
		return DBC_SIGNAL_TYPE_INTEGER;
	return s->length == 64 ? DBC_SIGNAL_TYPE_DOUBLE : DBC_SIGNAL_TYPE_FLOAT;
}

double dbc_signal_factor(const struct dbc_signal *s)
{
	return s->factor;
}

double dbc_signal_offset(const struct dbc_signal *s)
{
	return s->offset;
}

bool dbc_signal_range(const struct dbc_signal *s, double *ret_min, double *ret_max)
{
	if (!s->has_range)
		return false;
	if (ret_min)
		*ret_min = s->min;
	if (ret_max)
		*ret_max = s->max;
	return true;
}

const char *dbc_signal_unit(const struct dbc_signal *s)
{
	return s->unit ? s->unit : "";
}

const char *dbc_signal_comment(const struct dbc_signal *s)
{
	return s->comment;
}

size_t dbc_signal_receiver_count(const struct dbc_signal *s)
{
	return s->receivers.n;
}

const char *dbc_signal_receiver_at(const struct dbc_signal *s, size_t index)
{
	return index < s->receivers.n ? ((const char **)s->receivers.v)[index] : NULL;
}

bool dbc_signal_initial_raw(const struct dbc_signal *s, double *ret_raw)
{
	if (!s->has_initial)
		return false;
	if (ret_raw)
		*ret_raw = s->initial;
	return true;
}

bool dbc_signal_is_multiplexer(const struct dbc_signal *s)
{
	return s->is_multiplexer;
}

const struct dbc_signal *dbc_signal_multiplexer(const struct dbc_signal *s)
{
	return s->mux;
}

bool dbc_signal_selected_by(const struct dbc_signal *s, int64_t v)
{
	return s->mux && in_ranges(&s->mux_ranges, v);
}

size_t dbc_signal_choice_count(const struct dbc_signal *s)
{
	return s->choices.n;
}

bool dbc_signal_choice_at(const struct dbc_signal *s, size_t index, int64_t *ret_value,
			  const char **ret_label)
{
	if (index >= s->choices.n)
		return false;
	const struct choice *c = (const struct choice *)s->choices.v + index;
	if (ret_value)
		*ret_value = c->value;
	if (ret_label)
		*ret_label = c->label;
	return true;
}

static const struct choice *find_choice(const struct dbc_signal *s, int64_t raw)
{
	const struct choice *c = s->choices.v;
	size_t lo = 0, hi = s->choices.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c[mid].value == raw)
			return &c[mid];
		if (c[mid].value < raw)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *dbc_signal_choice_label(const struct dbc_signal *s, int64_t raw)
{
	const struct choice *c = find_choice(s, raw);
	return c ? c->label : NULL;
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

static uint64_t extract(const struct plan *pl, bool big_endian, const uint8_t *pad)
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
	/* wide: 1 <= shift <= 7 and 58 <= length <= 64, so no shift below is by 0 or 64 */
	if (big_endian) {
		uint64_t hi = be64toh(a), lo = be64toh(b);
		uint64_t top = (hi << pl->shift) | (lo >> (64 - pl->shift));
		return pl->length == 64 ? top : top >> (64 - pl->length);
	}
	uint64_t lo = le64toh(a), hi = le64toh(b);
	return ((lo >> pl->shift) | (hi << (64 - pl->shift))) & pl->mask;
}

struct raw {
	bool is_float;
	double f;
	int64_t i;  /* signed view (sign-extended for signed signals) */
	uint64_t u; /* unsigned view */
	bool neg_ok;
};

static struct raw raw_value(const struct dbc_signal *s, const struct plan *pl, uint64_t bits)
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

/* An exact integer: int64_t, uint64_t above INT64_MAX, else the nearest double. */
static struct dbc_value wide_value(struct wide v)
{
	struct dbc_value out;
	if (wide_to_i64(v, &out.i)) {
		out.type = DBC_VALUE_INT;
	} else if (v.hi == 0) {
		out.type = DBC_VALUE_UINT;
		out.u = v.lo;
	} else {
		out.type = DBC_VALUE_FLOAT;
		out.f = wide_to_double(v);
	}
	return out;
}

/* raw * iscale + ioffset, exactly; in 64 bits when it fits (the usual case). */
static struct wide scaled(const struct dbc_signal *s, const struct raw *r, bool add_offset)
{
	int64_t p;
	if ((r->neg_ok || r->u <= INT64_MAX) && !__builtin_mul_overflow(r->i, s->iscale, &p) &&
	    (!add_offset || !__builtin_add_overflow(p, s->ioffset, &p)))
		return wide_from_i64(p);
	struct wide w = r->neg_ok ? wide_from_i64(r->i) : wide_from_u64(r->u);
	w = wide_mul_i64(w, s->iscale);
	return add_offset ? wide_add(w, wide_from_i64(s->ioffset)) : w;
}

static struct dbc_value physical(const struct dbc_signal *s, const struct raw *r)
{
	struct dbc_value v;
	if (r->is_float) {
		v.type = DBC_VALUE_FLOAT;
		v.f = s->conv == CONV_IDENTITY ? r->f : r->f * s->factor + s->offset;
		return v;
	}
	switch (s->conv) {
	case CONV_IDENTITY:
		return wide_value(r->neg_ok ? wide_from_i64(r->i) : wide_from_u64(r->u));
	case CONV_LINEAR_INT:
		return wide_value(scaled(s, r, true));
	case CONV_LINEAR:
		v.type = DBC_VALUE_FLOAT;
		if (s->factor_is_int_literal)
			/* Python: int * int stays exact, then int + float */
			v.f = wide_to_double(scaled(s, r, false)) + s->offset;
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
	*ret = find_choice(s, key);
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
	const struct plan *pl = &s->pl;
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
	if (s->check_mux && !in_ranges(&s->valid_ids, sel)) {
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
		if (parent && !in_ranges(&sigs[i]->mux_ranges, sel))
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

	struct wide raw;
	if (v.type != DBC_VALUE_FLOAT && s->conv != CONV_LINEAR) {
		struct wide x = v.type == DBC_VALUE_INT ? wide_from_i64(v.i) : wide_from_u64(v.u);
		if (s->conv == CONV_IDENTITY) {
			raw = x;
		} else {
			struct wide d = wide_add(x, wide_neg(wide_from_i64(s->ioffset)));
			int64_t rem;
			if (s->iscale == 0)
				return -ERANGE;
			wide_divmod_i64(d, s->iscale, &raw, &rem);
			if (rem != 0) {
				double q = nearbyint(wide_to_double(d) / (double)s->iscale);
				if (!(q >= -0x1p64 && q < 0x1p64))
					return -ERANGE;
				raw = wide_from_double(q);
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
		raw = wide_from_double(q);
	}

	if (s->is_signed) {
		int64_t i, lo = s->length >= 64 ? INT64_MIN : -(INT64_C(1) << (s->length - 1));
		int64_t hi = s->length >= 64 ? INT64_MAX : (INT64_C(1) << (s->length - 1)) - 1;
		if (!wide_to_i64(raw, &i) || i < lo || i > hi)
			return -ERANGE;
	} else if (raw.hi != 0 || raw.lo > s->pl.mask) {
		return -ERANGE;
	}
	*ret_bits = raw.lo & s->pl.mask;
	return 0;
}

/* x << sh as a 128-bit number (hi, lo), 0 <= sh < 128 */
static void shl_128(uint64_t x, unsigned sh, uint64_t *ret_hi, uint64_t *ret_lo)
{
	if (sh == 0) {
		*ret_hi = 0;
		*ret_lo = x;
	} else if (sh < 64) {
		*ret_hi = x >> (64 - sh);
		*ret_lo = x << sh;
	} else {
		*ret_hi = x << (sh - 64);
		*ret_lo = 0;
	}
}

static void insert(const struct dbc_signal *s, uint8_t *pad, uint64_t bits)
{
	const struct plan *pl = &s->pl;
	uint64_t a, b;
	memcpy(&a, pad + pl->byte_lo, 8);
	memcpy(&b, pad + pl->byte_lo + 8, 8);
	/* the 16-byte window as one 128-bit number (hi, lo), the field shifted left by sh */
	unsigned sh = s->big_endian ? 128 - pl->shift - pl->length : pl->shift;
	uint64_t hi = s->big_endian ? be64toh(a) : le64toh(b);
	uint64_t lo = s->big_endian ? be64toh(b) : le64toh(a);
	uint64_t mhi, mlo, bhi, blo;
	shl_128(pl->mask, sh, &mhi, &mlo);
	shl_128(bits, sh, &bhi, &blo);
	hi = (hi & ~mhi) | bhi;
	lo = (lo & ~mlo) | blo;
	if (s->big_endian) {
		a = htobe64(hi);
		b = htobe64(lo);
	} else {
		a = htole64(lo);
		b = htole64(hi);
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
		if (parent && !in_ranges(&s->mux_ranges, sel))
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
