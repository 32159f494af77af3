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
 */
#include <getopt.h>
#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

struct args {
	const char *db, *since, *after, *out;
	int limit;
	bool json, all;
};

static int usage(FILE *f, int status)
{
	fprintf(f, "Usage: bodydiag fleet [--db CONNINFO] [--json] COMMAND [ARGS]\n\n"
		   "  vans [--all]                   vans with open body faults\n"
		   "  causes [--since T] [--limit N] most frequent causes across the fleet\n"
		   "  history VAN|VIN [--limit N]    a van's trunk findings, newest first\n"
		   "  silent [--after DURATION]      vans that stopped reporting (default 24 hours)\n"
		   "  html -o FILE|-                 the fleet page (self-contained HTML)\n\n"
		   "CONNINFO: a libpq connection string (default $BODYDIAG_FLEET_DB or "
		   "\"dbname=bodydiag\").\n");
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

static void print_result(PGresult *res, bool json)
{
	int rows = PQntuples(res), cols = PQnfields(res);

	if (json) {
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
		return;
	}
	int *w = calloc((size_t)cols, sizeof(*w));
	for (int c = 0; c < cols; c++) {
		w[c] = (int)strlen(PQfname(res, c));
		for (int r = 0; r < rows; r++)
			if (PQgetlength(res, r, c) > w[c])
				w[c] = PQgetlength(res, r, c) > 60 ? 60 : PQgetlength(res, r, c);
	}
	for (int c = 0; c < cols; c++)
		printf("%-*s%s", w[c], PQfname(res, c), c + 1 < cols ? "  " : "\n");
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++)
			printf("%-*.*s%s", w[c], 60, PQgetvalue(res, r, c), c + 1 < cols ? "  " : "\n");
	if (!rows)
		printf("(none)\n");
	free(w);
}

/* --- HTML --- */

static void html_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A result as a <table>; bar_col >= 0 draws that numeric column as a bar beside it. */
static void html_table(FILE *f, const char *id, PGresult *res, int bar_col)
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
		fputs("<th>", f);
		html_text(f, PQfname(res, c));
		fputs("</th>", f);
	}
	fputs("</tr></thead><tbody>\n", f);
	for (int r = 0; r < rows; r++) {
		fputs("<tr>", f);
		for (int c = 0; c < cols; c++) {
			fprintf(f, "<td%s>", numeric_column(res, c) ? " class=\"n\"" : "");
			html_text(f, PQgetvalue(res, r, c));
			if (c == bar_col)
				fprintf(f, " <span class=\"bar\" style=\"width:%.0fpx\"></span>",
					200.0 * atof(PQgetvalue(res, r, c)) / max);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</tbody></table>\n", f);
}

static const char CSS[] =
	"body{font:14px/1.4 sans-serif;margin:24px;color:#222;max-width:1150px}"
	"h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px "
	"solid #ccc}.sub{color:#666}.tiles{display:flex;gap:12px;margin:16px 0}"
	".tile{border:1px solid #ccc;border-radius:6px;padding:8px 14px;min-width:120px}"
	".tile b{display:block;font-size:24px}.tile.bad b{color:#c33}"
	"table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:3px 8px;"
	"border-bottom:1px solid #eee;vertical-align:top}th{background:#f4f4f4}td.n{text-align:right;"
	"white-space:nowrap}.bar{display:inline-block;height:10px;background:#c33;margin-left:6px}"
	"td:first-child{white-space:nowrap}details{margin:6px 0}summary{cursor:pointer;font-weight:bold}.none{color:#666}";

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
		   "<title>bodydiag fleet</title><style>%s</style></head><body>\n", CSS);
	fprintf(f, "<h1>bodydiag fleet: body faults</h1><div class=\"sub\">Generated %s from "
		   "the fleet database (bodydiag %s).</div>\n", now, BODYDIAG_VERSION);
	fprintf(f, "<div class=\"tiles\">"
		   "<div class=\"tile\" id=\"t-vans\"><b>%s</b>vans</div>"
		   "<div class=\"tile bad\" id=\"t-open\"><b>%s</b>with open body faults</div>"
		   "<div class=\"tile\" id=\"t-heard\"><b>%s</b>heard within %s</div>"
		   "<div class=\"tile bad\" id=\"t-silent\"><b>%d</b>stopped reporting</div>"
		   "<div class=\"tile\" id=\"t-records\"><b>%s</b>records</div></div>\n",
		PQgetvalue(sum, 0, 0), PQgetvalue(sum, 0, 1), PQgetvalue(sum, 0, 2), after[0],
		PQntuples(silent), PQgetvalue(sum, 0, 3));
	fputs("<h2>Most frequent causes</h2>\n<p class=\"sub\">Findings that held, across the "
	      "fleet.</p>\n", f);
	html_table(f, "causes", causes, 1);
	fputs("<h2>Vans with open body faults</h2>\n<p class=\"sub\">Body DTCs whose newest "
	      "status has testFailed or confirmedDTC set, with the verdict of the van's last "
	      "diagnosis session.</p>\n", f);
	html_table(f, "open-faults", vans, -1);
	fprintf(f, "<h2>Vans that stopped reporting</h2>\n<p class=\"sub\">Not heard from for "
		   "%s, or their connection ended without a goodbye (the will).</p>\n", after[0]);
	html_table(f, "silent", silent, -1);
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
		html_table(f, "history", h, -1);
		fputs("</details>\n", f);
		PQclear(h);
	}
	fputs("</div></body></html>\n", f);
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
		{},
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
		if (res)
			print_result(res, a.json);
		else
			status = 1;
		PQclear(res);
	}
	PQfinish(conn);
	return status;
}
