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
	char tmp[24];
	size_t i = sizeof(tmp);
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	out_mem(o, tmp + i, sizeof(tmp) - i);
}

void out_i64(struct out *o, int64_t v)
{
	if (v < 0) {
		out_char(o, '-');
		out_u64(o, (uint64_t)0 - (uint64_t)v);
	} else {
		out_u64(o, (uint64_t)v);
	}
}

void out_double(struct out *o, double d, bool json)
{
	if (isnan(d)) {
		out_str(o, json ? "\"nan\"" : "nan");
		return;
	}
	if (isinf(d)) {
		out_str(o, d > 0 ? (json ? "\"inf\"" : "inf") : (json ? "\"-inf\"" : "-inf"));
		return;
	}
	/* signals repeat their values from frame to frame: a small cache of formatted
	 * doubles saves most of the snprintf/strtod work */
	uint64_t bits;
	memcpy(&bits, &d, sizeof(bits));
	struct out_double_cache *c = &o->dcache[(bits * 0x9E3779B97F4A7C15ull) >> 54];
	if (c->len && c->bits == bits) {
		out_mem(o, c->text, c->len);
		return;
	}
	/* the shortest of %.15g..%.17g that reads back exactly, like Python's repr */
	char tmp[40];
	int n = 0;
	for (int prec = 15; prec <= 17; prec++) {
		n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (prec == 17 || strtod(tmp, NULL) == d)
			break;
	}
	if (n < 0 || (size_t)n + 3 > sizeof(tmp))
		return;
	if (!strpbrk(tmp, ".en")) {
		memcpy(tmp + n, ".0", 3);
		n += 2;
	}
	if ((size_t)n <= sizeof(c->text)) {
		c->bits = bits;
		c->len = (uint8_t)n;
		memcpy(c->text, tmp, (size_t)n);
	}
	out_mem(o, tmp, (size_t)n);
}

/* Windows-1252 0x80..0x9F; its five undefined bytes become U+FFFD. */
static const uint16_t cp1252[32] = {
    0x20AC, 0xFFFD, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0xFFFD, 0x017D, 0xFFFD, 0xFFFD, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0xFFFD, 0x017E, 0x0178,
};

static void out_cp1252_char(struct out *o, unsigned char c)
{
	unsigned cp = c < 0xa0 ? cp1252[c - 0x80] : c;
	if (cp < 0x800) {
		out_char(o, (char)(0xc0 | cp >> 6));
		out_char(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		out_char(o, (char)(0xe0 | cp >> 12));
		out_char(o, (char)(0x80 | ((cp >> 6) & 0x3f)));
		out_char(o, (char)(0x80 | (cp & 0x3f)));
	}
}

void out_json_string(struct out *o, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	out_char(o, '"');
	while (*s) {
		/* runs of plain ASCII go out in one piece */
		const unsigned char *run = s;
		while (*s >= 0x20 && *s < 0x7f && *s != '"' && *s != '\\')
			s++;
		if (s > run)
			out_mem(o, (const char *)run, (size_t)(s - run));
		if (!*s)
			break;
		unsigned char c = *s++;
		if (c == '"' || c == '\\') {
			out_char(o, '\\');
			out_char(o, (char)c);
		} else if (c < 0x20 || c == 0x7f) {
			out_printf(o, "\\u%04x", c);
		} else {
			/* DBC text is Windows-1252 the way cantools reads it, even where the bytes
			 * would pass as UTF-8: the same file gives the same labels in both tools */
			out_cp1252_char(o, c);
		}
	}
	out_char(o, '"');
}

void out_text(struct out *o, const char *str)
{
	for (const unsigned char *s = (const unsigned char *)str; *s; s++) {
		if (*s < 0x80)
			out_char(o, (char)*s);
		else
			out_cp1252_char(o, *s);
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
