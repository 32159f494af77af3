/* SPDX-License-Identifier: MIT */
/*
 * The daemon's UDS broker on can0 against a scripted ECU on can1 that answers through
 * kernel ISO-TP sockets (a thread per scenario): a multi-frame 0x19 answer, 0x78 x3 then
 * positive, endless 0x78 (named outcome after the cap) while another ECU is still served,
 * 0x21 then positive, 0x21 forever, silence (timeout within P2), server timing from 0x10
 * honoured within the caps, tester present only in a non-default session, a functional
 * request, and listen-only: the daemon's broker, API methods and bus with no client
 * request put zero frames on the bus over a measured window.
 *
 * Then the real thing: the bodydiagd binary on can0 (listen-only window measured again
 * on the process), bodydiag-sim on can1 with a wiring fault, and the API as a client
 * uses it: dtc.read gives the simulator's DTC with status bits and profile text,
 * did.read scaled values, live.subscribe the signal changes of a fob press, dtc.clear
 * clears. Paths: BODYDIAG_BUILD_ROOT and BODYDIAG_SOURCE_ROOT (meson test sets them).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/profile.h"
#include "daemon/api.h"
#include "daemon/core.h"
#include "daemon/uds_broker.h"
#include "daemon/vehicle.h"
#include "itest-daemon.h"

#define BCM_REQ 0x726
#define BCM_RESP 0x72e
#define ENG_REQ 0x7e0
#define ENG_RESP 0x7e8
#define FUNC_ID 0x7df

static struct ev_loop *loop;
static struct uds_broker *broker;
static int bcm_fd = -1, eng_fd = -1, func_fd = -1; /* the scripted ECUs' sockets on can1 */
static pthread_t ecu_thread;
static atomic_bool ecu_stop;
static atomic_int ecu_seen_tp; /* tester present requests the ECU saw */

/* ---- the scripted ECU (runs in its own thread, blocking on poll) ---- */

static int ecu_recv(int fd, uint8_t *buf, size_t cap, int ms)
{
	size_t len = 0;

	if (!itest_wait_readable(fd, ms))
		return -ETIMEDOUT;
	if (isotp_socket_recv(fd, buf, cap, &len) != 1)
		return -EIO;
	return (int)len;
}

static void ecu_send(int fd, const uint8_t *pdu, size_t len)
{
	/* The ECU socket has WAIT_TX_DONE too; non-blocking only matters for the first frame. */
	for (int i = 0; i < 100 && isotp_socket_send(fd, pdu, len) == -EAGAIN; i++)
		usleep(1000);
}

static void *ecu_run(void *arg)
{
	void (*script)(void) = (void (*)(void))arg;
	script();
	return NULL;
}

static void ecu_start(void (*script)(void))
{
	atomic_store(&ecu_stop, false);
	assert_int_equal(pthread_create(&ecu_thread, NULL, ecu_run, (void *)script), 0);
}

static void ecu_join(void)
{
	atomic_store(&ecu_stop, true);
	pthread_join(ecu_thread, NULL);
}

/* ---- the broker side ---- */

struct outcome {
	bool done;
	struct uds_broker_result r;
	uint8_t resp[UDS_BROKER_MAX_PDU];
	int64_t t_done;
};

static void on_done(void *userdata, const struct uds_broker_result *r)
{
	struct outcome *o = userdata;

	o->done = true;
	o->r = *r;
	o->t_done = itd_mono_us();
	if (r->resp && r->resp_len <= sizeof(o->resp)) {
		memcpy(o->resp, r->resp, r->resp_len);
		o->r.resp = o->resp;
	}
}

/* Runs the loop until every outcome is done or ms pass. */
static void run_until(struct outcome **os, size_t n, int ms)
{
	int64_t end = itd_mono_us() + (int64_t)ms * 1000;

	for (;;) {
		bool all = true;
		for (size_t i = 0; i < n; i++)
			all = all && os[i]->done;
		if (all || itd_mono_us() > end)
			return;
		ev_run(loop, EVRUN_NOWAIT);
		usleep(500);
	}
}

static void run_for(int ms)
{
	for (int64_t end = itd_mono_us() + (int64_t)ms * 1000; itd_mono_us() < end;) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
}

