/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-sim live on can1, seen from can0 with plain kernel sockets, as a tester on a
 * real car would see it: for healthy and every fault of faults.c, the simulator is
 * started with that fault, the fob trunk button is pressed through the control socket,
 * the broadcast is captured with CAN_RAW and decoded with lib/dbc and
 * dbc/bodydiag-sim.dbc, DTCs (0x19 0x02) and DIDs (0x22) are read over kernel ISO-TP,
 * and what the bus shows is checked against the table of
 * ../shared/docs/trunk-domain.md ("Causes and how each one looks"; the expectations
 * below are its columns). A second part checks the NRCs, 0x78 before the self-test
 * result, the S3 timeout and the OBD answers on 0x7DF/0x7E0 -> 0x7E8.
 *
 * The simulator binary is BODYDIAG_BUILD_ROOT/tools/bodydiag-sim/bodydiag-sim (BD_SIM
 * overrides); the bench copies it and the DBC into the guest.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/uds.h"
#include "itest.h"

#define BCM_REQ 0x726
#define BCM_RESP 0x72E
#define SIM_SOCK "/tmp/bd-sim-live.sock"
#define SIM_LOG "/tmp/bd-sim-live.log"

static struct dbc *db;

struct sim {
	pid_t pid;
	int ctl; /* control socket connection */
	int cap; /* CAN_RAW capture on can0 */
	int bcm; /* ISO-TP tester to the BCM on can0 */
};
static struct sim sim = {.pid = -1, .ctl = -1, .cap = -1, .bcm = -1};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static const char *sim_path(void)
{
	static char buf[512];
	const char *p = getenv("BD_SIM"), *b = getenv("BODYDIAG_BUILD_ROOT");

	if (p && *p)
		return p;
	if (!b || !*b)
		fail_msg("BODYDIAG_BUILD_ROOT is not set (run through meson test)");
	snprintf(buf, sizeof(buf), "%s/tools/bodydiag-sim/bodydiag-sim", b);
	return buf;
}

static void dump_log(void)
{
	char line[512];
	FILE *f = fopen(SIM_LOG, "re");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		print_message("# sim: %s", line);
	fclose(f);
}

/* --- the simulator process and its control socket ------------------------------- */

static int ctl_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX, .sun_path = SIM_SOCK};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Sends one command line and reads the one reply line. */
static void ctl(const char *cmd, char *reply, size_t cap)
{
	char buf[4096];
	size_t n = 0;
	int64_t deadline = now_ms() + 5000;

	assert_true(sim.ctl >= 0);
	snprintf(buf, sizeof(buf), "%s\n", cmd);
	assert_int_equal(write(sim.ctl, buf, strlen(buf)), (ssize_t)strlen(buf));
	for (;;) {
		ssize_t r;
		char *nl;
		if (!itest_wait_readable(sim.ctl,
					 (int)(deadline - now_ms() > 0 ? deadline - now_ms() : 0)))
			fail_msg("no reply to '%s' within 5 s", cmd);
		r = read(sim.ctl, buf + n, sizeof(buf) - 1 - n);
		assert_true(r > 0);
		n += (size_t)r;
		buf[n] = '\0';
		nl = strchr(buf, '\n');
		if (nl) {
			*nl = '\0';
			snprintf(reply, cap, "%s", buf);
			return;
		}
		assert_true(n < sizeof(buf) - 1);
	}
}

static void ctl_ok(const char *cmd)
{
	char reply[4096];
	ctl(cmd, reply, sizeof(reply));
	if (strncmp(reply, "ok", 2) != 0)
		fail_msg("'%s' -> '%s'", cmd, reply);
}

