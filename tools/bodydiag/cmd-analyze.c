/* SPDX-License-Identifier: MIT */
/*
 * bodydiag analyze [--dbc F] [--profile P] [--rules R] [--marks FILE] [--json] [--strict]
 *                  CAPTURE.log|-
 *
 * The offline half of the diagnosis: a can-utils capture (and what the person did, from a
 * side file or from `# mark` lines in the capture) through the same lib/engine the daemon
 * runs, then the ranked causes with their evidence and advice.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/candump.h"
#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "config.h"
#include "out.h"

#define DEFAULT_DBC BODYDIAG_SOURCE_ROOT "/dbc/bodydiag-sim.dbc"
#define DEFAULT_PROFILE BODYDIAG_SOURCE_ROOT "/profiles/sim-2026.profile"
#define DEFAULT_RULES BODYDIAG_SOURCE_ROOT "/rules/trunk.rules"
#define MAX_MARKS 65536u
#define MARK_NAME_MAX 127u

struct mark {
	int64_t t_us;
	unsigned line; /* for a stable sort */
	char name[MARK_NAME_MAX + 1];
};

struct analyze {
	struct engine *e;
	const char *capture;
	bool strict;
	struct mark *marks; /* side file, sorted by time */
	size_t n_marks, next_mark;
	unsigned bad_lines, capture_marks;
	char line[CANDUMP_MAX_LINE + 1];
	size_t line_len;
	bool line_too_long;
	unsigned lineno;
	int error; /* first fatal error, -errno */
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag analyze [--dbc FILE] [--profile FILE] [--rules FILE] [--marks FILE]\n"
		"                        [--json] [--strict] CAPTURE.log|-\n"
		"  --dbc FILE      DBC of the broadcast frames\n"
		"  --profile FILE  vehicle profile (ECU ids for the diagnostic traffic, DIDs, scope)\n"
		"  --rules FILE    rule file\n"
		"  --marks FILE    what the person did, one 'SECONDS.MICROS mark NAME' per line\n"
		"                  (the format bodydiag-sim --marks writes; '#' comments)\n"
		"  --json          one JSON object for machines\n"
		"  --strict        stop at the first malformed capture line (default: report, skip)\n"
		"Marks may also be lines of the capture itself: '# mark SECONDS.MICROS NAME'; other\n"
		"lines starting with '#' are comments.\n"
		"Without --dbc, --profile or --rules, the simulated car's files of the source tree\n"
		"are used (%s,\n %s, %s): a demo default, not\n"
		"for a real vehicle.\n",
		DEFAULT_DBC, DEFAULT_PROFILE, DEFAULT_RULES);
}

/* "SECONDS[.FRACTION]" on the capture's clock -> microseconds (digits past the sixth
 * dropped, as candump's own reader does). Returns the bytes used, 0 when malformed. */
static size_t parse_time(const char *s, size_t len, int64_t *ret)
{
	size_t i = 0;
	int64_t sec = 0, us = 0;
	if (i >= len || s[i] < '0' || s[i] > '9')
		return 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (sec > (INT64_MAX / 1000000 - 10) / 10)
			return 0;
		sec = sec * 10 + (s[i] - '0');
	}
	if (i < len && s[i] == '.') {
		i++;
		int digits = 0;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return 0;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			if (digits < 6)
				us = us * 10 + (s[i] - '0');
		for (; digits < 6; digits++)
			us *= 10;
	}
	*ret = sec * 1000000 + us;
	return i;
}

