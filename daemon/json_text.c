/* SPDX-License-Identifier: MIT */
#include "json_text.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/numfmt.h"

#define MAX_DEPTH 256 /* deeper than any value we build; jansson itself parses to 2048 */

struct buf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->failed = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A string with JSON's escapes; bytes >= 0x80 (UTF-8, which jansson checked) as they are. */
static void string(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = {'\\', 0};
		size_t k = 2;
		switch (c) {
		case '"':
			esc[1] = '"';
			break;
		case '\\':
			esc[1] = '\\';
			break;
		case '\n':
			esc[1] = 'n';
			break;
		case '\r':
			esc[1] = 'r';
			break;
		case '\t':
			esc[1] = 't';
			break;
		case '\b':
			esc[1] = 'b';
			break;
		case '\f':
			esc[1] = 'f';
			break;
		default:
			if (c >= 0x20 && c != 0x7f)
				continue; /* part of the run written at once */
			memcpy(esc, "\\u00", 4);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
		}
		put(b, s + run, i - run);
		put(b, esc, k);
		run = i + 1;
	}
	put(b, s + run, n - run);
	put(b, "\"", 1);
}

static void newline(struct buf *b, unsigned flags, unsigned depth)
{
	if (!(flags & JSON_TEXT_INDENT))
		return;
	put(b, "\n", 1);
	for (unsigned i = 0; i < depth; i++)
		put(b, " ", 1);
}

static void value(struct buf *b, const json_t *v, unsigned flags, unsigned depth)
{
	char num[NUMFMT_DOUBLE_MAX];
	const char *sep = flags & JSON_TEXT_INDENT ? ": " : ":";

	if (depth > MAX_DEPTH) {
		b->failed = true;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *key;
		json_t *m;
		bool first = true;
		put(b, "{", 1);
		json_object_foreach((json_t *)v, key, m)
		{
			if (!first)
				put(b, ",", 1);
			first = false;
			newline(b, flags, depth + 1);
			string(b, key, strlen(key));
			puts_(b, sep);
			value(b, m, flags, depth + 1);
		}
		if (!first)
			newline(b, flags, depth);
		put(b, "}", 1);
		return;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *m;
		put(b, "[", 1);
		json_array_foreach(v, i, m)
		{
			if (i)
				put(b, ",", 1);
			newline(b, flags, depth + 1);
			value(b, m, flags, depth + 1);
		}
		if (json_array_size(v))
			newline(b, flags, depth);
		put(b, "]", 1);
		return;
	}
	case JSON_STRING:
		string(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		put(b, num, numfmt_i64(num, (int64_t)json_integer_value(v)));
		return;
	case JSON_REAL: {
		double d = json_real_value(v);
		if (isfinite(d))
			put(b, num, numfmt_double(num, d));
		else
			puts_(b, "null");
		return;
	}
	case JSON_TRUE:
		puts_(b, "true");
		return;
	case JSON_FALSE:
		puts_(b, "false");
		return;
	case JSON_NULL:
		puts_(b, "null");
		return;
	}
	b->failed = true;
}

char *json_text_dumps(const json_t *v, unsigned flags, size_t *ret_len)
{
	struct buf b = {0};

	if (!v)
		return NULL;
	value(&b, v, flags, 0);
	if (b.failed || !b.p) {
		free(b.p);
		return NULL;
	}
	if (ret_len)
		*ret_len = b.len;
	return b.p;
}
