/* SPDX-License-Identifier: MIT */
/*
 * The UDS broker's pure parts (token bucket, server timing within the caps, latency
 * statistics, outcome and transport names) and its behaviour without a CAN interface:
 * argument errors, a full queue, cancellation, and a named link_down outcome delivered
 * from the loop, never inside submit. The real transport is tested in the VM bench
 * (tests/integration/test-broker.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <ev.h>
#include <string.h>
#include <time.h>

#include "daemon/uds_broker.h"

static void bucket(void **state)
{
	struct uds_broker_bucket b;

	uds_broker_bucket_init(&b, 2.0, 2.0, 0);
	assert_int_equal(uds_broker_bucket_take(&b, 0), 0);
	assert_int_equal(uds_broker_bucket_take(&b, 0), 0);
	/* empty: the next token comes in 1/2 s */
	assert_int_equal(uds_broker_bucket_take(&b, 0), 500000);
	assert_int_equal(uds_broker_bucket_take(&b, 250000), 250000);
	assert_int_equal(uds_broker_bucket_take(&b, 500000), 0);
	/* never more than the burst, however long idle */
	assert_int_equal(uds_broker_bucket_take(&b, 100000000), 0);
	assert_int_equal(uds_broker_bucket_take(&b, 100000000), 0);
	assert_true(uds_broker_bucket_take(&b, 100000000) > 0);
	/* time going backwards adds nothing */
	assert_true(uds_broker_bucket_take(&b, 0) > 0);

	uds_broker_bucket_init(&b, 0, 0, 0); /* unlimited */
	for (int i = 0; i < 1000; i++)
		assert_int_equal(uds_broker_bucket_take(&b, 0), 0);
	uds_broker_bucket_init(&b, -1, 0, 0); /* nonsense = unlimited */
	assert_int_equal(uds_broker_bucket_take(&b, 0), 0);
	uds_broker_bucket_init(&b, 0.5, 0, 0); /* burst defaults to 1 */
	assert_int_equal(uds_broker_bucket_take(&b, 0), 0);
	assert_int_equal(uds_broker_bucket_take(&b, 0), 2000000);
}

static void timing_caps(void **state)
{
	struct uds_broker_config c;
	struct uds_session_response s = {.has_timing = true};
	uint32_t p2 = 50, p2star = 5000;

	uds_broker_config_init(&c);
	assert_int_equal(c.p2_cap_ms, 1000);
	assert_int_equal(c.p2star_cap_ms, 10000);

	s.p2_us = 25000;
	s.p2star_us = 2000000;
	uds_broker_timing_from_session(&c, &s, &p2, &p2star);
	assert_int_equal(p2, 25 + c.margin_ms);
	assert_int_equal(p2star, 2000 + c.margin_ms);

	s.p2_us = 65535000; /* the largest a server can announce */
	s.p2star_us = 655350000;
	uds_broker_timing_from_session(&c, &s, &p2, &p2star);
	assert_int_equal(p2, 1000);
	assert_int_equal(p2star, 10000);

	s.has_timing = false; /* no record: unchanged */
	p2 = 77;
	p2star = 88;
	uds_broker_timing_from_session(&c, &s, &p2, &p2star);
	assert_int_equal(p2, 77);
	assert_int_equal(p2star, 88);

	c.p2_cap_ms = c.p2star_cap_ms = 0; /* 0 = no cap */
	s.has_timing = true;
	uds_broker_timing_from_session(&c, &s, &p2, &p2star);
	assert_int_equal(p2, 65535 + c.margin_ms);
}

static void stats(void **state)
{
	struct uds_broker_stats s = {0};

	assert_true(uds_broker_stats_mean_ms(&s) == 0.0);
	uds_broker_stats_add_latency(&s, 3000);
	uds_broker_stats_add_latency(&s, 1000);
	uds_broker_stats_add_latency(&s, 5000);
	assert_int_equal(s.latency_n, 3);
	assert_int_equal(s.latency_min_us, 1000);
	assert_int_equal(s.latency_max_us, 5000);
	assert_int_equal(s.latency_last_us, 5000);
	assert_true(uds_broker_stats_mean_ms(&s) > 2.999 && uds_broker_stats_mean_ms(&s) < 3.001);
}

