/* SPDX-License-Identifier: MIT */
/*
 * The DBC parser, then every message decoded from the input's first bytes and encoded
 * back: whatever loads must decode and encode without touching memory it does not own.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dbc *db = NULL;
	struct dbc_error err;
	uint8_t frame[DBC_MAX_MESSAGE_LEN] = {0};

	if (size > 1u << 20)
		return 0;
	if (dbc_parse(data, size, "fuzz.dbc", NULL, NULL, &err, &db) < 0)
		return 0;
	memcpy(frame, data, size < sizeof(frame) ? size : sizeof(frame));
	for (size_t i = 0; i < dbc_message_count(db); i++) {
		const struct dbc_message *m = dbc_message_at(db, i);
		size_t n = dbc_message_max_samples(m);
		struct dbc_sample *samples = calloc(n ? n : 1, sizeof(*samples));
		struct dbc_value *values = calloc(n ? n : 1, sizeof(*values));
		struct dbc_decode_status st;
		char text[256];
		if (!samples || !values) {
			free(samples);
			free(values);
			break;
		}
		for (unsigned len = 0; len <= DBC_MAX_MESSAGE_LEN; len += 7) {
			int k = dbc_decode(m, frame, len, samples, n, &st);
			if (k >= 0)
				dbc_decode_status_format(&st, text, sizeof(text));
		}
		for (size_t k = 0; k < n; k++)
			values[k] = (struct dbc_value){.type = DBC_VALUE_INT, .i = 1};
		dbc_encode(m, values, frame, sizeof(frame));
		(void)dbc_find_message(db, dbc_message_id(m), dbc_message_is_extended(m));
		free(samples);
		free(values);
	}
	dbc_free(db);

	/* the same bytes as a standalone signal definition */
	struct dbc_signal *s = NULL;
	if (size < 4096 && dbc_signal_parse((const char *)data, size, &err, &s) == 0) {
		struct dbc_value v;
		dbc_signal_decode(s, frame, sizeof(frame), &v);
		dbc_signal_free(s);
	}
	return 0;
}
