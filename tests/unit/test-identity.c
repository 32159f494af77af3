/* SPDX-License-Identifier: MIT */
/*
 * daemon/identity in-process on a fake clock: the VIN seen in exchanges (a client's F190
 * read, another tester's OBD mode 09), a VIN that fails its check reported and not used,
 * and with [data] profile = auto the installed profile whose wmi matches loaded as on a
 * reload, or none and a clear status. (The read at attach itself opens CAN sockets: the
 * VM bench's test-identify.c.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/profile.h"
#include "core-fixture.h"
#include "daemon/identity.h"
#include "daemon/policy.h"

#define VIN "1BDSM2AT5TR000042"

static const struct module *const modules[] = {&router_module, &policy_module, &identity_module,
					       NULL};

struct t {
	struct fake_clock fc;
	struct core c;
	char dir[64];
};

/* A profile directory: the simulator's profile (wmi 1BD) and a Ford one with its DBC. */
static void make_dir(struct t *t)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[256], cmd[1024];

	snprintf(t->dir, sizeof(t->dir), "/tmp/bodydiag-identity-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(cmd, sizeof(cmd),
		 "cp %s/profiles/sim-2026.profile %s/profiles/ford-lincoln-base.profile %s/ && "
		 "cp %s/dbc/bodydiag-sim.dbc %s/dbc/ford_lincoln_base_pt.dbc %s/",
		 root, root, t->dir, root, root, t->dir);
	assert_int_equal(system(cmd), 0);
	snprintf(path, sizeof(path), "%s/broken.profile", t->dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("format = 1\n[vehicle]\nmake = x\n", f); /* no platform: skipped, said */
	fclose(f);
}

static void start(struct t *t, bool automatic, bool listen_only)
{
	struct vehicle *v;

	fake_clock_init(&t->fc, 1000000);
	t->c = (struct core){.clock = t->fc.clock};
	config_init_defaults(&t->c.cfg);
	t->c.cfg.history.path[0] = '\0';
	if (listen_only)
		t->c.cfg.can.listen_only = CONFIG_LISTEN_ONLY_YES;
	if (automatic) {
		make_dir(t);
		snprintf(t->c.cfg.data.profile, sizeof(t->c.cfg.data.profile), "auto");
		snprintf(t->c.cfg.data.profile_dir, sizeof(t->c.cfg.data.profile_dir), "%s",
			 t->dir);
	}
	assert_int_equal(vehicle_load(&t->c.cfg, &v), 0);
	assert_null(vehicle_profile(v));
	assert_int_equal(core_new_modules(&t->c, modules, v), 0);
	vehicle_unref(v);
}

static void stop(struct t *t)
{
	char cmd[128];

	core_free(&t->c);
	if (t->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", t->dir);
		assert_int_equal(system(cmd), 0);
	}
}

/* An answer seen on the bus: resp (len bytes) to a request the router did not see. */
static void seen(struct t *t, const uint8_t *resp, size_t len)
{
	struct router_exchange x = {.origin = ROUTER_ORIGIN_BUS,
				    .ecu_name = "bcm",
				    .outcome = UDS_BROKER_RESPONSE,
				    .resp = resp,
				    .resp_len = len,
				    .t_us = t->fc.now};

	router_publish_exchange(t->c.router, &x);
}

static void f190(struct t *t, const char *vin)
{
	uint8_t resp[32] = {0x62, 0xF1, 0x90};
	size_t n = strlen(vin);

	memcpy(resp + 3, vin, n);
	resp[3 + n] = 0x00; /* padded, as ECUs do */
	seen(t, resp, 3 + n + 1);
}

