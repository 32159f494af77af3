/* SPDX-License-Identifier: MIT */
/*
 * What bodydiagd records, without a car: the history calls the daemon makes (sessions
 * with and without a VIN, DTC reads that are and are not transitions, findings with
 * evidence, bus events, verdicts and session ends), with the outbox on, so that every
 * record queues its row as in the daemon. The forwarder's tests run bodydiag-forward
 * beside it on the same file.
 *
 *   outbox-writer DB [--records N] [--rate R] [--vin VIN] [--queue-max M]
 *
 * Writes until N rows were queued, R per second (0: at once); prints one line
 * "outbox-writer: queued N rows" and exits 0, or 1 with the reason.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/history.h"
#include "daemon/history_outbox.h"

static const char *const CAUSES[] = {"fuse_blown", "latch_jammed", "actuator_worn",
				     "fob_battery_weak"};
static const char *const VERDICTS[] = {"fault", "inconclusive", "not observable on this vehicle",
				       "no fault found in the release chain", "blocked"};

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t queued(struct history *h)
{
	struct history_outbox_stats st;

	if (history_outbox_stats(h, &st) < 0)
		return 0;
	return (uint64_t)(st.next_seq - 1);
}

static int fail(struct history *h, const char *what, int r)
{
	fprintf(stderr, "outbox-writer: %s: %s (%s)\n", what, strerror(-r), history_last_error(h));
	return r;
}

/* One step of the daemon's life; each adds at least one outbox row. */
static int step(struct history *h, unsigned i, const char *vin, int64_t *session,
		int *dtc_status)
{
	int64_t t = now_us();
	char ev[256];
	bool transition;
	int r = 0;

	switch (i % 8) {
	case 0: /* a guided test begins; every other one without a VIN read yet */
		r = history_session_begin(h, t, i % 16 ? vin : NULL, "diagnose trunk", session);
		if (r < 0)
			return fail(h, "session begin", r);
		/* The begin alone queues nothing: a DTC read follows. */
		__attribute__((fallthrough));
	case 1:
	case 5: /* a DTC read: a transition when its status byte changed */
		do {
			*dtc_status = *dtc_status == 0x2f ? 0x2e : 0x2f;
			r = history_record_dtc(h, *session, t, "bcm", 0x9a4013, (uint8_t)*dtc_status,
					       &transition);
		} while (r >= 0 && !transition);
		return r < 0 ? fail(h, "dtc", r) : 0;
	case 2:
	case 3:
		snprintf(ev, sizeof(ev),
			 "[{\"kind\":\"event\",\"t\":%u.5,\"text\":\"TrunkActuatorCurrent stayed 0.0 A\"}]",
			 i);
		r = history_record_finding(h, *session, t, CAUSES[i % 4], i % 3 ? 0.9 : 0.45,
					   i % 3 ? "holds" : "possible",
					   "Check the fuse F23 (15 A) and the release wiring", ev, NULL);
		return r < 0 ? fail(h, "finding", r) : 0;
	case 4: /* outside the session: the bus module's */
		r = history_record_bus_event(h, 0, t, "can0", i % 16 < 8 ? "state" : "adapter-lost",
					     i % 16 < 8 ? "ERROR-ACTIVE -> ERROR-PASSIVE" : NULL);
		return r < 0 ? fail(h, "bus event", r) : 0;
	case 6: /* a background scan outside any session */
		r = history_record_dtc(h, 0, t, "obd", 0xd10000 + i, 0x08, NULL);
		return r < 0 ? fail(h, "scan dtc", r) : 0;
	default: /* the test ends with its verdict */
		r = history_session_set_verdict(h, *session, VERDICTS[(i / 8) % 5],
						(i / 8) % 5 == 0 ? CAUSES[0] : NULL);
		if (r >= 0)
			r = history_session_end(h, *session, t);
		*session = 0;
		return r < 0 ? fail(h, "session end", r) : 0;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"records", required_argument, NULL, 'n'}, {"rate", required_argument, NULL, 'r'},
		{"vin", required_argument, NULL, 'v'},	   {"queue-max", required_argument, NULL, 'q'},
		{},
	};
	const char *vin = "WVWZZZ7HZ6W000001";
	unsigned records = 100, queue_max = 0;
	double rate = 0;
	struct history *h;
	int64_t session = 0;
	int c, dtc_status = 0, r;
	char err[256] = "";

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			records = (unsigned)atoi(optarg);
			break;
		case 'r':
			rate = atof(optarg);
			break;
		case 'v':
			vin = optarg;
			break;
		case 'q':
			queue_max = (unsigned)atoi(optarg);
			break;
		default:
			fprintf(stderr, "usage: outbox-writer DB [--records N] [--rate R] [--vin VIN] "
					"[--queue-max M]\n");
			return 2;
		}
	}
	if (optind + 1 != argc)
		return 2;
	r = history_open(argv[optind], &(struct history_options){.durable = false}, &h, err,
			 sizeof(err));
	if (r < 0) {
		fprintf(stderr, "outbox-writer: %s: %s\n", argv[optind], err);
		return 1;
	}
	history_outbox_enable(h, true, queue_max);
	for (unsigned i = 0; queued(h) < records; i++) {
		if (step(h, i, vin, &session, &dtc_status) < 0) {
			history_free(h);
			return 1;
		}
		if (rate > 0)
			usleep((useconds_t)(1e6 / rate));
	}
	printf("outbox-writer: queued %llu rows\n", (unsigned long long)queued(h));
	history_free(h);
	return 0;
}
