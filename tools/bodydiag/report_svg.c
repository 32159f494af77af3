/* SPDX-License-Identifier: MIT */
/*
 * The report's timeline as inline SVG: what the car showed during the test, drawn so
 * that it cannot mislead.
 *  - Lanes are grouped by link of the release chain (fob .. ajar, then the vehicle's
 *    state), the group named with the link's state.
 *  - A number lane has its unit and a y-axis with round ticks; every lane of one unit
 *    shares one scale (0.04 A of noise stays flat under a 3.5 A threshold, 0 V on the
 *    fuse sits far below 12.4 V on the battery).
 *  - A bool or enumeration lane names its levels by label, not by number.
 *  - The rules' thresholds on a role (the result's `thresholds`) are dashed lines on its
 *    lane; one far above everything else (a short circuit's 15 A) is left off the scale.
 *  - The person's actions are vertical marks across every lane; time is in seconds from
 *    the first action.
 * Roles that kept one value all along and tell nothing about the chain are listed under
 * the picture instead of drawn.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/numfmt.h"
#include "bodydiag/role.h"
#include "report.h"
#include "summary.h"

#define W 1000
#define LEFT 250  /* lane titles and y-axis labels */
#define RIGHT 100 /* threshold labels */
#define TOP 40	  /* action labels */
#define BOTTOM 46 /* the time axis */
#define GROUP_H 24
#define NUM_H 66
#define MAX_LEVELS 16
#define MAX_THRESHOLDS 8
#define MAX_CIRCLES 80 /* points drawn as dots; a noisy lane is a line only */

struct lane {
	const struct report_series *s;
	const struct role *role; /* NULL: not a chain role (an older session's signal) */
	int group;		 /* enum role_link; ROLE_LINK_MAX for others */
	bool number;
	const char *unit;
	double lo, hi;		   /* the data */
	double levels[MAX_LEVELS]; /* bool/enum: the values shown, ascending */
	size_t n_levels;
	double thr[MAX_THRESHOLDS]; /* on the scale */
	size_t n_thr;
	int y, h; /* place in the picture */
};

struct scale {
	const char *unit;
	double lo, hi, step;
};

struct pic {
	struct report *r;
	struct lane lanes[REPORT_MAX_SERIES];
	size_t n;
	struct scale scales[REPORT_MAX_SERIES];
	size_t n_scales;
	int64_t t_lo, t_hi, t_zero; /* wall microseconds */
	const char *zero_mark;
	int height;
};

static void num(char *buf, double v)
{
	numfmt_double_text(buf, v);
}

static double x_of(const struct pic *p, int64_t t)
{
	double span = (double)(p->t_hi - p->t_lo);
	return LEFT + (span > 0 ? (double)(t - p->t_lo) / span : 0) * (W - LEFT - RIGHT);
}

/* A round step (1, 2 or 5 times a power of ten) giving about n intervals over span. */
static double nice_step(double span, double n)
{
	double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
	return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

static const char *link_state(struct report *r, int link)
{
	json_t *l = json_array_get(json_object_get(r->result, "chain"), (size_t)link);
	const char *s = json_string_value(json_object_get(l, "state"));
	return s ? s : "";
}

/* The numbers the rules compare the role with, as stored with the result. */
static size_t thresholds(struct report *r, const char *role, double *ret, size_t max)
{
	json_t *a = json_object_get(json_object_get(r->result, "thresholds"), role), *v;
	size_t i, n = 0;
	json_array_foreach(a, i, v) if (n < max && json_is_number(v)) ret[n++] =
	    json_number_value(v);
	return n;
}

static bool value_in(const double *v, size_t n, double x)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];
			v[j] = v[j - 1];
			v[j - 1] = t;
		}
}

/* Whether a lane is drawn: it changed, or it belongs to a link of the chain and is what
 * that link is judged by (a body event, or a measured number: the fuse's 0 V). */
static bool drawn(const struct lane *l, bool steady)
{
	if (!steady || !l->role)
		return true; /* what changed, and an older session's signals, as they were */
	return l->role && l->role->link != ROLE_LINK_CONTEXT &&
	       (l->role->body_event || l->role->kind == ROLE_KIND_NUMBER);
}