static void names(void **state)
{
	static const struct {
		int err;
		const char *name;
	} t[] = {
		{-ETIMEDOUT, "isotp_timeout"},	   {-ECOMM, "isotp_no_flow_control"},
		{-EILSEQ, "isotp_wrong_sequence"}, {-EBADMSG, "isotp_malformed"},
		{-EMSGSIZE, "isotp_overflow"},	   {-EOVERFLOW, "isotp_wait_limit"},
		{-ENETDOWN, "link_down"},	   {-ENODEV, "link_down"},
		{-ENOBUFS, "tx_queue_full"},	   {-EPERM, "not_permitted"},
		{-EIO, "transport_error"},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_string_equal(uds_broker_transport_name(t[i].err), t[i].name);
	for (int o = 0; o < UDS_BROKER_OUTCOME_MAX; o++)
		assert_non_null(uds_broker_outcome_name((enum uds_broker_outcome)o));
	assert_null(uds_broker_outcome_name(UDS_BROKER_OUTCOME_MAX));
	assert_string_equal(uds_broker_outcome_name(UDS_BROKER_TOO_MANY_PENDING),
			    "response_pending_limit");
}

struct done {
	int calls;
	struct uds_broker_result r;
};

static void on_done(void *userdata, const struct uds_broker_result *r)
{
	struct done *d = userdata;

	d->calls++;
	d->r = *r;
}

static const struct uds_broker_ecu_config ecus[] = {
	{.name = "bcm", .addr = {.tx_id = 0x726, .rx_id = 0x72e, .padding = 0xaa}},
	{.name = "obd", .addr = {.tx_id = 0x7e0, .rx_id = 0x7e8, .padding = -1, .functional_id = 0x7df}},
};

static void config_errors(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct uds_broker_ecu_config dup[] = {ecus[0], ecus[0]};
	struct uds_broker_ecu_config noname[] = {{.name = ""}};
	struct uds_broker_config c;
	struct uds_broker *b = NULL;

	uds_broker_config_init(&c);
	assert_int_equal(uds_broker_new(loop, &c, dup, 2, &b), -EINVAL);
	assert_int_equal(uds_broker_new(loop, &c, noname, 1, &b), -EINVAL);
	c.ifname = "";
	assert_int_equal(uds_broker_new(loop, &c, ecus, 2, &b), -EINVAL);
	c.ifname = "a-very-long-interface-name-beyond-ifnamsiz";
	assert_int_equal(uds_broker_new(loop, &c, ecus, 2, &b), -EINVAL);
	assert_null(b);
	c.ifname = "bdnone0";
	assert_int_equal(uds_broker_new(loop, &c, NULL, 0, &b), 0); /* no profile: no ECUs */
	assert_int_equal(uds_broker_ecu_count(b), 0);
	assert_int_equal(uds_broker_functional(b, (const uint8_t[]){1, 0}, 2, NULL, NULL), -ENOENT);
	uds_broker_free(b);
	ev_loop_destroy(loop);
}

static void without_interface(void **state)
{
	static const uint8_t req[] = {0x22, 0xf1, 0x90};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct uds_broker_config c;
	struct uds_broker *b;
	struct uds_broker_request *h = NULL;
	struct uds_broker_stats st;
	struct done d1 = {0}, d2 = {0}, d3 = {0};

	uds_broker_config_init(&c);
	c.ifname = "bdnone0";
	c.max_queue = 2;
	assert_int_equal(uds_broker_new(loop, &c, ecus, 2, &b), 0);
	assert_int_equal(uds_broker_ecu_find(b, "obd"), 1);
	assert_int_equal(uds_broker_ecu_find(b, "nope"), -ENOENT);
	assert_string_equal(uds_broker_ecu_name(b, 0), "bcm");
	assert_null(uds_broker_ecu_name(b, 2));
	assert_int_equal(uds_broker_ecu_stats(b, 2, &st), -ENOENT);

	assert_int_equal(uds_broker_submit(b, 5, UDS_BROKER_PRIORITY_INTERACTIVE, req, 3, on_done,
					   &d1, NULL),
			 -ENOENT);
	assert_int_equal(uds_broker_submit(b, 0, UDS_BROKER_PRIORITY_INTERACTIVE, req, 0, on_done,
					   &d1, NULL),
			 -EINVAL);
	assert_int_equal(uds_broker_submit(b, 0, UDS_BROKER_PRIORITY_MAX, req, 3, on_done, &d1, NULL),
			 -EINVAL);

	assert_int_equal(uds_broker_submit(b, 0, UDS_BROKER_PRIORITY_BACKGROUND, req, 3, on_done,
					   &d1, &h),
			 0);
	assert_int_equal(uds_broker_submit(b, 0, UDS_BROKER_PRIORITY_INTERACTIVE, req, 3, on_done,
					   &d2, NULL),
			 0);
	assert_int_equal(uds_broker_submit(b, 0, UDS_BROKER_PRIORITY_INTERACTIVE, req, 3, on_done,
					   &d3, NULL),
			 -ENOBUFS); /* max_queue 2 */
	assert_int_equal(uds_broker_ecu_stats(b, 0, &st), 0);
	assert_int_equal(st.queued, 2);
	assert_false(st.open); /* nothing opened before the loop runs: listen-only until asked */
	assert_int_equal(d1.calls + d2.calls, 0); /* never inside submit */

	uds_broker_request_cancel(h); /* queued: dropped, no callback */
	ev_run(loop, EVRUN_NOWAIT);
	assert_int_equal(d1.calls, 0);
	assert_int_equal(d2.calls, 1);
	assert_int_equal(d2.r.outcome, UDS_BROKER_TRANSPORT_ERROR);
	assert_string_equal(uds_broker_transport_name(d2.r.transport_errno), "link_down");
	assert_int_equal(uds_broker_ecu_stats(b, 0, &st), 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.transport_errors, 1);
	assert_int_equal(st.session, 1);
	assert_int_equal(st.p2_ms, 50);
	assert_int_equal(st.p2star_ms, 5000);

	/* A request still queued when the broker goes is completed as cancelled. */
	assert_int_equal(uds_broker_submit(b, 1, UDS_BROKER_PRIORITY_INTERACTIVE, req, 3, on_done,
					   &d3, NULL),
			 0);
	uds_broker_free(b);
	assert_int_equal(d3.calls, 1);
	assert_int_equal(d3.r.outcome, UDS_BROKER_CANCELLED);
	ev_loop_destroy(loop);
}

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* 5 requests/s, burst 1: four requests start at 0, 200, 400, 600 ms (they end at once in
 * link_down here, which is what makes the start times visible). */
static void rate_limit(void **state)
{
	static const uint8_t req[] = {0x22, 0xf1, 0x90};
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct uds_broker_config c;
	struct uds_broker *b;
	struct done d[4] = {0};
	int64_t t0, elapsed;

	uds_broker_config_init(&c);
	c.ifname = "bdnone0";
	c.rate_limit = 5;
	c.rate_burst = 1;
	assert_int_equal(uds_broker_new(loop, &c, ecus, 2, &b), 0);
	t0 = mono_us();
	for (int i = 0; i < 4; i++)
		assert_int_equal(uds_broker_submit(b, (size_t)(i % 2), UDS_BROKER_PRIORITY_INTERACTIVE,
						   req, 3, on_done, &d[i], NULL),
				 0);
	while (d[3].calls == 0 && mono_us() - t0 < 3000000)
		ev_run(loop, EVRUN_ONCE);
	elapsed = mono_us() - t0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(d[i].calls, 1);
	assert_true(elapsed >= 550000);
	assert_true(elapsed < 1500000);
	uds_broker_free(b);
	ev_loop_destroy(loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bucket),	 cmocka_unit_test(timing_caps),
		cmocka_unit_test(stats),	 cmocka_unit_test(names),
		cmocka_unit_test(config_errors), cmocka_unit_test(without_interface),
		cmocka_unit_test(rate_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
