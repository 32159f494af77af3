/* SPDX-License-Identifier: MIT */
/*
 * The halves of the history's power-cut test (tests/integration/powercut), run in the VM
 * bench on a virtio disk that outlives the boot, plus a fixture for the report rendering
 * test. The two settings under test are the daemon's default `[history] durable` as
 * config_init_defaults() gives it (never a value written here) and the other one:
 *
 *   powercut-writer cut DIR           two writers record findings into DIR/default.db
 *                                     (the default setting) and DIR/other.db (the other)
 *                                     and print "ACK <db> <id>" once each commit has
 *                                     returned; after a random 1-3 s the power goes (sysrq
 *                                     'o': no sync, no unmount, the page cache is lost).
 *   powercut-writer check DIR ACKS    TAP lines without numbers (the caller numbers them):
 *                                     integrity_check of both files, and every id of ACKS
 *                                     ("<db> <id>" lines) present in default.db, and in
 *                                     other.db when that one is the durable setting; the
 *                                     non-durable setting's loss is measured and printed
 *                                     ("# MEASURED" lines), not asserted.
 *   powercut-writer check DIR ACKS cut DIR2
 *                                     both in one boot: the caller chains boots, each one
 *                                     checking the previous cut and cutting again.
 *   powercut-writer report-fixture DB a history with one guided-test session (the data of
 *                                     tests/unit/test-history.c's cli_and_report); prints
 *                                     the session id.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/history.h"

#define T0 1767225600000000ll /* 2026-01-01T00:00:00Z */
#define MAX_IDS 10000000

static const char *const DBS[] = {"default", "other"};

/* The setting of database i: the daemon's default, then its opposite. */
static bool durable_of(size_t i)
{
	struct config cfg;

	config_init_defaults(&cfg);
	return i == 0 ? cfg.history.durable : !cfg.history.durable;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Records findings until the power goes; tells the parent after the first commit. */
static _Noreturn void writer(const char *dir, const char *name, bool durable, int ready_fd)
{
	struct history *h = NULL;
	char path[512], err[256];
	int r;

	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	r = history_open(path, &(struct history_options){.durable = durable}, &h, err, sizeof(err));
	if (r < 0) {
		printf("ERROR %s: %s\n", path, err);
		_exit(2);
	}
	for (int64_t i = 0;; i++) {
		char ev[160];
		int64_t id;

		snprintf(ev, sizeof(ev), "{\"seq\":%lld,\"pad\":\"%0100d\"}", (long long)i, 0);
		r = history_record_finding(h, 0, now_us(), "powercut_test", 0.5, "holds", "advice", ev,
					   &id);
		if (r < 0) {
			/* After the cut has begun the disk may fail a write: the caller judges
			 * by where this line stands relative to "CUT". */
			printf("ERROR %s: record: %s\n", path, strerror(-r));
			_exit(3);
		}
		/* Acknowledged only once the commit returned, as the daemon answers a client. */
		printf("ACK %s %lld\n", name, (long long)id);
		fflush(stdout);
		if (i == 0 && (write(ready_fd, "r", 1) != 1 || close(ready_fd) < 0))
			_exit(4);
	}
}

static int cmd_cut(const char *dir)
{
	pid_t pids[2];
	int p[2];
	unsigned rnd = 0;
	char c;

	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return printf("ERROR mkdir %s: %s\n", dir, strerror(errno)), 1;
	printf("SETTINGS default durable=%s other durable=%s\n", durable_of(0) ? "yes" : "no",
	       durable_of(1) ? "yes" : "no");
	fflush(stdout);
	if (pipe2(p, O_CLOEXEC) < 0)
		return perror("pipe2"), 1;
	for (int i = 0; i < 2; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			return perror("fork"), 1;
		if (pids[i] == 0) {
			close(p[0]);
			writer(dir, DBS[i], durable_of((size_t)i), p[1]);
		}
	}
	close(p[1]);
	/* The clock starts once both have committed something, so a slow start under TCG
	 * cannot make the cut land before any record. */
	for (int i = 0; i < 2; i++)
		if (read(p[0], &c, 1) != 1) {
			printf("ERROR a writer died before its first commit\n");
			return 1;
		}
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		rnd = (unsigned)now_us();
	unsigned delay_ms = 1000 + rnd % 2001;
	usleep(delay_ms * 1000);
	printf("CUT after %u ms\n", delay_ms);
	fflush(stdout);
	/* 'o': power off at once, without the sync that poweroff -f would do first. */
	int fd = open("/proc/sysrq-trigger", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "o", 1) != 1) {
		printf("ERROR /proc/sysrq-trigger: %s\n", strerror(errno));
		return 1;
	}
	sleep(20);
	printf("ERROR still running 20 s after sysrq o\n");
	for (int i = 0; i < 2; i++) {
		kill(pids[i], SIGKILL);
		waitpid(pids[i], NULL, 0);
	}
	return 1;
}