static void collect(struct pic *p, FILE *o)
{
	struct report *r = p->r;
	bool first_steady = true;

	for (size_t i = 0; i < r->n_series; i++) {
		const struct report_series *s = &r->series[i];
		struct lane *l = &p->lanes[p->n];
		unsigned ri;
		size_t distinct = 0;
		double vals[MAX_LEVELS];

		if (!strcmp(s->name, "mark") || !s->n)
			continue;
		*l = (struct lane){.s = s, .lo = INFINITY, .hi = -INFINITY};
		l->role = role_find(s->name, strlen(s->name), &ri) == 0 ? role_at(ri) : NULL;
		l->group = l->role ? (int)l->role->link : ROLE_LINK_MAX;
		l->number = !l->role || l->role->kind == ROLE_KIND_NUMBER;
		l->unit = l->role ? l->role->unit : "";
		for (size_t k = 0; k < s->n; k++) {
			double v = s->pts[k].value;
			if (isnan(v))
				continue;
			l->lo = fmin(l->lo, v);
			l->hi = fmax(l->hi, v);
			if (distinct < MAX_LEVELS && !value_in(vals, distinct, v))
				vals[distinct++] = v;
		}
		if (!(l->lo <= l->hi))
			continue;
		if (!drawn(l, distinct == 1)) {
			/* one value all along, and not a link's own: said in words */
			char v[64];
			role_value_format(l->role, l->lo, v, sizeof(v));
			fputs(first_steady ? "<p class=\"steady\">Unchanged during the test: "
					   : "; ",
			      o);
			first_steady = false;
			report_html_text(o, l->role->title);
			fputs(" ", o);
			report_html_text(o, v);
			continue;
		}
		if (!l->number) {
			if (l->role->kind == ROLE_KIND_BOOL) {
				/* both states, so "closed" all along reads as not "open" */
				vals[0] = 0;
				vals[1] = 1;
				distinct = 2;
			}
			memcpy(l->levels, vals, distinct * sizeof(double));
			l->n_levels = distinct;
			sort(l->levels, l->n_levels);
		}
		p->n++;
	}
	if (!first_steady)
		fputs(".</p>\n", o);
	/* group order: the chain's links, then the vehicle's state, then the rest; inside a
	 * group the recorded order */
	for (size_t i = 1; i < p->n; i++)
		for (size_t j = i; j > 0 && p->lanes[j - 1].group > p->lanes[j].group; j--) {
			struct lane t = p->lanes[j];
			p->lanes[j] = p->lanes[j - 1];
			p->lanes[j - 1] = t;
		}
}

static struct scale *scale_of(struct pic *p, const char *unit)
{
	for (size_t i = 0; i < p->n_scales; i++)
		if (!strcmp(p->scales[i].unit, unit))
			return &p->scales[i];
	struct scale *s = &p->scales[p->n_scales++];
	*s = (struct scale){.unit = unit, .lo = 0, .hi = 0}; /* 0 is always on the scale */
	return s;
}

/* One scale per unit over its lanes' data and the thresholds kept; 0 always on it. */
static void scales(struct pic *p)
{
	/* the data of each unit first */
	for (size_t i = 0; i < p->n; i++) {
		struct lane *l = &p->lanes[i];
		if (!l->number)
			continue;
		struct scale *s = scale_of(p, l->unit);
		s->lo = fmin(s->lo, l->lo);
		s->hi = fmax(s->hi, l->hi);
	}
	/* then the thresholds: all of them, but the highest ones while each is more than
	 * twice the next one down and the unit's data (a short circuit's 15 A would squash
	 * the 3.5 A that tells a working actuator from noise) */
	for (size_t i = 0; i < p->n; i++) {
		struct lane *l = &p->lanes[i];
		if (!l->number || !l->role)
			continue;
		struct scale *s = scale_of(p, l->unit);
		size_t n = thresholds(p->r, l->role->name, l->thr, MAX_THRESHOLDS);
		n = n < MAX_THRESHOLDS ? n : MAX_THRESHOLDS;
		while (n > 1 && l->thr[n - 1] > 2 * fmax(l->thr[n - 2], s->hi))
			n--;
		l->n_thr = n;
	}
	for (size_t i = 0; i < p->n; i++)
		for (size_t k = 0; k < p->lanes[i].n_thr; k++) {
			struct scale *s = scale_of(p, p->lanes[i].unit);
			s->lo = fmin(s->lo, p->lanes[i].thr[k]);
			s->hi = fmax(s->hi, p->lanes[i].thr[k]);
		}
	for (size_t i = 0; i < p->n_scales; i++) {
		struct scale *s = &p->scales[i];
		if (!(s->hi > s->lo))
			s->hi = s->lo + 1;
		s->step = nice_step(s->hi - s->lo, 3);
		s->lo = floor(s->lo / s->step) * s->step;
		s->hi = ceil(s->hi / s->step - 1e-9) * s->step;
	}
}

