/* SPDX-License-Identifier: MIT */
/* lib/bitrate_detect on a modelled bus: a controller at the wrong bitrate sees error
 * frames (what a real SJA1000 in listen-only mode with bus-error reporting reports on stuff
 * and form errors), at the right one the bus's frames. Time is simulated. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bodydiag/bitrate_detect.h"

/* The modelled bus: traffic at bus_rate every period_us (0 = asleep), ids cycling. */
struct bus {
	uint32_t bus_rate;
	int64_t period_us;
	uint32_t refuse; /* a bitrate the controller refuses, 0 none */
	unsigned sets;	 /* SET steps carried out */
	uint32_t order[16];
};

/* Runs the detector against the bus until DONE; returns the end time. */
static int64_t run(struct bitrate_detect *d, struct bus *b, int64_t t)
{
	struct bitrate_detect_step st;
	uint32_t current = 0;
	unsigned k = 0;

	for (int guard = 0; guard < 100000; guard++) {
		bitrate_detect_next(d, t, &st);
		switch (st.action) {
		case BITRATE_DETECT_DONE:
			return t;
		case BITRATE_DETECT_SET:
			if (b->sets < 16)
				b->order[b->sets] = st.bitrate;
			b->sets++;
			t += 20000; /* a link down/up takes time */
			if (st.bitrate == b->refuse) {
				bitrate_detect_set_failed(d, -EINVAL, t);
				break;
			}
			current = st.bitrate;
			bitrate_detect_applied(d, current, t);
			break;
		case BITRATE_DETECT_LISTEN: {
			int64_t next = b->period_us ? t + b->period_us : st.until_us;
			if (next > st.until_us)
				next = st.until_us;
			t = next;
			if (b->period_us && t < st.until_us) {
				struct bd_frame f = {.id = 0x100 + (k++ % 5), .len = 8};
				if (current != b->bus_rate) {
					/* sampled at the wrong rate: a bus error, stuff error */
					f = (struct bd_frame){.id = BD_FRAME_ERR_PROT |
								    BD_FRAME_ERR_BUSERROR,
							      .flags = BD_FRAME_ERR,
							      .len = 8};
					f.data[2] = 0x04;
				}
				bitrate_detect_on_frame(d, &f, t);
			}
			break;
		}
		case BITRATE_DETECT_ACTION_MAX:
			fail();
		}
	}
	fail_msg("detector did not finish");
	return t;
}

static struct bitrate_detect *make(const struct bitrate_detect_config *c, int64_t t)
{
	struct bitrate_detect *d = NULL;
	assert_int_equal(bitrate_detect_new(c, t, &d), 0);
	return d;
}

static void finds_each_rate(void **state)
{
	static const uint32_t rates[] = {125000, 250000, 500000, 1000000, 83333, 33333};
	struct bitrate_detect_config c;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		struct bus b = {.bus_rate = rates[i], .period_us = 10000};
		uint32_t found = 0;
		bitrate_detect_config_init(&c);
		struct bitrate_detect *d = make(&c, 0);
		int64_t end = run(d, &b, 0);
		assert_int_equal(bitrate_detect_outcome(d, &found), BITRATE_DETECT_FOUND);
		assert_int_equal(found, rates[i]);
		/* every bitrate before it was condemned by its first error frame, fast */
		for (size_t k = 0; k < bitrate_detect_result_count(d); k++) {
			const struct bitrate_detect_result *r = bitrate_detect_result_at(d, k);
			if (r->bitrate == rates[i]) {
				assert_int_equal(r->verdict, BITRATE_DETECT_MATCH);
				assert_int_equal(r->frames, 4);
				assert_int_equal(r->error_frames, 0);
				assert_int_equal(r->ids, 4);
				assert_int_equal(r->applied, rates[i]);
				break;
			}
			assert_int_equal(r->verdict, BITRATE_DETECT_ERRORS);
			assert_int_equal(r->error_frames, 1);
			assert_int_equal(r->frames, 0);
			assert_true(r->error_classes & BD_FRAME_ERR_PROT);
		}
		assert_true(end < 1000000);
		bitrate_detect_free(d);
	}
}

