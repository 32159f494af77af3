/* SPDX-License-Identifier: MIT */
/*
 * The API client commands: status, ecus, dtc, did, live, mark. Each sends its request(s)
 * to bodydiagd over the Unix socket and prints a table (or, with --json, the result
 * objects, one per line). Exit codes: api_client.h, bodydiag(1).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_client.h"
#include "bodydiag.h"
#include "daemon/json_text.h"
#include "summary.h"
#include "bodydiag/numfmt.h"

struct client_opts {
	const char *socket;
	bool json;
	const char *ecu;
	const char *mask;
	const char *group;
};

enum {
	OPT_SOCKET = 0x100,
	OPT_JSON,
	OPT_ECU,
	OPT_MASK,
	OPT_GROUP,
};

static void usage_of(FILE *f, const char *cmd, const char *args, const char *extra)
{
	fprintf(f,
		"Usage: bodydiag %s [--socket PATH] [--json]%s%s\n"
		"  --socket PATH  the daemon's socket (default %s, or $BODYDIAG_SOCKET)\n"
		"  --json         print the daemon's result objects, one JSON object per line\n%s",
		cmd, *args ? " " : "", args, API_CLIENT_DEFAULT_SOCKET, extra);
}

/* Parses the common options; returns optind or -1 (usage printed; exit code in *ret). */
static int parse(int argc, char **argv, const char *args, const char *extra, bool with_ecu,
		 struct client_opts *o, int *ret)
{
	static const struct option all[] = {
		{"socket", required_argument, NULL, OPT_SOCKET},
		{"json", no_argument, NULL, OPT_JSON},
		{"ecu", required_argument, NULL, OPT_ECU},
		{"mask", required_argument, NULL, OPT_MASK},
		{"group", required_argument, NULL, OPT_GROUP},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *env = getenv("BODYDIAG_SOCKET");
	int opt;

	*o = (struct client_opts){.socket = env && *env ? env : API_CLIENT_DEFAULT_SOCKET};
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", all, NULL)) != -1) {
		switch (opt) {
		case OPT_SOCKET:
			o->socket = optarg;
			break;
		case OPT_JSON:
			o->json = true;
			break;
		case OPT_ECU:
			if (!with_ecu)
				goto bad;
			o->ecu = optarg;
			break;
		case OPT_MASK:
			o->mask = optarg;
			break;
		case OPT_GROUP:
			o->group = optarg;
			break;
		case 'h':
			usage_of(stdout, argv[0], args, extra);
			*ret = API_EXIT_OK;
			return -1;
		default:
			goto bad;
		}
	}
	return optind;
bad:
	usage_of(stderr, argv[0], args, extra);
	*ret = API_EXIT_USAGE;
	return -1;
}

static int connect_or_report(struct api_client *c, const char *path)
{
	int r = api_client_connect(c, path);

	if (r < 0) {
		fprintf(stderr, "bodydiag: cannot connect to %s: %s%s\n", path, strerror(-r),
			r == -ENOENT || r == -ECONNREFUSED ? " (is bodydiagd running?)"
			: r == -EACCES			    ? " (are you in group bodydiag?)"
							    : "");
		return API_EXIT_CONNECT;
	}
	return 0;
}

/* One call; prints errors. Returns an exit code; *ret_result set on success. */
static int call(struct api_client *c, const char *method, json_t *params,
		api_client_event_fn on_event, void *userdata, json_t **ret_result)
{
	json_t *result = NULL, *error = NULL;
	int r = api_client_call(c, method, params, on_event, userdata, &result, &error);

	if (r < 0) {
		fprintf(stderr, "bodydiag: %s: %s\n", method,
			r == -ECONNRESET ? "the daemon closed the connection"
			: r == -EPROTO	 ? "the daemon sent something that is not JSON"
					 : strerror(-r));
		return r == -ECONNRESET ? API_EXIT_CONNECT : API_EXIT_DAEMON;
	}
	if (error) {
		const char *code = json_string_value(json_object_get(error, "code"));
		const char *msg = json_string_value(json_object_get(error, "message"));
		int ex = api_client_exit_for(code);

		fprintf(stderr, "bodydiag: %s: %s%s%s\n", method, code ? code : "error",
			msg ? ": " : "", msg ? msg : "");
		json_decref(error);
		return ex;
	}
	*ret_result = result;
	return API_EXIT_OK;
}