static void sim_start(const char *const *extra)
{
	const char *argv[32] = {sim_path(),   "--iface", ITEST_CAN1, "--control", SIM_SOCK,
				"--no-stdin", "--seed",	 "7",	     "--verbose"};
	size_t n = 9;
	int64_t deadline;
	char reply[4096];

	for (; extra && *extra && n < 31; extra++)
		argv[n++] = *extra;
	argv[n] = NULL;
	unlink(SIM_SOCK);
	sim.pid = fork();
	assert_true(sim.pid >= 0);
	if (sim.pid == 0) {
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int log = open(SIM_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (null < 0 || log < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
		    dup2(log, 2) < 0)
			_exit(126);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* The ASan binary under TCG takes a moment to come up. */
	deadline = now_ms() + 20000;
	while ((sim.ctl = ctl_connect()) < 0) {
		int st;
		if (waitpid(sim.pid, &st, WNOHANG) == sim.pid) {
			sim.pid = -1;
			dump_log();
			fail_msg("%s exited before opening its control socket (status 0x%x)",
				 argv[0], st);
		}
		if (now_ms() > deadline) {
			dump_log();
			fail_msg("%s: no control socket within 20 s", argv[0]);
		}
		sleep_ms(20);
	}
	ctl("status", reply, sizeof(reply));
	assert_true(strncmp(reply, "ok t=", 5) == 0);
}

/* The simulator must end within 5 s of what, with exit status 0. */
static void expect_clean_exit(const char *what)
{
	int st = 0;
	int64_t deadline = now_ms() + 5000;

	while (waitpid(sim.pid, &st, WNOHANG) != sim.pid) {
		if (now_ms() > deadline)
			fail_msg("simulator still running 5 s after %s", what);
		sleep_ms(10);
	}
	sim.pid = -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		dump_log();
		fail_msg("simulator ended with status 0x%x after %s", st, what);
	}
}

/* `quit` must end the simulator cleanly (exit 0) and remove its socket. */
static void sim_quit(void)
{
	char reply[256];

	ctl("quit", reply, sizeof(reply));
	assert_string_equal(reply, "ok bye");
	expect_clean_exit("quit");
	assert_int_equal(access(SIM_SOCK, F_OK), -1);
}

static int setup(void **state)
{
	struct can_raw_filter flt[] = {
	    {.id = 0x1F0, .mask = 0x7FF}, {.id = 0x3A0, .mask = 0x7FF},
	    {.id = 0x3B0, .mask = 0x7FF}, {.id = 0x3C0, .mask = 0x7FF},
	    {.id = 0x5A0, .mask = 0x7FE}, /* 0x5A0, 0x5A1: the aftermarket node */
	};
	struct isotp_socket_opts o;

	assert_int_equal(can_raw_open(ITEST_CAN0, flt, sizeof(flt) / sizeof(flt[0]), 0, &sim.cap),
			 0);
	assert_int_equal(can_raw_set_rcvbuf(sim.cap, 1 << 20), 0);
	isotp_socket_opts_init(&o, BCM_REQ, BCM_RESP);
	o.tx_pad = 0xAA;
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &o, &sim.bcm), 0);
	return 0;
}

static int teardown(void **state)
{
	if (sim.pid > 0) {
		/* A failed assertion left it running: SIGTERM must end it as well. */
		int st;
		kill(sim.pid, SIGTERM);
		for (int i = 0; i < 300 && waitpid(sim.pid, &st, WNOHANG) != sim.pid; i++)
			sleep_ms(10);
		if (kill(sim.pid, 0) == 0) {
			kill(sim.pid, SIGKILL);
			waitpid(sim.pid, &st, 0);
		}
		dump_log();
		sim.pid = -1;
	}
	if (sim.ctl >= 0)
		close(sim.ctl);
	if (sim.cap >= 0)
		close(sim.cap);
	if (sim.bcm >= 0)
		close(sim.bcm);
	sim.ctl = sim.cap = sim.bcm = -1;
	return 0;
}

/* --- UDS over kernel ISO-TP ------------------------------------------------------- */

/* One request; waits through 0x78 (P2* 5 s). Returns the final response length and
 * tells whether a 0x78 came first and how long the final answer took. */
static size_t uds_ex(int fd, const uint8_t *req, size_t len, uint8_t *resp, size_t cap,
		     bool *ret_pending, int64_t *ret_ms)
{
	int64_t t0 = now_ms(), deadline = t0 + 1000;
	bool pending = false;

	assert_int_equal(isotp_socket_send(fd, req, len), 0);
	for (;;) {
		size_t n = 0;
		int wait = (int)(deadline - now_ms());
		if (wait < 0 || !itest_wait_readable(fd, wait))
			fail_msg("no answer to service 0x%02X within %s", req[0],
				 pending ? "P2* after 0x78" : "1 s");
		assert_int_equal(isotp_socket_recv(fd, resp, cap, &n), 1);
		if (n == 3 && resp[0] == 0x7F && resp[1] == req[0] && resp[2] == 0x78) {
			pending = true;
			deadline = now_ms() + 5000 + 500;
			continue;
		}
		if (ret_pending)
			*ret_pending = pending;
		if (ret_ms)
			*ret_ms = now_ms() - t0;
		return n;
	}
}

static size_t uds(const uint8_t *req, size_t len, uint8_t *resp, size_t cap)
{
	return uds_ex(sim.bcm, req, len, resp, cap, NULL, NULL);
}

static void expect_nrc(const uint8_t *req, size_t len, uint8_t nrc)
{
	uint8_t resp[64];
	size_t n = uds(req, len, resp, sizeof(resp));

	if (n != 3 || resp[0] != 0x7F || resp[1] != req[0] || resp[2] != nrc)
		fail_msg("service 0x%02X: expected 7F %02X %02X (%s), got %zu bytes %02X %02X %02X",
			 req[0], req[0], nrc, uds_nrc_name(nrc), n, resp[0], n > 1 ? resp[1] : 0,
			 n > 2 ? resp[2] : 0);
}

