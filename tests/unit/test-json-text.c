/* SPDX-License-Identifier: MIT */
/* daemon/json_text: JSON text with shortest round-trip reals, read back by jansson. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/json_text.h"

static void dumps_is(const json_t *v, unsigned flags, const char *want)
{
	size_t len = 0;
	char *s = json_text_dumps(v, flags, &len);
	assert_non_null(s);
	assert_string_equal(s, want);
	assert_int_equal(len, strlen(want));
	free(s);
}

static void shortest_reals(void **state)
{
	(void)state;
	json_t *a = json_pack("[f, f, f, f, f, f, I, f]", 23 * 0.1, 4.179726, 12.0, 1e-5, 1e16,
			      -0.0, (json_int_t)-42, 0.1 + 0.2);
	dumps_is(a, JSON_TEXT_COMPACT,
		 "[2.3000000000000003,4.179726,12.0,1e-05,1e+16,-0.0,-42,0.30000000000000004]");
	/* every real reads back to the same double */
	char *s = json_text_dumps(a, JSON_TEXT_COMPACT, NULL);
	json_t *b = json_loads(s, 0, NULL);
	assert_non_null(b);
	for (size_t i = 0; i < json_array_size(a); i++)
		assert_true(json_number_value(json_array_get(a, i)) ==
			    json_number_value(json_array_get(b, i)));
	free(s);
	json_decref(a);
	json_decref(b);
}

static void strings_and_nesting(void **state)
{
	(void)state;
	json_t *o = json_pack("{s:s, s:[], s:{}, s:b, s:n, s:{s:[i, s]}}", "text",
			      "a\"b\\c\n\t\x01 \xc3\xa9", "empty", "none", "yes", 1, "nothing",
			      "deep", "k", 1, "x");
	dumps_is(o, JSON_TEXT_COMPACT,
		 "{\"text\":\"a\\\"b\\\\c\\n\\t\\u0001 \xc3\xa9\",\"empty\":[],\"none\":{},"
		 "\"yes\":true,\"nothing\":null,\"deep\":{\"k\":[1,\"x\"]}}");
	dumps_is(json_object_get(o, "deep"), JSON_TEXT_INDENT,
		 "{\n \"k\": [\n  1,\n  \"x\"\n ]\n}");
	/* a string with a NUL byte inside keeps it, escaped */
	json_t *z = json_stringn("a\0b", 3);
	dumps_is(z, JSON_TEXT_COMPACT, "\"a\\u0000b\"");
	json_decref(z);
	json_decref(o);
	assert_null(json_text_dumps(NULL, 0, NULL));
}

static void finish_is(struct json_text *w, const char *want)
{
	size_t len = 0;
	char *s = json_text_finish(w, &len);
	assert_non_null(s);
	assert_string_equal(s, want);
	assert_int_equal(len, strlen(want));
	free(s);
}

/* The writer, value by value, gives what json_text_dumps() gives for the same value. */
static void writer_is_dumps(void **state)
{
	(void)state;
	json_t *v = json_pack("{s:f, s:[{s:s, s:n, s:I}, [], {}], s:{s:b, s:b}, s:[f, f]}", "t0",
			      12.0, "events", "role", "ajar", "from", "n", (json_int_t)-7,
			      "flags", "a", 1, "b", 0, "x", 0.1 + 0.2, 1e22);
	for (unsigned flags = JSON_TEXT_COMPACT; flags <= JSON_TEXT_INDENT; flags++) {
		char *want = json_text_dumps(v, flags, NULL);
		/* an element from jansson amid the writer's own */
		struct json_text *w = json_text_new(flags);
		json_text_object_begin(w);
		json_text_key(w, "t0");
		json_text_real(w, 12.0);
		json_text_key(w, "events");
		json_text_array_begin(w);
		json_text_value(w, json_array_get(json_object_get(v, "events"), 0));
		json_text_array_begin(w);
		json_text_array_end(w);
		json_text_object_begin(w);
		json_text_object_end(w);
		json_text_array_end(w);
		json_text_key(w, "flags");
		json_text_object_begin(w);
		json_text_key(w, "a");
		json_text_bool(w, true);
		json_text_key(w, "b");
		json_text_bool(w, false);
		json_text_object_end(w);
		json_text_key(w, "x");
		json_text_array_begin(w);
		json_text_real(w, 0.1 + 0.2);
		json_text_real(w, 1e22);
		json_text_array_end(w);
		json_text_object_end(w);
		assert_false(json_text_failed(w));
		finish_is(w, want);
		free(want);
	}
	json_decref(v);

	/* a line of the API: a value, then a newline outside it */
	struct json_text *w = json_text_new(JSON_TEXT_COMPACT);
	json_text_real(w, NAN);
	json_text_raw(w, "\n", 1);
	finish_is(w, "null\n");
}