static void profile_rate_first_and_order(void **state)
{
	struct bitrate_detect_config c;
	struct bus b = {.bus_rate = 125000, .period_us = 10000};
	uint32_t found;

	bitrate_detect_config_init(&c);
	c.first = 125000; /* the profile's: tried first, not twice */
	struct bitrate_detect *d = make(&c, 0);
	run(d, &b, 0);
	assert_int_equal(bitrate_detect_outcome(d, &found), BITRATE_DETECT_FOUND);
	assert_int_equal(b.sets, 1);
	assert_int_equal(b.order[0], 125000);
	assert_int_equal(bitrate_detect_result_count(d), 6);
	assert_int_equal(bitrate_detect_result_at(d, 1)->bitrate, 500000);
	assert_int_equal(bitrate_detect_result_at(d, 1)->verdict, BITRATE_DETECT_NOT_TRIED);
	assert_null(bitrate_detect_result_at(d, 6));
	bitrate_detect_free(d);

	/* the default order */
	b = (struct bus){.bus_rate = 1000000, .period_us = 10000};
	bitrate_detect_config_init(&c);
	d = make(&c, 0);
	run(d, &b, 0);
	const uint32_t want[] = {500000, 250000, 125000, 83333, 33333, 1000000};
	assert_int_equal(b.sets, 6);
	assert_memory_equal(b.order, want, sizeof(want));
	bitrate_detect_free(d);
}

static void silent_bus(void **state)
{
	struct bitrate_detect_config c;
	struct bus b = {.bus_rate = 500000, .period_us = 0};

	bitrate_detect_config_init(&c);
	c.dwell_us = 1000000;
	struct bitrate_detect *d = make(&c, 5000000);
	int64_t end = run(d, &b, 5000000);
	assert_int_equal(bitrate_detect_outcome(d, NULL), BITRATE_DETECT_NO_TRAFFIC);
	assert_int_equal(b.sets, 6);
	for (size_t k = 0; k < 6; k++) {
		const struct bitrate_detect_result *r = bitrate_detect_result_at(d, k);
		assert_int_equal(r->verdict, BITRATE_DETECT_SILENT);
		assert_int_equal(r->listened_us, 1000000);
	}
	/* 6 x (20 ms switch + 1 s dwell) */
	assert_int_equal(end - 5000000, 6 * 1020000);
	bitrate_detect_free(d);
}

static void time_bound(void **state)
{
	struct bitrate_detect_config c;
	struct bus b = {.bus_rate = 500000, .period_us = 0};

	bitrate_detect_config_init(&c);
	c.dwell_us = 1000000;
	c.total_us = 2500000;
	struct bitrate_detect *d = make(&c, 0);
	int64_t end = run(d, &b, 0);
	assert_int_equal(bitrate_detect_outcome(d, NULL), BITRATE_DETECT_TIMEOUT);
	assert_true(end <= 2500000);
	assert_int_equal(bitrate_detect_result_at(d, 2)->verdict, BITRATE_DETECT_CUT);
	assert_int_equal(bitrate_detect_result_at(d, 3)->verdict, BITRATE_DETECT_NOT_TRIED);
	bitrate_detect_free(d);
}

static void refused_and_few(void **state)
{
	struct bitrate_detect_config c;
	struct bus b = {.bus_rate = 250000, .period_us = 400000, .refuse = 500000};
	uint32_t found = 0;

	bitrate_detect_config_init(&c);
	c.n = 2;
	c.bitrates[0] = 500000;
	c.bitrates[1] = 250000;
	c.dwell_us = 1000000; /* two frames in the dwell: too few */
	struct bitrate_detect *d = make(&c, 0);
	run(d, &b, 0);
	assert_int_equal(bitrate_detect_outcome(d, &found), BITRATE_DETECT_NONE);
	assert_int_equal(bitrate_detect_result_at(d, 0)->verdict, BITRATE_DETECT_FAILED);
	assert_int_equal(bitrate_detect_result_at(d, 0)->set_error, -EINVAL);
	assert_int_equal(bitrate_detect_result_at(d, 1)->verdict, BITRATE_DETECT_FEW);
	assert_int_equal(bitrate_detect_result_at(d, 1)->frames, 2);
	assert_int_equal(found, 0);
	bitrate_detect_free(d);
}

