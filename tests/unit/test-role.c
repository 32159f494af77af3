/* SPDX-License-Identifier: MIT */
/*
 * lib/role: the chain role registry. Every role the rules and profiles of this tree name
 * is in it with the kind and link they assume; labels are lower-case words, unique per
 * role, value 0 the "nothing happening" one; unit conversions for DBC units.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/role.h"

static const struct role *get(const char *name)
{
	unsigned i;
	assert_int_equal(role_find(name, strlen(name), &i), 0);
	return role_at(i);
}

static void registry(void **state)
{
	assert_true(role_count() >= 30);
	assert_null(role_at(role_count()));
	for (size_t i = 0; i < role_count(); i++) {
		const struct role *r = role_at(i);
		unsigned back;
		assert_int_equal(role_find(r->name, strlen(r->name), &back), 0);
		assert_int_equal(back, i); /* names are unique */
		assert_true(r->kind < ROLE_KIND_MAX && r->link < ROLE_LINK_MAX);
		assert_non_null(r->what);
		if (r->kind == ROLE_KIND_NUMBER) {
			assert_null(r->labels);
			continue;
		}
		assert_true(r->kind != ROLE_KIND_BOOL || r->n_labels == 2);
		for (unsigned k = 0; k < r->n_labels; k++) {
			unsigned v;
			for (const char *c = r->labels[k]; *c; c++)
				assert_true((*c >= 'a' && *c <= 'z') || *c == '_' ||
					    (*c >= '0' && *c <= '9'));
			assert_int_equal(role_label_find(r, r->labels[k], strlen(r->labels[k]), &v),
					 0);
			assert_int_equal(v, k);
			assert_string_equal(role_label(r, k), r->labels[k]);
		}
	}
	/* what the issue asks for, with the kind and the link the rules assume */
	static const struct {
		const char *name;
		enum role_kind kind;
		enum role_link link;
	} want[] = {
	    {"fob_event", ROLE_KIND_ENUM, ROLE_LINK_FOB},
	    {"fob_status", ROLE_KIND_ENUM, ROLE_LINK_RECEIVER},
	    {"lock_request", ROLE_KIND_ENUM, ROLE_LINK_CONTEXT},
	    {"lock_state", ROLE_KIND_ENUM, ROLE_LINK_CONTEXT},
	    {"release_request", ROLE_KIND_ENUM, ROLE_LINK_REQUEST},
	    {"release_inhibit", ROLE_KIND_ENUM, ROLE_LINK_REQUEST},
	    {"actuator_cmd", ROLE_KIND_BOOL, ROLE_LINK_OUTPUT},
	    {"actuator_current", ROLE_KIND_NUMBER, ROLE_LINK_CURRENT},
	    {"latch", ROLE_KIND_BOOL, ROLE_LINK_LATCH},
	    {"ajar", ROLE_KIND_BOOL, ROLE_LINK_AJAR},
	    {"speed", ROLE_KIND_NUMBER, ROLE_LINK_CONTEXT},
	    {"gear", ROLE_KIND_ENUM, ROLE_LINK_CONTEXT},
	    {"ignition", ROLE_KIND_ENUM, ROLE_LINK_CONTEXT},
	    {"battery_voltage", ROLE_KIND_NUMBER, ROLE_LINK_CONTEXT},
	    {"door_fl", ROLE_KIND_BOOL, ROLE_LINK_CONTEXT},
	    {"hood", ROLE_KIND_BOOL, ROLE_LINK_CONTEXT},
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct role *r = get(want[i].name);
		assert_int_equal(r->kind, want[i].kind);
		assert_int_equal(r->link, want[i].link);
	}
	const struct role *lr = get("lock_request");
	static const char *const sources[] = {"fob",	 "interior", "keypad", "passive",
					      "key_cylinder", "tester"};
	for (size_t i = 0; i < 6; i++) {
		unsigned v;
		assert_int_equal(role_label_find(lr, sources[i], strlen(sources[i]), &v), 0);
	}
	assert_string_equal(get("speed")->unit, "km/h");
	assert_string_equal(role_label(get("release_request"), 0), "none");
	assert_true(get("ajar")->body_event && !get("speed")->body_event);
	unsigned x;
	assert_int_equal(role_find("TrunkAjar", 9, &x), -ENOENT);
	assert_int_equal(role_find("ajarx", 4, &x), 0); /* len counts */
	assert_int_equal(role_label_find(get("speed"), "fast", 4, &x), -ENOENT);
	assert_int_equal(role_label_find(get("ajar"), "Open", 4, &x), -ENOENT);
	assert_null(role_label(get("ajar"), 2));
	assert_null(role_label(get("ajar"), 0.5));
	assert_null(role_label(get("ajar"), -1));
	assert_null(role_label(get("speed"), 0));
}