static bool is_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static size_t skip_blanks(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/*
 * One mark: "TIME mark NAME" (side file) or, with in_capture, "mark TIME NAME" after the
 * '#'. Returns 0, or -EINVAL with *col (1-based) and *why.
 */
static int parse_mark(const char *s, size_t len, size_t i, bool in_capture, struct mark *m,
		      size_t *col, const char **why)
{
	size_t n;
	if (len && s[len - 1] == '\r')
		len--;
	i = skip_blanks(s, len, i);
	if (in_capture)
		i = skip_blanks(s, len, i + 4);
	n = parse_time(s + i, len - i, &m->t_us);
	if (!n) {
		*col = i + 1;
		*why = "expected a time, SECONDS or SECONDS.MICROS";
		return -EINVAL;
	}
	i += n;
	if (i < len && s[i] != ' ' && s[i] != '\t') {
		*col = i + 1;
		*why = "malformed time";
		return -EINVAL;
	}
	i = skip_blanks(s, len, i);
	if (!in_capture) {
		if (len - i < 4 || memcmp(s + i, "mark", 4) != 0 ||
		    (i + 4 < len && s[i + 4] != ' ' && s[i + 4] != '\t')) {
			*col = i + 1;
			*why = "expected 'mark' after the time";
			return -EINVAL;
		}
		i = skip_blanks(s, len, i + 4);
	}
	size_t start = i;
	if (i >= len) {
		*col = i + 1;
		*why = "missing mark name";
		return -EINVAL;
	}
	for (; i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#'; i++) {
		if (!is_name_char(s[i], i == start)) {
			*col = i + 1;
			*why = "invalid mark name (letters, digits and '_', not starting with a "
			       "digit)";
			return -EINVAL;
		}
	}
	if (i - start > MARK_NAME_MAX) {
		*col = start + 1;
		*why = "mark name longer than 127 bytes";
		return -EINVAL;
	}
	memcpy(m->name, s + start, i - start);
	m->name[i - start] = '\0';
	i = skip_blanks(s, len, i);
	if (i < len && s[i] != '#') {
		*col = i + 1;
		*why = "unexpected text after the mark name";
		return -EINVAL;
	}
	return 0;
}

static int mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int load_marks(struct analyze *a, const char *path)
{
	char *text;
	size_t len, cap = 0;
	int r = read_file(path, &text, &len);
	if (r < 0) {
		fprintf(stderr, "bodydiag: %s: %s\n", path, strerror(-r));
		return r;
	}
	unsigned lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		size_t i = skip_blanks(s, l, 0);
		if (i == l || s[i] == '#' || (s[i] == '\r' && i + 1 == l))
			continue;
		if (memchr(s, '\0', l)) {
			fprintf(stderr, "%s:%u:%zu: error: NUL byte\n", path, lineno,
				(size_t)((const char *)memchr(s, '\0', l) - s) + 1);
			r = -EINVAL;
			break;
		}
		if (a->n_marks == MAX_MARKS) {
			fprintf(stderr, "%s:%u:1: error: more than %u marks\n", path, lineno,
				MAX_MARKS);
			r = -E2BIG;
			break;
		}
		if (a->n_marks == cap) {
			cap = cap ? cap * 2 : 16;
			struct mark *nm = realloc(a->marks, cap * sizeof(*nm));
			if (!nm) {
				r = -ENOMEM;
				fprintf(stderr, "bodydiag: out of memory\n");
				break;
			}
			a->marks = nm;
		}
		struct mark *m = &a->marks[a->n_marks];
		size_t col;
		const char *why;
		if (parse_mark(s, l, 0, false, m, &col, &why) < 0) {
			fprintf(stderr, "%s:%u:%zu: error: %s\n", path, lineno, col, why);
			r = -EINVAL;
			break;
		}
		m->line = lineno;
		a->n_marks++;
	}
	free(text);
	if (r >= 0 && a->n_marks)
		qsort(a->marks, a->n_marks, sizeof(*a->marks), mark_cmp);
	return r;
}

static int feed_mark(struct analyze *a, const struct mark *m, const char *file, unsigned line)
{
	int r = engine_mark(a->e, m->t_us, m->name, strlen(m->name));
	if (r < 0)
		fprintf(stderr, "%s:%u: error: mark '%s': %s\n", file, line, m->name, strerror(-r));
	return r;
}