/* DTCs with testFailedSinceLastClear or any failure bit: 19 02 2F. */
static size_t read_failed_dtcs(struct uds_dtc_record *out, size_t cap)
{
	uint8_t req[8], resp[512];
	size_t rlen, n, i;
	struct uds_rdtci_response r;

	assert_int_equal(uds_build_rdtci_status_mask(UDS_RDTCI_DTC_BY_STATUS_MASK, 0x2F, req,
						     sizeof(req), &rlen),
			 0);
	n = uds(req, rlen, resp, sizeof(resp));
	assert_int_equal(uds_parse_rdtci(req, rlen, resp, n, &r), 0);
	assert_int_equal(r.r.result, UDS_RESULT_OK);
	assert_int_equal(r.availability_mask, 0x7F);
	for (i = 0; i < r.n_dtcs && i < cap; i++)
		assert_int_equal(uds_rdtci_dtc(&r, i, &out[i]), 0);
	return i;
}

/* A DID through its profile signal definition (profiles/sim-2026.profile). */
static double read_did(uint16_t did, const char *signal_def)
{
	static const struct uds_len_entry lens[] = {
	    {0xD102, 2}, {0xD104, 1}, {0xD107, 2}, {0xD108, 2}, {0xD109, 1},
	    {0xD11A, 1}, {0xD11B, 1}, {0xD100, 1}, {0xD101, 1},
	};
	struct uds_len_table t = {lens, sizeof(lens) / sizeof(lens[0])};
	uint8_t req[8], resp[64];
	size_t rlen, n, nv = 0;
	struct uds_did_value v[1];
	struct uds_response ur;
	struct dbc_signal *s = NULL;
	struct dbc_value val;
	struct dbc_error err;

	assert_int_equal(uds_build_read_did(&did, 1, req, sizeof(req), &rlen), 0);
	n = uds(req, rlen, resp, sizeof(resp));
	assert_int_equal(
	    uds_parse_read_did(req, rlen, resp, n, uds_len_table_lookup, &t, v, 1, &nv, &ur), 0);
	assert_int_equal(ur.result, UDS_RESULT_OK);
	assert_int_equal(nv, 1);
	assert_int_equal(v[0].did, did);
	assert_int_equal(dbc_signal_parse(signal_def, strlen(signal_def), &err, &s), 0);
	assert_int_equal(dbc_signal_decode(s, v[0].data, v[0].len, &val), 0);
	dbc_signal_free(s);
	return dbc_value_as_double(val);
}

#define DID_CURRENT 0xD102, "TrunkActuatorCurrent : 7|16@0+ (0.01,0) [0|40] \"A\""
#define DID_FUSE 0xD107, "TrunkFuseVoltage : 7|16@0+ (0.01,0) [0|20] \"V\""
#define DID_LOCKOUT 0xD108, "TrunkOutputLockoutTimer : 7|16@0+ (0.1,0) [0|180] \"s\""
#define DID_CIRCUIT 0xD109, "TrunkOutputCircuitStatus : 0|8@1+ (1,0) [0|4] \"\""
#define DID_FOB1_TRUNK 0xD11A, "Fob1TrunkEnabled : 0|1@1+ (1,0) [0|1] \"\""
#define DID_FOB1_BATTERY 0xD11B, "Fob1BatteryLow : 0|1@1+ (1,0) [0|1] \"\""

/* --- the broadcast ---------------------------------------------------------------- */

struct seen {
	unsigned frames, trunk_frames, rke_frames, alarm_frames;
	bool telegram_valid_trunk; /* RkeTelegramStatus valid with RkeButton TRUNK */
	bool telegram_any;	   /* any telegram status other than idle */
	bool battery_low_flag;
	bool request_fob;
	bool cmd;
	double current_max;
	double current_sum; /* over trunk frames with the command on */
	unsigned current_n;
	bool ajar;
	unsigned inhibits; /* bit per TrunkInhibitReason value seen */
	double fuse_min, fuse_max;
};

static uint8_t crc8_j1850(const uint8_t *p, size_t n)
{
	uint8_t crc = 0xFF;
	for (size_t i = 0; i < n; i++) {
		crc ^= p[i];
		for (int b = 0; b < 8; b++)
			crc = (uint8_t)(crc & 0x80 ? (crc << 1) ^ 0x1D : crc << 1);
	}
	return crc ^ 0xFF;
}

