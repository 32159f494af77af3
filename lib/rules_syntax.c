/* SPDX-License-Identifier: MIT */
/*
 * rules_syntax: the rule language's words (rules_syntax-private.h): the set's string
 * arena, the line lexer and the token readers the grammar (rules_lang.c) is built from.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules_syntax-private.h"

/* ---- string arena: the set's strings live and die together ---- */

char *rules_arena_strndup(struct arena *a, const char *s, size_t len)
{
	if (!a->head || a->head->cap - a->head->used < len + 1) {
		size_t cap = len + 1 > 16384 ? len + 1 : 16384;
		struct arena_block *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	char *d = a->head->data + a->head->used;
	memcpy(d, s, len);
	d[len] = '\0';
	a->head->used += len + 1;
	return d;
}

void rules_arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

/* ---- lexer: one line at a time into tokens ---- */

int rules_fail(struct parse *p, unsigned column, const char *fmt, ...)
{
	if (p->err) {
		va_list ap;
		snprintf(p->err->file, sizeof(p->err->file), "%s", p->filename);
		p->err->line = p->line;
		p->err->column = column;
		va_start(ap, fmt);
		vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-' || c == '*' || c == '?' || c == '+';
}

/* Tokenizes [s, end) (one line without its newline). */
int rules_lex_line(struct parse *p, const char *s, const char *end)
{
	const char *line_start = s;
	p->ntok = 0;
	p->strused = 0;
	while (s < end) {
		char c = *s;
		unsigned col = (unsigned)(s - line_start) + 1;
		if (c == ' ' || c == '\t' || c == '\r') {
			s++;
			continue;
		}
		if (c == '#')
			break;
		if (p->ntok == MAX_LINE_TOKENS)
			return rules_fail(p, col, "line has too many tokens (limit %u)", MAX_LINE_TOKENS);
		struct token *t = &p->toks[p->ntok];
		t->column = col;
		t->src_start = s;
		if (is_word_char(c)) {
			const char *b = s;
			while (s < end && is_word_char(*s))
				s++;
			*t = (struct token){TOK_WORD, b, (size_t)(s - b), col, b, s};
		} else if (c == '"') {
			char *d = p->strbuf + p->strused;
			size_t n = 0;
			s++;
			for (;;) {
				if (s >= end)
					return rules_fail(p, col, "unterminated string");
				if (*s == '"')
					break;
				char ch = *s;
				if (ch == '\\') {
					if (s + 1 >= end || (s[1] != '"' && s[1] != '\\'))
						return rules_fail(p, (unsigned)(s - line_start) + 1,
							    "unknown escape in string (only \\\" "
							    "and \\\\)");
					ch = s[1];
					s++;
				} else if ((unsigned char)ch < 0x20 && ch != '\t') {
					return rules_fail(p, (unsigned)(s - line_start) + 1,
						    "control character in string");
				}
				if (n == MAX_STRING)
					return rules_fail(p, col, "string too long (limit %u bytes)",
						    MAX_STRING);
				d[n++] = ch;
				s++;
			}
			s++;
			d[n] = '\0';
			p->strused += n + 1;
			*t = (struct token){TOK_STRING, d, n, col, t->src_start, s};
		} else if (c == ':' || c == ',' || c == '|') {
			*t = (struct token){TOK_OP, s, 1, col, s, s + 1};
			s++;
		} else if (c == '=' || c == '!' || c == '<' || c == '>') {
			size_t n = (s + 1 < end && s[1] == '=') ? 2 : 1;
			if (n == 1 && (c == '=' || c == '!'))
				return rules_fail(p, col, "unexpected '%c' (did you mean '%c='?)", c, c);
			*t = (struct token){TOK_OP, s, n, col, s, s + n};
			s += n;
		} else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f) {
			return rules_fail(p, col, "unexpected character '%c'", c);
		} else {
			return rules_fail(p, col, "unexpected byte 0x%02x", (unsigned char)c);
		}
		p->ntok++;
	}
	return 0;
}

/* ---- token helpers ---- */

bool rules_tok_is(const struct token *t, const char *word)
{
	size_t n = strlen(word);
	return t->len == n && !memcmp(t->s, word, n) && t->type != TOK_STRING;
}

/* Column just past the last token, for "expected X" at the end of a line. */
static unsigned end_column(const struct parse *p)
{
	if (!p->ntok)
		return 1;
	const struct token *t = &p->toks[p->ntok - 1];
	return t->column + (unsigned)(t->src_end - t->src_start);
}

unsigned rules_col_at(const struct parse *p, size_t i)
{
	return i < p->ntok ? p->toks[i].column : end_column(p);
}

/* Quoted description of token i for messages ("end of line" past the end). */
const char *rules_tok_desc(const struct parse *p, size_t i, char *buf, size_t size)
{
	if (i >= p->ntok)
		return "end of line";
	const struct token *t = &p->toks[i];
	int n = t->len > 40 ? 40 : (int)t->len;
	snprintf(buf, size, "%s%.*s%s%s", t->type == TOK_STRING ? "\"" : "'", n, t->s,
		 t->len > 40 ? "..." : "", t->type == TOK_STRING ? "\"" : "'");
	return buf;
}

int rules_expect_end(struct parse *p, size_t i)
{
	char d[64];
	if (i < p->ntok)
		return rules_fail(p, rules_col_at(p, i), "unexpected %s at end of statement",
			    rules_tok_desc(p, i, d, sizeof(d)));
	return 0;
}

static bool valid_ident(const struct token *t)
{
	if (t->type != TOK_WORD || t->len == 0 || t->len > MAX_NAME)
		return false;
	char c = t->s[0];
	if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'))
		return false;
	for (size_t i = 1; i < t->len; i++) {
		c = t->s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_'))
			return false;
	}
	return true;
}

const char *rules_dup_tok(struct parse *p, const struct token *t)
{
	return rules_arena_strndup(&p->set->arena, t->s, t->len);
}

/* An identifier (rule id, signal, mark): stores a copy in *ret. what names it for errors. */
int rules_want_ident(struct parse *p, size_t *i, const char *what, const char **ret)
{
	char d[64];
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
		return rules_fail(p, rules_col_at(p, *i), "expected %s, got %s", what,
			    rules_tok_desc(p, *i, d, sizeof(d)));
	if (!valid_ident(&p->toks[*i]))
		return rules_fail(p, rules_col_at(p, *i),
			    "invalid %s %s (letters, digits and '_', not starting with a digit, "
			    "at most %u bytes)",
			    what, rules_tok_desc(p, *i, d, sizeof(d)), MAX_NAME);
	*ret = rules_dup_tok(p, &p->toks[*i]);
	if (!*ret)
		return -ENOMEM;
	(*i)++;
	return 0;
}

int rules_want_string(struct parse *p, size_t *i, const char *what, const char **ret)
{
	char d[64];
	if (*i >= p->ntok || p->toks[*i].type != TOK_STRING)
		return rules_fail(p, rules_col_at(p, *i), "expected %s in double quotes, got %s", what,
			    rules_tok_desc(p, *i, d, sizeof(d)));
	*ret = rules_dup_tok(p, &p->toks[*i]);
	if (!*ret)
		return -ENOMEM;
	(*i)++;
	return 0;
}

/* Token i as a C string in buf, when it is a word that fits; NULL otherwise. */
static const struct token *tok_cstr(const struct parse *p, size_t i, char *buf, size_t size)
{
	if (i >= p->ntok || p->toks[i].type != TOK_WORD || p->toks[i].len >= size)
		return NULL;
	memcpy(buf, p->toks[i].s, p->toks[i].len);
	buf[p->toks[i].len] = '\0';
	return &p->toks[i];
}

int rules_want_number(struct parse *p, size_t *i, const char *what, double *ret)
{
	char d[64], buf[64];
	const struct token *t = tok_cstr(p, *i, buf, sizeof(buf));
	if (!t)
		return rules_fail(p, rules_col_at(p, *i), "expected %s (a number), got %s", what,
			    rules_tok_desc(p, *i, d, sizeof(d)));
	char *endp;
	errno = 0;
	double v = strtod(buf, &endp);
	if (endp == buf || *endp || errno == ERANGE || !isfinite(v))
		return rules_fail(p, t->column, "expected %s (a number), got %s", what,
			    rules_tok_desc(p, *i, d, sizeof(d)));
	*ret = v;
	(*i)++;
	return 0;
}

int rules_want_uint(struct parse *p, size_t *i, const char *what, unsigned lo, unsigned hi,
		     unsigned *ret)
{
	char d[64], buf[32];
	const struct token *t = tok_cstr(p, *i, buf, sizeof(buf));
	if (!t)
		return rules_fail(p, rules_col_at(p, *i), "expected %s (an integer %u..%u), got %s", what, lo,
			    hi, rules_tok_desc(p, *i, d, sizeof(d)));
	char *endp;
	errno = 0;
	long v = strtol(buf, &endp, 0);
	if (endp == buf || *endp || errno == ERANGE || buf[0] == '-' || buf[0] == '+')
		return rules_fail(p, t->column, "expected %s (an integer %u..%u), got %s", what, lo, hi,
			    rules_tok_desc(p, *i, d, sizeof(d)));
	if (v < (long)lo || v > (long)hi)
		return rules_fail(p, t->column, "%s %ld out of range %u..%u", what, v, lo, hi);
	*ret = (unsigned)v;
	(*i)++;
	return 0;
}

/* DURATION: a positive number with a unit: us, ms, s or min ("150ms", "1.5s"). */
int rules_want_duration(struct parse *p, size_t *i, int64_t *ret)
{
	char d[64], buf[64];
	const struct token *t = tok_cstr(p, *i, buf, sizeof(buf));
	if (!t)
		return rules_fail(p, rules_col_at(p, *i), "expected a duration (like 150ms or 2s), got %s",
			    rules_tok_desc(p, *i, d, sizeof(d)));
	char *endp;
	errno = 0;
	double v = strtod(buf, &endp);
	double mult;
	if (endp == buf || errno == ERANGE || !isfinite(v))
		mult = -1;
	else if (!strcmp(endp, "us"))
		mult = 1;
	else if (!strcmp(endp, "ms"))
		mult = 1e3;
	else if (!strcmp(endp, "s"))
		mult = 1e6;
	else if (!strcmp(endp, "min"))
		mult = 60e6;
	else
		mult = -1;
	if (mult < 0)
		return rules_fail(p, t->column,
			    "invalid duration %s (a number followed by us, ms, s or min)",
			    rules_tok_desc(p, *i, d, sizeof(d)));
	double us = v * mult;
	if (!(us >= 1.0) || us > (double)RULES_MAX_DURATION_US)
		return rules_fail(p, t->column, "duration %s out of range (1us..24h)",
			    rules_tok_desc(p, *i, d, sizeof(d)));
	*ret = (int64_t)llround(us);
	(*i)++;
	return 0;
}

int rules_want_cmp(struct parse *p, size_t *i, enum cmp *ret)
{
	static const char *const ops[CMP_MAX] = {"==", "!=", "<", "<=", ">", ">="};
	char d[64];
	if (*i < p->ntok && p->toks[*i].type == TOK_OP) {
		for (unsigned k = 0; k < CMP_MAX; k++) {
			if (rules_tok_is(&p->toks[*i], ops[k])) {
				*ret = (enum cmp)k;
				(*i)++;
				return 0;
			}
		}
	}
	return rules_fail(p, rules_col_at(p, *i), "expected a comparison (==, !=, <, <=, >, >=), got %s",
		    rules_tok_desc(p, *i, d, sizeof(d)));
}

/* name {, name}: into a malloc'd array of arena strings. idents: names must be identifiers. */
int rules_want_list(struct parse *p, size_t *i, const char *what, bool idents, const char ***ret,
		     size_t *ret_n, unsigned **ret_cols)
{
	char d[64];
	const char **list = calloc(RULES_MAX_LIST, sizeof(*list));
	unsigned *cols = calloc(RULES_MAX_LIST, sizeof(*cols));
	size_t n = 0;
	int r;
	if (!list || !cols) {
		r = -ENOMEM;
		goto fail;
	}
	for (;;) {
		if (n == RULES_MAX_LIST) {
			r = rules_fail(p, rules_col_at(p, *i), "too many entries in the list (limit %u)",
				 RULES_MAX_LIST);
			goto fail;
		}
		cols[n] = rules_col_at(p, *i);
		if (idents) {
			r = rules_want_ident(p, i, what, &list[n]);
			if (r < 0)
				goto fail;
		} else {
			if (*i >= p->ntok || p->toks[*i].type != TOK_WORD) {
				r = rules_fail(p, rules_col_at(p, *i), "expected %s, got %s", what,
					 rules_tok_desc(p, *i, d, sizeof(d)));
				goto fail;
			}
			list[n] = rules_dup_tok(p, &p->toks[*i]);
			if (!list[n]) {
				r = -ENOMEM;
				goto fail;
			}
			(*i)++;
		}
		n++;
		if (*i >= p->ntok || !rules_tok_is(&p->toks[*i], ","))
			break;
		(*i)++;
	}
	*ret = list;
	*ret_n = n;
	if (ret_cols)
		*ret_cols = cols;
	else
		free(cols);
	return 0;
fail:
	free(list);
	free(cols);
	return r;
}
