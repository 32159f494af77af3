/* SPDX-License-Identifier: MIT */
/*
 * bodydiag changes (--dbc F | --profile P | --vehicle NAME) [--marks FILE] [--window S]
 *                  [--limit N] [--json] [--strict] CAPTURE.log|-
 *
 * The tool for mapping a car of one's own (docs/vehicle-profiles.md): which decoded
 * signals changed around each thing the person did (the marks), ranked by how much
 * their changes gather at the mark against the rest of the capture; without marks, every
 * signal that changed in the capture, the rarest changes first (a door opened once is
 * a body event; a rolling counter changes in every frame). With a profile, the signals
 * it already maps say which role they feed.
 *
 * Memory: per signal a few counters and a ring of its last RING changes (what a mark
 * looks back at); per open mark one entry per signal, folded into the changed ones when
 * its window closes. Nothing grows with the length of the capture.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "summary.h"
#include "bodydiag/dbc.h"
#include "bodydiag/numfmt.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "capture.h"
#include "out.h"
#include "vehicle.h"

#define RING 8u		    /* last changes kept per signal: a mark looks back this far */
#define MAX_VALUES 6u	    /* distinct values listed per signal; beyond: a range */
#define MAX_OPEN_MARKS 64u  /* marks whose windows overlap at one time */
#define DEFAULT_WINDOW_US 1500000
#define DEFAULT_LIMIT 15u

struct change {
	int64_t t;
	double from, to;
	bool in_window; /* counted in some mark's window */
};

struct sig {
	const struct dbc_message *m;
	const struct dbc_signal *s;
	const char *role; /* the role a profile maps it to, or NULL */
	bool have;
	double last;
	unsigned changes;
	unsigned in_windows; /* changes inside some mark's window */
	double min, max;
	double values[MAX_VALUES];
	unsigned n_values;
	bool many_values;
	struct change ring[RING];
	unsigned ring_n; /* changes in the ring, at most RING; newest at (head - 1) */
	unsigned head;
};

/* One signal's changes in one mark's window. */
struct hit {
	uint32_t sig;
	unsigned n;	 /* changes in the window */
	struct change near; /* the one nearest the mark */
	double before, after; /* values at the window's start and end */
	bool has_before;
	double score;
};

struct mark {
	int64_t t;
	char *name;
	struct hit *dense; /* per signal while the window is open, else NULL */
	struct hit *hits;  /* the changed ones once closed */
	size_t n_hits;
};

struct msg_index {
	const struct dbc_message *m;
	uint32_t base; /* its first signal's index in sigs */
};

struct changes {
	struct vehicle_data v;
	struct dbc *dbc_only; /* --dbc without a profile */
	const struct dbc *db;
	const char *capture;
	int64_t window_us;
	struct sig *sigs;
	size_t n_sigs;
	struct msg_index *msgs; /* sorted by message pointer */
	size_t n_msgs;
	struct dbc_sample *samples;
	size_t cap_samples;
	struct mark *marks;
	size_t n_marks, cap_marks;
	size_t first_open; /* marks before it are closed */
	unsigned frames, decoded;
	int64_t start, end;
	bool any_frame;
	int64_t marked_us; /* the union of the marks' windows, within the capture */
	struct capture_result cr;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag changes (--dbc FILE | --profile FILE | --vehicle NAME) [--marks FILE]\n"
		"                        [--window SECONDS] [--limit N] [--json] [--strict] CAPTURE.log|-\n"
		"Which decoded signals changed around each mark (what the person did), ranked by how\n"
		"much their changes gather at the mark; without marks, every signal that changed,\n"
		"the rarest changes first. Use it to find a car's own fob, lock, door and trunk\n"
		"signals (docs/vehicle-profiles.md).\n"
		"  --dbc FILE        the DBC to decode with (alone, or instead of the profile's own)\n"
		"  --profile FILE    a vehicle profile: its DBC, and the roles it already maps\n"
		"  --vehicle NAME    a profile installed in the data directory ('sim': bodydiag-sim)\n"
		"  --marks FILE      'SECONDS.MICROS mark NAME' per line; '# mark SECONDS.MICROS NAME'\n"
		"                    lines of the capture count too\n"
		"  --window SECONDS  how far before and after a mark to look (default 1.5)\n"
		"  --limit N         signals listed per mark or for the capture (default %u; 0 = all)\n"
		"  --json            one JSON object for machines\n"
		"  --strict          stop at the first malformed capture line\n",
		DEFAULT_LIMIT);
}