static double sample(const struct dbc_sample *s, int n, const char *name, bool *found)
{
	for (int i = 0; i < n; i++)
		if (strcmp(dbc_signal_name(s[i].signal), name) == 0) {
			*found = true;
			return dbc_value_as_double(s[i].value);
		}
	*found = false;
	return 0;
}

static void drain(void)
{
	struct bd_timed_frame f;
	while (can_raw_recv(sim.cap, &f, NULL, NULL) == 1)
		;
}

/* Captures and decodes the broadcast for ms milliseconds. */
static void capture(int ms, struct seen *s)
{
	int64_t end = now_ms() + ms;
	uint32_t drops = 0;

	memset(s, 0, sizeof(*s));
	s->fuse_min = 1e9;
	s->fuse_max = -1e9;
	while (now_ms() < end) {
		struct bd_timed_frame f;
		struct dbc_sample smp[16];
		const struct dbc_message *m;
		bool ok;
		double v;
		int n;

		if (!itest_wait_readable(sim.cap, (int)(end - now_ms())))
			continue;
		while (can_raw_recv(sim.cap, &f, NULL, &drops) == 1) {
			m = dbc_find_message(db, f.frame.id, false);
			if (!m)
				fail_msg("frame 0x%X not in the DBC", f.frame.id);
			assert_int_equal(f.frame.len, dbc_message_length(m));
			n = dbc_decode(m, f.frame.data, f.frame.len, smp, 16, NULL);
			assert_true(n > 0);
			s->frames++;
			if (f.frame.len == 8)
				assert_int_equal(f.frame.data[7], crc8_j1850(f.frame.data, 7));
			switch (f.frame.id) {
			case 0x3A0:
				s->trunk_frames++;
				if (sample(smp, n, "TrunkReleaseRequest", &ok) == 1 && ok)
					s->request_fob = true;
				if (sample(smp, n, "TrunkActuatorCmd", &ok) == 1 && ok)
					s->cmd = true;
				v = sample(smp, n, "TrunkActuatorCurrent", &ok);
				if (ok && v > s->current_max)
					s->current_max = v;
				if (ok && sample(smp, n, "TrunkActuatorCmd", &ok) == 1 && ok) {
					s->current_sum += v;
					s->current_n++;
				}
				if (sample(smp, n, "TrunkAjar", &ok) == 1 && ok)
					s->ajar = true;
				v = sample(smp, n, "TrunkInhibitReason", &ok);
				if (ok)
					s->inhibits |= 1u << (unsigned)v;
				break;
			case 0x3B0: {
				bool ok2;
				double st = sample(smp, n, "RkeTelegramStatus", &ok);
				double bt = sample(smp, n, "RkeButton", &ok2);
				s->rke_frames++;
				if (ok && st != 0)
					s->telegram_any = true;
				if (ok && ok2 && st == 1 && bt == 3)
					s->telegram_valid_trunk = true;
				if (sample(smp, n, "RkeFobBatteryLow", &ok) == 1 && ok)
					s->battery_low_flag = true;
				break;
			}
			case 0x3C0:
				v = sample(smp, n, "TrunkFuseVoltage", &ok);
				if (ok && v < s->fuse_min)
					s->fuse_min = v;
				if (ok && v > s->fuse_max)
					s->fuse_max = v;
				break;
			case 0x5A0:
			case 0x5A1:
				s->alarm_frames++;
				break;
			}
		}
	}
	assert_int_equal(drops, 0);
}

/* --- the table ---------------------------------------------------------------------- */

enum tri { NO, YES, ANY };

struct expect {
	const char *name;		 /* test name */
	const char *fault[4];		 /* --fault arguments, NULL-terminated */
	enum tri telegram;		 /* fob signal: a valid trunk telegram on the bus */
	enum tri request;		 /* release request (fob) */
	enum tri cmd;			 /* actuator command */
	double current_min, current_max; /* peak actuator current seen, A */
	enum tri opens;			 /* trunk ajar afterwards */
	const char *dtc;		 /* the DTC that must be failed, NULL = none may be */
	enum tri dtc_before_press;	 /* failed before the press (e->dtc, or any for ANY) */
	enum tri inhibit_external;	 /* TrunkInhibitReason external_request seen */
	enum tri alarm_node;		 /* frames of the aftermarket node on the bus */
};

