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
#include "bodydiag/candump.h"
#include "bodydiag/dbc.h"
#include "out.h"

/* A signal's or message's JSON key (quoted, escaped, with ": "), made once. */
struct key {
	const void *obj;
	char *text;
	size_t len;
};

struct decode {
	struct dbc *db;
	struct key *keys; /* open addressing by object address */
	size_t nkeys;
	bool json;
	struct out out;
	struct dbc_sample *samples;
	size_t cap;
	unsigned frames, matched;
	const char *capture;
	struct line_notes bad, warnings;
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

/* The timestamp as written, but as a JSON number: no leading zeros in the seconds. */
static void out_time(struct out *o, const char *t)
{
	while (t[0] == '0' && t[1] >= '0' && t[1] <= '9')
		t++;
	out_str(o, t);
}

static size_t key_slot(const struct decode *d, const void *obj)
{
	uintptr_t h = (uintptr_t)obj * (uintptr_t)0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 20) & (d->nkeys - 1);
}

/* Writes the JSON of name followed by suffix through a scratch buffer, caches it under obj. */
static int make_key(struct decode *d, struct out *scratch, const void *obj, const char *name,
		    const char *suffix)
{
	scratch->len = 0;
	out_json_string(scratch, name);
	out_str(scratch, suffix);
	size_t i = key_slot(d, obj);
	while (d->keys[i].obj)
		i = (i + 1) & (d->nkeys - 1);
	d->keys[i].obj = obj;
	d->keys[i].len = scratch->len;
	d->keys[i].text = malloc(scratch->len);
	if (!d->keys[i].text)
		return -ENOMEM;
	memcpy(d->keys[i].text, scratch->buf, scratch->len);
	return 0;
}

static void out_key(struct decode *d, const void *obj)
{
	size_t i = key_slot(d, obj);
	while (d->keys[i].obj != obj)
		i = (i + 1) & (d->nkeys - 1);
	out_mem(&d->out, d->keys[i].text, d->keys[i].len);
}

/* Every name the JSON output needs, escaped once: the hot loop only copies bytes. */
static int make_keys(struct decode *d)
{
	size_t n = 0;
	for (size_t i = 0; i < dbc_message_count(d->db); i++)
		n += 1 + dbc_message_signal_count(dbc_message_at(d->db, i));
	d->nkeys = 16;
	while (d->nkeys < 2 * n)
		d->nkeys *= 2;
	d->keys = calloc(d->nkeys, sizeof(*d->keys));
	/* names are far shorter than the buffer: a scratch writer never flushes */
	struct out *scratch = malloc(sizeof(*scratch));
	int r = 0;
	if (!d->keys || !scratch) {
		free(scratch);
		return -ENOMEM;
	}
	out_init(scratch, -1);
	for (size_t i = 0; i < dbc_message_count(d->db) && r >= 0; i++) {
		const struct dbc_message *m = dbc_message_at(d->db, i);
		r = make_key(d, scratch, m, dbc_message_name(m), ", \"signals\": {");
		for (size_t k = 0; k < dbc_message_signal_count(m) && r >= 0; k++) {
			const struct dbc_signal *s = dbc_message_signal_at(m, k);
			r = make_key(d, scratch, s, dbc_signal_name(s), ": ");
		}
	}
	free(scratch);
	return r;
}

static void free_keys(struct decode *d)
{
	for (size_t i = 0; i < d->nkeys; i++)
		free(d->keys[i].text);
	free(d->keys);
}

static void out_value(struct out *o, struct dbc_value v, bool json)
{
	switch (v.type) {
	case DBC_VALUE_INT:
		out_i64(o, v.i);
		return;
	case DBC_VALUE_UINT:
		out_u64(o, v.u);
		return;
	case DBC_VALUE_FLOAT:
		out_double(o, v.f, json);
		return;
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	out_str(o, json ? "null" : "?");
}

static void emit_json(struct decode *d, const struct candump_record *r, const struct dbc_message *m,
		      int n, const struct dbc_decode_status *st)
{
	struct out *o = &d->out;
	const struct bd_frame *f = &r->tf.frame;

	out_str(o, "{\"t\": ");
	out_time(o, r->time);
	out_str(o, ", \"iface\": ");
	out_json_string(o, r->iface);
	out_str(o, ", \"id\": ");
	out_u64(o, f->id);
	out_str(o, (f->flags & BD_FRAME_EXT) ? ", \"ext\": true" : ", \"ext\": false");
	out_str(o, ", \"len\": ");
	out_u64(o, f->len);
	out_str(o, ", \"msg\": ");
	if (!m) {
		out_str(o, "null, \"signals\": {}}\n");
		return;
	}
	out_key(d, m);
	bool any_choice = false;
	for (int i = 0; i < n; i++) {
		if (i)
			out_mem(o, ", ", 2);
		out_key(d, d->samples[i].signal);
		out_value(o, d->samples[i].value, true);
		any_choice |= d->samples[i].choice != NULL;
	}
	out_char(o, '}');
	if (any_choice) {
		bool first = true;
		out_str(o, ", \"choices\": {");
		for (int i = 0; i < n; i++) {
			if (!d->samples[i].choice)
				continue;
			if (!first)
				out_str(o, ", ");
			first = false;
			out_key(d, d->samples[i].signal);
			out_json_string(o, d->samples[i].choice);
		}
		out_char(o, '}');
	}
	if (st->flags) {
		char err[256];
		dbc_decode_status_format(st, err, sizeof(err));
		out_str(o, ", \"error\": ");
		out_json_string(o, err);
	}
	out_str(o, "}\n");
}

/* cantools decode --single-line style: "(t) can0 123#0102 :: Msg(Sig: 1 unit, ...)" */
static void emit_text(struct decode *d, const struct candump_record *r, const struct dbc_message *m,
		      int n, const struct dbc_decode_status *st)
{
	struct out *o = &d->out;
	char line[CANDUMP_MAX_LINE];
	const struct bd_frame *f = &r->tf.frame;

	candump_format_record(r, line, sizeof(line));
	out_str(o, line);
	if (f->flags & BD_FRAME_ERR) {
		out_str(o, " :: error frame\n");
		return;
	}
	if (f->flags & BD_FRAME_RTR) {
		out_str(o, " :: remote frame\n");
		return;
	}
	if (!m) {
		out_printf(o, " :: unknown frame id %u (0x%x)\n", f->id, f->id);
		return;
	}
	out_str(o, " :: ");
	out_text(o, dbc_message_name(m));
	out_char(o, '(');
	for (int i = 0; i < n; i++) {
		const struct dbc_sample *s = &d->samples[i];
		if (i)
			out_str(o, ", ");
		out_text(o, dbc_signal_name(s->signal));
		out_str(o, ": ");
		if (s->choice) {
			out_char(o, '\'');
			out_text(o, s->choice);
			out_char(o, '\'');
		} else {
			out_value(o, s->value, false);
			if (dbc_signal_unit(s->signal)[0]) {
				out_char(o, ' ');
				out_text(o, dbc_signal_unit(s->signal));
			}
		}
	}
	out_char(o, ')');
	if (st->flags) {
		char err[256];
		dbc_decode_status_format(st, err, sizeof(err));
		out_str(o, " error: ");
		out_str(o, err);
	}
	out_char(o, '\n');
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
	if (d->json)
		emit_json(d, r, m, n, &st);
	else
		emit_text(d, r, m, n, &st);
	return d->out.error;
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
	if (!d.samples || (d.json && make_keys(&d) < 0)) {
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
