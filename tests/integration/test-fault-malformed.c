/* SPDX-License-Identifier: MIT */
/*
 * Fault injection, a broken ECU: the bodydiagd binary on can0 asks did.read
 * TrunkFuseVoltage (0x22 0xD107 to the profile's BCM, 0x726 -> 0x72E); a scripted ECU on
 * can1 answers with raw CAN frames that are wrong in one way each (PDU too short, wrong
 * DID echoed, unexpected service, a negative response for another service, ISO-TP
 * sequence number error, invalid single-frame length, a consecutive frame without first
 * frame). Every request ends in a named outcome (an API error code with its reason, or
 * decode_error in the result), never a hang or a crash, and after each one a correct
 * answer is decoded again: the daemon keeps serving.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "bodydiag/linux/can_raw.h"
#include "itest-daemon.h"

#define SOCK "/tmp/bd-fault-malformed.sock"
#define CONF "/tmp/bd-fault-malformed.conf"
#define LOG "/tmp/bd-fault-malformed.log"
#define REQ_ID 0x726
#define RESP_ID 0x72e

static struct itd_client api;
static int ecu = -1;

/* One frame of 8 bytes padded with 0xAA. */
static struct bd_frame frame(const uint8_t *data, size_t len)
{
	struct bd_frame f = {.id = RESP_ID, .len = 8};

	memset(f.data, 0xaa, 8);
	memcpy(f.data, data, len);
	return f;
}

static bool wait_frame(uint32_t id, struct bd_frame *ret, int ms)
{
	return itd_wait_frame(ecu, id, ret, ms);
}

struct answer {
	const char *what;
	uint8_t frames[3][8];
	size_t n_frames;
	bool wait_fc; /* a first frame: wait for the daemon's flow control before the rest */
};

/* did.read, the ECU's answer as scripted; returns the reply (caller frees). */
static json_t *exchange(const struct answer *a)
{
	struct bd_frame req, fc;
	int id = itd_send(&api, "did.read", json_pack("{s:s}", "did", "TrunkFuseVoltage"));
	int64_t end;

	assert_true(id > 0);
	if (!wait_frame(REQ_ID, &req, 20000))
		fail_msg("%s: no request on %s", a->what, ITEST_CAN1);
	assert_int_equal(req.data[0], 0x03);
	assert_int_equal(req.data[1], 0x22);
	for (size_t i = 0; i < a->n_frames; i++) {
		struct bd_frame f = frame(a->frames[i], 8);

		if (i == 1 && a->wait_fc && !wait_frame(REQ_ID, &fc, 2000))
			fail_msg("%s: no flow control", a->what);
		assert_int_equal(can_raw_send(ecu, &f), 0);
	}
	for (end = itd_mono_us() + 10000000; itd_mono_us() < end;) {
		json_t *r = itd_read(&api, 10000);
		if (!r)
			break;
		if (json_integer_value(json_object_get(r, "id")) == id)
			return r;
		json_decref(r);
	}
	itd_dump(LOG);
	fail_msg("%s: no reply from the daemon within 10 s", a->what);
	return NULL;
}

static const struct answer good = {"good", {{0x05, 0x62, 0xd1, 0x07, 0x04, 0xe2, 0xaa, 0xaa}}, 1,
				   false};

static void good_answer_decoded(const char *after)
{
	json_t *r = exchange(&good);
	json_t *v = json_array_get(json_object_get(json_object_get(r, "result"), "values"), 0);

	if (!v || json_real_value(json_object_get(v, "value")) < 12.49 ||
	    json_real_value(json_object_get(v, "value")) > 12.51) {
		itd_print_json("good answer", r);
		fail_msg("after %s: a correct answer was not decoded", after);
	}
	json_decref(r);
}

static void malformed_answers(void **state)
{
	static const struct answer bad[] = {
		{"PDU too short", {{0x03, 0x62, 0xd1, 0x07}}, 1, false},
		{"wrong DID echoed", {{0x05, 0x62, 0xd1, 0x08, 0x04, 0xe2}}, 1, false},
		{"unexpected service", {{0x03, 0x51, 0x01, 0x00}}, 1, false},
		{"positive answer of another service", {{0x03, 0x59, 0x02, 0xff}}, 1, false},
		{"negative answer for another service", {{0x03, 0x7f, 0x19, 0x31}}, 1, false},
		{"PDU longer than the DID", {{0x07, 0x62, 0xd1, 0x07, 0x04, 0xe2, 0x01, 0x02}}, 1,
		 false},
		{"ISO-TP sequence error",
		 {{0x10, 0x0a, 0x62, 0xd1, 0x07, 0x04, 0xe2, 0x00},
		  {0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}},
		 2,
		 true},
		{"single frame length 0", {{0x00, 0x62, 0xd1, 0x07, 0x04, 0xe2}}, 1, false},
		{"consecutive frame without first frame", {{0x21, 0x62, 0xd1, 0x07, 0x04, 0xe2}}, 1,
		 false},
	};
	const struct can_raw_filter flt = {.id = REQ_ID, .mask = 0x7ff};
	pid_t pid;
	json_t *r;

	itd_write_conf(CONF, SOCK, NULL, NULL, NULL);
	assert_int_equal(can_raw_open(ITEST_CAN1, &flt, 1, 0, &ecu), 0);
	api.fd = itd_start_daemon(CONF, SOCK, LOG, &pid);

	good_answer_decoded("start-up");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *code;
		json_t *res;
		int64_t t0 = itd_mono_us();

		r = exchange(&bad[i]);
		code = itd_error(r);
		res = json_object_get(r, "result");
		print_message("%s: %s \"%s\" after %.0f ms\n", bad[i].what,
			      code ? code : res ? "result" : "?",
			      code ? json_string_value(json_object_get(json_object_get(r, "error"),
								       "message"))
				   : json_string_value(json_object_get(res, "text")) ?: "",
			      (double)(itd_mono_us() - t0) / 1000);
		if (code) {
			/* Named errors of the protocol, with a reason, never internal_error. */
			assert_true(!strcmp(code, "invalid_response") || !strcmp(code, "timeout") ||
				    !strcmp(code, "isotp_error") || !strcmp(code, "transport_timeout"));
			assert_true(strlen(json_string_value(json_object_get(
					    json_object_get(r, "error"), "message"))) > 0);
		} else {
			/* A result must say what is wrong with the payload. */
			if (!json_object_get(res, "decode_error") && !json_object_get(res, "nrc")) {
				itd_print_json(bad[i].what, r);
				fail_msg("%s: answered as if it were valid", bad[i].what);
			}
		}
		json_decref(r);
		good_answer_decoded(bad[i].what);
	}
	r = itd_call(&api, "ping", NULL, 5000);
	assert_true(json_is_true(json_object_get(json_object_get(r, "result"), "pong")));
	json_decref(r);
	close(api.fd);
	close(ecu);
	assert_int_equal(itd_stop(&pid, LOG), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(malformed_answers),
	};

	return cmocka_run_group_tests(tests, itd_group_start, itd_group_end);
}
