/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-fleet: the operator's view of the fleet database (docs/fleet.md), run as
 * `bodydiag fleet ...`. A separate program so that the CLI on a van (a Raspberry Pi) does
 * not link libpq and what it pulls in (Kerberos, LDAP, TLS): only the operator's side needs
 * PostgreSQL.
 *
 *   vans [--all]                 vans with open body faults (all vans with --all)
 *   causes [--since T] [--limit N]  most frequent causes that held, across the fleet
 *   history VAN [--limit N]      a van's trunk findings and session verdicts, newest first
 *   silent [--after DURATION]    vans not heard from for DURATION (default 24 hours), or
 *                                whose connection ended without a goodbye (the will)
 *   html -o FILE|-               all of it as one static HTML page
 *
 * --db CONNINFO (default $BODYDIAG_FLEET_DB, else "dbname=bodydiag"), --json for JSON
 * lines instead of a table. Exit status: 0, 1 (database error), 2 (usage).
 *
 * Tables and the page are for people: headers in words, times in UTC said once in the
 * header, causes by the title their rule file gives them (--rules FILE|DIR, repeatable,
 * default the data directory's rules/). The fleet server has no vehicle, only the rule
 * files: a cause none of them names is shown by its id, and a rule file that does not
 * parse is reported (file:line:column) without failing the view. --json keeps the SQL
 * column names and the ids (what scripts read); the page keeps them in data-key and
 * data-cause attributes.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bodydiag/rules_lang.h"
#include "config.h"

#define TS(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"

static const char SQL_VANS[] =
	"SELECT unit AS van, coalesce(vin, '') AS vin, open_faults, coalesce(codes, '') AS codes,"
	" coalesce(last_verdict, '') AS last_verdict, coalesce(last_top_cause, '') AS top_cause,"
	" coalesce(" TS("last_session_end") ", '') AS last_session, " TS("last_seen") " AS last_heard "
	"FROM fleet_vans WHERE open_faults > 0 OR $1::bool ORDER BY open_faults DESC, unit";

static const char SQL_CAUSES[] =
	"SELECT cause, count(*) AS findings, count(DISTINCT unit) AS vans, " TS("max(t)") " AS last "
	"FROM records WHERE kind = 'finding' AND state = 'holds' AND t >= $1::timestamptz "
	"GROUP BY cause ORDER BY 2 DESC, 1 LIMIT $2::int";

static const char SQL_HISTORY[] =
	"SELECT " TS("t") " AS time, kind, coalesce(cause, top_cause, '') AS cause,"
	" coalesce(state, verdict, '') AS state_or_verdict,"
	" coalesce(round(confidence::numeric, 2)::text, '') AS confidence,"
	" coalesce(session::text, '') AS session, coalesce(advice, '') AS advice "
	"FROM records WHERE (unit = $1 OR vin = $1) AND kind IN ('finding', 'session') "
	"ORDER BY t DESC, epoch DESC, seq DESC LIMIT $2::int";

static const char SQL_SILENT[] =
	"SELECT unit AS van, coalesce(vin, '') AS vin, " TS("last_seen") " AS last_heard,"
	" floor(extract(epoch FROM now() - last_seen) / 3600)::bigint AS hours_silent,"
	" coalesce(state, '') AS state, coalesce(state_reason, '') AS reason "
	"FROM units WHERE last_seen < now() - $1::interval"
	" OR (state = 'offline' AND state_reason = 'will') ORDER BY last_seen, unit";

static const char SQL_SUMMARY[] =
	"SELECT count(*) AS vans, count(*) FILTER (WHERE open_faults > 0) AS with_open_faults,"
	" count(*) FILTER (WHERE last_seen >= now() - $1::interval) AS heard_recently,"
	" (SELECT count(*) FROM records) AS records "
	"FROM fleet_vans";

/* What a person reads over each column the queries return. The SQL names stay the keys of
 * --json and the page's data-key attributes. */
enum col_kind {
	COL_TEXT,
	COL_NUMBER, /* right-aligned */
	COL_TIME,   /* "YYYY-MM-DD HH:MI" in UTC (TS above): the header says UTC */
	COL_CAUSE,  /* a rule id: shown by its title */
	COL_CODES,  /* DTCs separated by spaces ("B1A40-13 B1A45-12"): lines break between them */
	COL_KIND_MAX,
};

struct column {
	const char *key, *header;
	enum col_kind kind;
};

static const struct column COLUMNS[] = {
	{"van", "Van", COL_TEXT},
	{"vin", "VIN", COL_TEXT},
	{"open_faults", "Open faults", COL_NUMBER},
	{"codes", "Fault codes", COL_CODES},
	{"last_verdict", "Last verdict", COL_TEXT},
	{"top_cause", "Top cause", COL_CAUSE},
	{"last_session", "Last session (UTC)", COL_TIME},
	{"last_heard", "Last heard (UTC)", COL_TIME},
	{"cause", "Cause", COL_CAUSE},
	{"findings", "Findings", COL_NUMBER},
	{"vans", "Vans", COL_NUMBER},
	{"last", "Last held (UTC)", COL_TIME},
	{"time", "Time (UTC)", COL_TIME},
	{"kind", "Record", COL_TEXT},
	{"state_or_verdict", "State or verdict", COL_TEXT},
	{"confidence", "Confidence", COL_NUMBER},
	{"session", "Session", COL_NUMBER},
	{"advice", "Advice", COL_TEXT},
	{"hours_silent", "Hours silent", COL_NUMBER},
	{"state", "State", COL_TEXT},
	{"reason", "Reason", COL_TEXT},
};

/* A query's column: its entry above (every column of the queries has one; an unknown name
 * is shown as it is). */
static struct column column_of(const char *key)
{
	for (size_t i = 0; i < sizeof(COLUMNS) / sizeof(COLUMNS[0]); i++)
		if (strcmp(COLUMNS[i].key, key) == 0)
			return COLUMNS[i];
	return (struct column){key, key, COL_TEXT};
}

/* --- cause titles from the rule files --- */

#define MAX_RULE_FILES 64

struct titles {
	struct rules_set *sets[MAX_RULE_FILES];
	char *paths[MAX_RULE_FILES]; /* loaded, for the page's footnote */
	size_t n;
};

static void titles_finish(struct titles *t)
{
	for (size_t i = 0; i < t->n; i++) {
		rules_set_free(t->sets[i]);
		free(t->paths[i]);
	}
	t->n = 0;
}

/* The title of a cause (rule, inhibit or normal) in the first file that names it; NULL
 * when none does. */
static const char *cause_title(const struct titles *t, const char *id)
{
	for (size_t f = 0; f < t->n; f++)
		for (size_t i = 0; i < rules_set_rule_count(t->sets[f]); i++)
			if (strcmp(rules_set_rule_id(t->sets[f], i), id) == 0)
				return rules_set_rule_title(t->sets[f], i);
	return NULL;
}

/* One rule file through the library's parser. A file that cannot be read or parsed is
 * reported and left out: its causes are then shown by their ids. */
static void titles_load_file(struct titles *t, const char *path)
{
	struct rules_parser *p;
	struct rules_error err = {0};
	struct rules_set *set = NULL;
	char buf[65536];
	size_t n;
	int r = 0;
	FILE *f;

	if (t->n == MAX_RULE_FILES) {
		fprintf(stderr, "bodydiag fleet: %s: more than %d rule files, left out\n", path,
			MAX_RULE_FILES);
		return;
	}
	f = fopen(path, "re");
	if (!f) {
		fprintf(stderr, "bodydiag fleet: %s: %s (its causes are shown by their ids)\n", path,
			strerror(errno));
		return;
	}
	p = rules_parser_new(path);
	if (!p)
		r = -ENOMEM;
	while (r >= 0 && (n = fread(buf, 1, sizeof(buf), f)) > 0)
		r = rules_parser_feed(p, buf, n);
	if (r >= 0 && ferror(f))
		r = -EIO;
	fclose(f);
	if (r >= 0)
		r = rules_parser_finish(p, &err, &set);
	rules_parser_free(p);
	if (r == -EINVAL) {
		fprintf(stderr, "%s:%u:%u: error: %s (file left out: its causes are shown by their "
				"ids)\n", err.file, err.line, err.column, err.message);
		return;
	}
	if (r < 0) {
		fprintf(stderr, "bodydiag fleet: %s: %s (its causes are shown by their ids)\n", path,
			strerror(-r));
		return;
	}
	t->paths[t->n] = strdup(path);
	if (!t->paths[t->n]) {
		rules_set_free(set);
		fprintf(stderr, "bodydiag fleet: %s: %s\n", path, strerror(ENOMEM));
		return;
	}
	t->sets[t->n++] = set;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A rule file, or every *.rules of a directory in name order. */
static void titles_load(struct titles *t, const char *path)
{
	struct stat st;
	struct dirent *e;
	char *names[MAX_RULE_FILES];
	size_t n = 0;
	DIR *d;

	if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
		titles_load_file(t, path);
		return;
	}
	d = opendir(path);
	if (!d) {
		fprintf(stderr, "bodydiag fleet: rules %s: %s (causes are shown by their ids)\n", path,
			strerror(errno));
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= 6 || strcmp(e->d_name + len - 6, ".rules") != 0)
			continue;
		if (n == MAX_RULE_FILES) {
			fprintf(stderr, "bodydiag fleet: %s: more than %d .rules files, %s left out\n",
				path, MAX_RULE_FILES, e->d_name);
			continue;
		}
		if (asprintf(&names[n], "%s/%s", path, e->d_name) >= 0)
			n++;
	}
	closedir(d);
	if (!n)
		fprintf(stderr, "bodydiag fleet: %s: no .rules file (causes are shown by their "
				"ids)\n", path);
	qsort(names, n, sizeof(names[0]), by_name);
	for (size_t i = 0; i < n; i++) {
		titles_load_file(t, names[i]);
		free(names[i]);
	}
}