static double y_value(const struct lane *l, const struct scale *s, double v)
{
	double top = l->y + 8, bottom = l->y + l->h - 8;
	if (l->number)
		return bottom - (v - s->lo) / (s->hi - s->lo) * (bottom - top);
	size_t k = 0;
	while (k + 1 < l->n_levels && l->levels[k] < v)
		k++;
	if (l->n_levels < 2)
		return (top + bottom) / 2;
	return bottom - (double)k / (double)(l->n_levels - 1) * (bottom - top);
}

static void layout(struct pic *p)
{
	int y = TOP, group = -1;
	for (size_t i = 0; i < p->n; i++) {
		struct lane *l = &p->lanes[i];
		if (l->group != group) {
			group = l->group;
			y += GROUP_H;
		}
		l->y = y;
		l->h =
		    l->number ? NUM_H : (int)(l->n_levels > 1 ? 14 * (l->n_levels - 1) + 28 : 42);
		if (l->h < 42)
			l->h = 42; /* the title and the unit, one under the other */
		y += l->h;
	}
	p->height = y + BOTTOM;
}

static void group_header(FILE *o, struct pic *p, int group, int y)
{
	const char *state = group < ROLE_LINK_CONTEXT ? link_state(p->r, group) : "";
	const char *cls = !strcmp(state, "working")   ? "g-working"
			  : !strcmp(state, "failing") ? "g-failing"
						      : "g-other";
	fprintf(o, "<text class=\"group %s\" x=\"6\" y=\"%d\">", cls, y + 16);
	if (group < ROLE_LINK_CONTEXT) {
		report_html_text(o, summary_link_label(role_link_name((enum role_link)group)));
		if (*state) {
			fputs(" \xe2\x80\x94 ", o); /* em dash */
			report_html_text(o, summary_link_state(state));
		}
	} else {
		fputs(group == ROLE_LINK_CONTEXT ? "Vehicle state" : "Other signals", o);
	}
	fprintf(o, "</text><line class=\"grid\" x1=\"0\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", y + 22,
		W, y + 22);
}

static void lane_axis(FILE *o, const struct lane *l, const struct scale *s)
{
	char a[NUMFMT_DOUBLE_MAX];
	fprintf(o, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", LEFT,
		l->y + 4, LEFT, l->y + l->h - 4);
	if (l->number) {
		for (double v = s->lo; v <= s->hi + s->step * 1e-6; v += s->step) {
			double y = y_value(l, s, v);
			num(a, fabs(v) < s->step * 1e-9 ? 0 : v);
			fprintf(o,
				"<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
				"<text class=\"tick\" x=\"%d\" y=\"%.1f\" "
				"text-anchor=\"end\">%s%s%s</text>\n",
				LEFT, y, W - RIGHT, y, LEFT - 6, y + 4, a, *l->unit ? " " : "",
				l->unit);
		}
		return;
	}
	for (size_t k = 0; k < l->n_levels; k++) {
		double y = y_value(l, s, l->levels[k]);
		const char *label = l->role ? role_label(l->role, l->levels[k]) : NULL;
		char words[64];
		fprintf(o,
			"<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
			"<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">",
			LEFT, y, W - RIGHT, y, LEFT - 6, y + 4);
		if (label) {
			summary_words(label, words, sizeof(words));
			report_html_text(o, words);
		} else {
			num(a, l->levels[k]);
			fputs(a, o);
		}
		fputs("</text>\n", o);
	}
}

