/* SPDX-License-Identifier: MIT */
/*
 * candump: can-utils log lines parsed, printed back byte for byte, fed in chunks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bodydiag/candump.h"

static struct candump_record parse_ok(const char *line)
{
	struct candump_record r;
	const char *reason = NULL;
	int ret = candump_parse_line(line, strlen(line), &reason, &r);
	if (ret < 0)
		fail_msg("'%s': %s", line, reason);
	return r;
}

static const char *parse_bad(const char *line)
{
	struct candump_record r;
	const char *reason = NULL;
	assert_int_equal(candump_parse_line(line, strlen(line), &reason, &r), -EINVAL);
	assert_non_null(reason);
	return reason;
}

static void roundtrip(const char *line)
{
	struct candump_record r = parse_ok(line);
	char out[CANDUMP_MAX_LINE];
	candump_format_record(&r, out, sizeof(out));
	assert_string_equal(out, line);
}

static void classic_frames(void **state)
{
	struct candump_record r = parse_ok("(1700000000.001000) vcan0 123#DEADBEEF");
	assert_string_equal(r.time, "1700000000.001000");
	assert_true(r.tf.t_us == 1700000000001000);
	assert_string_equal(r.iface, "vcan0");
	assert_int_equal(r.tf.frame.id, 0x123);
	assert_int_equal(r.tf.frame.flags, 0);
	assert_int_equal(r.tf.frame.len, 4);
	assert_int_equal(r.tf.frame.data[0], 0xde);
	assert_int_equal(r.tf.frame.data[3], 0xef);

	r = parse_ok("(1.5) can1 12345678#0011223344556677");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_EXT);
	assert_int_equal(r.tf.frame.id, 0x12345678);
	assert_int_equal(r.tf.frame.len, 8);
	assert_true(r.tf.t_us == 1500000);

	/* lower-case hex, '.' separators, CRLF, trailing direction mark */
	r = parse_ok("(0000000001.000001) can0 7ff#aa.bb.cc\r");
	assert_int_equal(r.tf.frame.id, 0x7ff);
	assert_int_equal(r.tf.frame.len, 3);
	assert_int_equal(r.tf.frame.data[2], 0xcc);
	r = parse_ok("(1.000001) can0 001# R");
	assert_int_equal(r.tf.frame.len, 0);
	assert_int_equal(r.tf.frame.flags, 0);

	/* raw DLC of 8-byte classic frames */
	r = parse_ok("(1.000000) can0 123#1122334455667788_C");
	assert_int_equal(r.len8_dlc, 12);
	assert_int_equal(r.tf.frame.len, 8);
}

static void fd_rtr_error(void **state)
{
	struct candump_record r = parse_ok("(1.000000) can0 7FF##3000102030405060708090A0B");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_FD | BD_FRAME_BRS | BD_FRAME_ESI);
	assert_int_equal(r.tf.frame.len, 12);
	assert_int_equal(r.tf.frame.data[11], 0x0b);

	r = parse_ok("(1.000000) can0 12345678##0");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_FD | BD_FRAME_EXT);
	assert_int_equal(r.tf.frame.len, 0);

	r = parse_ok("(1.000000) can0 123#R");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_RTR);
	assert_int_equal(r.tf.frame.len, 0);
	r = parse_ok("(1.000000) can0 123#r4");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_RTR);
	assert_int_equal(r.tf.frame.len, 4);
	r = parse_ok("(1.000000) can0 123#R8_F");
	assert_int_equal(r.len8_dlc, 15);

	r = parse_ok("(1.000000) can0 20000080#0000000000000000");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_ERR);
	assert_int_equal(r.tf.frame.id, 0x80);
	assert_int_equal(r.tf.frame.len, 8);

	uint8_t big[64];
	char line[256] = "(1.000000) can0 100##1";
	for (int i = 0; i < 64; i++) {
		big[i] = (uint8_t)i;
		sprintf(line + strlen(line), "%02X", i);
	}
	r = parse_ok(line);
	assert_int_equal(r.tf.frame.len, 64);
	assert_memory_equal(r.tf.frame.data, big, 64);
}