static void names_and_values(void **state)
{
	char buf[64];
	static const char *const links[] = {"fob",     "receiver", "request", "output",
					    "current", "latch",	   "ajar",    "context"};
	for (unsigned l = 0; l < ROLE_LINK_MAX; l++)
		assert_string_equal(role_link_name((enum role_link)l), links[l]);
	assert_null(role_link_name(ROLE_LINK_MAX));
	role_value_format(get("ajar"), 1, buf, sizeof(buf));
	assert_string_equal(buf, "open");
	role_value_format(get("battery_voltage"), 12.4, buf, sizeof(buf));
	assert_string_equal(buf, "12.4 V");
	role_value_format(get("fob_index"), 3, buf, sizeof(buf));
	assert_string_equal(buf, "3");
	role_value_format(get("gear"), 9, buf, sizeof(buf));
	assert_string_equal(buf, "9");
}

static void units(void **state)
{
	double f;
	assert_int_equal(role_unit_factor("kph", "km/h", &f), 0);
	assert_true(f == 1);
	assert_int_equal(role_unit_factor("mph", "km/h", &f), 0);
	assert_true(f == 1.609344);
	assert_int_equal(role_unit_factor("m/s", "km/h", &f), 0);
	assert_true(f == 3.6);
	assert_int_equal(role_unit_factor("mV", "V", &f), 0);
	assert_true(f == 1e-3);
	assert_int_equal(role_unit_factor("mA", "A", &f), 0);
	assert_int_equal(role_unit_factor("ms", "s", &f), 0);
	assert_int_equal(role_unit_factor("volt", "V", &f), 0);
	assert_true(f == 1);
	assert_int_equal(role_unit_factor("V", "km/h", &f), -ENOENT);
	assert_int_equal(role_unit_factor("", "km/h", &f), -ENOENT);
	assert_int_equal(role_unit_factor("furlong/fortnight", "km/h", &f), -ENOENT);
	assert_int_equal(role_unit_factor(NULL, "V", &f), -ENOENT);
}

/* rules/README.md is where rule and profile writers look the roles up: every role of the
 * registry has its row there, with its labels. */
static void readme_lists_every_role(void **state)
{
	(void)state;
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[4096], line[1024];
	if (!root)
		fail_msg("BODYDIAG_SOURCE_ROOT is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/rules/README.md", root);
	for (size_t i = 0; i < role_count(); i++) {
		const struct role *r = role_at(i);
		char want[160];
		bool found = false;
		snprintf(want, sizeof(want), "| `%s` | %s | ", r->name, role_link_name(r->link));
		FILE *f = fopen(path, "r");
		if (!f)
			fail_msg("cannot open %s", path);
		while (!found && fgets(line, sizeof(line), f)) {
			if (strncmp(line, want, strlen(want)) != 0)
				continue;
			found = true;
			for (unsigned k = 0; k < r->n_labels; k++) {
				char lab[80];
				snprintf(lab, sizeof(lab), "`%s`", r->labels[k]);
				if (!strstr(line, lab))
					fail_msg("rules/README.md: role %s lacks label %s", r->name,
						 lab);
			}
		}
		fclose(f);
		if (!found)
			fail_msg("rules/README.md has no row '%s...'", want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(registry),
	    cmocka_unit_test(names_and_values),
	    cmocka_unit_test(units),
	    cmocka_unit_test(readme_lists_every_role),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