/* One row per cause, as in the table it mirrors. */
/* clang-format off */
static const struct expect cases[] = {
	/* inrush ~7.7 A for 25 ms, sampled every 10 ms, then ~2.6 A running */
	{"healthy", {NULL}, YES, YES, YES, 2.0, 12.0, YES, NULL, NO, NO, NO},
	/* at the default 3 m the weak fob mostly does not get through */
	{"fob_battery_weak", {"fob_battery_weak", NULL}, NO, NO, NO, 0, 0.05, NO, "B1A51-16", NO,
	 NO, NO},
	{"fob_unprogrammed", {"fob_unprogrammed", NULL}, YES, NO, NO, 0, 0.05, NO, NULL, NO, NO, NO},
	{"fuse_blown", {"fuse_blown", NULL}, YES, YES, YES, 0, 0.3, NO, "B1A40-13", NO, NO, NO},
	/* the off-state open-load test sees it before any press */
	{"hinge_wiring_open", {"hinge_wiring_open", NULL}, YES, YES, YES, 0, 0.3, NO, "B1A40-13",
	 YES, NO, NO},
	/* contact flickers: current, opening and B1A40-13 come and go */
	{"hinge_wiring_intermittent", {"hinge_wiring_intermittent", NULL}, YES, YES, YES, 0, 12.0,
	 ANY, NULL, ANY, NO, NO},
	/* the short trips in one tick: one 28 A sample may or may not be in a frame */
	{"hinge_wiring_short", {"hinge_wiring_short", NULL}, YES, YES, YES, 0, 30.0, NO,
	 "B1A40-11", NO, NO, NO},
	{"actuator_worn", {"actuator_worn", NULL}, YES, YES, YES, 0.1, 3.5, NO, "B1A40-92", NO, NO,
	 NO},
	/* stall current for the whole pulse: the click, no opening */
	{"latch_jammed", {"latch_jammed", NULL}, YES, YES, YES, 5.0, 12.0, NO, NULL, NO, NO, NO},
	/* (its self-test runs every second: the DTC may be there before the press) */
	{"bcm_fault", {"bcm_fault", NULL}, YES, YES, NO, 0, 0.05, NO, "U3000-49", ANY, NO, NO},
	{"aftermarket_alarm", {"aftermarket_alarm", NULL}, YES, YES, NO, 0, 0.05, NO, NULL, NO, YES,
	 YES},
};
/* clang-format on */

static void check_tri(const char *what, enum tri want, bool got, const char *fault)
{
	if (want != ANY && (want == YES) != got)
		fail_msg("%s: %s: table says %s, the bus shows %s", fault, what,
			 want == YES ? "yes" : "no", got ? "yes" : "no");
}

static bool has_dtc(const struct uds_dtc_record *d, size_t n, const char *text, uint8_t *status)
{
	uint32_t code;
	assert_int_equal(dtc_parse(text, &code), 0);
	for (size_t i = 0; i < n; i++)
		if (d[i].dtc == code) {
			*status = d[i].status;
			return true;
		}
	return false;
}

