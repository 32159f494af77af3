/* SPDX-License-Identifier: MIT */
/* lib/vin against published example VINs: the check digit worked examples of the
 * Wikipedia article "Vehicle identification number" (1M8GDM9AXKP042788, North American;
 * LJCPCBLCX11000237, Chinese), the 2003 Honda Accord 1HGCM82633A004352 that VIN decoders
 * (NHTSA's vPIC among them) use as their example, and a 1993 Acura Legend. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bodydiag/vin.h"

static int parse(const char *s, struct vin_info *v)
{
	return vin_parse(s, strlen(s), v);
}

static void check_digit(void **state)
{
	/* 351 mod 11 = 10 -> X, the worked example's sum */
	assert_int_equal(vin_check_digit("1M8GDM9AX_P042788"), 0);   /* '_' is no VIN character */
	assert_int_equal(vin_check_digit("1M8GDM9A_KP042788"), 'X'); /* position 9 is not read */
	assert_int_equal(vin_check_digit("1M8GDM9A0KP042788"), 'X');
	assert_int_equal(vin_check_digit("1M8GDM9AXKP042788"), 'X'); /* position 9 weighs 0 */
	assert_int_equal(vin_check_digit("LJCPCBLCX11000237"), 'X');
	assert_int_equal(vin_check_digit("1HGCM82633A004352"), '3');
	assert_int_equal(vin_check_digit("JH4KA7561PC008269"), '1');
	assert_int_equal(vin_check_digit("1BDSM26T4TR000042"), '4'); /* the simulator's until 2026 */
	assert_int_equal(vin_check_digit("1BDSM2AT5TR000042"), '5'); /* the simulator's */
}

static void published_examples(void **state)
{
	struct vin_info v;

	assert_int_equal(parse("1M8GDM9AXKP042788", &v), 0);
	assert_int_equal(v.problem, VIN_OK);
	assert_int_equal(v.region, VIN_REGION_NORTH_AMERICA);
	assert_int_equal(v.check, VIN_CHECK_OK);
	assert_string_equal(v.wmi, "1M8");
	assert_null(v.maker); /* Motor Coach Industries: not a car maker of the table */
	/* K = 1989 or 2019; position 7 is a digit: 1980-2009 */
	assert_int_equal(v.model_years[0], 1989);
	assert_int_equal(v.model_years[1], 2019);
	assert_int_equal(v.model_year, 1989);

	assert_int_equal(parse("LJCPCBLCX11000237", &v), 0);
	assert_int_equal(v.region, VIN_REGION_ASIA);
	assert_int_equal(v.check, VIN_CHECK_OK);
	assert_int_equal(v.model_year, 0); /* outside North America: both candidates */
	assert_int_equal(v.model_years[0], 2001);

	assert_int_equal(parse("1HGCM82633A004352", &v), 0);
	assert_non_null(v.maker);
	assert_string_equal(v.maker->brand, "Honda");
	assert_string_equal(v.maker->make, "honda");
	assert_int_equal(v.model_year, 2003);

	assert_int_equal(parse("JH4KA7561PC008269", &v), 0);
	assert_string_equal(v.maker->make, "acura");
	assert_string_equal(v.maker->group, "honda");
	assert_int_equal(v.model_years[0], 1993);

	/* Europe: position 9 is often free ('Z' here): not used, still valid */
	assert_int_equal(parse("WVWZZZ1KZAW000001", &v), 0);
	assert_int_equal(v.check, VIN_CHECK_NOT_USED);
	assert_int_equal(v.check_digit, '0');
	assert_string_equal(v.maker->make, "volkswagen");
	assert_int_equal(v.region, VIN_REGION_EUROPE);

	/* the simulator's VIN: valid, its WMI in no maker's table (its profile claims it with
	 * `wmi = 1BD`), model year 2026 (T at position 10, a letter at position 7 picks the
	 * 2010-2039 cycle), as the car it plays is a 2026 one; its old VIN read as 1996 */
	assert_int_equal(parse("1BDSM2AT5TR000042", &v), 0);
	assert_null(v.maker);
	assert_int_equal(v.model_year, 2026);
	assert_int_equal(parse("1BDSM26T4TR000042", &v), 0);
	assert_int_equal(v.model_year, 1996);
}

