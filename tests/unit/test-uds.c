/* SPDX-License-Identifier: MIT */
/* UDS builders/parsers with byte vectors in the style of the ISO 14229-1:2013 message
 * examples (clauses 9.x.5, 10.x.5, 11.x.5), every error path, the 0x78/0x21 wait machine
 * and the describer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "bodydiag/uds.h"

#define V(...) ((const uint8_t[]){__VA_ARGS__}), sizeof((const uint8_t[]){__VA_ARGS__})

static void build(int r, const uint8_t *buf, const size_t *len, const uint8_t *want, size_t want_len)
{
	/* len by pointer: read after the builder ran, whatever the argument order */
	assert_int_equal(r, 0);
	assert_int_equal(*len, want_len);
	assert_memory_equal(buf, want, want_len);
}

static void builders(void **state)
{
	uint8_t b[64];
	size_t n = 99;

	build(uds_build_session_control(0x03, false, b, sizeof(b), &n), b, &n, V(0x10, 0x03));
	build(uds_build_session_control(0x01, true, b, sizeof(b), &n), b, &n, V(0x10, 0x81));
	assert_int_equal(uds_build_session_control(0x00, false, b, sizeof(b), &n), -EINVAL);
	assert_int_equal(uds_build_session_control(0x7f, false, b, sizeof(b), &n), -EINVAL);
	n = 99;
	assert_int_equal(uds_build_session_control(0x03, false, b, 1, &n), -ENOBUFS);
	assert_int_equal(n, 99);

	build(uds_build_clear_dtc(UDS_DTC_GROUP_ALL, -1, b, sizeof(b), &n), b, &n, V(0x14, 0xff, 0xff, 0xff));
	build(uds_build_clear_dtc(0xffff33, 0x01, b, sizeof(b), &n), b, &n, V(0x14, 0xff, 0xff, 0x33, 0x01));
	assert_int_equal(uds_build_clear_dtc(0x1000000, -1, b, sizeof(b), &n), -EINVAL);

	build(uds_build_rdtci_status_mask(0x01, 0x84, b, sizeof(b), &n), b, &n, V(0x19, 0x01, 0x84));
	build(uds_build_rdtci_status_mask(0x02, 0x09, b, sizeof(b), &n), b, &n, V(0x19, 0x02, 0x09));
	assert_int_equal(uds_build_rdtci_status_mask(0x04, 0x09, b, sizeof(b), &n), -EINVAL);
	build(uds_build_rdtci_dtc_record(0x04, 0x123456, 0x01, b, sizeof(b), &n), b, &n,
	      V(0x19, 0x04, 0x12, 0x34, 0x56, 0x01));
	build(uds_build_rdtci_dtc_record(0x06, 0x9a4013, 0xff, b, sizeof(b), &n), b, &n,
	      V(0x19, 0x06, 0x9a, 0x40, 0x13, 0xff));
	assert_int_equal(uds_build_rdtci_dtc_record(0x02, 0x123456, 0x01, b, sizeof(b), &n), -EINVAL);
	build(uds_build_rdtci(0x0a, b, sizeof(b), &n), b, &n, V(0x19, 0x0a));
	assert_int_equal(uds_build_rdtci(0x02, b, sizeof(b), &n), -EINVAL);

	const uint16_t dids[] = {0xf190, 0xf187, 0x010a};
	build(uds_build_read_did(dids, 3, b, sizeof(b), &n), b, &n, V(0x22, 0xf1, 0x90, 0xf1, 0x87, 0x01, 0x0a));
	assert_int_equal(uds_build_read_did(dids, 0, b, sizeof(b), &n), -EINVAL);
	assert_int_equal(uds_build_read_did(dids, 3, b, 6, &n), -ENOBUFS);

	build(uds_build_security_seed_request(0x01, NULL, 0, b, sizeof(b), &n), b, &n, V(0x27, 0x01));
	build(uds_build_security_send_key(0x01, V(0xc9, 0xa9), b, sizeof(b), &n), b, &n, V(0x27, 0x02, 0xc9, 0xa9));
	assert_int_equal(uds_build_security_seed_request(0x02, NULL, 0, b, sizeof(b), &n), -EINVAL);
	assert_int_equal(uds_build_security_seed_request(0x7f, NULL, 0, b, sizeof(b), &n), -EINVAL);

	build(uds_build_write_did(0xf190, (const uint8_t *)"W0L000051T2123456", 17, b, sizeof(b), &n), b, &n,
	      V(0x2e, 0xf1, 0x90, 'W', '0', 'L', '0', '0', '0', '0', '5', '1', 'T', '2', '1', '2', '3', '4',
		'5', '6'));

	/* ISO 14229-1:2013 12.2.5 style: shortTermAdjustment of DID 0x9B00 to 0x3C */
	build(uds_build_io_control(0x9b00, UDS_IO_SHORT_TERM_ADJUSTMENT, V(0x3c), NULL, 0, b, sizeof(b), &n), b,
	      &n, V(0x2f, 0x9b, 0x00, 0x03, 0x3c));
	build(uds_build_io_control(0x9b00, UDS_IO_RETURN_CONTROL_TO_ECU, NULL, 0, NULL, 0, b, sizeof(b), &n), b,
	      &n, V(0x2f, 0x9b, 0x00, 0x00));
	build(uds_build_io_control(0x0155, UDS_IO_SHORT_TERM_ADJUSTMENT, V(0x01), V(0x80), b, sizeof(b), &n), b,
	      &n, V(0x2f, 0x01, 0x55, 0x03, 0x01, 0x80));
	assert_int_equal(uds_build_io_control(0x9b00, UDS_IO_SHORT_TERM_ADJUSTMENT, NULL, 0, NULL, 0, b,
					      sizeof(b), &n), -EINVAL);
	assert_int_equal(uds_build_io_control(0x9b00, UDS_IO_FREEZE_CURRENT_STATE, V(0x01), NULL, 0, b,
					      sizeof(b), &n), -EINVAL);
	assert_int_equal(uds_build_io_control(0x9b00, 4, NULL, 0, NULL, 0, b, sizeof(b), &n), -EINVAL);

	build(uds_build_routine_control(UDS_ROUTINE_START, 0xff00, V(0x01, 0x02), false, b, sizeof(b), &n), b, &n,
	      V(0x31, 0x01, 0xff, 0x00, 0x01, 0x02));
	build(uds_build_routine_control(UDS_ROUTINE_RESULTS, 0x0203, NULL, 0, true, b, sizeof(b), &n), b, &n,
	      V(0x31, 0x83, 0x02, 0x03));
	assert_int_equal(uds_build_routine_control(0x04, 0xff00, NULL, 0, false, b, sizeof(b), &n), -EINVAL);

	build(uds_build_tester_present(false, b, sizeof(b), &n), b, &n, V(0x3e, 0x00));
	build(uds_build_tester_present(true, b, sizeof(b), &n), b, &n, V(0x3e, 0x80));
	assert_true(uds_request_suppresses_response(V(0x3e, 0x80)));
	assert_false(uds_request_suppresses_response(V(0x3e, 0x00)));
	assert_false(uds_request_suppresses_response(V(0x22, 0x80, 0x00))); /* no sub-function */
}

