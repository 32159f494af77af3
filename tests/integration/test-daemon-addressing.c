/* SPDX-License-Identifier: MIT */
/*
 * bodydiagd against the simulator's BCM placed at 29-bit normal fixed and at Toyota-style
 * extended addressing (a profile variant each, read by both), its OBD stand-in at 11-bit
 * 0x7E0/0x7E8 as the second ECU, on the VM bench (daemon on can0, bodydiag-sim on can1,
 * another tester and a capture on can2). For each:
 *
 *   discover     `bodydiag discover` through the daemon (its `discover` method) finds both
 *                ECUs with their identification and writes a profile skeleton;
 *   methods      ecus shows the address; dtc.read gives the fault's DTC with its profile
 *                text; did.read a scaled DID; a background scan reads the BCM; the
 *                actuator test runs its closed loop (0x10 03, 0x2F, ReturnControlToECU);
 *                the guided test finds the fault (extended addressing only: the longest);
 *                every request on can2 at the BCM's ids with the address byte in front;
 *   passive      another tester's DTC read at the same addressing (can2, its own kernel
 *                ISO-TP socket) reaches the daemon's live diagnosis;
 *   skeleton     a daemon with the written skeleton alone reads the DTCs and the VIN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/isotp_addr.h"
#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/isotp_socket.h"
#include "itest-daemon.h"
#include "itest-cli.h"

#define DMN_CONF "/tmp/itest-da.conf"
#define DMN_SOCK "/tmp/itest-da.sock"
#define DMN_LOG "/tmp/itest-da-daemon.log"
#define SIM_CTL "/tmp/itest-da-sim.sock"
#define SIM_LOG "/tmp/itest-da-sim.log"
#define FAULT "hinge_wiring_open"

static char bodydiag[1024], rules[1024], dbc[1024];

static int setup(void **state)
{
	itd_group_start(state);
	itd_path(bodydiag, sizeof(bodydiag), "BODYDIAG_BUILD_ROOT", "tools/bodydiag/bodydiag");
	itd_path(rules, sizeof(rules), "BODYDIAG_SOURCE_ROOT", "rules/trunk.rules");
	itd_path(dbc, sizeof(dbc), "BODYDIAG_SOURCE_ROOT", "dbc/bodydiag-sim.dbc");
	return 0;
}

static int teardown(void **state)
{
	itd_group_end(state);
	return 0;
}

struct variant {
	const char *name;
	const char *addressing; /* [ecu bcm] lines */
	const char *range;	/* what discover probes for the BCM */
	const char *address;	/* the BCM's compact address as discover writes it */
	bool guided;		/* run the guided test too */
};

static json_t *call_ok(struct itd_client *api, const char *method, json_t *params)
{
	json_t *r = itd_call_or_fail(api, method, params, 30000),
	       *res = json_object_get(r, "result");

	if (!res) {
		itd_dump(DMN_LOG);
		fail_msg(
		    "%s failed: %s: %s", method, itd_error(r),
		    json_string_value(json_object_get(json_object_get(r, "error"), "message")));
	}
	json_incref(res);
	json_decref(r);
	return res;
}

/* Frames of the BCM's requests captured on can2: each one on the BCM's request id, with
 * the address byte first where the addressing has one. Returns how many there were. */
static unsigned check_requests(int cap, const struct isotp_addr *a)
{
	struct bd_timed_frame tf;
	unsigned n = 0;

	while (can_raw_recv(cap, &tf, NULL, NULL) > 0) {
		const struct bd_frame *f = &tf.frame;

		if ((f->flags & BD_FRAME_ERR) || f->id != a->tx_id)
			continue;
		assert_int_equal(!!(f->flags & BD_FRAME_EXT), a->ext_ids);
		if (isotp_addr_pci_offset(a))
			assert_int_equal(f->data[0], a->tx_ea);
		n++;
	}
	return n;
}

static const json_t *ecu_at(const json_t *run, const char *address)
{
	size_t i;
	json_t *e;

	json_array_foreach(
	    json_object_get(run, "ecus"), i,
	    e) if (!strcmp(json_string_value(json_object_get(e, "address")), address)) return e;
	return NULL;
}

static const char *ident(const json_t *e, const char *did)
{
	const json_t *x = json_object_get(json_object_get(e, "identification"), did);

	return json_string_value(json_object_get(x, "value"));
}

/* The daemon's config: the profile, the rules unless skeleton, background scans every
 * second when scans. */
