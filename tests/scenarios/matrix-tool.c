/* SPDX-License-Identifier: MIT */
/*
 * matrix-tool: the scenario matrices' helper, for people and for the CAN bench
 * (tests/scenarios/vm-matrix), where there is no Python.
 *
 *   matrix-tool scenario SEED [FAULT...]
 *       the randomised matrix's scenario of SEED (random-scenario.h) for bodydiag-sim,
 *       with the faults (scenario syntax, one argument each; none: healthy). A seed that
 *       tests/unit/test-rules-random.c lists as failed is reproduced with
 *         matrix-tool scenario 37 hinge_wiring_open > case.scn
 *         bodydiag-sim --scenario case.scn --candump case.log --marks case.marks
 *         bodydiag analyze --profile profiles/sim-2026.profile --marks case.marks case.log
 *   matrix-tool case MATRIX SEED
 *       the case of tests/scenarios/matrix that the randomised matrix runs with SEED:
 *       "label|faults|expect|verdict|also" (faults ','-separated)
 *   matrix-tool passive-profile PROFILE DBC
 *       PROFILE as a car seen only passively (tests/unit/passive-profile.h), its DBC by
 *       the path given
 *   matrix-tool play --sim SOCKET --api SOCKET [--marks FILE] SCENARIO
 *       plays the `at` steps of SCENARIO in real time: each action through bodydiag-sim's
 *       control socket, then its mark to bodydiagd (as a person confirms what they did),
 *       the marks also into FILE with wall-clock times (bodydiag analyze --marks); at the
 *       scenario's end prints bodydiagd's `findings` (one JSON line)
 *   matrix-tool check [--passive] --expect ID --verdict V [--also ID] [--fault F]... FILE
 *       the matrices' check (matrix-check.h) on the last result in FILE (a findings or
 *       diagnose reply, or bodydiag diagnose --json / analyze --json output); prints
 *       "ok: ..." or "miss: ...", exit 0 or 1
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../../tools/bodydiag/api_client.h"
#include "../../tools/bodydiag/sim_control.h"
#include "../unit/passive-profile.h"
#include "matrix-check.h"
#include "random-scenario.h"

#define MAX_STEPS 64
#define MAX_TEXT (1 << 20)

static int usage(void)
{
	fprintf(stderr,
		"usage: matrix-tool scenario SEED [FAULT...]\n"
		"       matrix-tool case MATRIX SEED\n"
		"       matrix-tool passive-profile PROFILE DBC\n"
		"       matrix-tool play --sim SOCKET --api SOCKET [--marks FILE] SCENARIO\n"
		"       matrix-tool check [--passive] --expect ID --verdict V [--also ID]\n"
		"                         [--fault F]... FILE\n");
	return 2;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	char *buf = malloc(MAX_TEXT + 1);
	size_t n;

	if (!f || !buf) {
		fprintf(stderr, "matrix-tool: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		free(buf);
		return NULL;
	}
	n = fread(buf, 1, MAX_TEXT, f);
	fclose(f);
	buf[n] = '\0';
	*ret_len = n;
	return buf;
}

static bool parse_seed(const char *s, unsigned long long *ret)
{
	char *end;

	errno = 0;
	*ret = strtoull(s, &end, 10);
	return !errno && !*end && end != s && *ret > 0;
}

static int cmd_scenario(int argc, char **argv)
{
	char text[RANDOM_SCENARIO_MAX_TEXT];
	unsigned long long seed;
	int n;

	if (argc < 2 || !parse_seed(argv[1], &seed))
		return usage();
	n = random_scenario(seed, (const char *const *)argv + 2, (size_t)argc - 2, text,
			    sizeof(text));
	if (n < 0)
		return 1;
	fwrite(text, 1, (size_t)n, stdout);
	return 0;
}

/* Field i of a '|'-separated line, trimmed of nothing (the matrix has no padding). */
static void field(const char *line, unsigned i, char *out, size_t size)
{
	const char *p = line, *end;
	size_t n;

	while (i-- > 0 && p)
		p = (p = strchr(p, '|')) ? p + 1 : NULL;
	out[0] = '\0';
	if (!p)
		return;
	end = strchr(p, '|');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= size)
		n = size - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/* The offline cases of the matrix with the standard script, in file order: what the
 * randomised matrix takes in turn (tests/unit/test-rules-random.c). */
