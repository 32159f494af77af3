/* SPDX-License-Identifier: MIT */
/*
 * bodydiag decode --dbc FILE [--json] [--strict] [--verbose] CAPTURE.log|-
 *
 * The cantools-decode of this project: one line per frame of a can-utils log. With
 * --json one object per data frame (remote and error frames carry no signals and are
 * left out), keys as documented in tools/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/numfmt.h"
#include "summary.h"
#include "bodydiag/candump.h"
#include "bodydiag/dbc.h"
#include "out.h"

/* Pre-escaped JSON text, stored with at least KEY_SLACK readable bytes after it. */
struct key {
	const char *text;
	size_t len;
};

/* Keys shorter than this are copied with one fixed-size move. */
#define KEY_SLACK 32u
/* A frame's line without its signals: the keys, the numbers, the interface, the error. */
#define LINE_FIXED (512u + CANDUMP_MAX_IFACE * 6u)
/* The error text's room (dbc_decode_status_format into 256 bytes, escaped). */
#define ERROR_ROOM (256u * 6u + 16u)

/* A sample expected at a position of a message's line, and its key. */
struct expected {
	const struct dbc_signal *signal;
	const char *text;
	size_t len;
};

/* A value label's JSON, found by the library's pointer to it. */
struct label_key {
	const char *label; /* the library's pointer */
	struct key json;   /* `"Label"` / `'Label'` */
};

struct decode {
	struct dbc *db;
	bool json;
	bool have_t0;
	int64_t t0_us; /* text: the first frame's time, the zero of the lines' times */
	struct out out;
	struct dbc_sample *samples;
	size_t cap;
	unsigned frames, matched;
	const char *capture;
	struct line_notes bad, warnings;
	/* --json: every name escaped once (the hot loop only copies bytes) */
	char *text; /* all key texts, KEY_SLACK bytes of zeros at the end */
	size_t text_len, text_cap;
	/* every name the output needs, once (JSON: escaped and quoted; text: as UTF-8) */
	struct key *sig_keys;	  /* by dbc_signal_number: `"Name": ` / `Name: ` */
	struct key *units;	  /* by dbc_signal_number, text only: ` Unit`, or empty */
	struct key *msg_keys;	  /* by dbc_message_index: `"Name", "signals": {` / ` :: Name(` */
	size_t *line_room;	  /* by dbc_message_index: a line's room at most */
	/* by dbc_message_index: the signals of a full frame in decode order with their keys
	 * (padded to the message's sample count): checked per sample, it saves looking the
	 * key up by signal number */
	struct expected **order;
	struct label_key *labels; /* open addressing by label pointer */
	size_t label_mask;
	char iface[CANDUMP_MAX_IFACE]; /* the last interface and its JSON */
	char iface_json[CANDUMP_MAX_IFACE * 6 + 2 + KEY_SLACK];
	size_t iface_json_len;
	struct dbc_decode_status err_st; /* the last error and its JSON */
	char err_json[ERROR_ROOM];
	size_t err_json_len;
	char *big; /* a line beyond the output buffer (absurd DBCs) */
	size_t big_cap;
};

static void on_warning(void *userdata, const char *file, unsigned line, unsigned column,
		       const char *message)
{
	struct decode *d = userdata;
	line_note(&d->warnings, line, column, message);
}

static void on_bad_line(void *userdata, unsigned line, const char *reason)
{
	struct decode *d = userdata;
	line_note(&d->bad, line, 0, reason);
}

/* Appends prefix + name + suffix to d->text, the name as a JSON string (--json) or as
 * UTF-8 (text); the key's offset in *ret_off, its length in *ret_len. */
static int add_text(struct decode *d, const char *prefix, const char *name, const char *suffix,
		    size_t *ret_off, size_t *ret_len)
{
	size_t room = strlen(prefix) + out_json_string_room(name) + strlen(suffix) + KEY_SLACK;
	if (d->text_cap - d->text_len < room) {
		size_t cap = d->text_cap ? d->text_cap : 4096;
		while (cap - d->text_len < room)
			cap *= 2;
		char *nt = realloc(d->text, cap);
		if (!nt)
			return -ENOMEM;
		d->text = nt;
		d->text_cap = cap;
	}
	char *start = d->text + d->text_len, *p = start;
	p = stpcpy(p, prefix);
	p = d->json ? out_put_json_string(p, name) : out_put_text(p, name);
	p = stpcpy(p, suffix);
	*ret_off = d->text_len;
	*ret_len = (size_t)(p - start);
	d->text_len += *ret_len;
	memset(p, 0, KEY_SLACK); /* the next key overwrites it; the last one keeps it */
	return 0;
}