static int toy_key(void *ud, uint8_t level, const uint8_t *seed, size_t seed_len, uint8_t *key, size_t cap,
		   size_t *ret_len)
{
	if (seed_len > cap)
		return -ENOBUFS;
	for (size_t i = 0; i < seed_len; i++)
		key[i] = (uint8_t)(seed[i] ^ 0xff ^ level);
	*ret_len = seed_len;
	return 0;
}

static int failing_key(void *ud, uint8_t level, const uint8_t *seed, size_t seed_len, uint8_t *key, size_t cap,
		       size_t *ret_len)
{
	return -ENOKEY;
}

static void security_access(void **state)
{
	struct uds_security_response s;
	uint8_t b[16];
	size_t n;

	assert_int_equal(uds_parse_security_access(V(0x27, 0x01), V(0x67, 0x01, 0x36, 0x57), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_OK);
	assert_int_equal(s.subfn, 0x01);
	assert_int_equal(s.seed_len, 2);
	assert_int_equal(s.seed[0], 0x36);
	assert_false(s.already_unlocked);
	build(uds_build_security_key_from_seed(0x01, s.seed, s.seed_len, toy_key, NULL, b, sizeof(b), &n), b, &n,
	      V(0x27, 0x02, 0x36 ^ 0xfe, 0x57 ^ 0xfe));
	assert_int_equal(uds_build_security_key_from_seed(0x01, s.seed, 2, failing_key, NULL, b, sizeof(b), &n),
			 -ENOKEY);
	assert_int_equal(uds_build_security_key_from_seed(0x01, s.seed, 2, toy_key, NULL, b, 3, &n), -ENOBUFS);

	assert_int_equal(uds_parse_security_access(V(0x27, 0x01), V(0x67, 0x01, 0x00, 0x00), &s), 0);
	assert_true(s.already_unlocked);
	assert_int_equal(uds_parse_security_access(V(0x27, 0x01), V(0x67, 0x01), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_security_access(V(0x27, 0x02, 0xc9, 0xa9), V(0x67, 0x02), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_OK);
	assert_int_equal(uds_parse_security_access(V(0x27, 0x02, 0xc9, 0xa9), V(0x7f, 0x27, 0x35), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_NEGATIVE);
	assert_int_equal(s.r.nrc, UDS_NRC_INVALID_KEY);
	assert_int_equal(uds_parse_security_access(V(0x27, 0x03), V(0x67, 0x01, 0x11), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_WRONG_SUBFUNCTION);
}

static void session_and_reset(void **state)
{
	struct uds_session_response s;
	struct uds_ecu_reset_response e;
	struct uds_timing t;

	/* 9.2.5: 50 02 + P2 = 0x0032 (50 ms), P2* = 0x01F4 * 10 ms (5000 ms) */
	assert_int_equal(uds_parse_session_control(V(0x10, 0x02), V(0x50, 0x02, 0x00, 0x32, 0x01, 0xf4), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_OK);
	assert_int_equal(s.session, 0x02);
	assert_true(s.has_timing);
	assert_int_equal(s.p2_us, 50000);
	assert_int_equal(s.p2star_us, 5000000);
	uds_timing_init(&t);
	t.p2_us = 1;
	uds_timing_from_session(&t, &s, 10000);
	assert_int_equal(t.p2_us, 60000);
	assert_int_equal(t.p2star_us, 5010000);
	/* SPRMIB in the request: the echo has it cleared */
	assert_int_equal(uds_parse_session_control(V(0x10, 0x83), V(0x50, 0x03, 0x00, 0x19, 0x00, 0x64), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_OK);
	assert_int_equal(s.p2_us, 25000);
	assert_int_equal(s.p2star_us, 1000000);
	/* an old server without timing */
	assert_int_equal(uds_parse_session_control(V(0x10, 0x03), V(0x50, 0x03), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_OK);
	assert_false(s.has_timing);
	uds_timing_init(&t);
	uds_timing_from_session(&t, &s, 0);
	assert_int_equal(t.p2_us, 50000);
	/* errors */
	assert_int_equal(uds_parse_session_control(V(0x10, 0x03), V(0x50, 0x03, 0x00, 0x32), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_session_control(V(0x10, 0x03), V(0x50, 0x03, 0x00, 0x32, 0x01, 0xf4, 0x00), &s),
			 0);
	assert_int_equal(s.r.result, UDS_RESULT_INVALID_LENGTH);
	assert_int_equal(uds_parse_session_control(V(0x10, 0x03), V(0x50, 0x02, 0x00, 0x32, 0x01, 0xf4), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_WRONG_SUBFUNCTION);
	assert_int_equal(uds_parse_session_control(V(0x10, 0x03), V(0x50), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_session_control(V(0x10, 0x03), V(0x7f, 0x10, 0x7e), &s), 0);
	assert_int_equal(s.r.result, UDS_RESULT_NEGATIVE);
	assert_int_equal(s.r.nrc, UDS_NRC_SUB_FUNCTION_NOT_SUPPORTED_IN_ACTIVE_SESSION);
	assert_int_equal(uds_parse_session_control(NULL, 0, V(0x50), &s), -EINVAL);
	/* a request of another service, or a "request" that is a response SID */
	assert_int_equal(uds_parse_session_control(V(0x22, 0xf1, 0x90), V(0x50, 0x03), &s), -EINVAL);
	assert_int_equal(uds_parse_session_control(V(0xc3, 0x03), V(0x03), &s), -EINVAL);

	assert_int_equal(uds_parse_ecu_reset(V(0x11, 0x01), V(0x51, 0x01), &e), 0);
	assert_int_equal(e.r.result, UDS_RESULT_OK);
	assert_int_equal(e.reset_type, 0x01);
	assert_false(e.has_power_down_time);
	assert_int_equal(uds_parse_ecu_reset(V(0x11, 0x04), V(0x51, 0x04, 0x0f), &e), 0);
	assert_int_equal(e.r.result, UDS_RESULT_OK);
	assert_true(e.has_power_down_time);
	assert_int_equal(e.power_down_time_s, 15);
	assert_int_equal(uds_parse_ecu_reset(V(0x11, 0x04), V(0x51, 0x04), &e), 0);
	assert_int_equal(e.r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_ecu_reset(V(0x11, 0x01), V(0x51, 0x01, 0x00), &e), 0);
	assert_int_equal(e.r.result, UDS_RESULT_INVALID_LENGTH);
}

static void classification(void **state)
{
	struct uds_response r;

	/* response to another service */
	assert_int_equal(uds_check_response(V(0x22, 0xf1, 0x90), V(0x50, 0x01), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_OTHER_SERVICE);
	/* negative response echoing another SID */
	assert_int_equal(uds_check_response(V(0x22, 0xf1, 0x90), V(0x7f, 0x10, 0x22), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_WRONG_SID_ECHO);
	/* truncated negative response */
	assert_int_equal(uds_check_response(V(0x22, 0xf1, 0x90), V(0x7f, 0x22), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_TRUNCATED);
	/* an NRC the standard does not define is still data */
	assert_int_equal(uds_check_response(V(0x22, 0xf1, 0x90), V(0x7f, 0x22, 0x99), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_NEGATIVE);
	assert_int_equal(r.nrc, 0x99);
	assert_string_equal(uds_nrc_name(r.nrc), "reservedForSpecificConditionsNotCorrect");
	/* the request echoed back (a loop-back, not a response) */
	assert_int_equal(uds_check_response(V(0x22, 0xf1, 0x90), V(0x22, 0xf1, 0x90), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_NOT_A_RESPONSE);
	assert_int_equal(uds_check_response(V(0x22, 0xf1, 0x90), NULL, 0, &r), 0);
	assert_int_equal(r.result, UDS_RESULT_TRUNCATED);
	/* DID echo of 0x2E */
	assert_int_equal(uds_parse_write_did(V(0x2e, 0xf1, 0x90, 0x41), V(0x6e, 0xf1, 0x90), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(uds_parse_write_did(V(0x2e, 0xf1, 0x90, 0x41), V(0x6e, 0xf1, 0x91), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_WRONG_IDENTIFIER);
	assert_int_equal(uds_parse_write_did(V(0x2e, 0xf1, 0x90, 0x41), V(0x6e, 0xf1), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_write_did(V(0x2e, 0xf1, 0x90, 0x41), V(0x6e, 0xf1, 0x90, 0x00), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_INVALID_LENGTH);
	/* clear, tester present */
	assert_int_equal(uds_parse_clear_dtc(V(0x14, 0xff, 0xff, 0xff), V(0x54), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(uds_parse_clear_dtc(V(0x14, 0xff, 0xff, 0xff), V(0x7f, 0x14, 0x22), &r), 0);
	assert_int_equal(r.nrc, UDS_NRC_CONDITIONS_NOT_CORRECT);
	assert_int_equal(uds_parse_tester_present(V(0x3e, 0x00), V(0x7e, 0x00), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(uds_parse_tester_present(V(0x3e, 0x00), V(0x7e, 0x01), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_WRONG_SUBFUNCTION);
	assert_int_equal(uds_parse_tester_present(V(0x3e, 0x00), V(0x7e), &r), 0);
	assert_int_equal(r.result, UDS_RESULT_TRUNCATED);
}

static void names(void **state)
{
	assert_string_equal(uds_nrc_name(0x10), "generalReject");
	assert_string_equal(uds_nrc_name(0x21), "busyRepeatRequest");
	assert_string_equal(uds_nrc_name(0x22), "conditionsNotCorrect");
	assert_string_equal(uds_nrc_name(0x31), "requestOutOfRange");
	assert_string_equal(uds_nrc_name(0x33), "securityAccessDenied");
	assert_string_equal(uds_nrc_name(0x78), "requestCorrectlyReceivedResponsePending");
	assert_string_equal(uds_nrc_name(0x7e), "subFunctionNotSupportedInActiveSession");
	assert_string_equal(uds_nrc_name(0x7f), "serviceNotSupportedInActiveSession");
	assert_string_equal(uds_nrc_name(0x93), "voltageTooLow");
	assert_string_equal(uds_nrc_name(0x40), "reservedByExtendedDataLinkSecurityDocument");
	assert_string_equal(uds_nrc_name(0xf5), "vehicleManufacturerSpecificConditionsNotCorrect");
	assert_string_equal(uds_nrc_name(0xff), "ISOSAEReserved");
	assert_string_equal(uds_nrc_name(0x15), "ISOSAEReserved");
	for (unsigned v = 0; v < 256; v++)
		assert_non_null(uds_nrc_name((uint8_t)v));
	assert_string_equal(uds_service_name(0x19), "ReadDTCInformation");
	assert_string_equal(uds_service_name(0x59), "ReadDTCInformation");
	assert_string_equal(uds_service_name(0xc5), "ControlDTCSetting");
	assert_null(uds_service_name(0x01));
	assert_string_equal(uds_did_name(0xf190), "VIN");
	assert_string_equal(uds_did_name(0xf18c), "ECUSerialNumber");
	assert_null(uds_did_name(0xf18f));
	assert_null(uds_did_name(0x1234));
	assert_string_equal(uds_session_name(0x03), "extendedDiagnosticSession");
	assert_string_equal(uds_rdtci_name(0x02), "reportDTCByStatusMask");
	assert_string_equal(uds_rdtci_name(0x0a), "reportSupportedDTC");
	assert_null(uds_rdtci_name(0x30));
	assert_string_equal(uds_dtc_format_name(0x01), "ISO_14229-1_DTCFormat");
	assert_string_equal(uds_result_name(UDS_RESULT_OTHER_SERVICE), "response to another service");
	assert_string_equal(uds_result_name(UDS_RESULT_MAX), "?");
}

static void read_dtc_information(void **state)
{
	struct uds_rdtci_response d;
	struct uds_dtc_record rec;

	/* 0x01: availability 0xFF, ISO 14229-1 format, 3 DTCs */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x01, 0x09), V(0x59, 0x01, 0xff, 0x01, 0x00, 0x03), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_OK);
	assert_int_equal(d.shape, UDS_RDTCI_SHAPE_COUNT);
	assert_int_equal(d.availability_mask, 0xff);
	assert_int_equal(d.dtc_format, 0x01);
	assert_int_equal(d.dtc_count, 3);
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x01, 0x09), V(0x59, 0x01, 0xff, 0x01, 0x00), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_TRUNCATED);

	/* 0x02: two DTCs */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x02, 0x09),
					 V(0x59, 0x02, 0x7f, 0x9a, 0x40, 0x13, 0x09, 0xb2, 0x65, 0x11, 0x2f), &d),
			 0);
	assert_int_equal(d.r.result, UDS_RESULT_OK);
	assert_int_equal(d.shape, UDS_RDTCI_SHAPE_DTC_LIST);
	assert_int_equal(d.availability_mask, 0x7f);
	assert_int_equal(d.n_dtcs, 2);
	assert_int_equal(uds_rdtci_dtc(&d, 0, &rec), 0);
	assert_int_equal(rec.dtc, 0x9a4013);
	assert_int_equal(rec.status, 0x09);
	assert_int_equal(uds_rdtci_dtc(&d, 1, &rec), 0);
	assert_int_equal(rec.dtc, 0xb26511);
	assert_int_equal(rec.status, 0x2f);
	assert_int_equal(uds_rdtci_dtc(&d, 2, &rec), -ERANGE);
	/* no DTCs */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x02, 0x09), V(0x59, 0x02, 0x7f), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_OK);
	assert_int_equal(d.n_dtcs, 0);
	/* a partial record: length lie */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x02, 0x09), V(0x59, 0x02, 0x7f, 0x9a, 0x40, 0x13), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_INVALID_LENGTH);
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x02, 0x09), V(0x59, 0x02), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_TRUNCATED);
	/* wrong sub-function echo */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x02, 0x09), V(0x59, 0x0a, 0x7f), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_WRONG_SUBFUNCTION);
	/* 0x0A supported DTCs */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x0a), V(0x59, 0x0a, 0xff, 0x9a, 0x40, 0x13, 0x00), &d), 0);
	assert_int_equal(d.n_dtcs, 1);

	/* 0x04 snapshot: DTC 0x123456 status 0x24, record 1 with 2 DIDs */
	const uint8_t snap[] = {0x59, 0x04, 0x12, 0x34, 0x56, 0x24, 0x01, 0x02, 0x47, 0x11, 0xa6,
				0xf1, 0x90, 'W', '0', 'L'};
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x04, 0x12, 0x34, 0x56, 0x01), snap, sizeof(snap), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_OK);
	assert_int_equal(d.shape, UDS_RDTCI_SHAPE_DTC_RECORDS);
	assert_int_equal(d.dtc, 0x123456);
	assert_int_equal(d.status, 0x24);
	assert_int_equal(d.records_len, 10);
	{
		const struct uds_len_entry e[] = {{0x4711, 1}};
		struct uds_len_table tab = {e, 1};
		struct uds_snapshot_did out[4];
		size_t n;
		enum uds_result res;

		assert_int_equal(uds_split_snapshots(d.records, d.records_len, uds_len_table_lookup, &tab, out, 4, &n,
						     &res), 0);
		assert_int_equal(res, UDS_RESULT_OK);
		assert_int_equal(n, 2);
		assert_int_equal(out[0].record, 1);
		assert_int_equal(out[0].did, 0x4711);
		assert_int_equal(out[0].len, 1);
		assert_int_equal(out[0].data[0], 0xa6);
		assert_int_equal(out[1].did, 0xf190);
		assert_int_equal(out[1].len, 3); /* last DID takes the rest */
		/* without lengths the first DID cannot be split */
		assert_int_equal(uds_split_snapshots(d.records, d.records_len, NULL, NULL, out, 4, &n, &res), 0);
		assert_int_equal(res, UDS_RESULT_UNKNOWN_DID_LENGTH);
		assert_int_equal(n, 0);
		/* a length lie: the table says 9 bytes */
		const struct uds_len_entry big[] = {{0x4711, 9}};
		struct uds_len_table tb = {big, 1};
		assert_int_equal(uds_split_snapshots(d.records, d.records_len, uds_len_table_lookup, &tb, out, 4, &n,
						     &res), 0);
		assert_int_equal(res, UDS_RESULT_INVALID_LENGTH);
		assert_int_equal(uds_split_snapshots(d.records, d.records_len, uds_len_table_lookup, &tab, out, 1, &n,
						     &res), -ENOBUFS);
	}
	/* DTC echo differs */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x04, 0x12, 0x34, 0x57, 0x01), snap, sizeof(snap), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_WRONG_IDENTIFIER);

	/* 0x06 extended data: records 0x01 (1 byte) and 0x02 (2 bytes) */
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x06, 0x9a, 0x40, 0x13, 0xff),
					 V(0x59, 0x06, 0x9a, 0x40, 0x13, 0x09, 0x01, 0x05, 0x02, 0x00, 0x2a), &d),
			 0);
	assert_int_equal(d.r.result, UDS_RESULT_OK);
	{
		const struct uds_len_entry e[] = {{0x01, 1}, {0x02, 2}};
		struct uds_len_table tab = {e, 2};
		struct uds_ext_record out[4];
		size_t n;
		enum uds_result res;

		assert_int_equal(uds_split_ext_records(d.records, d.records_len, uds_len_table_lookup, &tab, out, 4,
						       &n, &res), 0);
		assert_int_equal(res, UDS_RESULT_OK);
		assert_int_equal(n, 2);
		assert_int_equal(out[0].number, 1);
		assert_int_equal(out[0].data[0], 0x05);
		assert_int_equal(out[1].number, 2);
		assert_int_equal(out[1].len, 2);
		const struct uds_len_entry lie[] = {{0x01, 1}, {0x02, 5}};
		struct uds_len_table tl = {lie, 2};
		assert_int_equal(uds_split_ext_records(d.records, d.records_len, uds_len_table_lookup, &tl, out, 4,
						       &n, &res), 0);
		assert_int_equal(res, UDS_RESULT_INVALID_LENGTH);
		assert_int_equal(n, 1);
	}
	assert_int_equal(uds_parse_rdtci(V(0x19, 0x06, 0x9a, 0x40, 0x13, 0xff), V(0x59, 0x06, 0x9a, 0x40), &d), 0);
	assert_int_equal(d.r.result, UDS_RESULT_TRUNCATED);
}

static int did_len(void *ud, uint16_t did)
{
	switch (did) {
	case 0x010a: return 3;
	case 0x0110: return 1;
	case 0xf190: return 17;
	}
	return -1;
}

static void read_data_by_identifier(void **state)
{
	struct uds_did_value v[4];
	struct uds_response r;
	size_t n;

	/* 10.2.5.1 style: one DID, the VIN */
	assert_int_equal(uds_parse_read_did(V(0x22, 0xf1, 0x90),
					    V(0x62, 0xf1, 0x90, 'W', '0', 'L', '0', '0', '0', '0', '5', '1', 'T',
					      '2', '1', '2', '3', '4', '5', '6'),
					    NULL, NULL, v, 4, &n, &r),
			 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].did, 0xf190);
	assert_int_equal(v[0].len, 17);
	assert_memory_equal(v[0].data, "W0L000051T2123456", 17);

	/* 10.2.5.2 style: two DIDs in one request, lengths from the caller */
	const uint8_t req[] = {0x22, 0x01, 0x0a, 0x01, 0x10};
	const uint8_t resp[] = {0x62, 0x01, 0x0a, 0xa6, 0x66, 0x07, 0x01, 0x10, 0x8c};
	assert_int_equal(uds_parse_read_did(req, sizeof(req), resp, sizeof(resp), did_len, NULL, v, 4, &n, &r), 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].did, 0x010a);
	assert_int_equal(v[0].len, 3);
	assert_int_equal(v[1].did, 0x0110);
	assert_int_equal(v[1].data[0], 0x8c);
	/* a table works the same */
	const struct uds_len_entry e[] = {{0x010a, 3}, {0x0110, 1}};
	struct uds_len_table tab = {e, 2};
	assert_int_equal(uds_parse_read_did(req, sizeof(req), resp, sizeof(resp), uds_len_table_lookup, &tab, v, 4,
					    &n, &r), 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(n, 2);
	/* the server left out an unsupported DID: fine */
	assert_int_equal(uds_parse_read_did(req, sizeof(req), V(0x62, 0x01, 0x10, 0x8c), did_len, NULL, v, 4, &n, &r),
			 0);
	assert_int_equal(r.result, UDS_RESULT_OK);
	assert_int_equal(n, 1);
	/* unknown length of a DID that is not the last: cannot split */
	assert_int_equal(uds_parse_read_did(req, sizeof(req), resp, sizeof(resp), NULL, NULL, v, 4, &n, &r), 0);
	assert_int_equal(r.result, UDS_RESULT_UNKNOWN_DID_LENGTH);
	/* a DID nobody asked for */
	assert_int_equal(uds_parse_read_did(req, sizeof(req), V(0x62, 0xf1, 0x90, 0x01), did_len, NULL, v, 4, &n, &r),
			 0);
	assert_int_equal(r.result, UDS_RESULT_UNEXPECTED_DID);
	/* length lie: 0x010A needs 3 bytes */
	assert_int_equal(uds_parse_read_did(req, sizeof(req), V(0x62, 0x01, 0x0a, 0xa6), did_len, NULL, v, 4, &n, &r),
			 0);
	assert_int_equal(r.result, UDS_RESULT_TRUNCATED);
	/* a dangling byte after the last DID */
	assert_int_equal(uds_parse_read_did(req, sizeof(req), V(0x62, 0x01, 0x10, 0x8c, 0x01), did_len, NULL, v, 4, &n,
					    &r), 0);
	assert_int_equal(r.result, UDS_RESULT_INVALID_LENGTH);
	assert_int_equal(uds_parse_read_did(req, sizeof(req), V(0x62, 0x01), did_len, NULL, v, 4, &n, &r), 0);
	assert_int_equal(r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_read_did(req, sizeof(req), V(0x7f, 0x22, 0x31), did_len, NULL, v, 4, &n, &r), 0);
	assert_int_equal(r.result, UDS_RESULT_NEGATIVE);
	assert_int_equal(r.nrc, UDS_NRC_REQUEST_OUT_OF_RANGE);
	assert_int_equal(n, 0);
	assert_int_equal(uds_parse_read_did(req, sizeof(req), resp, sizeof(resp), did_len, NULL, v, 1, &n, &r),
			 -ENOBUFS);
	assert_int_equal(uds_parse_read_did(V(0x22, 0x01), resp, sizeof(resp), did_len, NULL, v, 4, &n, &r), -EINVAL);
}

