/* SPDX-License-Identifier: MIT */
/*
 * bodydiag analyze (--profile P | --vehicle NAME) [--dbc F] [--rules R] [--marks FILE]
 *                  [--json] [--strict] CAPTURE.log|-
 *
 * The offline half of the diagnosis: a can-utils capture (and what the person did, from a
 * side file or from `# mark` lines in the capture) through the same lib/engine the daemon
 * runs. It reports what the capture shows of the car (the body events: doors, lid, locks,
 * fob, requests, with their times), the state of each link of the release chain (seen
 * working, seen failing, not exercised, not observable on this car with this
 * connection), the ranked causes with their evidence and advice, and the next check the
 * car can answer.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/rules.h"
#include "capture.h"
#include "daemon/engine_json.h"
#include "daemon/json_text.h"
#include "out.h"
#include "result_text.h"
#include "summary.h"
#include "vehicle.h"

#define MAX_WARNINGS 4u

struct analyze {
	struct engine *e;
	struct vehicle_data v;
	const char *capture;
	struct capture_result cr;
	char warnings[MAX_WARNINGS][512];
	size_t n_warnings;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag analyze (--profile FILE | --vehicle NAME) [--dbc FILE] [--rules FILE]\n"
		"                        [--marks FILE] [--json | --summary] [--strict] CAPTURE.log|-\n"
		"%s"
		"  --rules FILE    rule file (default: trunk.rules beside the profile's ../rules/, then\n"
		"                  in the data directory)\n"
		"  --marks FILE    what the person did, one 'SECONDS.MICROS mark NAME' per line\n"
		"                  (the format bodydiag-sim --marks writes; '#' comments)\n"
		"  --json          one JSON object for machines\n"
		"  --summary       the answer, the chain, the causes and the DTCs only (what\n"
		"                  `bodydiag diagnose` ends with), without the details\n"
		"  --strict        stop at the first malformed capture line (default: report, skip)\n"
		"Marks may also be lines of the capture itself: '# mark SECONDS.MICROS NAME'; other\n"
		"lines starting with '#' are comments. The data directory is $BODYDIAG_DATADIR, else\n"
		"%s.\n",
		vehicle_usage, vehicle_datadir());
}

static int on_frame(void *userdata, const struct bd_timed_frame *tf)
{
	struct analyze *a = userdata;
	(void)engine_feed_frame(a->e, tf); /* capture.c checked the frame */
	return 0;
}

static int on_mark(void *userdata, int64_t t_us, const char *name, const char *file,
		   unsigned line)
{
	struct analyze *a = userdata;
	int r = engine_mark(a->e, t_us, name, strlen(name));
	if (r < 0)
		fprintf(stderr, "%s:%u: error: mark '%s': %s\n", file, line, name, strerror(-r));
	return r;
}