static void fault_case(void **state)
{
	const struct expect *e = *state;
	const char *args[10];
	size_t na = 0;
	struct uds_dtc_record dtcs[16];
	struct seen s;
	size_t nd;
	uint8_t st = 0;
	char reply[4096];

	for (size_t i = 0; e->fault[i]; i++) {
		args[na++] = "--fault";
		args[na++] = e->fault[i];
	}
	args[na] = NULL;
	sim_start(args);
	ctl("faults", reply, sizeof(reply));
	if (e->fault[0])
		assert_non_null(strstr(reply, e->fault[0]));
	else
		assert_string_equal(reply, "ok healthy");

	/* The off-state open-load test runs every 100 ms, 3 in a row to fail. */
	sleep_ms(400);
	nd = read_failed_dtcs(dtcs, 16);
	if (e->dtc_before_press == YES) {
		if (!has_dtc(dtcs, nd, e->dtc, &st))
			fail_msg("%s: %s not failed 400 ms after power-up", e->name, e->dtc);
	} else if (e->dtc_before_press == NO && nd != 0) {
		fail_msg("%s: %zu DTC(s) failed before any press", e->name, nd);
	}

	drain();
	ctl_ok("press fob_trunk");
	capture(1200, &s);
	print_message("# %s: %u frames, telegram %d/%d, request %d, cmd %d, current max %.2f A, "
		      "mean %.2f A, ajar %d, inhibits 0x%x, fuse %.2f..%.2f V, alarm frames %u\n",
		      e->name, s.frames, s.telegram_any, s.telegram_valid_trunk, s.request_fob,
		      s.cmd, s.current_max, s.current_n ? s.current_sum / s.current_n : 0.0, s.ajar,
		      s.inhibits, s.fuse_min, s.fuse_max, s.alarm_frames);
	/* Cyclic frames all along: the 10 ms trunk status at least 80 times in 1.2 s. */
	assert_true(s.trunk_frames >= 80);
	check_tri("valid trunk telegram", e->telegram, s.telegram_valid_trunk, e->name);
	check_tri("release request", e->request, s.request_fob, e->name);
	check_tri("actuator command", e->cmd, s.cmd, e->name);
	check_tri("trunk opens", e->opens, s.ajar, e->name);
	check_tri("inhibit external_request", e->inhibit_external, s.inhibits & (1u << 8), e->name);
	check_tri("aftermarket node frames", e->alarm_node, s.alarm_frames > 0, e->name);
	if (s.current_max < e->current_min || s.current_max > e->current_max)
		fail_msg("%s: actuator current peak %.2f A, table says %.2f..%.2f A", e->name,
			 s.current_max, e->current_min, e->current_max);

	if (strcmp(e->name, "fob_battery_weak") == 0) {
		/* Close by it works, with the battery-low flag; 3 such telegrams set the DTC. */
		drain();
		for (int i = 0; i < 3; i++) {
			ctl_ok("press fob_trunk distance=0.5m");
			sleep_ms(300);
		}
		capture(300, &s);
		ctl("status", reply, sizeof(reply));
		print_message("# close presses: %s\n", reply);
		assert_true(read_did(DID_FOB1_BATTERY) == 1.0);
	}
	if (strcmp(e->name, "fuse_blown") == 0) {
		assert_true(s.fuse_max < 1.0);
		assert_true(read_did(DID_FUSE) < 1.0);
	}
	if (strcmp(e->name, "hinge_wiring_open") == 0) {
		assert_true(s.fuse_min > 10.0); /* fuse intact: the break is further on */
		assert_true(read_did(DID_CIRCUIT) == 2.0); /* open */
	}
	if (strcmp(e->name, "fob_unprogrammed") == 0)
		assert_true(read_did(DID_FOB1_TRUNK) == 0.0);
	if (strcmp(e->name, "actuator_worn") == 0) /* low: ~1.3 A mean with dropouts */
		assert_true(s.current_n > 0 && s.current_sum / s.current_n < 2.0);
	if (strcmp(e->name, "healthy") == 0) {
		assert_true(s.current_n > 0 && s.current_sum / s.current_n >= 2.0);
		assert_true(read_did(DID_FOB1_TRUNK) == 1.0);
		assert_true(read_did(DID_CIRCUIT) == 1.0);
		assert_true(read_did(DID_CURRENT) < 0.05); /* pulse over */
	}
	if (strcmp(e->name, "hinge_wiring_short") == 0) {
		assert_true(read_did(DID_CIRCUIT) == 3.0); /* short to ground */
		assert_true(read_did(DID_LOCKOUT) > 30.0);
		/* the output lockout refuses the interior button too */
		drain();
		ctl_ok("press interior");
		capture(500, &s);
		assert_true(s.inhibits & (1u << 5)); /* output_lockout */
		assert_false(s.cmd);
	}

	nd = read_failed_dtcs(dtcs, 16);
	if (e->dtc) {
		if (!has_dtc(dtcs, nd, e->dtc, &st))
			fail_msg("%s: DTC %s not reported (%zu others)", e->name, e->dtc, nd);
		assert_true(st & 0x20); /* testFailedSinceLastClear */
		assert_true(st & 0x04); /* pendingDTC */
	} else if (strcmp(e->name, "hinge_wiring_intermittent") != 0) {
		/* intermittent: B1A40-13 may flap, or not, as the lid moves */
		if (nd != 0) {
			char t[16];
			dtc_format(dtcs[0].dtc, t, sizeof(t));
			fail_msg("%s: table says no DTC, BCM reports %s (0x%02X)", e->name, t,
				 dtcs[0].status);
		}
	}
	sim_quit();
}

/* Every fd the simulator holds beyond stdio is CLOEXEC|NONBLOCK (the epoll instance
 * itself aside: libev's, and blocking has no meaning for it). Returns how many. */
static unsigned check_sim_fds(void)
{
	unsigned n = 0;

	for (int fd = 3; fd < 256; fd++) {
		char path[64], target[128], line[128];
		unsigned long flags = 0;
		ssize_t k;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)sim.pid, fd);
		k = readlink(path, target, sizeof(target) - 1);
		if (k < 0)
			continue;
		target[k] = '\0';
		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)sim.pid, fd);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "flags: %lo", &flags) == 1)
				break;
		fclose(f);
		if (strcmp(target, "anon_inode:[eventpoll]") == 0)
			continue;
		if (!(flags & O_CLOEXEC) || !(flags & O_NONBLOCK))
			fail_msg("simulator fd %d (%s) has flags 0%lo: not CLOEXEC|NONBLOCK", fd,
				 target, flags);
		n++;
	}
	return n;
}

/* --- NRCs, 0x78, S3, OBD ------------------------------------------------------------ */