static void io_and_routine(void **state)
{
	struct uds_io_control_response io;
	struct uds_routine_response rc;

	assert_int_equal(uds_parse_io_control(V(0x2f, 0x9b, 0x00, 0x03, 0x3c), V(0x6f, 0x9b, 0x00, 0x03, 0x3c), &io), 0);
	assert_int_equal(io.r.result, UDS_RESULT_OK);
	assert_int_equal(io.did, 0x9b00);
	assert_int_equal(io.status_len, 2);
	assert_int_equal(uds_parse_io_control(V(0x2f, 0x9b, 0x00, 0x03, 0x3c), V(0x6f, 0x9b, 0x01, 0x03, 0x3c), &io), 0);
	assert_int_equal(io.r.result, UDS_RESULT_WRONG_IDENTIFIER);
	assert_int_equal(uds_parse_io_control(V(0x2f, 0x9b, 0x00, 0x03, 0x3c), V(0x6f, 0x9b, 0x00, 0x00), &io), 0);
	assert_int_equal(io.r.result, UDS_RESULT_WRONG_SUBFUNCTION);
	assert_int_equal(uds_parse_io_control(V(0x2f, 0x9b, 0x00, 0x00), V(0x6f, 0x9b, 0x00), &io), 0);
	assert_int_equal(io.r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_io_control(V(0x2f, 0x9b, 0x00, 0x03, 0x3c), V(0x7f, 0x2f, 0x22), &io), 0);
	assert_int_equal(io.r.result, UDS_RESULT_NEGATIVE);

	assert_int_equal(uds_parse_routine_control(V(0x31, 0x01, 0xff, 0x00, 0x01), V(0x71, 0x01, 0xff, 0x00, 0x10),
						   &rc), 0);
	assert_int_equal(rc.r.result, UDS_RESULT_OK);
	assert_int_equal(rc.type, 1);
	assert_int_equal(rc.rid, 0xff00);
	assert_int_equal(rc.status_len, 1);
	assert_int_equal(uds_parse_routine_control(V(0x31, 0x01, 0xff, 0x00), V(0x71, 0x01, 0xff, 0x01), &rc), 0);
	assert_int_equal(rc.r.result, UDS_RESULT_WRONG_IDENTIFIER);
	assert_int_equal(uds_parse_routine_control(V(0x31, 0x01, 0xff, 0x00), V(0x71, 0x02, 0xff, 0x00), &rc), 0);
	assert_int_equal(rc.r.result, UDS_RESULT_WRONG_SUBFUNCTION);
	assert_int_equal(uds_parse_routine_control(V(0x31, 0x01, 0xff, 0x00), V(0x71, 0x01, 0xff), &rc), 0);
	assert_int_equal(rc.r.result, UDS_RESULT_TRUNCATED);
	assert_int_equal(uds_parse_routine_control(V(0x31, 0x01, 0xff, 0x00), V(0x7f, 0x31, 0x24), &rc), 0);
	assert_int_equal(rc.r.nrc, UDS_NRC_REQUEST_SEQUENCE_ERROR);
}

