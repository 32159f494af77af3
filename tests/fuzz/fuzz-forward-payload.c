/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-forward's payload builder (forward/payload.c) on arbitrary outbox rows. The
 * input: the kind on the first line, the VIN on the second (empty: none), t_us on the
 * third, the body (JSON) after. Besides memory safety: a row the builder takes becomes a
 * payload that fleet/wire.c (the ingest's validator) accepts with the unit, epoch and seq
 * it was given, on a topic that matches it, unless the row holds something the wire
 * format cannot carry and the builder must not invent (a cause, ECU, interface or event
 * name outside the schema's pattern, a confidence outside 0..1, a time outside
 * 2000-2099): then the validator names exactly that member. A row it refuses says why.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "payload.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The next line of the input as a NUL-terminated copy (at most 63 bytes). */
static const char *line(const char **p, const char *end, char *buf)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);

	if (n > 63)
		n = 63;
	memcpy(buf, *p, n);
	buf[n] = 0;
	*p = nl ? nl + 1 : end;
	return buf;
}

static bool unrepairable(const char *err)
{
	static const char *const members[] = {"/cause:", "/top_cause:", "/ecu:", "/interface:",
					      "/event:", "/confidence:", "/t_us:", "/start_us:",
					      "/start:", "/time:", "payload larger than"};

	for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
		if (strncmp(err, members[i], strlen(members[i])) == 0)
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	char kind[64], vin[64], t[64], topic[FORWARD_MAX_TOPIC], err[256] = "";
	const struct forward_identity id = {.prefix = "bodydiag", .unit = "van-0042",
					    .epoch = 1767225600000000};
	struct history_outbox_item it = {.seq = 118};
	struct fleet_record rec;
	struct fleet_topic tp;
	char *payload = NULL;
	size_t len = 0;
	int r;

	it.kind = line(&p, end, kind);
	it.vin = line(&p, end, vin);
	if (!*it.vin)
		it.vin = NULL;
	it.t_us = strtoll(line(&p, end, t), NULL, 10);
	it.body = p;
	it.len = (size_t)(end - p);
	r = forward_payload_record(&id, &it, topic, &payload, &len, err, sizeof(err));
	if (r < 0) {
		if (payload || (r == -EINVAL && !err[0]))
			abort();
		return 0;
	}
	if (!payload || strlen(payload) != len)
		abort();
	if (fleet_record_parse(payload, len, &rec, err, sizeof(err)) < 0) {
		if (!unrepairable(err))
			abort();
		free(payload);
		return 0;
	}
	if (!fleet_kind_is_record(rec.kind) || strcmp(rec.unit, id.unit) != 0 ||
	    rec.epoch != id.epoch || rec.seq != it.seq || rec.t_us != it.t_us ||
	    fleet_topic_parse(id.prefix, topic, strlen(topic), &tp, NULL, 0) < 0 ||
	    fleet_record_check_topic(&rec, &tp, NULL, 0) < 0)
		abort();
	fleet_record_finish(&rec);
	free(payload);
	return 0;
}
