/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-forward's pure parts (forward/payload.c, forward/credentials.c) and the state
 * file it shares with the daemon (daemon/forward_state.c). The payloads are checked with
 * the fleet's own validator (fleet/wire.c, what bodydiag-ingest runs): every kind from real
 * outbox rows of a history, the repairs (a VIN that is not ISO 3779, long texts, too much
 * evidence, a payload over 64 KiB, the verdict v1 lacks), the rows that cannot be sent,
 * and the status payloads. The publisher against a broker is tests/forward/.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credentials.h"
#include "daemon/forward_state.h"
#include "daemon/history_outbox.h"
#include "payload.h"
#include "wire.h"

#define VIN "WVWZZZ7HZ6W000001"
#define T0 1767225600000000ll

static const struct forward_identity ID = {.prefix = "bodydiag", .unit = "van-0042",
					   .epoch = 1767225500000000};

/* Builds the payload of a row and validates it as the ingest does; returns the record. */
static json_t *build(const char *kind, const char *vin, int64_t t_us, int64_t seq,
		     const char *body, char topic[FORWARD_MAX_TOPIC])
{
	struct history_outbox_item it = {.seq = seq, .t_us = t_us, .kind = kind, .vin = vin,
					 .body = body, .len = strlen(body)};
	struct fleet_record rec;
	struct fleet_topic tp;
	char err[256] = "", *payload = NULL;
	size_t len = 0;
	json_t *o;

	if (forward_payload_record(&ID, &it, topic, &payload, &len, err, sizeof(err)) < 0)
		fail_msg("%s row refused: %s", kind, err);
	if (fleet_record_parse(payload, len, &rec, err, sizeof(err)) < 0)
		fail_msg("the ingest refuses %s: %s", payload, err);
	assert_int_equal(fleet_topic_parse("bodydiag", topic, strlen(topic), &tp, err, sizeof(err)), 0);
	if (fleet_record_check_topic(&rec, &tp, err, sizeof(err)) < 0)
		fail_msg("%s on %s: %s", payload, topic, err);
	assert_true(len <= FLEET_MAX_PAYLOAD);
	fleet_record_finish(&rec);
	o = json_loadb(payload, len, 0, NULL);
	free(payload);
	assert_non_null(o);
	return o;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_int_t num(json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static void record_kinds(void **state)
{
	char topic[FORWARD_MAX_TOPIC];
	json_t *o;

	o = build("finding", VIN, T0 + 2000000, 118,
		  "{\"session\":17,\"id\":5,\"cause\":\"fuse_blown\",\"confidence\":0.95,"
		  "\"state\":\"holds\",\"advice\":\"Replace fuse F23\",\"evidence\":[{\"t\":1.5}]}",
		  topic);
	assert_string_equal(topic, "bodydiag/v1/van-0042/" VIN "/finding");
	assert_int_equal(num(o, "v"), 1);
	assert_string_equal(str(o, "unit"), "van-0042");
	assert_int_equal(num(o, "epoch"), ID.epoch);
	assert_int_equal(num(o, "seq"), 118);
	assert_string_equal(str(o, "time"), "2026-01-01T00:00:02.000000Z");
	assert_int_equal(num(o, "session"), 17);
	assert_int_equal(num(o, "id"), 5);
	assert_true(json_real_value(json_object_get(o, "confidence")) == 0.95);
	/* The order of docs/fleet.md: the common members first. */
	assert_string_equal(json_object_iter_key(json_object_iter(o)), "v");
	json_decref(o);

	o = build("dtc", NULL, T0 + 3250000, 119,
		  "{\"session\":null,\"id\":9,\"ecu\":\"bcm\",\"dtc\":10108947,\"status\":47,"
		  "\"old_status\":null}",
		  topic);
	assert_string_equal(topic, "bodydiag/v1/van-0042/unknown/dtc");
	assert_true(json_is_null(json_object_get(o, "vin")));
	assert_true(json_is_null(json_object_get(o, "session")));
	assert_string_equal(str(o, "code"), "B1A40-13");
	assert_int_equal(num(o, "status"), 47);
	json_decref(o);

	o = build("bus", "NOT-A-VIN", T0, 120,
		  "{\"session\":null,\"id\":3,\"interface\":\"can0\",\"event\":\"state\","
		  "\"detail\":\"ERROR-ACTIVE -> BUS-OFF\"}",
		  topic);
	assert_string_equal(topic, "bodydiag/v1/van-0042/unknown/bus"); /* not ISO 3779: null */
	assert_string_equal(str(o, "detail"), "ERROR-ACTIVE -> BUS-OFF");
	json_decref(o);

	o = build("session", VIN, T0 + 130500000, 121,
		  "{\"session\":17,\"id\":17,\"start_us\":1767225600000000,\"label\":\"diagnose trunk\","
		  "\"verdict\":\"fault\",\"top_cause\":\"fuse_blown\",\"findings\":2,\"dtcs\":1}",
		  topic);
	assert_string_equal(str(o, "start"), "2026-01-01T00:00:00.000000Z");
	assert_string_equal(str(o, "verdict"), "fault");
	assert_string_equal(str(o, "top_cause"), "fuse_blown");
	json_decref(o);
}

/* What the history may hold and the wire format may not: made to fit. */
static void repairs(void **state)
{
	char topic[FORWARD_MAX_TOPIC], *body;
	json_t *o, *ev = json_array(), *b;

	/* 2100 characters of advice, two bytes each: cut to 2048 characters. */
	char advice[4300] = "";
	for (int i = 0; i < 2100; i++)
		strcat(advice, "\xc3\xa4");
	for (int i = 0; i < 100; i++)
		json_array_append_new(ev, json_pack("{s:i,s:s}", "t", i, "text", "rises"));
	b = json_pack("{s:n,s:i,s:s,s:f,s:s,s:s,s:o}", "session", "id", 1, "cause", "x", "confidence",
		      0.5, "state", "not observable", "advice", advice, "evidence", ev);
	body = json_dumps(b, JSON_COMPACT);
	o = build("finding", VIN, T0, 1, body, topic);
	free(body);
	json_decref(b);
	assert_int_equal(json_array_size(json_object_get(o, "evidence")), 64);
	assert_int_equal(json_string_length(json_object_get(o, "advice")), 2048 * 2);
	assert_true(json_is_null(json_object_get(o, "state")));
	json_decref(o);

	/* Evidence of 64 large items: dropped from the end until the payload fits 64 KiB. */
	char big[2001];
	memset(big, 'e', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	ev = json_array();
	for (int i = 0; i < 64; i++)
		json_array_append_new(ev, json_pack("{s:s}", "text", big));
	b = json_pack("{s:i,s:i,s:s,s:n,s:n,s:n,s:o}", "session", 2, "id", 2, "cause", "x",
		      "confidence", "state", "advice", "evidence", ev);
	body = json_dumps(b, JSON_COMPACT);
	o = build("finding", NULL, T0, 2, body, topic);
	free(body);
	json_decref(b);
	size_t n = json_array_size(json_object_get(o, "evidence"));
	assert_true(n > 0 && n < 64);
	json_decref(o);

	/* Evidence stored as one object: an array of it. */
	o = build("finding", NULL, T0, 3,
		  "{\"session\":null,\"id\":3,\"cause\":\"x\",\"confidence\":null,\"state\":null,"
		  "\"advice\":null,\"evidence\":{\"a\":1}}",
		  topic);
	assert_int_equal(json_array_size(json_object_get(o, "evidence")), 1);
	json_decref(o);

	/* The daemon's fifth verdict is not in v1: the nearest one; counts within bounds. */
	o = build("session", NULL, T0 + 1, 4,
		  "{\"session\":4,\"id\":4,\"start_us\":1767225600000000,\"label\":null,"
		  "\"verdict\":\"not observable on this vehicle\",\"top_cause\":null,"
		  "\"findings\":200000,\"dtcs\":0}",
		  topic);
	assert_string_equal(str(o, "verdict"), "inconclusive");
	assert_int_equal(num(o, "findings"), 100000);
	json_decref(o);
	o = build("session", NULL, T0 + 1, 5,
		  "{\"session\":5,\"id\":5,\"start_us\":1767225600000000,\"label\":\"x\","
		  "\"verdict\":\"something else\",\"top_cause\":null,\"findings\":0,\"dtcs\":0}",
		  topic);
	assert_true(json_is_null(json_object_get(o, "verdict")));
	json_decref(o);
}

/* Rows that can never be sent, and rows sent as they are for the ingest to refuse. */
static void unsendable(void **state)
{
	static const struct {
		const char *kind, *body;
	} bad[] = {
		{"timeline", "{\"session\":1,\"id\":1}"},
		{"status", "{\"session\":1,\"id\":1}"},
		{"finding", "[1]"},
		{"finding", "{\"session\":1,\"id\":0,\"cause\":\"x\"}"},
		{"finding", "{\"session\":1,\"id\":1}"},
		{"dtc", "{\"session\":1,\"id\":1,\"ecu\":\"bcm\",\"dtc\":16777216,\"status\":1,"
			"\"old_status\":null}"},
		{"dtc", "{\"session\":1,\"id\":1,\"ecu\":\"bcm\",\"dtc\":1,\"status\":256,"
			"\"old_status\":null}"},
		{"bus", "{\"session\":1,\"id\":1,\"interface\":\"can0\"}"},
		{"session", "{\"session\":null,\"id\":1,\"start_us\":1,\"findings\":0,\"dtcs\":0}"},
		{"finding", "{not json"},
	};
	char topic[FORWARD_MAX_TOPIC], err[256], *payload = NULL;
	struct fleet_record rec;
	size_t len;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct history_outbox_item it = {.seq = 1, .t_us = T0, .kind = bad[i].kind,
						 .body = bad[i].body, .len = strlen(bad[i].body)};
		err[0] = 0;
		assert_int_equal(forward_payload_record(&ID, &it, topic, &payload, &len, err,
							sizeof(err)),
				 -EINVAL);
		assert_null(payload);
		assert_true(err[0]);
	}
	/* A cause outside the schema's pattern is not invented away: the ingest says why. */
	struct history_outbox_item it = {
		.seq = 1, .t_us = T0, .kind = "finding",
		.body = "{\"session\":1,\"id\":1,\"cause\":\"no spaces allowed\",\"confidence\":null,"
			"\"state\":null,\"advice\":null,\"evidence\":null}"};
	it.len = strlen(it.body);
	assert_int_equal(forward_payload_record(&ID, &it, topic, &payload, &len, err, sizeof(err)), 0);
	assert_int_equal(fleet_record_parse(payload, len, &rec, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "/cause"));
	free(payload);
	/* A time the wire format cannot carry (a clock never set: 1970). */
	it.t_us = 5000000;
	it.body = "{\"session\":1,\"id\":1,\"cause\":\"x\",\"confidence\":null,\"state\":null,"
		  "\"advice\":null,\"evidence\":null}";
	it.len = strlen(it.body);
	assert_int_equal(forward_payload_record(&ID, &it, topic, &payload, &len, err, sizeof(err)), 0);
	assert_int_equal(fleet_record_parse(payload, len, &rec, err, sizeof(err)), -EINVAL);
	assert_true(strncmp(err, "/time", 5) == 0 || strncmp(err, "/t_us", 5) == 0);
	free(payload);
}

static void status_payloads(void **state)
{
	static const struct {
		const char *state, *reason, *vin;
	} cases[] = {{"online", "connect", VIN}, {"offline", "will", NULL}, {"offline", "stop", "bad"}};
	char topic[FORWARD_MAX_TOPIC], err[256];
	struct fleet_record rec;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = forward_payload_status(&ID, cases[i].state, cases[i].reason, T0, T0 + 5,
						 cases[i].vin, "bodydiag 0.1.0", topic);
		assert_non_null(p);
		assert_string_equal(topic, "bodydiag/v1/van-0042/status");
		if (fleet_record_parse(p, strlen(p), &rec, err, sizeof(err)) < 0)
			fail_msg("%s: %s", p, err);
		assert_int_equal(rec.kind, FLEET_KIND_STATUS);
		assert_int_equal(rec.conn, T0);
		assert_int_equal(rec.t_us, T0 + 5);
		if (i == 0)
			assert_string_equal(rec.vin, VIN);
		else
			assert_null(rec.vin);
		fleet_record_finish(&rec);
		free(p);
	}
}

static void state_file(void **state)
{
	struct forward_state s = {.link = FORWARD_LINK_WAITING, .pid = 42, .updated_boot_us = 10000000,
				  .updated_us = T0, .since_us = T0 - 5, .retry_us = T0 + 4000000,
				  .tls = true, .epoch = ID.epoch, .published = 7, .resent = 2,
				  .receipted = 6, .rejected = 1, .connects = 3, .failures = 4,
				  .last_receipt_us = T0 - 1};
	struct forward_state r;
	char dir[] = "/tmp/bodydiag-fwdstate-XXXXXX", path[128], err[128];
	json_t *o;

	snprintf(s.broker, sizeof(s.broker), "broker.example:8883");
	snprintf(s.unit, sizeof(s.unit), "van-0042");
	snprintf(s.error, sizeof(s.error), "refused: Not authorized");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/forward.state", dir);
	assert_int_equal(forward_state_read(path, &r, err, sizeof(err)), -ENOENT);
	assert_int_equal(forward_state_write(path, &s), 0);
	assert_int_equal(forward_state_read(path, &r, err, sizeof(err)), 0);
	assert_int_equal(r.link, FORWARD_LINK_WAITING);
	assert_string_equal(r.broker, s.broker);
	assert_string_equal(r.error, s.error);
	assert_int_equal(r.failures, 4);
	assert_true(r.tls);
	/* Fresh for 30 s of CLOCK_BOOTTIME after the write, not before it, not after. */
	assert_true(forward_state_fresh(&r, 10000000 + 30000000));
	assert_false(forward_state_fresh(&r, 10000000 + 30000001));
	assert_false(forward_state_fresh(&r, 9999999));

	o = forward_state_status_json(&r, true, "cfg:1883", 12, T0 - 60000000, 3);
	assert_string_equal(str(o, "state"), "waiting");
	assert_string_equal(str(o, "broker"), "broker.example:8883");
	assert_int_equal(num(o, "backlog"), 12);
	assert_string_equal(str(o, "oldest"), "2025-12-31T23:59:00.000000Z");
	assert_string_equal(str(o, "retry"), "2026-01-01T00:00:04.000000Z");
	assert_string_equal(str(o, "error"), "refused: Not authorized");
	json_decref(o);
	o = forward_state_status_json(&r, false, "cfg:1883", 0, 0, 0);
	assert_string_equal(str(o, "state"), "not running");
	assert_true(json_is_null(json_object_get(o, "oldest")));
	json_decref(o);
	o = forward_state_status_json(NULL, false, "cfg:1883", 0, 0, 0);
	assert_string_equal(str(o, "state"), "not running");
	assert_string_equal(str(o, "broker"), "cfg:1883");
	json_decref(o);

	static const char *const bad[] = {"", "[]", "{\"link\":\"asleep\"}", "{\"link\":\"connected\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(forward_state_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0]);
	}
	unlink(path);
	rmdir(dir);
}

static void credentials(void **state)
{
	char *u = NULL, *p = NULL, err[128];

	assert_int_equal(forward_parse_credentials("car42\nsecret\n", 13, &u, &p, err, sizeof(err)), 0);
	assert_string_equal(u, "car42");
	assert_string_equal(p, "secret");
	free(u);
	free(p);
	assert_int_equal(forward_parse_credentials("car42\r\nsecret", 13, &u, &p, err, sizeof(err)), 0);
	assert_string_equal(p, "secret");
	free(u);
	free(p);

	static const struct {
		const char *in;
		const char *msg;
	} bad[] = {
		{"", "line 1, column 1: empty user name"},
		{"\nsecret\n", "line 1, column 1: empty user name"},
		{"car42", "line 2, column 1: the password line is missing"},
		{"car42\n", "line 2, column 1: empty password"},
		{"car42\nsecret\nmore\n", "line 3, column 1: nothing may follow the password"},
		{"ca\rr\nsecret\n", "line 1, column 3: stray carriage return"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		u = p = NULL;
		assert_int_equal(forward_parse_credentials(bad[i].in, strlen(bad[i].in), &u, &p, err,
							   sizeof(err)),
				 -EINVAL);
		assert_string_equal(err, bad[i].msg);
		assert_null(u);
		assert_null(p);
	}
	assert_int_equal(forward_parse_credentials("a\0b\nc\n", 6, &u, &p, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "line 1, column 2: NUL byte");

	/* From a file, with the path in the message. */
	char path[] = "/tmp/bodydiag-cred-XXXXXX", msg[256];
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "car42\nsecret\n", 13), 13);
	close(fd);
	assert_int_equal(forward_load_credentials(path, &u, &p, msg, sizeof(msg)), 0);
	assert_string_equal(u, "car42");
	assert_string_equal(p, "secret");
	free(u);
	free(p);
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_int_equal(write(fd, "car42\n", 6), 6);
	close(fd);
	assert_int_equal(forward_load_credentials(path, &u, &p, msg, sizeof(msg)), -EINVAL);
	assert_non_null(strstr(msg, ": line 2, column 1: empty password"));
	unlink(path);
	assert_int_equal(forward_load_credentials(path, &u, &p, msg, sizeof(msg)), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_kinds),	   cmocka_unit_test(repairs),
		cmocka_unit_test(unsendable),	   cmocka_unit_test(status_payloads),
		cmocka_unit_test(state_file),	   cmocka_unit_test(credentials),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