static void wait_pending_and_busy(void **state)
{
	struct uds_timing t;
	struct uds_wait w;
	const uint8_t req[] = {0x31, 0x01, 0xff, 0x00};

	uds_timing_init(&t);
	t.max_pending = 2;
	uds_wait_init(&w, &t, req, sizeof(req));
	assert_int_equal(uds_wait_sent(&w, 1000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_timer_kind(&w), UDS_WAIT_TIMER_P2);
	assert_int_equal(uds_wait_deadline(&w), 1000 + 50000);
	assert_int_equal(uds_wait_timer_expired(&w, 2000), UDS_WAIT_ARM); /* early */
	/* 0x78: P2* from now */
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x78), 30000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_timer_kind(&w), UDS_WAIT_TIMER_P2STAR);
	assert_int_equal(uds_wait_deadline(&w), 30000 + 5000000);
	/* a stray response for another service does not disturb */
	assert_int_equal(uds_wait_response(&w, V(0x62, 0xf1, 0x90, 0x00), 40000), UDS_WAIT_IGNORE);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x22, 0x78), 40000), UDS_WAIT_IGNORE);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x78), 4000000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_deadline(&w), 4000000 + 5000000);
	/* third 0x78 > max_pending */
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x78), 5000000), UDS_WAIT_TOO_MANY_PENDING);
	assert_int_equal(uds_wait_response(&w, V(0x71, 0x01, 0xff, 0x00), 5000001), UDS_WAIT_IGNORE);

	/* 0x78 then the final positive response */
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x78), 10), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_response(&w, V(0x71, 0x01, 0xff, 0x00), 20), UDS_WAIT_DONE);
	/* other NRCs are final */
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x22), 10), UDS_WAIT_DONE);

	/* 0x21: resend with back-off 100, 200, 400 ms, then give up */
	uds_timing_init(&t);
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x21), 1000), UDS_WAIT_RESEND);
	assert_int_equal(uds_wait_timer_kind(&w), UDS_WAIT_TIMER_RESEND);
	assert_int_equal(uds_wait_deadline(&w), 101000);
	assert_int_equal(uds_wait_timer_expired(&w, 100999), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_timer_expired(&w, 101000), UDS_WAIT_RESEND);
	assert_int_equal(uds_wait_sent(&w, 101000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x21), 110000), UDS_WAIT_RESEND);
	assert_int_equal(uds_wait_deadline(&w), 310000);
	uds_wait_sent(&w, 310000);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x21), 320000), UDS_WAIT_RESEND);
	assert_int_equal(uds_wait_deadline(&w), 720000);
	uds_wait_sent(&w, 720000);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x31, 0x21), 730000), UDS_WAIT_TOO_MANY_BUSY);

	/* timeouts */
	uds_wait_init(&w, NULL, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_timer_expired(&w, 50000), UDS_WAIT_TIMEOUT);
	assert_int_equal(uds_wait_timer_expired(&w, 60000), UDS_WAIT_IGNORE);
	uds_wait_init(&w, NULL, req, sizeof(req));
	uds_wait_sent(&w, 0);
	uds_wait_response(&w, V(0x7f, 0x31, 0x78), 10);
	assert_int_equal(uds_wait_timer_expired(&w, 5000010), UDS_WAIT_TIMEOUT);
	/* SPRMIB: silence after P2 is success, but not after a 0x78 */
	uds_wait_init(&w, NULL, V(0x3e, 0x80));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_timer_expired(&w, 50000), UDS_WAIT_DONE_NO_RESPONSE);
	uds_wait_init(&w, NULL, V(0x31, 0x81, 0xff, 0x00));
	uds_wait_sent(&w, 0);
	uds_wait_response(&w, V(0x7f, 0x31, 0x78), 10);
	assert_int_equal(uds_wait_timer_expired(&w, 5000010), UDS_WAIT_TIMEOUT);
	/* a truncated 0x7F for our SID is final (the parser names it) */
	uds_wait_init(&w, NULL, V(0x22, 0xf1, 0x90));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x22), 10), UDS_WAIT_DONE);
	assert_string_equal(uds_wait_action_name(UDS_WAIT_TOO_MANY_BUSY), "too many busy-repeat");
}