static void lane(FILE *o, struct pic *p, const struct lane *l, size_t index)
{
	struct scale *s = l->number ? scale_of(p, l->unit) : NULL;
	const char *unit = l->number ? (*l->unit ? l->unit : "number") : "state";
	char a[NUMFMT_DOUBLE_MAX];

	fprintf(o, "<g class=\"lane\" data-series=\"");
	report_html_text(o, l->s->name);
	fprintf(o, "\" data-unit=\"%s\" data-points=\"%zu\">\n", unit, l->s->n);
	if (index % 2 == 0)
		fprintf(o, "<rect class=\"band\" x=\"0\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n",
			l->y, W, l->h);
	fprintf(o, "<text class=\"name\" x=\"14\" y=\"%d\">", l->y + 18);
	report_html_text(o, l->role ? l->role->title : l->s->name);
	fprintf(o, "</text><text class=\"unit\" x=\"14\" y=\"%d\">%s</text>\n", l->y + 33, unit);
	lane_axis(o, l, s);
	/* thresholds: a dashed line each; one label for those a few pixels apart */
	for (size_t k = 0; k < l->n_thr;) {
		double y = y_value(l, s, l->thr[k]);
		size_t j = k;
		fputs("<text class=\"thrlabel\" x=\"", o);
		fprintf(o, "%d\" y=\"%.1f\">", W - RIGHT + 3, y + 3);
		for (; j < l->n_thr && y - y_value(l, s, l->thr[j]) < 11; j++) {
			num(a, l->thr[j]);
			fprintf(o, "%s%s", j > k ? ", " : "", a);
		}
		fprintf(o, " %s</text>\n", l->unit);
		for (; k < j; k++) {
			double yk = y_value(l, s, l->thr[k]);
			fprintf(
			    o,
			    "<line class=\"thr\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n",
			    LEFT, yk, W - RIGHT, yk);
		}
	}
	/* a step line: a value holds until the next sample, and to the end of the test */
	fputs("<polyline class=\"step\" points=\"", o);
	double prev = NAN;
	for (size_t k = 0; k < l->s->n; k++) {
		const struct report_point *pt = &l->s->pts[k];
		if (isnan(pt->value))
			continue;
		double x = x_of(p, pt->t_us), y = y_value(l, s, pt->value);
		if (!isnan(prev))
			fprintf(o, "%.1f,%.1f ", x, prev);
		fprintf(o, "%.1f,%.1f ", x, y);
		prev = y;
	}
	if (!isnan(prev))
		fprintf(o, "%.1f,%.1f", x_of(p, p->t_hi), prev);
	fputs("\"/>\n", o);
	for (size_t k = 0; l->s->n <= MAX_CIRCLES && k < l->s->n; k++) {
		const struct report_point *pt = &l->s->pts[k];
		char v[64], t[32];
		if (isnan(pt->value))
			continue;
		if (l->role)
			role_value_format(l->role, pt->value, v, sizeof(v));
		else
			num(v, pt->value);
		summary_seconds((double)(pt->t_us - p->t_zero) / 1e6, t, sizeof(t));
		fprintf(o, "<circle class=\"pt\" cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\"><title>%s: ",
			x_of(p, pt->t_us), y_value(l, s, pt->value), t);
		report_html_text(o, v);
		fputs("</title></circle>\n", o);
	}
	fputs("</g>\n", o);
}

