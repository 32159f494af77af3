/* SPDX-License-Identifier: MIT */
/*
 * The candump reader fed in two chunks split at the first byte's value, every record
 * formatted back and parsed again: the round trip must give the same frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/candump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_record(void *userdata, const struct candump_record *r)
{
	char line[CANDUMP_MAX_LINE + 64];
	struct candump_record back;
	int n = candump_format_record(r, line, sizeof(line));
	if (n < 0 || (size_t)n >= sizeof(line))
		abort();
	if (candump_parse_line(line, (size_t)n, NULL, &back) < 0)
		abort();
	if (back.tf.frame.id != r->tf.frame.id || back.tf.frame.flags != r->tf.frame.flags ||
	    back.tf.frame.len != r->tf.frame.len || back.tf.t_us != r->tf.t_us ||
	    memcmp(back.tf.frame.data, r->tf.frame.data, r->tf.frame.len) != 0 ||
	    strcmp(back.time, r->time) != 0 || strcmp(back.iface, r->iface) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct candump_reader *r = candump_reader_new(0, on_record, NULL, NULL);
	size_t split = size ? data[0] % (size + 1) : 0;

	if (!r)
		return 0;
	candump_reader_feed(r, data, split);
	candump_reader_feed(r, data + split, size - split);
	candump_reader_finish(r);
	candump_reader_free(r);
	return 0;
}
