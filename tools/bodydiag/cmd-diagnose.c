/* SPDX-License-Identifier: MIT */
/*
 * bodydiag diagnose [trunk] [--socket PATH] [--json] [--sim-control PATH]
 *                   [--answer-timeout S] [--no-read] [--no-questions]
 *
 * The guided test through bodydiagd (docs/api.md "diagnose"): the daemon reads the BCM's
 * fault memory, then asks for one action at a time ("Press the trunk button on the key
 * fob"); this command shows the question and, once the person has done it and pressed
 * Enter, records the action as a mark on a second connection (the first one is waiting
 * for the diagnosis). The result prints as `bodydiag analyze` prints a capture. With --sim-control the simulator does the action instead (its
 * control socket, tools/bodydiag-sim), which makes the test scriptable end to end.
 * --record-marks FILE writes the marks with wall-clock times, the side file of
 * `bodydiag analyze --marks`, so that a candump of the same test can be analysed offline.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_client.h"
#include "bodydiag.h"
#include "daemon/json_text.h"
#include "out.h"
#include "summary.h"
#include "sim_control.h"

/* The step the daemon is busy with, for people: started when its event comes, done at
 * the next one. On a terminal the line counts the seconds as they pass. */
struct progress {
	bool open, tty;
	char what[128];
	struct timespec t0;
};

struct diag {
	struct progress p;
	const char *socket;
	const char *sim;
	FILE *marks_file; /* --record-marks: the marks for `bodydiag analyze --marks` */
	bool json;
	struct api_client marks; /* second connection, for the answers */
	bool marks_open;
	int error;		 /* exit code of a failed answer */
};

static int answer(struct diag *d, const char *mark)
{
	json_t *res = NULL, *err = NULL;
	int r;

	if (!d->marks_open) {
		r = api_client_connect(&d->marks, d->socket);
		if (r < 0) {
			fprintf(stderr, "bodydiag: %s: %s\n", d->socket, strerror(-r));
			d->error = API_EXIT_CONNECT;
			return -1;
		}
		d->marks_open = true;
	}
	r = api_client_call(&d->marks, "mark", json_pack("{s:s}", "label", mark), NULL, NULL, &res,
			    &err);
	if (r < 0 || err) {
		fprintf(stderr, "bodydiag: mark %s: %s\n", mark,
			err ? json_string_value(json_object_get(err, "message")) : strerror(-r));
		d->error = err ? api_client_exit_for(json_string_value(json_object_get(err, "code")))
			       : API_EXIT_DAEMON;
		json_decref(err);
		return -1;
	}
	json_decref(res);
	if (d->marks_file) {
		/* Wall-clock time, as candump -l/-L stamps the frames of the same test. */
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		fprintf(d->marks_file, "%lld.%06ld mark %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
			mark);
		fflush(d->marks_file);
	}
	return 0;
}

static double since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void progress_end(struct progress *p)
{
	if (!p->open)
		return;
	p->open = false;
	if (p->tty)
		printf("\r%s... done (%.1f s)  \n", p->what, since(&p->t0));
	else
		printf(" done (%.1f s)\n", since(&p->t0));
	fflush(stdout);
}

static void progress_begin(struct progress *p, const char *what)
{
	progress_end(p);
	snprintf(p->what, sizeof(p->what), "%s", what);
	clock_gettime(CLOCK_MONOTONIC, &p->t0);
	p->open = true;
	printf("%s...", p->what);
	fflush(stdout);
}

/* Between the daemon's events: the seconds of the running step, on a terminal. */
static void on_tick(void *userdata)
{
	struct progress *p = userdata;
	if (!p->open || !p->tty)
		return;
	printf("\r%s... %.1f s", p->what, since(&p->t0));
	fflush(stdout);
}