/* Side-file marks up to t, so the engine sees marks and frames in time order. */
static int feed_marks_until(struct analyze *a, int64_t t, const char *marks_path)
{
	while (a->next_mark < a->n_marks && a->marks[a->next_mark].t_us <= t) {
		const struct mark *m = &a->marks[a->next_mark++];
		int r = feed_mark(a, m, marks_path, m->line);
		if (r < 0)
			return r;
	}
	return 0;
}

static int capture_line(struct analyze *a, const char *s, size_t len, const char *marks_path)
{
	struct candump_record rec;
	const char *why;
	size_t i = skip_blanks(s, len, 0);
	int r;

	if (i == len || (s[i] == '\r' && i + 1 == len))
		return 0;
	if (s[i] == '#') {
		size_t k = skip_blanks(s, len, i + 1);
		if (len - k >= 5 && memcmp(s + k, "mark", 4) == 0 && (s[k + 4] == ' ' || s[k + 4] == '\t')) {
			struct mark m;
			size_t col;
			if (parse_mark(s, len, k, true, &m, &col, &why) < 0) {
				fprintf(stderr, "%s:%u:%zu: error: %s\n", a->capture, a->lineno, col,
					why);
				return -EINVAL;
			}
			r = feed_marks_until(a, m.t_us, marks_path);
			if (r >= 0)
				r = feed_mark(a, &m, a->capture, a->lineno);
			if (r >= 0)
				a->capture_marks++;
			return r;
		}
		return 0; /* a comment */
	}
	if (candump_parse_line(s, len, &why, &rec) < 0) {
		a->bad_lines++;
		fprintf(stderr, "%s:%u: %s: bad line: %s\n", a->capture, a->lineno,
			a->strict ? "error" : "warning", why);
		return a->strict ? -EBADMSG : 0;
	}
	r = feed_marks_until(a, rec.tf.t_us, marks_path);
	if (r < 0)
		return r;
	if (engine_feed_frame(a->e, &rec.tf) < 0) {
		a->bad_lines++;
		fprintf(stderr, "%s:%u: %s: bad line: invalid frame\n", a->capture, a->lineno,
			a->strict ? "error" : "warning");
		return a->strict ? -EBADMSG : 0;
	}
	return 0;
}

/* Splits the stream into lines of at most CANDUMP_MAX_LINE bytes (longer ones are bad). */
static int capture_feed(struct analyze *a, const char *buf, size_t n, bool eof,
			const char *marks_path)
{
	for (size_t i = 0; i < n || (eof && i == n); i++) {
		bool end = i == n;
		if (!end && buf[i] != '\n') {
			if (a->line_len < CANDUMP_MAX_LINE)
				a->line[a->line_len++] = buf[i];
			else
				a->line_too_long = true;
			continue;
		}
		if (end && a->line_len == 0 && !a->line_too_long)
			break;
		a->lineno++;
		int r = 0;
		if (a->line_too_long) {
			a->bad_lines++;
			fprintf(stderr, "%s:%u: %s: bad line: longer than %u bytes\n", a->capture,
				a->lineno, a->strict ? "error" : "warning", CANDUMP_MAX_LINE);
			r = a->strict ? -EBADMSG : 0;
		} else if (memchr(a->line, '\0', a->line_len)) {
			a->bad_lines++;
			fprintf(stderr, "%s:%u: %s: bad line: NUL byte\n", a->capture, a->lineno,
				a->strict ? "error" : "warning");
			r = a->strict ? -EBADMSG : 0;
		} else {
			r = capture_line(a, a->line, a->line_len, marks_path);
		}
		a->line_len = 0;
		a->line_too_long = false;
		if (r < 0)
			return r;
		if (end)
			break;
	}
	return 0;
}

/* ---- loading ---- */

/* A file's text, or a message saying why not. */
static int load_text(const char *path, char **ret_text, size_t *ret_len)
{
	int r = read_file(path, ret_text, ret_len);
	if (r < 0)
		fprintf(stderr, "bodydiag: %s: %s\n", path, strerror(-r));
	return r;
}