static size_t label_slot(const struct decode *d, const char *label)
{
	uintptr_t h = (uintptr_t)label * (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 16) & d->label_mask;
}

/* The order of each message's samples in a full frame of zeros, and their keys. */
static int make_order(struct decode *d)
{
	size_t nm = dbc_message_count(d->db);
	uint8_t zeros[DBC_MAX_MESSAGE_LEN] = {0};

	d->order = calloc(nm + 1, sizeof(*d->order));
	if (!d->order)
		return -ENOMEM;
	for (size_t i = 0; i < nm; i++) {
		const struct dbc_message *m = dbc_message_at(d->db, i);
		d->order[i] = calloc(dbc_message_max_samples(m) + 1, sizeof(*d->order[i]));
		if (!d->order[i])
			return -ENOMEM;
		int n = dbc_decode(m, zeros, dbc_message_length(m), d->samples, d->cap, NULL);
		for (int k = 0; k < n; k++) {
			const struct key *key = &d->sig_keys[dbc_signal_number(d->samples[k].signal)];
			d->order[i][k] = (struct expected){d->samples[k].signal, key->text, key->len};
		}
	}
	return 0;
}

/* Every name, unit and label the output needs, escaped once, and each message's room. */
static int make_keys(struct decode *d)
{
	size_t nm = dbc_message_count(d->db), ns = dbc_signal_total(d->db), nl = 0;
	size_t *sig_off = calloc(ns + 1, sizeof(*sig_off)), *msg_off = calloc(nm + 1, sizeof(*msg_off));
	int r = -ENOMEM;

	size_t *unit_off = calloc(ns + 1, sizeof(*unit_off));
	d->sig_keys = calloc(ns + 1, sizeof(*d->sig_keys));
	d->units = calloc(ns + 1, sizeof(*d->units));
	d->msg_keys = calloc(nm + 1, sizeof(*d->msg_keys));
	d->line_room = calloc(nm + 1, sizeof(*d->line_room));
	if (!sig_off || !msg_off || !unit_off || !d->sig_keys || !d->units || !d->msg_keys ||
	    !d->line_room)
		goto out;
	r = 0;
	for (size_t i = 0; i < nm; i++) {
		const struct dbc_message *m = dbc_message_at(d->db, i);
		if ((r = add_text(d, d->json ? "" : " :: ", dbc_message_name(m),
				  d->json ? ", \"signals\": {" : "(", &msg_off[i],
				  &d->msg_keys[i].len)) < 0)
			goto out;
		for (size_t k = 0; k < dbc_message_signal_count(m); k++) {
			const struct dbc_signal *s = dbc_message_signal_at(m, k);
			size_t n = dbc_signal_number(s);
			if ((r = add_text(d, "", dbc_signal_name(s), ": ", &sig_off[n],
					  &d->sig_keys[n].len)) < 0)
				goto out;
			if (!d->json && dbc_signal_unit(s)[0] &&
			    (r = add_text(d, " ", dbc_signal_unit(s), "", &unit_off[n],
					  &d->units[n].len)) < 0)
				goto out;
			nl += dbc_signal_choice_count(s);
		}
	}
	d->label_mask = 15;
	while (d->label_mask + 1 < 2 * nl)
		d->label_mask = 2 * d->label_mask + 1;
	d->labels = calloc(d->label_mask + 1, sizeof(*d->labels));
	size_t *label_off = calloc(d->label_mask + 1, sizeof(*label_off));
	if (!d->labels || !label_off) {
		free(label_off);
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nm && r >= 0; i++) {
		const struct dbc_message *m = dbc_message_at(d->db, i);
		/* a line: the fixed part, every signal with its value, every label, the error */
		size_t room = LINE_FIXED + ERROR_ROOM + d->msg_keys[i].len + KEY_SLACK;
		for (size_t k = 0; k < dbc_message_signal_count(m) && r >= 0; k++) {
			const struct dbc_signal *s = dbc_message_signal_at(m, k);
			size_t key = d->sig_keys[dbc_signal_number(s)].len + KEY_SLACK, longest = 0;
			room += key + OUT_DOUBLE_ROOM + OUT_INT_ROOM + 2 +
				d->units[dbc_signal_number(s)].len + KEY_SLACK;
			for (size_t c = 0; c < dbc_signal_choice_count(s) && r >= 0; c++) {
				const char *label;
				dbc_signal_choice_at(s, c, NULL, &label);
				size_t h = label_slot(d, label);
				while (d->labels[h].label && d->labels[h].label != label)
					h = (h + 1) & d->label_mask;
				if (!d->labels[h].label) {
					d->labels[h].label = label;
					r = add_text(d, d->json ? "" : "'", label, d->json ? "" : "'",
						     &label_off[h], &d->labels[h].json.len);
				}
				if (d->labels[h].json.len > longest)
					longest = d->labels[h].json.len;
			}
			if (longest)
				room += key + longest + KEY_SLACK + 2;
		}
		d->line_room[i] = room;
	}
	/* the text is complete: offsets become pointers */
	for (size_t i = 0; i < nm; i++)
		d->msg_keys[i].text = d->text + msg_off[i];
	for (size_t i = 0; i < ns; i++) {
		d->sig_keys[i].text = d->text + sig_off[i];
		d->units[i].text = d->text + unit_off[i];
	}
	for (size_t h = 0; h <= d->label_mask; h++)
		if (d->labels[h].label)
			d->labels[h].json.text = d->text + label_off[h];
	free(label_off);
	if (r >= 0)
		r = make_order(d);
out:
	free(sig_off);
	free(msg_off);
	free(unit_off);
	return r;
}