static int on_event(void *userdata, const char *event, json_t *data)
{
	struct diag *d = userdata;
	const char *mark = json_string_value(json_object_get(data, "mark"));
	const char *prompt = json_string_value(json_object_get(data, "prompt"));

	if (d->json) {
		char *s = json_text_dumps(data, JSON_TEXT_COMPACT, NULL);
		printf("{\"event\":\"%s\",\"data\":%s}\n", event, s ? s : "null");
		free(s);
		fflush(stdout);
	} else if (strcmp(event, "diagnose.reading") == 0) {
		char what[96];
		snprintf(what, sizeof(what),
			 "reading the fault memory and live values (%lld requests)",
			 (long long)json_integer_value(json_object_get(data, "requests")));
		progress_begin(&d->p, what);
	} else if (strcmp(event, "diagnose.watching") == 0) {
		progress_begin(&d->p, "watching the bus while the car reacts");
	} else {
		progress_end(&d->p);
	}
	if (strcmp(event, "diagnose.question") != 0 || !mark)
		return 0;
	if (!d->json)
		printf("\n>>> %s\n", prompt ? prompt : mark);
	if (d->sim) {
		const char *cmd = sim_control_command(mark);
		char reply[256];
		int r;
		if (!cmd) {
			fprintf(stderr, "bodydiag: the simulator has no action for \"%s\"\n", mark);
			d->error = API_EXIT_UNAVAILABLE;
			return -1;
		}
		r = sim_control_do(d->sim, cmd, reply, sizeof(reply));
		if (r < 0) {
			fprintf(stderr, "bodydiag: simulator control %s: %s\n", d->sim, strerror(-r));
			d->error = API_EXIT_UNAVAILABLE;
			return -1;
		}
		if (!d->json)
			printf("    (simulator: %s -> %s)\n", cmd, reply);
	} else {
		char line[64];
		printf("    done? press Enter (q + Enter to stop) ");
		fflush(stdout);
		if (!fgets(line, sizeof(line), stdin) || line[0] == 'q') {
			d->error = API_EXIT_USAGE;
			return -1;
		}
	}
	fflush(stdout);
	return answer(d, mark);
}

/* The final screen: the report's top section (summary.h), as `bodydiag report` draws it
 * and `bodydiag analyze` begins; the details are in the report and in --json. */
static void print_result(json_t *res, const struct timespec *started)
{
	const char *unanswered = json_string_value(json_object_get(res, "unanswered"));
	struct out *o = malloc(sizeof(*o));
	json_t *f;
	size_t i;
	char when[40];

	if (!o) {
		fprintf(stderr, "bodydiag: out of memory\n");
		return;
	}
	out_init(o, STDOUT_FILENO);
	if (!summary_utc((int64_t)started->tv_sec * 1000000 + started->tv_nsec / 1000, when,
			 sizeof(when)))
		snprintf(when, sizeof(when), "(the clock is not set)");
	out_printf(o, "\ntest started %s (UTC), %.1f s long; times are seconds from its start\n",
		   when, json_number_value(json_object_get(res, "duration")));
	if (unanswered)
		out_printf(o, "stopped: no answer to %s\n", unanswered);
	summary_print(o, res);
	json_array_foreach(json_object_get(res, "reads"), i, f) {
		if (strcmp(json_string_value(json_object_get(f, "outcome")), "response") != 0)
			out_printf(o, "note: %s request %s: %s\n",
				   json_string_value(json_object_get(f, "ecu")),
				   json_string_value(json_object_get(f, "request")),
				   json_string_value(json_object_get(f, "outcome")));
	}
	if (json_is_integer(json_object_get(res, "session")))
		out_printf(o,
			   "\nthe evidence in full: bodydiag report --session %lld -o report.html\n",
			   (long long)json_integer_value(json_object_get(res, "session")));
	out_flush(o);
	free(o);
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag diagnose [trunk] [--socket PATH] [--json] [--sim-control PATH]\n"
		"                         [--answer-timeout S] [--no-read] [--no-questions]\n"
		"                         [--record-marks FILE]\n"
		"The guided test through bodydiagd: reads the BCM's DTCs and live values, asks for\n"
		"one action at a time, then prints the ranked causes with evidence and advice.\n"
		"  --socket PATH        the daemon's socket (default %s, or $BODYDIAG_SOCKET)\n"
		"  --json               events and the result as JSON lines\n"
		"  --sim-control PATH   let bodydiag-sim do the actions (its --control socket)\n"
		"  --answer-timeout S   how long the daemon waits for each action (default 120)\n"
		"  --no-read            do not read DTCs/DIDs (listen only)\n"
		"  --no-questions       rank what is known now, ask for nothing\n"
		"  --record-marks FILE  append the marks with wall-clock times (for analyze --marks)\n"
		"Exit status: 0 when the test completed (whatever the verdict), else as bodydiag(1).\n",
		API_CLIENT_DEFAULT_SOCKET);
}