static void print_json(const json_t *j)
{
	char *s = json_text_dumps(j, JSON_TEXT_COMPACT, NULL);

	if (s)
		puts(s);
	free(s);
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "-";
}

/* Prints a JSON number or string value as a person reads it. */
static void print_value(FILE *f, const json_t *v)
{
	if (json_is_integer(v))
		fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v)) {
		char num[NUMFMT_DOUBLE_MAX];
		numfmt_double_text(num, json_real_value(v));
		fputs(num, f);
	}
	else if (json_is_string(v))
		fputs(json_string_value(v), f);
	else if (json_is_true(v))
		fputs("yes", f);
	else if (json_is_false(v))
		fputs("no", f);
	else
		fputs("-", f);
}

/* A negative response in a result: printed, exit code NEGATIVE. */
static int nrc_of(const json_t *result, const char *what)
{
	const char *nrc = json_string_value(json_object_get(result, "nrc"));

	if (!nrc)
		return 0;
	fprintf(stderr, "bodydiag: %s: negative response %s\n", what, nrc);
	return API_EXIT_NEGATIVE;
}

/*
 * A command with no arguments but the common options and one call whose params are
 * NULL. Returns an exit code; on API_EXIT_OK *ret_res (owned) and *o are set.
 */
static int one_call(int argc, char **argv, const char *method, struct client_opts *o,
		    json_t **ret_res)
{
	struct api_client c;
	int ex, i = parse(argc, argv, "", "", false, o, &ex);

	if (i < 0)
		return ex == API_EXIT_OK ? -1 : ex;
	if (i != argc) {
		usage_of(stderr, argv[0], "", "");
		return API_EXIT_USAGE;
	}
	ex = connect_or_report(&c, o->socket);
	if (ex)
		return ex;
	ex = call(&c, method, NULL, NULL, NULL, ret_res);
	api_client_close(&c);
	return ex;
}

/* status' mqtt member in one line: the forwarder's link, broker, error, the outbox's backlog. */
static void print_mqtt(FILE *f, const json_t *m)
{
	const char *error = json_string_value(json_object_get(m, "error"));
	const char *since = json_string_value(json_object_get(m, "since"));
	const char *oldest = json_string_value(json_object_get(m, "oldest"));

	fputs(str(m, "state"), f);
	if (!json_object_get(m, "broker"))
		return; /* disabled */
	fprintf(f, " %s%s", str(m, "broker"), json_is_true(json_object_get(m, "tls")) ? " (TLS)" : "");
	if (json_object_get(m, "unit"))
		fprintf(f, " unit %s", str(m, "unit"));
	if (since)
		fprintf(f, " since %s", since);
	if (error)
		fprintf(f, ", last error: %s", error);
	fprintf(f, "; backlog %" JSON_INTEGER_FORMAT, json_integer_value(json_object_get(m, "backlog")));
	if (oldest)
		fprintf(f, " from %s", oldest);
	if (json_integer_value(json_object_get(m, "dropped")))
		fprintf(f, ", %" JSON_INTEGER_FORMAT " dropped",
			json_integer_value(json_object_get(m, "dropped")));
}

int cmd_status(int argc, char **argv)
{
	struct client_opts o;
	json_t *res = NULL, *v;
	const char *key;
	int ex = one_call(argc, argv, "status", &o, &res);

	if (ex)
		return ex < 0 ? API_EXIT_OK : ex;
	if (o.json)
		print_json(res);
	else
		json_object_foreach(res, key, v) {
			printf("%-14s ", key);
			if (strcmp(key, "mqtt") == 0 && json_is_object(v))
				print_mqtt(stdout, v);
			else
				print_value(stdout, v);
			putchar('\n');
		}
	json_decref(res);
	return API_EXIT_OK;
}

static int wider(int w, const char *s)
{
	int n = (int)strlen(s);

	return n > w ? n : w;
}

