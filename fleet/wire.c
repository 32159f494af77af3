/* SPDX-License-Identifier: MIT */
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bodydiag/dtc.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MAX_SAFE_INT 9007199254740991ll /* 2^53 - 1: what every JSON reader keeps exact */
#define T_MIN 946684800000000ll         /* 2000-01-01T00:00:00Z */
#define T_MAX 4102444799999999ll        /* 2099-12-31T23:59:59.999999Z */

static const char *const KIND_NAMES[FLEET_KIND_MAX] = {
	[FLEET_KIND_FINDING] = "finding", [FLEET_KIND_DTC] = "dtc",
	[FLEET_KIND_BUS] = "bus",         [FLEET_KIND_SESSION] = "session",
	[FLEET_KIND_STATUS] = "status",   [FLEET_KIND_RECEIPT] = "receipt",
};

const char *fleet_kind_name(enum fleet_kind k)
{
	return (unsigned)k < FLEET_KIND_MAX ? KIND_NAMES[k] : NULL;
}

bool fleet_kind_is_record(enum fleet_kind k)
{
	switch (k) {
	case FLEET_KIND_FINDING:
	case FLEET_KIND_DTC:
	case FLEET_KIND_BUS:
	case FLEET_KIND_SESSION:
		return true;
	case FLEET_KIND_STATUS:
	case FLEET_KIND_RECEIPT:
	case FLEET_KIND_MAX:
		break;
	}
	return false;
}

static int kind_from(const char *s, size_t n, enum fleet_kind *ret)
{
	for (unsigned i = 0; i < FLEET_KIND_MAX; i++)
		if (strlen(KIND_NAMES[i]) == n && memcmp(KIND_NAMES[i], s, n) == 0) {
			*ret = (enum fleet_kind)i;
			return 0;
		}
	return -EINVAL;
}

