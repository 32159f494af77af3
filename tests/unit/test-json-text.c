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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(shortest_reals),
	    cmocka_unit_test(strings_and_nesting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
