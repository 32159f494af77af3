/* SPDX-License-Identifier: MIT */
/*
 * `bodydiag discover` on the bench: bodydiag-sim on can1 with its BCM placed at 11-bit
 * normal, 29-bit normal fixed, BMW-style and Toyota-style extended addressing (the profile
 * it reads says where), its OBD stand-in at 0x7E0/0x7E8 as the second ECU. Each is found
 * with its identification; the profile skeleton written is loaded with lib/profile and a
 * UDS exchange over a kernel ISO-TP socket built from it reaches the ECU (the daemon-side
 * check comes with the daemon integration). Then ECUs that answer garbage or 0x78 for ever
 * (played by this test on can1), and a discovery refused in listen-only mode.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <poll.h>

#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/profile.h"
#include "itest-daemon.h"
#include "itest-cli.h"

#define SIM_CTL "/tmp/itest-discover-sim.sock"
#define SIM_LOG "/tmp/itest-discover-sim.log"
#define DMN_CONF "/tmp/itest-discover.conf"
#define DMN_SOCK "/tmp/itest-discover.sock"
#define DMN_LOG "/tmp/itest-discover-daemon.log"
#define VIN "1BDSM2AT5TR000042"

static char bodydiag[1024];

static int setup(void **state)
{
	itd_group_start(state);
	itd_path(bodydiag, sizeof(bodydiag), "BODYDIAG_BUILD_ROOT", "tools/bodydiag/bodydiag");
	return 0;
}

static int teardown(void **state)
{
	itd_group_end(state);
	can_link_set_mode(ITEST_CAN0, 500000, CAN_LINK_CTRLMODE_LISTENONLY, 0, true);
	return 0;
}

/* One request, its final answer (after 0x78s) into resp; the answer's length. */
static size_t exchange(int fd, const uint8_t *req, size_t len, uint8_t *resp, size_t cap)
{
	size_t n = 0;

	assert_int_equal(isotp_socket_send(fd, req, len), 0);
	for (int i = 0; i < 20; i++) {
		assert_true(itest_wait_readable(fd, 3000));
		assert_int_equal(isotp_socket_recv(fd, resp, cap, &n), 1);
		if (!(n == 3 && resp[0] == 0x7F && resp[2] == 0x78))
			return n;
	}
	fail_msg("0x78 for ever");
	return 0;
}

static const json_t *ecu_by_address(const json_t *j, const char *addr)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(j, "ecus"), i,
			   e) if (strcmp(json_string_value(json_object_get(e, "address")), addr) ==
				  0) return e;
	return NULL;
}

static const char *ident(const json_t *e, const char *did)
{
	const json_t *x = json_object_get(json_object_get(e, "identification"), did);
	if (!x || strcmp(json_string_value(json_object_get(x, "state")), "ok") != 0)
		return NULL;
	return json_string_value(json_object_get(x, "value"));
}

struct variant {
	const char *name;
	const char *addressing; /* [ecu bcm] lines */
	const char *ranges[4];	/* --range values; none = every range */
	const char *want;	/* the BCM's compact address */
	enum isotp_addr_mode mode;
};

