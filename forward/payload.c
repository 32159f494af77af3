/* SPDX-License-Identifier: MIT */
/*
 * Outbox rows and the unit's status as wire format v1 payloads (docs/fleet.md); see
 * payload.h for what is repaired and what is sent as it is.
 */
#include "payload.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bodydiag/dtc.h>

#include "daemon/macro.h"
#include "wire.h"

#define MAX_ADVICE 2048 /* characters (JSON Schema counts code points) */
#define MAX_DETAIL 256
#define MAX_EVIDENCE 64
#define MAX_COUNT 100000	      /* a summary's findings and dtcs */
#define MAX_INT 9007199254740991 /* 2^53 - 1: what every JSON reader keeps exact */

static int fail(char *err, size_t size, const char *what)
{
	if (err && size)
		snprintf(err, size, "%s", what);
	return -EINVAL;
}

/* A string cut to at most max characters (on a UTF-8 boundary: jansson's strings are
 * valid UTF-8), or null for anything that is not a string. */
static json_t *text_cut(json_t *v, size_t max)
{
	const char *s = json_string_value(v);
	size_t len = json_string_length(v), chars = 0, i;

	if (!json_is_string(v))
		return json_null();
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && ++chars > max)
			break;
	return json_stringn(s, i);
}

/* v when it is one of the allowed strings, else null. */
static json_t *one_of(json_t *v, const char *const *allowed, size_t n)
{
	for (size_t i = 0; json_is_string(v) && i < n; i++)
		if (strcmp(json_string_value(v), allowed[i]) == 0)
			return json_string(allowed[i]);
	return json_null();
}

static bool int_in(json_t *v, json_int_t lo, json_int_t hi)
{
	return json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi;
}

/* A count within the schema's bound (a session that recorded more says the bound). */
static json_t *count(json_t *v)
{
	json_int_t n = json_integer_value(v);

	return json_integer(n < MAX_COUNT ? n : MAX_COUNT);
}

static json_t *time_json(int64_t t_us)
{
	char buf[40];

	return fleet_format_time(t_us, buf, sizeof(buf)) < 0 ? NULL : json_string(buf);
}

static int add_finding(json_t *o, json_t *body, char *err, size_t err_size)
{
	static const char *const states[] = {"holds", "possible", "suppressed", "ruled out"};
	json_t *c = json_object_get(body, "confidence"), *ev = json_object_get(body, "evidence");
	json_t *evidence;

	if (!json_is_string(json_object_get(body, "cause")))
		return fail(err, err_size, "finding without a cause");
	if (json_is_array(ev)) {
		evidence = json_array();
		for (size_t i = 0; evidence && i < json_array_size(ev) && i < MAX_EVIDENCE; i++)
			json_array_append(evidence, json_array_get(ev, i));
	} else {
		evidence = json_is_object(ev) ? json_pack("[O]", ev) : json_null();
	}
	json_object_set(o, "cause", json_object_get(body, "cause"));
	json_object_set_new(o, "confidence", json_is_number(c) && isfinite(json_number_value(c))
						     ? json_real(json_number_value(c))
						     : json_null());
	json_object_set_new(o, "state", one_of(json_object_get(body, "state"), states,
					       ARRAY_SIZE(states)));
	json_object_set_new(o, "advice", text_cut(json_object_get(body, "advice"), MAX_ADVICE));
	json_object_set_new(o, "evidence", evidence);
	return 0;
}

static int add_dtc(json_t *o, json_t *body, char *err, size_t err_size)
{
	json_t *dtc = json_object_get(body, "dtc"), *old = json_object_get(body, "old_status");
	char code[16];

	if (!json_is_string(json_object_get(body, "ecu")) || !int_in(dtc, 0, 0xffffff) ||
	    !int_in(json_object_get(body, "status"), 0, 255) ||
	    !(json_is_null(old) || int_in(old, 0, 255)) ||
	    dtc_format((uint32_t)json_integer_value(dtc), code, sizeof(code)) < 0)
		return fail(err, err_size, "DTC transition without ecu, dtc or status bytes");
	json_object_set(o, "ecu", json_object_get(body, "ecu"));
	json_object_set(o, "dtc", dtc);
	json_object_set_new(o, "code", json_string(code));
	json_object_set(o, "status", json_object_get(body, "status"));
	json_object_set(o, "old_status", old);
	return 0;
}

static int add_bus(json_t *o, json_t *body, char *err, size_t err_size)
{
	if (!json_is_string(json_object_get(body, "interface")) ||
	    !json_is_string(json_object_get(body, "event")))
		return fail(err, err_size, "bus event without interface or event");
	json_object_set(o, "interface", json_object_get(body, "interface"));
	json_object_set(o, "event", json_object_get(body, "event"));
	json_object_set_new(o, "detail", text_cut(json_object_get(body, "detail"), MAX_DETAIL));
	return 0;
}