static void submit(size_t ecu, enum uds_broker_priority prio, const uint8_t *pdu, size_t len,
		   struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	assert_int_equal(uds_broker_submit(broker, ecu, prio, pdu, len, on_done, o, NULL), 0);
}

static int setup(void **state)
{
	struct isotp_socket_opts o;
	struct uds_broker_config c;
	const struct uds_broker_ecu_config ecus[] = {
		{.name = "bcm", .addr = {.tx_id = BCM_REQ, .rx_id = BCM_RESP, .padding = 0xaa},
		 .p2_ms = 50, .p2star_ms = 5000, .s3_ms = 1000},
		{.name = "eng",
		 .addr = {.tx_id = ENG_REQ, .rx_id = ENG_RESP, .padding = 0xaa, .functional_id = FUNC_ID}},
	};

	loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(loop);
	uds_broker_config_init(&c);
	c.ifname = ITEST_CAN0;
	c.max_pending = 5;
	c.max_busy = 3;
	c.busy_delay_ms = 100;
	c.p2_cap_ms = 200;
	c.p2star_cap_ms = 1000;
	c.margin_ms = 10;
	assert_int_equal(uds_broker_new(loop, &c, ecus, 2, &broker), 0);

	isotp_socket_opts_init(&o, BCM_RESP, BCM_REQ);
	o.tx_pad = 0xaa;
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &o, &bcm_fd), 0);
	isotp_socket_opts_init(&o, ENG_RESP, ENG_REQ);
	o.tx_pad = 0xaa;
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &o, &eng_fd), 0);
	/* Receives the functional request only; answers go out on eng_fd. */
	isotp_socket_opts_init(&o, ENG_RESP, FUNC_ID);
	assert_int_equal(isotp_socket_open(ITEST_CAN1, &o, &func_fd), 0);
	return 0;
}

static int teardown(void **state)
{
	broker = uds_broker_free(broker);
	close(bcm_fd);
	close(eng_fd);
	close(func_fd);
	ev_loop_destroy(loop);
	return 0;
}

/* ---- scenarios ---- */

static const uint8_t rdtci[] = {0x19, 0x02, 0xff};

static void script_multiframe(void)
{
	uint8_t req[64], resp[3 + 12 * 4] = {0x59, 0x02, 0xff};
	int n = ecu_recv(bcm_fd, req, sizeof(req), 3000);

	if (n != 3 || memcmp(req, rdtci, 3) != 0)
		return;
	for (int i = 0; i < 12; i++) {
		resp[3 + 4 * i] = 0x9a;	/* B1A40-13 ... */
		resp[4 + 4 * i] = (uint8_t)(0x40 + i);
		resp[5 + 4 * i] = 0x13;
		resp[6 + 4 * i] = 0x2f;
	}
	ecu_send(bcm_fd, resp, sizeof(resp));
}

static void positive_multiframe(void **state)
{
	struct outcome o, *os[] = {&o};

	ecu_start(script_multiframe);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, rdtci, sizeof(rdtci), &o);
	run_until(os, 1, 3000);
	ecu_join();
	assert_true(o.done);
	assert_string_equal(uds_broker_outcome_name(o.r.outcome), "response");
	assert_int_equal(o.r.resp_len, 3 + 12 * 4);
	assert_int_equal(o.resp[0], 0x59);
	assert_int_equal(o.resp[3 + 4 * 11 + 1], 0x40 + 11);
	print_message("multi-frame 0x19 (51 bytes): %.1f ms\n", (double)o.r.elapsed_us / 1000);
}

static const uint8_t pending_nrc[] = {0x7f, 0x19, 0x78};

static void script_pending3(void)
{
	uint8_t req[64];
	static const uint8_t pos[] = {0x59, 0x02, 0xff, 0x9a, 0x44, 0x24, 0x09};

	if (ecu_recv(bcm_fd, req, sizeof(req), 3000) != 3)
		return;
	for (int i = 0; i < 3; i++) {
		ecu_send(bcm_fd, pending_nrc, 3);
		usleep(100 * 1000);
	}
	ecu_send(bcm_fd, pos, sizeof(pos));
}

static void pending_then_positive(void **state)
{
	struct outcome o, *os[] = {&o};

	ecu_start(script_pending3);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, rdtci, sizeof(rdtci), &o);
	run_until(os, 1, 5000);
	ecu_join();
	assert_true(o.done);
	assert_int_equal(o.r.outcome, UDS_BROKER_RESPONSE);
	assert_int_equal(o.r.pending, 3);
	assert_int_equal(o.resp[0], 0x59);
	print_message("0x78 x3 then positive: %.1f ms\n", (double)o.r.elapsed_us / 1000);
}