static void run_variant(const struct variant *v)
{
	char prof[128], out[128], rate[] = "100";
	const char *argv[24] = {bodydiag,  "discover", "--iface", ITEST_CAN0,	     "--rate", rate,
				"--quiet", "0.2",      "--json",  "--write-profile", out};
	size_t a = 11;
	struct itc_run r;
	struct profile *p = NULL;
	struct profile_error pe;
	uint8_t resp[256];
	size_t n;
	int fd;

	snprintf(prof, sizeof(prof), "/tmp/itest-discover-%s.profile", v->name);
	snprintf(out, sizeof(out), "/tmp/itest-discover-%s.found.profile", v->name);
	unlink(out);
	itc_write_variant(prof, v->addressing);
	for (size_t i = 0; i < 4 && v->ranges[i]; i++) {
		argv[a++] = "--range";
		argv[a++] = v->ranges[i];
	}
	argv[a] = NULL;

	pid_t sim = itc_start_sim(prof, SIM_CTL, SIM_LOG);
	itc_run(argv, 120, &r);
	itc_show(v->name, &r);
	assert_int_equal(r.status, 0);

	json_error_t je;
	json_t *j = json_loads(r.out, 0, &je);
	if (!j)
		fail_msg("not JSON: %s", je.text);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "done");
	assert_int_equal(json_array_size(json_object_get(j, "ecus")), 2);

	/* the BCM where the profile put it, with its identification */
	const json_t *bcm = ecu_by_address(j, v->want);
	if (!bcm)
		fail_msg("%s: no ECU at %s", v->name, v->want);
	assert_string_equal(json_string_value(json_object_get(bcm, "status")), "identified");
	assert_string_equal(json_string_value(json_object_get(bcm, "role")), "bcm");
	assert_true(json_is_true(json_object_get(bcm, "uds")));
	assert_string_equal(ident(bcm, "F190"), VIN);
	assert_string_equal(ident(bcm, "F187"), "BD26BCM001");
	assert_string_equal(ident(bcm, "F18C"), "SIM260000042");
	assert_string_equal(ident(bcm, "F197"), "Body Control Module");
	assert_string_equal(json_string_value(json_object_get(json_object_get(bcm, "vin"), "vin")),
			    VIN);

	/* the second ECU: the OBD stand-in, found by the functional mode 01 request */
	const json_t *obd = ecu_by_address(j, "normal:0x7E0/0x7E8,pad=0xCC,func=0x7DF");
	assert_non_null(obd);
	assert_true(json_is_true(json_object_get(obd, "obd")));
	assert_string_equal(ident(obd, "OBD09"), VIN);
	assert_string_equal(json_string_value(json_object_get(obd, "role")), "engine");
	json_decref(j);

	/* the skeleton loads, and what it says reaches the ECUs over kernel ISO-TP */
	if (profile_load(out, &p, &pe) < 0) {
		char m[400];
		profile_error_format(&pe, m, sizeof(m));
		fail_msg("%s", m);
	}
	const struct profile_ecu *e = profile_ecu_find(p, "bcm");
	assert_non_null(e);
	assert_int_equal(e->addr.mode, v->mode);
	struct isotp_addr want;
	assert_int_equal(isotp_addr_parse(v->want, strlen(v->want), &want, NULL), 0);
	assert_true(isotp_addr_equal(&e->addr, &want));
	struct isotp_socket_opts o;
	isotp_socket_opts_from_addr(&o, &e->addr);
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &o, &fd), 0);
	const uint8_t rdid[] = {0x22, 0xF1, 0x90};
	n = exchange(fd, rdid, sizeof(rdid), resp, sizeof(resp));
	assert_int_equal(n, 3 + 17);
	assert_int_equal(resp[0], 0x62);
	assert_memory_equal(resp + 3, VIN, 17);
	const uint8_t dtcs[] = {0x19, 0x02, 0xFF}; /* what `bodydiag dtc` asks */
	n = exchange(fd, dtcs, sizeof(dtcs), resp, sizeof(resp));
	assert_true(n >= 3);
	assert_int_equal(resp[0], 0x59);
	assert_int_equal(resp[1], 0x02);
	close(fd);
	e = profile_ecu_find(p, "engine");
	assert_non_null(e);
	isotp_socket_opts_from_addr(&o, &e->addr);
	assert_int_equal(isotp_socket_open(ITEST_CAN0, &o, &fd), 0);
	const uint8_t vin[] = {0x09, 0x02};
	n = exchange(fd, vin, sizeof(vin), resp, sizeof(resp));
	assert_int_equal(n, 20);
	assert_memory_equal(resp + 3, VIN, 17);
	close(fd);
	profile_free(p);
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
	print_message("# %s: BCM at %s and the OBD stand-in found and identified in %.1f s; "
		      "the written profile reaches both\n",
		      v->name, v->want, r.seconds);
}

static void bcm_11bit_normal(void **state)
{
	const struct variant v = {"normal",
				  "request = 0x726\nresponse = 0x72E\n",
				  {"functional", "11bit:0x700-0x7F7"},
				  "normal:0x726/0x72E,pad=0xCC,func=0x7DF",
				  ISOTP_ADDR_NORMAL};
	run_variant(&v);
}

