/* SPDX-License-Identifier: MIT */
/*
 * The forwarder's side of the fleet wire format v1 (docs/fleet.md, docs/schema/): an
 * outbox row of the history (daemon/history_outbox.h) as the record payload and topic a
 * unit publishes, and the unit's status payloads. Pure: no I/O, no MQTT (fuzz target
 * forward-payload: whatever it builds, fleet/wire.c accepts).
 *
 * The history keeps what the daemon saw; the wire format has bounds the history does
 * not, and a payload that breaks one is refused by the ingest for good. So the builder
 * makes every row fit: a VIN that is not ISO 3779 becomes null (topic "unknown"),
 * advice is cut to 2048 characters, detail and label to 256, evidence to 64 items and
 * then to what keeps the payload under 64 KiB, a finding state or verdict the schema
 * does not list becomes null (the daemon's "not observable on this vehicle" is sent as
 * "inconclusive"). What it cannot repair (a cause or ECU name outside the schema's
 * pattern, a time outside 2000-2099) goes out as it is: the ingest refuses it with a
 * reason the operator sees, and the receipt says so.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "daemon/history_outbox.h"

#define FORWARD_MAX_TOPIC 256

struct forward_identity {
	const char *prefix; /* first topic level, e.g. "bodydiag" */
	const char *unit;   /* the unit id (fleet_unit_valid) */
	int64_t epoch;      /* the outbox's epoch */
};

/*
 * The record of one outbox row: its topic and payload (malloc'd, compact JSON, not NUL-
 * terminated in *ret_len but NUL-terminated in memory). Returns 0, -EINVAL when the row's
 * kind or body is not what the history writes (err says why: the row cannot be sent),
 * -ENOSPC (topic too long), -ENOMEM.
 */
int forward_payload_record(const struct forward_identity *id, const struct history_outbox_item *it,
			   char topic[FORWARD_MAX_TOPIC], char **ret_payload, size_t *ret_len,
			   char *err, size_t err_size);

/*
 * A status payload (docs/schema/status.json): state "online" with reason "connect", or
 * "offline" with "stop" or "will". conn: the connection's CONNECT time; t_us: when the
 * state began; vin: NULL or not ISO 3779 gives null. software: "bodydiag 0.1.0".
 * The topic <prefix>/v1/<unit>/status goes into topic. NULL on out of memory.
 */
char *forward_payload_status(const struct forward_identity *id, const char *state,
			     const char *reason, int64_t conn_us, int64_t t_us, const char *vin,
			     const char *software, char topic[FORWARD_MAX_TOPIC]);
