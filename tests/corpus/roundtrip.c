/* SPDX-License-Identifier: MIT */
/*
 * Round trip over a corpus of DBC files: for every message, random payloads are decoded
 * (giving random physical values over each signal's whole raw range), the values encoded
 * and the result decoded again; both decodes must agree (integers exactly, floats within
 * 1e-9 relative, NaN with NaN). Signals that overlap another present signal or reach past
 * the message are left out: encoding cannot give both their bits back.
 *
 * Usage: roundtrip DIR|FILE...   (directories are searched one level deep for *.dbc)
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "bodydiag/dbc.h"
#include "../common/prng.h"

#define ROUNDS 32

static uint64_t rng_state = PRNG_SEED_DEFAULT; /* reproducible runs */

static uint64_t rnd(void)
{
	return prng_next(&rng_state);
}

static unsigned long files, messages, frames, values, failures;

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "rbe");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;
	if (!f)
		return NULL;
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		n = fread(buf + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	fclose(f);
	*ret_len = len;
	return buf;
}

/* Bits a signal covers in a message of len bytes (LE bit numbering); false if it does not fit. */
static bool signal_bits(const struct dbc_signal *s, unsigned len, uint64_t map[8])
{
	unsigned start = dbc_signal_start(s), n = dbc_signal_length(s);
	memset(map, 0, 8 * sizeof(uint64_t));
	for (unsigned k = 0; k < n; k++) {
		unsigned bit;
		if (dbc_signal_is_big_endian(s)) {
			unsigned p = 8 * (start / 8) + (7 - start % 8) + k;
			bit = 8 * (p / 8) + (7 - p % 8);
		} else {
			bit = start + k;
		}
		if (bit >= 8 * len)
			return false;
		map[bit / 64] |= UINT64_C(1) << (bit % 64);
	}
	return true;
}

static bool same(struct dbc_value a, struct dbc_value b)
{
	if (a.type != b.type)
		return false;
	switch (a.type) {
	case DBC_VALUE_INT:
		return a.i == b.i;
	case DBC_VALUE_UINT:
		return a.u == b.u;
	case DBC_VALUE_FLOAT:
		if (isnan(a.f) || isnan(b.f))
			return isnan(a.f) && isnan(b.f);
		return a.f == b.f || fabs(a.f - b.f) <= 1e-9 * fmax(fabs(a.f), fabs(b.f));
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return false;
}

static void check_message(const char *path, const struct dbc_message *m)
{
	size_t n = dbc_message_signal_count(m);
	unsigned len = dbc_message_length(m);
	struct dbc_sample *a = calloc(n + 1, sizeof(*a)), *b = calloc(n + 1, sizeof(*b));
	struct dbc_value *vals = calloc(n + 1, sizeof(*vals));
	uint64_t(*maps)[8] = calloc(n + 1, sizeof(*maps));
	bool *usable = calloc(n + 1, sizeof(*usable));

	if (!a || !b || !vals || !maps || !usable)
		goto out;
	messages++;
	for (size_t i = 0; i < n; i++)
		usable[i] = signal_bits(dbc_message_signal_at(m, i), len, maps[i]);

	for (int round = 0; round < ROUNDS; round++) {
		uint8_t data[DBC_MAX_MESSAGE_LEN], again[DBC_MAX_MESSAGE_LEN];
		struct dbc_decode_status st;
		for (unsigned i = 0; i < sizeof(data); i++)
			data[i] = (uint8_t)rnd();
		/* the all-zero and all-one payloads are worth a round each */
		if (round == 0)
			memset(data, 0, sizeof(data));
		if (round == 1)
			memset(data, 0xff, sizeof(data));
		int na = dbc_decode(m, data, len, a, n, &st);
		if (na < 0) {
			printf("%s: %s: decode failed: %s\n", path, dbc_message_name(m),
			       strerror(-na));
			failures++;
			goto out;
		}
		memset(vals, 0, n * sizeof(*vals));
		for (size_t i = 0; i < n; i++)
			vals[i] = (struct dbc_value){.type = DBC_VALUE_INT, .i = 0};
		for (int i = 0; i < na; i++)
			for (size_t k = 0; k < n; k++)
				if (dbc_message_signal_at(m, k) == a[i].signal)
					vals[k] = a[i].value;
		int r = dbc_encode(m, vals, again, sizeof(again));
		if (r < 0) {
			printf("%s: %s: encode failed: %s\n", path, dbc_message_name(m),
			       strerror(-r));
			failures++;
			goto out;
		}
		int nb = dbc_decode(m, again, len, b, n, &st);
		frames++;
		for (int i = 0; i < na; i++) {
			size_t k;
			for (k = 0; k < n; k++)
				if (dbc_message_signal_at(m, k) == a[i].signal)
					break;
			if (k == n || !usable[k])
				continue;
			bool overlap = false;
			for (int j = 0; j < na && !overlap; j++) {
				size_t q;
				if (j == i)
					continue;
				for (q = 0; q < n; q++)
					if (dbc_message_signal_at(m, q) == a[j].signal)
						break;
				for (int w = 0; w < 8 && q < n; w++)
					overlap |= (maps[k][w] & maps[q][w]) != 0;
				/* a same-named signal is written with 0 and may shadow this one */
				overlap |= strcmp(dbc_signal_name(a[j].signal),
						  dbc_signal_name(a[i].signal)) == 0;
			}
			if (overlap)
				continue;
			int j;
			for (j = 0; j < nb; j++)
				if (b[j].signal == a[i].signal)
					break;
			values++;
			if (j == nb || !same(a[i].value, b[j].value)) {
				failures++;
				if (failures < 20)
					printf("%s: %s.%s: %g decoded back as %g\n", path,
					       dbc_message_name(m), dbc_signal_name(a[i].signal),
					       dbc_value_as_double(a[i].value),
					       j == nb ? NAN : dbc_value_as_double(b[j].value));
			}
		}
	}
out:
	free(a);
	free(b);
	free(vals);
	free(maps);
	free(usable);
}

static void check_file(const char *path)
{
	size_t len;
	char *text = slurp(path, &len);
	struct dbc *db = NULL;
	struct dbc_error err;

	if (!text) {
		printf("%s: %s\n", path, strerror(errno));
		failures++;
		return;
	}
	int r = dbc_parse(text, len, path, NULL, NULL, &err, &db);
	free(text);
	if (r < 0) {
		printf("%s:%u:%u: does not load: %s\n", err.file, err.line, err.column,
		       err.message);
		failures++;
		return;
	}
	files++;
	for (size_t i = 0; i < dbc_message_count(db); i++)
		check_message(path, dbc_message_at(db, i));
	dbc_free(db);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) < 0) {
			printf("%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			check_file(argv[i]);
			continue;
		}
		DIR *d = opendir(argv[i]);
		char *names[4096];
		size_t n = 0;
		if (!d)
			return 1;
		for (struct dirent *de; (de = readdir(d)) && n < 4096;) {
			size_t l = strlen(de->d_name);
			if (l > 4 && strcasecmp(de->d_name + l - 4, ".dbc") == 0)
				names[n++] = strdup(de->d_name);
		}
		closedir(d);
		qsort(names, n, sizeof(names[0]), cmp_str);
		for (size_t k = 0; k < n; k++) {
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], names[k]);
			check_file(path);
			free(names[k]);
		}
	}
	printf("roundtrip: %lu files, %lu messages, %lu frames, %lu values, %lu failures\n", files,
	       messages, frames, values, failures);
	return failures == 0 && files > 0 ? 0 : 1;
}
