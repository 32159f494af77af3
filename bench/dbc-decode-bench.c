/* SPDX-License-Identifier: MIT */
/*
 * The library's decoding alone, for bench/decode-bench.sh: loads a DBC and a candump log
 * (outside the measured part), then looks up and decodes every frame ROUNDS times in
 * decode_all(), the function callgrind counts (--toggle-collect=decode_all), and prints
 * frames, samples and a checksum of the values (so the work cannot be optimised away).
 *
 * Usage: dbc-decode-bench DBC CAPTURE [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag/candump.h"
#include "bodydiag/dbc.h"

struct frames {
	struct bd_frame *v;
	size_t n, cap;
};

/* A whole file, NUL-terminated; NULL on any failure. */
static char *load(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	long size;

	if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)size + 1)) && fread(buf, 1, (size_t)size, f) == (size_t)size) {
		buf[size] = '\0';
		*ret_len = (size_t)size;
	} else {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	return buf;
}

static int on_record(void *userdata, const struct candump_record *r)
{
	struct frames *fr = userdata;
	if (r->tf.frame.flags & (BD_FRAME_ERR | BD_FRAME_RTR))
		return 0;
	if (fr->n == fr->cap) {
		size_t cap = fr->cap ? 2 * fr->cap : 4096;
		struct bd_frame *nv = realloc(fr->v, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		fr->v = nv;
		fr->cap = cap;
	}
	fr->v[fr->n++] = r->tf.frame;
	return 0;
}

/* What is measured: lookup and decode of every frame, nothing else. */
__attribute__((noinline)) static uint64_t decode_all(const struct dbc *db, const struct frames *fr,
						     unsigned rounds, struct dbc_sample *samples,
						     size_t cap, size_t *ret_samples)
{
	uint64_t sum = 0;
	size_t total = 0;
	for (unsigned k = 0; k < rounds; k++)
		for (size_t i = 0; i < fr->n; i++) {
			const struct bd_frame *f = &fr->v[i];
			const struct dbc_message *m =
			    dbc_find_message(db, f->id, f->flags & BD_FRAME_EXT);
			struct dbc_decode_status st;
			if (!m)
				continue;
			int n = dbc_decode(m, f->data, f->len, samples, cap, &st);
			if (n > 0) {
				sum += (uint64_t)samples[n - 1].value.i;
				total += (size_t)n;
			}
		}
	*ret_samples = total;
	return sum;
}

int main(int argc, char **argv)
{
	struct frames fr = {0};
	struct dbc *db = NULL;
	struct dbc_error err;
	size_t len, cap = 1, total;
	char *text;

	if (argc < 3) {
		fprintf(stderr, "usage: dbc-decode-bench DBC CAPTURE [ROUNDS]\n");
		return 2;
	}
	unsigned rounds = argc > 3 ? (unsigned)strtoul(argv[3], NULL, 10) : 1;
	if (!(text = load(argv[1], &len)) || dbc_parse(text, len, argv[1], NULL, NULL, &err, &db)) {
		fprintf(stderr, "%s: does not load\n", argv[1]);
		return 1;
	}
	free(text);
	struct candump_reader *rd = candump_reader_new(0, on_record, NULL, &fr);
	if (!rd || !(text = load(argv[2], &len)) || candump_reader_feed(rd, text, len) < 0 ||
	    candump_reader_finish(rd) < 0) {
		fprintf(stderr, "%s: does not read\n", argv[2]);
		return 1;
	}
	free(text);
	candump_reader_free(rd);
	for (size_t i = 0; i < dbc_message_count(db); i++)
		if (dbc_message_max_samples(dbc_message_at(db, i)) > cap)
			cap = dbc_message_max_samples(dbc_message_at(db, i));
	struct dbc_sample *samples = calloc(cap, sizeof(*samples));
	if (!samples)
		return 1;
	uint64_t sum = decode_all(db, &fr, rounds, samples, cap, &total);
	printf("frames=%zu samples=%zu checksum=%016llx\n", fr.n * rounds, total,
	       (unsigned long long)sum);
	free(samples);
	free(fr.v);
	dbc_free(db);
	return 0;
}