static void garbage(void **state)
{
	static const struct {
		const char *vin;
		enum vin_problem p;
		unsigned pos;
		const char *reason;
	} bad[] = {
	    {"1M8GDM9A1KP042788", VIN_BAD_CHECK_DIGIT, 9, "computed 'X'"},
	    {"LJCPCBLC111000237", VIN_BAD_CHECK_DIGIT, 9, "check digit"}, /* China requires it */
	    {"1M8GDM9AXKP04278", VIN_BAD_LENGTH, 0, "16 characters"},
	    {"", VIN_BAD_LENGTH, 0, "0 characters"},
	    {"1M8GDM9AXKP0427888", VIN_BAD_LENGTH, 0, "18"},
	    {"1m8GDM9AXKP042788", VIN_BAD_CHAR, 2, "lower-case"},
	    {"1M8GDM9AXKO042788", VIN_BAD_CHAR, 11, "I, O and Q"},
	    {"1M8GDM9AXK-042788", VIN_BAD_CHAR, 11, "not a VIN character"},
	    {"1M8GDM9AXKP04278\x01", VIN_BAD_CHAR, 17, "byte 0x01"},
	    {"00000000000000000", VIN_FILLER, 1, "no VIN programmed"},
	    {"11111111111111111", VIN_FILLER, 1, "no VIN programmed"}, /* its check digit holds */
	    {"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", VIN_FILLER, 1,
	     "0xFF"},
	    {"                 ", VIN_FILLER, 1, "0x20"},
	    {"1M8GDM9AXUP042788", VIN_BAD_MODEL_YEAR, 10, "no model year"},
	};
	struct vin_info v;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&v, 0x55, sizeof(v));
		assert_int_equal(parse(bad[i].vin, &v), -EINVAL);
		if (v.problem != bad[i].p || v.position != bad[i].pos ||
		    !strstr(v.reason, bad[i].reason))
			fail_msg("%zu: %s at %u: %s", i, vin_problem_name(v.problem), v.position,
				 v.reason);
	}
}

static void wmi_table(void **state)
{
	const struct vin_maker *m, *prev = NULL;
	size_t n = 0;

	/* sorted, unique, every row found by its own key, make words profile-safe */
	for (; (m = vin_maker_at(n)); n++) {
		if (prev)
			assert_true(strcmp(prev->wmi, m->wmi) < 0);
		if (strlen(m->wmi) == 3)
			assert_ptr_equal(vin_maker_lookup(m->wmi), m);
		for (const char *c = m->make; *c; c++)
			assert_true((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9'));
		prev = m;
	}
	assert_true(n > 150);
	/* a WMI not listed falls back to its maker's block */
	m = vin_maker_lookup("1GX");
	assert_non_null(m);
	assert_string_equal(m->group, "gm");
	assert_string_equal(vin_maker_lookup("JTD")->make, "toyota");
	assert_string_equal(vin_maker_lookup("JTH")->make, "lexus");
	assert_string_equal(vin_maker_lookup("WBA")->make, "bmw");
	assert_string_equal(vin_maker_lookup("WAU")->group, "vw");
	assert_null(vin_maker_lookup("ZZZ"));
	assert_null(vin_maker_lookup("W"));
	assert_null(vin_maker_lookup(NULL));
}

static void model_years_and_names(void **state)
{
	int y[2];

	assert_int_equal(vin_model_year_codes('A', y), 0);
	assert_int_equal(y[0], 1980);
	assert_int_equal(y[1], 2010);
	assert_int_equal(vin_model_year_codes('Y', y), 0);
	assert_int_equal(y[0], 2000);
	assert_int_equal(vin_model_year_codes('9', y), 0);
	assert_int_equal(y[0], 2009);
	assert_int_equal(y[1], 2039);
	assert_int_equal(vin_model_year_codes('T', y), 0);
	assert_int_equal(y[1], 2026);
	assert_int_equal(vin_model_year_codes('U', y), -EINVAL);
	assert_int_equal(vin_model_year_codes('Z', y), -EINVAL);
	assert_int_equal(vin_model_year_codes('0', y), -EINVAL);
	assert_int_equal(vin_model_year_codes('\0', y), -EINVAL);
	for (unsigned p = 0; p < VIN_PROBLEM_MAX; p++)
		assert_string_not_equal(vin_problem_name((enum vin_problem)p), "?");
	for (unsigned r = 1; r < VIN_REGION_MAX; r++)
		assert_string_not_equal(vin_region_name((enum vin_region)r), "unknown");
	for (unsigned c = 0; c < VIN_CHECK_MAX; c++)
		assert_string_not_equal(vin_check_name((enum vin_check)c), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(check_digit),
	    cmocka_unit_test(published_examples),
	    cmocka_unit_test(garbage),
	    cmocka_unit_test(wmi_table),
	    cmocka_unit_test(model_years_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
