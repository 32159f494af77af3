/* SPDX-License-Identifier: MIT */
#include <errno.h>
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
	const struct timeline_event *st;
	assert_non_null(tl);
	assert_int_equal(timeline_capacity(tl), 4);
	assert_int_equal(timeline_last_time(tl), INT64_MIN);
	for (int i = 0; i < 6; i++) {
		struct timeline_event ev = timeline_event_signal(i * 1000, 7, i);
		assert_int_equal(timeline_push(tl, &ev, &st), 1);
		assert_int_equal(st->seq, (uint64_t)i + 1);
	}
	assert_int_equal(timeline_count(tl), 4);
	assert_int_equal(timeline_dropped(tl), 2);
	assert_int_equal(timeline_at(tl, 0)->t_us, 2000);
	assert_int_equal(timeline_at(tl, 3)->t_us, 5000);
	assert_null(timeline_at(tl, 4));
	assert_int_equal(timeline_find_time(tl, 0), 0);
	assert_int_equal(timeline_find_time(tl, 2500), 1);
	assert_int_equal(timeline_find_time(tl, 5000), 3);
	assert_int_equal(timeline_find_time(tl, 5001), 4);

	/* time going backwards is clamped and counted */
	struct timeline_event old = timeline_event_mark(100, 0);
	assert_int_equal(timeline_push(tl, &old, &st), 1);
	assert_int_equal(st->t_us, 5000);
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
	assert_null(timeline_free(tl));

	assert_null(timeline_new(0));
	assert_null(timeline_new(TIMELINE_MAX_CAPACITY + 1));
}

static void dtc_transitions(void **state)
{
	struct timeline *tl = timeline_new(16);
	const struct timeline_event *st;
	uint8_t status;
	struct timeline_event ev = timeline_event_dtc(1000, 0, 0x9A4013, 0x50);
	assert_int_equal(timeline_push(tl, &ev, &st), 1);
	assert_true(st->dtc.first_seen);
	/* the same status polled again is no event */
	ev.t_us = 2000;
	assert_int_equal(timeline_push(tl, &ev, NULL), 0);
	assert_int_equal(timeline_count(tl), 1);
	ev = timeline_event_dtc(3000, 0, 0x9A4013, 0x2F);
	assert_int_equal(timeline_push(tl, &ev, &st), 1);
	assert_false(st->dtc.first_seen);
	assert_int_equal(st->dtc.previous, 0x50);
	assert_int_equal(st->dtc.status, 0x2F);
	/* another module's DTC with the same code is a different DTC */
	ev = timeline_event_dtc(4000, 1, 0x9A4013, 0x2F);
	assert_int_equal(timeline_push(tl, &ev, &st), 1);
	assert_true(st->dtc.first_seen);
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
	assert_int_equal(timeline_at(tl, 0)->type, TIMELINE_EVENT_DTC_READ);
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
	    cmocka_unit_test(dtc_transitions),
	    cmocka_unit_test(format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