struct args {
	const char *db, *since, *after, *out;
	const char *rules[MAX_RULE_FILES];
	size_t n_rules;
	struct titles titles;
	int limit;
	bool json, all;
};

static int usage(FILE *f, int status)
{
	fprintf(f, "Usage: bodydiag fleet [--db CONNINFO] [--json] [--rules FILE|DIR]... COMMAND "
		   "[ARGS]\n\n"
		   "  vans [--all]                   vans with open body faults\n"
		   "  causes [--since T] [--limit N] most frequent causes across the fleet\n"
		   "  history VAN|VIN [--limit N]    a van's trunk findings, newest first\n"
		   "  silent [--after DURATION]      vans that stopped reporting (default 24 hours)\n"
		   "  html -o FILE|-                 the fleet page (self-contained HTML)\n\n"
		   "CONNINFO: a libpq connection string (default $BODYDIAG_FLEET_DB or "
		   "\"dbname=bodydiag\").\n"
		   "--rules: rule files (or directories of *.rules) whose titles name the causes\n"
		   "(default $BODYDIAG_DATADIR/rules, else %s/rules); --json keeps the ids.\n",
		BODYDIAG_DATADIR);
	return status;
}

static PGresult *query(PGconn *c, const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "bodydiag fleet: %s", PQresultErrorMessage(res));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* Numbers stay numbers in JSON (int8, int4, numeric, float8); everything else a string. */
static bool numeric_column(PGresult *res, int col)
{
	Oid t = PQftype(res, col);

	return t == 20 || t == 21 || t == 23 || t == 700 || t == 701 || t == 1700;
}

