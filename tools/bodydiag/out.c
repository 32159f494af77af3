/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "out.h"

void out_init(struct out *o, int fd)
{
	o->fd = fd;
	o->error = 0;
	o->len = 0;
	memset(o->dcache, 0, sizeof(o->dcache));
	memset(o->readable, 0, sizeof(o->readable));
}

void out_flush(struct out *o)
{
	size_t off = 0;
	while (off < o->len && !o->error) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			o->error = -errno;
			break;
		}
		off += (size_t)n;
	}
	o->len = 0;
}

void out_mem(struct out *o, const char *s, size_t n)
{
	while (n > 0) {
		if (o->len == sizeof(o->buf))
			out_flush(o);
		size_t k = sizeof(o->buf) - o->len;
		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
	}
}

void out_str(struct out *o, const char *s)
{
	out_mem(o, s, strlen(s));
}

void out_char(struct out *o, char c)
{
	if (o->len == sizeof(o->buf))
		out_flush(o);
	o->buf[o->len++] = c;
}

void out_printf(struct out *o, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(tmp)) {
		out_mem(o, tmp, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big)
		return;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	out_mem(o, big, (size_t)n);
	free(big);
}

void out_u64(struct out *o, uint64_t v)
{
	out_commit(o, out_put_u64(out_reserve(o, OUT_INT_ROOM), v));
}

void out_i64(struct out *o, int64_t v)
{
	out_commit(o, out_put_i64(out_reserve(o, OUT_INT_ROOM), v));
}

/* What out_put_double() does when d is not in the cache (non-finite values never are). */
char *out_put_double_slow(struct out *o, char *p, double d, bool json)
{
	if (!isfinite(d)) {
		const char *s = isnan(d) ? "\"nan\"" : d > 0 ? "\"inf\"" : "\"-inf\"";
		size_t n = strlen(s) - (json ? 0 : 2);
		memcpy(p, s + !json, n);
		return p + n;
	}
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	struct out_double_cache *c = &o->dcache[(bits * 0x9E3779B97F4A7C15ull) >> 54];
	c->bits = bits;
	c->len = (uint8_t)numfmt_double(c->text, d);
	memcpy(p, c->text, c->len);
	return p + c->len;
}

void out_double(struct out *o, double d, bool json)
{
	out_commit(o, out_put_double(o, out_reserve(o, OUT_DOUBLE_ROOM), d, json));
}

char *out_put_double_readable(struct out *o, char *p, double d)
{
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	struct out_double_cache *c = &o->readable[(bits * 0x9E3779B97F4A7C15ull) >> 54];
	if (!c->len || c->bits != bits) {
		c->bits = bits;
		c->len = (uint8_t)numfmt_double_digits(c->text, d, 15);
	}
	memcpy(p, c->text, 24); /* a constant size: no call; the room allows it */
	return p + c->len;
}

void out_double_readable(struct out *o, double d)
{
	out_commit(o, out_put_double_readable(o, out_reserve(o, OUT_DOUBLE_ROOM), d));
}

/* Windows-1252 0x80..0x9F; its five undefined bytes become U+FFFD. */
static const uint16_t cp1252[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

/* One byte above 0x7F as UTF-8 (2 or 3 bytes). */
static char *put_cp1252(char *p, unsigned char c)
{
	unsigned cp = c < 0xa0 ? cp1252[c - 0x80] : c;
	if (cp < 0x800) {
		*p++ = (char)(0xc0 | cp >> 6);
		*p++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*p++ = (char)(0xe0 | cp >> 12);
		*p++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*p++ = (char)(0x80 | (cp & 0x3f));
	}
	return p;
}

/* n bytes of s escaped for a JSON string (at most 6 bytes each), without quotes. */
static char *put_escaped(char *p, const unsigned char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *end = s + n;
	while (s < end) {
		/* runs of plain ASCII go out in one piece */
		const unsigned char *run = s;
		while (s < end && *s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			s++;
		memcpy(p, run, (size_t)(s - run));
		p += s - run;
		if (s == end)
			break;
		unsigned char c = *s++;
		if (c == '"' || c == '\\') {
			*p++ = '\\';
			*p++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			memcpy(p, "\\u00", 4);
			p[4] = hex[c >> 4];
			p[5] = hex[c & 15];
			p += 6;
		} else {
			/* DBC text is Windows-1252 the way cantools reads it, even where the bytes
			 * would pass as UTF-8: the same file gives the same labels in both tools */
			p = put_cp1252(p, c);
		}
	}
	return p;
}

size_t out_json_string_room(const char *s)
{
	return 6 * strlen(s) + 2;
}

char *out_put_json_string(char *p, const char *s)
{
	*p++ = '"';
	p = put_escaped(p, (const unsigned char *)s, strlen(s));
	*p++ = '"';
	return p;
}

/* Long strings go through the buffer in pieces. */
#define CHUNK 4096u

void out_json_string(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t n = strlen(str);
	out_char(o, '"');
	while (n > 0) {
		size_t k = n < CHUNK ? n : CHUNK;
		out_commit(o, put_escaped(out_reserve(o, 6 * k), s, k));
		s += k;
		n -= k;
	}
	out_char(o, '"');
}

char *out_put_text(char *p, const char *str)
{
	for (const unsigned char *s = (const unsigned char *)str; *s; s++) {
		if (*s < 0x80)
			*p++ = (char)*s;
		else
			p = put_cp1252(p, *s);
	}
	return p;
}

void out_text(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		char *p = out_reserve(o, 3 * CHUNK);
		for (size_t k = 0; k < CHUNK && *s; k++, s++) {
			if (*s < 0x80)
				*p++ = (char)*s;
			else
				p = put_cp1252(p, *s);
		}
		out_commit(o, p);
	}
}

void line_note(struct line_notes *n, unsigned line, unsigned column, const char *reason)
{
	n->total++;
	if (n->shown_max && n->total > n->shown_max)
		return;
	if (column)
		fprintf(stderr, "%s:%u:%u: %s: %s\n", n->file, line, column, n->severity, reason);
	else
		fprintf(stderr, "%s:%u: %s: %s\n", n->file, line, n->severity, reason);
}

void line_notes_finish(const struct line_notes *n)
{
	if (!n->shown_max || n->total <= n->shown_max)
		return;
	fprintf(stderr, "%s: %u more %s not shown (%u in all)%s%s\n", n->file,
		n->total - n->shown_max, n->what, n->total, n->hint ? "; " : "",
		n->hint ? n->hint : "");
}
