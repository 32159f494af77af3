/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The words of the rule language, shared by its grammar (rules_lang.c) and read here
 * (rules_syntax.c): the parse state, a line lexer, and the readers of one token kind each
 * (identifier, quoted string, number, integer, duration, comparison, list), every one
 * failing with the line and column of what it read. Not installed.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules_lang-private.h"

#define MAX_LINE_TOKENS 96u
#define MAX_STRING 255u
#define MAX_NAME 127u

/* Functions shared between the front end's files, never exported by the library. */
#define RULES_SYNTAX __attribute__((visibility("hidden")))

enum tok_type {
	TOK_WORD,
	TOK_STRING,
	TOK_OP, /* == != < <= > >= : , | */
	TOK_TYPE_MAX,
};

struct token {
	enum tok_type type;
	const char *s; /* WORD, OP: points into the source; STRING: into p->strbuf */
	size_t len;
	unsigned column;
	const char *src_start, *src_end; /* the token's extent in the source */
};

/* Parsing state. */
struct parse {
	struct rules_set *set;
	struct rules_error *err;
	const char *filename;
	unsigned line;
	struct token toks[MAX_LINE_TOKENS];
	size_t ntok;
	char strbuf[MAX_LINE_TOKENS * (MAX_STRING + 1)]; /* unescaped strings of the line */
	size_t strused;
	bool seen_format;
	/* rule or question being filled */
	struct rule_src *rule;
	struct question_src *question;
	struct action_src *action;
	/* `when` block: stack of open groups (rule-local node indices); 0 depth = closed */
	uint32_t groups[RULES_MAX_DEPTH + 1];
	unsigned group_line[RULES_MAX_DEPTH + 1];
	unsigned depth;
	bool when_done;
	const char *block; /* the clause that opened the group: when, works, fails */
	/* sequence that `and` / `then` lines (and a first step after `:`) continue */
	uint32_t cont_seq;
	bool want_first_step;
};

/* A copy of s (len bytes) in the set's arena; NULL on allocation failure. */
RULES_SYNTAX char *rules_arena_strndup(struct arena *a, const char *s, size_t len);
RULES_SYNTAX void rules_arena_free(struct arena *a);

/* Records the mistake at the current line and column in p->err; returns -EINVAL. */
RULES_SYNTAX int rules_fail(struct parse *p, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Tokenizes [s, end) (one line without its newline) into p->toks. */
RULES_SYNTAX int rules_lex_line(struct parse *p, const char *s, const char *end);

/* Token i is the word or operator `word` (never a string). */
RULES_SYNTAX bool rules_tok_is(const struct token *t, const char *word);
/* Column of token i, or just past the last one. */
RULES_SYNTAX unsigned rules_col_at(const struct parse *p, size_t i);
/* Token i quoted for messages ("end of line" past the end). */
RULES_SYNTAX const char *rules_tok_desc(const struct parse *p, size_t i, char *buf, size_t size);
/* A failure unless token i is past the end of the line. */
RULES_SYNTAX int rules_expect_end(struct parse *p, size_t i);
/* A copy of token t's text in the arena. */
RULES_SYNTAX const char *rules_dup_tok(struct parse *p, const struct token *t);

/* Readers: each takes token *i, advances *i past what it read, and names `what` in its
 * failure. */
RULES_SYNTAX int rules_want_ident(struct parse *p, size_t *i, const char *what, const char **ret);
RULES_SYNTAX int rules_want_string(struct parse *p, size_t *i, const char *what, const char **ret);
RULES_SYNTAX int rules_want_number(struct parse *p, size_t *i, const char *what, double *ret);
RULES_SYNTAX int rules_want_uint(struct parse *p, size_t *i, const char *what, unsigned lo,
				 unsigned hi, unsigned *ret);
/* DURATION: a positive number with a unit: us, ms, s or min ("150ms", "1.5s"). */
RULES_SYNTAX int rules_want_duration(struct parse *p, size_t *i, int64_t *ret);
RULES_SYNTAX int rules_want_cmp(struct parse *p, size_t *i, enum cmp *ret);
/* name {, name}: a malloc'd array of arena strings (and their columns, when ret_cols is not
 * NULL); with idents, the names must be identifiers. */
RULES_SYNTAX int rules_want_list(struct parse *p, size_t *i, const char *what, bool idents,
				 const char ***ret, size_t *ret_n, unsigned **ret_cols);

/* rules_cond.c: conditions, built into the current rule as they are read */
RULES_SYNTAX int rules_want_role(struct parse *p, size_t *i, const char *what, uint32_t *ret);
RULES_SYNTAX const char *rules_label_list(const struct role *ro, char *buf, size_t size);
RULES_SYNTAX int rules_new_node(struct parse *p, enum node_kind kind, size_t tok, uint32_t *ret);
RULES_SYNTAX int rules_parse_cond(struct parse *p, size_t *i, unsigned depth, uint32_t *ret_node);
RULES_SYNTAX void rules_add_child(struct rule_src *r, uint32_t parent, uint32_t child);
RULES_SYNTAX int rules_parse_step(struct parse *p, size_t *i, uint32_t seq, bool then);
RULES_SYNTAX int rules_parse_more_steps(struct parse *p, size_t *i, uint32_t seq);
