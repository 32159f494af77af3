/* SPDX-License-Identifier: MIT */
#include "json_text.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/numfmt.h"
#include "bodydiag/utf8.h"

#define MAX_DEPTH 256 /* deeper than any value we build; jansson itself parses to 2048 */

struct json_text {
	char *p;
	size_t len, cap;
	unsigned flags;
	bool failed;
	unsigned depth;		    /* containers open */
	bool member[MAX_DEPTH + 1]; /* per depth: the container has a member already */
	bool is_object[MAX_DEPTH + 1];
	bool keyed; /* an object's key is written, its value comes next */
};

static void put(struct json_text *b, const char *s, size_t n)
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

static void puts_(struct json_text *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A string with JSON's escapes; UTF-8 as it is, a byte that is not part of valid UTF-8 as
 * U+FFFD (jansson refuses such a string; we had it from a file that did not check). */
static void string(struct json_text *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t run = 0;

	put(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = u[i];
		char esc[7] = {'\\', 0};
		size_t k = 2;
		if (c >= 0x80) {
			size_t l = utf8_len(u + i, n - i);
			if (l) {
				i += l - 1; /* part of the run */
				continue;
			}
			put(b, s + run, i - run);
			put(b, "\xEF\xBF\xBD", 3);
			run = i + 1;
			continue;
		}
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

static void newline(struct json_text *b, unsigned depth)
{
	if (!(b->flags & JSON_TEXT_INDENT))
		return;
	put(b, "\n", 1);
	for (unsigned i = 0; i < depth; i++)
		put(b, " ", 1);
}

/* Before a value: the separator of an array's element (an object's member has it from
 * its key). */
static void before_value(struct json_text *b)
{
	if (b->keyed) {
		b->keyed = false;
		return;
	}
	if (!b->depth)
		return;
	if (b->is_object[b->depth]) {
		b->failed = true; /* a member without its key */
		return;
	}
	if (b->member[b->depth])
		put(b, ",", 1);
	b->member[b->depth] = true;
	newline(b, b->depth);
}

struct json_text *json_text_new(unsigned flags)
{
	struct json_text *b = calloc(1, sizeof(*b));
	if (b)
		b->flags = flags;
	return b;
}

struct json_text *json_text_free(struct json_text *b)
{
	if (b) {
		free(b->p);
		free(b);
	}
	return NULL;
}

char *json_text_finish(struct json_text *b, size_t *ret_len)
{
	char *p;

	if (!b)
		return NULL;
	if (b->failed || b->depth || b->keyed || !b->p) {
		json_text_free(b);
		return NULL;
	}
	p = b->p;
	if (ret_len)
		*ret_len = b->len;
	free(b);
	return p;
}

json_t *json_text_finish_value(struct json_text *b)
{
	size_t len;
	char *text = json_text_finish(b, &len);
	json_t *v = text ? json_loadb(text, len, JSON_DECODE_ANY, NULL) : NULL;

	free(text);
	return v;
}

bool json_text_failed(const struct json_text *b)
{
	return !b || b->failed;
}

struct json_text_mark json_text_mark(const struct json_text *b)
{
	return (struct json_text_mark){.len = b->len,
				       .depth = b->depth,
				       .member = b->member[b->depth],
				       .keyed = b->keyed};
}

void json_text_rewind(struct json_text *b, struct json_text_mark m)
{
	if (b->failed)
		return;
	if (b->depth != m.depth || m.len > b->len) {
		b->failed = true;
		return;
	}
	b->len = m.len;
	if (b->p)
		b->p[b->len] = '\0';
	b->member[b->depth] = m.member;
	b->keyed = m.keyed;
}

size_t json_text_length(const struct json_text *b)
{
	return b ? b->len : 0;
}

static void open_(struct json_text *b, bool object)
{
	before_value(b);
	if (b->depth == MAX_DEPTH) {
		b->failed = true;
		return;
	}
	put(b, object ? "{" : "[", 1);
	b->depth++;
	b->member[b->depth] = false;
	b->is_object[b->depth] = object;
}

static void close_(struct json_text *b, bool object)
{
	if (!b->depth || b->is_object[b->depth] != object || b->keyed) {
		b->failed = true;
		return;
	}
	if (b->member[b->depth])
		newline(b, b->depth - 1);
	b->depth--;
	put(b, object ? "}" : "]", 1);
}

void json_text_object_begin(struct json_text *b)
{
	open_(b, true);
}

void json_text_object_end(struct json_text *b)
{
	close_(b, true);
}

void json_text_array_begin(struct json_text *b)
{
	open_(b, false);
}

void json_text_array_end(struct json_text *b)
{
	close_(b, false);
}

static void key(struct json_text *b, const char *k, size_t n)
{
	if (!b->depth || !b->is_object[b->depth] || b->keyed) {
		b->failed = true;
		return;
	}
	if (b->member[b->depth])
		put(b, ",", 1);
	b->member[b->depth] = true;
	newline(b, b->depth);
	string(b, k, n);
	puts_(b, b->flags & JSON_TEXT_INDENT ? ": " : ":");
	b->keyed = true;
}

void json_text_key(struct json_text *b, const char *k)
{
	key(b, k, strlen(k));
}

void json_text_string(struct json_text *b, const char *s)
{
	if (!s) {
		json_text_null(b);
		return;
	}
	before_value(b);
	string(b, s, strlen(s));
}

void json_text_real(struct json_text *b, double d)
{
	char num[NUMFMT_DOUBLE_MAX];

	before_value(b);
	if (isfinite(d))
		put(b, num, numfmt_double(num, d));
	else
		puts_(b, "null");
}

void json_text_integer(struct json_text *b, int64_t v)
{
	char num[NUMFMT_DOUBLE_MAX];

	before_value(b);
	put(b, num, numfmt_i64(num, v));
}

void json_text_bool(struct json_text *b, bool v)
{
	before_value(b);
	puts_(b, v ? "true" : "false");
}

void json_text_null(struct json_text *b)
{
	before_value(b);
	puts_(b, "null");
}

void json_text_raw(struct json_text *b, const char *s, size_t n)
{
	put(b, s, n);
}

void json_text_value(struct json_text *b, const json_t *v)
{
	if (!v) {
		b->failed = true;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: {
		const char *k;
		json_t *m;
		json_text_object_begin(b);
		json_object_foreach((json_t *)v, k, m)
		{
			key(b, k, strlen(k));
			json_text_value(b, m);
		}
		json_text_object_end(b);
		return;
	}
	case JSON_ARRAY: {
		size_t i;
		json_t *m;
		json_text_array_begin(b);
		json_array_foreach(v, i, m)
			json_text_value(b, m);
		json_text_array_end(b);
		return;
	}
	case JSON_STRING:
		before_value(b);
		string(b, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		json_text_integer(b, (int64_t)json_integer_value(v));
		return;
	case JSON_REAL:
		json_text_real(b, json_real_value(v));
		return;
	case JSON_TRUE:
		json_text_bool(b, true);
		return;
	case JSON_FALSE:
		json_text_bool(b, false);
		return;
	case JSON_NULL:
		json_text_null(b);
		return;
	}
	b->failed = true;
}

char *json_text_dumps(const json_t *v, unsigned flags, size_t *ret_len)
{
	struct json_text *b;

	if (!v)
		return NULL;
	b = json_text_new(flags);
	if (!b)
		return NULL;
	json_text_value(b, v);
	return json_text_finish(b, ret_len);
}