int cmd_ecus(int argc, char **argv)
{
	struct client_opts o;
	json_t *res = NULL, *e;
	size_t k;
	int ex = one_call(argc, argv, "ecus", &o, &res);

	if (ex)
		return ex < 0 ? API_EXIT_OK : ex; /* < 0: --help was printed */
	if (o.json)
		print_json(res);
	else {
		/* columns as wide as their longest value: a 29-bit id ("18DA40F1") or an address
		 * byte ("7E0/40") is wider than an 11-bit one */
		int w_name = 3, w_tx = 2, w_rx = 2;

		json_array_foreach(json_object_get(res, "ecus"), k, e) {
			w_name = wider(w_name, str(e, "name"));
			w_tx = wider(w_tx, str(e, "tx"));
			w_rx = wider(w_rx, str(e, "rx"));
		}
		printf("%-*s  %-*s  %-*s  %-7s %8s %8s %8s %10s  %s\n", w_name, "ECU", w_tx, "TX",
		       w_rx, "RX", "SESSION", "REQUESTS", "TIMEOUTS", "NEGATIVE", "LATENCY",
		       "DESCRIPTION");
		json_array_foreach(json_object_get(res, "ecus"), k, e) {
			printf("%-*s  %-*s  %-*s  0x%02" JSON_INTEGER_FORMAT "    %8" JSON_INTEGER_FORMAT
			       " %8" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %7.1f ms  %s\n",
			       w_name, str(e, "name"), w_tx, str(e, "tx"), w_rx, str(e, "rx"),
			       json_integer_value(json_object_get(e, "session")),
			       json_integer_value(json_object_get(e, "requests")),
			       json_integer_value(json_object_get(e, "timeouts")),
			       json_integer_value(json_object_get(e, "negative")),
			       json_real_value(json_object_get(e, "latency_ms")),
			       str(e, "description"));
		}
	}
	json_decref(res);
	return API_EXIT_OK;
}

static json_t *number_or_string(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (!errno && *s && !*end && v <= INT64_MAX)
		return json_integer((json_int_t)v);
	return json_string(s);
}

int cmd_dtc(int argc, char **argv)
{
	static const char extra[] =
		"  read           read the DTCs (default): --ecu NAME, --mask N (status mask, default 0xff)\n"
		"  clear          clear the DTCs (needs group bodydiag-admin or root): --ecu NAME,\n"
		"                 --group N (default 0xffffff, all)\n";
	struct client_opts o;
	struct api_client c;
	json_t *params, *res = NULL, *d;
	const char *action = "read";
	size_t k;
	int ex, i = parse(argc, argv, "[read|clear] [--ecu NAME] [--mask N] [--group N]", extra,
			  true, &o, &ex);

	if (i < 0)
		return ex;
	if (i < argc)
		action = argv[i++];
	if (i != argc || (strcmp(action, "read") && strcmp(action, "clear")) ||
	    (o.mask && strcmp(action, "read")) || (o.group && strcmp(action, "clear"))) {
		usage_of(stderr, argv[0], "[read|clear] [--ecu NAME] [--mask N] [--group N]", extra);
		return API_EXIT_USAGE;
	}
	params = json_object();
	if (o.ecu)
		json_object_set_new(params, "ecu", json_string(o.ecu));
	if (o.mask)
		json_object_set_new(params, "mask", number_or_string(o.mask));
	if (o.group)
		json_object_set_new(params, "group", number_or_string(o.group));
	ex = connect_or_report(&c, o.socket);
	if (ex) {
		json_decref(params);
		return ex;
	}
	ex = call(&c, strcmp(action, "read") == 0 ? "dtc.read" : "dtc.clear", params, NULL, NULL,
		  &res);
	api_client_close(&c);
	if (ex)
		return ex;
	if (o.json)
		print_json(res);
	ex = nrc_of(res, strcmp(action, "read") == 0 ? "dtc.read" : "dtc.clear");
	if (!o.json && !ex) {
		if (strcmp(action, "clear") == 0)
			printf("%s: DTCs cleared\n", str(res, "ecu"));
		else if (json_array_size(json_object_get(res, "dtcs")) == 0)
			printf("%s: no DTCs\n", str(res, "ecu"));
		else {
			printf("%-9s %-6s %-40s %s\n", "DTC", "STATUS", "FLAGS", "TEXT");
			json_array_foreach(json_object_get(res, "dtcs"), k, d) {
				char flags[256] = "";
				json_t *fl;
				size_t j;

				json_array_foreach(json_object_get(d, "flags"), j, fl) {
					if (j)
						strncat(flags, ",", sizeof(flags) - strlen(flags) - 1);
					strncat(flags, json_string_value(fl),
						sizeof(flags) - strlen(flags) - 1);
				}
				printf("%-9s %-6s %-40s %s\n", str(d, "code"), str(d, "status"), flags,
				       json_is_string(json_object_get(d, "text")) ? str(d, "text")
										 : str(d, "ftb"));
			}
		}
	}
	json_decref(res);
	return ex;
}