static void bcm_29bit_normal_fixed(void **state)
{
	const struct variant v = {"fixed",
				  "addressing = normal_fixed\ntarget = 0x40\n",
				  {"functional", "functional29", "29bit:0x00-0x7F"},
				  "fixed:0x40/0xF1,pad=0xCC",
				  ISOTP_ADDR_NORMAL_FIXED};
	run_variant(&v);
}

static void bcm_extended_bmw_every_range(void **state)
{
	/* no --range: every default range, 1000-odd probes */
	const struct variant v = {"bmw",
				  "addressing = extended\nrequest = 0x6F1\nresponse = 0x640\n"
				  "target = 0x40\nsource = 0xF1\n",
				  {NULL},
				  "ext:0x6F1/0x640,ta=0x40,sa=0xF1,pad=0xCC",
				  ISOTP_ADDR_EXTENDED};
	run_variant(&v);
}

static void bcm_extended_toyota(void **state)
{
	const struct variant v = {
	    "toyota",
	    "addressing = extended\nrequest = 0x750\nresponse = 0x758\ntarget = 0x40\n",
	    {"functional", "toyota:0x00-0x7F"},
	    "ext:0x750/0x758,ta=0x40,pad=0xCC",
	    ISOTP_ADDR_EXTENDED};
	run_variant(&v);
}

/* ---- ECUs that misbehave, played on can1 by a child process ---- */

static void bad_ecus(void)
{
	struct isotp_socket_opts o;
	int g, p;
	uint8_t buf[4096];
	size_t n;
	int64_t next_pending = 0;

	/* garbage at 0x710 -> 0x718, 0x78 for ever at 0x720 -> 0x728 */
	isotp_socket_opts_init(&o, 0x718, 0x710);
	o.wait_tx_done = false;
	if (isotp_socket_open(ITEST_CAN1, &o, &g) < 0)
		_exit(2);
	isotp_socket_opts_init(&o, 0x728, 0x720);
	o.wait_tx_done = false;
	if (isotp_socket_open(ITEST_CAN1, &o, &p) < 0)
		_exit(2);
	for (;;) {
		struct pollfd pf[2] = {{.fd = g, .events = POLLIN}, {.fd = p, .events = POLLIN}};
		poll(pf, 2, 10);
		while (isotp_socket_recv(g, buf, sizeof(buf), &n) == 1) {
			if (n == 2 && buf[0] == 0x3E) {
				isotp_socket_send(g, (const uint8_t[]){0x7E, 0x00}, 2);
			} else {
				isotp_socket_send(g, (const uint8_t[]){0x12, 0x34, 0x56}, 3);
				usleep(2000);
				isotp_socket_send(g, (const uint8_t[]){0x62, 0x00, 0x01, 0x99}, 4);
			}
		}
		while (isotp_socket_recv(p, buf, sizeof(buf), &n) == 1) {
			if (n == 2 && buf[0] == 0x3E)
				isotp_socket_send(p, (const uint8_t[]){0x7E, 0x00}, 2);
			else if (next_pending == 0)
				next_pending = itd_mono_us();
		}
		if (next_pending && itd_mono_us() >= next_pending) {
			isotp_socket_send(p, (const uint8_t[]){0x7F, 0x22, 0x78}, 3);
			next_pending = itd_mono_us() + 40000;
		}
	}
}

/* A run's JSON: the garbage ECU and the 0x78 one both found and given up, each for its
 * reason. */
static void given_up(const char *out)
{
	json_error_t je;
	json_t *j = json_loads(out, 0, &je);

	assert_non_null(j);
	const json_t *g = ecu_by_address(j, "normal:0x710/0x718,pad=0xCC");
	const json_t *p = ecu_by_address(j, "normal:0x720/0x728,pad=0xCC");
	assert_non_null(g);
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(g, "status")),
			    "gave up: garbage answers");
	assert_string_equal(json_string_value(json_object_get(p, "status")),
			    "gave up: 0x78 without end");
	json_decref(j);
}