static int collect_ids(const struct history_row *row, void *userdata)
{
	uint8_t *seen = userdata;

	if (row->id > 0 && row->id < MAX_IDS)
		seen[row->id] = 1;
	return 0;
}

/* One database: TAP lines; returns the number of failed points. */
static int check_db(const char *dir, size_t db, FILE *acks)
{
	const char *name = DBS[db];
	bool durable = durable_of(db);
	/* The default must keep everything it acknowledged whatever it is set to (were it
	 * flipped to NORMAL this fails, as it should); the other one when it is durable. */
	bool must_keep_acked = db == 0 || durable;
	char path[512], err[256];
	struct history *h = NULL;
	uint8_t *seen = calloc(MAX_IDS, 1);
	size_t n_acked = 0, n_missing = 0, n_rows = 0;
	long long max_acked = 0, first_missing = 0, id;
	char tag[32];
	int fails = 0, r;

	if (!seen)
		return printf("not ok - %s: out of memory\n", name), 1;
	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	rewind(acks);
	while (fscanf(acks, "%31s %lld", tag, &id) == 2)
		if (strcmp(tag, name) == 0) {
			n_acked++;
			if (id > max_acked)
				max_acked = id;
		}

	if (access(path, F_OK) != 0) {
		/* Even the file's creation may sit in the lost page cache with NORMAL. */
		printf("%s - %s (durable=%s): %s is gone after the cut (%zu acknowledged records)\n",
		       must_keep_acked ? "not ok" : "ok", name, durable ? "yes" : "no", path, n_acked);
		printf("# MEASURED %s durable=%s acked=%zu present=0 lost=%zu\n", name,
		       durable ? "yes" : "no", n_acked, n_acked);
		free(seen);
		return must_keep_acked;
	}
	r = history_open(path, NULL, &h, err, sizeof(err));
	if (r < 0) {
		printf("not ok - %s: history_open: %s\n", name, err);
		free(seen);
		return 1;
	}
	r = history_check(h, err, sizeof(err));
	printf("%s - %s: PRAGMA integrity_check %s\n", r == 0 ? "ok" : "not ok", name,
	       r == 0 ? "ok" : err);
	fails += r != 0;

	struct history_filter f = {.kinds = 1u << HISTORY_KIND_FINDING};
	r = history_query(h, &f, collect_ids, seen);
	if (r < 0) {
		printf("not ok - %s: query: %s\n", name, strerror(-r));
		history_free(h);
		free(seen);
		return fails + 1;
	}
	n_rows = (size_t)r;
	rewind(acks);
	while (fscanf(acks, "%31s %lld", tag, &id) == 2)
		if (strcmp(tag, name) == 0 && (id <= 0 || id >= MAX_IDS || !seen[id])) {
			if (!n_missing)
				first_missing = id;
			n_missing++;
		}
	printf("# MEASURED %s durable=%s acked=%zu (last id %lld) present=%zu lost=%zu\n", name,
	       durable ? "yes" : "no", n_acked, max_acked, n_rows, n_missing);
	if (must_keep_acked) {
		bool ok = n_acked > 0 && n_missing == 0;
		printf("%s - %s (durable=%s): every acknowledged record survived the cut (%zu "
		       "acknowledged, %zu in the file",
		       ok ? "ok" : "not ok", name, durable ? "yes" : "no", n_acked, n_rows);
		if (n_missing)
			printf(", %zu missing, the first id %lld", n_missing, first_missing);
		printf(")\n");
		fails += !ok;
	}
	history_free(h);
	free(seen);
	return fails;
}

