/* SPDX-License-Identifier: MIT */
/*
 * bodydiag history [--db PATH] [--since T] [--until T] [--vin VIN] [--code DTC]
 *                  [--cause ID] [--session N] [--kind K] [--limit N]
 *                  [--format table|jsonl|csv]
 *
 * Reads the history database directly and read-only, so it works while bodydiagd runs
 * (WAL mode lets readers and the writer proceed side by side) and without the daemon.
 * The default database is [history] path from /etc/bodydiag/bodydiag.conf when that
 * file is readable, else the built-in default.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag.h"
#include "bodydiag/dtc.h"
#include "daemon/config.h"
#include "daemon/history.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag history [OPTIONS]\n\n"
		"Stored DTC snapshots and transitions, findings, bus events and sessions, oldest first.\n\n"
		"  --db PATH            history database (default: [history] path of %s)\n"
		"  --since T, --until T time bounds: Unix seconds or ISO 8601 UTC (2026-01-31,\n"
		"                       2026-01-31T12:00:00Z)\n"
		"  --vin VIN            one vehicle\n"
		"  --code DTC           one DTC, e.g. B1A40-13 (snapshots and transitions)\n"
		"  --cause ID           findings of one cause\n"
		"  --session N          one diagnosis session\n"
		"  --kind K             session, dtc, transition, finding or bus\n"
		"  --limit N            at most N records\n"
		"  --format F           table (default), jsonl or csv (RFC 4180)\n",
		CONFIG_DEFAULT_PATH);
}

static int default_db(char *buf, size_t size)
{
	struct config cfg;
	struct config_error err;

	if (config_load(CONFIG_DEFAULT_PATH, NULL, 0, &cfg, &err) < 0)
		config_init_defaults(&cfg);
	if (!cfg.history.path[0])
		return -ENOENT;
	snprintf(buf, size, "%s", cfg.history.path);
	return 0;
}

int cmd_history(int argc, char **argv)
{
	enum { OPT_SINCE = 256, OPT_UNTIL, OPT_VIN, OPT_CODE, OPT_CAUSE, OPT_SESSION, OPT_KIND,
	       OPT_LIMIT, OPT_FORMAT, OPT_DB };
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"db", required_argument, NULL, OPT_DB},
		{"since", required_argument, NULL, OPT_SINCE},
		{"until", required_argument, NULL, OPT_UNTIL},
		{"vin", required_argument, NULL, OPT_VIN},
		{"code", required_argument, NULL, OPT_CODE},
		{"cause", required_argument, NULL, OPT_CAUSE},
		{"session", required_argument, NULL, OPT_SESSION},
		{"kind", required_argument, NULL, OPT_KIND},
		{"limit", required_argument, NULL, OPT_LIMIT},
		{"format", required_argument, NULL, OPT_FORMAT},
		{},
	};
	struct history_filter f = {0};
	enum history_format fmt = HISTORY_FORMAT_TABLE;
	char dbpath[CONFIG_MAX_STRING] = "", err[512] = "";
	struct history *h = NULL;
	enum history_kind kind;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		case OPT_DB:
			snprintf(dbpath, sizeof(dbpath), "%s", optarg);
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (history_parse_time(optarg, c == OPT_SINCE ? &f.since_us : &f.until_us) < 0) {
				fprintf(stderr,
					"bodydiag history: --%s '%s': expected Unix seconds or an ISO 8601 "
					"UTC time such as 2026-01-31T12:00:00Z\n",
					c == OPT_SINCE ? "since" : "until", optarg);
				return 1;
			}
			break;
		case OPT_VIN:
			f.vin = optarg;
			break;
		case OPT_CODE:
			if (dtc_parse(optarg, &f.code) < 0) {
				fprintf(stderr, "bodydiag history: --code '%s': expected a DTC such as B1A40-13\n",
					optarg);
				return 1;
			}
			f.have_code = true;
			break;
		case OPT_CAUSE:
			f.cause = optarg;
			break;
		case OPT_SESSION:
			errno = 0;
			f.session = strtoll(optarg, &end, 10);
			if (errno || *end || f.session <= 0) {
				fprintf(stderr, "bodydiag history: --session '%s': expected a positive integer\n",
					optarg);
				return 1;
			}
			break;
		case OPT_KIND:
			if (history_kind_from_name(optarg, &kind) < 0) {
				fprintf(stderr,
					"bodydiag history: --kind '%s': expected session, dtc, transition, "
					"finding or bus\n",
					optarg);
				return 1;
			}
			f.kinds |= 1u << kind;
			break;
		case OPT_LIMIT: {
			errno = 0;
			unsigned long n = strtoul(optarg, &end, 10);
			if (errno || *end || n == 0 || n > 100000000 || optarg[0] == '-') {
				fprintf(stderr, "bodydiag history: --limit '%s': expected a positive integer\n",
					optarg);
				return 1;
			}
			f.limit = (unsigned)n;
			break;
		}
		case OPT_FORMAT:
			if (strcmp(optarg, "table") == 0)
				fmt = HISTORY_FORMAT_TABLE;
			else if (strcmp(optarg, "jsonl") == 0)
				fmt = HISTORY_FORMAT_JSONL;
			else if (strcmp(optarg, "csv") == 0)
				fmt = HISTORY_FORMAT_CSV;
			else {
				fprintf(stderr, "bodydiag history: --format '%s': expected table, jsonl or csv\n",
					optarg);
				return 1;
			}
			break;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "bodydiag history: unexpected argument '%s'\n", argv[optind]);
		return 1;
	}
	if (!dbpath[0] && default_db(dbpath, sizeof(dbpath)) < 0) {
		fprintf(stderr, "bodydiag history: no history database configured; use --db\n");
		return 1;
	}
	r = history_open(dbpath, &(struct history_options){.read_only = true}, &h, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "bodydiag history: %s\n", err[0] ? err : strerror(-r));
		return 1;
	}
	r = history_export(h, &f, fmt, stdout);
	history_free(h);
	if (fflush(stdout) != 0 && r >= 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "bodydiag history: %s: %s\n", dbpath, strerror(-r));
		return 1;
	}
	return 0;
}