static int cmd_case(int argc, char **argv)
{
	char lines[64][512], sets[256], script[64];
	unsigned long long seed;
	size_t len, n = 0;
	char *text, *save = NULL;

	if (argc != 3 || !parse_seed(argv[2], &seed))
		return usage();
	text = slurp(argv[1], &len);
	if (!text)
		return 1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (l[0] == '#' || !l[0])
			continue;
		field(l, 5, script, sizeof(script));
		field(l, 6, sets, sizeof(sets));
		if (!strstr(sets, "offline") || !strcmp(script, "moving") || n == 64)
			continue;
		snprintf(lines[n++], sizeof(lines[0]), "%s", l);
	}
	free(text);
	if (!n)
		return 1;
	const char *l = lines[(seed - 1) % n];
	char label[128], faults[256], expect[64], verdict[64], also[64];
	field(l, 0, label, sizeof(label));
	field(l, 1, faults, sizeof(faults));
	field(l, 2, expect, sizeof(expect));
	field(l, 3, verdict, sizeof(verdict));
	field(l, 4, also, sizeof(also));
	printf("%s|%s|%s|%s|%s\n", label, faults, expect, verdict, also);
	return 0;
}

static int cmd_passive_profile(int argc, char **argv)
{
	size_t len, out;
	char *text, *keep;

	if (argc != 3)
		return usage();
	text = slurp(argv[1], &len);
	if (!text)
		return 1;
	keep = passive_profile_text(text, len, &out);
	free(text);
	if (!keep)
		return 1;
	for (char *l = keep, *nl; l < keep + out; l = nl + 1) {
		nl = strchr(l, '\n');
		if (!nl)
			nl = keep + out;
		if (!strncmp(l, "dbc =", 5) || !strncmp(l, "dbc=", 4))
			printf("dbc = %s\n", argv[2]);
		else
			printf("%.*s\n", (int)(nl - l), l);
	}
	free(keep);
	return 0;
}

/* ---- play ---- */

static int64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_until(int64_t t_us)
{
	struct timespec ts = {.tv_sec = t_us / 1000000, .tv_nsec = (t_us % 1000000) * 1000};
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* "1.679s" into µs; -1 when it is not one. */
static int64_t seconds_us(const char *s)
{
	char *end;
	double v = strtod(s, &end);
	return end != s && !strcmp(end, "s") && v >= 0 ? (int64_t)(v * 1e6 + 0.5) : -1;
}

static int cmd_play(int argc, char **argv)
{
	static const struct option opts[] = {{"sim", required_argument, NULL, 's'},
					     {"api", required_argument, NULL, 'a'},
					     {"marks", required_argument, NULL, 'm'},
					     {0}};
	const char *sim = NULL, *api_path = NULL, *marks_path = NULL;
	struct api_client api;
	struct {
		int64_t t;
		char cmd[128];
	} steps[MAX_STEPS];
	size_t n = 0, len;
	int64_t end = 0;
	char *text, *save = NULL, reply[256];
	int opt;
	FILE *marks = NULL;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (opt == 's')
			sim = optarg;
		else if (opt == 'a')
			api_path = optarg;
		else if (opt == 'm')
			marks_path = optarg;
		else
			return usage();
	}
	if (!sim || !api_path || optind != argc - 1)
		return usage();
	text = slurp(argv[optind], &len);
	if (!text)
		return 1;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char t[32];
		int k = 0;
		if (sscanf(l, "at %31s %n", t, &k) == 1 && k && n < MAX_STEPS &&
		    seconds_us(t) >= 0) {
			steps[n].t = seconds_us(t);
			snprintf(steps[n++].cmd, sizeof(steps[0].cmd), "%s", l + k);
		} else if (sscanf(l, "end %31s", t) == 1) {
			end = seconds_us(t);
		}
	}
	free(text);
	if (api_client_connect(&api, api_path) < 0) {
		fprintf(stderr, "matrix-tool: cannot connect to %s\n", api_path);
		return 1;
	}
	if (marks_path && !(marks = fopen(marks_path, "we"))) {
		fprintf(stderr, "matrix-tool: %s: %s\n", marks_path, strerror(errno));
		return 1;
	}
	int64_t t0 = mono_us();
	for (size_t i = 0; i < n; i++) {
		const char *mark = sim_control_mark(steps[i].cmd);
		json_t *res = NULL, *err = NULL;
		sleep_until(t0 + steps[i].t);
		if (sim_control_do(sim, steps[i].cmd, reply, sizeof(reply)) < 0 ||
		    strncmp(reply, "ok", 2)) {
			fprintf(stderr, "matrix-tool: simulator: %s -> %s\n", steps[i].cmd, reply);
			return 1;
		}
		if (!mark)
			continue;
		/* the person says what they did, after doing it */
		if (api_client_call(&api, "mark", json_pack("{s:s}", "label", mark), NULL, NULL,
				    &res, &err) < 0 ||
		    err) {
			fprintf(stderr, "matrix-tool: mark %s refused\n", mark);
			return 1;
		}
		json_decref(res);
		if (marks) {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			fprintf(marks, "%lld.%06ld mark %s\n", (long long)ts.tv_sec,
				ts.tv_nsec / 1000, mark);
			fflush(marks);
		}
		fprintf(stderr, "%8.3f s  %-16s %s\n", (double)(mono_us() - t0) / 1e6, steps[i].cmd,
			mark);
	}
	if (marks)
		fclose(marks);
	sleep_until(t0 + end);
	json_t *res = NULL, *err = NULL;
	if (api_client_call(&api, "findings", NULL, NULL, NULL, &res, &err) < 0 || err) {
		fprintf(stderr, "matrix-tool: findings: no answer\n");
		return 1;
	}
	char *out = json_dumps(res, JSON_COMPACT);
	printf("%s\n", out ? out : "null");
	free(out);
	json_decref(res);
	api_client_close(&api);
	return 0;
}