static int msg_cmp(const void *a, const void *b)
{
	const struct msg_index *x = a, *y = b;
	return x->m < y->m ? -1 : x->m > y->m;
}

static int setup(struct changes *c)
{
	size_t nm = dbc_message_count(c->db), ns = 0, maxs = 1;
	for (size_t i = 0; i < nm; i++) {
		const struct dbc_message *m = dbc_message_at(c->db, i);
		ns += dbc_message_signal_count(m);
		if (dbc_message_max_samples(m) > maxs)
			maxs = dbc_message_max_samples(m);
	}
	c->sigs = calloc(ns ? ns : 1, sizeof(*c->sigs));
	c->msgs = calloc(nm ? nm : 1, sizeof(*c->msgs));
	c->samples = calloc(maxs, sizeof(*c->samples));
	if (!c->sigs || !c->msgs || !c->samples)
		return -ENOMEM;
	c->cap_samples = maxs;
	for (size_t i = 0; i < nm; i++) {
		const struct dbc_message *m = dbc_message_at(c->db, i);
		c->msgs[i] = (struct msg_index){.m = m, .base = (uint32_t)c->n_sigs};
		for (size_t k = 0; k < dbc_message_signal_count(m); k++)
			c->sigs[c->n_sigs++] = (struct sig){.m = m, .s = dbc_message_signal_at(m, k)};
	}
	c->n_msgs = nm;
	qsort(c->msgs, nm, sizeof(*c->msgs), msg_cmp);
	return 0;
}

static struct sig *find_sig(struct changes *c, const struct dbc_message *m,
			    const struct dbc_signal *s)
{
	struct msg_index key = {.m = m};
	const struct msg_index *mi = bsearch(&key, c->msgs, c->n_msgs, sizeof(key), msg_cmp);
	if (!mi)
		return NULL;
	for (size_t k = 0; k < dbc_message_signal_count(m); k++)
		if (dbc_message_signal_at(m, k) == s)
			return &c->sigs[mi->base + k];
	return NULL;
}

/* The roles a profile already maps, beside their signals. */
static void annotate_roles(struct changes *c)
{
	const struct profile *p = c->v.profile;
	for (size_t i = 0; p && i < profile_role_count(p); i++) {
		const struct profile_role *pr = profile_role_at(p, i);
		if (pr->from != PROFILE_ROLE_FROM_DBC)
			continue;
		const struct dbc_message *m = dbc_find_message_by_name(c->db, pr->message);
		if (!m) {
			char *end;
			unsigned long id = strtoul(pr->message, &end, 0);
			m = *end ? NULL : dbc_find_message(c->db, (uint32_t)id, id > 0x7FF);
		}
		const struct dbc_signal *s = m ? dbc_message_find_signal(m, pr->signal) : NULL;
		struct sig *g = s ? find_sig(c, m, s) : NULL;
		if (g && !g->role)
			g->role = role_at(pr->role)->name;
	}
}

/* ---- reading ---------------------------------------------------------------------- */

static void close_mark(struct changes *c, struct mark *mk)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n_sigs; i++) {
		struct hit *h = &mk->dense[i];
		if (!h->n)
			continue;
		h->sig = (uint32_t)i;
		h->after = c->sigs[i].last;
		mk->dense[n++] = *h;
	}
	struct hit *hits = n ? realloc(mk->dense, n * sizeof(*hits)) : NULL;
	if (n && !hits)
		hits = mk->dense; /* shrinking failed: keep the larger block */
	else if (!n)
		free(mk->dense);
	mk->hits = hits;
	mk->n_hits = n;
	mk->dense = NULL;
}

/* Closes the windows that end before t. */
static void close_until(struct changes *c, int64_t t)
{
	while (c->first_open < c->n_marks && c->marks[c->first_open].t + c->window_us < t)
		close_mark(c, &c->marks[c->first_open++]);
}

