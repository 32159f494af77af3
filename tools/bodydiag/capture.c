/* SPDX-License-Identifier: MIT */
/*
 * capture: a candump log and the person's marks, merged in time order (capture.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/candump.h"
#include "capture.h"
#include "out.h"

struct mark {
	int64_t t_us;
	unsigned line; /* for a stable sort */
	char name[CAPTURE_MARK_NAME_MAX + 1];
};

struct reader {
	const struct capture_ops *ops;
	void *userdata;
	const char *capture;
	bool strict;
	struct mark *marks; /* side file, sorted by time */
	size_t n_marks, next_mark;
	unsigned bad_lines, capture_marks;
	struct line_notes bad; /* the first few bad lines are shown, then counted */
	char line[CANDUMP_MAX_LINE + 1];
	size_t line_len;
	bool line_too_long;
	unsigned lineno;
};

/* "SECONDS[.FRACTION]" on the capture's clock -> microseconds (digits past the sixth
 * dropped, as candump's own reader does). Returns the bytes used, 0 when malformed. */
static size_t parse_time(const char *s, size_t len, int64_t *ret)
{
	size_t i = 0;
	int64_t sec = 0, us = 0;
	if (i >= len || s[i] < '0' || s[i] > '9')
		return 0;
	for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		if (sec > (INT64_MAX / 1000000 - 10) / 10)
			return 0;
		sec = sec * 10 + (s[i] - '0');
	}
	if (i < len && s[i] == '.') {
		i++;
		int digits = 0;
		if (i >= len || s[i] < '0' || s[i] > '9')
			return 0;
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++)
			if (digits < 6)
				us = us * 10 + (s[i] - '0');
		for (; digits < 6; digits++)
			us *= 10;
	}
	*ret = sec * 1000000 + us;
	return i;
}

static bool is_name_char(char c, bool first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (!first && c >= '0' && c <= '9');
}

static size_t skip_blanks(const char *s, size_t len, size_t i)
{
	while (i < len && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i;
}

/*
 * One mark: "TIME mark NAME" (side file) or, with in_capture, "mark TIME NAME" after the
 * '#'. Returns 0, or -EINVAL with *col (1-based) and *why.
 */
static int parse_mark(const char *s, size_t len, size_t i, bool in_capture, struct mark *m,
		      size_t *col, const char **why)
{
	size_t n;
	if (len && s[len - 1] == '\r')
		len--;
	i = skip_blanks(s, len, i);
	if (in_capture)
		i = skip_blanks(s, len, i + 4);
	n = parse_time(s + i, len - i, &m->t_us);
	if (!n) {
		*col = i + 1;
		*why = "expected a time, SECONDS or SECONDS.MICROS";
		return -EINVAL;
	}
	i += n;
	if (i < len && s[i] != ' ' && s[i] != '\t') {
		*col = i + 1;
		*why = "malformed time";
		return -EINVAL;
	}
	i = skip_blanks(s, len, i);
	if (!in_capture) {
		if (len - i < 4 || memcmp(s + i, "mark", 4) != 0 ||
		    (i + 4 < len && s[i + 4] != ' ' && s[i + 4] != '\t')) {
			*col = i + 1;
			*why = "expected 'mark' after the time";
			return -EINVAL;
		}
		i = skip_blanks(s, len, i + 4);
	}
	size_t start = i;
	if (i >= len) {
		*col = i + 1;
		*why = "missing mark name";
		return -EINVAL;
	}
	for (; i < len && s[i] != ' ' && s[i] != '\t' && s[i] != '#'; i++) {
		if (!is_name_char(s[i], i == start)) {
			*col = i + 1;
			*why = "invalid mark name (letters, digits and '_', not starting with a "
			       "digit)";
			return -EINVAL;
		}
	}
	if (i - start > CAPTURE_MARK_NAME_MAX) {
		*col = start + 1;
		*why = "mark name longer than 127 bytes";
		return -EINVAL;
	}
	memcpy(m->name, s + start, i - start);
	m->name[i - start] = '\0';
	i = skip_blanks(s, len, i);
	if (i < len && s[i] != '#') {
		*col = i + 1;
		*why = "unexpected text after the mark name";
		return -EINVAL;
	}
	return 0;
}

static int mark_cmp(const void *a, const void *b)
{
	const struct mark *x = a, *y = b;
	if (x->t_us != y->t_us)
		return x->t_us < y->t_us ? -1 : 1;
	return x->line < y->line ? -1 : x->line > y->line;
}

static int load_marks(struct reader *a, const char *path)
{
	char *text;
	size_t len, cap = 0;
	int r = read_file(path, &text, &len);
	if (r < 0) {
		fprintf(stderr, "bodydiag: %s: %s\n", path, strerror(-r));
		return r;
	}
	unsigned lineno = 0;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos;
		const char *nl = memchr(s, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - s) : len - pos;
		pos += l + (nl ? 1 : 0);
		lineno++;
		size_t i = skip_blanks(s, l, 0);
		if (i == l || s[i] == '#' || (s[i] == '\r' && i + 1 == l))
			continue;
		if (memchr(s, '\0', l)) {
			fprintf(stderr, "%s:%u:%zu: error: NUL byte\n", path, lineno,
				(size_t)((const char *)memchr(s, '\0', l) - s) + 1);
			r = -EINVAL;
			break;
		}
		if (a->n_marks == CAPTURE_MAX_MARKS) {
			fprintf(stderr, "%s:%u:1: error: more than %u marks\n", path, lineno,
				CAPTURE_MAX_MARKS);
			r = -E2BIG;
			break;
		}
		if (a->n_marks == cap) {
			cap = cap ? cap * 2 : 16;
			struct mark *nm = realloc(a->marks, cap * sizeof(*nm));
			if (!nm) {
				r = -ENOMEM;
				fprintf(stderr, "bodydiag: out of memory\n");
				break;
			}
			a->marks = nm;
		}
		struct mark *m = &a->marks[a->n_marks];
		size_t col;
		const char *why;
		if (parse_mark(s, l, 0, false, m, &col, &why) < 0) {
			fprintf(stderr, "%s:%u:%zu: error: %s\n", path, lineno, col, why);
			r = -EINVAL;
			break;
		}
		m->line = lineno;
		a->n_marks++;
	}
	free(text);
	if (r >= 0 && a->n_marks)
		qsort(a->marks, a->n_marks, sizeof(*a->marks), mark_cmp);
	return r;
}

