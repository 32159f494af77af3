/* SPDX-License-Identifier: MIT */
/*
 * [data] profile = auto on the bench: bodydiagd on can0 without a profile, bodydiag-sim on
 * can1, the installed profiles of the source tree as the daemon's profile_dir.
 *
 *   at attach   the daemon reads the VIN itself (functional OBD mode 09 / F190), checks
 *               it, and loads the profile whose wmi matches (the simulator's, wmi 1BD):
 *               status says so and dtc.read then reaches the BCM by its profile name
 *   listen-only with [can] listen_only = yes nothing is read (can0 sends nothing); the
 *               status says it waits; another tester's OBD mode 09 read on can2 (seen on
 *               the OBD ids, with no profile yet) identifies the car and chooses the
 *               profile all the same
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/isotp_socket.h"
#include "itest-daemon.h"
#include "itest-cli.h"

#define DMN_CONF "/tmp/itest-id.conf"
#define DMN_SOCK "/tmp/itest-id.sock"
#define DMN_LOG "/tmp/itest-id-daemon.log"
#define SIM_CTL "/tmp/itest-id-sim.sock"
#define SIM_LOG "/tmp/itest-id-sim.log"
#define VIN "1BDSM2AT5TR000042"

static char profile[1024], profiles[1024], rules[1024];

static int setup(void **state)
{
	itd_group_start(state);
	itd_path(profile, sizeof(profile), "BODYDIAG_SOURCE_ROOT", "profiles/sim-2026.profile");
	itd_path(profiles, sizeof(profiles), "BODYDIAG_SOURCE_ROOT", "profiles");
	itd_path(rules, sizeof(rules), "BODYDIAG_SOURCE_ROOT", "rules/trunk.rules");
	return 0;
}

static int teardown(void **state)
{
	itd_group_end(state);
	return 0;
}

static int after_each(void **state)
{
	itd_kill_children();
	can_link_set_mode(ITEST_CAN0, 500000, CAN_LINK_CTRLMODE_LISTENONLY, 0, true);
	return 0;
}

static int start(const char *can_extra, pid_t *pid)
{
	char data[2200];
	FILE *f;

	snprintf(data, sizeof(data), "profile = auto\nprofile_dir = %s\nrules = %s\n", profiles,
		 rules);
	/* itd_write_conf_level writes a profile line of its own: this config is written here */
	f = fopen(DMN_CONF, "we");
	assert_non_null(f);
	fprintf(f,
		"[can]\ninterface = %s\n%s[data]\n%s[api]\nsocket = %s\nrate_limit = 0\n"
		"[history]\npath =\n[log]\nlevel = debug\n",
		ITEST_CAN0, can_extra, data, DMN_SOCK);
	fclose(f);
	return itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, pid);
}

/* The identity part of status, once its state is not want_not (or after 20 s). */
static json_t *identity_after(struct itd_client *api, const char *const *waiting)
{
	int64_t t0 = itd_mono_us();

	for (;;) {
		json_t *j = itd_call_or_fail(api, "status", NULL, 5000);
		json_t *id = json_object_get(json_object_get(j, "result"), "identity");
		const char *s = json_string_value(json_object_get(id, "state"));
		bool wait = false;

		for (size_t i = 0; s && waiting[i]; i++)
			wait |= !strcmp(s, waiting[i]);
		if (!wait || itd_mono_us() - t0 > 20000000) {
			json_incref(id);
			json_decref(j);
			itd_print_json("identity", id);
			return id;
		}
		json_decref(j);
		usleep(100000);
	}
}

static void read_at_attach(void **state)
{
	static const char *const waiting[] = {"waiting", "reading", NULL};
	struct itd_client api = {.fd = -1};
	pid_t sim, daemon = -1;
	json_t *id, *j;
	char want[1200];

	sim = itc_start_sim(profile, SIM_CTL, SIM_LOG);
	api.fd = start("", &daemon);
	id = identity_after(&api, waiting);
	snprintf(want, sizeof(want), "%s/sim-2026.profile", profiles);
	if (strcmp(json_string_value(json_object_get(id, "state")), "known") != 0)
		itd_dump(DMN_LOG);
	assert_string_equal(json_string_value(json_object_get(id, "state")), "known");
	assert_string_equal(json_string_value(json_object_get(id, "vin")), VIN);
	assert_non_null(strstr(json_string_value(json_object_get(id, "source")), "read at attach"));
	assert_int_equal(json_integer_value(json_object_get(id, "model_year")), 2026);
	assert_string_equal(json_string_value(json_object_get(id, "chosen")), want);
	json_decref(id);
	/* the chosen profile is in force: its ECU by name, its DTC texts */
	usleep(300000);
	j = itd_call_or_fail(&api, "dtc.read", json_pack("{s:s}", "ecu", "bcm"), 15000);
	if (!json_object_get(j, "result"))
		itd_print_json("dtc.read", j);
	assert_non_null(json_object_get(j, "result"));
	json_decref(j);
	close(api.fd);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
}

static void listen_only_learns_passively(void **state)
{
	static const char *const waiting[] = {"reading", NULL};
	struct itd_client api = {.fd = -1};
	struct isotp_socket_opts o;
	uint8_t resp[64];
	size_t len = 0;
	pid_t sim, daemon = -1;
	json_t *id;
	int fd;

	sim = itc_start_sim(profile, SIM_CTL, SIM_LOG);
	unsigned long long tx0 = itc_stat(ITEST_CAN0, "tx_packets");
	api.fd = start("listen_only = yes\n", &daemon);
	usleep(2500000); /* long enough for a read at attach, were it allowed */
	id = identity_after(&api, waiting);
	assert_string_equal(json_string_value(json_object_get(id, "state")), "waiting");
	assert_non_null(strstr(json_string_value(json_object_get(id, "text")), "listen-only"));
	json_decref(id);
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);

	/* a shop tool on can2 reads the VIN with OBD mode 09 (a segmented answer) */
	isotp_socket_opts_init(&o, 0x7E0, 0x7E8);
	o.tx_pad = 0xAA;
	assert_int_equal(isotp_socket_open(ITEST_CAN2, &o, &fd), 0);
	assert_int_equal(isotp_socket_send(fd, (const uint8_t[]){0x09, 0x02}, 2), 0);
	assert_true(itest_wait_readable(fd, 3000));
	assert_int_equal(isotp_socket_recv(fd, resp, sizeof(resp), &len), 1);
	assert_int_equal(resp[0], 0x49);
	close(fd);
	static const char *const until_known[] = {"waiting", NULL};
	id = identity_after(&api, until_known);
	assert_string_equal(json_string_value(json_object_get(id, "state")), "known");
	assert_string_equal(json_string_value(json_object_get(id, "vin")), VIN);
	assert_string_equal(json_string_value(json_object_get(id, "source")), "seen on the bus");
	assert_non_null(json_object_get(id, "chosen"));
	json_decref(id);
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);
	print_message("# listen-only: can0 sent nothing; the VIN another tester read chose the "
		      "profile\n");
	close(api.fd);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(read_at_attach, after_each),
	    cmocka_unit_test_teardown(listen_only_learns_passively, after_each),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
