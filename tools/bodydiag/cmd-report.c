/* SPDX-License-Identifier: MIT */
/*
 * bodydiag report [--db PATH] [--session ID] -o report.html
 *
 * One self-contained HTML file for the customer and the technician: the vehicle, the
 * DTCs with every status bit spelled out, the ranked causes with their advice and
 * evidence, and an SVG timeline of the guided test (one lane per series, plus DTC
 * transitions, bus events and findings) with the trunk-release chain summarised, so the
 * last link that reacted stands out. Inline CSS and SVG only: nothing is fetched.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bodydiag.h"
#include "bodydiag/dtc.h"
#include "daemon/config.h"
#include "daemon/history.h"

#define MAX_ROWS 4096
#define MAX_SERIES 32
#define SVG_W 960
#define SVG_LEFT 170
#define SVG_RIGHT 20
#define LANE_H 44
#define SVG_TOP 30

/* The trunk-release chain, in the order the links should react. */
static const char *const CHAIN[] = {
	"fob_telegram", "release_request", "actuator_command", "actuator_current", "ajar_switch",
};

struct point {
	int64_t t_us;
	double value;
	char *label;
};

struct lane {
	char name[64];
	struct point *pts;
	size_t n, cap;
};

struct dtc_row {
	char ecu[32];
	int64_t code;
	int status;
};

struct finding_row {
	char *cause, *state, *advice, *evidence;
	double confidence;
	int64_t t_us;
};

struct report {
	int64_t session, start_us, end_us;
	char vin[40], label[128];
	struct dtc_row dtcs[256];
	size_t n_dtcs;
	struct finding_row findings[256];
	size_t n_findings;
	struct lane lanes[MAX_SERIES];
	size_t n_lanes;
	int64_t t_min, t_max;
};

static void html(FILE *o, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", o); break;
		case '<': fputs("&lt;", o); break;
		case '>': fputs("&gt;", o); break;
		case '"': fputs("&quot;", o); break;
		case '\'': fputs("&#39;", o); break;
		default: fputc(*s, o);
		}
	}
}