static int cmd_check(const char *dir, const char *acks_path)
{
	FILE *acks = fopen(acks_path, "re");
	int fails = 0;

	if (!acks)
		return printf("not ok - %s: %s\n", acks_path, strerror(errno)), 1;
	for (size_t i = 0; i < 2; i++)
		fails += check_db(dir, i, acks);
	fclose(acks);
	return fails ? 1 : 0;
}

static int cmd_report_fixture(const char *path)
{
	struct history *h = NULL;
	char err[256];
	int64_t s1, s2;
	int r = history_open(path, NULL, &h, err, sizeof(err));

	if (r < 0)
		return fprintf(stderr, "%s: %s\n", path, err), 1;
	/* Same records as tests/unit/test-history.c (fill + cli_and_report). */
	r = history_session_begin(h, T0, NULL, "shop visit", &s1);
	r = r ?: history_record_dtc(h, s1, T0 + 10, "bcm", 0x9a4013, 0x2f, NULL);
	r = r ?: history_session_set_vin(h, s1, "WVWZZZ1KZ6W000001");
	r = r ?: history_record_dtc(h, s1, T0 + 20, "bcm", 0x9a4013, 0x2f, NULL);
	r = r ?: history_record_dtc(h, s1, T0 + 30, "bcm", 0x9a4013, 0x2e, NULL);
	r = r ?: history_record_finding(h, s1, T0 + 40, "latch_motor_open", 0.82, "holds",
				       "Check the latch motor connector, pin 3",
				       "[{\"signal\":\"TrunkLatchSw\",\"value\":0}]", NULL);
	r = r ?: history_record_bus_event(h, s1, T0 + 50, "can0", "bus-off", "tx errors");
	r = r ?: history_session_end(h, s1, T0 + 60);
	r = r ?: history_record_timeline(h, s1, T0 + 1, "mark", NAN, "fob pressed");
	r = r ?: history_record_timeline(h, s1, T0 + 2, "fob_telegram", NAN, "unlock");
	r = r ?: history_record_timeline(h, s1, T0 + 3, "release_request", 1, NULL);
	r = r ?: history_record_timeline(h, s1, T0 + 4, "actuator_command", 1, NULL);
	for (int i = 0; i < 5 && r == 0; i++)
		r = history_record_timeline(h, s1, T0 + 5 + i, "actuator_current", 0.1 * i, NULL);
	r = r ?: history_record_timeline(h, s1, T0 + 12, "ajar_switch", 0, "stayed closed");
	r = r ?: history_record_finding(h, s1, T0 + 35, "fob_battery_weak", 0.2, NULL,
				       "Replace the <CR2032> & retry", NULL, NULL);
	/* A second, later session, so the report must be asked for the first one. */
	r = r ?: history_session_begin(h, T0 + 7200000000ll, "WVWZZZ1KZ6W000002", NULL, &s2);
	history_free(h);
	if (r < 0)
		return fprintf(stderr, "%s: %s\n", path, strerror(-r)), 1;
	printf("%lld\n", (long long)s1);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "cut") == 0)
		return cmd_cut(argv[2]);
	if (argc == 4 && strcmp(argv[1], "check") == 0)
		return cmd_check(argv[2], argv[3]);
	if (argc == 6 && strcmp(argv[1], "check") == 0 && strcmp(argv[4], "cut") == 0) {
		/* The check's verdict is in its TAP lines; the cut goes on regardless, so
		 * one bad round does not hide the others. */
		cmd_check(argv[2], argv[3]);
		return cmd_cut(argv[5]);
	}
	if (argc == 3 && strcmp(argv[1], "report-fixture") == 0)
		return cmd_report_fixture(argv[2]);
	fprintf(stderr, "usage: %s cut DIR | check DIR ACKS [cut DIR2] | report-fixture DB\n",
		argv[0]);
	return 2;
}
