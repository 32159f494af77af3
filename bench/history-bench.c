/* SPDX-License-Identifier: MIT */
/*
 * What durability costs the history (docs/history.md): DTC records per second with
 * synchronous=FULL (durable, the default) one commit each, with NORMAL one commit each,
 * and with FULL in batches as the daemon writes a DTC list (history_batch_begin), on the
 * file system of DIR. Prints the rates and their ratios against FULL one by one, measured
 * in the same run; the time one commit holds the daemon's loop is 1 / rate.
 *
 *   history-bench [DIR] [N]     default: $TMPDIR or /tmp, 2000 records per setting
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/history.h"

#define T0 1767225600000000ll

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Records n DTCs (each a first sighting: snapshot, transition, state) in batches of
 * batch (1 = a commit each); returns records per second, or -1. */
static double run(const char *dir, const char *name, bool durable, unsigned n, unsigned batch)
{
	char path[512], err[256];
	struct history *h = NULL;
	double t0, t;
	int r;

	snprintf(path, sizeof(path), "%s/history-bench-%s-%d.db", dir, name, (int)getpid());
	unlink(path);
	r = history_open(path, &(struct history_options){.durable = durable}, &h, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		return -1;
	}
	t0 = now_s();
	for (unsigned i = 0; i < n && r >= 0; i += batch) {
		if (batch > 1)
			r = history_batch_begin(h);
		for (unsigned k = i; k < i + batch && k < n && r >= 0; k++)
			r = history_record_dtc(h, 0, T0 + k, "bcm", (k % 0x3fff) << 8 | 0x800013,
					       0x2f, NULL);
		if (batch > 1 && r >= 0)
			r = history_batch_end(h);
	}
	t = now_s() - t0;
	history_free(h);
	static const char *const suffixes[] = {"", "-wal", "-shm"};
	for (size_t k = 0; k < sizeof(suffixes) / sizeof(suffixes[0]); k++) {
		char p[600];
		snprintf(p, sizeof(p), "%s%s", path, suffixes[k]);
		unlink(p);
	}
	if (r < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(-r));
		return -1;
	}
	return n / t;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	unsigned n = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2000;
	double full, normal, batched;

	if (n == 0)
		return fprintf(stderr, "usage: history-bench [DIR] [N]\n"), 2;
	full = run(dir, "full", true, n, 1);
	normal = run(dir, "normal", false, n, 1);
	batched = run(dir, "batch", true, n, 1023);
	if (full <= 0 || normal <= 0 || batched <= 0)
		return 1;
	printf("history on %s, %u DTC records per setting:\n", dir, n);
	printf("  durable (FULL), a commit each:  %9.0f records/s  (%.2f ms per commit)  1.00x\n",
	       full, 1e3 / full);
	printf("  NORMAL, a commit each:          %9.0f records/s  (%.2f ms per commit)  %.2fx\n",
	       normal, 1e3 / normal, normal / full);
	printf("  durable, batches of 1023:       %9.0f records/s  (%.1f ms per 1023-DTC list)  %.2fx\n",
	       batched, 1023e3 / batched, batched / full);
	return 0;
}