static const uint8_t read_did[] = {0x22, 0xd1, 0x03};
static const uint8_t read_vin[] = {0x22, 0xf1, 0x90};

/* bcm: 0x78 every 100 ms until stopped; eng: answers a VIN read in between. */
static void script_endless_pending(void)
{
	static const uint8_t nrc[] = {0x7f, 0x22, 0x78};
	uint8_t req[64], vin[3 + 17] = {0x62, 0xf1, 0x90};
	bool answered_vin = false;

	memcpy(vin + 3, "WBODYDIAG00000042", 17);
	if (ecu_recv(bcm_fd, req, sizeof(req), 3000) != 3)
		return;
	while (!atomic_load(&ecu_stop)) {
		ecu_send(bcm_fd, nrc, sizeof(nrc));
		if (!answered_vin && ecu_recv(eng_fd, req, sizeof(req), 100) == 3) {
			ecu_send(eng_fd, vin, sizeof(vin));
			answered_vin = true;
			usleep(50 * 1000);
		} else if (answered_vin)
			usleep(100 * 1000);
	}
}

static void endless_pending_other_served(void **state)
{
	struct outcome o, other, *os[] = {&o}, *os2[] = {&other};
	int64_t t0 = itd_mono_us();

	ecu_start(script_endless_pending);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, read_did, sizeof(read_did), &o);
	run_for(150);
	/* Another client's request, to another ECU, while the BCM keeps saying 0x78. */
	submit(1, UDS_BROKER_PRIORITY_INTERACTIVE, read_vin, sizeof(read_vin), &other);
	run_until(os2, 1, 3000);
	assert_true(other.done);
	assert_false(o.done);
	assert_int_equal(other.r.outcome, UDS_BROKER_RESPONSE);
	assert_int_equal(other.r.resp_len, 20);
	assert_memory_equal(other.resp + 3, "WBODYDIAG00000042", 17);
	run_until(os, 1, 5000);
	ecu_join();
	assert_true(o.done);
	assert_string_equal(uds_broker_outcome_name(o.r.outcome), "response_pending_limit");
	assert_int_equal(o.r.pending, 6); /* max_pending 5: the sixth is one too many */
	print_message("endless 0x78: %s after %.1f ms (%u x 0x78); other ECU served in %.1f ms\n",
		      uds_broker_outcome_name(o.r.outcome), (double)(o.t_done - t0) / 1000,
		      o.r.pending, (double)other.r.elapsed_us / 1000);
	/* Let stray 0x78 still in flight arrive and be dropped before the next scenario. */
	run_for(200);
}

static void script_busy_once(void)
{
	static const uint8_t busy[] = {0x7f, 0x22, 0x21};
	static const uint8_t pos[] = {0x62, 0xd1, 0x03, 0x01};
	uint8_t req[64];

	if (ecu_recv(bcm_fd, req, sizeof(req), 3000) != 3)
		return;
	ecu_send(bcm_fd, busy, sizeof(busy));
	if (ecu_recv(bcm_fd, req, sizeof(req), 3000) != 3)
		return;
	ecu_send(bcm_fd, pos, sizeof(pos));
}

static void busy_then_positive(void **state)
{
	struct outcome o, *os[] = {&o};

	ecu_start(script_busy_once);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, read_did, sizeof(read_did), &o);
	run_until(os, 1, 5000);
	ecu_join();
	assert_true(o.done);
	assert_int_equal(o.r.outcome, UDS_BROKER_RESPONSE);
	assert_int_equal(o.r.busy, 1);
	assert_int_equal(o.resp[0], 0x62);
	assert_true(o.r.elapsed_us >= 90 * 1000); /* the resend waited the back-off */
	print_message("0x21 then positive: %.1f ms\n", (double)o.r.elapsed_us / 1000);
}

static void script_busy_forever(void)
{
	static const uint8_t busy[] = {0x7f, 0x22, 0x21};
	uint8_t req[64];

	while (!atomic_load(&ecu_stop))
		if (ecu_recv(bcm_fd, req, sizeof(req), 100) == 3)
			ecu_send(bcm_fd, busy, sizeof(busy));
}

