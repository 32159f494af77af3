/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/timeline.h"

static void symbols(void **state)
{
	struct timeline_symbols *s = timeline_symbols_new();
	uint32_t a, b, c, x;
	assert_non_null(s);
	assert_int_equal(timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "TrunkAjar", 9, &a), 0);
	assert_int_equal(timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "TrunkAjarX", 9, &b),
			 0);
	assert_int_equal(a, b); /* len counts, not the NUL */
	assert_int_equal(timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "RkeButton", 9, &b), 0);
	assert_int_equal(a, 0);
	assert_int_equal(b, 1);
	/* kinds are separate name spaces */
	assert_int_equal(timeline_symbols_intern(s, TIMELINE_SYMBOL_MARK, "RkeButton", 9, &c), 0);
	assert_int_equal(c, 0);
	assert_int_equal(timeline_symbols_lookup(s, TIMELINE_SYMBOL_SIGNAL, "RkeButton", 9, &x), 0);
	assert_int_equal(x, 1);
	assert_int_equal(timeline_symbols_lookup(s, TIMELINE_SYMBOL_MODULE, "bcm", 3, &x), -ENOENT);
	assert_int_equal(timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "", 0, &x), -EINVAL);
	assert_int_equal(timeline_symbols_intern(s, TIMELINE_SYMBOL_KIND_MAX, "a", 1, &x), -EINVAL);
	char longname[TIMELINE_MAX_NAME + 1];
	memset(longname, 'a', sizeof(longname));
	assert_int_equal(
	    timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, longname, sizeof(longname), &x),
	    -EINVAL);
	assert_string_equal(timeline_symbols_name(s, TIMELINE_SYMBOL_SIGNAL, 1), "RkeButton");
	assert_null(timeline_symbols_name(s, TIMELINE_SYMBOL_SIGNAL, 2));
	assert_int_equal(timeline_symbols_count(s, TIMELINE_SYMBOL_SIGNAL), 2);

	/* growth keeps every index stable */
	char name[16];
	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(name, sizeof(name), "sig%u", i);
		assert_int_equal(
		    timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, name, (size_t)n, &x), 0);
		assert_int_equal(x, i + 2);
	}
	for (unsigned i = 0; i < 1000; i++) {
		int n = snprintf(name, sizeof(name), "sig%u", i);
		assert_int_equal(
		    timeline_symbols_lookup(s, TIMELINE_SYMBOL_SIGNAL, name, (size_t)n, &x), 0);
		assert_int_equal(x, i + 2);
	}
	assert_null(timeline_symbols_free(s));
	assert_null(timeline_symbols_free(NULL));
}

static void ring(void **state)
{
	struct timeline *tl = timeline_new(4);
	struct timeline_event st, got;
	assert_non_null(tl);
	assert_int_equal(timeline_capacity(tl), 4);
	assert_int_equal(timeline_last_time(tl), INT64_MIN);
	for (int i = 0; i < 6; i++) {
		struct timeline_event ev = timeline_event_signal(i * 1000, 7, i);
		assert_int_equal(timeline_push(tl, &ev, &st), 1);
		assert_int_equal(st.seq, (uint64_t)i + 1);
	}
	assert_int_equal(timeline_count(tl), 4);
	assert_int_equal(timeline_dropped(tl), 2);
	assert_int_equal(timeline_get(tl, 0, &got), 0);
	assert_int_equal(got.t_us, 2000);
	assert_int_equal(got.seq, 3);
	assert_int_equal(timeline_get(tl, 3, &got), 0);
	assert_int_equal(got.t_us, 5000);
	assert_int_equal(got.seq, 6);
	got.t_us = 42;
	assert_int_equal(timeline_get(tl, 4, &got), -ENOENT);
	assert_int_equal(got.t_us, 42); /* written only on success */
	assert_int_equal(timeline_find_time(tl, 0), 0);
	assert_int_equal(timeline_find_time(tl, 2500), 1);
	assert_int_equal(timeline_find_time(tl, 5000), 3);
	assert_int_equal(timeline_find_time(tl, 5001), 4);

	/* time going backwards is clamped and counted */
	struct timeline_event old = timeline_event_mark(100, 0);
	assert_int_equal(timeline_push(tl, &old, &st), 1);
	assert_int_equal(st.t_us, 5000);
	assert_int_equal(timeline_clamped(tl), 1);

	/* malformed events */
	struct timeline_event bad = timeline_event_signal(6000, 0, NAN);
	assert_int_equal(timeline_push(tl, &bad, NULL), -EINVAL);
	bad = timeline_event_dtc(6000, 0, 0x1000000, 0);
	assert_int_equal(timeline_push(tl, &bad, NULL), -EINVAL);
	bad = timeline_event_transport(6000, TIMELINE_TRANSPORT_MAX, 0, 0, 0);
	assert_int_equal(timeline_push(tl, &bad, NULL), -EINVAL);
	bad.type = TIMELINE_EVENT_TYPE_MAX;
	assert_int_equal(timeline_push(tl, &bad, NULL), -EINVAL);

	timeline_clear(tl);
	assert_int_equal(timeline_count(tl), 0);
	assert_int_equal(timeline_get(tl, 0, &got), -ENOENT);
	/* numbers go on after a clear */
	struct timeline_event again = timeline_event_mark(1, 0);
	assert_int_equal(timeline_push(tl, &again, &st), 1);
	assert_int_equal(timeline_get(tl, 0, &got), 0);
	assert_int_equal(got.seq, 8);
	assert_int_equal(got.seq, st.seq);
	assert_null(timeline_free(tl));

	assert_null(timeline_new(0));
	assert_null(timeline_new(TIMELINE_MAX_CAPACITY + 1));
}