static int fail(char *err, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t size, const char *fmt, ...)
{
	va_list ap;

	if (err && size) {
		va_start(ap, fmt);
		vsnprintf(err, size, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* --- character classes of the schema's patterns --- */

static bool is_alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$ */
bool fleet_unit_valid(const char *s, size_t len)
{
	if (len == 0 || len > FLEET_MAX_UNIT || !is_alnum(s[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

/* ^[A-HJ-NPR-Z0-9]{17}$: ISO 3779 leaves out I, O and Q. */
bool fleet_vin_valid(const char *s, size_t len)
{
	if (len != FLEET_VIN_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')) || c == 'I' || c == 'O' ||
		    c == 'Q')
			return false;
	}
	return true;
}

/* ^[A-Za-z0-9<extra>]{1,max}$ */
static bool word_valid(const char *s, size_t len, size_t max, const char *extra)
{
	if (len == 0 || len > max)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && !(s[i] && strchr(extra, s[i])))
			return false;
	return true;
}

/* ^[a-z][a-z0-9-]{0,31}$ */
static bool event_valid(const char *s, size_t len)
{
	if (len == 0 || len > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* ^[PCBU][0-3][0-9A-F]{3}-[0-9A-F]{2}$ */
static bool code_valid(const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";

	if (len != 8 || !strchr("PCBU", s[0]) || s[0] == '\0' || s[1] < '0' || s[1] > '3' ||
	    s[5] != '-')
		return false;
	for (size_t i = 2; i < 8; i++)
		if (i != 5 && (s[i] == '\0' || !strchr(hex, s[i])))
			return false;
	return true;
}

/* ^[ -~]{1,64}$ */
static bool printable_valid(const char *s, size_t len)
{
	if (len == 0 || len > 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] < ' ' || s[i] > '~')
			return false;
	return true;
}

/* maxLength counts code points (JSON Schema), not bytes; jansson gives valid UTF-8. */
static size_t utf8_len(const char *s, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			count++;
	return count;
}

/* The pattern of common.json#/$defs/time: shape and field ranges, not the calendar. */
static bool time_shape_valid(const char *s, size_t len)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";
	int f[6];

	if (len != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < len; i++)
		if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
			return false;
	sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5]);
	return f[0] >= 2000 && f[0] <= 2099 && f[1] >= 1 && f[1] <= 12 && f[2] >= 1 &&
	       f[2] <= 31 && f[3] <= 23 && f[4] <= 59 && f[5] <= 59;
}

int fleet_format_time(int64_t t_us, char *buf, size_t size)
{
	time_t s = (time_t)(t_us >= 0 ? t_us / 1000000 : (t_us - 999999) / 1000000);
	long us = (long)(t_us - (int64_t)s * 1000000);
	struct tm tm;

	if (!gmtime_r(&s, &tm))
		return -ERANGE;
	if (snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us) >= (int)size)
		return -ENOSPC;
	return 0;
}

/* --- topics --- */

int fleet_topic_parse(const char *prefix, const char *topic, size_t len, struct fleet_topic *ret,
		      char *err, size_t err_size)
{
	const char *part[5];
	size_t plen[5], n = 0, start = 0;
	struct fleet_topic t = {0};

	for (size_t i = 0; i <= len; i++) {
		if (i < len && topic[i] == '\0')
			return fail(err, err_size, "topic: NUL byte");
		if (i < len && topic[i] != '/')
			continue;
		if (n == ARRAY_SIZE(part))
			return fail(err, err_size, "topic: more than 5 levels");
		part[n] = topic + start;
		plen[n++] = i - start;
		start = i + 1;
	}
	if (n < 4)
		return fail(err, err_size, "topic: fewer than 4 levels");
	if (plen[0] != strlen(prefix) || memcmp(part[0], prefix, plen[0]) != 0)
		return fail(err, err_size, "topic: prefix is not \"%s\"", prefix);
	if (plen[1] != 2 || memcmp(part[1], "v1", 2) != 0)
		return fail(err, err_size, "topic: version level is not \"v1\"");
	if (!fleet_unit_valid(part[2], plen[2]))
		return fail(err, err_size, "topic: invalid unit");
	memcpy(t.unit, part[2], plen[2]);
	if (n == 4) {
		if (kind_from(part[3], plen[3], &t.kind) < 0 ||
		    (t.kind != FLEET_KIND_STATUS && t.kind != FLEET_KIND_RECEIPT))
			return fail(err, err_size, "topic: a 4-level topic ends in status or receipt");
	} else {
		if (kind_from(part[4], plen[4], &t.kind) < 0 || !fleet_kind_is_record(t.kind))
			return fail(err, err_size,
				    "topic: a 5-level topic ends in finding, dtc, bus or session");
		if (plen[3] == 7 && memcmp(part[3], "unknown", 7) == 0)
			t.vin[0] = '\0';
		else if (fleet_vin_valid(part[3], plen[3]))
			memcpy(t.vin, part[3], plen[3]);
		else
			return fail(err, err_size, "topic: invalid VIN level (a VIN or \"unknown\")");
	}
	*ret = t;
	return 0;
}

int fleet_topic_format(const char *prefix, const char *unit, const char *vin, enum fleet_kind k,
		       char *buf, size_t size)
{
	int n;

	if (fleet_kind_is_record(k))
		n = snprintf(buf, size, "%s/v1/%s/%s/%s", prefix, unit, vin && *vin ? vin : "unknown",
			     fleet_kind_name(k));
	else
		n = snprintf(buf, size, "%s/v1/%s/%s", prefix, unit, fleet_kind_name(k));
	return n < 0 || (size_t)n >= size ? -ENOSPC : 0;
}

/* --- payloads --- */

enum member {
	M_V,
	M_KIND,
	M_UNIT,
	M_EPOCH,
	M_SEQ,
	M_VIN,
	M_TIME,
	M_T_US,
	M_SESSION,
	M_SESSION_REQUIRED,
	M_ID,
	M_CAUSE,
	M_CONFIDENCE,
	M_FINDING_STATE,
	M_ADVICE,
	M_EVIDENCE,
	M_ECU,
	M_DTC,
	M_CODE,
	M_STATUS,
	M_OLD_STATUS,
	M_INTERFACE,
	M_EVENT,
	M_DETAIL,
	M_START,
	M_START_US,
	M_LABEL,
	M_VERDICT,
	M_TOP_CAUSE,
	M_FINDINGS,
	M_DTCS,
	M_ONLINE_STATE,
	M_REASON,
	M_CONN,
	M_SOFTWARE,
	M_COMMITTED,
	M_REJECTED,
	M_INGEST,
	M_MAX,
};

static const char *const MEMBER_NAMES[M_MAX] = {
	[M_V] = "v", [M_KIND] = "kind", [M_UNIT] = "unit", [M_EPOCH] = "epoch", [M_SEQ] = "seq",
	[M_VIN] = "vin", [M_TIME] = "time", [M_T_US] = "t_us", [M_SESSION] = "session",
	[M_SESSION_REQUIRED] = "session", [M_ID] = "id", [M_CAUSE] = "cause",
	[M_CONFIDENCE] = "confidence", [M_FINDING_STATE] = "state", [M_ADVICE] = "advice",
	[M_EVIDENCE] = "evidence", [M_ECU] = "ecu", [M_DTC] = "dtc", [M_CODE] = "code",
	[M_STATUS] = "status", [M_OLD_STATUS] = "old_status", [M_INTERFACE] = "interface",
	[M_EVENT] = "event", [M_DETAIL] = "detail", [M_START] = "start", [M_START_US] = "start_us",
	[M_LABEL] = "label", [M_VERDICT] = "verdict", [M_TOP_CAUSE] = "top_cause",
	[M_FINDINGS] = "findings", [M_DTCS] = "dtcs", [M_ONLINE_STATE] = "state",
	[M_REASON] = "reason", [M_CONN] = "conn", [M_SOFTWARE] = "software",
	[M_COMMITTED] = "committed", [M_REJECTED] = "rejected", [M_INGEST] = "ingest",
};

#define RECORD_HEAD M_V, M_KIND, M_UNIT, M_EPOCH, M_SEQ, M_VIN, M_TIME, M_T_US, M_ID

/* The "required" list of each schema; additionalProperties is false everywhere. */
static const enum member SHAPES[FLEET_KIND_MAX][20] = {
	[FLEET_KIND_FINDING] = {RECORD_HEAD, M_SESSION, M_CAUSE, M_CONFIDENCE, M_FINDING_STATE,
				M_ADVICE, M_EVIDENCE, M_MAX},
	[FLEET_KIND_DTC] = {RECORD_HEAD, M_SESSION, M_ECU, M_DTC, M_CODE, M_STATUS, M_OLD_STATUS,
			    M_MAX},
	[FLEET_KIND_BUS] = {RECORD_HEAD, M_SESSION, M_INTERFACE, M_EVENT, M_DETAIL, M_MAX},
	[FLEET_KIND_SESSION] = {RECORD_HEAD, M_SESSION_REQUIRED, M_START, M_START_US, M_LABEL,
				M_VERDICT, M_TOP_CAUSE, M_FINDINGS, M_DTCS, M_MAX},
	[FLEET_KIND_STATUS] = {M_V, M_KIND, M_UNIT, M_ONLINE_STATE, M_REASON, M_CONN, M_VIN,
			       M_TIME, M_T_US, M_SOFTWARE, M_MAX},
	[FLEET_KIND_RECEIPT] = {M_V, M_KIND, M_UNIT, M_EPOCH, M_COMMITTED, M_REJECTED, M_TIME,
				M_T_US, M_INGEST, M_MAX},
};

/* JSON Schema's "integer": an integral number, also when written 5.0. */
static bool get_int(json_t *v, int64_t min, int64_t max, int64_t *ret)
{
	int64_t x;

	if (json_is_integer(v)) {
		x = json_integer_value(v);
	} else if (json_is_real(v)) {
		double d = json_real_value(v);
		if (d != floor(d) || fabs(d) > (double)MAX_SAFE_INT)
			return false;
		x = (int64_t)d;
	} else {
		return false;
	}
	if (x < min || x > max)
		return false;
	*ret = x;
	return true;
}

static bool one_of(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static const char *const FINDING_STATES[] = {"holds", "possible", "suppressed", "ruled out", NULL};
static const char *const VERDICTS[] = {"fault", "blocked", "no fault found in the release chain",
				       "inconclusive", NULL};

/* An optional string: NULL (JSON null) or within max code points. */
static bool nullable_text(json_t *v, size_t max, const char **ret)
{
	if (json_is_null(v)) {
		*ret = NULL;
		return true;
	}
	if (!json_is_string(v) ||
	    utf8_len(json_string_value(v), json_string_length(v)) > max)
		return false;
	*ret = json_string_value(v);
	return true;
}

static bool seq_range_valid(json_t *v, int64_t *lo, int64_t *hi)
{
	return json_is_array(v) && json_array_size(v) == 2 &&
	       get_int(json_array_get(v, 0), 1, MAX_SAFE_INT, lo) &&
	       get_int(json_array_get(v, 1), 1, MAX_SAFE_INT, hi);
}

/* Checks one member against its schema rule and stores it; false with *why set. */
static bool member_check(enum member m, json_t *v, struct fleet_record *r, const char **why)
{
	const char *s = json_is_string(v) ? json_string_value(v) : NULL;
	size_t n = s ? json_string_length(v) : 0;
	int64_t x;

	switch (m) {
	case M_V:
		*why = "must be 1";
		return get_int(v, 1, 1, &x);
	case M_KIND:
		*why = "does not match the payload's kind";
		return s && strcmp(s, fleet_kind_name(r->kind)) == 0;
	case M_UNIT:
	case M_INGEST:
		*why = "must match ^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$";
		if (!s || !fleet_unit_valid(s, n))
			return false;
		if (m == M_UNIT)
			r->unit = s;
		return true;
	case M_EPOCH:
		*why = "must be an integer from 1 to 2^53-1";
		return get_int(v, 1, MAX_SAFE_INT, &r->epoch);
	case M_SEQ:
		*why = "must be an integer from 1 to 2^53-1";
		return get_int(v, 1, MAX_SAFE_INT, &r->seq);
	case M_ID:
		*why = "must be an integer from 1 to 2^53-1";
		return get_int(v, 1, MAX_SAFE_INT, &r->id);
	case M_VIN:
		*why = "must be null or a 17-character VIN (ISO 3779: no I, O, Q)";
		if (json_is_null(v)) {
			r->vin = NULL;
			return true;
		}
		r->vin = s;
		return s && fleet_vin_valid(s, n);
	case M_TIME:
	case M_START:
		*why = "must be an ISO 8601 UTC time YYYY-MM-DDThh:mm:ss.uuuuuuZ (2000-2099)";
		return s && time_shape_valid(s, n);
	case M_T_US:
	case M_START_US:
	case M_CONN:
		*why = "must be an integer of UTC microseconds from 2000 to 2099";
		return get_int(v, T_MIN, T_MAX,
			       m == M_T_US ? &r->t_us : m == M_START_US ? &r->start_us : &r->conn);
	case M_SESSION:
		*why = "must be null or an integer from 1 to 2^53-1";
		if (json_is_null(v)) {
			r->session = 0;
			return true;
		}
		return get_int(v, 1, MAX_SAFE_INT, &r->session);
	case M_SESSION_REQUIRED:
		*why = "must be an integer from 1 to 2^53-1";
		return get_int(v, 1, MAX_SAFE_INT, &r->session);
	case M_CAUSE:
		*why = "must match ^[A-Za-z0-9_.-]{1,64}$";
		r->cause = s;
		return s && word_valid(s, n, 64, "_.-");
	case M_TOP_CAUSE:
		*why = "must be null or match ^[A-Za-z0-9_.-]{1,64}$";
		r->top_cause = s;
		return json_is_null(v) || (s && word_valid(s, n, 64, "_.-"));
	case M_CONFIDENCE:
		*why = "must be null or a number from 0 to 1";
		if (json_is_null(v)) {
			r->confidence = NAN;
			return true;
		}
		r->confidence = json_number_value(v);
		return json_is_number(v) && r->confidence >= 0 && r->confidence <= 1;
	case M_FINDING_STATE:
		*why = "must be null, holds, possible, suppressed or ruled out";
		r->state = s;
		return json_is_null(v) || (s && one_of(s, FINDING_STATES));
	case M_ADVICE:
		*why = "must be null or a string of at most 2048 characters";
		return nullable_text(v, 2048, &r->advice);
	case M_EVIDENCE:
		*why = "must be null or an array of at most 64 items";
		r->evidence = json_is_array(v) ? v : NULL;
		return json_is_null(v) || (json_is_array(v) && json_array_size(v) <= 64);
	case M_ECU:
		*why = "must match ^[A-Za-z0-9_.-]{1,32}$";
		r->ecu = s;
		return s && word_valid(s, n, 32, "_.-");
	case M_DTC:
		*why = "must be an integer from 0 to 16777215";
		if (!get_int(v, 0, 0xffffff, &x))
			return false;
		r->dtc = (uint32_t)x;
		return true;
	case M_CODE:
		*why = "must match ^[PCBU][0-3][0-9A-F]{3}-[0-9A-F]{2}$";
		r->code = s;
		return s && code_valid(s, n);
	case M_STATUS:
		*why = "must be an integer from 0 to 255";
		if (!get_int(v, 0, 255, &x))
			return false;
		r->status = (int)x;
		return true;
	case M_OLD_STATUS:
		*why = "must be null or an integer from 0 to 255";
		r->old_status = -1;
		if (json_is_null(v))
			return true;
		if (!get_int(v, 0, 255, &x))
			return false;
		r->old_status = (int)x;
		return true;
	case M_INTERFACE:
		*why = "must match ^[A-Za-z0-9_.:-]{1,15}$";
		r->interface = s;
		return s && word_valid(s, n, 15, "_.:-");
	case M_EVENT:
		*why = "must match ^[a-z][a-z0-9-]{0,31}$";
		r->event = s;
		return s && event_valid(s, n);
	case M_DETAIL:
		*why = "must be null or a string of at most 256 characters";
		return nullable_text(v, 256, &r->detail);
	case M_LABEL:
		*why = "must be null or a string of at most 256 characters";
		return nullable_text(v, 256, &r->label);
	case M_VERDICT:
		*why = "must be null, fault, blocked, no fault found in the release chain or "
		       "inconclusive";
		r->verdict = s;
		return json_is_null(v) || (s && one_of(s, VERDICTS));
	case M_FINDINGS:
	case M_DTCS:
		*why = "must be an integer from 0 to 100000";
		return get_int(v, 0, 100000, m == M_FINDINGS ? &r->findings : &r->dtcs);
	case M_ONLINE_STATE:
		*why = "must be online or offline";
		r->state = s;
		return s && (strcmp(s, "online") == 0 || strcmp(s, "offline") == 0);
	case M_REASON:
		*why = "must be connect, stop or will";
		r->reason = s;
		return s && (strcmp(s, "connect") == 0 || strcmp(s, "stop") == 0 ||
			     strcmp(s, "will") == 0);
	case M_SOFTWARE:
		*why = "must be 1-64 printable ASCII characters";
		r->software = s;
		return s && printable_valid(s, n);
	case M_COMMITTED: {
		size_t i;
		json_t *e;
		int64_t lo, hi;
		*why = "must be an array of at most 1000 [first, last] seq pairs";
		if (!json_is_array(v) || json_array_size(v) > FLEET_MAX_RANGES)
			return false;
		json_array_foreach(v, i, e)
			if (!seq_range_valid(e, &lo, &hi))
				return false;
		return true;
	}
	case M_REJECTED: {
		size_t i;
		json_t *e, *reason;
		*why = "must be an array of at most 1000 {seq, reason} objects";
		if (!json_is_array(v) || json_array_size(v) > FLEET_MAX_RANGES)
			return false;
		json_array_foreach(v, i, e) {
			reason = json_object_get(e, "reason");
			if (!json_is_object(e) || json_object_size(e) != 2 ||
			    !get_int(json_object_get(e, "seq"), 1, MAX_SAFE_INT, &x) ||
			    !json_is_string(reason) ||
			    utf8_len(json_string_value(reason), json_string_length(reason)) > 256)
				return false;
		}
		return true;
	}
	case M_MAX:
		break;
	}
	*why = "unknown member";
	return false;
}

/* The rules the schema cannot say. */
static int cross_check(const struct fleet_record *r, char *err, size_t err_size)
{
	char buf[32];
	json_t *t = json_object_get(r->root, "time");

	if (fleet_format_time(r->t_us, buf, sizeof(buf)) < 0 ||
	    strcmp(buf, json_string_value(t)) != 0)
		return fail(err, err_size, "/time: is not the instant of t_us (%s)", buf);
	if (r->kind == FLEET_KIND_SESSION) {
		t = json_object_get(r->root, "start");
		if (fleet_format_time(r->start_us, buf, sizeof(buf)) < 0 ||
		    strcmp(buf, json_string_value(t)) != 0)
			return fail(err, err_size, "/start: is not the instant of start_us (%s)", buf);
		if (r->start_us > r->t_us)
			return fail(err, err_size, "/start_us: after t_us (the session's end)");
	}
	if (r->kind == FLEET_KIND_DTC) {
		if (dtc_format(r->dtc, buf, sizeof(buf)) < 0 || strcmp(buf, r->code) != 0)
			return fail(err, err_size, "/code: is not the J2012 text of dtc (%s)", buf);
	}
	if (r->kind == FLEET_KIND_STATUS) {
		bool online = strcmp(r->state, "online") == 0;
		if (online != (strcmp(r->reason, "connect") == 0))
			return fail(err, err_size,
				    "/reason: online goes with connect, offline with stop or will");
	}
	return 0;
}

int fleet_record_parse(const void *buf, size_t len, struct fleet_record *ret, char *err,
		       size_t err_size)
{
	struct fleet_record r = {.confidence = NAN, .old_status = -1};
	json_error_t jerr;
	const char *key, *why = "";
	json_t *v, *kind;
	bool seen[M_MAX] = {false};
	int rc;

	if (len > FLEET_MAX_PAYLOAD)
		return fail(err, err_size, "payload larger than %d bytes", FLEET_MAX_PAYLOAD);
	r.root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!r.root)
		return fail(err, err_size, "JSON: line %d, column %d: %s", jerr.line, jerr.column,
			    jerr.text);
	if (!json_is_object(r.root)) {
		rc = fail(err, err_size, "payload is not a JSON object");
		goto out;
	}
	kind = json_object_get(r.root, "kind");
	if (!json_is_string(kind) ||
	    kind_from(json_string_value(kind), json_string_length(kind), &r.kind) < 0) {
		rc = fail(err, err_size,
			  "/kind: must be finding, dtc, bus, session, status or receipt");
		goto out;
	}
	const enum member *shape = SHAPES[r.kind];
	json_object_foreach(r.root, key, v) {
		size_t i;
		for (i = 0; shape[i] != M_MAX; i++)
			if (strcmp(MEMBER_NAMES[shape[i]], key) == 0)
				break;
		if (shape[i] == M_MAX) {
			rc = fail(err, err_size, "/%.64s: not a member of a %s payload", key,
				  fleet_kind_name(r.kind));
			goto out;
		}
		if (!member_check(shape[i], v, &r, &why)) {
			rc = fail(err, err_size, "/%s: %s", key, why);
			goto out;
		}
		seen[shape[i]] = true;
	}
	for (size_t i = 0; shape[i] != M_MAX; i++)
		if (!seen[shape[i]]) {
			rc = fail(err, err_size, "/%s: missing", MEMBER_NAMES[shape[i]]);
			goto out;
		}
	rc = cross_check(&r, err, err_size);
	if (rc < 0)
		goto out;
	*ret = r;
	return 0;
out:
	json_decref(r.root);
	return rc;
}

void fleet_record_finish(struct fleet_record *r)
{
	if (!r)
		return;
	json_decref(r->root);
	r->root = NULL;
}

int fleet_record_check_topic(const struct fleet_record *r, const struct fleet_topic *t, char *err,
			     size_t err_size)
{
	if (t->kind != r->kind)
		return fail(err, err_size, "topic: kind %s, payload: %s", fleet_kind_name(t->kind),
			    fleet_kind_name(r->kind));
	if (strcmp(t->unit, r->unit) != 0)
		return fail(err, err_size, "topic: unit %s, payload: %s", t->unit, r->unit);
	if (fleet_kind_is_record(r->kind) && strcmp(t->vin, r->vin ? r->vin : "") != 0)
		return fail(err, err_size, "topic: VIN %s, payload: %s",
			    t->vin[0] ? t->vin : "unknown", r->vin ? r->vin : "null");
	return 0;
}

int fleet_payload_ident(const void *buf, size_t len, char unit[FLEET_MAX_UNIT + 1],
			int64_t *ret_epoch, int64_t *ret_seq)
{
	json_t *root, *u;
	int64_t epoch, seq;
	int r = -EINVAL;

	if (len > FLEET_MAX_PAYLOAD)
		return -EINVAL;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL);
	u = json_object_get(root, "unit");
	if (json_is_string(u) && fleet_unit_valid(json_string_value(u), json_string_length(u)) &&
	    get_int(json_object_get(root, "epoch"), 1, MAX_SAFE_INT, &epoch) &&
	    get_int(json_object_get(root, "seq"), 1, MAX_SAFE_INT, &seq)) {
		memcpy(unit, json_string_value(u), json_string_length(u) + 1);
		*ret_epoch = epoch;
		*ret_seq = seq;
		r = 0;
	}
	json_decref(root);
	return r;
}
