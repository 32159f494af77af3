/* SPDX-License-Identifier: MIT */
/*
 * The fleet wire format, version 1 (docs/fleet.md, the files in docs/schema/): topics and
 * payloads that a unit publishes and bodydiag-ingest receives.
 *
 * The JSON Schema files are the contract; this module implements their rules by hand
 * (plus the few the schema cannot say: time == t_us, code == dtc, topic == payload),
 * and tests/fleet/test-wire.py checks that both accept and refuse the same payloads.
 * Pure: buffers in, structs out, no I/O; every error names the member (a JSON pointer)
 * and why.
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FLEET_WIRE_VERSION 1
#define FLEET_MAX_PAYLOAD 65536 /* bytes; a larger payload is refused unread */
#define FLEET_MAX_UNIT 64
#define FLEET_VIN_LEN 17
#define FLEET_MAX_ERROR 256
#define FLEET_MAX_RANGES 1000 /* committed ranges / rejected seqs in one receipt */

enum fleet_kind {
	FLEET_KIND_FINDING,
	FLEET_KIND_DTC,
	FLEET_KIND_BUS,
	FLEET_KIND_SESSION,
	FLEET_KIND_STATUS,
	FLEET_KIND_RECEIPT,
	FLEET_KIND_MAX,
};

/* "finding", "dtc", "bus", "session", "status", "receipt"; NULL out of range. */
const char *fleet_kind_name(enum fleet_kind k);
/* True for the kinds that carry epoch + seq (stored once per unit, epoch and seq). */
bool fleet_kind_is_record(enum fleet_kind k);

/* A topic taken apart. vin is "" for the status and receipt topics and for "unknown". */
struct fleet_topic {
	enum fleet_kind kind;
	char unit[FLEET_MAX_UNIT + 1];
	char vin[FLEET_VIN_LEN + 1];
};

/*
 * Parses "<prefix>/v1/<unit>/<vin>/<kind>" (records) or "<prefix>/v1/<unit>/status|receipt".
 * <vin> is a VIN or "unknown". The prefix is one level, no wildcards. Returns 0 or
 * -EINVAL with a reason in err (may be NULL).
 */
int fleet_topic_parse(const char *prefix, const char *topic, size_t len, struct fleet_topic *ret,
		      char *err, size_t err_size);
/* Writes the topic of a record, status or receipt; -ENOSPC when it does not fit. */
int fleet_topic_format(const char *prefix, const char *unit, const char *vin, enum fleet_kind k,
		       char *buf, size_t size);

/* One validated payload. Strings point into root and live as long as it does. */
struct fleet_record {
	enum fleet_kind kind;
	json_t *root; /* owned: fleet_record_finish() releases it */
	const char *unit;
	int64_t epoch, seq;   /* records (0 for status) */
	const char *vin;      /* NULL when null */
	int64_t t_us;
	int64_t session;      /* 0 when null */
	int64_t id;
	/* finding */
	const char *cause, *state, *advice;
	double confidence; /* NaN when null */
	json_t *evidence;  /* borrowed; NULL when null */
	/* dtc */
	const char *ecu, *code;
	uint32_t dtc;
	int status, old_status; /* old_status -1 when null */
	/* bus */
	const char *interface, *event, *detail;
	/* session */
	int64_t start_us;
	const char *label, *verdict, *top_cause;
	int64_t findings, dtcs;
	/* status (state above is "online"/"offline" here) */
	const char *reason, *software;
	int64_t conn;
};

/*
 * Parses and validates one payload of any kind. On success *ret holds the record (release
 * it with fleet_record_finish); on failure returns -EINVAL (or -ENOMEM) and err says
 * "/member: reason" (or "JSON: line L, column C: ...").
 */
int fleet_record_parse(const void *buf, size_t len, struct fleet_record *ret, char *err,
		       size_t err_size);
void fleet_record_finish(struct fleet_record *r);

/* The topic must name the payload's unit, VIN ("unknown" for null) and kind. */
int fleet_record_check_topic(const struct fleet_record *r, const struct fleet_topic *t, char *err,
			     size_t err_size);

/* Best effort for a refused payload: unit, epoch and seq when those three are valid. */
int fleet_payload_ident(const void *buf, size_t len, char unit[FLEET_MAX_UNIT + 1],
			int64_t *ret_epoch, int64_t *ret_seq);

/* "2026-01-01T00:00:02.000000Z" for t_us (UTC); buf of at least 28 bytes. */
int fleet_format_time(int64_t t_us, char *buf, size_t size);

/* True when s is an ISO 3779 VIN as the schema allows (17 of A-H J-N P R-Z 0-9). */
bool fleet_vin_valid(const char *s, size_t len);
/* True when s is a unit id as the schema allows (also used for the ingest's name). */
bool fleet_unit_valid(const char *s, size_t len);
