/* SPDX-License-Identifier: MIT */
/*
 * The daemon's one frame path, live on the VM bench (the bodydiagd binary, bodydiag-sim):
 *
 *   bus errors   daemon and simulator on vcan0; while a guided test waits for its first
 *                answer, a burst of error frames (bit errors) and a bus-off error frame go
 *                on the bus: they reach the engine live and appear as the evidence of a
 *                rule that reads them (trunk.rules plus a test rule on `transport busoff`
 *                and `count transport error_frame`)
 *   dtc.read     daemon on can0, simulator on can1 with an open release circuit: a
 *                dtc.read by one client shows in another client's live diagnosis
 *                (`findings`: one more PDU, DTC events) and in the history; and so does
 *                the same request made by another tester on the bus (a shop tool on can2,
 *                through its own kernel ISO-TP socket)
 *
 * Paths: BODYDIAG_BUILD_ROOT and BODYDIAG_SOURCE_ROOT (meson test sets them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <net/if.h>
#include <sys/ioctl.h>

#include "bodydiag/linux/isotp_socket.h"
#include "itest-daemon.h"

#define DMN_SOCK "/tmp/bd-ev-api.sock"
#define DMN_CONF "/tmp/bd-ev.conf"
#define DMN_LOG "/tmp/bd-ev-daemon.log"
#define DMN_DB "/tmp/bd-ev-history.db"
#define RULES "/tmp/bd-ev.rules"
#define SIM_SOCK "/tmp/bd-ev-sim.sock"
#define SIM_LOG "/tmp/bd-ev-sim.log"

static const char test_rule[] =
	"\nrule can_bus_errors \"CAN bus errors during the test\"\n"
	"\twhen any\n"
	"\t\ttransport busoff\n"
	"\t\tcount transport error_frame >= 5 within 1s\n"
	"\tadvice \"Check the bus wiring and its terminations\"\n"
	"\tweight 0.3\n";

/* trunk.rules and the test rule, into RULES. */
static void write_rules(void)
{
	char path[1024], buf[1 << 16];
	FILE *in, *out;
	size_t n;

	itd_path(path, sizeof(path), "BODYDIAG_SOURCE_ROOT", "rules/trunk.rules");
	in = fopen(path, "re");
	out = fopen(RULES, "we");
	assert_non_null(in);
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fputs(test_rule, out);
	fclose(in);
	fclose(out);
}

static void write_conf(const char *iface)
{
	itd_conf_iface = iface;
	itd_write_conf(DMN_CONF, DMN_SOCK, "rules = " RULES "\n", NULL,
		       "[history]\npath = " DMN_DB "\n");
	itd_conf_iface = NULL;
}

/* One error frame of class cls on iface, as a controller's driver reports it. */
static void error_frame(int fd, uint32_t cls)
{
	struct can_frame f = {.can_id = CAN_ERR_FLAG | cls, .len = CAN_ERR_DLC};

	assert_int_equal(write(fd, &f, sizeof(f)), (ssize_t)sizeof(f));
}

static int raw_socket(const char *iface)
{
	struct sockaddr_can addr = {.can_family = AF_CAN};
	int fd = socket(AF_CAN, SOCK_RAW | SOCK_CLOEXEC, CAN_RAW);

	assert_true(fd >= 0);
	addr.can_ifindex = (int)if_nametoindex(iface);
	assert_true(addr.can_ifindex > 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	return fd;
}

static bool evidence_has(json_t *finding, const char *text)
{
	size_t i;
	json_t *e;

	json_array_foreach(json_object_get(finding, "evidence"), i, e)
		if (strstr(json_string_value(json_object_get(e, "text")), text))
			return true;
	return false;
}

/* The bus misbehaves while the person acts: ten bit errors 1.5 ms apart (the engine takes
 * one per millisecond), then a bus-off. */
static void bus_misbehaves(void *userdata)
{
	int fd = *(int *)userdata;

	for (int k = 0; k < 10; k++) {
		error_frame(fd, CAN_ERR_PROT);
		usleep(1500);
	}
	error_frame(fd, CAN_ERR_BUSOFF);
}

static void bus_errors_in_guided_test(void **state)
{
	char sim[1024];
	const char *argv[] = {sim, "--iface", ITEST_VCAN, "--control", SIM_SOCK, "--no-stdin", NULL};
	struct itd_client api = {.fd = -1}, marks = {.fd = -1};
	json_t *j, *res, *found = NULL;
	pid_t daemon_pid, sim_pid;
	int err_fd, sim_ctl;
	size_t i;

	write_rules();
	write_conf(ITEST_VCAN);
	unlink(DMN_DB);
	itd_path(sim, sizeof(sim), "BODYDIAG_BUILD_ROOT", "tools/bodydiag-sim/bodydiag-sim");
	unlink(SIM_SOCK);
	sim_pid = itd_spawn(argv, SIM_LOG);
	sim_ctl = itd_connect_wait(SIM_SOCK, sim_pid, SIM_LOG);
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon_pid);
	marks.fd = itd_connect(DMN_SOCK);
	assert_true(marks.fd >= 0);
	err_fd = raw_socket(ITEST_VCAN);
	usleep(1500000);

	j = itd_diagnose(&api, &marks, sim_ctl, NULL, bus_misbehaves, &err_fd);
	res = json_object_get(j, "result");
	if (!res)
		itd_print_json("diagnose", j);
	assert_non_null(res);
	json_array_foreach(json_object_get(res, "findings"), i, found) {
		if (!strcmp(json_string_value(json_object_get(found, "id")), "can_bus_errors"))
			break;
		found = NULL;
	}
	itd_print_json("can_bus_errors", found);
	assert_non_null(found);
	assert_string_equal(json_string_value(json_object_get(found, "state")), "holds");
	assert_true(evidence_has(found, "busoff"));
	assert_true(evidence_has(found, "error_frame"));
	json_decref(j);

	close(err_fd);
	close(sim_ctl);
	close(marks.fd);
	close(api.fd);
	assert_int_equal(itd_stop(&daemon_pid, DMN_LOG), 0);
	assert_int_equal(itd_stop(&sim_pid, SIM_LOG), 0);
}