static void time_axis(FILE *o, struct pic *p)
{
	double lo = (double)(p->t_lo - p->t_zero) / 1e6, hi = (double)(p->t_hi - p->t_zero) / 1e6;
	double step = nice_step(hi - lo > 0 ? hi - lo : 1, 10);
	int y = p->height - BOTTOM;
	char a[40];

	fprintf(
	    o, "<g class=\"time\"><line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
	    LEFT, y, W - RIGHT, y);
	for (double t = ceil(lo / step) * step; t <= hi + step * 1e-6; t += step) {
		double x = x_of(p, p->t_zero + (int64_t)llround(t * 1e6));
		num(a, fabs(t) < step * 1e-9 ? 0 : t);
		fprintf(
		    o,
		    "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
		    "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
		    x, TOP, x, y + 4, x, y + 17, a);
	}
	fprintf(o, "<text class=\"unit\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
		(LEFT + W - RIGHT) / 2, y + 36);
	if (p->zero_mark) {
		char words[96], t[32];
		summary_words(p->zero_mark, words, sizeof(words));
		summary_seconds((double)(p->t_zero - p->r->start_us) / 1e6, t, sizeof(t));
		fputs("seconds from the first action (", o);
		report_html_text(o, words);
		fprintf(o, ", %s after the test began)", t);
	} else {
		fputs("seconds from the start of the test (no action was recorded)", o);
	}
	fputs("</text></g>\n", o);
}

static void marks(FILE *o, struct pic *p)
{
	const struct report_series *m = NULL;
	for (size_t i = 0; i < p->r->n_series; i++)
		if (!strcmp(p->r->series[i].name, "mark"))
			m = &p->r->series[i];
	for (size_t k = 0; m && k < m->n; k++) {
		double x = x_of(p, m->pts[k].t_us);
		char words[96], t[32];
		summary_words(m->pts[k].label ? m->pts[k].label : "action", words, sizeof(words));
		summary_seconds((double)(m->pts[k].t_us - p->t_zero) / 1e6, t, sizeof(t));
		fprintf(
		    o,
		    "<g class=\"action\"><line class=\"mark\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" "
		    "y2=\"%d\"/><text class=\"marklabel\" x=\"%.1f\" y=\"%d\">",
		    x, TOP - 14 + (int)(k % 2) * 12, x, p->height - BOTTOM, x + 3,
		    TOP - 16 + (int)(k % 2) * 12);
		report_html_text(o, words);
		fprintf(o, " (%s)</text></g>\n", t);
	}
}

void report_write_svg(FILE *o, struct report *r)
{
	struct pic *p = calloc(1, sizeof(*p));
	if (!p) {
		fputs("<p>The timeline could not be drawn: out of memory.</p>\n", o);
		return;
	}
	p->r = r;
	p->t_lo = r->start_us;
	p->t_hi = r->end_us > r->start_us ? r->end_us : r->start_us;
	p->t_zero = INT64_MAX;
	for (size_t i = 0; i < r->n_series; i++)
		for (size_t k = 0; k < r->series[i].n; k++) {
			const struct report_point *pt = &r->series[i].pts[k];
			if (pt->t_us < p->t_lo)
				p->t_lo = pt->t_us;
			if (pt->t_us > p->t_hi)
				p->t_hi = pt->t_us;
			if (!strcmp(r->series[i].name, "mark") && pt->t_us < p->t_zero) {
				p->t_zero = pt->t_us;
				p->zero_mark = pt->label;
			}
		}
	if (p->t_zero == INT64_MAX)
		p->t_zero = r->start_us;

	fputs("<div class=\"scroll\">\n", o);
	/* the steady values come first in the stream but are said after the picture */
	char *steady = NULL;
	size_t steady_len = 0;
	FILE *words = open_memstream(&steady, &steady_len);
	collect(p, words ? words : o);
	if (words)
		fclose(words);
	scales(p);
	layout(p);
	fprintf(
	    o,
	    "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"timeline\" viewBox=\"0 0 %d %d\" "
	    "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"what the car showed during the "
	    "test, lane by lane\">\n",
	    W, p->height, W, p->height);
	time_axis(o, p);
	int group = -1;
	for (size_t i = 0; i < p->n; i++) {
		if (p->lanes[i].group != group) {
			group = p->lanes[i].group;
			group_header(o, p, group, p->lanes[i].y - GROUP_H);
		}
		lane(o, p, &p->lanes[i], i);
	}
	marks(o, p);
	fputs("</svg>\n</div>\n", o);
	if (steady)
		fputs(steady, o);
	free(steady);
	free(p);
}