static void services(void **state)
{
	static const uint8_t out_on[] = {0x2F, 0xD1, 0x01, 0x03, 0x01};
	static const uint8_t ext[] = {0x10, 0x03};
	static const uint8_t unknown_did[] = {0x22, 0x12, 0x34};
	static const uint8_t unknown_sid[] = {0x23, 0x11, 0x00, 0x10,
					      0x00}; /* 0x23 not supported */
	static const uint8_t bad_len[] = {0x3E, 0x00, 0x00};
	static const uint8_t selftest[] = {0x31, 0x01, 0x02, 0x01};
	uint8_t resp[512];
	size_t n;
	bool pending = false;
	int64_t ms = 0;
	struct seen s;

	sim_start(NULL);
	/* CAN_RAW, 3 ISO-TP, the listening socket, our connection, libev's signal fd */
	assert_true(check_sim_fds() >= 6);
	/* 0x2F outside the extended session */
	expect_nrc(out_on, sizeof(out_on), 0x7F);
	expect_nrc(unknown_did, sizeof(unknown_did), 0x31);
	expect_nrc(unknown_sid, sizeof(unknown_sid), 0x11);
	expect_nrc(bad_len, sizeof(bad_len), 0x13);

	n = uds(ext, sizeof(ext), resp, sizeof(resp));
	assert_int_equal(n, 6);
	assert_int_equal(resp[0], 0x50);
	assert_int_equal(resp[1], 0x03);
	/* at speed: conditions not correct */
	ctl_ok("set speed 20");
	expect_nrc(out_on, sizeof(out_on), 0x22);
	ctl_ok("set speed 0");
	/* and standing in P it drives the output: the tester's release on the bus */
	drain();
	n = uds(out_on, sizeof(out_on), resp, sizeof(resp));
	assert_true(n >= 4);
	assert_int_equal(resp[0], 0x6F);
	capture(600, &s);
	assert_true(s.cmd);
	assert_true(s.current_max > 5.0);

	/* the self-test: 0x78 first, the result 1.5 s later */
	n = uds_ex(sim.bcm, selftest, sizeof(selftest), resp, sizeof(resp), &pending, &ms);
	print_message("# self-test answered after %lld ms (0x78 first: %d)\n", (long long)ms,
		      pending);
	assert_true(pending);
	assert_int_equal(n, 5);
	assert_int_equal(resp[0], 0x71);
	assert_int_equal(resp[4], 0x00); /* passed */
	assert_true(ms >= 1300 && ms <= 5000);

	/* S3: the extended session falls back after 5 s without a request */
	sleep_ms(5500);
	expect_nrc(out_on, sizeof(out_on), 0x7F);

	/* OBD: functional 0x7DF single frame, answer (multi-frame VIN) on 0x7E8 with the
	 * flow control to the physical 0x7E0 */
	{
		struct isotp_socket_opts f, p;
		int ff, fp;
		static const uint8_t vin_req[] = {0x09, 0x02}, speed_req[] = {0x01, 0x0D};
		static const uint8_t vin[] = "1BDSM2AT5TR000042";
		size_t got = 0;

		isotp_socket_opts_init(&f, 0x7DF, 0x7EF);
		isotp_socket_opts_init(&p, 0x7E0, 0x7E8);
		f.tx_pad = p.tx_pad = 0xAA;
		assert_int_equal(isotp_socket_open(ITEST_CAN0, &f, &ff), 0);
		assert_int_equal(isotp_socket_open(ITEST_CAN0, &p, &fp), 0);
		assert_int_equal(isotp_socket_send(ff, vin_req, sizeof(vin_req)), 0);
		assert_true(itest_wait_readable(fp, 1000));
		assert_int_equal(isotp_socket_recv(fp, resp, sizeof(resp), &got), 1);
		assert_int_equal(got, 20);
		assert_int_equal(resp[0], 0x49);
		assert_memory_equal(resp + 3, vin, 17);
		/* UDS on the functional address: the BCM answers on 0x72E */
		static const uint8_t tp[] = {0x3E, 0x00};
		assert_int_equal(isotp_socket_send(ff, tp, sizeof(tp)), 0);
		assert_true(itest_wait_readable(sim.bcm, 1000));
		assert_int_equal(isotp_socket_recv(sim.bcm, resp, sizeof(resp), &got), 1);
		assert_int_equal(got, 2);
		assert_int_equal(resp[0], 0x7E);
		ctl_ok("set speed 42");
		n = uds_ex(fp, speed_req, sizeof(speed_req), resp, sizeof(resp), NULL, NULL);
		assert_int_equal(n, 3);
		assert_int_equal(resp[0], 0x41);
		assert_int_equal(resp[2], 42);
		close(ff);
		close(fp);
	}

	/* the control channel's own errors are reply lines, not a dead simulator */
	{
		char reply[512];
		ctl("press nothing", reply, sizeof(reply));
		assert_true(strncmp(reply, "error 1:7:", 10) == 0);
		ctl("aftermarket arm", reply, sizeof(reply));
		assert_true(strncmp(reply, "error ", 6) == 0);
		ctl("help", reply, sizeof(reply));
		assert_non_null(strstr(reply, "press fob_trunk"));
	}
	sim_quit();
}