static int on_mark(void *userdata, int64_t t_us, const char *name, const char *file,
		   unsigned line)
{
	struct changes *c = userdata;
	(void)file;
	(void)line;
	close_until(c, t_us);
	if (c->n_marks - c->first_open >= MAX_OPEN_MARKS) {
		fprintf(stderr, "%s:%u: error: more than %u marks within %.3f s of each other\n",
			file, line, MAX_OPEN_MARKS, (double)c->window_us / 1e6);
		return -E2BIG;
	}
	if (c->n_marks == c->cap_marks) {
		size_t cap = c->cap_marks ? c->cap_marks * 2 : 16;
		struct mark *m = realloc(c->marks, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		c->marks = m;
		c->cap_marks = cap;
	}
	struct mark *mk = &c->marks[c->n_marks];
	*mk = (struct mark){.t = t_us, .name = strdup(name)};
	mk->dense = calloc(c->n_sigs ? c->n_sigs : 1, sizeof(*mk->dense));
	if (!mk->name || !mk->dense) {
		free(mk->name);
		free(mk->dense);
		return -ENOMEM;
	}
	c->n_marks++;
	/* the window reaches back: the changes of the ring since t - window */
	for (size_t i = 0; i < c->n_sigs; i++) {
		const struct sig *g = &c->sigs[i];
		struct hit *h = &mk->dense[i];
		h->has_before = g->have;
		h->before = g->last;
		for (unsigned k = 0; k < g->ring_n; k++) {
			struct change *ch = &c->sigs[i].ring[(g->head + RING - 1 - k) % RING];
			if (ch->t < t_us - c->window_us)
				break;
			if (!ch->in_window) {
				ch->in_window = true;
				c->sigs[i].in_windows++;
			}
			if (!h->n++)
				h->near = *ch; /* the newest: nearest the mark */
			h->before = ch->from;
		}
	}
	return 0;
}

static void note_value(struct sig *g, double v)
{
	if (g->many_values)
		return;
	for (unsigned i = 0; i < g->n_values; i++)
		if (g->values[i] == v)
			return;
	if (g->n_values < MAX_VALUES)
		g->values[g->n_values++] = v;
	else
		g->many_values = true;
}

static void on_change(struct changes *c, size_t i, int64_t t, double from, double to)
{
	struct sig *g = &c->sigs[i];
	struct change ch = {.t = t, .from = from, .to = to, .in_window = c->first_open < c->n_marks};
	g->changes++;
	g->in_windows += ch.in_window;
	g->ring[g->head] = ch;
	g->head = (g->head + 1) % RING;
	if (g->ring_n < RING)
		g->ring_n++;
	for (size_t k = c->first_open; k < c->n_marks; k++) {
		struct hit *h = &c->marks[k].dense[i];
		int64_t mt = c->marks[k].t;
		if (!h->n++ || llabs(t - mt) < llabs(h->near.t - mt))
			h->near = ch;
	}
}

static int on_frame(void *userdata, const struct bd_timed_frame *tf)
{
	struct changes *c = userdata;
	const struct bd_frame *f = &tf->frame;
	int64_t t = tf->t_us;

	if (!c->any_frame || t < c->start)
		c->start = t;
	if (!c->any_frame || t > c->end)
		c->end = t;
	c->any_frame = true;
	c->frames++;
	close_until(c, t);
	if (f->flags & (BD_FRAME_ERR | BD_FRAME_RTR))
		return 0;
	const struct dbc_message *m = dbc_find_message(c->db, f->id, f->flags & BD_FRAME_EXT);
	if (!m)
		return 0;
	int n = dbc_decode(m, f->data, f->len, c->samples, c->cap_samples, NULL);
	if (n <= 0)
		return 0;
	c->decoded++;
	struct msg_index key = {.m = m};
	const struct msg_index *mi = bsearch(&key, c->msgs, c->n_msgs, sizeof(key), msg_cmp);
	for (int k = 0; mi && k < n; k++) {
		size_t sc = dbc_message_signal_count(m), idx = sc;
		for (size_t j = 0; j < sc; j++)
			if (dbc_message_signal_at(m, j) == c->samples[k].signal) {
				idx = j;
				break;
			}
		if (idx == sc)
			continue;
		size_t i = mi->base + idx;
		struct sig *g = &c->sigs[i];
		double v = dbc_value_as_double(c->samples[k].value);
		if (isnan(v))
			continue;
		if (!g->have) {
			g->have = true;
			g->min = g->max = v;
		} else if (v != g->last) {
			on_change(c, i, t, g->last, v);
		}
		g->last = v;
		if (v < g->min)
			g->min = v;
		if (v > g->max)
			g->max = v;
		note_value(g, v);
	}
	return 0;
}

/* ---- ranking ---------------------------------------------------------------------- */

/* The time the marks' windows cover within the capture (their union). */
static int64_t marked_time(const struct changes *c)
{
	int64_t total = 0, lo = INT64_MIN, hi = INT64_MIN;
	for (size_t k = 0; k <= c->n_marks; k++) {
		int64_t a = k < c->n_marks ? c->marks[k].t - c->window_us : INT64_MAX;
		int64_t b = k < c->n_marks ? c->marks[k].t + c->window_us : INT64_MAX;
		if (a > hi) {
			if (hi > lo) {
				int64_t x = lo > c->start ? lo : c->start, y = hi < c->end ? hi : c->end;
				total += y > x ? y - x : 0;
			}
			lo = a;
		}
		if (b > hi)
			hi = b;
	}
	return total;
}

/*
 * How much a signal's changes gather at a mark: its rate of change in the mark's window
 * over its rate away from every mark (one change added there, so a signal that changes
 * only at marks still has a finite score; the count in the window weighs in
 * logarithmically). A door opened at the mark scores high, a
 * rolling counter about 1 or below.
 */
static double score(const struct changes *c, const struct hit *h)
{
	const struct sig *g = &c->sigs[h->sig];
	double win = 2.0 * (double)c->window_us / 1e6;
	double away = (double)(c->end - c->start - c->marked_us) / 1e6;
	if (away < win)
		away = win; /* a short capture, mostly marked: no better reference */
	double away_n = g->changes - g->in_windows;
	/* a press is one or two changes, an analog value jitters through dozens: the count
	 * weighs in logarithmically, so a button is not buried under a voltage */
	return ((1.0 + log2((double)h->n)) / win) / ((away_n + 1.0) / away);
}

static const struct changes *sort_ctx; /* qsort has no userdata */

static int hit_cmp(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;
	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return x->sig < y->sig ? -1 : x->sig > y->sig;
}

static int sig_cmp(const void *a, const void *b)
{
	const struct sig *x = &sort_ctx->sigs[*(const uint32_t *)a];
	const struct sig *y = &sort_ctx->sigs[*(const uint32_t *)b];
	if (x->changes != y->changes)
		return x->changes < y->changes ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

/* ---- output ----------------------------------------------------------------------- */

/* A value as its VAL_ label when it has one, else the number and unit. */
static void fmt_value(const struct sig *g, double v, char *buf, size_t size)
{
	double f = dbc_signal_factor(g->s);
	const char *label = NULL;
	if (f != 0 && dbc_signal_choice_count(g->s)) {
		double raw = (v - dbc_signal_offset(g->s)) / f;
		if (fabs(raw - nearbyint(raw)) < 1e-6 && fabs(raw) < 9.2e18)
			label = dbc_signal_choice_label(g->s, (int64_t)nearbyint(raw));
	}
	char num[NUMFMT_DOUBLE_MAX];
	numfmt_double_text(num, v);
	if (label)
		snprintf(buf, size, "%s", label);
	else if (dbc_signal_unit(g->s)[0])
		snprintf(buf, size, "%s %s", num, dbc_signal_unit(g->s));
	else
		snprintf(buf, size, "%s", num);
}

static double rel(const struct changes *c, int64_t t)
{
	return (double)(t - c->start) / 1e6;
}

static void text_name(struct out *o, const struct sig *g)
{
	char name[300];
	snprintf(name, sizeof(name), "%s.%s", dbc_message_name(g->m), dbc_signal_name(g->s));
	out_printf(o, "%-44s", name);
}

static void text_values(struct out *o, const struct sig *g)
{
	char v[128];
	if (g->many_values) {
		char a[64], b[64];
		fmt_value(g, g->min, a, sizeof(a));
		fmt_value(g, g->max, b, sizeof(b));
		out_printf(o, "%s .. %s", a, b);
		return;
	}
	for (unsigned i = 0; i < g->n_values; i++) {
		fmt_value(g, g->values[i], v, sizeof(v));
		out_printf(o, "%s%s", i ? ", " : "", v);
	}
}

static void print_text(struct changes *c, struct out *o, unsigned limit, const uint32_t *order,
		       size_t n_changed)
{
	char a[64], b[64];
	out_printf(o, "%s: %u frames (%u decoded), %zu marks, %.3f s; %zu signals, %zu changed\n",
		   c->capture, c->frames, c->decoded, c->n_marks, rel(c, c->end), c->n_sigs,
		   n_changed);
	summary_clock_line(o, "the capture", c->start);
	for (size_t k = 0; k < c->n_marks; k++) {
		const struct mark *mk = &c->marks[k];
		out_printf(o, "\naround mark %s at %+.3f s (window +-%.3f s):\n", mk->name,
			   rel(c, mk->t), (double)c->window_us / 1e6);
		if (!mk->n_hits)
			out_str(o, "  no decoded signal changed\n");
		for (size_t j = 0; j < mk->n_hits && (!limit || j < limit); j++) {
			const struct hit *h = &mk->hits[j];
			const struct sig *g = &c->sigs[h->sig];
			out_printf(o, "  %7.1f  ", h->score);
			text_name(o, g);
			fmt_value(g, h->near.from, a, sizeof(a));
			fmt_value(g, h->near.to, b, sizeof(b));
			out_printf(o, " %s -> %s at %+.3f s", a, b, (double)(h->near.t - mk->t) / 1e6);
			out_printf(o, ", %u change%s here, %u in all", h->n, h->n == 1 ? "" : "s",
				   g->changes);
			if (h->has_before && h->before != h->after) {
				fmt_value(g, h->before, a, sizeof(a));
				fmt_value(g, h->after, b, sizeof(b));
				out_printf(o, "; stays %s (was %s)", b, a);
			}
			if (g->role)
				out_printf(o, "  [role %s]", g->role);
			out_char(o, '\n');
		}
		if (limit && mk->n_hits > limit)
			out_printf(o, "  ... %zu more (--limit 0 lists all)\n", mk->n_hits - limit);
	}
	out_str(o, c->n_marks ? "\nsignals that changed in the whole capture, the rarest first:\n"
			      : "\nsignals that changed, the rarest first (give marks to rank them "
				"by what you did):\n");
	for (size_t j = 0; j < n_changed && (!limit || j < limit); j++) {
		const struct sig *g = &c->sigs[order[j]];
		out_printf(o, "  %6u  ", g->changes);
		text_name(o, g);
		out_char(o, ' ');
		text_values(o, g);
		if (g->changes <= RING) {
			out_str(o, "; at");
			for (unsigned k = 0; k < g->ring_n && k < 4; k++) {
				const struct change *ch = &g->ring[(g->head + RING - g->ring_n + k) % RING];
				fmt_value(g, ch->to, a, sizeof(a));
				out_printf(o, "%s %+.3f s -> %s", k ? "," : "", rel(c, ch->t), a);
			}
			if (g->ring_n > 4)
				out_str(o, ", ...");
		}
		if (g->role)
			out_printf(o, "  [role %s]", g->role);
		out_char(o, '\n');
	}
	if (limit && n_changed > limit)
		out_printf(o, "  ... %zu more (--limit 0 lists all)\n", n_changed - limit);
}

static void json_value(struct out *o, const struct sig *g, double v)
{
	char buf[128];
	out_str(o, "{\"value\": ");
	out_double(o, v, true);
	fmt_value(g, v, buf, sizeof(buf));
	out_str(o, ", \"text\": ");
	out_json_string(o, buf);
	out_char(o, '}');
}

static void json_sig(struct out *o, const struct sig *g)
{
	out_str(o, "\"message\": ");
	out_json_string(o, dbc_message_name(g->m));
	out_printf(o, ", \"id\": %u, \"signal\": ", dbc_message_id(g->m));
	out_json_string(o, dbc_signal_name(g->s));
	out_str(o, ", \"role\": ");
	if (g->role)
		out_json_string(o, g->role);
	else
		out_str(o, "null");
	out_printf(o, ", \"changes\": %u", g->changes);
}

static void print_json(struct changes *c, struct out *o, unsigned limit, const uint32_t *order,
		       size_t n_changed)
{
	out_str(o, "{\"capture\": ");
	out_json_string(o, c->capture);
	out_printf(o, ", \"frames\": %u, \"decoded\": %u, \"signals\": %zu, \"duration\": ",
		   c->frames, c->decoded, c->n_sigs);
	out_double(o, rel(c, c->end), true);
	out_str(o, ", \"window\": ");
	out_double(o, (double)c->window_us / 1e6, true);
	out_str(o, ",\n \"marks\": [");
	for (size_t k = 0; k < c->n_marks; k++) {
		const struct mark *mk = &c->marks[k];
		out_str(o, k ? ",\n  {\"name\": " : "\n  {\"name\": ");
		out_json_string(o, mk->name);
		out_str(o, ", \"t\": ");
		out_double(o, rel(c, mk->t), true);
		out_str(o, ", \"signals\": [");
		for (size_t j = 0; j < mk->n_hits && (!limit || j < limit); j++) {
			const struct hit *h = &mk->hits[j];
			const struct sig *g = &c->sigs[h->sig];
			out_str(o, j ? ",\n    {" : "\n    {");
			json_sig(o, g);
			out_printf(o, ", \"changes_here\": %u, \"score\": ", h->n);
			out_double(o, h->score, true);
			out_str(o, ", \"nearest\": {\"dt\": ");
			out_double(o, (double)(h->near.t - mk->t) / 1e6, true);
			out_str(o, ", \"from\": ");
			json_value(o, g, h->near.from);
			out_str(o, ", \"to\": ");
			json_value(o, g, h->near.to);
			out_str(o, "}, \"before\": ");
			if (h->has_before)
				json_value(o, g, h->before);
			else
				out_str(o, "null");
			out_str(o, ", \"after\": ");
			json_value(o, g, h->after);
			out_char(o, '}');
		}
		out_str(o, "]}");
	}
	out_str(o, "],\n \"changed\": [");
	for (size_t j = 0; j < n_changed && (!limit || j < limit); j++) {
		const struct sig *g = &c->sigs[order[j]];
		out_str(o, j ? ",\n  {" : "\n  {");
		json_sig(o, g);
		out_str(o, ", \"values\": [");
		for (unsigned k = 0; !g->many_values && k < g->n_values; k++) {
			if (k)
				out_str(o, ", ");
			json_value(o, g, g->values[k]);
		}
		out_str(o, "], \"min\": ");
		json_value(o, g, g->min);
		out_str(o, ", \"max\": ");
		json_value(o, g, g->max);
		out_str(o, ", \"recent\": [");
		for (unsigned k = 0; g->changes <= RING && k < g->ring_n; k++) {
			const struct change *ch = &g->ring[(g->head + RING - g->ring_n + k) % RING];
			out_str(o, k ? ", {\"t\": " : "{\"t\": ");
			out_double(o, rel(c, ch->t), true);
			out_str(o, ", \"to\": ");
			json_value(o, g, ch->to);
			out_char(o, '}');
		}
		out_str(o, "]}");
	}
	out_str(o, "]}\n");
}

/* ---- the command ------------------------------------------------------------------ */

static int parse_window(const char *s, int64_t *ret_us)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 3600)
		return -EINVAL;
	*ret_us = (int64_t)llround(v * 1e6);
	return *ret_us > 0 ? 0 : -EINVAL;
}