/* ---- check ---- */

/* The last JSON object in text that is a result (or an API reply holding one). */
static json_t *last_result(char *text)
{
	json_t *found = NULL;
	char *save = NULL;

	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL), *r;
		if (!j)
			continue;
		r = json_object_get(j, "result");
		if (json_is_object(r) && json_object_get(r, "verdict")) {
			json_decref(found);
			found = json_incref(r);
		} else if (json_object_get(j, "verdict")) {
			json_decref(found);
			found = json_incref(j);
		}
		json_decref(j);
	}
	if (!found) {
		/* bodydiag analyze --json: one object over several lines */
		json_t *j = json_loads(text, 0, NULL);
		if (j && json_object_get(j, "verdict"))
			return j;
		json_decref(j);
	}
	return found;
}

static int cmd_check(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"passive", no_argument, NULL, 'p'},       {"expect", required_argument, NULL, 'e'},
	    {"verdict", required_argument, NULL, 'v'}, {"also", required_argument, NULL, 'a'},
	    {"fault", required_argument, NULL, 'f'},   {0}};
	const char *faults[8];
	struct matrix_expect x = {.faults = faults};
	bool passive = false, ok;
	char why[256], *text;
	size_t len;
	json_t *res;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			passive = true;
			break;
		case 'e':
			x.expect = optarg;
			break;
		case 'v':
			x.verdict = optarg;
			break;
		case 'a':
			x.also = optarg;
			break;
		case 'f':
			if (x.n_faults < 8)
				faults[x.n_faults++] = optarg;
			break;
		default:
			return usage();
		}
	}
	if (!x.expect || !x.verdict || optind != argc - 1)
		return usage();
	text = slurp(argv[optind], &len);
	if (!text)
		return 1;
	char *copy = strdup(text);
	res = copy ? last_result(copy) : NULL;
	if (!res && copy) {
		free(copy);
		copy = NULL;
		res = json_loads(text, 0, NULL);
	}
	free(copy);
	free(text);
	if (!res) {
		printf("miss: no result in %s\n", argv[optind]);
		return 1;
	}
	ok = passive ? matrix_check_passive(res, &x, why, sizeof(why))
		     : matrix_check(res, &x, why, sizeof(why));
	printf("%s: %s\n", ok ? "ok" : "miss", why);
	json_decref(res);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "scenario"))
		return cmd_scenario(argc - 1, argv + 1);
	if (!strcmp(argv[1], "case"))
		return cmd_case(argc - 1, argv + 1);
	if (!strcmp(argv[1], "passive-profile"))
		return cmd_passive_profile(argc - 1, argv + 1);
	if (!strcmp(argv[1], "play"))
		return cmd_play(argc - 1, argv + 1);
	if (!strcmp(argv[1], "check"))
		return cmd_check(argc - 1, argv + 1);
	return usage();
}