static void fmt_time(int64_t t_us, char *buf, size_t size)
{
	time_t s = (time_t)(t_us / 1000000);
	struct tm tm;

	if (!gmtime_r(&s, &tm))
		snprintf(buf, size, "?");
	else
		strftime(buf, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static struct lane *lane_get(struct report *r, const char *name)
{
	for (size_t i = 0; i < r->n_lanes; i++)
		if (strcmp(r->lanes[i].name, name) == 0)
			return &r->lanes[i];
	if (r->n_lanes == MAX_SERIES)
		return NULL;
	struct lane *l = &r->lanes[r->n_lanes++];
	snprintf(l->name, sizeof(l->name), "%s", name);
	return l;
}

static int lane_add(struct report *r, const char *name, int64_t t_us, double value, const char *label)
{
	struct lane *l = lane_get(r, name);

	if (!l)
		return 0; /* more series than lanes: the rest stays out of the picture */
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		struct point *np = realloc(l->pts, cap * sizeof(*np));
		if (!np)
			return -ENOMEM;
		l->pts = np;
		l->cap = cap;
	}
	l->pts[l->n] = (struct point){t_us, value, label ? strdup(label) : NULL};
	l->n++;
	if (t_us < r->t_min)
		r->t_min = t_us;
	if (t_us > r->t_max)
		r->t_max = t_us;
	return 0;
}

static int on_timeline(int64_t t_us, const char *series, double value, const char *label,
		       void *userdata)
{
	return lane_add(userdata, series, t_us, value, label);
}

static int on_row(const struct history_row *row, void *userdata)
{
	struct report *r = userdata;
	char code[32] = "", text[160];

	switch (row->kind) {
	case HISTORY_KIND_SESSION:
		r->start_us = row->t_us;
		r->end_us = row->end_us;
		snprintf(r->vin, sizeof(r->vin), "%s", row->vin ? row->vin : "");
		snprintf(r->label, sizeof(r->label), "%s", row->detail ? row->detail : "");
		if (row->t_us < r->t_min)
			r->t_min = row->t_us;
		if (row->end_us > r->t_max)
			r->t_max = row->end_us;
		return 0;
	case HISTORY_KIND_DTC:
		/* The last read of each ECU/code wins. */
		for (size_t i = 0; i < r->n_dtcs; i++)
			if (r->dtcs[i].code == row->code && strcmp(r->dtcs[i].ecu, row->ecu) == 0) {
				r->dtcs[i].status = row->status;
				return 0;
			}
		if (r->n_dtcs < sizeof(r->dtcs) / sizeof(r->dtcs[0])) {
			struct dtc_row *d = &r->dtcs[r->n_dtcs++];
			snprintf(d->ecu, sizeof(d->ecu), "%s", row->ecu);
			d->code = row->code;
			d->status = row->status;
		}
		return 0;
	case HISTORY_KIND_TRANSITION:
		dtc_format((uint32_t)row->code, code, sizeof(code));
		snprintf(text, sizeof(text), "%s %s status 0x%02x", row->ecu, code, (unsigned)row->status);
		return lane_add(r, "dtc", row->t_us, NAN, text);
	case HISTORY_KIND_BUS:
		snprintf(text, sizeof(text), "%s %s%s%s", row->interface, row->event,
			 row->detail ? ": " : "", row->detail ? row->detail : "");
		return lane_add(r, "bus", row->t_us, NAN, text);
	case HISTORY_KIND_FINDING:
		if (r->n_findings < sizeof(r->findings) / sizeof(r->findings[0])) {
			struct finding_row *f = &r->findings[r->n_findings++];
			f->cause = strdup(row->cause);
			f->state = row->state ? strdup(row->state) : NULL;
			f->advice = row->advice ? strdup(row->advice) : NULL;
			f->evidence = row->evidence ? strdup(row->evidence) : NULL;
			f->confidence = row->confidence;
			f->t_us = row->t_us;
		}
		return lane_add(r, "finding", row->t_us, NAN, row->cause);
	case HISTORY_KIND_MAX:
		break;
	}
	return 0;
}

static int by_confidence(const void *a, const void *b)
{
	const struct finding_row *x = a, *y = b;
	double cx = isnan(x->confidence) ? -1 : x->confidence;
	double cy = isnan(y->confidence) ? -1 : y->confidence;

	return cx < cy ? 1 : cx > cy ? -1 : (x->t_us > y->t_us) - (x->t_us < y->t_us);
}

static int keep_id(const struct history_row *row, void *userdata)
{
	*(int64_t *)userdata = row->id;
	return 0;
}

/* The newest session (the query returns them oldest first). */
static int latest_session(struct history *h, int64_t *ret)
{
	int64_t last = 0;
	int r = history_query(h, &(struct history_filter){.kinds = 1u << HISTORY_KIND_SESSION},
			      keep_id, &last);

	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*ret = last;
	return 0;
}

static double x_of(const struct report *r, int64_t t)
{
	double span = (double)(r->t_max - r->t_min);

	return SVG_LEFT + (span > 0 ? (double)(t - r->t_min) / span : 0) *
				  (SVG_W - SVG_LEFT - SVG_RIGHT);
}

static int lane_order(const char *name)
{
	static const char *const order[] = {"fob_telegram", "release_request", "actuator_command",
					    "actuator_current", "ajar_switch", "mark"};
	static const char *const tail[] = {"dtc", "bus", "finding"};

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if (strcmp(name, order[i]) == 0)
			return (int)i;
	for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++)
		if (strcmp(name, tail[i]) == 0)
			return 1000 + (int)i;
	return 100;
}

static int cmp_lane(const void *a, const void *b)
{
	const struct lane *x = a, *y = b;
	int ox = lane_order(x->name), oy = lane_order(y->name);

	return ox != oy ? ox - oy : strcmp(x->name, y->name);
}

/* Where a value sits in its lane; pure events and constant lanes in the middle, so the
 * step line and the point markers agree. */
static double lane_y(int y0, double value, double lo, double hi)
{
	if (isnan(value) || !(hi > lo))
		return y0 + LANE_H / 2.0;
	return y0 + LANE_H - 6 - (value - lo) / (hi - lo) * (LANE_H - 12);
}