int cmd_did(int argc, char **argv)
{
	struct client_opts o;
	struct api_client c;
	int ex, worst = API_EXIT_OK, i = parse(argc, argv, "[--ecu NAME] DID...",
					       "  DID            a profile DID or signal name, or a number (0xF190)\n",
					       true, &o, &ex);

	if (i < 0)
		return ex;
	if (i == argc) {
		usage_of(stderr, argv[0], "[--ecu NAME] DID...", "");
		return API_EXIT_USAGE;
	}
	ex = connect_or_report(&c, o.socket);
	if (ex)
		return ex;
	for (; i < argc; i++) {
		json_t *params = json_object(), *res = NULL, *vals, *v;
		size_t k;

		json_object_set_new(params, "did", number_or_string(argv[i]));
		if (o.ecu)
			json_object_set_new(params, "ecu", json_string(o.ecu));
		ex = call(&c, "did.read", params, NULL, NULL, &res);
		if (ex) {
			if (ex == API_EXIT_CONNECT || ex == API_EXIT_DAEMON) {
				worst = ex;
				break;
			}
			if (!worst)
				worst = ex;
			continue;
		}
		if (o.json)
			print_json(res);
		ex = nrc_of(res, argv[i]);
		if (ex && !worst)
			worst = ex;
		if (!o.json && !ex) {
			vals = json_object_get(res, "values");
			if (!json_array_size(vals))
				printf("%s %s = %s\n", str(res, "did"),
				       json_is_string(json_object_get(res, "name")) ? str(res, "name")
										      : argv[i],
				       str(res, "raw"));
			json_array_foreach(vals, k, v) {
				printf("%s %s = ", str(res, "did"), str(v, "signal"));
				if (json_object_get(v, "text"))
					printf("\"%s\"", str(v, "text"));
				else
					print_value(stdout, json_object_get(v, "value"));
				if (json_is_string(json_object_get(v, "unit")))
					printf(" %s", str(v, "unit"));
				if (json_is_string(json_object_get(v, "label")))
					printf(" (%s)", str(v, "label"));
				putchar('\n');
			}
		}
		json_decref(res);
	}
	api_client_close(&c);
	return worst;
}

struct live_state {
	bool json;
	bool dropped;
	int64_t t0_us; /* the daemon's clock at the first change: the zero of the times */
};