/* Every field of a, as the type defines them, equals b's (a signal's value bit for bit:
 * -0.0 is not 0.0). */
static void assert_same_event(const struct timeline_event *a, const struct timeline_event *b)
{
	assert_int_equal(a->t_us, b->t_us);
	assert_true(a->t_us == b->t_us); /* the full 64 bits, whatever cmocka's integer is */
	assert_true(a->seq == b->seq);
	assert_int_equal(a->type, b->type);
	switch (a->type) {
	case TIMELINE_EVENT_SIGNAL:
		assert_true(a->signal.index == b->signal.index);
		assert_memory_equal(&a->signal.value, &b->signal.value, sizeof(double));
		break;
	case TIMELINE_EVENT_DTC:
		assert_true(a->dtc.code == b->dtc.code);
		assert_true(a->dtc.module == b->dtc.module);
		assert_int_equal(a->dtc.status, b->dtc.status);
		assert_int_equal(a->dtc.previous, b->dtc.previous);
		assert_int_equal(a->dtc.first_seen, b->dtc.first_seen);
		break;
	case TIMELINE_EVENT_MARK:
		assert_true(a->mark.index == b->mark.index);
		break;
	case TIMELINE_EVENT_DTC_READ:
		assert_true(a->dtc_read.module == b->dtc_read.module);
		break;
	case TIMELINE_EVENT_TRANSPORT:
		assert_int_equal(a->transport.kind, b->transport.kind);
		assert_true(a->transport.id == b->transport.id);
		assert_int_equal(a->transport.service, b->transport.service);
		assert_int_equal(a->transport.nrc, b->transport.nrc);
		break;
	case TIMELINE_EVENT_TYPE_MAX:
		fail();
	}
}

/*
 * The ring keeps events packed: every type at the edges of its fields comes back as it
 * went in (and as timeline_push said it stored it), at every extreme of time.
 */