static void svg_timeline(FILE *o, struct report *r)
{
	int height = SVG_TOP + (int)r->n_lanes * LANE_H + 30;
	double span_s = (double)(r->t_max - r->t_min) / 1e6;

	qsort(r->lanes, r->n_lanes, sizeof(r->lanes[0]), cmp_lane);
	fprintf(o,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"guided test timeline\">\n",
		SVG_W, height, SVG_W, height);
	/* Time axis: about ten ticks at a round step. */
	double step = 1e-3;
	for (int k = 0; span_s / step > 10; k++)
		step *= k % 3 == 1 ? 2.5 : 2; /* 1, 2, 5, 10, 20, 50 ... ms */
	for (double t = 0; span_s > 0 && t <= span_s + 1e-9; t += step) {
		double x = x_of(r, r->t_min + (int64_t)(t * 1e6));
		fprintf(o,
			"<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
			"<text class=\"tick\" x=\"%.1f\" y=\"%d\">+%.3gs</text>\n",
			x, SVG_TOP - 8, x, height - 24, x, height - 8, t);
	}
	for (size_t i = 0; i < r->n_lanes; i++) {
		const struct lane *l = &r->lanes[i];
		int y0 = SVG_TOP + (int)i * LANE_H;
		double lo = INFINITY, hi = -INFINITY;

		fprintf(o, "<g class=\"lane\" data-series=\"");
		html(o, l->name);
		fprintf(o, "\" data-points=\"%zu\">\n<rect class=\"band%zu\" x=\"0\" y=\"%d\" width=\"%d\" "
			   "height=\"%d\"/>\n<text class=\"name\" x=\"8\" y=\"%d\">",
			l->n, i % 2, y0, SVG_W, LANE_H, y0 + LANE_H / 2 + 4);
		html(o, l->name);
		fputs("</text>\n", o);
		for (size_t k = 0; k < l->n; k++)
			if (!isnan(l->pts[k].value)) {
				lo = fmin(lo, l->pts[k].value);
				hi = fmax(hi, l->pts[k].value);
			}
		if (lo <= hi) {
			/* A step line: values hold until the next sample. */
			fputs("<polyline class=\"step\" points=\"", o);
			double prev_y = NAN;
			for (size_t k = 0; k < l->n; k++) {
				if (isnan(l->pts[k].value))
					continue;
				double x = x_of(r, l->pts[k].t_us);
				double y = lane_y(y0, l->pts[k].value, lo, hi);
				if (!isnan(prev_y))
					fprintf(o, "%.1f,%.1f ", x, prev_y);
				fprintf(o, "%.1f,%.1f ", x, y);
				prev_y = y;
			}
			if (!isnan(prev_y))
				fprintf(o, "%.1f,%.1f", x_of(r, r->t_max), prev_y);
			fputs("\"/>\n", o);
		}
		for (size_t k = 0; k < l->n; k++) {
			double x = x_of(r, l->pts[k].t_us);
			double y = lane_y(y0, l->pts[k].value, lo, hi);
			fprintf(o, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"4\"><title>+%.3f s",
				x, y, (double)(l->pts[k].t_us - r->t_min) / 1e6);
			if (!isnan(l->pts[k].value))
				fprintf(o, " = %g", l->pts[k].value);
			if (l->pts[k].label) {
				fputs(" ", o);
				html(o, l->pts[k].label);
			}
			fputs("</title></circle>\n", o);
		}
		fputs("</g>\n", o);
	}
	fputs("</svg>\n", o);
}

/*
 * When a link of the chain reacted: its first pure event or non-zero value at or after
 * the previous link's reaction (a switch that stayed 0 or a current that stayed 0 did
 * not react). INT64_MIN when it never did.
 */
static int64_t reaction(const struct report *r, const char *series, int64_t after)
{
	for (size_t k = 0; k < r->n_lanes; k++) {
		const struct lane *l = &r->lanes[k];
		if (strcmp(l->name, series) != 0)
			continue;
		for (size_t i = 0; i < l->n; i++)
			if (l->pts[i].t_us >= after && (isnan(l->pts[i].value) || l->pts[i].value != 0))
				return l->pts[i].t_us;
	}
	return INT64_MIN;
}

static bool has_lane(const struct report *r, const char *series)
{
	for (size_t k = 0; k < r->n_lanes; k++)
		if (strcmp(r->lanes[k].name, series) == 0)
			return true;
	return false;
}

/*
 * For a session whose series are the vehicle's own signal names (the daemon records the
 * signals its rules read): the lanes in the order they reacted after the first action,
 * and those that did not react at all. Which link is last is then read off the vehicle's
 * data, with no name table in this program.
 */
/* When a series changed after t: its first pure event, or first value that differs from
 * the last one before t. INT64_MIN when it did not change. */
static int64_t change_after(const struct report *r, const char *series, int64_t t)
{
	for (size_t k = 0; k < r->n_lanes; k++) {
		const struct lane *l = &r->lanes[k];
		bool have = false;
		double before = 0;
		if (strcmp(l->name, series) != 0)
			continue;
		for (size_t i = 0; i < l->n; i++) {
			if (l->pts[i].t_us < t) {
				before = l->pts[i].value;
				have = true;
				continue;
			}
			if (isnan(l->pts[i].value) || !have || l->pts[i].value != before)
				return l->pts[i].t_us;
		}
	}
	return INT64_MIN;
}