/* findings' input counters. */
static void counters(struct itd_client *c, json_int_t *pdus, json_int_t *dtc_events)
{
	json_t *r = itd_call_or_fail(c, "findings", NULL, 15000);
	json_t *in = json_object_get(json_object_get(r, "result"), "input");

	assert_non_null(in);
	*pdus = json_integer_value(json_object_get(in, "pdus"));
	*dtc_events = json_integer_value(json_object_get(in, "dtc_events"));
	json_decref(r);
}

static size_t history_dtcs(struct itd_client *c)
{
	json_t *r = itd_call_or_fail(c, "history", json_pack("{s:s, s:s}", "kind", "dtc", "code",
							     "B1A40-13"),
				     15000);
	size_t n = json_array_size(json_object_get(json_object_get(r, "result"), "records"));

	json_decref(r);
	return n;
}

static void dtc_read_seen_by_others(void **state)
{
	/* confirmed DTCs only: one, a single-frame answer (a multi-frame one would get flow
	 * control from the daemon's own ISO-TP socket on the same ids too) */
	static const uint8_t req[] = {0x19, 0x02, 0x08};
	struct itd_client a = {.fd = -1}, b = {.fd = -1};
	json_int_t pdus0, dtcs0, pdus1, dtcs1, pdus2, dtcs2;
	struct isotp_socket_opts o;
	uint8_t resp[64];
	size_t len = 0, rows0, rows1;
	pid_t daemon_pid, sim_pid;
	int sim_ctl, tool;
	json_t *r;

	write_rules();
	write_conf(ITEST_CAN0);
	unlink(DMN_DB);
	sim_pid = itd_start_sim("hinge_wiring_open", SIM_SOCK, SIM_LOG);
	sim_ctl = itd_connect_wait(SIM_SOCK, sim_pid, SIM_LOG);
	a.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon_pid);
	b.fd = itd_connect(DMN_SOCK);
	assert_true(b.fd >= 0);
	usleep(1500000);

	/* Client b reads the DTCs; client a's live diagnosis and the history show them. */
	counters(&a, &pdus0, &dtcs0);
	rows0 = history_dtcs(&a);
	r = itd_call_or_fail(&b, "dtc.read", NULL, 15000);
	itd_print_json("dtc.read", r);
	assert_true(json_array_size(json_object_get(json_object_get(r, "result"), "dtcs")) >= 1);
	json_decref(r);
	counters(&a, &pdus1, &dtcs1);
	rows1 = history_dtcs(&a);
	print_message("findings input: pdus %lld -> %lld, dtc_events %lld -> %lld; history "
		      "B1A40-13 rows %zu -> %zu\n", (long long)pdus0, (long long)pdus1,
		      (long long)dtcs0, (long long)dtcs1, rows0, rows1);
	assert_int_equal(pdus1, pdus0 + 1);
	assert_true(dtcs1 > dtcs0);
	assert_int_equal(rows1, rows0 + 1);

	/* A shop tool on can2 asks the BCM the same: the daemon is not the tester, and its
	 * live diagnosis and history see it all the same, once. */
	isotp_socket_opts_init(&o, 0x726, 0x72e);
	o.tx_pad = 0xaa;
	o.rx_pad_check = -1;
	o.wait_tx_done = true;
	assert_int_equal(isotp_socket_open("can2", &o, &tool), 0);
	assert_int_equal(isotp_socket_send(tool, req, sizeof(req)), 0);
	assert_true(itest_wait_readable(tool, 2000));
	assert_int_equal(isotp_socket_recv(tool, resp, sizeof(resp), &len), 1);
	assert_int_equal(resp[0], 0x59);
	close(tool);
	usleep(300000);
	counters(&a, &pdus2, &dtcs2);
	print_message("another tester: pdus %lld -> %lld; history rows %zu\n", (long long)pdus1,
		      (long long)pdus2, history_dtcs(&a));
	assert_int_equal(pdus2, pdus1 + 1);
	assert_int_equal(history_dtcs(&a), rows1 + 1);

	close(a.fd);
	close(b.fd);
	close(sim_ctl);
	assert_int_equal(itd_stop(&daemon_pid, DMN_LOG), 0);
	assert_int_equal(itd_stop(&sim_pid, SIM_LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bus_errors_in_guided_test),
		cmocka_unit_test(dtc_read_seen_by_others),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