static void write_conf(const char *profile, bool skeleton, bool scans)
{
	char data[2200];

	/* the variant lives in /tmp: its DBC named here */
	snprintf(data, sizeof(data), "rules = %s\ndbc = %s\n", rules, dbc);
	itd_conf_profile = profile;
	itd_write_conf_level(DMN_CONF, DMN_SOCK, "debug", skeleton ? NULL : data, NULL,
			     scans ? "[scan]\nenabled = yes\ninterval = 1s\nbattery_low = 0\n"
				     "[history]\npath =\n"
				   : "[history]\npath =\n");
	itd_conf_profile = NULL;
}

static void run_variant(const struct variant *v)
{
	char prof[128], found[128];
	struct itd_client api = {.fd = -1}, marks = {.fd = -1};
	struct isotp_addr a;
	struct itc_run r;
	pid_t sim, daemon = -1;
	json_t *res, *j;
	int sim_ctl, cap, fd;
	int64_t t0 = itd_mono_us();

	snprintf(prof, sizeof(prof), "/tmp/itest-da-%s.profile", v->name);
	snprintf(found, sizeof(found), "/tmp/itest-da-%s.found.profile", v->name);
	unlink(found);
	itc_write_variant(prof, v->addressing);
	assert_int_equal(isotp_addr_parse(v->address, strlen(v->address), &a, NULL), 0);
	sim = itc_start_sim(prof, SIM_CTL, SIM_LOG);
	sim_ctl = itd_connect(SIM_CTL);
	assert_true(sim_ctl >= 0);
	itd_sim_cmd(sim_ctl, "fault add " FAULT);
	write_conf(prof, false, true);
	cap = itc_capture(ITEST_CAN2);
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon);
	marks.fd = itd_connect(DMN_SOCK);
	assert_true(marks.fd >= 0);
	usleep(1500000); /* the daemon hears the car; the open-load check has failed */

	/* 1. Discovery through the daemon. */
	const char *argv[] = {bodydiag,	    "discover",	       "--socket", DMN_SOCK,  "--range",
			      "functional", "--range",	       v->range,   "--quiet", "0.2",
			      "--json",	    "--write-profile", found,	   NULL};
	itc_run(argv, 120, &r);
	itc_show(v->name, &r);
	if (r.status != 0)
		itd_dump(DMN_LOG);
	assert_int_equal(r.status, 0);
	j = json_loads(r.out, 0, NULL);
	assert_non_null(j);
	const json_t *bcm = ecu_at(j, v->address),
		     *obd = ecu_at(j, "normal:0x7E0/0x7E8,pad=0xCC,func=0x7DF");
	if (!bcm || !obd)
		fail_msg("%s: the BCM at %s and the OBD stand-in not both found", v->name,
			 v->address);
	assert_string_equal(json_string_value(json_object_get(bcm, "role")), "bcm");
	assert_string_equal(ident(bcm, "F197"), "Body Control Module");
	assert_non_null(ident(bcm, "F190"));
	assert_non_null(ident(obd, "OBD09"));
	json_decref(j);
	{ /* the probes of other target bytes behind the gateway were discovery's */
		struct bd_timed_frame tf;
		while (can_raw_recv(cap, &tf, NULL, NULL) > 0)
			;
	}

	/* 2. The methods at this addressing. */
	res = call_ok(&api, "ecus", NULL);
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(res, "ecus"), 0), "addressing")),
			    isotp_addr_mode_name(a.mode));
	json_decref(res);
	res = call_ok(&api, "dtc.read", json_pack("{s:s,s:s}", "ecu", "bcm", "mask", "0x2f"));
	const json_t *d = json_array_get(json_object_get(res, "dtcs"), 0);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "code")), "B1A40-13");
	assert_string_equal(json_string_value(json_object_get(d, "text")),
			    "Trunk release output circuit open");
	json_decref(res);
	res = call_ok(&api, "did.read", json_pack("{s:s}", "did", "TrunkOutputCircuitStatus"));
	d = json_array_get(json_object_get(res, "values"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "label")), "open");
	json_decref(res);
	/* the second ECU: the OBD stand-in's VIN through a functional request */
	res = call_ok(&api, "obd.request", json_pack("{s:i,s:i}", "mode", 9, "pid", 2));
	assert_int_equal(json_array_size(json_object_get(res, "answers")), 1);
	/* and nobody silent: an ECU with an address byte is not asked (toyota) */
	assert_int_equal(json_array_size(json_object_get(res, "silent")), 0);
	json_decref(res);
	for (int i = 0; i < 50; i++) {
		res = call_ok(&api, "scan", NULL);
		if (json_integer_value(json_object_get(res, "scans")) >= 1)
			break;
		json_decref(res);
		res = NULL;
		usleep(100000);
	}
	if (!res)
		fail_msg("no background scan within 5 s");
	assert_true(json_integer_value(json_object_get(res, "dtcs")) >= 1);
	json_decref(res);
	res = NULL;
	/* scans off again (a reload): a scan would hold off the guided test */
	write_conf(prof, false, false);
	kill(daemon, SIGHUP);
	usleep(500000);
	for (int i = 0; i < 40 && !res; i++) {
		json_t *rr = itd_call_or_fail(&api, "actuator.test",
					      json_pack("{s:i}", "duration_ms", 500), 30000);
		res = json_incref(json_object_get(rr, "result"));
		if (!res) {
			itd_print_json("actuator.test", rr);
			usleep(250000); /* a scan holds the bus: its turn comes */
		}
		json_decref(rr);
	}
	assert_non_null(res);
	itd_print_json("actuator.test", res);
	assert_true(json_is_true(json_object_get(res, "commanded")));
	assert_int_equal(json_array_size(json_object_get(res, "steps")), 4);
	json_decref(res);
	if (v->guided) {
		j = itd_diagnose(&api, &marks, sim_ctl, NULL, NULL, NULL);
		res = json_object_get(j, "result");
		if (!res)
			itd_print_json("diagnose", j);
		assert_non_null(res);
		assert_string_equal(json_string_value(json_object_get(
					json_array_get(json_object_get(res, "findings"), 0), "id")),
				    FAULT);
		json_decref(j);
	}
	unsigned n = check_requests(cap, &a);
	print_message("# %s: %u BCM request frames on can2, all at %s\n", v->name, n, v->address);
	assert_true(n >= 4);

	/* 3. Another tester at the same addressing, seen passively. */
	res = call_ok(&api, "findings", NULL);
	json_int_t pdus =
	    json_integer_value(json_object_get(json_object_get(res, "input"), "pdus"));
	json_decref(res);
	struct isotp_socket_opts o;
	uint8_t resp[512];
	size_t len = 0;
	isotp_socket_opts_from_addr(&o, &a);
	assert_int_equal(isotp_socket_open(ITEST_CAN2, &o, &fd), 0);
	/* confirmed DTCs only: one, a single-frame answer (a multi-frame one would get flow
	 * control from the daemon's own ISO-TP socket on the same ids too) */
	assert_int_equal(isotp_socket_send(fd, (const uint8_t[]){0x19, 0x02, 0x08}, 3), 0);
	assert_true(itest_wait_readable(fd, 3000));
	assert_int_equal(isotp_socket_recv(fd, resp, sizeof(resp), &len), 1);
	assert_int_equal(resp[0], 0x59);
	close(fd);
	usleep(300000);
	res = call_ok(&api, "findings", NULL);
	assert_true(json_integer_value(json_object_get(json_object_get(res, "input"), "pdus")) >
		    pdus);
	json_decref(res);
	close(api.fd);
	close(marks.fd);
	close(cap);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);

	/* 4. The skeleton discover wrote is enough for dtc.read and did.read. */
	write_conf(found, true, false);
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon);
	res = call_ok(&api, "dtc.read", json_pack("{s:s}", "ecu", "bcm"));
	assert_true(json_array_size(json_object_get(res, "dtcs")) >= 1);
	json_decref(res);
	res = call_ok(&api, "did.read", json_pack("{s:s,s:i}", "ecu", "bcm", "did", 0xF190));
	itd_print_json("did.read F190 (skeleton)", res);
	json_decref(res);
	close(api.fd);
	assert_int_equal(itd_stop(&daemon, DMN_LOG), 0);
	close(sim_ctl);
	assert_int_equal(itd_stop(&sim, SIM_LOG), 0);
	print_message("# %s: discover, dtc.read, did.read, scan, actuator.test%s, another tester, "
		      "the skeleton: %.1f s\n",
		      v->name, v->guided ? ", diagnose" : "", (double)(itd_mono_us() - t0) / 1e6);
}

static void bcm_29bit_normal_fixed(void **state)
{
	const struct variant v = {"fixed", "addressing = normal_fixed\ntarget = 0x40\n",
				  "29bit:0x30-0x4F", "fixed:0x40/0xF1,pad=0xCC", false};
	run_variant(&v);
}

static void bcm_extended_toyota(void **state)
{
	const struct variant v = {
	    /* the functional id too: a functional request must leave this ECU out (its frames
	     * would need an address byte the profile does not give) */
	    "toyota",
	    "addressing = extended\nrequest = 0x750\nresponse = 0x758\ntarget = 0x40\n"
	    "functional = 0x7DF\n",
	    "toyota:0x30-0x4F", "ext:0x750/0x758,ta=0x40,pad=0xCC", true};
	run_variant(&v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(bcm_29bit_normal_fixed, itd_case_end),
	    cmocka_unit_test_teardown(bcm_extended_toyota, itd_case_end),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