/* A scenario runs in real time; SIGTERM ends the simulator cleanly (exit 0, socket
 * removed). */
static void scenario_sigterm(void **state)
{
	static const char scn[] = "format 1\nfault fuse_blown\nat 200ms press fob_trunk\n"
				  "at 300ms set speed 30\n";
	const char *args[] = {"--scenario", "/tmp/bd-sim-live.scn", NULL};
	char reply[4096];
	FILE *f = fopen(args[1], "we");

	assert_non_null(f);
	assert_int_equal(fwrite(scn, 1, sizeof(scn) - 1, f), sizeof(scn) - 1);
	assert_int_equal(fclose(f), 0);
	sim_start(args);
	sleep_ms(1200);
	ctl("dtc", reply, sizeof(reply));
	if (!strstr(reply, "B1A40-13="))
		fail_msg("scenario press did not set B1A40-13: %s", reply);
	ctl("status", reply, sizeof(reply));
	assert_non_null(strstr(reply, " speed=30.0 "));
	assert_non_null(strstr(reply, " faults=fuse_blown"));
	assert_int_equal(kill(sim.pid, SIGTERM), 0);
	expect_clean_exit("SIGTERM");
	assert_int_equal(access(SIM_SOCK, F_OK), -1);
}

/* The control channel on stdin: replies on stdout, EOF does not end the simulator. */
static void stdin_control(void **state)
{
	int in[2], out[2], st = 0;
	char buf[4096];
	size_t n = 0;
	int64_t deadline;
	FILE *f;

	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	sim.pid = fork();
	assert_true(sim.pid >= 0);
	if (sim.pid == 0) {
		int log = open(SIM_LOG, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (log < 0 || dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(log, 2) < 0)
			_exit(126);
		execl(sim_path(), sim_path(), "--iface", ITEST_CAN1, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f = fdopen(in[1], "w");
	assert_non_null(f);
	fprintf(f, "status\n# a comment gets its reply too\nfault add fuse_blown\nfaults\nbogus\n");
	fclose(f); /* EOF on its stdin: it must keep running */
	deadline = now_ms() + 20000;
	while (n < sizeof(buf) - 1 && now_ms() < deadline) {
		ssize_t r;
		if (!itest_wait_readable(out[0], 200))
			continue;
		r = read(out[0], buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "error 1:1:"))
			break;
	}
	buf[n] = '\0';
	print_message("# stdin replies: %s", buf);
	assert_true(strncmp(buf, "ok t=", 5) == 0);
	assert_non_null(strstr(buf, "\nok\nok\nok fuse_blown\nerror 1:1: unknown command 'bogus'"));
	sleep_ms(300);
	assert_int_equal(waitpid(sim.pid, &st, WNOHANG), 0); /* still running */
	assert_int_equal(kill(sim.pid, SIGINT), 0);
	expect_clean_exit("SIGINT");
	close(out[0]);
}

static int load_dbc(void)
{
	const char *root = getenv("BODYDIAG_SOURCE_ROOT");
	char path[512], *buf;
	struct dbc_error err;
	FILE *f;
	long len;
	int r;

	if (!root || !*root) {
		fprintf(stderr, "BODYDIAG_SOURCE_ROOT is not set (run through meson test)\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/dbc/bodydiag-sim.dbc", root);
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		fclose(f);
		free(buf);
		return -1;
	}
	fclose(f);
	r = dbc_parse(buf, (size_t)len, path, NULL, NULL, &err, &db);
	free(buf);
	if (r < 0)
		fprintf(stderr, "%s:%u:%u: %s\n", path, err.line, err.column, err.message);
	return r;
}

int main(void)
{
	struct CMUnitTest tests[sizeof(cases) / sizeof(cases[0]) + 3];
	size_t n = 0;
	int r;

	if (load_dbc() < 0)
		return 1;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct CMUnitTest t = cmocka_unit_test_prestate_setup_teardown(
		    fault_case, setup, teardown, (void *)&cases[i]);
		t.name = cases[i].name;
		tests[n++] = t;
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test_setup_teardown(services, setup, teardown);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test_setup_teardown(scenario_sigterm, setup, teardown);
	tests[n++] =
	    (struct CMUnitTest)cmocka_unit_test_setup_teardown(stdin_control, setup, teardown);
	r = _cmocka_run_group_tests("sim-live", tests, n, NULL, NULL);
	dbc_free(db);
	return r;
}