static void free_keys(struct decode *d)
{
	free(d->text);
	free(d->sig_keys);
	free(d->units);
	free(d->msg_keys);
	free(d->line_room);
	for (size_t i = 0; d->order && i < dbc_message_count(d->db); i++)
		free(d->order[i]);
	free(d->order);
	free(d->labels);
	free(d->big);
}

/* len bytes of key text (KEY_SLACK readable bytes follow it): short ones in one fixed-size
 * move, which writes up to KEY_SLACK bytes (the room allows it) */
static inline char *put_text(char *p, const char *text, size_t len)
{
	if (len <= KEY_SLACK)
		memcpy(p, text, KEY_SLACK); /* a constant size: two moves, no call */
	else
		memcpy(p, text, len);
	return p + len;
}

static inline char *put_key(char *p, const struct key *k)
{
	return put_text(p, k->text, k->len);
}

static const struct key *label_key(const struct decode *d, const char *label)
{
	size_t h = label_slot(d, label);
	while (d->labels[h].label != label)
		h = (h + 1) & d->label_mask;
	return &d->labels[h].json;
}

/* A value: JSON (exact doubles, non-finite ones as strings) or for people (15 digits). */
static inline char *put_value(struct out *o, char *p, struct dbc_value v, bool json)
{
	if (v.type == DBC_VALUE_INT)
		return out_put_i64(p, v.i);
	if (v.type == DBC_VALUE_FLOAT)
		return json ? out_put_double(o, p, v.f, true) : out_put_double_readable(o, p, v.f);
	if (v.type == DBC_VALUE_UINT)
		return out_put_u64(p, v.u);
	return json ? OUT_PUT_LIT(p, "null") : OUT_PUT_LIT(p, "?");
}

/* The timestamp as written, but as a JSON number: no leading zeros in the seconds. */
static char *put_time(char *p, const char time[CANDUMP_MAX_TIME])
{
	size_t skip = 0, n = strnlen(time, CANDUMP_MAX_TIME);
	while (time[skip] == '0' && time[skip + 1] >= '0' && time[skip + 1] <= '9')
		skip++;
	memcpy(p, time, CANDUMP_MAX_TIME); /* the whole array: a constant size, no call */
	if (skip)
		memmove(p, p + skip, n - skip);
	return p + n - skip;
}

static char *put_iface(struct decode *d, char *p, const char iface[CANDUMP_MAX_IFACE])
{
	/* the whole array: a difference after the name only costs an escape */
	if (memcmp(iface, d->iface, sizeof(d->iface)) != 0 || !d->iface_json_len) {
		memcpy(d->iface, iface, sizeof(d->iface));
		d->iface_json_len = (size_t)(out_put_json_string(d->iface_json, iface) - d->iface_json);
	}
	return put_text(p, d->iface_json, d->iface_json_len);
}

static bool same_status(const struct dbc_decode_status *a, const struct dbc_decode_status *b)
{
	return a->flags == b->flags && a->frame_len == b->frame_len &&
	       a->message_len == b->message_len && a->bad_mux == b->bad_mux &&
	       a->bad_mux_value == b->bad_mux_value;
}