/* A parser's verdict: file:line:column for a mistake, the errno text otherwise. */
static int parse_result(int r, const char *path, const char *file, unsigned line,
			unsigned column, const char *message)
{
	if (r == -EINVAL)
		fprintf(stderr, "%s:%u:%u: error: %s\n", file, line, column, message);
	else if (r < 0)
		fprintf(stderr, "bodydiag: %s: %s\n", path, strerror(-r));
	return r;
}

static int load_dbc(const char *path, struct dbc **ret)
{
	struct dbc_error err;
	char *text;
	size_t len;
	int r = load_text(path, &text, &len);
	if (r < 0)
		return r;
	r = dbc_parse(text, len, path, NULL, NULL, &err, ret);
	free(text);
	return parse_result(r, path, err.file, err.line, err.column, err.message);
}

static int load_rules(const char *path, struct rules_set **ret)
{
	struct rules_error err;
	char *text;
	size_t len;
	int r = load_text(path, &text, &len);
	if (r < 0)
		return r;
	r = rules_parse(text, len, path, &err, ret);
	free(text);
	return parse_result(r, path, err.file, err.line, err.column, err.message);
}

static int load_profile(const char *path, struct profile **ret)
{
	struct profile_error err;
	char msg[600];
	int r = profile_load(path, ret, &err);
	if (r < 0) {
		/* "file:line:column: message", or "file: strerror" for I/O */
		profile_error_format(&err, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
	}
	return r;
}

/* ---- output ---- */

static double seconds(int64_t t_us)
{
	return (double)t_us / 1e6;
}

static void print_text(struct analyze *a, struct out *o, int q_r, const struct rules_question *q)
{
	struct engine_stats st;
	char buf[1024];
	engine_stats(a->e, &st);
	out_printf(o, "%s: %llu frames (%llu decoded, %llu unknown ids, %llu diagnostic), %llu marks",
		   a->capture, (unsigned long long)st.frames, (unsigned long long)st.decoded,
		   (unsigned long long)st.unknown_ids, (unsigned long long)st.diag_frames,
		   (unsigned long long)st.marks);
	if (st.first_us != INT64_MIN)
		out_printf(o, ", %.3f s", seconds(st.last_us - st.first_us));
	if (a->bad_lines)
		out_printf(o, ", %u bad lines skipped", a->bad_lines);
	out_printf(o, "\nverdict: %s\n", rules_verdict_name(engine_verdict(a->e)));
	size_t n = engine_finding_count(a->e);
	for (size_t i = 0; i < n; i++) {
		const struct rules_finding *f = engine_finding_at(a->e, i);
		out_printf(o, "\n%zu. %s: %s\n   %s %s, weight %.2f, score %.2f, cost %u", i + 1,
			   f->id, f->title, rules_kind_name(f->kind), rules_state_name(f->state),
			   f->weight, f->score, f->cost);
		if (f->by)
			out_printf(o, " (by %s)", f->by);
		if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED)
			out_printf(o, ", since %.6f", seconds(f->since_us));
		out_char(o, '\n');
		for (size_t k = 0; k < f->n_evidence; k++) {
			engine_evidence_format(a->e, &f->evidence[k], buf, sizeof(buf));
			out_printf(o, "   - %s\n", buf);
		}
		if (f->advice[0])
			out_printf(o, "   advice: %s\n", f->advice);
		if (f->n_rules_out) {
			out_str(o, "   rules out:");
			for (size_t k = 0; k < f->n_rules_out; k++)
				out_printf(o, "%s %s", k ? "," : "", f->rules_out[k]);
			out_char(o, '\n');
		}
		if (f->kind == RULES_KIND_INHIBIT && f->n_covers) {
			out_str(o, "   explains:");
			for (size_t k = 0; k < f->n_covers; k++)
				out_printf(o, "%s %s", k ? "," : "", f->covers[k]);
			out_char(o, '\n');
		}
	}
	if (!n)
		out_str(o, "no rule holds or is possible\n");
	if (q_r == 0)
		out_printf(o, "\nnext check: %s (mark %s)\n", q->prompt, q->mark);
}