static void packed_round_trip(void **state)
{
	static const int64_t times[] = {
	    INT64_MIN, INT64_MIN + 1, -1, 0, 1, 0xFFFFFFFFLL, 0x100000000LL, INT64_MAX - 1,
	    INT64_MAX,
	};
	const double values[] = {
	    0.0, -0.0, 1.0, -1.0, 2.31, 1.0 / 3, DBL_MAX, -DBL_MAX, DBL_MIN, -DBL_MIN,
	    DBL_TRUE_MIN, -DBL_TRUE_MIN, 4294967296.5, -1e300,
	};
	static const uint32_t indices[] = {0, 1, 0xFFFF, 0x10000, 0x7FF00000u, UINT32_MAX - 1,
					   UINT32_MAX};
	static const uint32_t codes[] = {0, 1, 0x9A4013, 0x7FFFFF, 0x800000, 0xFFFFFF};
	static const uint32_t modules[] = {0, 1, 0xFFFF, UINT32_MAX - 1, TIMELINE_MODULE_NONE};
	static const uint32_t ids[] = {0, 0x7FF, 0x1FFFFFFF, 0x80000000u, UINT32_MAX};
	struct timeline_event evs[1024];
	size_t n = 0;

	for (size_t v = 0; v < sizeof(values) / sizeof(values[0]); v++)
		for (size_t i = 0; i < sizeof(indices) / sizeof(indices[0]); i++)
			evs[n++] = timeline_event_signal(0, indices[i], values[v]);
	for (size_t c = 0; c < sizeof(codes) / sizeof(codes[0]); c++)
		for (size_t m = 0; m < sizeof(modules) / sizeof(modules[0]); m++) {
			/* first seen, then changes that make previous 0xFF and 0x00 */
			evs[n++] = timeline_event_dtc(0, modules[m], codes[c], 0xFF);
			evs[n++] = timeline_event_dtc(0, modules[m], codes[c], 0x00);
			evs[n++] = timeline_event_dtc(0, modules[m], codes[c], 0x5A);
		}
	for (size_t i = 0; i < sizeof(indices) / sizeof(indices[0]); i++)
		evs[n++] = timeline_event_mark(0, indices[i]);
	for (size_t m = 0; m < sizeof(modules) / sizeof(modules[0]); m++)
		evs[n++] = timeline_event_dtc_read(0, modules[m]);
	for (unsigned k = 0; k < TIMELINE_TRANSPORT_MAX; k++)
		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
			evs[n++] = timeline_event_transport(0, (enum timeline_transport)k, ids[i],
							    0xFF, 0x00);
			evs[n++] = timeline_event_transport(0, (enum timeline_transport)k, ids[i],
							    0x00, 0xFF);
		}
	assert_true(n <= sizeof(evs) / sizeof(evs[0]));

	for (size_t t = 0; t < sizeof(times) / sizeof(times[0]); t++) {
		/* a ring smaller than the events: every slot is written over, read at every
		 * position of the wrap */
		struct timeline *tl = timeline_new(7);
		assert_non_null(tl);
		for (size_t i = 0; i < n; i++) {
			struct timeline_event in = evs[i], st, got;
			in.t_us = times[t];
			assert_int_equal(timeline_push(tl, &in, &st), 1);
			assert_true(st.seq == i + 1);
			assert_true(st.t_us == times[t]);
			assert_int_equal(timeline_get(tl, timeline_count(tl) - 1, &got), 0);
			assert_same_event(&got, &st);
			/* and what the constructor made, but for what the timeline fills in */
			if (in.type == TIMELINE_EVENT_DTC) {
				in.dtc.previous = st.dtc.previous;
				in.dtc.first_seen = st.dtc.first_seen;
			}
			in.seq = st.seq;
			assert_same_event(&got, &in);
		}
		/* the 7 newest, oldest first, still intact after 6 more pushes each */
		for (size_t k = 0; k < 7; k++) {
			struct timeline_event got, want = evs[n - 7 + k];
			assert_int_equal(timeline_get(tl, k, &got), 0);
			want.t_us = times[t];
			want.seq = n - 7 + k + 1;
			if (want.type == TIMELINE_EVENT_DTC) {
				/* filled in by the timeline */
				want.dtc.previous = got.dtc.previous;
				want.dtc.first_seen = got.dtc.first_seen;
			}
			assert_same_event(&got, &want);
		}
		assert_int_equal(timeline_find_time(tl, times[t]), 0);
		timeline_free(tl);
	}

	/* what a DTC's change says of the status before it survives the ring */
	struct timeline *tl = timeline_new(2);
	struct timeline_event got, ev = timeline_event_dtc(5, TIMELINE_MODULE_NONE, 0xFFFFFF, 0xFF);
	assert_int_equal(timeline_push(tl, &ev, NULL), 1);
	ev.dtc.status = 0;
	assert_int_equal(timeline_push(tl, &ev, NULL), 1);
	assert_int_equal(timeline_get(tl, 0, &got), 0);
	assert_true(got.dtc.first_seen && got.dtc.previous == 0 && got.dtc.status == 0xFF);
	assert_true(got.dtc.module == TIMELINE_MODULE_NONE && got.dtc.code == 0xFFFFFF);
	assert_int_equal(timeline_get(tl, 1, &got), 0);
	assert_true(!got.dtc.first_seen && got.dtc.previous == 0xFF && got.dtc.status == 0);

	/* what the packing could not hold is refused, and nothing is stored */
	const double not_finite[] = {NAN, -NAN, INFINITY, -INFINITY};
	for (size_t i = 0; i < sizeof(not_finite) / sizeof(not_finite[0]); i++) {
		ev = timeline_event_signal(6, 0, not_finite[i]);
		assert_int_equal(timeline_push(tl, &ev, NULL), -EINVAL);
	}
	ev = timeline_event_dtc(6, 0, 0x1000000, 0x01);
	assert_int_equal(timeline_push(tl, &ev, NULL), -EINVAL);
	ev = timeline_event_dtc(6, 0, UINT32_MAX, 0x01);
	assert_int_equal(timeline_push(tl, &ev, NULL), -EINVAL);
	assert_int_equal(timeline_count(tl), 2);
	assert_int_equal(timeline_dropped(tl), 0);
	timeline_free(tl);
}

