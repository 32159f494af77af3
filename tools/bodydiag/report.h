/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * report: one diagnosis session as a self-contained HTML page (inline CSS and SVG,
 * nothing fetched, no script), for the customer and the technician:
 *  - the answer in one sentence and the next check (summary.h, the sentences `bodydiag
 *    diagnose` ends with);
 *  - the release chain, link by link: seen working, seen failing, not tested, not
 *    observable on this car; each link's evidence one click away (details/summary);
 *  - the causes by title with why we think so, the ruled-out ones folded;
 *  - the DTCs with the profile's texts and the meaningful status bits in words;
 *  - the timeline (report_svg.c): lanes grouped by chain link, each with its unit and
 *    y-axis (one scale per unit), enumerations as labels, the actions as vertical marks,
 *    seconds from the first action, the rules' thresholds on the lanes they read.
 *
 * What a session shows comes from the history store (cmd-report.c loads it): the guided
 * test's stored result (daemon/engine_json.c's shape) and its timeline of role changes.
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define REPORT_MAX_SERIES 64

struct report_point {
	int64_t t_us; /* wall-clock microseconds, as the history stores them */
	double value; /* NaN: a pure event (a mark) */
	char *label;  /* marks: the mark's name */
};

struct report_series {
	char name[64]; /* a chain role's name, "mark", or a signal's name in older files */
	struct report_point *pts;
	size_t n, cap;
};

enum report_paper {
	REPORT_PAPER_SCREEN, /* no print size: the browser's */
	REPORT_PAPER_A4,
	REPORT_PAPER_LETTER,
	REPORT_PAPER_MAX,
};

struct report {
	int64_t session, start_us, end_us; /* wall clock, microseconds */
	char vin[40], label[128];
	json_t *result; /* the diagnosis result: stored, or made from the history's rows */
	bool stored;	/* the result was stored with the session (else rebuilt, partial) */
	struct report_series series[REPORT_MAX_SERIES];
	size_t n_series;
	json_t *bus_events; /* [{t, text}], seconds from the start */
};

/* Adds one timeline point (a copy of label). 0, -ENOMEM; points past REPORT_MAX_SERIES
 * series are left out (0). */
int report_add_point(struct report *r, const char *series, int64_t t_us, double value,
		     const char *label);
void report_finish(struct report *r);

struct report_options {
	enum report_paper paper; /* @page size for printing */
	bool open_details;	 /* every details element open (a PDF shows what is folded) */
};

/* The page. Returns 0, or -EIO when writing failed. */
int report_write_html(FILE *o, struct report *r, const struct report_options *opt);

/* The timeline of the session as inline SVG (report_svg.c). */
void report_write_svg(FILE *o, struct report *r);

/* HTML-escaped text. */
void report_html_text(FILE *o, const char *s);
