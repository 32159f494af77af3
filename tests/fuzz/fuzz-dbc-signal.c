/* SPDX-License-Identifier: MIT */
/*
 * The standalone signal parser (dbc_signal_parse, what profiles use for DID payloads):
 * the text up to the first newline is the definition, the bytes after it the data, decoded
 * raw and scaled at every length, as an integer and as each IEEE type the length allows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t def = nl ? (size_t)(nl - data) : size;
	const uint8_t *payload = nl ? nl + 1 : data + size;
	size_t plen = size - (size_t)(payload - data);
	struct dbc_signal *s = NULL;
	struct dbc_error err;

	if (def > 4096 || dbc_signal_parse((const char *)data, def, &err, &s) < 0)
		return 0;
	static const enum dbc_signal_type types[] = {
	    DBC_SIGNAL_TYPE_INTEGER, DBC_SIGNAL_TYPE_FLOAT, DBC_SIGNAL_TYPE_DOUBLE,
	    DBC_SIGNAL_TYPE_INTEGER};
	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		if (dbc_signal_set_type(s, types[t]) < 0)
			continue;
		for (size_t len = 0; len <= plen && len <= DBC_MAX_MESSAGE_LEN; len++) {
			struct dbc_value v;
			double raw;
			int a = dbc_signal_decode(s, payload, len, &v);
			int b = dbc_signal_decode_raw(s, payload, len, &raw);
			if ((a < 0) != (b < 0))
				abort(); /* the same field either way */
		}
	}
	dbc_signal_free(s);
	return 0;
}
