/* SPDX-License-Identifier: MIT */
/*
 * The history as text: a row as JSON (the API's and the forwarder's shape), CSV
 * (RFC 4180), the CLI's table, and the time syntax of the filters. With the store,
 * this is what `bodydiag history` and `bodydiag report` link: no event loop, no daemon.
 */
#include "history.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bodydiag/dtc.h>

#include "json_text.h"
#include "macro.h"

void history_format_time(int64_t t_us, char *buf, size_t size)
{
	time_t s = (time_t)(t_us >= 0 ? t_us / 1000000 : (t_us - 999999) / 1000000);
	long us = (long)(t_us - (int64_t)s * 1000000);
	struct tm tm;

	if (!gmtime_r(&s, &tm)) {
		snprintf(buf, size, "%" PRId64, t_us);
		return;
	}
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, us);
}

static void format_code(int64_t code, char *buf, size_t size)
{
	if (code < 0 || dtc_format((uint32_t)code, buf, size) < 0)
		snprintf(buf, size, "%s", code < 0 ? "" : "?");
}

static void text_str(struct json_text *w, const char *k, const char *v)
{
	if (v) {
		json_text_key(w, k);
		json_text_string(w, v);
	}
}

static void text_int(struct json_text *w, const char *k, int64_t v)
{
	json_text_key(w, k);
	json_text_integer(w, v);
}

void history_row_write_json(struct json_text *w, const struct history_row *row)
{
	char buf[64];

	json_text_object_begin(w);
	history_format_time(row->t_us, buf, sizeof(buf));
	text_str(w, "kind", history_kind_name(row->kind));
	text_int(w, "id", row->id);
	text_int(w, "t_us", row->t_us);
	text_str(w, "time", buf);
	if (row->session)
		text_int(w, "session", row->session);
	text_str(w, "vin", row->vin);
	text_str(w, "ecu", row->ecu);
	if (row->code >= 0) {
		format_code(row->code, buf, sizeof(buf));
		text_str(w, "code", buf);
	}
	if (row->status >= 0) {
		char flags[256];
		snprintf(buf, sizeof(buf), "0x%02x", (unsigned)row->status);
		text_str(w, "status", buf);
		if (dtc_status_format((uint8_t)row->status, flags, sizeof(flags)) >= 0)
			text_str(w, "flags", flags);
	}
	if (row->kind == HISTORY_KIND_TRANSITION) {
		json_text_key(w, "old_status");
		if (row->old_status >= 0) {
			snprintf(buf, sizeof(buf), "0x%02x", (unsigned)row->old_status);
			json_text_string(w, buf);
		} else {
			json_text_null(w);
		}
	}
	text_str(w, "cause", row->cause);
	if (!isnan(row->confidence)) {
		json_text_key(w, "confidence");
		json_text_real(w, row->confidence);
	}
	text_str(w, "state", row->state);
	text_str(w, "advice", row->advice);
	if (row->evidence) {
		json_t *ev = json_loads(row->evidence, JSON_DECODE_ANY, NULL);
		/* The column has a json_valid CHECK; a string keeps it readable regardless. */
		json_text_key(w, "evidence");
		if (ev)
			json_text_value(w, ev);
		else
			json_text_string(w, row->evidence);
		json_decref(ev);
	}
	text_str(w, "interface", row->interface);
	text_str(w, "event", row->event);
	if (row->kind == HISTORY_KIND_SESSION) {
		text_str(w, "label", row->detail);
		if (row->end_us)
			text_int(w, "end_us", row->end_us);
	} else {
		text_str(w, "detail", row->detail);
	}
	json_text_object_end(w);
}

