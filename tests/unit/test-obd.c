/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/obd.h"

#define V(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void requests(void **state)
{
	uint8_t b[8];
	size_t n = 0;

	assert_int_equal(obd_build_request(0x01, V(0x0d), b, sizeof(b), &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(b, ((const uint8_t[]){0x01, 0x0d}), 2);
	assert_int_equal(obd_build_request(0x01, V(0x0c, 0x0d, 0x05, 0x42, 0x00, 0x20), b, sizeof(b), &n), 0);
	assert_int_equal(n, 7);
	assert_int_equal(obd_build_request(0x01, V(1, 2, 3, 4, 5, 6, 7), b, sizeof(b), &n), -EINVAL);
	assert_int_equal(obd_build_request(0x09, V(0x02), b, sizeof(b), &n), 0);
	assert_memory_equal(b, ((const uint8_t[]){0x09, 0x02}), 2);
	assert_int_equal(obd_build_request(0x03, NULL, 0, b, sizeof(b), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(obd_build_request(0x03, V(0x01), b, sizeof(b), &n), -EINVAL);
	assert_int_equal(obd_build_request(0x05, NULL, 0, b, sizeof(b), &n), -EINVAL);
	assert_int_equal(obd_build_request(0x01, V(0x0d), b, 1, &n), -ENOBUFS);
}

static void mode01_values(void **state)
{
	struct obd_pid_value v[8];
	struct obd_mode01_response r;
	double x;
	bool mil;
	uint8_t cnt;

	/* rpm 0x1AF8 / 4 = 1726, speed 0x32 = 50 km/h, coolant 0x7B - 40 = 83 °C,
	 * module voltage 0x3390 / 1000 = 13.2 V */
	const uint8_t resp[] = {0x41, 0x0c, 0x1a, 0xf8, 0x0d, 0x32, 0x05, 0x7b, 0x42, 0x33, 0x90};
	assert_int_equal(obd_parse_mode01(resp, sizeof(resp), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_OK);
	assert_int_equal(r.n, 4);
	assert_int_equal(obd_decode_pid(v[0].pid, v[0].data, v[0].len, &x), 0);
	assert_true(x == 1726.0);
	assert_string_equal(obd_pid_unit(0x0c), "rpm");
	assert_int_equal(obd_decode_pid(v[1].pid, v[1].data, v[1].len, &x), 0);
	assert_true(x == 50.0);
	assert_int_equal(obd_decode_pid(v[2].pid, v[2].data, v[2].len, &x), 0);
	assert_true(x == 83.0);
	assert_int_equal(obd_decode_pid(v[3].pid, v[3].data, v[3].len, &x), 0);
	assert_true(x > 13.199 && x < 13.201);
	assert_string_equal(obd_pid_name(0x0d), "vehicle speed");
	assert_int_equal(obd_decode_pid(0x0d, v[0].data, 2, &x), -EINVAL);
	assert_int_equal(obd_decode_pid(0x03, v[0].data, 2, &x), -ENOENT);
	assert_int_equal(obd_decode_monitor_status(V(0x83, 0x07, 0x65, 0x04), &mil, &cnt), 0);
	assert_true(mil);
	assert_int_equal(cnt, 3);

	/* malformed */
	assert_int_equal(obd_parse_mode01(V(0x41, 0x0c, 0x1a), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_TRUNCATED);
	assert_int_equal(obd_parse_mode01(V(0x41), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_TRUNCATED);
	assert_int_equal(obd_parse_mode01(V(0x7f, 0x01, 0x12), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_NEGATIVE);
	assert_int_equal(r.nrc, 0x12);
	assert_int_equal(obd_parse_mode01(V(0x49, 0x02, 0x01), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_WRONG_MODE);
	/* PID 0xA5 has no known length: fine alone, not in the middle */
	assert_int_equal(obd_parse_mode01(V(0x41, 0xa5, 1, 2, 3), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_OK);
	assert_int_equal(v[0].len, 3);
	assert_int_equal(obd_parse_mode01(V(0x41, 0x0d, 0x10, 0xa5, 1, 2, 3), v, 8, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_UNKNOWN_PID);
	assert_int_equal(obd_parse_mode01(resp, sizeof(resp), v, 2, &r), -ENOBUFS);
}

static void support_bitmaps(void **state)
{
	struct obd_pid_support s;
	struct obd_pid_value v[2];
	struct obd_mode01_response r;

	obd_pid_support_init(&s);
	assert_int_equal(obd_pid_support_next(&s), 0x00);
	/* PID 0x00 = BE 1F A8 13: 01,03,04,05,06,07,0C,0D,0E,0F,10,11,13,15,1C,1F,20 */
	assert_int_equal(obd_parse_mode01(V(0x41, 0x00, 0xbe, 0x1f, 0xa8, 0x13), v, 2, &r), 0);
	assert_int_equal(r.result, OBD_RESULT_OK);
	assert_int_equal(obd_pid_support_add(&s, &v[0]), 0);
	assert_true(obd_pid_supported(&s, 0x01));
	assert_false(obd_pid_supported(&s, 0x02));
	assert_true(obd_pid_supported(&s, 0x05));
	assert_true(obd_pid_supported(&s, 0x0c));
	assert_true(obd_pid_supported(&s, 0x0d));
	assert_false(obd_pid_supported(&s, 0x12));
	assert_true(obd_pid_supported(&s, 0x1f));
	assert_true(obd_pid_supported(&s, 0x20));
	assert_int_equal(obd_pid_support_next(&s), 0x20);
	/* PID 0x20 = 80 00 00 01: 0x21 and 0x40 */
	assert_int_equal(obd_parse_mode01(V(0x41, 0x20, 0x80, 0x00, 0x00, 0x01), v, 2, &r), 0);
	assert_int_equal(obd_pid_support_add(&s, &v[0]), 0);
	assert_true(obd_pid_supported(&s, 0x21));
	assert_int_equal(obd_pid_support_next(&s), 0x40);
	/* PID 0x40 = 40 00 00 00: 0x42 only, chain ends */
	assert_int_equal(obd_parse_mode01(V(0x41, 0x40, 0x40, 0x00, 0x00, 0x00), v, 2, &r), 0);
	assert_int_equal(obd_pid_support_add(&s, &v[0]), 0);
	assert_true(obd_pid_supported(&s, 0x42));
	assert_false(obd_pid_supported(&s, 0x41));
	assert_false(obd_pid_supported(&s, 0x60));
	assert_int_equal(obd_pid_support_next(&s), -1);
	/* not a support PID */
	assert_int_equal(obd_parse_mode01(V(0x41, 0x0d, 0x00), v, 2, &r), 0);
	assert_int_equal(obd_pid_support_add(&s, &v[0]), -EINVAL);
	/* two support PIDs in one response (multi-PID request) */
	obd_pid_support_init(&s);
	assert_int_equal(obd_parse_mode01(V(0x41, 0x00, 0x00, 0x00, 0x00, 0x01, 0x20, 0x00, 0x00, 0x00, 0x00), v, 2,
					  &r), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(obd_pid_support_add(&s, &v[0]), 0);
	assert_int_equal(obd_pid_support_add(&s, &v[1]), 0);
	assert_int_equal(obd_pid_support_next(&s), -1);
}

static void vin(void **state)
{
	struct obd_vin v;

	/* J1979 on CAN: 49 02 01 + 17 characters */
	assert_int_equal(obd_parse_vin(V(0x49, 0x02, 0x01, '1', 'G', '1', 'J', 'C', '5', '4', '4', '4', 'R', '7',
					 '2', '5', '2', '3', '6', '7'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_OK);
	assert_true(v.had_count);
	assert_string_equal(v.vin, "1G1JC5444R7252367");
	/* without the count byte */
	assert_int_equal(obd_parse_vin(V(0x49, 0x02, 'W', 'V', 'W', 'Z', 'Z', 'Z', '1', 'K', 'Z', 'A', 'W', '0',
					 '0', '0', '0', '0', '1'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_OK);
	assert_false(v.had_count);
	assert_string_equal(v.vin, "WVWZZZ1KZAW000001");
	/* leading 0x00 fill after the count */
	assert_int_equal(obd_parse_vin(V(0x49, 0x02, 0x01, 0x00, 0x00, 0x00, '1', 'G', '1', 'J', 'C', '5', '4', '4',
					 '4', 'R', '7', '2', '5', '2', '3', '6', '7'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_OK);
	assert_string_equal(v.vin, "1G1JC5444R7252367");
	/* malformed */
	assert_int_equal(obd_parse_vin(V(0x49, 0x02, 0x01, '1', 'G', '1'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_TRUNCATED);
	assert_int_equal(obd_parse_vin(V(0x49, 0x04, 0x01, '1'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_WRONG_PID);
	assert_int_equal(obd_parse_vin(V(0x49, 0x02, 0x01, '1', 'G', '1', 'J', 'C', '5', '4', '4', '4', 'R', '7',
					 '2', '5', '2', '3', '6', 'O'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_INVALID_DATA); /* O is not a VIN character */
	assert_string_equal(v.vin, "1G1JC5444R725236?");
	assert_int_equal(obd_parse_vin(V(0x49, 0x02, 0x02, 0x00, '1', 'G', '1', 'J', 'C', '5', '4', '4', '4', 'R',
					 '7', '2', '5', '2', '3', '6', '7'), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_INVALID_LENGTH);
	assert_int_equal(obd_parse_vin(V(0x7f, 0x09, 0x31), &v), 0);
	assert_int_equal(v.result, OBD_RESULT_NEGATIVE);
	assert_int_equal(obd_parse_vin(NULL, 0, &v), 0);
	assert_int_equal(v.result, OBD_RESULT_TRUNCATED);
}

static void dtc_lists(void **state)
{
	uint16_t d[8];
	struct obd_dtc_list l;
	char t[DTC_OBD_TEXT_MAX];

	/* CAN: 43 count DTCs */
	assert_int_equal(obd_parse_dtcs(0x03, V(0x43, 0x02, 0x04, 0x20, 0xc0, 0x73), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_OK);
	assert_true(l.had_count);
	assert_int_equal(l.n, 2);
	dtc_format_obd(d[0], t, sizeof(t));
	assert_string_equal(t, "P0420");
	dtc_format_obd(d[1], t, sizeof(t));
	assert_string_equal(t, "U0073");
	assert_int_equal(obd_parse_dtcs(0x07, V(0x47, 0x00), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_OK);
	assert_int_equal(l.n, 0);
	/* K-line style, no count, 0000 fill */
	assert_int_equal(obd_parse_dtcs(0x0a, V(0x4a, 0x01, 0x33, 0x00, 0x00, 0x00, 0x00), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_OK);
	assert_false(l.had_count);
	assert_int_equal(l.n, 1);
	assert_int_equal(d[0], 0x0133);
	/* count lies */
	assert_int_equal(obd_parse_dtcs(0x03, V(0x43, 0x03, 0x04, 0x20, 0xc0, 0x73), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_TRUNCATED);
	assert_int_equal(obd_parse_dtcs(0x03, V(0x43, 0x01, 0x04, 0x20, 0xc0, 0x73), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_INVALID_LENGTH);
	assert_int_equal(obd_parse_dtcs(0x03, V(0x47, 0x00), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_WRONG_MODE);
	assert_int_equal(obd_parse_dtcs(0x03, V(0x43), d, 8, &l), 0);
	assert_int_equal(l.result, OBD_RESULT_TRUNCATED);
	assert_int_equal(obd_parse_dtcs(0x03, V(0x43, 0x02, 0x04, 0x20, 0xc0, 0x73), d, 1, &l), -ENOBUFS);
	assert_int_equal(obd_parse_dtcs(0x01, V(0x41), d, 8, &l), -EINVAL);
	assert_string_equal(obd_result_name(OBD_RESULT_WRONG_MODE), "response to another mode");
}

static void functional_collector(void **state)
{
	struct obd_collector *c;
	struct obd_responder r;
	uint32_t req_id;

	assert_int_equal(obd_response_to_request_id(0x7e8, false, &req_id), 0);
	assert_int_equal(req_id, 0x7e0);
	assert_int_equal(obd_response_to_request_id(0x7ef, false, &req_id), 0);
	assert_int_equal(req_id, 0x7e7);
	assert_int_equal(obd_response_to_request_id(0x7f0, false, &req_id), -ENOENT);
	assert_int_equal(obd_response_to_request_id(0x7e8, true, &req_id), -ENOENT);
	assert_int_equal(obd_response_to_request_id(0x18daf110, true, &req_id), 0);
	assert_int_equal(req_id, 0x18da10f1);

	assert_int_equal(obd_collector_new(0, &c), 0);
	assert_int_equal(obd_collector_start(c, V(0x01, 0x0d), 1000, 0), 0);
	assert_int_equal(obd_collector_deadline(c), 1000 + OBD_P2_US);
	/* engine ECU and transmission answer; an unrelated frame and another mode are not taken */
	assert_int_equal(obd_collector_add(c, 0x7e9, false, V(0x41, 0x0d, 0x32), 5000), 1);
	assert_int_equal(obd_collector_add(c, 0x7e8, false, V(0x41, 0x0d, 0x32), 6000), 1);
	assert_int_equal(obd_collector_add(c, 0x7e8, false, V(0x49, 0x02, 0x01), 6000), 0);
	assert_int_equal(obd_collector_add(c, 0x123, false, V(0x41, 0x0d, 0x32), 6000), 0);
	assert_int_equal(obd_collector_add(c, 0x7e8, false, V(0x7f, 0x09, 0x78), 6000), 0);
	/* a third ECU asks for time: the window stays open for P2* */
	assert_int_equal(obd_collector_add(c, 0x7ea, false, V(0x7f, 0x01, 0x78), 7000), 1);
	assert_int_equal(obd_collector_deadline(c), 7000 + OBD_P2STAR_US);
	assert_false(obd_collector_done(c, 1000 + OBD_P2_US));
	assert_int_equal(obd_collector_add(c, 0x7ea, false, V(0x41, 0x0d, 0x31), 100000), 1);
	assert_int_equal(obd_collector_deadline(c), 1000 + OBD_P2_US);
	assert_true(obd_collector_done(c, 100000));
	assert_int_equal(obd_collector_count(c), 3);
	assert_int_equal(obd_collector_get(c, 0, &r), 0);
	assert_int_equal(r.id, 0x7e8); /* sorted by id */
	assert_int_equal(r.request_id, 0x7e0);
	assert_true(r.final);
	assert_int_equal(r.len, 3);
	assert_int_equal(obd_collector_get(c, 2, &r), 0);
	assert_int_equal(r.id, 0x7ea);
	assert_int_equal(r.n_pending, 1);
	assert_int_equal(r.pdu[2], 0x31);
	assert_int_equal(obd_collector_get(c, 3, &r), -ERANGE);
	/* restart forgets */
	assert_int_equal(obd_collector_start(c, V(0x09, 0x02), 200000, 100000), 0);
	assert_int_equal(obd_collector_count(c), 0);
	assert_int_equal(obd_collector_add(c, 0x18daf111, true, V(0x49, 0x02, 0x01), 200100), 1);
	assert_int_equal(obd_collector_get(c, 0, &r), 0);
	assert_true(r.ext);
	assert_int_equal(r.request_id, 0x18da11f1);
	/* bounded */
	uint8_t big[5000] = {0x49};
	assert_int_equal(obd_collector_add(c, 0x7e8, false, big, sizeof(big), 200200), -ENOBUFS);
	for (uint32_t a = 0; a < 16; a++)
		obd_collector_add(c, 0x18daf100 | (0x20 + a), true, V(0x49, 0x02), 200300);
	assert_int_equal(obd_collector_count(c), 16);
	assert_int_equal(obd_collector_add(c, 0x18daf1ff, true, V(0x49, 0x02), 200300), -E2BIG);
	assert_null(obd_collector_free(c));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(requests),
		cmocka_unit_test(mode01_values),
		cmocka_unit_test(support_bitmaps),
		cmocka_unit_test(vin),
		cmocka_unit_test(dtc_lists),
		cmocka_unit_test(functional_collector),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