/* P2 is met by the first frame of a long answer; N_Cr bounds each frame after it. */
static void wait_segmented_response(void **state)
{
	struct uds_timing t;
	struct uds_wait w;
	const uint8_t req[] = {0x19, 0x02, 0xff};

	uds_timing_init(&t);
	assert_int_equal(t.n_cr_us, 1000000);
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	/* a consecutive frame of no transfer we saw begin changes nothing */
	assert_int_equal(uds_wait_frame(&w, false, 10000), UDS_WAIT_IGNORE);
	assert_int_equal(uds_wait_deadline(&w), 50000);
	/* the first frame at 20 ms: P2 met; the transfer then takes far longer than P2 */
	assert_int_equal(uds_wait_frame(&w, true, 20000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_timer_kind(&w), UDS_WAIT_TIMER_N_CR);
	assert_int_equal(uds_wait_deadline(&w), 20000 + 1000000);
	for (int64_t now = 21000; now < 2000000; now += 5000)
		assert_int_equal(uds_wait_frame(&w, false, now), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_deadline(&w), 1996000 + 1000000);
	assert_int_equal(uds_wait_timer_expired(&w, 2000000), UDS_WAIT_ARM); /* early */
	assert_int_equal(uds_wait_response(&w, V(0x59, 0x02, 0xff, 0x9a, 0x40, 0x13, 0x2f), 2000000),
			 UDS_WAIT_DONE);

	/* the ECU stops mid-transfer: N_Cr after its last frame */
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_frame(&w, true, 5000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_frame(&w, false, 6000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_timer_expired(&w, 1005999), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_timer_expired(&w, 1006000), UDS_WAIT_TRANSFER_TIMEOUT);
	assert_int_equal(uds_wait_frame(&w, false, 1007000), UDS_WAIT_IGNORE);
	assert_string_equal(uds_wait_action_name(UDS_WAIT_TRANSFER_TIMEOUT), "transfer timeout (N_Cr)");

	/* after a 0x78 the long final answer starts within P2* and is bounded by N_Cr */
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x19, 0x78), 10000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_frame(&w, true, 3000000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_deadline(&w), 4000000);

	/* a long PDU that answers something else: back to the P2 wait where it stood */
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_frame(&w, true, 10000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_response(&w, V(0x62, 0xf1, 0x90, 'W', 'B', 'A', '0', '1'), 30000),
			 UDS_WAIT_IGNORE);
	assert_int_equal(uds_wait_timer_kind(&w), UDS_WAIT_TIMER_P2);
	assert_int_equal(uds_wait_deadline(&w), 50000);
	assert_int_equal(uds_wait_timer_expired(&w, 50000), UDS_WAIT_TIMEOUT);

	/* a first frame during a 0x21 back-off is no answer to the resend yet */
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_response(&w, V(0x7f, 0x19, 0x21), 1000), UDS_WAIT_RESEND);
	assert_int_equal(uds_wait_frame(&w, true, 2000), UDS_WAIT_IGNORE);
	assert_int_equal(uds_wait_timer_kind(&w), UDS_WAIT_TIMER_RESEND);
	/* a hand-made timing without N_Cr still bounds the transfer (1 s) */
	t.n_cr_us = 0;
	uds_wait_init(&w, &t, req, sizeof(req));
	uds_wait_sent(&w, 0);
	assert_int_equal(uds_wait_frame(&w, true, 1000), UDS_WAIT_ARM);
	assert_int_equal(uds_wait_deadline(&w), 1001000);
}