static int on_live_event(void *userdata, const char *event, json_t *data)
{
	struct live_state *st = userdata;

	if (strcmp(event, "dropped") == 0 || strcmp(event, "live_end") == 0) {
		fprintf(stderr, "bodydiag: live: the daemon ended the subscription: %s\n",
			str(data, "reason"));
		st->dropped = true;
		return -ECONNABORTED;
	}
	if (strcmp(event, "live_bus") == 0) {
		/* On stderr: the person waiting learns why nothing comes, or that it will now. */
		fprintf(stderr, "bodydiag: live: %s: %s\n",
			json_is_true(json_object_get(data, "attached")) ? "bus attached"
									: "bus detached",
			str(data, "detail"));
		return 0;
	}
	if (strcmp(event, "live") != 0)
		return 0;
	if (st->json) {
		print_json(data);
	} else {
		json_int_t t = json_integer_value(json_object_get(data, "t_us"));

		/* one clock for people: seconds from the first change, whose wall-clock time
		 * is said once (the daemon's t_us is its monotonic clock: --json keeps it) */
		if (st->t0_us == INT64_MIN) {
			struct timespec now;
			char utc[40];
			st->t0_us = t;
			clock_gettime(CLOCK_REALTIME, &now);
			if (summary_utc((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, utc,
					sizeof(utc)))
				printf("times are seconds from the first change, %s (UTC)\n", utc);
		}
		printf("%+9.3f  %-28s ", (double)(t - st->t0_us) / 1e6, str(data, "signal"));
		if (json_is_string(json_object_get(data, "role")) &&
		    json_is_string(json_object_get(data, "label"))) {
			/* a role's value is its label ("open", "park") */
			printf("%s", str(data, "label"));
		} else {
			print_value(stdout, json_object_get(data, "value"));
			if (json_is_string(json_object_get(data, "unit")))
				printf(" %s", str(data, "unit"));
			if (json_is_string(json_object_get(data, "label")))
				printf(" (%s)", str(data, "label"));
		}
		if (json_is_string(json_object_get(data, "source")))
			printf("  [%s]", str(data, "source"));
		putchar('\n');
	}
	/* Changes as they arrive, also into a pipe. */
	fflush(stdout);
	return 0;
}

int cmd_live(int argc, char **argv)
{
	struct client_opts o;
	struct api_client c;
	struct live_state st = {.t0_us = INT64_MIN};
	json_t *params, *sigs, *res = NULL;
	int r, ex, i = parse(argc, argv, "SIGNAL...",
			     "  SIGNAL         a DBC signal name, or a chain role (ajar, speed, ...)\n"
			     "                 read through the profile; changes print until\n"
			     "                 interrupted\n",
			     false, &o, &ex);

	if (i < 0)
		return ex;
	if (i == argc) {
		usage_of(stderr, argv[0], "SIGNAL...", "");
		return API_EXIT_USAGE;
	}
	st.json = o.json;
	sigs = json_array();
	for (; i < argc; i++)
		json_array_append_new(sigs, json_string(argv[i]));
	params = json_pack("{s:o}", "signals", sigs);
	ex = connect_or_report(&c, o.socket);
	if (ex) {
		json_decref(params);
		return ex;
	}
	ex = call(&c, "live.subscribe", params, on_live_event, &st, &res);
	if (ex) {
		api_client_close(&c);
		return ex;
	}
	{
		json_t *bus = json_object_get(res, "bus");

		if (bus && !json_is_true(json_object_get(bus, "attached")))
			fprintf(stderr,
				"bodydiag: live: %s is detached (link down or adapter missing): no "
				"changes until it is back; waiting (Ctrl-C to stop)\n",
				str(bus, "interface"));
	}
	json_decref(res);
	signal(SIGPIPE, SIG_DFL);
	r = api_client_events(&c, on_live_event, &st);
	api_client_close(&c);
	if (st.dropped)
		return API_EXIT_UNAVAILABLE;
	if (r < 0) {
		fprintf(stderr, "bodydiag: live: %s\n", strerror(-r));
		return API_EXIT_DAEMON;
	}
	fprintf(stderr, "bodydiag: live: the daemon closed the connection\n");
	return API_EXIT_CONNECT;
}

int cmd_mark(int argc, char **argv)
{
	struct client_opts o;
	struct api_client c;
	json_t *res = NULL;
	int ex, i = parse(argc, argv, "NAME",
			  "  NAME           what you did, e.g. fob_trunk_pressed\n", false, &o, &ex);

	if (i < 0)
		return ex;
	if (argc - i != 1) {
		usage_of(stderr, argv[0], "NAME", "");
		return API_EXIT_USAGE;
	}
	ex = connect_or_report(&c, o.socket);
	if (ex)
		return ex;
	ex = call(&c, "mark", json_pack("{s:s}", "label", argv[i]), NULL, NULL, &res);
	api_client_close(&c);
	if (ex)
		return ex;
	if (o.json)
		print_json(res);
	else {
		/* the daemon stamps it with its monotonic clock (--json keeps that); people get
		 * the wall-clock time it was taken, which is now */
		struct timespec now;
		char utc[40];
		clock_gettime(CLOCK_REALTIME, &now);
		if (!summary_utc((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000, utc, sizeof(utc)))
			snprintf(utc, sizeof(utc), "now (the clock is not set)");
		printf("marked %s at %s (UTC), mark %" JSON_INTEGER_FORMAT " since the daemon "
		       "started\n",
		       str(res, "label"), utc, json_integer_value(json_object_get(res, "seq")));
	}
	json_decref(res);
	return API_EXIT_OK;
}