/* What a cell shows: a cause by its title (its id when no rule file names it). */
static const char *cell(PGresult *res, int r, int c, const struct column *col,
			const struct titles *t)
{
	const char *v = PQgetvalue(res, r, c), *title;

	if (col->kind == COL_CAUSE && *v && (title = cause_title(t, v)))
		return title;
	return v;
}

/* Columns on a terminal: UTF-8 code points (titles and advice may hold "ü", "°"). */
static int text_width(const char *s)
{
	int w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

/* Bytes of the first cols code points of s. */
static int text_prefix(const char *s, int cols)
{
	int i = 0;

	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80 && cols-- == 0)
			break;
	return i;
}

#define CELL_MAX 60 /* columns of a text cell; longer text is cut */

/* One cell of a text table, two spaces after it. Padding is held back until something
 * follows it on the line, so no line ends in blanks. */
static void print_cell(int *pending, const char *s, int w, bool right)
{
	int tw = text_width(s), pad = w - (tw > CELL_MAX ? CELL_MAX : tw);

	if (!*s) {
		*pending += w + 2;
		return;
	}
	if (right)
		*pending += pad;
	printf("%*s%.*s", *pending, "", text_prefix(s, CELL_MAX), s);
	*pending = (right ? 0 : pad) + 2;
}