static void harmless_errors_and_stray_frames(void **state)
{
	struct bitrate_detect_config c;
	struct bitrate_detect_step st;
	struct bitrate_detect *d;
	const struct bd_frame data = {.id = 0x123, .len = 8};
	struct bd_frame overflow = {.id = BD_FRAME_ERR_CRTL, .flags = BD_FRAME_ERR, .len = 8};
	const struct bd_frame restarted = {
	    .id = BD_FRAME_ERR_RESTARTED, .flags = BD_FRAME_ERR, .len = 8};

	overflow.data[1] = 0x01; /* rx queue overflow: says nothing about the bitrate */
	bitrate_detect_config_init(&c);
	c.n = 1;
	c.bitrates[0] = 500000;
	c.min_frames = 2;
	d = make(&c, 0);
	bitrate_detect_on_frame(d, &data, 0); /* before any SET: ignored */
	bitrate_detect_next(d, 0, &st);
	assert_int_equal(st.action, BITRATE_DETECT_SET);
	bitrate_detect_applied(d, 500000, 100);
	bitrate_detect_on_frame(d, &data, 50); /* older than the window: ignored */
	bitrate_detect_on_frame(d, &overflow, 200);
	bitrate_detect_on_frame(d, &restarted, 200);
	bitrate_detect_on_frame(d, &data, 300);
	bitrate_detect_next(d, 300, &st);
	assert_int_equal(st.action, BITRATE_DETECT_LISTEN);
	assert_int_equal(st.until_us, 100 + c.dwell_us);
	bitrate_detect_on_frame(d, &data, 400);
	assert_int_equal(bitrate_detect_outcome(d, NULL), BITRATE_DETECT_FOUND);
	assert_int_equal(bitrate_detect_result_at(d, 0)->error_frames, 0);
	bitrate_detect_next(d, 500, &st);
	assert_int_equal(st.action, BITRATE_DETECT_DONE);
	bitrate_detect_free(d);

	assert_true(bd_frame_err_is_bus_fault(
	    &(struct bd_frame){.id = BD_FRAME_ERR_BUSOFF, .flags = BD_FRAME_ERR}));
	assert_false(bd_frame_err_is_bus_fault(&overflow));
	assert_false(bd_frame_err_is_bus_fault(&data));
	char buf[80];
	bd_frame_err_format(&(struct bd_frame){.id = BD_FRAME_ERR_PROT | BD_FRAME_ERR_BUSERROR,
					       .flags = BD_FRAME_ERR},
			    buf, sizeof(buf));
	assert_string_equal(buf, "protocol violation, bus error");
}

static void lists(void **state)
{
	uint32_t v[8];
	size_t n;
	char b[16];
	const char *s = "500k,250000,83.333k,33.3k,1M";

	assert_int_equal(bitrate_detect_parse_list(s, strlen(s), v, 8, &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(v[0], 500000);
	assert_int_equal(v[1], 250000);
	assert_int_equal(v[2], 83333);
	assert_int_equal(v[3], 33300);
	assert_int_equal(v[4], 1000000);
	assert_int_equal(bitrate_detect_parse_list("500k", 4, v, 0, &n), -E2BIG);
	const char *bad[] = {"",     ",",     "500k,", "5k",	"2M",
			     "fast", "500kk", "1.k",   "500 k", "9999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bitrate_detect_parse_list(bad[i], strlen(bad[i]), v, 8, &n),
				 -EINVAL);
	bitrate_detect_format(83333, b, sizeof(b));
	assert_string_equal(b, "83.333k");
	bitrate_detect_format(500000, b, sizeof(b));
	assert_string_equal(b, "500k");
	bitrate_detect_format(1000000, b, sizeof(b));
	assert_string_equal(b, "1M");

	struct bitrate_detect_config c;
	struct bitrate_detect *d = NULL;
	bitrate_detect_config_init(&c);
	c.bitrates[0] = 0;
	assert_int_equal(bitrate_detect_new(&c, 0, &d), -EINVAL);
	bitrate_detect_config_init(&c);
	c.dwell_us = 0;
	assert_int_equal(bitrate_detect_new(&c, 0, &d), -EINVAL);
	assert_null(bitrate_detect_free(NULL));
	for (unsigned x = 0; x < BITRATE_DETECT_VERDICT_MAX; x++)
		assert_string_not_equal(bitrate_detect_verdict_name((enum bitrate_detect_verdict)x),
					"?");
	for (unsigned x = 0; x < BITRATE_DETECT_OUTCOME_MAX; x++)
		assert_string_not_equal(bitrate_detect_outcome_name((enum bitrate_detect_outcome)x),
					"?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(finds_each_rate), cmocka_unit_test(profile_rate_first_and_order),
	    cmocka_unit_test(silent_bus),      cmocka_unit_test(time_bound),
	    cmocka_unit_test(refused_and_few), cmocka_unit_test(harmless_errors_and_stray_frames),
	    cmocka_unit_test(lists),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