static char *put_error(struct decode *d, char *p, const struct dbc_decode_status *st)
{
	if (!d->err_json_len || !same_status(st, &d->err_st)) {
		char err[256];
		dbc_decode_status_format(st, err, sizeof(err));
		d->err_st = *st;
		d->err_json_len = (size_t)(out_put_json_string(d->err_json, err) - d->err_json);
	}
	p = OUT_PUT_LIT(p, ", \"error\": ");
	memcpy(p, d->err_json, d->err_json_len);
	return p + d->err_json_len;
}

/* One frame's line into p, which has room for it (line_room). */
static char *put_json(struct decode *d, char *p, const struct candump_record *r,
		      const struct dbc_message *m, int n, const struct dbc_decode_status *st)
{
	const struct bd_frame *f = &r->tf.frame;
	const struct dbc_sample *smp = d->samples;
	uintptr_t any_choice = 0;

	p = OUT_PUT_LIT(p, "{\"t\": ");
	p = put_time(p, r->time);
	p = OUT_PUT_LIT(p, ", \"iface\": ");
	p = put_iface(d, p, r->iface);
	p = OUT_PUT_LIT(p, ", \"id\": ");
	p = out_put_u64(p, f->id);
	if (f->flags & BD_FRAME_EXT)
		p = OUT_PUT_LIT(p, ", \"ext\": true, \"len\": ");
	else
		p = OUT_PUT_LIT(p, ", \"ext\": false, \"len\": ");
	p = out_put_u64(p, f->len);
	p = OUT_PUT_LIT(p, ", \"msg\": ");
	if (!m)
		return OUT_PUT_LIT(p, "null, \"signals\": {}}\n");
	size_t mi = dbc_message_index(m);
	const struct expected *e = d->order[mi];
	p = put_key(p, &d->msg_keys[mi]);
	for (int i = 0; i < n; i++, e++) {
		if (smp[i].signal == e->signal)
			p = put_text(p, e->text, e->len);
		else
			p = put_key(p, &d->sig_keys[dbc_signal_number(smp[i].signal)]);
		p = put_value(&d->out, p, smp[i].value, true);
		p = OUT_PUT_LIT(p, ", "); /* taken back after the last one */
		any_choice |= (uintptr_t)smp[i].choice;
	}
	if (n > 0)
		p -= 2;
	*p++ = '}';
	if (any_choice) {
		bool first = true;
		p = OUT_PUT_LIT(p, ", \"choices\": {");
		for (int i = 0; i < n; i++) {
			if (!smp[i].choice)
				continue;
			if (!first)
				p = OUT_PUT_LIT(p, ", ");
			first = false;
			p = put_key(p, &d->sig_keys[dbc_signal_number(smp[i].signal)]);
			p = put_key(p, label_key(d, smp[i].choice));
		}
		*p++ = '}';
	}
	if (st->flags)
		p = put_error(d, p, st);
	return OUT_PUT_LIT(p, "}\n");
}

/* One frame's readable line into p, which has room for it (line_room): cantools decode
 * --single-line style, "(t) can0 123#0102 :: Msg(Sig: 1 unit, Mode: 'Label')". */