static void json_time(struct out *o, int64_t t_us)
{
	out_printf(o, "%lld.%06lld", (long long)(t_us / 1000000), (long long)(t_us % 1000000));
}

static void json_list(struct out *o, const char *key, const char *const *v, size_t n)
{
	out_printf(o, ", \"%s\": [", key);
	for (size_t k = 0; k < n; k++) {
		if (k)
			out_str(o, ", ");
		out_json_string(o, v[k]);
	}
	out_char(o, ']');
}

static void print_json(struct analyze *a, struct out *o, int q_r, const struct rules_question *q)
{
	static const char *const ev_kind[] = {"event", "held", "absent"};
	struct engine_stats st;
	char buf[1024];
	engine_stats(a->e, &st);
	out_str(o, "{\"capture\": ");
	out_json_string(o, a->capture);
	out_printf(o, ", \"frames\": %llu, \"decoded\": %llu, \"unknown_ids\": %llu, "
		      "\"diagnostic_frames\": %llu, \"marks\": %llu, \"bad_lines\": %u",
		   (unsigned long long)st.frames, (unsigned long long)st.decoded,
		   (unsigned long long)st.unknown_ids, (unsigned long long)st.diag_frames,
		   (unsigned long long)st.marks, a->bad_lines);
	if (st.first_us != INT64_MIN) {
		out_str(o, ", \"start\": ");
		json_time(o, st.first_us);
		out_str(o, ", \"end\": ");
		json_time(o, st.last_us);
	}
	out_str(o, ", \"verdict\": ");
	out_json_string(o, rules_verdict_name(engine_verdict(a->e)));
	out_str(o, ", \"findings\": [");
	for (size_t i = 0; i < engine_finding_count(a->e); i++) {
		const struct rules_finding *f = engine_finding_at(a->e, i);
		out_str(o, i ? ",\n  {\"id\": " : "\n  {\"id\": ");
		out_json_string(o, f->id);
		out_str(o, ", \"title\": ");
		out_json_string(o, f->title);
		out_str(o, ", \"kind\": ");
		out_json_string(o, rules_kind_name(f->kind));
		out_str(o, ", \"state\": ");
		out_json_string(o, rules_state_name(f->state));
		out_str(o, ", \"weight\": ");
		out_double(o, f->weight, true);
		out_str(o, ", \"score\": ");
		out_double(o, f->score, true);
		out_printf(o, ", \"cost\": %u", f->cost);
		if (f->state == RULES_STATE_HOLDS || f->state == RULES_STATE_SUPPRESSED) {
			out_str(o, ", \"since\": ");
			json_time(o, f->since_us);
		}
		out_str(o, ", \"by\": ");
		if (f->by)
			out_json_string(o, f->by);
		else
			out_str(o, "null");
		out_str(o, ", \"advice\": ");
		out_json_string(o, f->advice);
		json_list(o, "rules_out", f->rules_out, f->n_rules_out);
		json_list(o, "covers", f->covers, f->n_covers);
		out_str(o, ", \"evidence\": [");
		for (size_t k = 0; k < f->n_evidence; k++) {
			const struct rules_evidence *ev = &f->evidence[k];
			out_str(o, k ? ", {\"kind\": " : "{\"kind\": ");
			out_json_string(o, (unsigned)ev->kind < 3 ? ev_kind[ev->kind] : "?");
			out_str(o, ", \"t\": ");
			json_time(o, ev->event.t_us);
			out_str(o, ", \"from\": ");
			json_time(o, ev->from_us);
			out_str(o, ", \"until\": ");
			json_time(o, ev->until_us);
			out_str(o, ", \"condition\": ");
			out_json_string(o, ev->condition ? ev->condition : "");
			engine_evidence_format(a->e, ev, buf, sizeof(buf));
			out_str(o, ", \"text\": ");
			out_json_string(o, buf);
			out_char(o, '}');
		}
		out_str(o, "]}");
	}
	out_str(o, "],\n \"next_question\": ");
	if (q_r == 0) {
		out_str(o, "{\"mark\": ");
		out_json_string(o, q->mark);
		out_str(o, ", \"prompt\": ");
		out_json_string(o, q->prompt);
		out_printf(o, ", \"cost\": %u}", q->cost);
	} else {
		out_str(o, "null");
	}
	out_str(o, "}\n");
}