/* Misuse is kept and reported once, at the end. */
static void writer_errors(void **state)
{
	(void)state;
	struct json_text *w = json_text_new(0);
	json_text_object_begin(w);
	json_text_integer(w, 1); /* no key */
	assert_true(json_text_failed(w));
	json_text_object_end(w);
	assert_null(json_text_finish(w, NULL));

	w = json_text_new(0);
	json_text_key(w, "k"); /* outside an object */
	assert_null(json_text_finish(w, NULL));

	w = json_text_new(0);
	json_text_array_begin(w);
	json_text_object_end(w); /* not what is open */
	assert_null(json_text_finish(w, NULL));

	w = json_text_new(0);
	json_text_object_begin(w);
	json_text_key(w, "k");
	json_text_object_end(w); /* the key's value missing */
	assert_null(json_text_finish(w, NULL));

	w = json_text_new(0);
	json_text_array_begin(w); /* left open */
	assert_false(json_text_failed(w));
	assert_null(json_text_finish(w, NULL));

	assert_null(json_text_finish(json_text_new(0), NULL)); /* nothing written */
	assert_null(json_text_finish(NULL, NULL));
	assert_true(json_text_failed(NULL));
	assert_null(json_text_free(NULL));

	w = json_text_new(0);
	for (int i = 0; i < 300; i++)
		json_text_array_begin(w);
	assert_true(json_text_failed(w));
	json_text_free(w);
}

/* Text from files that did not check it: what is not UTF-8 becomes U+FFFD, byte by byte,
 * so the line stays JSON; valid UTF-8 passes as it is. */
static void writer_utf8(void **state)
{
	(void)state;
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac", "\"caf\xc3\xa9 \xf0\x9f\x98\x80 \xe2\x82\xac\""},
	    {"a\xff" "b", "\"a\xef\xbf\xbd" "b\""},
	    {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},		      /* overlong */
	    {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate */
	    {"\xf4\x90\x80\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* > U+10FFFF */
	    {"x\xe2\x82", "\"x\xef\xbf\xbd\xef\xbf\xbd\""}, /* cut short */
	    {"\xe0\x9f\xbf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* overlong, 3 bytes */
	    {"\xf0\x8f\xbf\xbf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""},
	    {"\"\x7f\x1f", "\"\\\"\\u007f\\u001f\""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_text *w = json_text_new(0);
		json_text_string(w, cases[i].in);
		size_t len;
		char *s = json_text_finish(w, &len);
		assert_non_null(s);
		assert_string_equal(s, cases[i].want);
		/* and jansson reads it */
		json_t *v = json_loadb(s, len, JSON_DECODE_ANY, NULL);
		assert_non_null(v);
		json_decref(v);
		free(s);
	}
}

/* Read back, reals stay reals and integers integers. */
static void writer_value(void **state)
{
	(void)state;
	struct json_text *w = json_text_new(0);
	json_text_array_begin(w);
	json_text_real(w, 12.0);
	json_text_integer(w, 12);
	json_text_real(w, 2.3);
	json_text_real(w, INFINITY);
	json_text_array_end(w);
	json_t *v = json_text_finish_value(w);
	assert_non_null(v);
	assert_true(json_is_real(json_array_get(v, 0)));
	assert_true(json_real_value(json_array_get(v, 0)) == 12.0);
	assert_true(json_is_integer(json_array_get(v, 1)));
	assert_true(json_real_value(json_array_get(v, 2)) == 2.3);
	assert_true(json_is_null(json_array_get(v, 3)));
	json_decref(v);
	w = json_text_new(0);
	json_text_array_begin(w);
	assert_null(json_text_finish_value(w));
}

/* A mark and a rewind take back the values written after the mark, separators included. */
static void writer_rewind(void **state)
{
	(void)state;
	struct json_text *w = json_text_new(JSON_TEXT_COMPACT);
	struct json_text_mark m;

	json_text_object_begin(w);
	json_text_key(w, "rows");
	json_text_array_begin(w);
	m = json_text_mark(w); /* before the first element: no comma to take back */
	json_text_object_begin(w);
	json_text_key(w, "a");
	json_text_integer(w, 1);
	json_text_object_end(w);
	json_text_rewind(w, m);
	assert_int_equal(json_text_length(w), strlen("{\"rows\":["));
	json_text_integer(w, 1);
	m = json_text_mark(w);
	json_text_array_begin(w);
	json_text_string(w, "dropped");
	json_text_array_end(w);
	json_text_rewind(w, m);
	json_text_integer(w, 2);
	json_text_array_end(w);
	json_text_key(w, "cut");
	json_text_bool(w, true);
	json_text_object_end(w);
	finish_is(w, "{\"rows\":[1,2],\"cut\":true}");

	/* back across the close of the mark's container: an error */
	w = json_text_new(0);
	json_text_array_begin(w);
	json_text_array_begin(w);
	m = json_text_mark(w);
	json_text_array_end(w);
	json_text_rewind(w, m);
	assert_true(json_text_failed(w));
	json_text_free(w);
	assert_int_equal(json_text_length(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shortest_reals),
	    cmocka_unit_test(strings_and_nesting),
	    cmocka_unit_test(writer_is_dumps),
	    cmocka_unit_test(writer_errors),
	    cmocka_unit_test(writer_utf8),
	    cmocka_unit_test(writer_value),
	    cmocka_unit_test(writer_rewind),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