static void print_back(void **state)
{
	roundtrip("(1700000000.001000) vcan0 123#DEADBEEF");
	roundtrip("(0000000001.5) can0 12345678#");
	roundtrip("(1.000000) can0 7FF##3000102030405060708090A0B");
	roundtrip("(1.000000) can0 123#R");
	roundtrip("(1.000000) can0 123#R4");
	roundtrip("(1.000000) can0 123#R8_F");
	roundtrip("(1.000000) can0 123#1122334455667788_9");
	roundtrip("(1.000000) can0 20000080#0000000000000000");
	roundtrip("(1.1234567) can0 000#00");

	struct candump_record r = {0};
	r.tf.frame = (struct bd_frame){
	    .id = 0x1abcdef, .flags = BD_FRAME_EXT, .len = 2, .data = {0x0f, 0xf0}};
	strcpy(r.iface, "can0");
	candump_set_time_us(&r, 1234567);
	char out[128];
	candump_format_record(&r, out, sizeof(out));
	assert_string_equal(out, "(0000000001.234567) can0 01ABCDEF#0FF0");
	assert_int_equal(candump_format_frame(&r.tf.frame, 0, out, 4), 13);
	assert_string_equal(out, "01A");
}

static void bad_lines(void **state)
{
	assert_string_equal(parse_bad("can0 123#00"), "missing '(' timestamp");
	assert_string_equal(parse_bad("(1) can0 123#00"), "timestamp is not seconds.micros");
	assert_string_equal(parse_bad("(1.) can0 123#00"), "timestamp is not seconds.micros");
	assert_string_equal(parse_bad("(1.0)can0 123#00"), "missing interface name");
	assert_string_equal(parse_bad("(1.0) can0"), "missing frame");
	assert_string_equal(parse_bad("(1.0) can0 123"), "missing '#' after the identifier");
	assert_string_equal(parse_bad("(1.0) can0 12#00"), "identifier is not 3 or 8 hex digits");
	assert_string_equal(parse_bad("(1.0) can0 1G3#00"), "identifier is not hexadecimal");
	assert_string_equal(parse_bad("(1.0) can0 800#00"), "standard identifier above 0x7FF");
	assert_string_equal(parse_bad("(1.0) can0 40000000#00"),
			    "extended identifier above 0x1FFFFFFF");
	assert_string_equal(parse_bad("(1.0) can0 123#0"), "odd number of data hex digits");
	assert_string_equal(parse_bad("(1.0) can0 123#0X"), "data is not hexadecimal");
	assert_string_equal(parse_bad("(1.0) can0 123#112233445566778899"),
			    "more than 8 data bytes in a classic frame");
	assert_string_equal(parse_bad("(1.0) can0 123#R9"), "bad remote frame length");
	assert_string_equal(parse_bad("(1.0) can0 123#R1x"),
			    "trailing characters after remote frame");
	assert_string_equal(parse_bad("(1.0) can0 123##"),
			    "missing CAN FD flags nibble after '##'");
	assert_string_equal(parse_bad("(1.0) can0 123###00"), "CAN XL frames are not supported");
	assert_string_equal(parse_bad("(1.0) can0 123#11_9"), "bad raw DLC after '_'");
	assert_string_equal(parse_bad("(99999999999999999999.0) can0 123#00"),
			    "timestamp seconds out of range");
	assert_string_equal(parse_bad("(1.0) ca\x01n0 123#00"), "interface name is not printable");
	assert_string_equal(parse_bad("(1.0) abcdefghijabcdefghijabcdefghijabcdefghij 123#00"),
			    "interface name too long");
}