/* Times across the wrap: the binary search works on ring positions, not slots. */
static void wrap(void **state)
{
	struct timeline *tl = timeline_new(5);
	struct timeline_event got;
	for (int i = 0; i < 13; i++) {
		struct timeline_event ev = i % 3 ? timeline_event_signal(i * 10, (uint32_t)i, i * 0.5)
						 : timeline_event_mark(i * 10, (uint32_t)i);
		assert_int_equal(timeline_push(tl, &ev, NULL), 1);
	}
	/* 8..12 are held: slots 3, 4, 0, 1, 2 */
	assert_int_equal(timeline_count(tl), 5);
	assert_int_equal(timeline_dropped(tl), 8);
	assert_int_equal(timeline_last_time(tl), 120);
	for (size_t k = 0; k < 5; k++) {
		int i = 8 + (int)k;
		assert_int_equal(timeline_get(tl, k, &got), 0);
		assert_int_equal(got.t_us, i * 10);
		assert_true(got.seq == (uint64_t)i + 1);
		if (i % 3) {
			assert_int_equal(got.type, TIMELINE_EVENT_SIGNAL);
			assert_true(got.signal.index == (uint32_t)i && got.signal.value == i * 0.5);
		} else {
			assert_int_equal(got.type, TIMELINE_EVENT_MARK);
			assert_true(got.mark.index == (uint32_t)i);
		}
		assert_int_equal(timeline_find_time(tl, i * 10), k);
		assert_int_equal(timeline_find_time(tl, i * 10 - 5), k);
	}
	assert_int_equal(timeline_find_time(tl, 0), 0);
	assert_int_equal(timeline_find_time(tl, 121), 5);
	assert_int_equal(timeline_get(tl, 5, &got), -ENOENT);
	timeline_free(tl);
}

static void dtc_transitions(void **state)
{
	struct timeline *tl = timeline_new(16);
	struct timeline_event st;
	uint8_t status;
	struct timeline_event ev = timeline_event_dtc(1000, 0, 0x9A4013, 0x50);
	assert_int_equal(timeline_push(tl, &ev, &st), 1);
	assert_true(st.dtc.first_seen);
	/* the same status polled again is no event */
	ev.t_us = 2000;
	assert_int_equal(timeline_push(tl, &ev, NULL), 0);
	assert_int_equal(timeline_count(tl), 1);
	ev = timeline_event_dtc(3000, 0, 0x9A4013, 0x2F);
	assert_int_equal(timeline_push(tl, &ev, &st), 1);
	assert_false(st.dtc.first_seen);
	assert_int_equal(st.dtc.previous, 0x50);
	assert_int_equal(st.dtc.status, 0x2F);
	/* another module's DTC with the same code is a different DTC */
	ev = timeline_event_dtc(4000, 1, 0x9A4013, 0x2F);
	assert_int_equal(timeline_push(tl, &ev, &st), 1);
	assert_true(st.dtc.first_seen);
	assert_int_equal(timeline_dtc_status(tl, 0, 0x9A4013, &status), 0);
	assert_int_equal(status, 0x2F);
	assert_int_equal(timeline_dtc_status(tl, 2, 0x9A4013, &status), -ENOENT);
	/* what it knows, in the order first seen, each with its last status */
	uint32_t module, code;
	assert_int_equal(timeline_dtc_count(tl), 2);
	assert_int_equal(timeline_dtc_at(tl, 0, &module, &code, &status), 0);
	assert_true(module == 0 && code == 0x9A4013 && status == 0x2F);
	assert_int_equal(timeline_dtc_at(tl, 1, &module, &code, &status), 0);
	assert_true(module == 1 && code == 0x9A4013 && status == 0x2F);
	assert_int_equal(timeline_dtc_at(tl, 2, &module, &code, &status), -ENOENT);
	timeline_free(tl);
}

