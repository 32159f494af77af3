/* SPDX-License-Identifier: MIT */
/*
 * The report page: its sections in the order a customer reads them (answer, chain,
 * causes, DTCs, timeline, the session's facts), sentences from summary.c.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/role.h"
#include "report.h"
#include "summary.h"

static const char *str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

/* A name the engine gives (a link, a state) as an attribute: only what it can be; the
 * history file is data, and data is not markup. */
static const char *attr(json_t *o, const char *key)
{
	const char *s = str(o, key);
	return s[strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_ ")] ? "other" : s;
}

static bool is(json_t *o, const char *key, const char *value)
{
	return strcmp(str(o, key), value) == 0;
}

void report_html_text(FILE *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", o);
			break;
		case '<':
			fputs("&lt;", o);
			break;
		case '>':
			fputs("&gt;", o);
			break;
		case '"':
			fputs("&quot;", o);
			break;
		case '\'':
			fputs("&#39;", o);
			break;
		default:
			fputc(*s, o);
		}
	}
}

int report_add_point(struct report *r, const char *series, int64_t t_us, double value,
		     const char *label)
{
	struct report_series *s = NULL;

	for (size_t i = 0; i < r->n_series && !s; i++)
		if (!strcmp(r->series[i].name, series))
			s = &r->series[i];
	if (!s) {
		if (r->n_series == REPORT_MAX_SERIES)
			return 0;
		s = &r->series[r->n_series++];
		snprintf(s->name, sizeof(s->name), "%s", series);
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct report_point *np = realloc(s->pts, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->pts = np;
		s->cap = cap;
	}
	char *l = label ? strdup(label) : NULL;
	if (label && !l)
		return -ENOMEM;
	s->pts[s->n++] = (struct report_point){t_us, value, l};
	return 0;
}

void report_finish(struct report *r)
{
	for (size_t i = 0; i < r->n_series; i++) {
		for (size_t k = 0; k < r->series[i].n; k++)
			free(r->series[i].pts[k].label);
		free(r->series[i].pts);
	}
	json_decref(r->result);
	json_decref(r->bus_events);
	r->result = r->bus_events = NULL;
	r->n_series = 0;
}

/* ---- the style: one column that reads on a phone, prints on A4/Letter ---- */

static const char CSS[] =
    ":root{--ok:#1a7f37;--bad:#c62828;--grey:#6b7280;--line:#d0d7de;--soft:#f6f8fa}\n"
    "*{box-sizing:border-box}\n"
    "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1f2328;"
    "margin:0;background:#fff}\n"
    "main{max-width:1080px;margin:0 auto;padding:20px 24px 40px}\n"
    "h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin:1.6em 0 .5em;"
    "padding-bottom:.2em;border-bottom:1px solid var(--line)}\n"
    "h3{font-size:1.08em;margin:0 0 .4em}h4{font-size:.95em;margin:.8em 0 .2em;color:#424a53}\n"
    ".meta{color:var(--grey);margin:.2em 0;overflow-wrap:anywhere}\n"
    ".answer{border:2px solid var(--line);border-left-width:8px;border-radius:6px;"
    "padding:12px 16px;margin:14px 0;background:var(--soft)}\n"
    ".answer.fault{border-color:var(--bad)}.answer.ok{border-color:var(--ok)}"
    ".answer.blocked{border-color:#b26b00}\n"
    ".answer .sentence{font-size:1.25em;font-weight:600;margin:0 0 .4em}\n"
    ".answer .next{margin:0}\n"
    /* the chain as a picture: boxes in chain order, arrows between */
    ".strip{display:flex;flex-wrap:wrap;align-items:stretch;gap:6px 0;margin:10px 0 4px;"
    "padding:0;list-style:none}\n"
    ".strip li{display:flex;align-items:center;flex:1 1 0;min-width:0}\n"
    ".strip li+li::before{content:'\\2192';color:var(--grey);padding:0 4px;font-size:1.1em}\n"
    ".strip a{display:block;flex:1 1 auto;text-decoration:none;color:inherit;"
    "border:2px solid var(--line);border-radius:8px;padding:5px 6px;text-align:center;"
    "background:#fff}\n"
    ".strip .n{display:block;font-weight:600;font-size:.92em}"
    ".strip .s{display:block;font-size:.8em}\n"
    ".working a,.link.working{border-color:var(--ok)}.working .s{color:var(--ok)}\n"
    ".failing a,.link.failing{border-color:var(--bad);background:#fff5f5}"
    ".failing .s{color:var(--bad);font-weight:600}\n"
    ".not-observable a,.link.not-observable{border-style:dashed;color:var(--grey)}\n"
    ".not-tested a,.link.not-tested{color:var(--grey)}\n"
    ".legend{font-size:.85em;color:var(--grey);margin:.3em 0 1em}\n"
    /* the chain link by link: one row each, its evidence one click away */
    ".links{list-style:none;padding:0;margin:0}\n"
    ".link{border:1px solid var(--line);border-left-width:6px;border-radius:6px;margin:6px 0;"
    "background:#fff;break-inside:avoid}\n"
    ".link summary{cursor:pointer;padding:7px 10px;display:grid;"
    "grid-template-columns:12em 14em 1fr auto;gap:2px 12px;align-items:baseline}\n"
    ".link summary .n{font-weight:600}.link summary .c{color:#424a53}\n"
    ".link summary .more{color:var(--grey);font-size:.85em}\n"
    ".link summary .more::after{content:' \\25B8'}details[open] summary .more::after{content:' "
    "\\25BE'}\n"
    ".link .body{padding:0 12px 8px 28px}\n"
    ".icon{display:inline-block;width:1.3em;text-align:center;font-weight:700}\n"
    ".working .icon{color:var(--ok)}.failing .icon{color:var(--bad)}"
    ".not-observable .icon,.not-tested .icon{color:var(--grey)}\n"
    /* causes */
    ".cause{border:1px solid var(--line);border-radius:6px;padding:12px 16px;margin:10px 0;"
    "break-inside:avoid;page-break-inside:avoid}\n"
    ".cause.holds{border-left:6px solid var(--bad)}.cause.possible{border-left:6px solid #b26b00}\n"
    ".cause.normal{border-left:6px solid var(--ok)}\n"
    ".badge{display:inline-block;font-size:.78em;font-weight:600;padding:1px 8px;"
    "border-radius:10px;background:#eef1f4;color:#424a53;vertical-align:middle;margin-left:.4em}\n"
    ".holds .badge{background:#ffe3e3;color:var(--bad)}\n"
    ".why{margin:.2em 0 .4em;padding-left:1.3em}.why li{margin:.15em 0}\n"
    ".todo{background:var(--soft);border-radius:4px;padding:6px 10px;margin:.5em 0 0}\n"
    "details.fold{margin:10px 0;border:1px solid var(--line);border-radius:6px;padding:6px 12px}\n"
    "details.fold summary{cursor:pointer;color:#424a53}\n"
    ".fold li{margin:.3em 0}\n"
    /* DTCs */
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{border-bottom:1px solid var(--line);padding:6px 8px;text-align:left;"
    "vertical-align:top;overflow-wrap:anywhere}\n"
    "th{font-size:.85em;color:#424a53}\n"
    ".dtc.quiet{color:var(--grey)}\n"
    ".bit{display:inline-block;border-radius:10px;padding:0 8px;margin:1px 4px 1px 0;"
    "font-size:.85em;background:#ffe3e3;color:var(--bad);font-weight:600}\n"
    ".bit.faint{background:#f0f0f0;color:var(--grey);font-weight:400}\n"
    ".code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;white-space:nowrap}\n"
    /* the timeline */
    ".scroll{overflow-x:auto}\n"
    "#timeline{display:block;width:100%;height:auto;min-width:680px}\n"
    "#timeline text{font:12px system-ui,sans-serif;fill:#1f2328}\n"
    "#timeline .tick,#timeline .unit{fill:#57606a;font-size:11px}\n"
    "#timeline .grid{stroke:#eaeef2}#timeline .axis{stroke:#8c959f}\n"
    "#timeline .step{fill:none;stroke:#0550ae;stroke-width:2}\n"
    "#timeline .pt{fill:#0550ae}\n"
    "#timeline .thr{stroke:#b26b00;stroke-dasharray:5 4}#timeline "
    ".thrlabel{fill:#b26b00;font-size:10px}\n"
    "#timeline .mark{stroke:#8250df;stroke-width:1.5;stroke-dasharray:6 3}"
    "#timeline .marklabel{fill:#8250df;font-size:11px}\n"
    "#timeline .group{font-weight:600;font-size:12px}\n"
    "#timeline .g-working{fill:var(--ok)}#timeline .g-failing{fill:var(--bad)}"
    "#timeline .g-other{fill:#57606a}\n"
    "#timeline .band{fill:#fafbfc}\n"
    ".steady{font-size:.9em;color:#424a53}\n"
    "footer{margin-top:2em;font-size:.82em;color:var(--grey)}\n"
    "@media screen and (max-width:760px){main{padding:12px 12px 30px}h1{font-size:1.3em}"
    ".answer .sentence{font-size:1.08em}.strip li{flex:1 1 40%}"
    ".strip li:nth-child(odd)::before{content:none}"
    ".link summary{grid-template-columns:1fr auto}.link summary .c{grid-column:1/-1}"
    ".dtcs thead{display:none}.dtcs tr{display:block;padding:6px 0;"
    "border-bottom:1px solid var(--line)}.dtcs td{display:block;border:0;padding:2px 4px}}\n"
    "@media print{main{max-width:none;padding:0}.scroll{overflow:visible}"
    "#timeline{min-width:0}h2{break-after:avoid}a{color:inherit}.link summary .more{display:none}"
    ".link summary{grid-template-columns:10em 11em 1fr}.strip .s{font-size:.7em}"
    ".strip .n{font-size:.78em}.strip a{padding:4px 2px}.strip li+li::before{padding:0 2px}}\n";

static void page_size(FILE *o, enum report_paper p)
{
	switch (p) {
	case REPORT_PAPER_A4:
		fputs("@page{size:A4;margin:14mm 12mm}\n", o);
		break;
	case REPORT_PAPER_LETTER:
		fputs("@page{size:letter;margin:0.55in 0.5in}\n", o);
		break;
	case REPORT_PAPER_SCREEN:
	case REPORT_PAPER_MAX:
		break;
	}
}

/* ---- sections ---- */

static const char *state_class(const char *state)
{
	if (!strcmp(state, "working"))
		return "working";
	if (!strcmp(state, "failing"))
		return "failing";
	if (!strcmp(state, "not observable"))
		return "not-observable";
	return "not-tested";
}

static const char *state_icon(const char *state)
{
	if (!strcmp(state, "working"))
		return "&#10003;"; /* check */
	if (!strcmp(state, "failing"))
		return "&#10007;"; /* cross */
	if (!strcmp(state, "not observable"))
		return "?";
	return "&ndash;";
}

static void li_sentence(void *userdata, const char *s)
{
	FILE *o = userdata;
	fputs("<li>", o);
	report_html_text(o, s);
	fputs("</li>\n", o);
}

static void answer_section(FILE *o, struct report *r)
{
	char buf[1024];
	const char *verdict = str(r->result, "verdict");
	const char *cls = !strcmp(verdict, "fault")	     ? "fault"
			  : !strcmp(verdict, "blocked")	     ? "blocked"
			  : !strncmp(verdict, "no fault", 8) ? "ok"
							     : "open";

	fprintf(o, "<section class=\"answer %s\" id=\"answer\" data-verdict=\"", cls);
	report_html_text(o, verdict);
	fputs("\">\n<p class=\"sentence\">", o);
	summary_answer(r->result, buf, sizeof(buf));
	report_html_text(o, buf);
	fputs("</p>\n", o);
	if (summary_next_check(r->result, buf, sizeof(buf))) {
		fputs("<p class=\"next\"><b>Next check:</b> ", o);
		report_html_text(o, buf);
		fputs("</p>\n", o);
	}
	fputs("</section>\n", o);
}

static void roles_shown(FILE *o, json_t *l)
{
	json_t *v;
	size_t i;
	if (!json_array_size(json_object_get(l, "roles")))
		return;
	fputs("<p class=\"meta\">Shown on this car by: ", o);
	json_array_foreach(json_object_get(l, "roles"), i, v)
	{
		const char *name = json_string_value(v);
		unsigned k;
		fputs(i ? ", " : "", o);
		report_html_text(o,
				 role_find(name, strlen(name), &k) == 0 ? role_at(k)->title : name);
	}
	fprintf(o, " (%s)</p>\n", str(l, "observability"));
}

static void chain_section(FILE *o, struct report *r, const struct report_options *opt)
{
	json_t *chain = json_object_get(r->result, "chain"), *l;
	size_t i;
	char clause[300];

	fputs("<section id=\"chain\">\n<h2>The release chain</h2>\n", o);
	if (!json_array_size(chain)) {
		fputs("<p>This session has no stored chain (recorded by an older bodydiagd).</p>\n"
		      "</section>\n",
		      o);
		return;
	}
	/* the picture: fob to ajar, each box a link to its row */
	fputs("<ol class=\"strip\" aria-label=\"release chain\">\n", o);
	json_array_foreach(chain, i, l)
	{
		fprintf(o,
			"<li class=\"%s\" data-link=\"%s\" data-state=\"%s\"><a href=\"#link-%s\">"
			"<span class=\"n\"><span class=\"icon\">%s</span>",
			state_class(str(l, "state")), attr(l, "link"), attr(l, "state"),
			attr(l, "link"), state_icon(str(l, "state")));
		report_html_text(o, summary_link_label(str(l, "link")));
		/* the strip is small: the state in a word or two */
		fputs("</span><span class=\"s\">", o);
		report_html_text(o,
				 is(l, "state", "not exercised") ? "not tested" : str(l, "state"));
		fputs("</span></a></li>\n", o);
	}
	fputs("</ol>\n<p class=\"legend\">&#10003; seen working &middot; &#10007; seen failing "
	      "&middot; &ndash; not tested (nothing that tests it happened) &middot; ? not "
	      "observable on this car with this connection.<span class=\"screen\"> Open a link "
	      "for its evidence.</span></p>\n"
	      "<ul class=\"links\">\n",
	      o);
	json_array_foreach(chain, i, l)
	{
		json_t *ev = json_object_get(l, "evidence");
		fprintf(o, "<li><details class=\"link %s\" id=\"link-%s\"%s><summary>",
			state_class(str(l, "state")), attr(l, "link"),
			opt->open_details ? " open" : "");
		fprintf(o, "<span class=\"n\"><span class=\"icon\">%s</span>",
			state_icon(str(l, "state")));
		report_html_text(o, summary_link_label(str(l, "link")));
		fputs("</span><span class=\"s\">", o);
		report_html_text(o, summary_link_state(str(l, "state")));
		fputs("</span><span class=\"c\">", o);
		summary_link_clause(l, clause, sizeof(clause));
		report_html_text(o, clause);
		fputs("</span><span class=\"more\">evidence</span></summary>\n"
		      "<div class=\"body\">\n<p>",
		      o);
		report_html_text(o, str(l, "title"));
		fputs("</p>\n", o);
		if (json_array_size(ev)) {
			fputs("<ul class=\"why\">\n", o);
			summary_why(ev, li_sentence, o);
			fputs("</ul>\n", o);
		} else if (is(l, "state", "not observable") || is(l, "state", "not exercised")) {
			fputs("<p>No evidence: ", o);
			report_html_text(o, str(l, "why"));
			fputs(".</p>\n", o);
		}
		roles_shown(o, l);
		fputs("</div></details></li>\n", o);
	}
	fputs("</ul>\n</section>\n", o);
}

static void cause_article(FILE *o, struct report *r, json_t *f, size_t n)
{
	char state[600];
	json_t *ev = json_object_get(f, "evidence");
	const char *cls = is(f, "kind", "normal") ? "normal" : attr(f, "state");

	summary_finding_state(r->result, f, state, sizeof(state));
	fprintf(o, "<article class=\"cause %s\" data-id=\"", cls);
	report_html_text(o, str(f, "id"));
	fprintf(o, "\">\n<h3>%zu. ", n);
	report_html_text(o, str(f, "title"));
	fputs(" <span class=\"badge\">", o);
	report_html_text(o, state);
	fputs("</span></h3>\n", o);
	if (json_array_size(ev)) {
		fputs("<h4>Why we think so</h4>\n<ul class=\"why\">\n", o);
		summary_why(ev, li_sentence, o);
		fputs("</ul>\n", o);
	}
	if (*str(f, "advice") && !is(f, "kind", "normal")) {
		fputs("<p class=\"todo\"><b>What to do:</b> ", o);
		report_html_text(o, str(f, "advice"));
		fprintf(o, "%s</p>\n", summary_stop(str(f, "advice")));
	}
	fputs("</article>\n", o);
}

static void causes_section(FILE *o, struct report *r, const struct report_options *opt)
{
	json_t *findings = json_object_get(r->result, "findings"), *f;
	size_t i, n = 0, folded = 0;
	char state[600];

	fputs("<section id=\"causes\">\n<h2>Causes</h2>\n", o);
	json_array_foreach(findings, i, f)
	{
		if (summary_finding_main(f))
			cause_article(o, r, f, ++n);
		else
			folded++;
	}
	if (!n)
		fputs("<p>No cause holds or is possible with what this test showed.</p>\n", o);
	if (folded) {
		fprintf(o,
			"<details class=\"fold\"%s><summary>Ruled out, or cannot be told on this "
			"car (%zu)</summary>\n<ul>\n",
			opt->open_details ? " open" : "", folded);
		json_array_foreach(findings, i, f)
		{
			if (summary_finding_main(f))
				continue;
			summary_finding_state(r->result, f, state, sizeof(state));
			fputs("<li><b>", o);
			report_html_text(o, str(f, "title"));
			fputs("</b>: ", o);
			report_html_text(o, state);
			fputs("</li>\n", o);
		}
		fputs("</ul>\n</details>\n", o);
	}
	fputs("</section>\n", o);
}

static void dtc_row(FILE *o, json_t *d, int status)
{
	const char *words[8];
	bool faint[8];
	size_t n = summary_dtc_words(status, words, faint, 8);
	json_t *text = json_object_get(d, "text");

	fprintf(o, "<tr class=\"dtc%s\"><td class=\"code\">",
		summary_dtc_rank(status) ? "" : " quiet");
	report_html_text(o, str(d, "code"));
	fputs("</td><td class=\"text\">", o);
	report_html_text(o, json_is_string(text) ? json_string_value(text)
						 : "(no text in the vehicle profile)");
	if (*str(d, "failure_type")) {
		fputs("<br><span class=\"meta\">failure type: ", o);
		report_html_text(o, str(d, "failure_type"));
		fputs("</span>", o);
	}
	fputs("</td><td class=\"bits\">", o);
	for (size_t i = 0; i < n; i++)
		fprintf(o, "<span class=\"bit%s\">%s</span>", faint[i] ? " faint" : "", words[i]);
	if (!n)
		fputs("<span class=\"bit faint\">no failure</span>", o);
	fputs("</td><td>", o);
	report_html_text(o, str(d, "ecu"));
	fprintf(o, " <span class=\"meta\">0x%02X</span></td></tr>\n", (unsigned)status & 0xff);
}

static void dtcs_section(FILE *o, struct report *r)
{
	json_t *dtcs = json_object_get(r->result, "dtcs"), *d;
	size_t i, quiet = 0;

	fputs("<section id=\"dtcs\">\n<h2>Trouble codes</h2>\n", o);
	if (!json_array_size(dtcs)) {
		fputs("<p>No DTCs were read in this test.</p>\n</section>\n", o);
		return;
	}
	fputs("<table class=\"dtcs\"><thead><tr><th>Code</th><th>What it means</th>"
	      "<th class=\"bits\">Status</th><th>Module</th></tr></thead><tbody>\n",
	      o);
	/* the failed ones first, by how failed; the quiet ones last */
	for (int rank = 15; rank >= 0; rank--)
		json_array_foreach(dtcs, i, d)
		{
			int st = (int)json_integer_value(json_object_get(d, "status"));
			if (summary_dtc_rank(st) != rank)
				continue;
			quiet += rank == 0;
			dtc_row(o, d, st);
		}
	fputs("</tbody></table>\n", o);
	if (quiet)
		fprintf(o,
			"<p class=\"meta\">%zu code%s stored without a failure: the module lists "
			"%s, but %s not failed since the fault memory was last cleared.</p>\n",
			quiet, quiet == 1 ? " is" : "s are", quiet == 1 ? "it" : "them",
			quiet == 1 ? "it has" : "they have");
	fputs("</section>\n", o);
}

static void timeline_section(FILE *o, struct report *r)
{
	fputs("<section id=\"timeline-section\">\n<h2>What the car showed</h2>\n", o);
	if (!r->n_series) {
		fputs("<p>No timeline was recorded in this session.</p>\n</section>\n", o);
		return;
	}
	report_write_svg(o, r);
	fputs("</section>\n", o);
}

static void facts_section(FILE *o, struct report *r)
{
	json_t *b;
	size_t i;
	fputs("<footer>\n", o);
	if (json_array_size(r->bus_events)) {
		fputs("<p>Bus events during the test: ", o);
		json_array_foreach(r->bus_events, i, b)
		{
			char t[32];
			summary_seconds(json_number_value(json_object_get(b, "t")), t, sizeof(t));
			fprintf(o, "%s%s ", i ? "; " : "", t);
			report_html_text(o, str(b, "text"));
		}
		fputs(".</p>\n", o);
	}
	if (!r->stored)
		fputs("<p>This session was recorded without its diagnosis result: the chain and "
		      "the sentences are rebuilt from the findings alone.</p>\n",
		      o);
	fprintf(o,
		"<p>bodydiag report, session %lld. Times are seconds from the start of the "
		"test (given once above in UTC); the timeline counts from the first action.</p>\n"
		"</footer>\n",
		(long long)r->session);
}

int report_write_html(FILE *o, struct report *r, const struct report_options *opt)
{
	json_t *veh = json_object_get(r->result, "vehicle");
	char t0[40];

	if (!summary_utc(r->start_us, t0, sizeof(t0)))
		snprintf(t0, sizeof(t0), "(the clock was not set)");
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
	      "<title>Trunk release diagnosis",
	      o);
	if (r->vin[0]) {
		fputs(" &ndash; ", o);
		report_html_text(o, r->vin);
	}
	fputs("</title>\n<style>\n", o);
	fputs(CSS, o);
	page_size(o, opt->paper);
	fputs("</style></head><body><main>\n<header>\n<h1>Trunk release diagnosis</h1>\n"
	      "<p class=\"meta\">",
	      o);
	if (json_is_object(veh)) {
		report_html_text(o, str(veh, "make"));
		fputs(" ", o);
		report_html_text(o, str(veh, "platform"));
		if (*str(veh, "name")) {
			fputs(" (", o);
			report_html_text(o, str(veh, "name"));
			fputs(")", o);
		}
		fputs(" &middot; ", o);
	}
	fputs("VIN ", o);
	report_html_text(o, r->vin[0] ? r->vin : "not read");
	fprintf(o, " &middot; test started <time datetime=\"%s\">%s</time>", t0, t0);
	if (r->end_us > r->start_us) {
		char d[32];
		summary_seconds((double)(r->end_us - r->start_us) / 1e6, d, sizeof(d));
		fprintf(o, ", %s long", d);
	}
	fprintf(o, " &middot; session %lld</p>\n</header>\n", (long long)r->session);
	answer_section(o, r);
	chain_section(o, r, opt);
	causes_section(o, r, opt);
	dtcs_section(o, r);
	timeline_section(o, r);
	facts_section(o, r);
	fputs("</main></body></html>\n", o);
	return ferror(o) ? -EIO : 0;
}