static void reaction_order(FILE *o, const struct report *r)
{
	int64_t mark = reaction(r, "mark", INT64_MIN + 1);
	struct {
		const char *name;
		int64_t t;
	} order[64];
	size_t n = 0;

	if (mark == INT64_MIN) {
		fputs("<p class=\"verdict\">No action was recorded in this session.</p>\n", o);
		return;
	}
	for (size_t k = 0; k < r->n_lanes && n < sizeof(order) / sizeof(order[0]); k++) {
		const char *name = r->lanes[k].name;
		/* the report's own lanes are not signals of the vehicle */
		if (strcmp(name, "mark") == 0 || strcmp(name, "finding") == 0 ||
		    strcmp(name, "dtc") == 0 || strcmp(name, "bus") == 0)
			continue;
		order[n].name = name;
		order[n].t = change_after(r, name, mark);
		n++;
	}
	/* insertion sort by reaction time, the ones that never reacted last */
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0; j--) {
			int64_t a = order[j - 1].t == INT64_MIN ? INT64_MAX : order[j - 1].t;
			int64_t b = order[j].t == INT64_MIN ? INT64_MAX : order[j].t;
			if (a <= b)
				break;
			__typeof__(order[0]) tmp = order[j];
			order[j] = order[j - 1];
			order[j - 1] = tmp;
		}
	fputs("<p class=\"chain\">changes after the first action: ", o);
	for (size_t i = 0; i < n; i++) {
		bool ok = order[i].t != INT64_MIN;
		fprintf(o, "%s<span class=\"%s\" data-link=\"", i ? " &rarr; " : "", ok ? "ok" : "missing");
		html(o, order[i].name);
		fputs("\">", o);
		html(o, order[i].name);
		if (ok)
			fprintf(o, " +%.0f ms &#10003;", (double)(order[i].t - mark) / 1e3);
		else
			fputs(" &#10007;", o);
		fputs("</span>", o);
	}
	fputs("</p>\n", o);
	if (n && order[0].t != INT64_MIN) {
		size_t last = 0;
		while (last + 1 < n && order[last + 1].t != INT64_MIN)
			last++;
		fputs("<p class=\"verdict\">Last to change: <b>", o);
		html(o, order[last].name);
		fputs("</b>", o);
		if (last + 1 < n) {
			fputs("; did not change: ", o);
			for (size_t i = last + 1; i < n; i++) {
				fputs(i > last + 1 ? ", <b>" : "<b>", o);
				html(o, order[i].name);
				fputs("</b>", o);
			}
		}
		fputs(".</p>\n", o);
	} else {
		fputs("<p class=\"verdict\">Nothing changed after the action.</p>\n", o);
	}
}

static void chain_summary(FILE *o, const struct report *r)
{
	int64_t after = INT64_MIN + 1;
	int last = -1;
	bool broken = false;

	bool named = false;

	for (size_t i = 0; i < sizeof(CHAIN) / sizeof(CHAIN[0]); i++)
		named = named || has_lane(r, CHAIN[i]);
	if (!named) {
		reaction_order(o, r);
		return;
	}
	fputs("<p class=\"chain\">", o);
	for (size_t i = 0; i < sizeof(CHAIN) / sizeof(CHAIN[0]); i++) {
		int64_t t = broken ? INT64_MIN : reaction(r, CHAIN[i], after);
		bool ok = t != INT64_MIN;

		if (ok) {
			last = (int)i;
			after = t;
		} else {
			broken = true;
		}
		fprintf(o, "%s<span class=\"%s\" data-link=\"%s\">%s %s</span>", i ? " &rarr; " : "",
			ok ? "ok" : "missing", CHAIN[i], CHAIN[i], ok ? "&#10003;" : "&#10007;");
	}
	fputs("</p>\n", o);
	if (last >= 0 && last + 1 < (int)(sizeof(CHAIN) / sizeof(CHAIN[0])))
		fprintf(o, "<p class=\"verdict\">Last link to react: <b>%s</b>; "
			   "<b>%s</b> never followed.</p>\n",
			CHAIN[last], CHAIN[last + 1]);
	else if (last >= 0)
		fputs("<p class=\"verdict\">Every link of the chain reacted.</p>\n", o);
	else
		fputs("<p class=\"verdict\">No link of the chain reacted.</p>\n", o);
}

