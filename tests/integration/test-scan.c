/* SPDX-License-Identifier: MIT */
/*
 * Background scans on the VM bench: the bodydiagd binary on can0 with [scan] enabled at
 * a 2 s interval, bodydiag-sim on can1, a CAN_RAW capture on can1.
 *
 *   awake          the 0x19 0x02 0xFF requests to the BCM (0x726) come at the interval,
 *                  the DTCs land in the history, `scan` says idle/scanning
 *   bus quiet      the simulator stopped: no frame at all leaves can0 over a window
 *                  longer than the interval (the car sleeps, nothing wakes it), and
 *                  `scan` says paused, "bus quiet"
 *   battery low    the simulator back, then its battery set to 11.0 V (BatteryVoltage in
 *                  the DBC, threshold 11.8 V): the scans stop, `scan` says why
 *
 * Paths: BODYDIAG_BUILD_ROOT and BODYDIAG_SOURCE_ROOT (meson test sets them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/linux/can_raw.h"
#include "itest-daemon.h"

#define DMN_SOCK "/tmp/bd-scan-api.sock"
#define DMN_CONF "/tmp/bd-scan.conf"
#define DMN_LOG "/tmp/bd-scan-daemon.log"
#define DMN_DB "/tmp/bd-scan-history.db"
#define SIM_SOCK "/tmp/bd-scan-sim.sock"
#define SIM_LOG "/tmp/bd-scan-sim.log"
#define BCM_REQ 0x726
#define OBD_FUNC 0x7df
#define INTERVAL_MS 2000
#define QUIET_MS 1500

static pid_t daemon_pid = -1, sim_pid = -1;
static int sim_ctl = -1, cap_fd = -1;
static struct itd_client api = {.fd = -1};

static void sim_cmd(const char *cmd)
{
	itd_sim_cmd(sim_ctl, cmd);
}

/* 0x19 0x02 0xFF requests to the BCM seen by the capture, with their times. */
struct seen {
	int frames;   /* any frame */
	int requests; /* 0x19 0x02 0xFF single frames on 0x726 */
	int64_t t_us[64]; /* CLOCK_REALTIME µs, kernel receive timestamps */
	int battery;  /* OBD 0x01 0x42 on 0x7DF */
	int64_t battery_us[64];
};

static void drain(struct seen *s)
{
	struct bd_timed_frame f;

	while (can_raw_recv(cap_fd, &f, NULL, NULL) == 1) {
		const uint8_t *d = f.frame.data;

		s->frames++;
		if (f.frame.id == BCM_REQ && f.frame.len >= 4 && d[0] == 0x03 && d[1] == 0x19 &&
		    d[2] == 0x02 && d[3] == 0xff) {
			if (s->requests < (int)(sizeof(s->t_us) / sizeof(s->t_us[0])))
				/* Kernel receive time: the test itself may be descheduled. */
				s->t_us[s->requests] = f.t_us;
			s->requests++;
		}
		if (f.frame.id == OBD_FUNC && f.frame.len >= 3 && d[0] == 0x02 && d[1] == 0x01 &&
		    d[2] == 0x42) {
			if (s->battery < (int)(sizeof(s->battery_us) / sizeof(s->battery_us[0])))
				s->battery_us[s->battery] = f.t_us;
			s->battery++;
		}
	}
}

/* Only frames sent by can0 reach the capture while the simulator is stopped; while it
 * runs, its broadcast is counted too (frames) but the requests are ours. */
static void watch(struct seen *s, int ms)
{
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;

	while (itd_mono_us() < end) {
		if (itest_wait_readable(cap_fd, 20))
			drain(s);
	}
	drain(s);
}

static json_t *scan_state(const char *when)
{
	json_t *r = itd_call(&api, "scan", NULL, 15000);
	json_t *res = json_object_get(r, "result");

	if (!res) {
		itd_print_json(when, r);
		itd_dump(DMN_LOG);
		fail();
	}
	itd_print_json(when, res);
	json_incref(res);
	json_decref(r);
	return res;
}