static char *put_text_line(struct decode *d, char *p, const struct candump_record *r,
			   const struct dbc_message *m, int n, const struct dbc_decode_status *st)
{
	static const char hex[] = "0123456789abcdef";
	const struct bd_frame *f = &r->tf.frame;
	const struct dbc_sample *smp = d->samples;

	/* one clock for people: seconds from the first frame (said once, with its UTC time,
	 * in the first line); the line still reads back as a candump line */
	struct candump_record rel = *r;
	int64_t t = r->tf.t_us - d->t0_us;
	uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t, us = mag % 1000000u;
	char *q = rel.time;
	if (t < 0)
		*q++ = '-';
	q += numfmt_u64(q, mag / 1000000u); /* (no printf per frame: decode is measured) */
	*q++ = '.';
	for (int k = 5; k >= 0; k--, us /= 10)
		q[k] = (char)('0' + us % 10);
	q[6] = '\0';
	p += candump_format_record(&rel, p, CANDUMP_MAX_TIME + CANDUMP_MAX_IFACE + 256);
	if (f->flags & BD_FRAME_ERR)
		return OUT_PUT_LIT(p, " :: error frame\n");
	if (f->flags & BD_FRAME_RTR)
		return OUT_PUT_LIT(p, " :: remote frame\n");
	if (!m) {
		p = OUT_PUT_LIT(p, " :: unknown frame id ");
		p = out_put_u64(p, f->id);
		p = OUT_PUT_LIT(p, " (0x");
		unsigned k = 8;
		while (k > 1 && !(f->id >> (4 * (k - 1))))
			k--;
		while (k-- > 0)
			*p++ = hex[(f->id >> (4 * k)) & 15];
		return OUT_PUT_LIT(p, ")\n");
	}
	size_t mi = dbc_message_index(m);
	const struct expected *e = d->order[mi];
	p = put_key(p, &d->msg_keys[mi]);
	for (int i = 0; i < n; i++, e++) {
		size_t num = dbc_signal_number(smp[i].signal);
		if (smp[i].signal == e->signal)
			p = put_text(p, e->text, e->len);
		else
			p = put_key(p, &d->sig_keys[num]);
		if (smp[i].choice) {
			p = put_key(p, label_key(d, smp[i].choice));
		} else {
			p = put_value(&d->out, p, smp[i].value, false);
			if (d->units[num].len)
				p = put_key(p, &d->units[num]);
		}
		p = OUT_PUT_LIT(p, ", "); /* taken back after the last one */
	}
	if (n > 0)
		p -= 2;
	*p++ = ')';
	if (st->flags) {
		char err[256];
		int len = dbc_decode_status_format(st, err, sizeof(err));
		p = OUT_PUT_LIT(p, " error: ");
		len = len < 0 ? 0 : len >= (int)sizeof(err) ? (int)sizeof(err) - 1 : len;
		memcpy(p, err, (size_t)len);
		p += len;
	}
	*p++ = '\n';
	return p;
}

static char *put_line(struct decode *d, char *p, const struct candump_record *r,
		      const struct dbc_message *m, int n, const struct dbc_decode_status *st)
{
	return d->json ? put_json(d, p, r, m, n, st) : put_text_line(d, p, r, m, n, st);
}

static int emit_line(struct decode *d, const struct candump_record *r, const struct dbc_message *m,
		     int n, const struct dbc_decode_status *st)
{
	size_t room = m ? d->line_room[dbc_message_index(m)] : LINE_FIXED;
	if (room <= OUT_BUF_SIZE) {
		out_commit(&d->out, put_line(d, out_reserve(&d->out, room), r, m, n, st));
		return 0;
	}
	/* a message with thousands of long names: the line is built aside */
	if (room > d->big_cap) {
		char *b = realloc(d->big, room);
		if (!b)
			return -ENOMEM;
		d->big = b;
		d->big_cap = room;
	}
	out_mem(&d->out, d->big, (size_t)(put_line(d, d->big, r, m, n, st) - d->big));
	return 0;
}

static int on_record(void *userdata, const struct candump_record *r)
{
	struct decode *d = userdata;
	const struct bd_frame *f = &r->tf.frame;
	const struct dbc_message *m = NULL;
	struct dbc_decode_status st = {0};
	int n = 0;

	if (d->json && (f->flags & (BD_FRAME_ERR | BD_FRAME_RTR)))
		return 0;
	if (!(f->flags & (BD_FRAME_ERR | BD_FRAME_RTR))) {
		m = dbc_find_message(d->db, f->id, f->flags & BD_FRAME_EXT);
		if (m) {
			d->matched++;
			n = dbc_decode(m, f->data, f->len, d->samples, d->cap, &st);
			if (n < 0)
				return n;
		}
	}
	d->frames++;
	if (!d->json && !d->have_t0) {
		char utc[40];
		d->have_t0 = true;
		d->t0_us = r->tf.t_us;
		out_str(&d->out, "# times are seconds from the first frame");
		if (summary_utc(r->tf.t_us, utc, sizeof(utc))) {
			out_str(&d->out, ", ");
			out_str(&d->out, utc);
			out_str(&d->out, " (UTC)");
		}
		out_char(&d->out, '\n');
	}
	int e = emit_line(d, r, m, n, &st);
	return e < 0 ? e : d->out.error;
}

#define NOTES_SHOWN 5u

static void usage(FILE *f)
{
	fprintf(f, "Usage: bodydiag decode --dbc FILE [--json] [--strict] [--verbose] "
		   "CAPTURE.log|-\n"
		   "  --dbc FILE   DBC database\n"
		   "  --json       one JSON object per data frame\n"
		   "  --strict     stop at the first malformed log line\n"
		   "  --verbose    print every DBC warning and bad line (default: the first %u, "
		   "then a count)\n", NOTES_SHOWN);
}