static void print_json(PGresult *res)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	for (int r = 0; r < rows; r++) {
		json_t *o = json_object();
		for (int c = 0; c < cols; c++) {
			const char *v = PQgetvalue(res, r, c);
			json_t *j = numeric_column(res, c) && *v ? json_loads(v, JSON_DECODE_ANY, NULL)
								 : json_string(v);
			json_object_set_new(o, PQfname(res, c), j ? j : json_string(v));
		}
		char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(o);
	}
}

static int print_table(PGresult *res, const struct titles *t)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	struct column *col = calloc((size_t)cols, sizeof(*col));
	int *w = calloc((size_t)cols, sizeof(*w));

	if (!col || !w) {
		free(col);
		free(w);
		fprintf(stderr, "bodydiag fleet: %s\n", strerror(ENOMEM));
		return 1;
	}
	for (int c = 0; c < cols; c++) {
		col[c] = column_of(PQfname(res, c));
		w[c] = text_width(col[c].header);
		for (int r = 0; r < rows; r++) {
			int cw = text_width(cell(res, r, c, &col[c], t));
			cw = cw > CELL_MAX ? CELL_MAX : cw;
			w[c] = cw > w[c] ? cw : w[c];
		}
	}
	for (int r = -1; r < rows; r++) {
		int pending = 0;
		for (int c = 0; c < cols; c++)
			print_cell(&pending, r < 0 ? col[c].header : cell(res, r, c, &col[c], t), w[c],
				   col[c].kind == COL_NUMBER);
		putchar('\n');
	}
	if (!rows)
		printf("(none)\n");
	free(col);
	free(w);
	return 0;
}

/* --- HTML --- */