static void busy_forever(void **state)
{
	struct outcome o, *os[] = {&o};

	ecu_start(script_busy_forever);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, read_did, sizeof(read_did), &o);
	run_until(os, 1, 5000);
	ecu_join();
	assert_true(o.done);
	assert_string_equal(uds_broker_outcome_name(o.r.outcome), "busy_limit");
	assert_int_equal(o.r.busy, 4); /* the first answer and three resends */
	print_message("0x21 forever: busy_limit after %.1f ms\n", (double)o.r.elapsed_us / 1000);
}

static void script_silent(void)
{
	uint8_t req[64];

	while (!atomic_load(&ecu_stop))
		ecu_recv(bcm_fd, req, sizeof(req), 50);
}

static void silence_times_out(void **state)
{
	struct outcome o, *os[] = {&o};
	struct uds_broker_stats st;

	ecu_start(script_silent);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, read_did, sizeof(read_did), &o);
	run_until(os, 1, 3000);
	ecu_join();
	assert_true(o.done);
	assert_string_equal(uds_broker_outcome_name(o.r.outcome), "timeout");
	assert_int_equal(o.r.p2_ms, 50);
	assert_true(o.r.elapsed_us >= 45 * 1000);
	assert_true(o.r.elapsed_us < 400 * 1000);
	assert_int_equal(uds_broker_ecu_stats(broker, 0, &st), 0);
	assert_true(st.timeouts >= 1);
	print_message("silence: timeout after %.1f ms (P2 50 ms)\n", (double)o.r.elapsed_us / 1000);
}

/* 0x10 0x03 answered with P2 65535 ms and P2* 655350 ms: the caps (200 / 1000 ms) apply;
 * then tester present keeps the session while idle, and stops after 0x10 0x01. */
static void script_session(void)
{
	static const uint8_t ext[] = {0x50, 0x03, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t def[] = {0x50, 0x01, 0x00, 0x32, 0x01, 0xf4};
	uint8_t req[64];
	int n;

	while (!atomic_load(&ecu_stop)) {
		n = ecu_recv(bcm_fd, req, sizeof(req), 50);
		if (n == 2 && req[0] == 0x10)
			ecu_send(bcm_fd, req[1] == 0x03 ? ext : def, sizeof(ext));
		else if (n == 2 && req[0] == 0x3e && req[1] == 0x80)
			atomic_fetch_add(&ecu_seen_tp, 1);
		/* anything else: silence */
	}
}

static void session_timing_and_tester_present(void **state)
{
	static const uint8_t extended[] = {0x10, 0x03}, defsession[] = {0x10, 0x01};
	struct outcome o, *os[] = {&o};
	struct uds_broker_stats st;
	int tp;

	ecu_start(script_session);
	run_for(1200);
	assert_int_equal(atomic_load(&ecu_seen_tp), 0); /* default session: no tester present */

	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, extended, sizeof(extended), &o);
	run_until(os, 1, 3000);
	assert_int_equal(o.r.outcome, UDS_BROKER_RESPONSE);
	assert_int_equal(uds_broker_ecu_stats(broker, 0, &st), 0);
	assert_int_equal(st.session, 3);
	assert_int_equal(st.p2_ms, 200);
	assert_int_equal(st.p2star_ms, 1000);

	/* Silence now times out at the P2 cap, not at the server's 65 s. */
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, read_did, sizeof(read_did), &o);
	run_until(os, 1, 3000);
	assert_int_equal(o.r.outcome, UDS_BROKER_TIMEOUT);
	assert_true(o.r.elapsed_us >= 190 * 1000 && o.r.elapsed_us < 700 * 1000);
	print_message("server P2 65535 ms capped: timeout after %.1f ms\n",
		      (double)o.r.elapsed_us / 1000);

	run_for(1300); /* S3 1000 ms: tester present every 500 ms */
	tp = atomic_load(&ecu_seen_tp);
	assert_true(tp >= 1);

	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, defsession, sizeof(defsession), &o);
	run_until(os, 1, 3000);
	assert_int_equal(o.r.outcome, UDS_BROKER_RESPONSE);
	assert_int_equal(uds_broker_ecu_stats(broker, 0, &st), 0);
	assert_int_equal(st.session, 1);
	assert_int_equal(st.p2_ms, 50 + 10);
	tp = atomic_load(&ecu_seen_tp);
	run_for(1200);
	ecu_join();
	assert_int_equal(atomic_load(&ecu_seen_tp), tp); /* stopped with the default session */
	print_message("tester present: %d in the extended session, 0 after 0x10 0x01\n", tp);
}