static void warn(struct analyze *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void warn(struct analyze *a, const char *fmt, ...)
{
	va_list ap;
	if (a->n_warnings == MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	vsnprintf(a->warnings[a->n_warnings++], sizeof(a->warnings[0]), fmt, ap);
	va_end(ap);
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* A capture from another car or bus decodes little, or none of the profile's roles. */
static void check_capture(struct analyze *a)
{
	struct engine_stats st;
	const struct rolemap *rm = engine_rolemap(a->e);
	char ids[256];
	size_t n = 0, n_msgs = 0;
	engine_stats(a->e, &st);
	if (!rolemap_source_count(rm)) {
		warn(a, "the profile %s maps no role of the release chain: nothing of it can be "
			"observed",
		     base_name(a->v.profile_path));
		return;
	}
	if (st.decoded * 5 < st.frames)
		warn(a,
		     "only %.0f %% of the frames (%llu of %llu) are messages of %s: is the capture "
		     "from this vehicle (%s %s) and this bus?",
		     100.0 * (double)st.decoded / (double)st.frames, (unsigned long long)st.decoded,
		     (unsigned long long)st.frames, base_name(a->v.dbc_path),
		     profile_make(a->v.profile), profile_platform(a->v.profile));
	if (st.role_frames)
		return;
	ids[0] = 0;
	for (size_t i = 0; i < rolemap_source_count(rm); i++) {
		const struct rolemap_source *s = rolemap_source_at(rm, i);
		bool dup = false;
		if (!s->msg)
			continue;
		for (size_t k = 0; k < i; k++)
			dup |= rolemap_source_at(rm, k)->msg == s->msg;
		if (dup)
			continue;
		n_msgs++;
		if (n < sizeof(ids) - 64)
			n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%s 0x%X", n ? ", " : "",
					      dbc_message_name(s->msg), dbc_message_id(s->msg));
	}
	if (n_msgs)
		warn(a,
		     "none of the %zu messages that carry this profile's roles (%s) is in the "
		     "capture: wrong bus, or another vehicle than %s %s?",
		     n_msgs, ids, profile_make(a->v.profile), profile_platform(a->v.profile));
}

/* ---- output ---- */

static double seconds(int64_t t_us)
{
	return (double)t_us / 1e6;
}

/* What the capture was and what the engine made of it: the engine's result
 * (daemon/engine_json.c, the daemon's shape) after the capture's own members. */
static json_t *result_json(struct analyze *a)
{
	struct engine_stats st;
	engine_stats(a->e, &st);
	struct engine_json_opts jo = {
	    .t0_us = st.first_us, .since_us = INT64_MIN, .input = ENGINE_JSON_CAPTURE};
	json_t *r = engine_json_result(a->e, &jo);
	json_t *warnings = json_array();
	json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "capture", a->capture,
			      "frames", (json_int_t)st.frames, "decoded", (json_int_t)st.decoded,
			      "role_frames", (json_int_t)st.role_frames, "unknown_ids",
			      (json_int_t)st.unknown_ids, "diagnostic_frames",
			      (json_int_t)st.diag_frames, "marks", (json_int_t)st.marks,
			      "bad_lines", (int)a->cr.bad_lines);
	int k = o && r && warnings ? 0 : -1;

	for (size_t i = 0; k == 0 && i < a->n_warnings; i++)
		k = json_array_append_new(warnings, json_string(a->warnings[i]));
	if (k == 0 && st.first_us != INT64_MIN)
		k = json_object_set_new(o, "start", json_real(seconds(st.first_us))) |
		    json_object_set_new(o, "end", json_real(seconds(st.last_us)));
	if (k == 0)
		k = json_object_set_new(
		    o, "vehicle",
		    json_pack("{s:s, s:s, s:s, s:s, s:s}", "make", profile_make(a->v.profile),
			      "platform", profile_platform(a->v.profile), "profile",
			      a->v.profile_path, "dbc", a->v.dbc_path, "rules", a->v.rules_path));
	if (k == 0) {
		k = json_object_set(o, "warnings", warnings) | json_object_update(o, r);
	}
	json_decref(warnings);
	json_decref(r);
	if (k != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void print_text(struct analyze *a, struct out *o, json_t *res, bool summary)
{
	struct engine_stats st;
	engine_stats(a->e, &st);
	out_printf(o,
		   "%s: %llu frames (%llu of DBC messages, %llu with roles, %llu unknown ids, "
		   "%llu diagnostic), %llu marks",
		   a->capture, (unsigned long long)st.frames, (unsigned long long)st.decoded,
		   (unsigned long long)st.role_frames, (unsigned long long)st.unknown_ids,
		   (unsigned long long)st.diag_frames, (unsigned long long)st.marks);
	if (st.first_us != INT64_MIN)
		out_printf(o, ", %.3f s", seconds(st.last_us - st.first_us));
	if (a->cr.bad_lines)
		out_printf(o, ", %u bad lines skipped", a->cr.bad_lines);
	out_printf(o, "\nvehicle: %s %s", profile_make(a->v.profile), profile_platform(a->v.profile));
	if (profile_vehicle_name(a->v.profile))
		out_printf(o, " (%s)", profile_vehicle_name(a->v.profile));
	out_printf(o, ", profile %s, DBC %s, rules %s\n", a->v.profile_path, a->v.dbc_path,
		   a->v.rules_path);
	summary_clock_line(o, "the capture", st.first_us);
	for (size_t i = 0; i < a->n_warnings; i++)
		out_printf(o, "warning: %s\n", a->warnings[i]);
	if (summary)
		summary_print(o, res);
	else
		result_text_print(o, res, "the start of the capture");
}

static void print_json(struct out *o, json_t *res)
{
	/* every real in its shortest round-trip form: a capture's seconds since 1970 to
	 * the microsecond, 2.3 rather than 2.2999999999999998 */
	char *s = json_text_dumps(res, JSON_TEXT_INDENT, NULL);
	if (!s) {
		o->error = -ENOMEM;
		return;
	}
	out_str(o, s);
	out_char(o, '\n');
	free(s);
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dbc", required_argument, NULL, 'd'},   {"profile", required_argument, NULL, 'p'},
	    {"rules", required_argument, NULL, 'r'}, {"marks", required_argument, NULL, 'm'},
	    {"vehicle", required_argument, NULL, 'v'}, {"json", no_argument, NULL, 'j'},
	    {"strict", no_argument, NULL, 's'},	     {"help", no_argument, NULL, 'h'},
	    {"summary", no_argument, NULL, 'S'},
	    {0},
	};
	struct vehicle_args va = {0};
	const char *marks_path = NULL;
	bool json = false, strict = false, summary = false;
	struct analyze a = {0};
	struct out *o = NULL;
	json_t *res = NULL;
	int c, r, ret = 1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:p:r:m:v:jsh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			va.dbc = optarg;
			break;
		case 'p':
			va.profile = optarg;
			break;
		case 'r':
			va.rules = optarg;
			break;
		case 'm':
			marks_path = optarg;
			break;
		case 'v':
			va.vehicle = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			strict = true;
			break;
		case 'S':
			summary = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	a.capture = argv[optind];

	if (vehicle_load(&va, true, &a.v) < 0)
		goto out;

	struct engine_config cfg;
	struct rules_error rerr = {0};
	engine_config_init(&cfg);
	cfg.rules = a.v.rules;
	cfg.dbc = a.v.dbc;
	cfg.profile = a.v.profile;
	r = engine_new(&cfg, &rerr, &a.e);
	if (r < 0) {
		if (rerr.message[0])
			fprintf(stderr, "%s:%u:%u: error: %s\n",
				rerr.file[0] ? rerr.file : a.v.rules_path, rerr.line, rerr.column,
				rerr.message);
		else
			fprintf(stderr, "bodydiag: %s\n", strerror(-r));
		goto out;
	}

	static const struct capture_ops ops = {.frame = on_frame, .mark = on_mark};
	if (capture_read(a.capture, marks_path, strict, &ops, &a, &a.cr) < 0)
		goto out;

	struct engine_stats st;
	engine_stats(a.e, &st);
	if (!st.frames) {
		fprintf(stderr,
			"bodydiag: %s: no CAN frames (%u lines%s): an empty capture shows nothing "
			"to diagnose\n",
			a.capture, a.cr.lines, a.cr.bad_lines ? ", all bad" : "");
		goto out;
	}
	check_capture(&a);
	for (size_t i = 0; i < a.n_warnings; i++)
		fprintf(stderr, "bodydiag: warning: %s\n", a.warnings[i]);
	/* the capture ends here: windows still open stay undecided (possible), they are
	 * not closed on behalf of a recording that stopped */
	engine_advance(a.e, st.last_us);
	res = result_json(&a);
	o = malloc(sizeof(*o));
	if (!res || !o) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	out_init(o, STDOUT_FILENO);
	if (json)
		print_json(o, res);
	else
		print_text(&a, o, res, summary);
	out_flush(o);
	if (o->error) {
		fprintf(stderr, "bodydiag: write: %s\n", strerror(-o->error));
		goto out;
	}
	ret = 0;
out:
	json_decref(res);
	free(o);
	engine_free(a.e);
	vehicle_data_clear(&a.v);
	return ret;
}