static void html_textn(FILE *f, const char *s, size_t n)
{
	for (; n--; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void html_text(FILE *f, const char *s)
{
	html_textn(f, s, strlen(s));
}

/* Each DTC whole on a line: "B1A46-13", not "B1A46-" and "13". */
static void html_codes(FILE *f, const char *s)
{
	for (const char *end; *s; s = end) {
		size_t n = strcspn(s, " ");
		end = s + n + strspn(s + n, " ");
		fputs("<span class=\"code\">", f);
		html_textn(f, s, n);
		fputs(*end ? "</span> " : "</span>", f);
	}
}

/* An integer as people read it, "3,000" (the page is English); anything else as it is. */
static void html_number(FILE *f, const char *s)
{
	size_t neg = s[0] == '-', n = strlen(s);

	if (n - neg < 4 || strspn(s + neg, "0123456789") != n - neg) {
		html_text(f, s);
		return;
	}
	fwrite(s, 1, neg, f);
	for (size_t i = neg; i < n; i++) {
		if (i > neg && (n - i) % 3 == 0)
			fputc(',', f);
		fputc(s[i], f);
	}
}

/*
 * A result as a <table id=ID>. Each header cell carries the SQL name in data-key, each
 * cause cell the id in data-cause, so scripts find them whatever the words say; each cell
 * its header in data-h, which narrow screens show beside the value (one card per row).
 * bar_col >= 0 draws that numeric column as a bar in a cell of its own after it.
 */
static void html_table(FILE *f, const char *id, PGresult *res, int bar_col,
		       const struct titles *t)
{
	int rows = PQntuples(res), cols = PQnfields(res);
	double max = 1;

	for (int r = 0; bar_col >= 0 && r < rows; r++)
		if (atof(PQgetvalue(res, r, bar_col)) > max)
			max = atof(PQgetvalue(res, r, bar_col));
	if (!rows) {
		fprintf(f, "<p class=\"none\" id=\"%s\" data-rows=\"0\">None.</p>\n", id);
		return;
	}
	fprintf(f, "<table id=\"%s\" data-rows=\"%d\"><thead><tr>", id, rows);
	for (int c = 0; c < cols; c++) {
		struct column col = column_of(PQfname(res, c));
		fprintf(f, "<th%s data-key=\"", col.kind == COL_NUMBER ? " class=\"n\"" : "");
		html_text(f, col.key);
		fputs("\">", f);
		html_text(f, col.header);
		fputs("</th>", f);
		if (c == bar_col)
			fputs("<th class=\"bars\"></th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	for (int r = 0; r < rows; r++) {
		fputs("<tr>", f);
		for (int c = 0; c < cols; c++) {
			struct column col = column_of(PQfname(res, c));
			const char *v = PQgetvalue(res, r, c), *shown = cell(res, r, c, &col, t);
			fputs("<td", f);
			if (col.kind == COL_NUMBER)
				fputs(" class=\"n\"", f);
			if (col.kind == COL_TIME)
				fputs(" class=\"t\"", f);
			if (col.kind == COL_CAUSE && *v) {
				fputs(shown == v ? " class=\"id\" data-cause=\"" : " data-cause=\"", f);
				html_text(f, v);
				fputs("\"", f);
			}
			fputs(" data-h=\"", f);
			html_text(f, col.header);
			fputs("\">", f);
			if (col.kind == COL_CODES)
				html_codes(f, shown);
			else if (col.kind == COL_NUMBER)
				html_number(f, shown);
			else
				html_text(f, shown);
			fputs("</td>", f);
			/* 200 px for the largest; 2 px at least, so that one finding shows */
			if (c == bar_col)
				fprintf(f, "<td class=\"bars\"><span class=\"bar\" style=\"width:%.0fpx\">"
					   "</span></td>", atof(v) > 0 ? fmax(2, 200.0 * atof(v) / max) : 0);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

/* Below 700 px a table row becomes a card: each cell on its own line after its header
 * (data-h), empty cells left out; the bars stay out of the cards (the number says it). */
static const char CSS[] =
	"body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1400px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px "
	"solid #ccc}.sub{color:#666}.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}"
	".tile{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:120px}"
	".tile b{display:block;font-size:24px}.tile.bad b{color:#c33}"
	"table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;"
	"border-bottom:1px solid #eee;vertical-align:top}th{background:#f4f4f4}"
	"th.n,td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}"
	"td.t,.code{white-space:nowrap}"
	"td.bars{width:210px;padding-left:0}.bar{display:inline-block;height:10px;"
	"background:#c33;vertical-align:middle}td.id{font-family:monospace}"
	"td:first-child{white-space:nowrap}details{margin:6px 0}summary{cursor:pointer;"
	"font-weight:bold}.none{color:#666}"
	"@media (max-width:700px){body{margin:12px}table,tbody,tr,td{display:block}"
	"thead,.bars{display:none}tr{border:1px solid #ddd;border-radius:6px;margin:8px 0;"
	"padding:4px 0}td,td.n,td.t,td:first-child{border:0;padding:1px 10px 1px calc(8.5em + 18px);"
	"text-align:left;white-space:normal;overflow-wrap:anywhere}td:empty{display:none}"
	"td::before{content:attr(data-h);display:inline-block;vertical-align:top;width:8.5em;"
	"margin-left:calc(-8.5em - 8px);margin-right:8px;color:#666;font-family:sans-serif}"
	".tile{min-width:0;flex:1 1 40%}}";

/* A number in a box: <div class="tile CLS" id=ID><b>N</b>WHAT[MORE]</div>. */
static void tile(FILE *f, const char *id, const char *cls, const char *n, const char *what,
		 const char *more)
{
	fprintf(f, "<div class=\"tile%s\" id=\"%s\"><b>", cls, id);
	html_number(f, n);
	fputs("</b>", f);
	html_text(f, what);
	if (more)
		html_text(f, more);
	fputs("</div>", f);
}

static int write_html(PGconn *c, const struct args *a)
{
	FILE *f = strcmp(a->out, "-") == 0 ? stdout : fopen(a->out, "we");
	char now[64], limit[16];
	time_t t = time(NULL);
	struct tm tm;
	const char *all[1] = {"false"}, *since[2] = {"-infinity", "20"},
		   *after[1] = {a->after ? a->after : "24 hours"};
	PGresult *sum, *vans, *causes, *silent;
	int status = 0;

	if (!f) {
		perror(a->out);
		return 1;
	}
	gmtime_r(&t, &tm);
	strftime(now, sizeof(now), "%Y-%m-%d %H:%M UTC", &tm);
	sum = query(c, SQL_SUMMARY, 1, after);
	vans = query(c, SQL_VANS, 1, all);
	causes = query(c, SQL_CAUSES, 2, since);
	silent = query(c, SQL_SILENT, 1, after);
	if (!sum || !vans || !causes || !silent) {
		status = 1;
		goto out;
	}
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
		   "<title>bodydiag fleet</title><style>%s</style></head><body>\n", CSS);
	fprintf(f, "<h1>bodydiag fleet: body faults</h1><div class=\"sub\">Generated %s from "
		   "the fleet database (bodydiag %s).</div>\n", now, BODYDIAG_VERSION);
	char n_silent[16];
	snprintf(n_silent, sizeof(n_silent), "%d", PQntuples(silent));
	fputs("<div class=\"tiles\">", f);
	tile(f, "t-vans", "", PQgetvalue(sum, 0, 0), "vans", NULL);
	tile(f, "t-open", " bad", PQgetvalue(sum, 0, 1), "with open body faults", NULL);
	tile(f, "t-heard", "", PQgetvalue(sum, 0, 2), "heard within ", after[0]);
	tile(f, "t-silent", " bad", n_silent, "stopped reporting", NULL);
	tile(f, "t-records", "", PQgetvalue(sum, 0, 3), "records", NULL);
	fputs("</div>\n", f);
	fputs("<h2>Most frequent causes</h2>\n<p class=\"sub\">Findings that held, across the "
	      "fleet.</p>\n", f);
	html_table(f, "causes", causes, 1, &a->titles);
	fputs("<h2>Vans with open body faults</h2>\n<p class=\"sub\">Body DTCs whose newest "
	      "status has testFailed or confirmedDTC set, with the verdict of the van's last "
	      "diagnosis session.</p>\n", f);
	html_table(f, "open-faults", vans, -1, &a->titles);
	fprintf(f, "<h2>Vans that stopped reporting</h2>\n<p class=\"sub\">Not heard from for "
		   "%s, or their connection ended without a goodbye (the will).</p>\n", after[0]);
	html_table(f, "silent", silent, -1, &a->titles);
	fputs("<h2>Trunk findings per van</h2>\n<div id=\"histories\">\n", f);
	snprintf(limit, sizeof(limit), "%d", a->limit);
	for (int r = 0; r < PQntuples(vans); r++) {
		const char *p[2] = {PQgetvalue(vans, r, 0), limit};
		PGresult *h = query(c, SQL_HISTORY, 2, p);
		if (!h) {
			status = 1;
			break;
		}
		fputs("<details data-van=\"", f);
		html_text(f, p[0]);
		fputs("\"><summary>", f);
		html_text(f, p[0]);
		fprintf(f, " %s (%s)</summary>\n", PQgetvalue(vans, r, 1), PQgetvalue(vans, r, 3));
		/* ids are unique in a page: one history table per van */
		char id[32];
		snprintf(id, sizeof(id), "history-%d", r + 1);
		html_table(f, id, h, -1, &a->titles);
		fputs("</details>\n", f);
		PQclear(h);
	}
	fputs("</div>\n<p class=\"sub\" id=\"rules\">Times are UTC. Causes are named by ", f);
	if (!a->titles.n)
		fputs("their ids: no rule file was loaded.", f);
	for (size_t i = 0; i < a->titles.n; i++) {
		fputs(i ? ", " : "the titles in ", f);
		html_text(f, a->titles.paths[i]);
	}
	if (a->titles.n)
		fputs("; a cause none of them names is shown by its id.", f);
	fputs("</p>\n</body></html>\n", f);
out:
	PQclear(sum);
	PQclear(vans);
	PQclear(causes);
	PQclear(silent);
	if (f != stdout && fclose(f) != 0)
		status = 1;
	return status;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},    {"json", no_argument, NULL, 'j'},
		{"all", no_argument, NULL, 'a'},         {"since", required_argument, NULL, 's'},
		{"limit", required_argument, NULL, 'l'}, {"after", required_argument, NULL, 'A'},
		{"output", required_argument, NULL, 'o'}, {"help", no_argument, NULL, 'h'},
		{"rules", required_argument, NULL, 'r'}, {},
	};
	struct args a = {.db = getenv("BODYDIAG_FLEET_DB"), .limit = 20};
	const char *cmd = NULL, *van = NULL;
	PGresult *res = NULL;
	int c, status = 0;

	/* Options anywhere: before or after the command. */
	while (optind < argc) {
		c = getopt_long(argc, argv, "+o:h", opts, NULL);
		if (c == -1) {
			if (!cmd)
				cmd = argv[optind];
			else if (!van)
				van = argv[optind];
			else
				return usage(stderr, 2);
			optind++;
			continue;
		}
		char *end;
		switch (c) {
		case 'd': a.db = optarg; break;
		case 'j': a.json = true; break;
		case 'a': a.all = true; break;
		case 's': a.since = optarg; break;
		case 'A': a.after = optarg; break;
		case 'o': a.out = optarg; break;
		case 'r':
			if (a.n_rules == MAX_RULE_FILES) {
				fprintf(stderr, "bodydiag fleet: --rules: at most %d\n", MAX_RULE_FILES);
				return 2;
			}
			a.rules[a.n_rules++] = optarg;
			break;
		case 'l':
			a.limit = (int)strtol(optarg, &end, 10);
			if (*end || a.limit < 1 || a.limit > 100000) {
				fprintf(stderr, "bodydiag fleet: --limit: 1 to 100000\n");
				return 2;
			}
			break;
		case 'h': return usage(stdout, 0);
		default: return usage(stderr, 2);
		}
	}
	if (!cmd)
		return usage(stderr, 2);
	if (strcmp(cmd, "html") == 0 ? !a.out || van : strcmp(cmd, "history") == 0 ? !van : !!van) {
		fprintf(stderr, "bodydiag fleet %s: wrong arguments\n", cmd);
		return usage(stderr, 2);
	}
	if (strcmp(cmd, "vans") && strcmp(cmd, "causes") && strcmp(cmd, "history") &&
	    strcmp(cmd, "silent") && strcmp(cmd, "html")) {
		fprintf(stderr, "bodydiag fleet: unknown command '%s'\n", cmd);
		return usage(stderr, 2);
	}
	PGconn *conn = PQconnectdb(a.db ? a.db : "dbname=bodydiag");
	if (PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "bodydiag fleet: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return 1;
	}
	/* JSON carries the ids: no titles needed, and no warning about rule files. */
	if (!a.json || strcmp(cmd, "html") == 0) {
		char dir[4096];
		if (!a.n_rules) {
			const char *d = getenv("BODYDIAG_DATADIR");
			snprintf(dir, sizeof(dir), "%s/rules", d && *d ? d : BODYDIAG_DATADIR);
			a.rules[a.n_rules++] = dir;
		}
		for (size_t i = 0; i < a.n_rules; i++)
			titles_load(&a.titles, a.rules[i]);
	}
	char limit[16];
	snprintf(limit, sizeof(limit), "%d", a.limit);
	if (strcmp(cmd, "html") == 0) {
		status = write_html(conn, &a);
	} else {
		if (strcmp(cmd, "vans") == 0) {
			const char *p[1] = {a.all ? "true" : "false"};
			res = query(conn, SQL_VANS, 1, p);
		} else if (strcmp(cmd, "causes") == 0) {
			const char *p[2] = {a.since ? a.since : "-infinity", limit};
			res = query(conn, SQL_CAUSES, 2, p);
		} else if (strcmp(cmd, "history") == 0) {
			const char *p[2] = {van, limit};
			res = query(conn, SQL_HISTORY, 2, p);
		} else {
			const char *p[1] = {a.after ? a.after : "24 hours"};
			res = query(conn, SQL_SILENT, 1, p);
		}
		if (!res)
			status = 1;
		else if (a.json)
			print_json(res);
		else
			status = print_table(res, &a.titles);
		PQclear(res);
	}
	titles_finish(&a.titles);
	PQfinish(conn);
	return status;
}