static void script_priority(void)
{
	uint8_t req[64];
	static const uint8_t pos[] = {0x62, 0xd1, 0x03, 0x01};
	static const uint8_t pos_vin[] = {0x62, 0xf1, 0x90, 0x41};

	/* Answers three requests in arrival order, each after 20 ms: long enough for the
	 * other two to queue up, well inside P2 (50 ms) even on a loaded emulated machine. */
	for (int i = 0; i < 3 && !atomic_load(&ecu_stop); i++) {
		if (ecu_recv(bcm_fd, req, sizeof(req), 3000) != 3)
			return;
		usleep(20 * 1000);
		ecu_send(bcm_fd, req[2] == 0x90 ? pos_vin : pos, 4);
	}
}

static void interactive_before_background(void **state)
{
	struct outcome a, bg, ia, *os[] = {&a, &bg, &ia};

	ecu_start(script_priority);
	submit(0, UDS_BROKER_PRIORITY_BACKGROUND, read_did, sizeof(read_did), &a);
	run_for(5); /* a is on the wire now */
	submit(0, UDS_BROKER_PRIORITY_BACKGROUND, read_did, sizeof(read_did), &bg);
	submit(0, UDS_BROKER_PRIORITY_INTERACTIVE, read_vin, sizeof(read_vin), &ia);
	run_until(os, 3, 5000);
	ecu_join();
	assert_true(a.done && bg.done && ia.done);
	assert_int_equal(ia.r.outcome, UDS_BROKER_RESPONSE);
	assert_int_equal(bg.r.outcome, UDS_BROKER_RESPONSE);
	assert_true(ia.t_done < bg.t_done);
}

static void script_functional(void)
{
	static const uint8_t pos[] = {0x41, 0x00, 0xbe, 0x1f, 0xa8, 0x13};
	uint8_t req[64];

	if (ecu_recv(func_fd, req, sizeof(req), 3000) != 2 || req[0] != 0x01)
		return;
	ecu_send(eng_fd, pos, sizeof(pos));
}

static struct {
	bool done;
	size_t n;
	size_t ecu;
	size_t len;
	uint8_t resp[8];
} fres;

static void on_functional(void *userdata, const struct uds_broker_functional_answer *a, size_t n)
{
	fres.done = true;
	fres.n = n;
	if (n >= 1) {
		fres.ecu = a[0].ecu;
		fres.len = a[0].resp ? a[0].resp_len : 0;
		if (a[0].resp && a[0].resp_len <= sizeof(fres.resp))
			memcpy(fres.resp, a[0].resp, a[0].resp_len);
	}
}

static void functional_obd(void **state)
{
	static const uint8_t pids[] = {0x01, 0x00};
	int64_t end;

	ecu_start(script_functional);
	assert_int_equal(uds_broker_functional(broker, pids, sizeof(pids), on_functional, NULL), 0);
	for (end = itd_mono_us() + 3000000; !fres.done && itd_mono_us() < end;) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(500);
	}
	ecu_join();
	assert_true(fres.done);
	assert_int_equal(fres.n, 1);
	assert_int_equal(fres.ecu, 1);
	assert_int_equal(fres.len, 6);
	assert_int_equal(fres.resp[0], 0x41);
}

/* Every module of the daemon as main.c starts them (core_new), nobody asking anything:
 * can1 sees nothing. */