static int add_session(json_t *o, json_t *body, char *err, size_t err_size)
{
	static const char *const verdicts[] = {"fault", "blocked",
					       "no fault found in the release chain", "inconclusive"};
	json_t *start = json_object_get(body, "start_us"), *top = json_object_get(body, "top_cause");
	json_t *verdict = json_object_get(body, "verdict"), *start_time;

	if (!json_is_integer(start) || !int_in(json_object_get(body, "findings"), 0, INT64_MAX) ||
	    !int_in(json_object_get(body, "dtcs"), 0, INT64_MAX) ||
	    !int_in(json_object_get(body, "session"), 1, MAX_INT))
		return fail(err, err_size, "session summary without start, session or counts");
	start_time = time_json(json_integer_value(start));
	if (!start_time)
		return fail(err, err_size, "session start out of range");
	json_object_set_new(o, "start", start_time);
	json_object_set(o, "start_us", start);
	json_object_set_new(o, "label", text_cut(json_object_get(body, "label"), MAX_DETAIL));
	/* A verdict v1 does not list: the nearest it has (rules_verdict.h). */
	if (json_is_string(verdict) &&
	    strcmp(json_string_value(verdict), "not observable on this vehicle") == 0)
		json_object_set_new(o, "verdict", json_string("inconclusive"));
	else
		json_object_set_new(o, "verdict", one_of(verdict, verdicts, ARRAY_SIZE(verdicts)));
	json_object_set_new(o, "top_cause", json_is_string(top) ? json_incref(top) : json_null());
	json_object_set_new(o, "findings", count(json_object_get(body, "findings")));
	json_object_set_new(o, "dtcs", count(json_object_get(body, "dtcs")));
	return 0;
}

/* The payload as JSON text; evidence dropped from the end until it fits the 64 KiB. */
static char *dump_fitting(json_t *o, size_t *ret_len)
{
	json_t *ev = json_object_get(o, "evidence");
	char *s;

	for (;;) {
		s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(15));
		if (!s)
			return NULL;
		*ret_len = strlen(s);
		if (*ret_len <= FLEET_MAX_PAYLOAD || !json_is_array(ev) || json_array_size(ev) == 0)
			return s;
		free(s);
		json_array_remove(ev, json_array_size(ev) - 1);
	}
}

int forward_payload_record(const struct forward_identity *id, const struct history_outbox_item *it,
			   char topic[FORWARD_MAX_TOPIC], char **ret_payload, size_t *ret_len,
			   char *err, size_t err_size)
{
	enum fleet_kind kind = FLEET_KIND_MAX;
	const char *vin = it->vin && fleet_vin_valid(it->vin, strlen(it->vin)) ? it->vin : NULL;
	json_t *body, *o, *session, *t;
	json_error_t jerr;
	char *payload;
	size_t len;
	int r;

	for (unsigned k = 0; it->kind && k < FLEET_KIND_MAX; k++)
		if (fleet_kind_is_record((enum fleet_kind)k) &&
		    strcmp(it->kind, fleet_kind_name((enum fleet_kind)k)) == 0)
			kind = (enum fleet_kind)k;
	if (kind == FLEET_KIND_MAX)
		return fail(err, err_size, "not a kind of record the wire format has");
	body = it->body ? json_loadb(it->body, it->len, 0, &jerr) : NULL;
	session = json_object_get(body, "session");
	if (!json_is_object(body) || !int_in(json_object_get(body, "id"), 1, MAX_INT) ||
	    !(json_is_null(session) || int_in(session, 1, MAX_INT)) || it->seq < 1 ||
	    it->seq > MAX_INT) {
		json_decref(body);
		return fail(err, err_size, "the body is not an object with session and id");
	}
	t = time_json(it->t_us);
	o = json_pack("{s:i,s:s,s:s,s:I,s:I,s:o,s:o,s:I,s:O,s:O}", "v", FLEET_WIRE_VERSION, "kind",
		      fleet_kind_name(kind), "unit", id->unit, "epoch", (json_int_t)id->epoch, "seq",
		      (json_int_t)it->seq, "vin", vin ? json_string(vin) : json_null(), "time", t,
		      "t_us", (json_int_t)it->t_us, "session", session, "id",
		      json_object_get(body, "id"));
	if (!o) {
		json_decref(body);
		return t ? -ENOMEM : fail(err, err_size, "the record's time is out of range");
	}
	switch (kind) {
	case FLEET_KIND_FINDING:
		r = add_finding(o, body, err, err_size);
		break;
	case FLEET_KIND_DTC:
		r = add_dtc(o, body, err, err_size);
		break;
	case FLEET_KIND_BUS:
		r = add_bus(o, body, err, err_size);
		break;
	case FLEET_KIND_SESSION:
		r = add_session(o, body, err, err_size);
		break;
	case FLEET_KIND_STATUS:
	case FLEET_KIND_RECEIPT:
	case FLEET_KIND_MAX:
		r = -EINVAL;
		break;
	}
	json_decref(body);
	if (r >= 0 && fleet_topic_format(id->prefix, id->unit, vin, kind, topic, FORWARD_MAX_TOPIC) < 0)
		r = -ENOSPC;
	payload = r >= 0 ? dump_fitting(o, &len) : NULL;
	json_decref(o);
	if (r < 0)
		return r;
	if (!payload)
		return -ENOMEM;
	*ret_payload = payload;
	*ret_len = len;
	return 0;
}

char *forward_payload_status(const struct forward_identity *id, const char *state,
			     const char *reason, int64_t conn_us, int64_t t_us, const char *vin,
			     const char *software, char topic[FORWARD_MAX_TOPIC])
{
	json_t *o;
	char *s;

	if (vin && !fleet_vin_valid(vin, strlen(vin)))
		vin = NULL;
	if (fleet_topic_format(id->prefix, id->unit, NULL, FLEET_KIND_STATUS, topic,
			       FORWARD_MAX_TOPIC) < 0)
		return NULL;
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:I,s:o,s:o,s:I,s:s}", "v", FLEET_WIRE_VERSION, "kind",
		      "status", "unit", id->unit, "state", state, "reason", reason, "conn",
		      (json_int_t)conn_us, "vin", vin ? json_string(vin) : json_null(), "time",
		      time_json(t_us), "t_us", (json_int_t)t_us, "software", software);
	if (!o)
		return NULL;
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}