static void write_html(FILE *o, struct report *r)
{
	char t0[64], t1[64];

	fmt_time(r->start_us, t0, sizeof(t0));
	fmt_time(r->end_us, t1, sizeof(t1));
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<title>bodydiag report</title>\n<style>\n"
	      "body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}\n"
	      "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.5em;border-bottom:1px solid #ccc}\n"
	      "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}\n"
	      "th.bit{writing-mode:vertical-rl;font-weight:normal;font-size:12px}\n"
	      "td.set{background:#f6c;text-align:center}td.clear{color:#bbb;text-align:center}\n"
	      ".bar{display:inline-block;height:10px;background:#36c;vertical-align:middle}\n"
	      "pre{background:#f4f4f4;padding:4px;white-space:pre-wrap;margin:0}\n"
	      ".band0{fill:#fafafa}.band1{fill:#f0f0f5}.grid{stroke:#ddd}.tick{font-size:11px;fill:#666}\n"
	      ".name{font-size:12px;fill:#222}.pt{fill:#c33}.step{fill:none;stroke:#36c;stroke-width:2}\n"
	      ".ok{color:#080}.missing{color:#c00;font-weight:bold}\n"
	      "</style></head><body>\n<h1>Body diagnosis report</h1>\n<table class=\"vehicle\">\n",
	      o);
	fputs("<tr><th>VIN</th><td>", o);
	html(o, r->vin[0] ? r->vin : "unknown");
	fprintf(o, "</td></tr>\n<tr><th>Session</th><td>%" PRId64 " ", r->session);
	html(o, r->label);
	fprintf(o, "</td></tr>\n<tr><th>Started</th><td>%s</td></tr>\n", t0);
	if (r->end_us)
		fprintf(o, "<tr><th>Ended</th><td>%s</td></tr>\n", t1);
	fputs("</table>\n<h2>Trouble codes</h2>\n", o);
	if (r->n_dtcs == 0) {
		fputs("<p>No DTCs were read in this session.</p>\n", o);
	} else {
		fputs("<table class=\"dtcs\"><tr><th>ECU</th><th>DTC</th><th>Failure type</th><th>Status</th>", o);
		for (int b = 0; b < DTC_STATUS_BIT_MAX; b++)
			fprintf(o, "<th class=\"bit\">%s</th>", dtc_status_bit_name((enum dtc_status_bit)b));
		fputs("</tr>\n", o);
		for (size_t i = 0; i < r->n_dtcs; i++) {
			char code[32];
			const char *ftb = dtc_ftb_name((uint8_t)(r->dtcs[i].code & 0xff));
			dtc_format((uint32_t)r->dtcs[i].code, code, sizeof(code));
			fputs("<tr><td>", o);
			html(o, r->dtcs[i].ecu);
			fprintf(o, "</td><td>%s</td><td>", code);
			html(o, ftb ? ftb : "manufacturer specific");
			fprintf(o, "</td><td>0x%02x</td>", (unsigned)r->dtcs[i].status);
			for (int b = 0; b < DTC_STATUS_BIT_MAX; b++) {
				bool set = r->dtcs[i].status & (1 << b);
				fprintf(o, "<td class=\"%s\">%s</td>", set ? "set" : "clear", set ? "yes" : "no");
			}
			fputs("</tr>\n", o);
		}
		fputs("</table>\n", o);
	}
	fputs("<h2>Causes, most likely first</h2>\n", o);
	qsort(r->findings, r->n_findings, sizeof(r->findings[0]), by_confidence);
	if (r->n_findings == 0) {
		fputs("<p>No findings were recorded.</p>\n", o);
	} else {
		fputs("<table class=\"causes\"><tr><th>#</th><th>Cause</th><th>Confidence</th>"
		      "<th>State</th><th>Advice</th><th>Evidence</th></tr>\n",
		      o);
		for (size_t i = 0; i < r->n_findings; i++) {
			const struct finding_row *f = &r->findings[i];
			fprintf(o, "<tr><td>%zu</td><td>", i + 1);
			html(o, f->cause);
			fputs("</td><td>", o);
			if (!isnan(f->confidence))
				fprintf(o, "<span class=\"bar\" style=\"width:%dpx\"></span> %.0f%%",
					(int)(fmax(0, fmin(1, f->confidence)) * 80), f->confidence * 100);
			fputs("</td><td>", o);
			html(o, f->state);
			fputs("</td><td>", o);
			html(o, f->advice);
			fputs("</td><td><pre>", o);
			html(o, f->evidence);
			fputs("</pre></td></tr>\n", o);
		}
		fputs("</table>\n", o);
	}
	fputs("<h2>Timeline of the guided test</h2>\n", o);
	chain_summary(o, r);
	if (r->n_lanes)
		svg_timeline(o, r);
	else
		fputs("<p>No timeline was recorded.</p>\n", o);
	fputs("</body></html>\n", o);
}