struct collect {
	unsigned records, bad;
	unsigned lines[16];
	unsigned bad_lines[16];
	uint32_t ids[16];
	int stop_at;
};

static int on_record(void *userdata, const struct candump_record *r)
{
	struct collect *c = userdata;
	if (c->records < 16) {
		c->lines[c->records] = r->line;
		c->ids[c->records] = r->tf.frame.id;
	}
	c->records++;
	return c->stop_at && (int)c->records == c->stop_at ? -ECANCELED : 0;
}

static void on_bad(void *userdata, unsigned line, const char *reason)
{
	struct collect *c = userdata;
	if (c->bad < 16)
		c->bad_lines[c->bad] = line;
	c->bad++;
}

static const char log_text[] = "(1.000000) can0 001#01\n"
			       "\n"
			       "garbage\n"
			       "(1.000001) can0 002#02\r\n"
			       "(1.000002) can0 003#0\n"
			       "(1.000003) can0 004#04";

static void reader_chunks(void **state)
{
	/* every split of the stream into two chunks gives the same records */
	for (size_t split = 0; split <= sizeof(log_text) - 1; split++) {
		struct collect c = {0};
		struct candump_reader *r = candump_reader_new(0, on_record, on_bad, &c);
		assert_non_null(r);
		assert_int_equal(candump_reader_feed(r, log_text, split), 0);
		assert_int_equal(
		    candump_reader_feed(r, log_text + split, sizeof(log_text) - 1 - split), 0);
		assert_int_equal(candump_reader_finish(r), 0);
		assert_int_equal(c.records, 3);
		assert_int_equal(c.lines[0], 1);
		assert_int_equal(c.lines[1], 4);
		assert_int_equal(c.lines[2], 6);
		assert_int_equal(c.ids[2], 4);
		assert_int_equal(c.bad, 2);
		assert_int_equal(c.bad_lines[0], 3);
		assert_int_equal(c.bad_lines[1], 5);
		assert_int_equal(candump_reader_bad_lines(r), 2);
		candump_reader_free(r);
	}
}

static void reader_strict_and_stop(void **state)
{
	struct collect c = {0};
	struct candump_reader *r = candump_reader_new(CANDUMP_READER_STRICT, on_record, on_bad, &c);
	assert_int_equal(candump_reader_feed(r, log_text, sizeof(log_text) - 1), -EBADMSG);
	assert_int_equal(c.records, 1);
	assert_int_equal(c.bad_lines[0], 3);
	candump_reader_free(r);

	c = (struct collect){.stop_at = 2};
	r = candump_reader_new(0, on_record, NULL, &c);
	assert_int_equal(candump_reader_feed(r, log_text, sizeof(log_text) - 1), -ECANCELED);
	candump_reader_free(r);

	/* an over-long line is one bad line, and the reader carries on */
	char big[2 * CANDUMP_MAX_LINE + 64];
	memset(big, 'x', sizeof(big));
	size_t n = sizeof(big) - 30;
	big[n - 1] = '\n';
	memcpy(big + n, "(2.000000) can0 005#05\n", 23);
	c = (struct collect){0};
	r = candump_reader_new(0, on_record, on_bad, &c);
	assert_int_equal(candump_reader_feed(r, big, n + 23), 0);
	assert_int_equal(candump_reader_finish(r), 0);
	assert_int_equal(c.bad, 1);
	assert_int_equal(c.records, 1);
	assert_int_equal(c.lines[0], 2);
	assert_null(candump_reader_free(r));
	assert_null(candump_reader_free(NULL));
}

/* candump's screen output with timestamps (-ta, -tz, -tA) reads as the log format does;
 * without a timestamp, or with -td's deltas, the reason says how to record instead. */