int cmd_analyze(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dbc", required_argument, NULL, 'd'},   {"profile", required_argument, NULL, 'p'},
	    {"rules", required_argument, NULL, 'r'}, {"marks", required_argument, NULL, 'm'},
	    {"json", no_argument, NULL, 'j'},	     {"strict", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},	     {0},
	};
	const char *dbc_path = DEFAULT_DBC, *profile_path = DEFAULT_PROFILE;
	const char *rules_path = DEFAULT_RULES, *marks_path = NULL;
	bool json = false;
	struct analyze a = {0};
	struct dbc *db = NULL;
	struct profile *profile = NULL;
	struct rules_set *set = NULL;
	struct out *o = NULL;
	int c, r, ret = 1, fd = -1;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:p:r:m:jsh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dbc_path = optarg;
			break;
		case 'p':
			profile_path = optarg;
			break;
		case 'r':
			rules_path = optarg;
			break;
		case 'm':
			marks_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 's':
			a.strict = true;
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

	if (load_dbc(dbc_path, &db) < 0 || load_profile(profile_path, &profile) < 0 ||
	    load_rules(rules_path, &set) < 0)
		goto out;
	if (marks_path && load_marks(&a, marks_path) < 0)
		goto out;

	struct engine_config cfg;
	struct rules_error rerr;
	engine_config_init(&cfg);
	cfg.rules = set;
	cfg.dbc = db;
	cfg.profile = profile;
	r = engine_new(&cfg, &rerr, &a.e);
	if (r < 0) {
		if (rerr.message[0])
			fprintf(stderr, "%s:%u:%u: error: %s\n", rules_path, rerr.line, rerr.column,
				rerr.message);
		else
			fprintf(stderr, "bodydiag: %s\n", strerror(-r));
		goto out;
	}

	fd = strcmp(a.capture, "-") == 0 ? STDIN_FILENO : open(a.capture, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "bodydiag: %s: %s\n", a.capture, strerror(errno));
		goto out;
	}
	for (;;) {
		char buf[1u << 16];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bodydiag: %s: %s\n", a.capture, strerror(errno));
			goto out;
		}
		r = capture_feed(&a, buf, (size_t)n, n == 0, marks_path);
		if (r < 0)
			goto out;
		if (n == 0)
			break;
	}
	r = feed_marks_until(&a, INT64_MAX, marks_path);
	if (r < 0)
		goto out;

	/* the capture ends here: windows still open stay undecided (possible), they are
	 * not closed on behalf of a recording that stopped */
	struct engine_stats st;
	engine_stats(a.e, &st);
	if (st.last_us != INT64_MIN)
		engine_advance(a.e, st.last_us);
	/* rules_next_question() ranks the findings as rules_evaluate() does: one ranking
	 * gives both the findings and the next check */
	struct rules_question q;
	int q_r = engine_next_question(a.e, &q);
	if (q_r == -ENOMEM) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	o = malloc(sizeof(*o));
	if (!o) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	out_init(o, STDOUT_FILENO);
	if (json)
		print_json(&a, o, q_r, &q);
	else
		print_text(&a, o, q_r, &q);
	out_flush(o);
	if (o->error) {
		fprintf(stderr, "bodydiag: write: %s\n", strerror(-o->error));
		goto out;
	}
	ret = 0;
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(o);
	free(a.marks);
	engine_free(a.e);
	rules_set_free(set);
	profile_free(profile);
	dbc_free(db);
	return ret;
}