static void report_finish(struct report *r)
{
	for (size_t i = 0; i < r->n_lanes; i++) {
		for (size_t k = 0; k < r->lanes[i].n; k++)
			free(r->lanes[i].pts[k].label);
		free(r->lanes[i].pts);
	}
	for (size_t i = 0; i < r->n_findings; i++) {
		free(r->findings[i].cause);
		free(r->findings[i].state);
		free(r->findings[i].advice);
		free(r->findings[i].evidence);
	}
}

int cmd_report(int argc, char **argv)
{
	static const struct option options[] = {
		{"help", no_argument, NULL, 'h'},
		{"db", required_argument, NULL, 'd'},
		{"session", required_argument, NULL, 's'},
		{"output", required_argument, NULL, 'o'},
		{},
	};
	const char *out_path = NULL;
	char dbpath[CONFIG_MAX_STRING] = "", err[512] = "";
	struct history *h = NULL;
	struct report *rep;
	int64_t session = 0;
	char *end;
	int c, r;

	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("Usage: bodydiag report [--db PATH] [--session ID] -o report.html\n\n"
			       "One self-contained HTML page (no network access) of a session: vehicle,\n"
			       "DTCs with status bits, ranked causes with advice, SVG timeline. The\n"
			       "default session is the newest; -o - writes to stdout.\n");
			return 0;
		case 'd':
			snprintf(dbpath, sizeof(dbpath), "%s", optarg);
			break;
		case 's':
			errno = 0;
			session = strtoll(optarg, &end, 10);
			if (errno || *end || session <= 0) {
				fprintf(stderr, "bodydiag report: --session '%s': expected a positive integer\n",
					optarg);
				return 1;
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		default:
			return 1;
		}
	}
	if (!out_path || optind < argc) {
		fprintf(stderr, "Usage: bodydiag report [--db PATH] [--session ID] -o report.html\n");
		return 1;
	}
	if (!dbpath[0]) {
		struct config cfg;
		struct config_error cerr;
		if (config_load(CONFIG_DEFAULT_PATH, NULL, 0, &cfg, &cerr) < 0)
			config_init_defaults(&cfg);
		snprintf(dbpath, sizeof(dbpath), "%s", cfg.history.path);
	}
	r = history_open(dbpath, &(struct history_options){.read_only = true}, &h, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "bodydiag report: %s\n", err[0] ? err : strerror(-r));
		return 1;
	}
	if (!session && (r = latest_session(h, &session)) < 0) {
		fprintf(stderr, "bodydiag report: %s: %s\n", dbpath,
			r == -ENOENT ? "no sessions recorded" : strerror(-r));
		history_free(h);
		return 1;
	}
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		history_free(h);
		return 1;
	}
	rep->session = session;
	rep->t_min = INT64_MAX;
	rep->t_max = INT64_MIN;
	r = history_query(h, &(struct history_filter){.session = session, .limit = MAX_ROWS * 16},
			  on_row, rep);
	if (r >= 0 && rep->start_us == 0)
		r = -ENOENT;
	if (r >= 0)
		r = history_timeline(h, session, on_timeline, rep);
	history_free(h);
	if (r < 0) {
		fprintf(stderr, "bodydiag report: session %" PRId64 ": %s\n", session,
			r == -ENOENT ? "no such session" : strerror(-r));
		report_finish(rep);
		free(rep);
		return 1;
	}
	FILE *o = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "we");
	if (!o) {
		fprintf(stderr, "bodydiag report: %s: %m\n", out_path);
		report_finish(rep);
		free(rep);
		return 1;
	}
	write_html(o, rep);
	r = ferror(o) ? -EIO : 0;
	if ((o == stdout ? fflush(o) : fclose(o)) != 0)
		r = -errno;
	report_finish(rep);
	free(rep);
	if (r < 0) {
		fprintf(stderr, "bodydiag report: writing %s: %s\n", out_path, strerror(-r));
		return 1;
	}
	return 0;
}