static int feed_mark(struct reader *a, const struct mark *m, const char *file, unsigned line)
{
	return a->ops->mark(a->userdata, m->t_us, m->name, file, line);
}

/* Side-file marks up to t, so the engine sees marks and frames in time order. */
static int feed_marks_until(struct reader *a, int64_t t, const char *marks_path)
{
	while (a->next_mark < a->n_marks && a->marks[a->next_mark].t_us <= t) {
		const struct mark *m = &a->marks[a->next_mark++];
		int r = feed_mark(a, m, marks_path, m->line);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A malformed capture line: reported (the first few, then counted) and skipped, or fatal
 * with strict. */
static int bad_line(struct reader *a, const char *why)
{
	a->bad_lines++;
	line_note(&a->bad, a->lineno, 0, why);
	return a->strict ? -EBADMSG : 0;
}

static int capture_line(struct reader *a, const char *s, size_t len, const char *marks_path)
{
	struct candump_record rec;
	const char *why;
	size_t i = skip_blanks(s, len, 0);
	int r;

	if (i == len || (s[i] == '\r' && i + 1 == len))
		return 0;
	if (s[i] == '#') {
		size_t k = skip_blanks(s, len, i + 1);
		if (len - k >= 5 && memcmp(s + k, "mark", 4) == 0 && (s[k + 4] == ' ' || s[k + 4] == '\t')) {
			struct mark m;
			size_t col;
			if (parse_mark(s, len, k, true, &m, &col, &why) < 0) {
				fprintf(stderr, "%s:%u:%zu: error: %s\n", a->capture, a->lineno, col,
					why);
				return -EINVAL;
			}
			r = feed_marks_until(a, m.t_us, marks_path);
			if (r >= 0)
				r = feed_mark(a, &m, a->capture, a->lineno);
			if (r >= 0)
				a->capture_marks++;
			return r;
		}
		return 0; /* a comment */
	}
	if (candump_parse_line(s, len, &why, &rec) < 0) {
		return bad_line(a, why);
	}
	r = feed_marks_until(a, rec.tf.t_us, marks_path);
	if (r < 0)
		return r;
	if (!bd_frame_is_valid(&rec.tf.frame)) {
		return bad_line(a, "invalid frame");
	}
	return a->ops->frame(a->userdata, &rec.tf);
}

/* Splits the stream into lines of at most CANDUMP_MAX_LINE bytes (longer ones are bad). */
static int capture_feed(struct reader *a, const char *buf, size_t n, bool eof,
			const char *marks_path)
{
	for (size_t i = 0; i < n || (eof && i == n); i++) {
		bool end = i == n;
		if (!end && buf[i] != '\n') {
			if (a->line_len < CANDUMP_MAX_LINE)
				a->line[a->line_len++] = buf[i];
			else
				a->line_too_long = true;
			continue;
		}
		if (end && a->line_len == 0 && !a->line_too_long)
			break;
		a->lineno++;
		int r = 0;
		if (a->line_too_long) {
			r = bad_line(a, "longer than 512 bytes"); /* CANDUMP_MAX_LINE */
		} else if (memchr(a->line, '\0', a->line_len)) {
			r = bad_line(a, "NUL byte");
		} else {
			r = capture_line(a, a->line, a->line_len, marks_path);
		}
		a->line_len = 0;
		a->line_too_long = false;
		if (r < 0)
			return r;
		if (end)
			break;
	}
	return 0;
}

int capture_read(const char *capture, const char *marks_path, bool strict,
		 const struct capture_ops *ops, void *userdata, struct capture_result *ret)
{
	struct reader a = {.ops = ops, .userdata = userdata, .capture = capture, .strict = strict,
			   .bad = {.file = capture, .severity = strict ? "error: bad line" : "bad line",
				   .what = "bad lines", .shown_max = strict ? 0 : 5}};
	int r = 0, fd = -1;

	if (marks_path && (r = load_marks(&a, marks_path)) < 0)
		goto out;
	fd = strcmp(capture, "-") == 0 ? STDIN_FILENO : open(capture, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "bodydiag: %s: %s\n", capture, strerror(errno));
		goto out;
	}
	for (;;) {
		char buf[1u << 16];
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			fprintf(stderr, "bodydiag: %s: %s\n", capture, strerror(errno));
			goto out;
		}
		r = capture_feed(&a, buf, (size_t)n, n == 0, marks_path);
		if (r < 0 || n == 0)
			break;
	}
	if (r >= 0)
		r = feed_marks_until(&a, INT64_MAX, marks_path);
	line_notes_finish(&a.bad);
	if (r >= 0)
		*ret = (struct capture_result){.lines = a.lineno,
					       .bad_lines = a.bad_lines,
					       .capture_marks = a.capture_marks,
					       .side_marks = (unsigned)a.n_marks};
out:
	if (fd > STDIN_FILENO)
		close(fd);
	free(a.marks);
	return r < 0 ? r : 0;
}