static void listen_only_by_default(void **state)
{
	static const char profile_text[] = "format = 1\n[vehicle]\nmake = test\nplatform = t1\n"
					   "[ecu bcm]\nrequest = 0x726\nresponse = 0x72E\n"
					   "padding = 0xAA\n[dtc bcm B1A40-13]\ntext = open\nsource = test\n"
					   "[ecu eng]\nrequest = 0x7E0\nresponse = 0x7E8\n"
					   "functional = 0x7DF\n";
	struct api_limits limits;
	struct api_groups groups = {0};
	struct core c = {.loop = loop};
	struct profile *p = NULL;
	struct profile_error perr;
	struct vehicle *v;
	struct bd_timed_frame f;
	int cap, frames = 0;
	int64_t t0, t1;

	assert_int_equal(can_raw_open(ITEST_CAN1, NULL, 0, 0, &cap), 0);
	while (can_raw_recv(cap, &f, NULL, NULL) == 1)
		; /* leftovers of earlier scenarios */

	config_init_defaults(&c.cfg);
	snprintf(c.cfg.can.interface, sizeof(c.cfg.can.interface), "%s", ITEST_CAN0);
	c.cfg.history.path[0] = '\0';
	c.cfg.metrics.textfile[0] = '\0';
	clock_ev_init(&c.clock, loop);
	api_limits_default(&limits);
	assert_int_equal(api_server_new(loop, &limits, &groups, &c.api), 0);
	assert_int_equal(profile_parse(profile_text, sizeof(profile_text) - 1, "t.profile", &p, &perr), 0);
	assert_int_equal(vehicle_new(NULL, p, NULL, &v), 0);
	assert_int_equal(core_new(&c, v), 0);
	vehicle_unref(v);

	t0 = itd_mono_us();
	while (itd_mono_us() - t0 < 2000000) {
		ev_run(loop, EVRUN_NOWAIT);
		while (can_raw_recv(cap, &f, NULL, NULL) == 1)
			frames++;
		usleep(2000);
	}
	t1 = itd_mono_us();
	core_free(&c);
	api_server_free(c.api);
	while (can_raw_recv(cap, &f, NULL, NULL) == 1)
		frames++;
	close(cap);
	print_message("listen-only: %d frames on %s in %.2f s\n", frames, ITEST_CAN1,
		      (double)(t1 - t0) / 1e6);
	assert_int_equal(frames, 0);
}

/* ---- the daemon binary with the simulator ---- */

#define DMN_SOCK "/tmp/bd-broker-api.sock"
#define DMN_CONF "/tmp/bd-broker.conf"
#define DMN_LOG "/tmp/bd-broker-daemon.log"
#define SIM_SOCK "/tmp/bd-broker-sim.sock"
#define SIM_LOG "/tmp/bd-broker-sim.log"

static pid_t daemon_pid = -1, sim_pid = -1;
static int sim_ctl = -1;
static struct itd_client api = {.fd = -1};

static json_t *api_call(const char *method, json_t *params)
{
	return itd_call_or_fail(&api, method, params, 15000);
}

static void sim_cmd(const char *cmd)
{
	itd_sim_cmd(sim_ctl, cmd);
}

