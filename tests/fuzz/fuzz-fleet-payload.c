/* SPDX-License-Identifier: MIT */
/*
 * The fleet wire format (fleet/wire.c): payload validation, topic parsing and the
 * best-effort identity of a refused payload. The first line of the input is the topic, the
 * rest the payload. Besides memory safety: a payload that passes has every member its kind
 * requires, in range, and passes again when written back out and parsed (a fixed point);
 * a topic that parses formats back to itself; a failure always says why.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_record(const struct fleet_record *r)
{
	if (!r->unit || !fleet_unit_valid(r->unit, strlen(r->unit)) || r->t_us <= 0)
		abort();
	if (fleet_kind_is_record(r->kind) && (r->epoch < 1 || r->seq < 1 || r->id < 1))
		abort();
	if (r->kind == FLEET_KIND_FINDING && (!r->cause || !(isnan(r->confidence) ||
							      (r->confidence >= 0 && r->confidence <= 1))))
		abort();
	if (r->kind == FLEET_KIND_DTC && (r->dtc > 0xffffff || r->status < 0 || r->status > 255 ||
					  !r->code || r->old_status > 255))
		abort();
	if (r->kind == FLEET_KIND_SESSION && r->start_us > r->t_us)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	const char *nl = memchr(text, '\n', size);
	size_t tlen = nl ? (size_t)(nl - text) : size;
	const char *payload = nl ? nl + 1 : text;
	size_t plen = nl ? size - tlen - 1 : size;
	struct fleet_topic t;
	struct fleet_record r;
	char err[FLEET_MAX_ERROR] = "", again[256], unit[FLEET_MAX_UNIT + 1];
	int64_t epoch, seq;

	if (fleet_topic_parse("bodydiag", text, tlen, &t, err, sizeof(err)) == 0) {
		if (fleet_topic_format("bodydiag", t.unit, t.vin, t.kind, again, sizeof(again)) < 0 ||
		    strlen(again) != tlen || memcmp(again, text, tlen) != 0)
			abort();
	} else if (!err[0]) {
		abort();
	}
	err[0] = '\0';
	if (fleet_record_parse(payload, plen, &r, err, sizeof(err)) == 0) {
		check_record(&r);
		char *out = json_dumps(r.root, JSON_COMPACT);
		struct fleet_record r2;
		if (!out || fleet_record_parse(out, strlen(out), &r2, err, sizeof(err)) != 0)
			abort();
		if (r2.kind != r.kind || r2.t_us != r.t_us || r2.seq != r.seq || r2.epoch != r.epoch)
			abort();
		(void)fleet_record_check_topic(&r, &t, err, sizeof(err));
		fleet_record_finish(&r2);
		fleet_record_finish(&r);
		free(out);
	} else if (!err[0]) {
		abort();
	}
	if (fleet_payload_ident(payload, plen, unit, &epoch, &seq) == 0 &&
	    (!fleet_unit_valid(unit, strlen(unit)) || epoch < 1 || seq < 1))
		abort();
	return 0;
}