static void screen_format(void **state)
{
	struct candump_record r = parse_ok(" (1700000000.001000)  can0  123   [4]  DE AD BE EF");
	assert_true(r.screen);
	assert_true(r.tf.t_us == 1700000000001000);
	assert_string_equal(r.iface, "can0");
	assert_int_equal(r.tf.frame.id, 0x123);
	assert_int_equal(r.tf.frame.flags, 0);
	assert_int_equal(r.tf.frame.len, 4);
	assert_int_equal(r.tf.frame.data[3], 0xef);
	char out[CANDUMP_MAX_LINE];
	candump_format_record(&r, out, sizeof(out));
	assert_string_equal(out, "(1700000000.001000) can0 123#DEADBEEF");

	/* 8 digits: a 29-bit id even when its value would fit in 11 bits */
	r = parse_ok(" (000.250000)  can1  00000123   [2]  11 22");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_EXT);
	assert_int_equal(r.tf.frame.id, 0x123);
	assert_true(r.tf.t_us == 250000);

	r = parse_ok(" (2023-11-14 22:13:20.000500)  can0  7DF   [8]  remote request");
	assert_true(r.tf.t_us == 1700000000000500);
	assert_int_equal(r.tf.frame.flags, BD_FRAME_RTR);
	assert_int_equal(r.tf.frame.len, 8);

	r = parse_ok(" (1.000000)  can0  123  [12]  00 11 22 33 44 55 66 77 88 99 AA BB");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_FD);
	assert_int_equal(r.tf.frame.len, 12);
	assert_int_equal(r.tf.frame.data[11], 0xbb);

	r = parse_ok(" (1.000000)  can0  20000004   [8]  00 08 00 00 00 00 00 00   ERRORFRAME");
	assert_int_equal(r.tf.frame.flags, BD_FRAME_ERR);
	assert_int_equal(r.tf.frame.id, 0x4);

	/* -a adds the bytes as ASCII in quotes */
	r = parse_ok(" (1.000000)  can0  321   [3]  41 42 43   'ABC'");
	assert_int_equal(r.tf.frame.len, 3);

	assert_non_null(strstr(parse_bad("  can0  123   [1]  01"), "candump -L"));
	parse_bad(" (1.000000)  can0  123   [3]  41 42");
	parse_bad(" (1.000000)  can0  123   [1]  41 42");
	parse_bad(" (1.000000)  can0  923   [1]  41");
	parse_bad(" (1.000000)  can0  123   [9]  00 00 00 00 00 00 00 00 00");
	parse_bad(" (1.000000)  can0  123  [65]  00");
	parse_bad(" (2023-13-14 22:13:20.000500)  can0  123   [1]  01");
	parse_bad(" (1.0)  can0  123   [1]  01");
	/* error frames are classic CAN, whether the id or the ERRORFRAME word says so */
	parse_bad(" (1.000000)  can0  20000123  [12]  00 11 22 32 44 55 66 77 88 99 AA BB");
	parse_bad(" (1.000000)  can0  123  [08]  00 08 00 00 00 00 00 00   ERRORFRAME");
	parse_bad(" (1.000000  can0  123   [1]  01");
}

static void screen_reader_refuses_deltas(void **state)
{
	static const char text[] = " (000.000000)  can0  001   [1]  01\n"
				   " (000.010000)  can0  002   [1]  02\n"
				   " (000.005000)  can0  003   [1]  03\n";
	struct collect c = {0};
	struct candump_reader *r = candump_reader_new(0, on_record, on_bad, &c);
	assert_int_equal(candump_reader_feed(r, text, sizeof(text) - 1), 0);
	assert_int_equal(c.records, 2);
	assert_int_equal(c.bad, 1);
	assert_int_equal(c.bad_lines[0], 3);
	candump_reader_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(classic_frames), cmocka_unit_test(fd_rtr_error),
	    cmocka_unit_test(print_back),     cmocka_unit_test(bad_lines),
	    cmocka_unit_test(reader_chunks),  cmocka_unit_test(reader_strict_and_stop),
	    cmocka_unit_test(screen_format),  cmocka_unit_test(screen_reader_refuses_deltas),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
