/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Buffered output with a small JSON writer: strings escaped (bytes above 0x7F are read
 * as Windows-1252, the encoding cantools assumes for DBC files), doubles printed by
 * lib/numfmt (shortest form that reads back exactly; out_double_readable() rounds to 15
 * digits for people). Writing only: JSON is never parsed here.
 *
 * Hot loops reserve room for a whole record once (out_reserve), write into it with the
 * out_put_* functions, which check nothing, and commit the end (out_commit).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bodydiag/numfmt.h"

#define OUT_BUF_SIZE (1u << 18)
#define OUT_DOUBLE_ROOM 32 /* what out_put_double() may write (it copies 24 at once) */
#define OUT_INT_ROOM NUMFMT_INT_MAX

struct out_double_cache {
	uint64_t bits;
	char text[NUMFMT_DOUBLE_MAX];
	uint8_t len; /* 0: empty */
};

struct out {
	int fd;
	int error; /* first write error, -errno */
	size_t len;
	char buf[OUT_BUF_SIZE];
	struct out_double_cache dcache[1024];	 /* exact */
	struct out_double_cache readable[1024]; /* 15 digits */
};

void out_init(struct out *o, int fd);
void out_flush(struct out *o);
void out_mem(struct out *o, const char *s, size_t n);
void out_str(struct out *o, const char *s);
void out_char(struct out *o, char c);
__attribute__((format(printf, 2, 3))) void out_printf(struct out *o, const char *fmt, ...);
void out_i64(struct out *o, int64_t v);
void out_u64(struct out *o, uint64_t v);
/* Shortest form that reads back to the same double, always with '.' or 'e' ("1.0");
 * non-finite values as the JSON strings "nan", "inf", "-inf" when json is true. */
void out_double(struct out *o, double d, bool json);
/* For people: at most 15 significant digits, so arithmetic noise does not show
 * (23 * 0.1 is "2.3", not "2.3000000000000003"). */
void out_double_readable(struct out *o, double d);
/* A JSON string literal with quotes. */
void out_json_string(struct out *o, const char *s);
/* Text from a DBC (Windows-1252) as UTF-8, unquoted. */
void out_text(struct out *o, const char *s);

/* Room for n bytes (n <= OUT_BUF_SIZE) at the returned pointer, flushing first if need be. */
static inline char *out_reserve(struct out *o, size_t n)
{
	if (OUT_BUF_SIZE - o->len < n)
		out_flush(o);
	return o->buf + o->len;
}

/* What was written into reserved room ends at end. */
static inline void out_commit(struct out *o, char *end)
{
	o->len = (size_t)(end - o->buf);
}

/* Writers into reserved room (any buffer with room); each returns the end. */

/* A string literal, copied without a call. */
#define OUT_PUT_LIT(p, lit) ((char *)memcpy((p), (lit), sizeof(lit) - 1) + sizeof(lit) - 1)

static inline char *out_put_u64(char *p, uint64_t v)
{
	/* most signal values are small */
	if (v < 10) {
		*p = (char)('0' + v);
		return p + 1;
	}
	if (v < 100) {
		p[0] = (char)('0' + v / 10);
		p[1] = (char)('0' + v % 10);
		return p + 2;
	}
	return p + numfmt_u64(p, v);
}

static inline char *out_put_i64(char *p, int64_t v)
{
	if ((uint64_t)v < 10) { /* one test for the commonest case, negatives excluded */
		*p = (char)('0' + v);
		return p + 1;
	}
	if (v < 0) {
		*p++ = '-';
		return out_put_u64(p, 0 - (uint64_t)v);
	}
	return out_put_u64(p, (uint64_t)v);
}

char *out_put_double_slow(struct out *o, char *p, double d, bool json);

/* Like out_double(), through o's cache of formatted values (signals repeat them). */
static inline char *out_put_double(struct out *o, char *p, double d, bool json)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	const struct out_double_cache *c = &o->dcache[(bits * 0x9E3779B97F4A7C15ull) >> 54];
	if (c->bits == bits && c->len) {
		memcpy(p, c->text, 24); /* a constant size: no call; the room allows it */
		return p + c->len;
	}
	return out_put_double_slow(o, p, d, json);
}
/* For people: like out_double_readable(), through a second cache. */
char *out_put_double_readable(struct out *o, char *p, double d);
/* Room out_put_json_string() needs for s: 6 bytes per byte, the quotes (more than
 * out_put_text() needs). */
size_t out_json_string_room(const char *s);
char *out_put_json_string(char *p, const char *s);
/* DBC text (Windows-1252) as UTF-8, unquoted: at most 3 bytes per byte. */
char *out_put_text(char *p, const char *s);

/*
 * Per-line problems of an input file (a capture's bad lines, a DBC's warnings), printed
 * on stderr as "FILE:LINE[:COL]: SEVERITY: REASON" for the first `shown_max` (0 = all),
 * then counted: a wrong file must not flood the terminal with one message per line.
 * line_notes_finish() prints "FILE: N more ..." for what was not shown.
 */
struct line_notes {
	const char *file;
	const char *severity; /* "warning", "error" */
	const char *what;     /* plural noun for the summary: "bad lines", "DBC warnings" */
	const char *hint;     /* appended to the summary, may be NULL */
	unsigned shown_max;
	unsigned total;
};
void line_note(struct line_notes *n, unsigned line, unsigned column, const char *reason);
void line_notes_finish(const struct line_notes *n);
