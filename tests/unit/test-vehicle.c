/* SPDX-License-Identifier: MIT */
/*
 * The vehicle snapshot's loading (daemon/vehicle.c): the profile's own DBC found where
 * `bodydiag analyze` finds it (beside the profile, ../dbc/, an absolute path), an explicit
 * data.dbc over it, and a profile whose roles do not fit its DBC refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/dbc.h"
#include "bodydiag/rolemap.h"
#include "daemon/config.h"
#include "daemon/vehicle.h"

static const char dbc_text[] = "VERSION \"\"\nBU_: BCM\nBO_ 496 State: 8 BCM\n"
			       " SG_ Speed : 0|16@1+ (0.01,0) [0|300] \"km/h\" Vector__XXX\n";

static char dir[64];

static void write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int load(const char *profile, const char *dbc, struct vehicle **ret)
{
	struct config cfg;

	config_init_defaults(&cfg);
	snprintf(cfg.data.profile, sizeof(cfg.data.profile), "%s/%s", dir, profile);
	if (dbc)
		snprintf(cfg.data.dbc, sizeof(cfg.data.dbc), "%s/%s", dir, dbc);
	return vehicle_load(&cfg, ret);
}

static void dbc_of_the_profile(void **state)
{
	char text[512];
	struct vehicle *v = NULL;

	snprintf(dir, sizeof(dir), "/tmp/bodydiag-vehicle-XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_file("car.dbc", dbc_text);
	/* beside the profile */
	write_file("beside.profile", "format = 1\n[vehicle]\nmake = t\nplatform = t1\n"
				     "dbc = car.dbc\n[role speed]\ndbc_signal = State.Speed\n"
				     "source = t\ngrade = A\n");
	assert_int_equal(load("beside.profile", NULL, &v), 0);
	assert_non_null(vehicle_dbc(v));
	assert_int_equal(rolemap_source_count(vehicle_rolemap(v)), 1);
	v = vehicle_unref(v);
	/* an absolute path */
	snprintf(text, sizeof(text),
		 "format = 1\n[vehicle]\nmake = t\nplatform = t1\ndbc = %s/car.dbc\n", dir);
	write_file("absolute.profile", text);
	assert_int_equal(load("absolute.profile", NULL, &v), 0);
	assert_non_null(vehicle_dbc(v));
	v = vehicle_unref(v);
	/* a DBC that is nowhere */
	write_file("missing.profile", "format = 1\n[vehicle]\nmake = t\nplatform = t1\n"
				      "dbc = nowhere.dbc\n");
	assert_int_equal(load("missing.profile", NULL, &v), -ENOENT);
	/* data.dbc wins */
	assert_int_equal(load("missing.profile", "car.dbc", &v), 0);
	v = vehicle_unref(v);
	/* a role on a signal the DBC does not have: the profile's mistake, refused */
	write_file("wrong.profile", "format = 1\n[vehicle]\nmake = t\nplatform = t1\n"
				    "dbc = car.dbc\n[role speed]\ndbc_signal = State.VehicleSpeed\n"
				    "source = t\ngrade = A\n");
	assert_int_equal(load("wrong.profile", NULL, &v), -EINVAL);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(dbc_of_the_profile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
