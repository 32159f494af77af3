/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * What the three files of the DBC text parser share (not installed): the token reader
 * (dbc-lex.c), the statement parser (dbc-parse.c) and the linking of statements to
 * messages and signals (dbc-resolve.c).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dbc-private.h"

/* BA_DEF_: an attribute's definition (only the ones we read matter). */
struct attr_def {
	const char *name;
	const char *type; /* INT HEX FLOAT STRING ENUM */
	struct vec enums; /* const char * */
	const char *def_text;
};

enum ref_kind {
	REF_COMMENT_MSG,
	REF_COMMENT_SIG,
	REF_ATTR_MSG,
	REF_ATTR_SIG,
	REF_CHOICES,
	REF_SIGTYPE,
	REF_MULVAL,
	REF_TX_BU,
	REF_SIG_GROUP,
};

/* A statement that refers to a message (and maybe a signal), resolved at the end. */
struct ref {
	int kind; /* enum ref_kind, -1 for a statement that belongs to nothing */
	uint32_t dbc_id;
	const char *sig;
	const char *name;
	const char *text;
	double num;
	bool is_string;
	struct vec pairs; /* choices: struct choice; mul val: struct range; senders: char * */
	unsigned line, column;
};

/* The reader over the whole text, and what the statements collect. */
struct lex {
	const char *s;
	size_t len, pos;
	const char *file;
	dbc_warn_fn warn;
	void *userdata;
	struct dbc_error *err;
	struct arena *arena;
	/* collected while parsing */
	struct vec refs; /* struct ref */
	struct vec defs; /* struct attr_def */
	struct dbc *db;
	size_t line_cache_pos;
	unsigned line_cache_line, line_cache_col_base;
};

/* A number as Python's num() reads it. */
struct num {
	double d;
	bool is_int; /* written without '.' or exponent: Python's num() gives an int */
	bool i_ok;   /* i holds the exact value */
	int64_t i;
	const char *text;
	size_t text_len;
};

/* ---- dbc-lex.c: tokens -------------------------------------------------------------- */

static inline bool lex_is_word_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '_';
}

/* Blanks and // comments. */
static inline void lex_skip_ws(struct lex *l)
{
	while (l->pos < l->len) {
		char c = l->s[l->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
			l->pos++;
		} else if (c == '/' && l->pos + 1 < l->len && l->s[l->pos + 1] == '/') {
			while (l->pos < l->len && l->s[l->pos] != '\n')
				l->pos++;
		} else {
			break;
		}
	}
}

static inline bool lex_at_end(struct lex *l)
{
	lex_skip_ws(l);
	return l->pos >= l->len;
}

static inline char lex_peek(struct lex *l)
{
	lex_skip_ws(l);
	return l->pos < l->len ? l->s[l->pos] : '\0';
}

bool lex_is_keyword(const char *w, size_t n);
void lex_position(struct lex *l, size_t pos, unsigned *ret_line, unsigned *ret_col);
/* Fill l->err and return -EINVAL. */
__attribute__((format(printf, 3, 4))) int lex_fail_at(struct lex *l, size_t pos,
						      const char *fmt, ...);
/* A fatal problem found while resolving a message, reported at its BO_. */
__attribute__((format(printf, 3, 4))) int lex_fail_msg(struct lex *l, const struct dbc_message *m,
						       const char *fmt, ...);
__attribute__((format(printf, 3, 4))) void lex_warn_at(struct lex *l, size_t pos,
						       const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void lex_warn_msg(struct lex *l, const struct dbc_message *m,
							const char *what, const char *fmt, ...);
__attribute__((format(printf, 4, 5))) void lex_warn_line(struct lex *l, unsigned line,
							 unsigned column, const char *fmt, ...);

size_t lex_word_len_at(struct lex *l, size_t pos);
/* The word at the cursor, without consuming it. */
size_t lex_peek_word(struct lex *l, const char **ret);
bool lex_peek_keyword(struct lex *l);
bool lex_accept_word(struct lex *l, const char *kw);
bool lex_accept_char(struct lex *l, char c);
int lex_expect_char(struct lex *l, char c, const char *what);
/* A name: [A-Za-z0-9_]+ (opendbc has names starting with a digit), copied to the arena. */
int lex_read_name(struct lex *l, const char *what, const char **ret);
bool lex_num_start(struct lex *l);
int lex_read_number(struct lex *l, const char *what, struct num *ret);
/* Unsigned decimal integer (identifiers, bit positions), range-checked. */
int lex_read_uint(struct lex *l, const char *what, uint64_t max, uint64_t *ret);
bool lex_uint_start(struct lex *l);
/* "..." where \" stands for a quote and every other byte is itself (cantools' rule). */
int lex_read_string(struct lex *l, const char *what, const char **ret);
/* End of a statement: ';', or (opendbc quirk) nothing before the next keyword. */
int lex_expect_end(struct lex *l, const char *what);
/* Skips a statement we do not use. */
void lex_skip_statement(struct lex *l);

/* ---- dbc-parse.c: statements ---------------------------------------------------------- */

/* Every statement of the text; messages and signals go to l->db, the rest to l->refs. */
int dbci_parse_statements(struct lex *l);
struct attr_def *dbci_find_def(struct lex *l, const char *name);

/* ---- dbc-resolve.c: linking --------------------------------------------------------- */

/* Applies l->refs to the messages, resolves multiplexing, checks, compiles the codec. */
int dbci_resolve(struct lex *l);