int cmd_diagnose(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"sim-control", required_argument, NULL, 'c'},
		{"answer-timeout", required_argument, NULL, 't'},
		{"no-read", no_argument, NULL, 'R'},
		{"no-questions", no_argument, NULL, 'Q'},
		{"record-marks", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *env = getenv("BODYDIAG_SOCKET");
	struct diag d = {.socket = env && *env ? env : API_CLIENT_DEFAULT_SOCKET};
	struct api_client c;
	json_t *res = NULL, *err = NULL, *params;
	double timeout = 120;
	bool read = true, questions = true;
	const char *system = "trunk";
	struct timespec started;
	int opt, r;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			d.socket = optarg;
			break;
		case 'j':
			d.json = true;
			break;
		case 'c':
			d.sim = optarg;
			break;
		case 't': {
			char *end;
			timeout = strtod(optarg, &end);
			if (*end || !(timeout > 0)) {
				fprintf(stderr, "bodydiag diagnose: bad --answer-timeout %s\n", optarg);
				return API_EXIT_USAGE;
			}
			break;
		}
		case 'R':
			read = false;
			break;
		case 'Q':
			questions = false;
			break;
		case 'm':
			if (d.marks_file)
				fclose(d.marks_file);
			d.marks_file = fopen(optarg, "ae");
			if (!d.marks_file) {
				fprintf(stderr, "bodydiag diagnose: %s: %s\n", optarg, strerror(errno));
				return API_EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return API_EXIT_OK;
		default:
			usage(stderr);
			return API_EXIT_USAGE;
		}
	}
	if (optind < argc)
		system = argv[optind++];
	if (optind < argc) {
		usage(stderr);
		return API_EXIT_USAGE;
	}
	r = api_client_connect(&c, d.socket);
	if (r < 0) {
		if (d.marks_file)
			fclose(d.marks_file);
		fprintf(stderr, "bodydiag: cannot reach bodydiagd at %s: %s\n", d.socket, strerror(-r));
		return API_EXIT_CONNECT;
	}
	params = json_pack("{s:s, s:f, s:b, s:b}", "system", system, "answer_timeout", timeout,
			   "read", read, "questions", questions);
	if (!d.json) {
		printf("guided %s test (bodydiagd at %s%s)\n", system, d.socket,
		       d.sim ? ", actions by the simulator" : "");
		/* a counting line only where a person watches it: not the serial console of
		 * the CAN bench, not a pipe */
		const char *term = getenv("TERM");
		d.p.tty = isatty(STDOUT_FILENO) && term && *term && strcmp(term, "dumb") != 0;
		api_client_set_tick(&c, 200, on_tick, &d.p);
	}
	clock_gettime(CLOCK_REALTIME, &started);
	r = api_client_call(&c, "diagnose", params, on_event, &d, &res, &err);
	progress_end(&d.p);
	api_client_close(&c);
	if (d.marks_file)
		fclose(d.marks_file);
	if (d.marks_open)
		api_client_close(&d.marks);
	if (r < 0) {
		if (d.error)
			return d.error;
		fprintf(stderr, "bodydiag: diagnose: %s\n", strerror(-r));
		return API_EXIT_DAEMON;
	}
	if (err) {
		const char *code = json_string_value(json_object_get(err, "code"));
		fprintf(stderr, "bodydiag: diagnose: %s (%s)\n",
			json_string_value(json_object_get(err, "message")), code ? code : "?");
		r = api_client_exit_for(code);
		json_decref(err);
		return r;
	}
	if (d.json) {
		char *s = json_text_dumps(res, JSON_TEXT_COMPACT, NULL);
		printf("%s\n", s ? s : "null");
		free(s);
	} else {
		print_result(res, &started);
	}
	json_decref(res);
	return API_EXIT_OK;
}