void history_csv_field(FILE *out, const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

static const char *const CSV_COLUMNS[] = {
	"kind",   "id",	    "time",	 "t_us",   "session", "vin",	    "ecu",
	"code",	  "status", "old_status", "cause", "confidence", "state", "advice",
	"evidence", "interface", "event", "detail",
};

struct export_ctx {
	FILE *out;
	enum history_format fmt;
};

static int export_row(const struct history_row *row, void *userdata)
{
	struct export_ctx *x = userdata;
	char t[64], code[32] = "", st[16] = "", old[16] = "", num[2][32], conf[32] = "";

	if (x->fmt == HISTORY_FORMAT_JSONL) {
		/* the API's text as it is: no object built and dumped again */
		struct json_text *w = json_text_new(JSON_TEXT_COMPACT);
		size_t len;
		char *text;

		if (w)
			history_row_write_json(w, row);
		text = json_text_finish(w, &len);
		if (!text)
			return -ENOMEM;
		fwrite(text, 1, len, x->out);
		free(text);
		fputc('\n', x->out);
		return ferror(x->out) ? -EIO : 0;
	}
	history_format_time(row->t_us, t, sizeof(t));
	format_code(row->code, code, sizeof(code));
	if (row->status >= 0)
		snprintf(st, sizeof(st), "0x%02x", (unsigned)row->status);
	if (row->old_status >= 0)
		snprintf(old, sizeof(old), "0x%02x", (unsigned)row->old_status);
	if (!isnan(row->confidence))
		snprintf(conf, sizeof(conf), "%.3g", row->confidence);
	snprintf(num[0], sizeof(num[0]), "%" PRId64, row->id);
	snprintf(num[1], sizeof(num[1]), "%" PRId64, row->t_us);

	if (x->fmt == HISTORY_FORMAT_TABLE) {
		const char *what = row->cause ? row->cause : row->event ? row->event : "";
		const char *more = row->kind == HISTORY_KIND_FINDING ? row->advice : row->detail;
		char flags[200] = "";

		if (row->status >= 0)
			dtc_status_format((uint8_t)row->status, flags, sizeof(flags));
		fprintf(x->out, "%-27s %-10s %-17s %-6s %-9s %-4s %-4s %s%s%s%s%s\n", t,
			history_kind_name(row->kind), row->vin ? row->vin : "-",
			row->ecu ? row->ecu : row->interface ? row->interface : "-",
			code[0] ? code : "-", st[0] ? st : "-", old[0] ? old : "-", what,
			conf[0] ? " " : "", conf, flags[0] ? " " : "", flags);
		if (more && *more)
			fprintf(x->out, "%-27s   %s\n", "", more);
		return ferror(x->out) ? -EIO : 0;
	}

	/* CSV */
	const char *fields[ARRAY_SIZE(CSV_COLUMNS)] = {
		history_kind_name(row->kind),
		num[0],
		t,
		num[1],
		NULL,
		row->vin,
		row->ecu,
		code,
		st,
		old,
		row->cause,
		conf,
		row->state,
		row->advice,
		row->evidence,
		row->interface,
		row->event,
		row->detail,
	};
	char sess[32] = "";
	if (row->session)
		snprintf(sess, sizeof(sess), "%" PRId64, row->session);
	fields[4] = sess;
	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		if (i)
			fputc(',', x->out);
		history_csv_field(x->out, fields[i]);
	}
	fputs("\r\n", x->out);
	return ferror(x->out) ? -EIO : 0;
}

int history_export(struct history *h, const struct history_filter *f, enum history_format fmt,
		   FILE *out)
{
	struct export_ctx x = {.out = out, .fmt = fmt};

	if (fmt == HISTORY_FORMAT_CSV) {
		for (size_t i = 0; i < ARRAY_SIZE(CSV_COLUMNS); i++)
			fprintf(out, "%s%s", i ? "," : "", CSV_COLUMNS[i]);
		fputs("\r\n", out);
	} else if (fmt == HISTORY_FORMAT_TABLE) {
		fprintf(out, "%-27s %-10s %-17s %-6s %-9s %-4s %-4s %s\n", "TIME", "KIND", "VIN",
			"ECU/IF", "CODE", "ST", "OLD", "CAUSE/EVENT");
	}
	return history_query(h, f, export_row, &x);
}

int history_parse_time(const char *s, int64_t *ret_us)
{
	struct tm tm = {0};
	const char *p;
	char *end;

	if (!s || !*s)
		return -EINVAL;
	/* Unix seconds, optionally with a fraction. */
	errno = 0;
	double d = strtod(s, &end);
	if (*end == '\0' && errno == 0 && isfinite(d) && d >= 0 && d < 1e11) {
		*ret_us = (int64_t)llround(d * 1e6);
		return 0;
	}
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == ' ') {
		p = strptime(p + 1, "%H:%M", &tm);
		if (!p)
			return -EINVAL;
		if (*p == ':') {
			p = strptime(p + 1, "%S", &tm);
			if (!p)
				return -EINVAL;
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0')
		return -EINVAL;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ret_us = (int64_t)t * 1000000;
	return 0;
}