int cmd_changes(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dbc", required_argument, NULL, 'd'},    {"profile", required_argument, NULL, 'p'},
	    {"vehicle", required_argument, NULL, 'v'}, {"marks", required_argument, NULL, 'm'},
	    {"window", required_argument, NULL, 'w'},  {"limit", required_argument, NULL, 'l'},
	    {"json", no_argument, NULL, 'j'},	       {"strict", no_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	struct vehicle_args va = {0};
	struct changes c = {.window_us = DEFAULT_WINDOW_US};
	const char *marks_path = NULL;
	unsigned limit = DEFAULT_LIMIT;
	bool json = false, strict = false;
	uint32_t *order = NULL;
	struct out *o = NULL;
	int opt, ret = 1;
	char *end;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "d:p:v:m:w:l:jsh", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			va.dbc = optarg;
			break;
		case 'p':
			va.profile = optarg;
			break;
		case 'v':
			va.vehicle = optarg;
			break;
		case 'm':
			marks_path = optarg;
			break;
		case 'w':
			if (parse_window(optarg, &c.window_us) < 0) {
				fprintf(stderr, "bodydiag: --window '%s': seconds above 0, at most "
						"3600\n",
					optarg);
				return 1;
			}
			break;
		case 'l': {
			errno = 0;
			unsigned long v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || optarg[0] == '-' || v > 100000) {
				fprintf(stderr, "bodydiag: --limit '%s': a count, 0 for all\n",
					optarg);
				return 1;
			}
			limit = (unsigned)v;
			break;
		}
		case 'j':
			json = true;
			break;
		case 's':
			strict = true;
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
	c.capture = argv[optind];

	if (va.profile || va.vehicle) {
		if (vehicle_load(&va, false, &c.v) < 0)
			goto out;
		c.db = c.v.dbc;
	} else if (va.dbc) {
		if (vehicle_load_dbc(va.dbc, &c.dbc_only) < 0)
			goto out;
		c.db = c.dbc_only;
	} else {
		fprintf(stderr, "bodydiag: which DBC? Give --dbc FILE, --profile FILE or --vehicle "
				"NAME\n");
		goto out;
	}
	if (setup(&c) < 0) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	annotate_roles(&c);

	static const struct capture_ops ops = {.frame = on_frame, .mark = on_mark};
	if (capture_read(c.capture, marks_path, strict, &ops, &c, &c.cr) < 0)
		goto out;
	close_until(&c, INT64_MAX);
	if (!c.frames) {
		fprintf(stderr, "bodydiag: %s: no CAN frames (%u lines%s)\n", c.capture, c.cr.lines,
			c.cr.bad_lines ? ", all bad" : "");
		goto out;
	}
	if (!c.decoded)
		fprintf(stderr,
			"bodydiag: warning: %s: none of its %u frames is a message of the DBC: "
			"wrong DBC for this car, or another bus?\n",
			c.capture, c.frames);

	order = calloc(c.n_sigs ? c.n_sigs : 1, sizeof(*order));
	o = malloc(sizeof(*o));
	if (!order || !o) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}
	size_t n_changed = 0;
	for (size_t i = 0; i < c.n_sigs; i++)
		if (c.sigs[i].changes)
			order[n_changed++] = (uint32_t)i;
	sort_ctx = &c;
	qsort(order, n_changed, sizeof(*order), sig_cmp);
	c.marked_us = marked_time(&c);
	for (size_t k = 0; k < c.n_marks; k++) {
		struct mark *mk = &c.marks[k];
		for (size_t j = 0; j < mk->n_hits; j++)
			mk->hits[j].score = score(&c, &mk->hits[j]);
		if (mk->n_hits > 1) /* a mark with no hits has no array: qsort's NULL is undefined */
			qsort(mk->hits, mk->n_hits, sizeof(*mk->hits), hit_cmp);
	}

	out_init(o, STDOUT_FILENO);
	if (json)
		print_json(&c, o, limit, order, n_changed);
	else
		print_text(&c, o, limit, order, n_changed);
	out_flush(o);
	if (o->error) {
		fprintf(stderr, "bodydiag: write: %s\n", strerror(-o->error));
		goto out;
	}
	ret = 0;
out:
	for (size_t k = 0; k < c.n_marks; k++) {
		free(c.marks[k].name);
		free(c.marks[k].dense);
		free(c.marks[k].hits);
	}
	free(c.marks);
	free(c.sigs);
	free(c.msgs);
	free(c.samples);
	free(order);
	free(o);
	dbc_free(c.dbc_only);
	vehicle_data_clear(&c.v);
	return ret;
}
