/* SPDX-License-Identifier: MIT */
/*
 * The DBC text parser (dbc-lex, dbc-parse, dbc-resolve), then the codec on whatever loads:
 * every message decoded from the input's bytes at every length, once through the
 * compiled plan (room for every sample) and once the general way (room for exactly the
 * samples the first gave, which takes the general path when that is fewer than the
 * signals): both must give the same samples and status. Then encoded back, looked up by
 * id, and the dense numbers checked.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_value(struct dbc_value a, struct dbc_value b)
{
	if (a.type != b.type)
		return false;
	/* bitwise: NaN payloads and -0.0 included */
	return memcmp(&a.u, &b.u, sizeof(a.u)) == 0;
}

static void check_message(const struct dbc_message *m, const uint8_t *frame)
{
	size_t n = dbc_message_max_samples(m);
	struct dbc_sample *fast = calloc(n ? n : 1, sizeof(*fast));
	struct dbc_sample *general = calloc(n ? n : 1, sizeof(*general));
	struct dbc_value *values = calloc(n ? n : 1, sizeof(*values));
	struct dbc_decode_status st, st2;
	char text[256];

	if (!fast || !general || !values)
		goto out;
	for (unsigned len = 0; len <= DBC_MAX_MESSAGE_LEN; len += 7) {
		int k = dbc_decode(m, frame, len, fast, n, &st);
		if (k < 0)
			abort(); /* room for every signal: never -ENOBUFS */
		dbc_decode_status_format(&st, text, sizeof(text));
		int k2 = dbc_decode(m, frame, len, general, (size_t)k, &st2);
		if (k2 < 0)
			continue; /* names defined twice: more samples before they are merged */
		if (k2 != k || st2.flags != st.flags || st2.bad_mux != st.bad_mux ||
		    st2.bad_mux_value != st.bad_mux_value)
			abort();
		for (int i = 0; i < k; i++)
			if (fast[i].signal != general[i].signal || fast[i].choice != general[i].choice ||
			    !same_value(fast[i].value, general[i].value))
				abort();
	}
	for (size_t k = 0; k < n; k++)
		values[k] = (struct dbc_value){.type = DBC_VALUE_INT, .i = frame[k % 8]};
	uint8_t out[DBC_MAX_MESSAGE_LEN];
	dbc_encode(m, values, out, sizeof(out));
out:
	free(fast);
	free(general);
	free(values);
}

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
		check_message(m, frame);
		const struct dbc_message *f =
		    dbc_find_message(db, dbc_message_id(m), dbc_message_is_extended(m));
		if (!f || dbc_message_id(f) != dbc_message_id(m))
			abort();
		if (dbc_message_index(m) != i)
			abort();
		for (size_t k = 0; k < dbc_message_signal_count(m); k++)
			if (dbc_signal_number(dbc_message_signal_at(m, k)) >= dbc_signal_total(db))
				abort();
	}
	dbc_free(db);
	return 0;
}