static void format(void **state)
{
	struct timeline_symbols *s = timeline_symbols_new();
	uint32_t sig, mark, mod;
	char buf[128];
	timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "TrunkActuatorCurrent", 20, &sig);
	timeline_symbols_intern(s, TIMELINE_SYMBOL_MARK, "fob_trunk_pressed", 17, &mark);
	timeline_symbols_intern(s, TIMELINE_SYMBOL_MODULE, "bcm", 3, &mod);

	struct timeline_event ev = timeline_event_signal(12345678, sig, 2.31);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "12.345678 signal TrunkActuatorCurrent = 2.31");
	ev = timeline_event_mark(-500000, mark);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "-0.500000 mark fob_trunk_pressed");
	ev = timeline_event_dtc(1000000, mod, 0x9A4013, 0x09);
	ev.dtc.previous = 0x50;
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "1.000000 dtc bcm B1A40-13 status 0x09 (was 0x50)");
	ev = timeline_event_transport(0, TIMELINE_TRANSPORT_NRC, 0x726, 0x2F, 0x22);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "0.000000 transport nrc 0x22 to service 0x2f");
	ev = timeline_event_signal(0, 99, 1);
	timeline_event_format(&ev, NULL, buf, sizeof(buf));
	assert_string_equal(buf, "0.000000 signal #99 = 1");
	/* a chain role's value reads as its label, or with its unit */
	uint32_t ajar, cur;
	timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "ajar", 4, &ajar);
	timeline_symbols_intern(s, TIMELINE_SYMBOL_SIGNAL, "actuator_current", 16, &cur);
	ev = timeline_event_signal(1000000, ajar, 1);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "1.000000 signal ajar = open");
	ev = timeline_event_signal(1000000, ajar, 7); /* no label: the number */
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "1.000000 signal ajar = 7");
	ev = timeline_event_signal(1000000, cur, 2.5);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "1.000000 signal actuator_current = 2.5 A");
	/* a fault memory read */
	ev = timeline_event_dtc_read(2000000, mod);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "2.000000 dtc_read bcm");
	ev = timeline_event_dtc_read(2000000, TIMELINE_MODULE_NONE);
	timeline_event_format(&ev, s, buf, sizeof(buf));
	assert_string_equal(buf, "2.000000 dtc_read ?");
	struct timeline *tl = timeline_new(4);
	assert_int_equal(timeline_push(tl, &ev, NULL), 1); /* stored like any event */
	struct timeline_event got;
	assert_int_equal(timeline_get(tl, 0, &got), 0);
	assert_int_equal(got.type, TIMELINE_EVENT_DTC_READ);
	assert_true(got.dtc_read.module == TIMELINE_MODULE_NONE);
	timeline_free(tl);

	enum timeline_transport k;
	assert_int_equal(timeline_transport_from_name("busoff", 6, &k), 0);
	assert_int_equal(k, TIMELINE_TRANSPORT_BUS_OFF);
	assert_int_equal(timeline_transport_from_name("bus", 3, &k), -EINVAL);
	assert_string_equal(timeline_transport_name(TIMELINE_TRANSPORT_UNKNOWN_ID), "unknown_id");
	assert_null(timeline_transport_name(TIMELINE_TRANSPORT_MAX));
	timeline_symbols_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(symbols),
	    cmocka_unit_test(ring),
	    cmocka_unit_test(packed_round_trip),
	    cmocka_unit_test(wrap),
	    cmocka_unit_test(dtc_transitions),
	    cmocka_unit_test(format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