static void describe(const uint8_t *p, size_t n, bool resp, const char *want)
{
	char b[512];
	assert_int_equal(uds_describe(p, n, resp, b, sizeof(b)), 0);
	assert_string_equal(b, want);
}

static void describer(void **state)
{
	char b[512];

	describe(V(0x22, 0xf1, 0x90), false, "ReadDataByIdentifier DID 0xF190 (VIN)");
	describe(V(0x22, 0xf1, 0x90, 0x12, 0x34), false,
		 "ReadDataByIdentifier DID 0xF190 (VIN), DID 0x1234");
	describe(V(0x62, 0xf1, 0x90, 'W', '0', 'L', '0', '0', '0', '0', '5', '1', 'T', '2', '1', '2', '3', '4', '5',
		   '6'),
		 true, "PR ReadDataByIdentifier DID 0xF190 (VIN) = 57 30 4C 30 30 30 30 35 31 54 32 31 32 33 34 35 36 "
		       "\"W0L000051T2123456\"");
	describe(V(0x7f, 0x22, 0x31), true, "NR ReadDataByIdentifier (0x22): requestOutOfRange (0x31)");
	describe(V(0x7f, 0x22, 0x99), true,
		 "NR ReadDataByIdentifier (0x22): reservedForSpecificConditionsNotCorrect (0x99)");
	describe(V(0x7f, 0xa5, 0x11), true, "NR service 0xA5: serviceNotSupported (0x11)");
	describe(V(0x7f, 0x22), true, "NR [truncated] 7F 22");
	describe(V(0x10, 0x83), false, "DiagnosticSessionControl extendedDiagnosticSession (0x03) [suppressPosRsp]");
	describe(V(0x50, 0x03, 0x00, 0x32, 0x01, 0xf4), true,
		 "PR DiagnosticSessionControl extendedDiagnosticSession (0x03) P2 50 ms P2* 5000 ms");
	describe(V(0x19, 0x02, 0x09), false,
		 "ReadDTCInformation reportDTCByStatusMask (0x02) mask 0x09 testFailed|confirmedDTC");
	describe(V(0x59, 0x02, 0xff, 0x9a, 0x40, 0x13, 0x09), true,
		 "PR ReadDTCInformation reportDTCByStatusMask (0x02) availability 0xFF, 1 DTC: B1A40-13 (circuit "
		 "open) status 0x09 testFailed|confirmedDTC");
	describe(V(0x59, 0x01, 0xff, 0x01, 0x00, 0x02), true,
		 "PR ReadDTCInformation reportNumberOfDTCByStatusMask (0x01) availability 0xFF format "
		 "ISO_14229-1_DTCFormat count 2");
	describe(V(0x19, 0x06, 0x9a, 0x40, 0x13, 0xff), false,
		 "ReadDTCInformation reportDTCExtDataRecordByDTCNumber (0x06) B1A40-13 (circuit open) record 0xFF");
	describe(V(0x59, 0x02, 0xff, 0x9a, 0x40), true,
		 "PR ReadDTCInformation [invalid length] 59 02 FF 9A 40");
	describe(V(0x14, 0xff, 0xff, 0xff), false, "ClearDiagnosticInformation all DTCs");
	describe(V(0x54), true, "PR ClearDiagnosticInformation");
	describe(V(0x2f, 0x9b, 0x00, 0x03, 0x3c), false,
		 "InputOutputControlByIdentifier DID 0x9B00 shortTermAdjustment 3C");
	describe(V(0x31, 0x01, 0xff, 0x00), false, "RoutineControl startRoutine (0x01) RID 0xFF00");
	describe(V(0x71, 0x01, 0xff, 0x00, 0x10), true,
		 "PR RoutineControl startRoutine (0x01) RID 0xFF00 status 10");
	describe(V(0x27, 0x01), false, "SecurityAccess requestSeed level 0x01");
	describe(V(0x67, 0x01, 0x36, 0x57), true, "PR SecurityAccess seed level 0x01 36 57");
	describe(V(0x3e, 0x80), false, "TesterPresent [suppressPosRsp]");
	describe(V(0x7e, 0x00), true, "PR TesterPresent");
	describe(V(0x51, 0x01), true, "PR ECUReset hardReset (0x01)");
	describe(V(0x85, 0x02), false, "ControlDTCSetting 02");
	describe(V(0x01, 0x0d), false, "unknown service 0x01 0D");
	describe(V(0x01, 0x0d), true, "PR? unknown response 0x01 0D");
	describe(NULL, 0, true, "empty PDU");

	/* with the request and a DID table, a multi-DID response splits */
	const uint8_t req[] = {0x22, 0x01, 0x0a, 0x01, 0x10};
	const uint8_t resp[] = {0x62, 0x01, 0x0a, 0xa6, 0x66, 0x07, 0x01, 0x10, 0x8c};
	struct uds_describe_opts o = {.did_len = did_len, .request = req, .request_len = sizeof(req)};
	assert_int_equal(uds_describe_ex(resp, sizeof(resp), true, &o, b, sizeof(b)), 0);
	assert_string_equal(b, "PR ReadDataByIdentifier DID 0x010A = A6 66 07; DID 0x0110 = 8C");
	/* snapshot and extended data records, split with the caller's lengths */
	const uint8_t snap[] = {0x59, 0x04, 0x9a, 0x40, 0x13, 0x09, 0x01, 0x02, 0x01, 0x10, 0x8c,
				0xf1, 0x8c, 'W', '0', 'L'};
	assert_int_equal(uds_describe_ex(snap, sizeof(snap), true, &o, b, sizeof(b)), 0);
	assert_string_equal(b, "PR ReadDTCInformation reportDTCSnapshotRecordByDTCNumber (0x04) B1A40-13 (circuit "
			       "open) status 0x09 testFailed|confirmedDTC, record 0x01 DID 0x0110 = 8C; record 0x01 "
			       "DID 0xF18C (ECUSerialNumber) = 57 30 4C \"W0L\"");
	assert_int_equal(uds_describe(snap, sizeof(snap), true, b, sizeof(b)), 0);
	assert_string_equal(b, "PR ReadDTCInformation reportDTCSnapshotRecordByDTCNumber (0x04) B1A40-13 (circuit "
			       "open) status 0x09 testFailed|confirmedDTC records 01 02 01 10 8C F1 8C 57 30 4C");
	describe(V(0x59, 0x06, 0x9a, 0x40, 0x13, 0x09, 0x01, 0x05), true,
		 "PR ReadDTCInformation reportDTCExtDataRecordByDTCNumber (0x06) B1A40-13 (circuit open) status "
		 "0x09 testFailed|confirmedDTC, ext 0x01 = 05");
	/* truncation is reported and the string stays terminated */
	assert_int_equal(uds_describe(V(0x22, 0xf1, 0x90), false, b, 10), -ENOBUFS);
	assert_int_equal(strlen(b), 9);
	assert_int_equal(uds_describe(V(0x22), false, b, 0), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(builders),
		cmocka_unit_test(security_access),
		cmocka_unit_test(session_and_reset),
		cmocka_unit_test(classification),
		cmocka_unit_test(names),
		cmocka_unit_test(read_dtc_information),
		cmocka_unit_test(read_data_by_identifier),
		cmocka_unit_test(io_and_routine),
		cmocka_unit_test(wait_pending_and_busy),
		cmocka_unit_test(wait_segmented_response),
		cmocka_unit_test(describer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