static json_t *status(struct t *t)
{
	return identity_status_json(t->c.identity);
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static void passive_and_garbage(void **state)
{
	static struct t t;
	json_t *o;

	start(&t, false, false);
	o = status(&t);
	assert_string_equal(str(o, "state"), "waiting");
	assert_true(json_is_null(json_object_get(o, "vin")));
	assert_string_equal(str(o, "profile"), "configured");
	assert_true(strlen(str(o, "unit_id")) > 0);
	json_decref(o);

	/* a North American VIN with a wrong check digit: reported, not used */
	f190(&t, "1BDSM2AT4TR000042");
	o = status(&t);
	assert_string_equal(str(o, "state"), "invalid");
	assert_true(json_is_null(json_object_get(o, "vin")));
	assert_non_null(strstr(str(o, "text"), "check digit"));
	json_decref(o);
	/* an unprogrammed ECU's filler */
	f190(&t, "00000000000000000");
	o = status(&t);
	assert_string_equal(str(o, "state"), "invalid");
	json_decref(o);

	/* the OBD stand-in's mode 09 answer (count byte 01) as another tester read it */
	uint8_t obd[3 + 17] = {0x49, 0x02, 0x01};
	memcpy(obd + 3, VIN, 17);
	seen(&t, obd, sizeof(obd));
	o = status(&t);
	assert_string_equal(str(o, "state"), "known");
	assert_string_equal(str(o, "vin"), VIN);
	assert_string_equal(str(o, "source"), "seen on the bus");
	assert_string_equal(str(o, "wmi"), "1BD");
	assert_int_equal(json_integer_value(json_object_get(o, "model_year")), 2026);
	json_decref(o);
	/* a later garbage answer does not undo a valid VIN */
	f190(&t, "1BDSM2AT4TR000042");
	o = status(&t);
	assert_string_equal(str(o, "vin"), VIN);
	assert_string_equal(str(o, "state"), "known");
	json_decref(o);
	stop(&t);
}

/* With no profile at all, a tester's OBD mode 09 read on 0x7E0/0x7E8 seen on the bus,
 * segmented: first frame, the tester's flow control, two consecutive frames. */
static void passive_obd_frames(void **state)
{
	static struct t t;
	static const uint8_t frames[][8] = {
	    {0x02, 0x09, 0x02, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}, /* 0x7E0 */
	    {0x10, 0x14, 0x49, 0x02, 0x01, '1', 'B', 'D'},    /* 0x7E8 */
	    {0x30, 0x00, 0x00, 0xAA, 0xAA, 0xAA, 0xAA, 0xAA}, /* 0x7E0 */
	    {0x21, 'S', 'M', '2', 'A', 'T', '5', 'T'},	      /* 0x7E8 */
	    {0x22, 'R', '0', '0', '0', '0', '4', '2'},	      /* 0x7E8 */
	};
	static const uint32_t ids[] = {0x7E0, 0x7E8, 0x7E0, 0x7E8, 0x7E8};
	json_t *o;

	start(&t, false, false);
	for (size_t i = 0; i < 5; i++) {
		struct bd_timed_frame f = {.t_us = t.fc.now, .frame = {.id = ids[i], .len = 8}};

		memcpy(f.frame.data, frames[i], 8);
		router_feed(t.c.router, &f);
		t.fc.now += 1000;
	}
	o = status(&t);
	assert_string_equal(str(o, "vin"), VIN);
	assert_string_equal(str(o, "source"), "seen on the bus");
	json_decref(o);
	stop(&t);
}

static void auto_chooses_by_wmi(void **state)
{
	static struct t t;
	char want[128];
	json_t *o;

	start(&t, true, false);
	o = status(&t);
	assert_string_equal(str(o, "profile"), "auto");
	json_decref(o);
	/* a VW: no profile of the directory claims WVW */
	f190(&t, "WVWZZZ1KZ6W000001");
	o = status(&t);
	assert_string_equal(str(o, "state"), "no_profile");
	assert_non_null(strstr(str(o, "text"), "no installed profile has wmi = WVW"));
	assert_true(json_is_null(json_object_get(o, "chosen")));
	json_decref(o);
	fake_clock_advance(&t.fc, 100000);
	assert_null(vehicle_profile(t.c.vehicle));
	/* the simulator's car: its profile (wmi = 1BD) loaded from the loop, as a reload */
	f190(&t, VIN);
	snprintf(want, sizeof(want), "%s/sim-2026.profile", t.dir);
	o = status(&t);
	assert_string_equal(str(o, "state"), "known");
	assert_string_equal(str(o, "chosen"), want);
	json_decref(o);
	assert_null(vehicle_profile(t.c.vehicle));
	fake_clock_advance(&t.fc, 100000);
	assert_non_null(vehicle_profile(t.c.vehicle));
	assert_string_equal(vehicle_profile_path(t.c.vehicle), want);
	assert_string_equal(profile_platform(vehicle_profile(t.c.vehicle)), "sim-2026");
	assert_string_equal(identity_profile(t.c.identity), want);
	/* a reload of the configuration (profile = auto again) gets the chosen one back */
	struct vehicle *v;
	assert_int_equal(vehicle_load(&t.c.cfg, &v), 0);
	core_set_vehicle(&t.c, &t.c.cfg, v);
	vehicle_unref(v);
	assert_null(vehicle_profile(t.c.vehicle));
	fake_clock_advance(&t.fc, 100000);
	assert_string_equal(vehicle_profile_path(t.c.vehicle), want);
	stop(&t);
}

static void auto_in_listen_only(void **state)
{
	static struct t t;
	json_t *o;

	start(&t, true, true);
	fake_clock_advance(&t.fc, 3000000);
	o = status(&t);
	assert_string_equal(str(o, "state"), "waiting");
	assert_non_null(strstr(str(o, "text"), "listen-only"));
	json_decref(o);
	/* another tester's read still identifies the car */
	f190(&t, VIN);
	fake_clock_advance(&t.fc, 100000);
	assert_non_null(vehicle_profile(t.c.vehicle));
	stop(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(passive_and_garbage),
	    cmocka_unit_test(passive_obd_frames),
	    cmocka_unit_test(auto_chooses_by_wmi),
	    cmocka_unit_test(auto_in_listen_only),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