static const char *str(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

static void start_sim(void)
{
	sim_pid = itd_start_sim("hinge_wiring_open", SIM_SOCK, SIM_LOG);
	sim_ctl = itd_connect(SIM_SOCK);
	assert_true(sim_ctl >= 0);
}

static void stop_sim(void)
{
	close(sim_ctl);
	sim_ctl = -1;
	assert_int_equal(itd_stop(&sim_pid, SIM_LOG), 0);
}

/* The scan settings of the test; battery_signal "" = the profile's battery_voltage role. */
static void write_conf(const char *battery_signal)
{
	char extra[512];

	snprintf(extra, sizeof(extra),
		 "[history]\npath = %s\n[scan]\nenabled = true\ninterval = %dms\n"
		 "bus_quiet = %dms\nbattery_low = 11.8\nbattery_signal = %s\n",
		 DMN_DB, INTERVAL_MS, QUIET_MS, battery_signal);
	itd_write_conf(DMN_CONF, DMN_SOCK, NULL, NULL, extra);
}

/* The simulator's profile without its battery_voltage role: a car that does not
 * broadcast the voltage, whose scans read OBD PID 0x42. Its DBC by absolute path. */
#define NOBAT_PROFILE "/tmp/bd-scan-nobattery.profile"
static void write_profile_without_battery(void)
{
	char src[1024], dbc[1024], line[4096];
	FILE *in, *out;
	bool skip = false;

	itd_path(src, sizeof(src), "BODYDIAG_SOURCE_ROOT", "profiles/sim-2026.profile");
	itd_path(dbc, sizeof(dbc), "BODYDIAG_SOURCE_ROOT", "dbc/bodydiag-sim.dbc");
	in = fopen(src, "re");
	out = fopen(NOBAT_PROFILE, "we");
	assert_non_null(in);
	assert_non_null(out);
	while (fgets(line, sizeof(line), in)) {
		if (line[0] == '[')
			skip = !strncmp(line, "[role battery_voltage]", 22);
		if (!strncmp(line, "dbc =", 5))
			fprintf(out, "dbc = %s\n", dbc);
		else if (!skip)
			fputs(line, out);
	}
	fclose(in);
	fclose(out);
}

static void scans_on_the_bench(void **state)
{
	struct seen s;
	json_t *st, *r;
	int64_t sim_stopped;

	(void)state;
	/* the battery from the profile's battery_voltage role: nothing configured */
	write_conf("");
	unlink(DMN_DB);
	unlink(DMN_DB "-wal");
	unlink(DMN_DB "-shm");

	/* Everything on can1: while the simulator is stopped only can0 can send. */
	assert_int_equal(can_raw_open(ITEST_CAN1, NULL, 0, CAN_RAW_OPEN_TIMESTAMP, &cap_fd), 0);

	/* 0. Before any frame on the bus the daemon does not transmit: a bus never heard
	 * counts as asleep. */
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon_pid);
	s = (struct seen){0};
	watch(&s, INTERVAL_MS + 1000);
	st = scan_state("scan, empty bus");
	print_message("empty bus: %d frames from can0 over %d ms\n", s.frames, INTERVAL_MS + 1000);
	assert_int_equal(s.frames, 0);
	assert_string_equal(str(st, "state"), "paused");
	assert_non_null(strstr(str(st, "reason"), "bus quiet"));
	json_decref(st);

	/* 1. Awake: requests at the interval. */
	start_sim();
	s = (struct seen){0};
	watch(&s, 4 * INTERVAL_MS + 1000);
	print_message("awake: %d scan requests in %d ms\n", s.requests, 4 * INTERVAL_MS + 1000);
	for (int i = 1; i < s.requests && i < 64; i++)
		print_message("  gap %d: %.0f ms\n", i, (double)(s.t_us[i] - s.t_us[i - 1]) / 1e3);
	assert_true(s.requests >= 3);
	assert_true(s.requests <= 6);
	for (int i = 1; i < s.requests && i < 64; i++) {
		/* The 1 s tick rounds the interval up, never down. */
		assert_true(s.t_us[i] - s.t_us[i - 1] >= INTERVAL_MS * 1000 - 300000);
		assert_true(s.t_us[i] - s.t_us[i - 1] <= INTERVAL_MS * 1000 + 1500000);
	}
	st = scan_state("scan, awake");
	assert_true(json_is_true(json_object_get(st, "enabled")));
	assert_true(strcmp(str(st, "state"), "idle") == 0 || strcmp(str(st, "state"), "scanning") == 0);
	assert_true(json_integer_value(json_object_get(st, "scans")) >= 3);
	{
		char dtc[1024];

		/* "ok" alone: the simulator has no DTC failed (yet). */
		itd_sim_cmd_reply(sim_ctl, "dtc", dtc, sizeof(dtc));
		print_message("simulator dtc: %s", dtc);
		if (strlen(dtc) > 4)
			assert_true(json_integer_value(json_object_get(st, "dtcs")) >= 1);
	}
	assert_false(json_is_null(json_object_get(st, "last_scan")));
	assert_true(json_real_value(json_object_get(st, "battery_v")) > 12.0);
	assert_string_equal(str(st, "battery_source"), "signal");
	assert_string_equal(str(st, "battery_signal"), "BCM_VehicleState.BatteryVoltage");
	json_decref(st);
	/* The DTCs went into the history. */
	r = itd_call(&api, "history", json_pack("{s:s}", "kind", "transition"), 15000);
	{
		json_t *recs = json_object_get(json_object_get(r, "result"), "records");

		print_message("history: %zu DTC transitions recorded by the scans\n",
			      json_array_size(recs));
		if (json_array_size(recs) < 1)
			itd_print_json("history", r);
		assert_true(json_array_size(recs) >= 1);
		assert_string_equal(str(json_array_get(recs, 0), "ecu"), "bcm");
	}
	json_decref(r);

	/* 2. Bus quiet: the simulator gone, nothing leaves can0 for longer than the
	 * interval. The window starts once bus_quiet has passed (a scan due just before may
	 * still go out) plus the 1 s tick. */
	stop_sim();
	sim_stopped = itd_mono_us();
	while (itd_mono_us() < sim_stopped + (QUIET_MS + 1200) * 1000LL)
		usleep(50000);
	drain(&(struct seen){0});
	s = (struct seen){0};
	watch(&s, 3 * INTERVAL_MS);
	print_message("bus quiet: %d frames from can0 over %d ms (interval %d ms)\n", s.frames,
		      3 * INTERVAL_MS, INTERVAL_MS);
	assert_int_equal(s.frames, 0);
	st = scan_state("scan, bus quiet");
	assert_string_equal(str(st, "state"), "paused");
	assert_non_null(strstr(str(st, "reason"), "bus quiet for"));
	json_decref(st);

	/* 3. Awake again, then the battery low: the scans stop. */
	start_sim();
	s = (struct seen){0};
	watch(&s, 2 * INTERVAL_MS + 1500);
	print_message("awake again: %d scan requests\n", s.requests);
	assert_true(s.requests >= 1);
	sim_cmd("set battery 11.0");
	usleep(1500000); /* the broadcast carries it, the tick notices */
	drain(&(struct seen){0});
	s = (struct seen){0};
	watch(&s, 3 * INTERVAL_MS);
	print_message("battery low: %d scan requests over %d ms\n", s.requests, 3 * INTERVAL_MS);
	assert_int_equal(s.requests, 0);
	st = scan_state("scan, battery low");
	assert_string_equal(str(st, "state"), "paused");
	assert_non_null(strstr(str(st, "reason"), "battery 11.00 V below 11.80 V"));
	json_decref(st);
	/* And back. */
	sim_cmd("set battery 12.6");
	s = (struct seen){0};
	watch(&s, INTERVAL_MS + 1500);
	print_message("battery back: %d scan requests\n", s.requests);
	assert_true(s.requests >= 1);
	assert_int_equal(s.battery, 0);

	/* 4. Reloaded with a profile that does not show the battery on the bus, and no
	 * battery signal: OBD PID 0x42 by a functional request, at most once per interval.
	 * The simulator does not answer it, so the voltage stays unknown and no scan goes
	 * out. */
	write_profile_without_battery();
	itd_conf_profile = NOBAT_PROFILE;
	write_conf("");
	itd_conf_profile = NULL;
	assert_int_equal(kill(daemon_pid, SIGHUP), 0);
	usleep(500000);
	drain(&(struct seen){0});
	s = (struct seen){0};
	watch(&s, 3 * INTERVAL_MS + 500);
	print_message("OBD battery: %d PID 0x42 requests, %d scan requests over %d ms\n", s.battery,
		      s.requests, 3 * INTERVAL_MS + 500);
	for (int i = 1; i < s.battery && i < 64; i++)
		print_message("  gap %d: %.0f ms\n", i,
			      (double)(s.battery_us[i] - s.battery_us[i - 1]) / 1e3);
	assert_int_equal(s.requests, 0);
	assert_true(s.battery >= 2 && s.battery <= 4);
	for (int i = 1; i < s.battery && i < 64; i++)
		assert_true(s.battery_us[i] - s.battery_us[i - 1] >= INTERVAL_MS * 1000 - 300000);
	st = scan_state("scan, OBD battery unanswered");
	/* "idle" is the moment a battery read is due and the scanner's tick has not sent it
	 * yet (verdict reading_battery: the interval since the last read just ran out); the
	 * next look, a moment later, finds it sent or refused */
	for (int i = 0; i < 10 && strcmp(str(st, "state"), "idle") == 0; i++) {
		json_decref(st);
		usleep(100000);
		st = scan_state("scan, OBD battery unanswered (again)");
	}
	assert_string_equal(str(st, "battery_source"), "obd");
	assert_true(json_is_null(json_object_get(st, "battery_v")));
	assert_true(strcmp(str(st, "state"), "scanning") == 0 ||
		    strstr(str(st, "reason"), "battery voltage unknown"));
	json_decref(st);

	/* What the daemon logged about its scans: once per change, not per tick. */
	{
		char line[512];
		FILE *f = fopen(DMN_LOG, "re");
		int n = 0;

		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			if (strstr(line, "background scans")) {
				print_message("daemon: %s", line);
				n++;
			}
		}
		fclose(f);
		/* paused (no frame), running, paused (quiet), running, paused (battery),
		 * running, paused (battery unknown) */
		assert_true(n >= 7 && n <= 9);
	}

	close(api.fd);
	api.fd = -1;
	close(cap_fd);
	cap_fd = -1;
	stop_sim();
	assert_int_equal(itd_stop(&daemon_pid, DMN_LOG), 0);
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scans_on_the_bench),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