static void garbage_and_pending_for_ever_are_bounded(void **state)
{
	struct itc_run r;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		bad_ecus();
	for (size_t i = 0; i < sizeof(itd_children) / sizeof(itd_children[0]); i++)
		if (itd_children[i] == 0) {
			itd_children[i] = pid;
			break;
		}
	usleep(300000);

	const char *argv[] = {bodydiag,	    "discover", "--iface", ITEST_CAN0, "--rate",
			      "100",	    "--quiet",	"0.2",	   "--range",  "11bit:0x700-0x72F",
			      "--max-time", "30",	"--json",  NULL};
	itc_run(argv, 60, &r);
	itc_show("misbehaving ECUs", &r);
	assert_int_equal(r.status, 0);
	assert_true(r.seconds < 15);
	given_up(r.out);

	/* a bound shorter than the 0x78s: the run ends at it, with what it has */
	const char *argv2[] = {bodydiag,     "discover", "--iface", ITEST_CAN0, "--rate",
			       "100",	     "--quiet",	 "0.2",	    "--range",	"11bit:0x71F-0x720",
			       "--max-time", "0.6",	 NULL};
	itc_run(argv2, 60, &r);
	itc_show("0x78 for ever, 0.6 s bound", &r);
	assert_int_equal(r.status, 3);
	assert_non_null(strstr(r.out, "time bound reached: 1 ECUs"));
	assert_true(r.seconds < 0.6 + 1.5); /* the bound plus process start-up under TCG */

	/* The same through bodydiagd's discover method: the same planner, the same bounds. */
	pid_t daemon = -1;
	struct itd_client api = {.fd = -1};
	itd_write_conf(DMN_CONF, DMN_SOCK, NULL, NULL, "[discover]\nrate = 100\nmax_time = 30s\n");
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon);
	const char *argv3[] = {bodydiag, "discover", "--socket", DMN_SOCK, "--rate", "100",
			       "--quiet",  "0.2",      "--range",  "11bit:0x700-0x72F", "--json",
			       NULL};
	itc_run(argv3, 60, &r);
	itc_show("misbehaving ECUs, through bodydiagd", &r);
	assert_int_equal(r.status, 0);
	assert_true(r.seconds < 15);
	given_up(r.out);
	close(api.fd);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);

	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	itd_forget(pid);
}

static void refused_in_listen_only_mode(void **state)
{
	struct itc_run r;
	struct itc_count c1, c2;
	int cap1 = itc_capture(ITEST_CAN1), cap2 = itc_capture(ITEST_CAN2);
	const char *argv[] = {bodydiag, "discover", "--iface", ITEST_CAN0, "--quiet", "0", NULL};

	assert_int_equal(can_link_set_mode(ITEST_CAN0, 500000, CAN_LINK_CTRLMODE_LISTENONLY,
					   CAN_LINK_CTRLMODE_LISTENONLY, true),
			 0);
	/* In listen-only mode the kernel drops what a socket writes and counts it in
	 * tx_dropped: an unchanged counter proves nothing was even tried. */
	unsigned long long tx0 = itc_stat(ITEST_CAN0, "tx_packets");
	unsigned long long drop0 = itc_stat(ITEST_CAN0, "tx_dropped");
	itc_run(argv, 30, &r);
	usleep(300000);
	itc_show("discover, listen-only", &r);
	assert_int_equal(r.status, 1);
	assert_non_null(strstr(r.err, "listen-only mode"));
	assert_non_null(strstr(r.err, "Nothing was sent"));
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_packets"), tx0);
	assert_int_equal(itc_stat(ITEST_CAN0, "tx_dropped"), drop0);
	itc_read(cap1, &c1);
	itc_read(cap2, &c2);
	close(cap1);
	close(cap2);
	assert_int_equal(c1.frames + c1.errors, 0);
	assert_int_equal(c2.frames + c2.errors, 0);
	assert_int_equal(
	    can_link_set_mode(ITEST_CAN0, 500000, CAN_LINK_CTRLMODE_LISTENONLY, 0, true), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(refused_in_listen_only_mode, itd_case_end),
	    cmocka_unit_test_teardown(bcm_11bit_normal, itd_case_end),
	    cmocka_unit_test_teardown(bcm_29bit_normal_fixed, itd_case_end),
	    cmocka_unit_test_teardown(bcm_extended_toyota, itd_case_end),
	    cmocka_unit_test_teardown(bcm_extended_bmw_every_range, itd_case_end),
	    cmocka_unit_test_teardown(garbage_and_pending_for_ever_are_bounded, itd_case_end),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