int cmd_decode(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dbc", required_argument, NULL, 'd'}, {"json", no_argument, NULL, 'j'},
	    {"strict", no_argument, NULL, 's'},	   {"verbose", no_argument, NULL, 'v'},
	    {"help", no_argument, NULL, 'h'},	   {0},
	};
	const char *dbc_path = NULL, *capture;
	bool verbose = false, strict = false;
	struct decode d = {0};
	struct dbc_error err;
	char *text = NULL;
	size_t len;
	int c, r, ret = 1, fd = -1;
	struct candump_reader *reader = NULL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:jsvh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dbc_path = optarg;
			break;
		case 'j':
			d.json = true;
			break;
		case 's':
			strict = true;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!dbc_path || optind != argc - 1) {
		usage(stderr);
		return 1;
	}
	capture = argv[optind];

	r = read_file(dbc_path, &text, &len);
	if (r < 0) {
		fprintf(stderr, "bodydiag: %s: %s\n", dbc_path, strerror(-r));
		goto out;
	}
	d.warnings = (struct line_notes){.file = dbc_path, .severity = "warning",
					 .what = "DBC warnings", .hint = "--verbose shows them all",
					 .shown_max = verbose ? 0 : NOTES_SHOWN};
	d.bad = (struct line_notes){.file = capture, .severity = "bad line", .what = "bad lines",
				    .hint = "--verbose shows them all",
				    .shown_max = verbose ? 0 : NOTES_SHOWN};
	r = dbc_parse(text, len, dbc_path, on_warning, &d, &err, &d.db);
	free(text);
	line_notes_finish(&d.warnings);
	if (r < 0) {
		if (r == -EINVAL)
			fprintf(stderr, "%s:%u:%u: error: %s\n", err.file, err.line, err.column,
				err.message);
		else
			fprintf(stderr, "bodydiag: %s: %s\n", dbc_path, strerror(-r));
		goto out;
	}
	if (dbc_message_count(d.db) == 0)
		fprintf(stderr, "%s: warning: no messages (no BO_ statement): every frame will be "
				"unknown; is this a DBC file?\n", dbc_path);
	for (size_t i = 0; i < dbc_message_count(d.db); i++) {
		size_t n = dbc_message_max_samples(dbc_message_at(d.db, i));
		if (n > d.cap)
			d.cap = n;
	}
	d.samples = calloc(d.cap ? d.cap : 1, sizeof(*d.samples));
	if (!d.samples || make_keys(&d) < 0) {
		fprintf(stderr, "bodydiag: out of memory\n");
		goto out;
	}

	fd = strcmp(capture, "-") == 0 ? STDIN_FILENO : open(capture, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "bodydiag: %s: %s\n", capture, strerror(errno));
		goto out;
	}
	d.capture = capture;
	reader = candump_reader_new(strict ? CANDUMP_READER_STRICT : 0, on_record, on_bad_line, &d);
	if (!reader)
		goto out;
	out_init(&d.out, STDOUT_FILENO);
	for (;;) {
		char buf[1u << 16];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bodydiag: %s: %s\n", capture, strerror(errno));
			goto flush;
		}
		if (n == 0)
			break;
		r = candump_reader_feed(reader, buf, (size_t)n);
		if (r < 0)
			goto fail;
	}
	r = candump_reader_finish(reader);
	if (r < 0)
		goto fail;
	line_notes_finish(&d.bad);
	if (d.frames == 0 && d.bad.total > 0) {
		fprintf(stderr, "bodydiag: %s: no frame could be read (%u bad lines)\n", capture,
			d.bad.total);
		goto flush;
	}
	if (d.frames > 0 && d.matched == 0 && dbc_message_count(d.db) > 0)
		fprintf(stderr, "%s: warning: none of the %u frames has an id of %s: a DBC for "
				"another vehicle or bus?\n", capture, d.frames, dbc_path);
	ret = 0;
	goto flush;
fail:
	if (r != -EBADMSG)
		fprintf(stderr, "bodydiag: %s: %s\n", capture, strerror(-r));
flush:
	out_flush(&d.out);
	if (d.out.error && ret == 0) {
		fprintf(stderr, "bodydiag: write: %s\n", strerror(-d.out.error));
		ret = 1;
	}
out:
	candump_reader_free(reader);
	if (fd > STDIN_FILENO)
		close(fd);
	free(d.samples);
	free_keys(&d);
	dbc_free(d.db);
	return ret;
}