/* Runs the bodydiag CLI against the daemon; its stdout into out. Returns the exit status. */
static int cli(char *out, size_t cap, const char *const *args)
{
	char bin[1024];
	const char *argv[16] = {bin};
	size_t n = 1, len = 0;
	int pipefd[2], st = 0;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/tools/bodydiag/bodydiag", getenv("BODYDIAG_BUILD_ROOT"));
	for (; *args && n < 13; args++)
		argv[n++] = *args;
	argv[n++] = "--socket";
	argv[n++] = DMN_SOCK;
	argv[n] = NULL;
	assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dup2(pipefd[1], 1) < 0)
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(pipefd[1]);
	for (;;) {
		ssize_t r = read(pipefd[0], out + len, cap - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	out[len] = '\0';
	close(pipefd[0]);
	waitpid(pid, &st, 0);
	print_message("# bodydiag %s %s: exit %d\n%s", argv[1], argv[2] ? argv[2] : "",
		      WIFEXITED(st) ? WEXITSTATUS(st) : -1, out);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void daemon_listen_only_then_simulator(void **state)
{
	struct bd_timed_frame f;
	json_t *r, *res, *d, *ev;
	int cap, frames = 0, events = 0, saw_request = 0, bus_events = 0;
	int64_t t0, t1;
	size_t i;

	itd_write_conf_level(DMN_CONF, DMN_SOCK, "debug", NULL, NULL, NULL);

	/* 1. Listen-only, as a process: the daemon up, nobody asking, can1 hears nothing. */
	assert_int_equal(can_raw_open(ITEST_CAN1, NULL, 0, 0, &cap), 0);
	api.fd = itd_start_daemon(DMN_CONF, DMN_SOCK, DMN_LOG, &daemon_pid);
	while (can_raw_recv(cap, &f, NULL, NULL) == 1)
		frames++;
	t0 = itd_mono_us();
	while (itd_mono_us() - t0 < 2000000) {
		if (itest_wait_readable(cap, 100))
			while (can_raw_recv(cap, &f, NULL, NULL) == 1)
				frames++;
	}
	t1 = itd_mono_us();
	close(cap);
	print_message("bodydiagd listen-only: %d frames on %s over %.2f s (start-up included)\n",
		      frames, ITEST_CAN1, (double)(t1 - t0) / 1e6);
	assert_int_equal(frames, 0);

	/* 2. The simulator with an open wire in the release circuit. */
	sim_pid = itd_start_sim("hinge_wiring_open", SIM_SOCK, SIM_LOG);
	sim_ctl = itd_connect(SIM_SOCK);
	assert_true(sim_ctl >= 0);
	usleep(500000); /* the off-state open-load check fails 3 x 100 ms in a row */
	sim_cmd("press fob_trunk");
	usleep(1200000);

	/* Failed DTCs (testFailed|testFailedThisOperationCycle|pending|confirmed|since
	 * last clear), as test-sim-live reads them: exactly the one this fault sets. */
	r = api_call("dtc.read", json_pack("{s:s,s:s}", "ecu", "bcm", "mask", "0x2f"));
	res = json_object_get(r, "result");
	if (!res) {
		itd_print_json("dtc.read", r);
		fail();
	}
	assert_int_equal(json_array_size(json_object_get(res, "dtcs")), 1);
	d = json_array_get(json_object_get(res, "dtcs"), 0);
	assert_string_equal(json_string_value(json_object_get(d, "code")), "B1A40-13");
	assert_string_equal(json_string_value(json_object_get(d, "text")),
			    "Trunk release output circuit open");
	assert_int_equal(strtoul(json_string_value(json_object_get(d, "status")), NULL, 16) & 0x24,
			 0x24);
	assert_true(json_is_array(json_object_get(d, "flags")));
	itd_print_json("dtc.read", d);
	json_decref(r);

	r = api_call("did.read", json_pack("{s:s}", "did", "TrunkOutputCircuitStatus"));
	res = json_object_get(r, "result");
	assert_non_null(res);
	d = json_array_get(json_object_get(res, "values"), 0);
	assert_int_equal(json_integer_value(json_object_get(d, "value")), 2);
	assert_string_equal(json_string_value(json_object_get(d, "label")), "open");
	json_decref(r);
	r = api_call("did.read", json_pack("{s:s}", "did", "TrunkFuseVoltage"));
	res = json_object_get(r, "result");
	assert_non_null(res);
	d = json_array_get(json_object_get(res, "values"), 0);
	assert_true(json_is_real(json_object_get(d, "value")));
	assert_true(json_real_value(json_object_get(d, "value")) > 10.0);
	assert_string_equal(json_string_value(json_object_get(d, "unit")), "V");
	itd_print_json("did.read", res);
	json_decref(r);
	r = api_call("did.read", json_pack("{s:i}", "did", 0x1234)); /* not supported: NRC as data */
	res = json_object_get(r, "result");
	assert_non_null(res);
	assert_int_equal(json_integer_value(json_object_get(res, "nrc_code")), 0x31);
	json_decref(r);

	/* 3. Live: the fob press shows up as changes of the release request. */
	r = api_call("live.subscribe", json_pack("{s:[s,s]}", "signals", "TrunkReleaseRequest",
						  "TrunkActuatorCmd"));
	assert_non_null(json_object_get(r, "result"));
	json_decref(r);
	sim_cmd("press fob_trunk");
	t0 = itd_mono_us();
	while (itd_mono_us() - t0 < 3000000 && (ev = itd_read(&api, 500))) {
		json_t *data = json_object_get(ev, "data");
		if (json_is_string(json_object_get(ev, "event")) && data) {
			events++;
			if (!strcmp(json_string_value(json_object_get(data, "signal")),
				    "TrunkReleaseRequest") &&
			    json_integer_value(json_object_get(data, "value")) == 1)
				saw_request++;
		}
		json_decref(ev);
	}
	print_message("live: %d change events, release request = fob seen %d time(s)\n", events,
		      saw_request);
	assert_true(saw_request >= 1);

	/* Link down and up under the subscription: an outage, then the changes resume. */
	assert_int_equal(can_link_stop(ITEST_CAN0), 0);
	usleep(500000);
	assert_int_equal(can_link_start(ITEST_CAN0), 0);
	usleep(1000000);
	sim_cmd("press fob_trunk");
	saw_request = 0;
	t0 = itd_mono_us();
	while (itd_mono_us() - t0 < 3000000 && (ev = itd_read(&api, 500))) {
		json_t *data = json_object_get(ev, "data");
		/* the subscriber was told of the outage and of the return */
		if (!strcmp(json_string_value(json_object_get(ev, "event")) ?: "", "live_bus"))
			bus_events |= json_is_true(json_object_get(data, "attached")) ? 2 : 1;
		if (data && json_is_string(json_object_get(data, "signal")) &&
		    !strcmp(json_string_value(json_object_get(data, "signal")),
			    "TrunkReleaseRequest") &&
		    json_integer_value(json_object_get(data, "value")) == 1)
			saw_request++;
		json_decref(ev);
	}
	print_message("after link down/up: release request = fob seen %d time(s), live_bus "
		      "events %s%s\n", saw_request, bus_events & 1 ? "detached " : "",
		      bus_events & 2 ? "attached" : "");
	assert_true(saw_request >= 1);
	assert_int_equal(bus_events, 3);

	/* 4. The CLI against the same daemon, then clearing as root (admin), then status. */
	close(api.fd);
	api.len = 0;
	{
		static char out[16384];
		const char *dtc[] = {"dtc", "--ecu", "bcm", "--mask", "0x2f", NULL};
		const char *did[] = {"did", "TrunkOutputCircuitStatus", "TrunkFuseVoltage", NULL};
		const char *nrc[] = {"did", "--ecu", "bcm", "0x1234", NULL};

		assert_int_equal(cli(out, sizeof(out), dtc), 0);
		assert_non_null(strstr(out, "B1A40-13"));
		assert_non_null(strstr(out, "Trunk release output circuit open"));
		assert_int_equal(cli(out, sizeof(out), did), 0);
		assert_non_null(strstr(out, "TrunkOutputCircuitStatus = 2 (open)"));
		assert_non_null(strstr(out, "TrunkFuseVoltage = 12"));
		assert_int_equal(cli(out, sizeof(out), nrc), 5); /* negative response */
	}
	api.fd = itd_connect_wait(DMN_SOCK, daemon_pid, DMN_LOG);
	r = api_call("dtc.clear", json_pack("{s:s}", "ecu", "bcm"));
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "cleared")));
	json_decref(r);
	r = api_call("ecus", NULL);
	res = json_array_get(json_object_get(json_object_get(r, "result"), "ecus"), 0);
	itd_print_json("ecus[0]", res);
	assert_true(json_integer_value(json_object_get(res, "responses")) >= 5);
	json_decref(r);
	for (i = 0; i < 1; i++) {
		r = api_call("status", NULL);
		res = json_object_get(r, "result");
		assert_true(json_is_true(json_object_get(res, "attached")));
		assert_true(json_integer_value(json_object_get(res, "outages")) >= 1);
		itd_print_json("status", res);
		assert_true(json_integer_value(json_object_get(res, "frames")) > 100);
		json_decref(r);
	}

	close(api.fd);
	api.fd = -1;
	close(sim_ctl);
	sim_ctl = -1;
	itd_stop(&sim_pid, SIM_LOG);
	/* A clean exit under ASan: no leak after UDS traffic, a subscription, a reconnect. */
	assert_int_equal(itd_stop(&daemon_pid, DMN_LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(listen_only_by_default),
		cmocka_unit_test(positive_multiframe),
		cmocka_unit_test(pending_then_positive),
		cmocka_unit_test(endless_pending_other_served),
		cmocka_unit_test(busy_then_positive),
		cmocka_unit_test(busy_forever),
		cmocka_unit_test(silence_times_out),
		cmocka_unit_test(interactive_before_background),
		cmocka_unit_test(functional_obd),
		cmocka_unit_test(session_timing_and_tester_present),
	};
	/* After the scripted ECUs' sockets are gone: they would answer the daemon too. */
	const struct CMUnitTest daemon_tests[] = {
		cmocka_unit_test(daemon_listen_only_then_simulator),
	};
	int r = cmocka_run_group_tests(tests, setup, teardown);

	return r | cmocka_run_group_tests(daemon_tests, NULL, NULL);
}
