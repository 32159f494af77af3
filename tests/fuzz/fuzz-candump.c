/* SPDX-License-Identifier: MIT */
/*
 * The candump reader fed in two chunks split at the first byte's value, every record
 * formatted back and parsed again: the round trip must give the same frame. The same
 * input fed one byte at a time (every line through the reader's own buffer rather than
 * parsed where the chunk holds it) must give the same records and bad lines.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/candump.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What a run saw, as a running hash of records and bad lines. */
struct seen {
	uint64_t hash;
	unsigned records, bad;
};

static void mix(struct seen *s, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ b[i]) * 0x100000001B3ull;
}

static int on_record(void *userdata, const struct candump_record *r)
{
	char line[CANDUMP_MAX_LINE + 64];
	struct candump_record back;
	struct seen *s = userdata;
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
	s->records++;
	mix(s, line, (size_t)n);
	mix(s, &r->line, sizeof(r->line));
	mix(s, &r->tf.t_us, sizeof(r->tf.t_us));
	return 0;
}

static void on_bad_line(void *userdata, unsigned line, const char *reason)
{
	struct seen *s = userdata;
	s->bad++;
	mix(s, &line, sizeof(line));
	mix(s, reason, strlen(reason));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a = {0}, b = {0};
	struct candump_reader *r = candump_reader_new(0, on_record, on_bad_line, &a);
	size_t split = size ? data[0] % (size + 1) : 0;

	if (!r)
		return 0;
	candump_reader_feed(r, data, split);
	candump_reader_feed(r, data + split, size - split);
	candump_reader_finish(r);
	candump_reader_free(r);

	if (size > 1u << 16)
		return 0;
	r = candump_reader_new(0, on_record, on_bad_line, &b);
	if (!r)
		return 0;
	for (size_t i = 0; i < size; i++)
		candump_reader_feed(r, data + i, 1);
	candump_reader_finish(r);
	candump_reader_free(r);
	if (a.hash != b.hash || a.records != b.records || a.bad != b.bad)
		abort();
	return 0;
}
