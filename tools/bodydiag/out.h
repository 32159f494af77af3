/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * Buffered output with a small JSON writer: strings escaped (bytes above 0x7F are read
 * as Windows-1252, the encoding cantools assumes for DBC files), doubles
 * printed so that they read back exactly. Writing only: JSON is never parsed here.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct out_double_cache {
	uint64_t bits;
	uint8_t len;
	char text[27];
};

struct out {
	int fd;
	int error; /* first write error, -errno */
	size_t len;
	char buf[1u << 16];
	struct out_double_cache dcache[1024];
};

void out_init(struct out *o, int fd);
void out_flush(struct out *o);
void out_mem(struct out *o, const char *s, size_t n);
void out_str(struct out *o, const char *s);
void out_char(struct out *o, char c);
__attribute__((format(printf, 2, 3))) void out_printf(struct out *o, const char *fmt, ...);
void out_i64(struct out *o, int64_t v);
void out_u64(struct out *o, uint64_t v);
/* Shortest form that reads back to the same double, always with '.' or 'e' ("1.0");
 * non-finite values as the JSON strings "nan", "inf", "-inf" when json is true. */
void out_double(struct out *o, double d, bool json);
/* A JSON string literal with quotes. */
void out_json_string(struct out *o, const char *s);
/* Text from a DBC (Windows-1252) as UTF-8, unquoted. */
void out_text(struct out *o, const char *s);

/*
 * Per-line problems of an input file (a capture's bad lines, a DBC's warnings), printed
 * on stderr as "FILE:LINE[:COL]: SEVERITY: REASON" for the first `shown_max` (0 = all),
 * then counted: a wrong file must not flood the terminal with one message per line.
 * line_notes_finish() prints "FILE: N more ..." for what was not shown.
 */
struct line_notes {
	const char *file;
	const char *severity; /* "warning", "error" */
	const char *what;     /* plural noun for the summary: "bad lines", "DBC warnings" */
	const char *hint;     /* appended to the summary, may be NULL */
	unsigned shown_max;
	unsigned total;
};
void line_note(struct line_notes *n, unsigned line, unsigned column, const char *reason);
void line_notes_finish(const struct line_notes *n);
