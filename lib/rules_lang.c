/* SPDX-License-Identifier: MIT */
/*
 * rules_lang: the rule language's front end (rules_lang.h): a line lexer, a recursive
 * parser for conditions, and the checks that need the whole file (rules_out / covers
 * naming rules defined later). Roles and their labels are resolved against the role
 * registry as they are read, so every mistake carries the line and column where it was
 * written. The set's layout is in rules_lang-private.h.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/rules_lang.h"
#include "bytes.h"
#include "rules_lang-private.h"

#define MAX_LINE_TOKENS 96u
#define MAX_STRING 255u
#define MAX_NAME 127u

/* ---- string arena: the set's strings live and die together ---- */

static char *arena_strndup(struct arena *a, const char *s, size_t len)
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

static void arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *n = a->head->next;
		free(a->head);
		a->head = n;
	}
}

/* ---- the set ---- */

static void rule_src_finish(struct rule_src *r)
{
	free(r->rules_out);
	free(r->covers);
	free(r->evidence);
	free(r->rules_out_idx);
	free(r->covers_idx);
	free(r->rules_out_col);
	free(r->covers_col);
	for (size_t i = 0; i < r->n_atoms; i++)
		free(r->atoms[i].marks);
	free(r->atoms);
	free(r->nodes);
}

struct rules_set *rules_set_free(struct rules_set *set)
{
	if (!set)
		return NULL;
	for (size_t i = 0; i < set->n_rules; i++)
		rule_src_finish(&set->rules[i]);
	for (size_t i = 0; i < set->n_links; i++)
		rule_src_finish(&set->links[i]);
	free(set->rules);
	free(set->links);
	free(set->questions);
	arena_free(&set->arena);
	free(set);
	return NULL;
}

size_t rules_set_rule_count(const struct rules_set *set)
{
	return set ? set->n_rules : 0;
}

const char *rules_set_rule_id(const struct rules_set *set, size_t i)
{
	if (!set || i >= set->n_rules)
		return NULL;
	return set->rules[i].id;
}

enum rules_kind rules_set_rule_kind(const struct rules_set *set, size_t i)
{
	if (!set || i >= set->n_rules)
		return RULES_KIND_CAUSE;
	return set->rules[i].kind;
}

size_t rules_set_question_count(const struct rules_set *set)
{
	return set ? set->n_questions : 0;
}

size_t rules_set_link_count(const struct rules_set *set)
{
	return set ? set->n_links : 0;
}

int rules_error_format(const struct rules_error *e, char *buf, size_t size)
{
	return snprintf(buf, size, "%s:%u:%u: %s", e->file, e->line, e->column, e->message);
}

/* ---- lexer: one line at a time into tokens ---- */

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

struct rules_parser {
	char *filename;
	char *buf;
	size_t len, cap;
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

static int fail(struct parse *p, unsigned column, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct parse *p, unsigned column, const char *fmt, ...)
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
static int lex_line(struct parse *p, const char *s, const char *end)
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
			return fail(p, col, "line has too many tokens (limit %u)", MAX_LINE_TOKENS);
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
					return fail(p, col, "unterminated string");
				if (*s == '"')
					break;
				char ch = *s;
				if (ch == '\\') {
					if (s + 1 >= end || (s[1] != '"' && s[1] != '\\'))
						return fail(p, (unsigned)(s - line_start) + 1,
							    "unknown escape in string (only \\\" "
							    "and \\\\)");
					ch = s[1];
					s++;
				} else if ((unsigned char)ch < 0x20 && ch != '\t') {
					return fail(p, (unsigned)(s - line_start) + 1,
						    "control character in string");
				}
				if (n == MAX_STRING)
					return fail(p, col, "string too long (limit %u bytes)",
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
				return fail(p, col, "unexpected '%c' (did you mean '%c='?)", c, c);
			*t = (struct token){TOK_OP, s, n, col, s, s + n};
			s += n;
		} else if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f) {
			return fail(p, col, "unexpected character '%c'", c);
		} else {
			return fail(p, col, "unexpected byte 0x%02x", (unsigned char)c);
		}
		p->ntok++;
	}
	return 0;
}

/* ---- token helpers ---- */

static bool tok_is(const struct token *t, const char *word)
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

static unsigned col_at(const struct parse *p, size_t i)
{
	return i < p->ntok ? p->toks[i].column : end_column(p);
}

/* Quoted description of token i for messages ("end of line" past the end). */
static const char *tok_desc(const struct parse *p, size_t i, char *buf, size_t size)
{
	if (i >= p->ntok)
		return "end of line";
	const struct token *t = &p->toks[i];
	int n = t->len > 40 ? 40 : (int)t->len;
	snprintf(buf, size, "%s%.*s%s%s", t->type == TOK_STRING ? "\"" : "'", n, t->s,
		 t->len > 40 ? "..." : "", t->type == TOK_STRING ? "\"" : "'");
	return buf;
}

static int expect_end(struct parse *p, size_t i)
{
	char d[64];
	if (i < p->ntok)
		return fail(p, col_at(p, i), "unexpected %s at end of statement",
			    tok_desc(p, i, d, sizeof(d)));
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

static const char *dup_tok(struct parse *p, const struct token *t)
{
	return arena_strndup(&p->set->arena, t->s, t->len);
}

/* An identifier (rule id, signal, mark): stores a copy in *ret. what names it for errors. */
static int want_ident(struct parse *p, size_t *i, const char *what, const char **ret)
{
	char d[64];
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
		return fail(p, col_at(p, *i), "expected %s, got %s", what,
			    tok_desc(p, *i, d, sizeof(d)));
	if (!valid_ident(&p->toks[*i]))
		return fail(p, col_at(p, *i),
			    "invalid %s %s (letters, digits and '_', not starting with a digit, "
			    "at most %u bytes)",
			    what, tok_desc(p, *i, d, sizeof(d)), MAX_NAME);
	*ret = dup_tok(p, &p->toks[*i]);
	if (!*ret)
		return -ENOMEM;
	(*i)++;
	return 0;
}

static int want_string(struct parse *p, size_t *i, const char *what, const char **ret)
{
	char d[64];
	if (*i >= p->ntok || p->toks[*i].type != TOK_STRING)
		return fail(p, col_at(p, *i), "expected %s in double quotes, got %s", what,
			    tok_desc(p, *i, d, sizeof(d)));
	*ret = dup_tok(p, &p->toks[*i]);
	if (!*ret)
		return -ENOMEM;
	(*i)++;
	return 0;
}

static int want_number(struct parse *p, size_t *i, const char *what, double *ret)
{
	char d[64], buf[64];
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD || p->toks[*i].len >= sizeof(buf))
		return fail(p, col_at(p, *i), "expected %s (a number), got %s", what,
			    tok_desc(p, *i, d, sizeof(d)));
	const struct token *t = &p->toks[*i];
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	char *endp;
	errno = 0;
	double v = strtod(buf, &endp);
	if (endp == buf || *endp || errno == ERANGE || !isfinite(v))
		return fail(p, t->column, "expected %s (a number), got %s", what,
			    tok_desc(p, *i, d, sizeof(d)));
	*ret = v;
	(*i)++;
	return 0;
}

static int want_uint(struct parse *p, size_t *i, const char *what, unsigned lo, unsigned hi,
		     unsigned *ret)
{
	char d[64], buf[32];
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD || p->toks[*i].len >= sizeof(buf))
		return fail(p, col_at(p, *i), "expected %s (an integer %u..%u), got %s", what, lo,
			    hi, tok_desc(p, *i, d, sizeof(d)));
	const struct token *t = &p->toks[*i];
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
	char *endp;
	errno = 0;
	long v = strtol(buf, &endp, 0);
	if (endp == buf || *endp || errno == ERANGE || buf[0] == '-' || buf[0] == '+')
		return fail(p, t->column, "expected %s (an integer %u..%u), got %s", what, lo, hi,
			    tok_desc(p, *i, d, sizeof(d)));
	if (v < (long)lo || v > (long)hi)
		return fail(p, t->column, "%s %ld out of range %u..%u", what, v, lo, hi);
	*ret = (unsigned)v;
	(*i)++;
	return 0;
}

/* DURATION: a positive number with a unit: us, ms, s or min ("150ms", "1.5s"). */
static int want_duration(struct parse *p, size_t *i, int64_t *ret)
{
	char d[64], buf[64];
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD || p->toks[*i].len >= sizeof(buf))
		return fail(p, col_at(p, *i), "expected a duration (like 150ms or 2s), got %s",
			    tok_desc(p, *i, d, sizeof(d)));
	const struct token *t = &p->toks[*i];
	memcpy(buf, t->s, t->len);
	buf[t->len] = '\0';
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
		return fail(p, t->column,
			    "invalid duration %s (a number followed by us, ms, s or min)",
			    tok_desc(p, *i, d, sizeof(d)));
	double us = v * mult;
	if (!(us >= 1.0) || us > (double)RULES_MAX_DURATION_US)
		return fail(p, t->column, "duration %s out of range (1us..24h)",
			    tok_desc(p, *i, d, sizeof(d)));
	*ret = (int64_t)llround(us);
	(*i)++;
	return 0;
}

static int want_cmp(struct parse *p, size_t *i, enum cmp *ret)
{
	static const char *const ops[CMP_MAX] = {"==", "!=", "<", "<=", ">", ">="};
	char d[64];
	if (*i < p->ntok && p->toks[*i].type == TOK_OP) {
		for (unsigned k = 0; k < CMP_MAX; k++) {
			if (tok_is(&p->toks[*i], ops[k])) {
				*ret = (enum cmp)k;
				(*i)++;
				return 0;
			}
		}
	}
	return fail(p, col_at(p, *i), "expected a comparison (==, !=, <, <=, >, >=), got %s",
		    tok_desc(p, *i, d, sizeof(d)));
}

/* name {, name}: into a malloc'd array of arena strings. idents: names must be identifiers. */
static int want_list(struct parse *p, size_t *i, const char *what, bool idents, const char ***ret,
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
			r = fail(p, col_at(p, *i), "too many entries in the list (limit %u)",
				 RULES_MAX_LIST);
			goto fail;
		}
		cols[n] = col_at(p, *i);
		if (idents) {
			r = want_ident(p, i, what, &list[n]);
			if (r < 0)
				goto fail;
		} else {
			if (*i >= p->ntok || p->toks[*i].type != TOK_WORD) {
				r = fail(p, col_at(p, *i), "expected %s, got %s", what,
					 tok_desc(p, *i, d, sizeof(d)));
				goto fail;
			}
			list[n] = dup_tok(p, &p->toks[*i]);
			if (!list[n]) {
				r = -ENOMEM;
				goto fail;
			}
			(*i)++;
		}
		n++;
		if (*i >= p->ntok || !tok_is(&p->toks[*i], ","))
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

/* ---- rule building ---- */

static int new_atom(struct parse *p, uint32_t *ret)
{
	struct rule_src *r = p->rule;
	if (r->n_atoms == r->cap_atoms) {
		size_t cap = r->cap_atoms ? r->cap_atoms * 2 : 8;
		struct atom_src *a = realloc(r->atoms, cap * sizeof(*a));
		if (!a)
			return -ENOMEM;
		r->atoms = a;
		r->cap_atoms = cap;
	}
	r->atoms[r->n_atoms] = (struct atom_src){.nrc = -1, .role = {NONE, NONE}};
	*ret = (uint32_t)r->n_atoms++;
	return 0;
}

static int new_node(struct parse *p, enum node_kind kind, size_t tok, uint32_t *ret)
{
	struct rule_src *r = p->rule;
	if (r->n_nodes == RULES_MAX_CONDITIONS)
		return fail(p, col_at(p, tok), "too many conditions in one rule (limit %u)",
			    RULES_MAX_CONDITIONS);
	if (r->n_nodes == r->cap_nodes) {
		size_t cap = r->cap_nodes ? r->cap_nodes * 2 : 8;
		struct node_src *n = realloc(r->nodes, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		r->nodes = n;
		r->cap_nodes = cap;
	}
	r->nodes[r->n_nodes] = (struct node_src){
	    .kind = kind,
	    .first_child = NONE,
	    .next_sibling = NONE,
	    .atom = NONE,
	    .line = p->line,
	    .column = col_at(p, tok),
	};
	*ret = (uint32_t)r->n_nodes++;
	return 0;
}

static void add_child(struct rule_src *r, uint32_t parent, uint32_t child)
{
	uint32_t *link = &r->nodes[parent].first_child;
	while (*link != NONE)
		link = &r->nodes[*link].next_sibling;
	*link = child;
}

static const char *const status_words[] = {
    "active",
    "thiscycle",
    "pending",
    "confirmed",
    "notcompleted",
    "failedsinceclear",
    "notcompletedthiscycle",
    "warning",
};

static bool is_keyword_stop(const struct token *t)
{
	/* words that end an atom inside a longer condition */
	return tok_is(t, "within") || tok_is(t, "and") || tok_is(t, "then") || tok_is(t, "for") ||
	       tok_is(t, "while") || tok_is(t, ">=") || tok_is(t, ":");
}

/* A role name, checked against the registry. */
static int want_role(struct parse *p, size_t *i, const char *what, uint32_t *ret)
{
	char d[64];
	unsigned idx;
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
		return fail(p, col_at(p, *i), "expected %s, got %s", what,
			    tok_desc(p, *i, d, sizeof(d)));
	const struct token *t = &p->toks[*i];
	if (role_find(t->s, t->len, &idx) < 0)
		return fail(p, t->column,
			    "unknown role %s (rules name chain roles, not vehicle signals: see "
			    "the roles in rules/README.md)",
			    tok_desc(p, *i, d, sizeof(d)));
	*ret = idx;
	(*i)++;
	return 0;
}

/* The labels of a role, for messages: "closed, open". */
static const char *label_list(const struct role *ro, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (unsigned k = 0; k < ro->n_labels && n < size; k++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", k ? ", " : "", ro->labels[k]);
	return buf;
}

/* ROLE CMP VALUE into slot k of an atom: a number for a number role, one of its labels
 * (with == or !=) for a bool or enumeration role. */
static int want_comparison(struct parse *p, size_t *i, const char *what, struct atom_src *a,
			   unsigned k)
{
	char d[64], labels[160];
	int r;
	if ((r = want_role(p, i, what, &a->role[k])) < 0)
		return r;
	const struct role *ro = role_at(a->role[k]);
	size_t at = *i;
	if ((r = want_cmp(p, i, &a->op[k])) < 0)
		return r;
	if (ro->kind == ROLE_KIND_NUMBER)
		return want_number(p, i, "a value to compare with", &a->x[k]);
	if (a->op[k] != CMP_EQ && a->op[k] != CMP_NE)
		return fail(p, p->toks[at].column,
			    "role '%s' has labels (%s): compare it with == or !=", ro->name,
			    label_list(ro, labels, sizeof(labels)));
	unsigned v;
	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD ||
	    role_label_find(ro, p->toks[*i].s, p->toks[*i].len, &v) < 0)
		return fail(p, col_at(p, *i), "unknown value %s of role '%s' (%s)",
			    tok_desc(p, *i, d, sizeof(d)), ro->name,
			    label_list(ro, labels, sizeof(labels)));
	a->x[k] = v;
	(*i)++;
	return 0;
}

static int parse_atom(struct parse *p, size_t *i, uint32_t *ret_atom)
{
	char d[64];
	size_t start = *i;
	uint32_t ai;
	int r;

	if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
		return fail(p, col_at(p, *i),
			    "expected a condition (signal, rises, falls, update, mark, dtc, "
			    "transport, count, after, not, any, all), got %s",
			    tok_desc(p, *i, d, sizeof(d)));
	r = new_atom(p, &ai);
	if (r < 0)
		return r;
	struct atom_src *a = &p->rule->atoms[ai];
	const struct token *kw = &p->toks[(*i)++];

	if (tok_is(kw, "signal")) {
		a->kind = ATOM_LEVEL;
		if ((r = want_comparison(p, i, "a role", a, 0)) < 0)
			return r;
		if (*i < p->ntok && tok_is(&p->toks[*i], "while")) {
			(*i)++;
			a->has_while = true;
			if ((r = want_comparison(p, i, "a role after 'while'", a, 1)) < 0)
				return r;
		}
		if (*i < p->ntok && tok_is(&p->toks[*i], "for")) {
			(*i)++;
			if ((r = want_duration(p, i, &a->for_us)) < 0)
				return r;
		}
	} else if (tok_is(kw, "rises") || tok_is(kw, "falls")) {
		bool rises = tok_is(kw, "rises");
		a->kind = ATOM_EDGE;
		if ((r = want_role(p, i, "a role", &a->role[0])) < 0)
			return r;
		/* rises X [above v]: into X > v (v = 0); falls X [below v]: into X < v, and
		 * without a threshold into X <= 0, so on a bool or enumeration role they mean
		 * "leaves / returns to its first label" (closed, off, none). */
		a->op[0] = rises ? CMP_GT : CMP_LE;
		a->x[0] = 0;
		const char *thr = rises ? "above" : "below";
		if (*i < p->ntok && tok_is(&p->toks[*i], thr)) {
			const struct role *ro = role_at(a->role[0]);
			if (ro->kind != ROLE_KIND_NUMBER)
				return fail(p, p->toks[*i].column,
					    "'%s' needs a number role; '%s' has labels: write '%s "
					    "%s' alone",
					    thr, ro->name, rises ? "rises" : "falls", ro->name);
			(*i)++;
			if ((r = want_number(p, i,
					     rises ? "a threshold after 'above'"
						   : "a threshold after 'below'",
					     &a->x[0])) < 0)
				return r;
			if (!rises)
				a->op[0] = CMP_LT;
		}
	} else if (tok_is(kw, "update")) {
		a->kind = ATOM_UPDATE;
		if ((r = want_role(p, i, "a role", &a->role[0])) < 0)
			return r;
	} else if (tok_is(kw, "mark")) {
		a->kind = ATOM_MARK;
		a->marks = calloc(RULES_MAX_LIST, sizeof(*a->marks));
		if (!a->marks)
			return -ENOMEM;
		for (;;) {
			if (a->n_marks == RULES_MAX_LIST)
				return fail(p, col_at(p, *i), "too many marks (limit %u)",
					    RULES_MAX_LIST);
			if ((r = want_ident(p, i, "a mark name", &a->marks[a->n_marks])) < 0)
				return r;
			a->n_marks++;
			if (*i >= p->ntok || !tok_is(&p->toks[*i], "|"))
				break;
			(*i)++;
		}
	} else if (tok_is(kw, "dtc")) {
		a->kind = ATOM_DTC;
		if (*i >= p->ntok || p->toks[*i].type != TOK_WORD)
			return fail(p, col_at(p, *i),
				    "expected a DTC or pattern (like B1A40-13 "
				    "or B1A4?-*), got %s",
				    tok_desc(p, *i, d, sizeof(d)));
		char pat[32];
		const struct token *t = &p->toks[*i];
		if (t->len >= sizeof(pat))
			return fail(p, t->column, "invalid DTC pattern %s",
				    tok_desc(p, *i, d, sizeof(d)));
		memcpy(pat, t->s, t->len);
		pat[t->len] = '\0';
		if (dtc_pattern_compile(pat, &a->pattern) < 0)
			return fail(p, t->column,
				    "invalid DTC pattern %s (like B1A40-13, B1A40-*, B1A4?)",
				    tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		while (*i < p->ntok && p->toks[*i].type == TOK_WORD &&
		       !is_keyword_stop(&p->toks[*i])) {
			t = &p->toks[*i];
			if (tok_is(t, "flapping")) {
				(*i)++;
				if ((r = want_uint(p, i, "flapping count", 2, RULES_MAX_COUNT,
						   &a->flapping)) < 0)
					return r;
				continue;
			}
			if (tok_is(t, "stored")) {
				a->stored = true;
				(*i)++;
				continue;
			}
			bool found = false;
			for (unsigned k = 0; k < 8; k++) {
				if (tok_is(t, status_words[k])) {
					a->status_all |= (uint8_t)(1u << k);
					found = true;
				}
			}
			if (!found)
				return fail(p, t->column,
					    "unknown DTC status %s (active, thiscycle, pending, "
					    "confirmed, stored, failedsinceclear, warning, "
					    "notcompleted, notcompletedthiscycle, flapping N)",
					    tok_desc(p, *i, d, sizeof(d)));
			(*i)++;
		}
		if (!a->status_all && !a->flapping)
			a->stored = true;
	} else if (tok_is(kw, "transport")) {
		a->kind = ATOM_TRANSPORT;
		if (*i >= p->ntok || p->toks[*i].type != TOK_WORD ||
		    timeline_transport_from_name(p->toks[*i].s, p->toks[*i].len, &a->transport) < 0)
			return fail(p, col_at(p, *i),
				    "expected a transport event (timeout, nrc, busoff, "
				    "unknown_id), got %s",
				    tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		if (a->transport == TIMELINE_TRANSPORT_NRC && *i < p->ntok &&
		    p->toks[*i].type == TOK_WORD && !is_keyword_stop(&p->toks[*i])) {
			unsigned nrc;
			if ((r = want_uint(p, i, "NRC", 0, 0xFF, &nrc)) < 0)
				return r;
			a->nrc = (int)nrc;
		}
	} else {
		return fail(p, kw->column,
			    "expected a condition (signal, rises, falls, update, mark, dtc, "
			    "transport, count, after, not, any, all), got %s",
			    tok_desc(p, start, d, sizeof(d)));
	}
	const struct token *last = &p->toks[*i - 1];
	a->text = arena_strndup(&p->set->arena, p->toks[start].src_start,
				(size_t)(last->src_end - p->toks[start].src_start));
	if (!a->text)
		return -ENOMEM;
	*ret_atom = ai;
	return 0;
}

/* [absent] ATOM within DURATION, appended to sequence node seq. */
static int parse_step(struct parse *p, size_t *i, uint32_t seq, bool then)
{
	struct node_src *n = &p->rule->nodes[seq];
	struct step_src st = {.then = then};
	int r;
	if (n->n_steps == RULES_MAX_STEPS)
		return fail(p, col_at(p, *i), "too many steps in one sequence (limit %u)",
			    RULES_MAX_STEPS);
	if (*i < p->ntok && tok_is(&p->toks[*i], "absent")) {
		st.absent = true;
		(*i)++;
	}
	if ((r = parse_atom(p, i, &st.atom)) < 0)
		return r;
	if (*i >= p->ntok || !tok_is(&p->toks[*i], "within")) {
		char d[64];
		return fail(p, col_at(p, *i), "a step needs 'within DURATION', got %s",
			    tok_desc(p, *i, d, sizeof(d)));
	}
	(*i)++;
	if ((r = want_duration(p, i, &st.within_us)) < 0)
		return r;
	n = &p->rule->nodes[seq]; /* parse_atom does not move nodes, but stay safe */
	n->steps[n->n_steps++] = st;
	return 0;
}

/* Steps joined by `and` / `then` until the end of the line. */
static int parse_more_steps(struct parse *p, size_t *i, uint32_t seq)
{
	while (*i < p->ntok) {
		bool then;
		if (tok_is(&p->toks[*i], "and"))
			then = false;
		else if (tok_is(&p->toks[*i], "then"))
			then = true;
		else
			return expect_end(p, *i);
		(*i)++;
		int r = parse_step(p, i, seq, then);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_cond(struct parse *p, size_t *i, unsigned depth, uint32_t *ret_node)
{
	char d[64];
	uint32_t ni;
	int r;
	if (*i >= p->ntok)
		return fail(p, col_at(p, *i), "expected a condition, got end of line");
	const struct token *t = &p->toks[*i];
	size_t at = *i;

	if (tok_is(t, "not")) {
		if (depth >= RULES_MAX_DEPTH)
			return fail(p, t->column, "conditions nested too deep (limit %u)",
				    RULES_MAX_DEPTH);
		(*i)++;
		uint32_t child;
		if ((r = new_node(p, NODE_NOT, at, &ni)) < 0 ||
		    (r = parse_cond(p, i, depth + 1, &child)) < 0)
			return r;
		add_child(p->rule, ni, child);
		*ret_node = ni;
		return 0;
	}
	if (tok_is(t, "count")) {
		(*i)++;
		if ((r = new_node(p, NODE_COUNT, at, &ni)) < 0)
			return r;
		uint32_t atom;
		unsigned n;
		int64_t within;
		if ((r = parse_atom(p, i, &atom)) < 0)
			return r;
		if (*i >= p->ntok || !tok_is(&p->toks[*i], ">="))
			return fail(p, col_at(p, *i),
				    "'count' needs '>= N within DURATION', got %s",
				    tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		if ((r = want_uint(p, i, "count", 1, RULES_MAX_COUNT, &n)) < 0)
			return r;
		if (*i >= p->ntok || !tok_is(&p->toks[*i], "within"))
			return fail(p, col_at(p, *i), "'count' needs 'within DURATION', got %s",
				    tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		if ((r = want_duration(p, i, &within)) < 0)
			return r;
		struct node_src *node = &p->rule->nodes[ni];
		node->atom = atom;
		node->count_n = n;
		node->within_us = within;
		*ret_node = ni;
		return 0;
	}
	if (tok_is(t, "after")) {
		(*i)++;
		if ((r = new_node(p, NODE_SEQ, at, &ni)) < 0)
			return r;
		uint32_t anchor;
		if ((r = parse_atom(p, i, &anchor)) < 0)
			return r;
		p->rule->nodes[ni].atom = anchor;
		if (*i >= p->ntok || !tok_is(&p->toks[*i], ":"))
			return fail(p, col_at(p, *i),
				    "expected ':' after the event of 'after', got %s",
				    tok_desc(p, *i, d, sizeof(d)));
		(*i)++;
		p->cont_seq = ni;
		if (*i >= p->ntok) {
			/* steps follow on the next lines */
			p->want_first_step = true;
		} else {
			if ((r = parse_step(p, i, ni, false)) < 0 ||
			    (r = parse_more_steps(p, i, ni)) < 0)
				return r;
		}
		*ret_node = ni;
		return 0;
	}
	if (tok_is(t, "absent"))
		return fail(p, t->column, "'absent' is only allowed in a step of 'after EVENT:'");
	if (tok_is(t, "within"))
		return fail(p, t->column, "'within' is only allowed in 'after' steps and 'count'");
	if ((r = new_node(p, NODE_ATOM, at, &ni)) < 0)
		return r;
	uint32_t atom;
	if ((r = parse_atom(p, i, &atom)) < 0)
		return r;
	p->rule->nodes[ni].atom = atom;
	*ret_node = ni;
	return 0;
}

/* ---- statements ---- */

static bool is_clause_word(const struct token *t)
{
	static const char *const w[] = {"scope",    "when",   "advice",	"weight",  "cost",
					"rules_out", "covers", "evidence", "rule",    "inhibit",
					"normal",   "question", "format", "link",    "works",
					"fails"};
	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
		if (tok_is(t, w[k]))
			return true;
	return false;
}

static int close_when(struct parse *p)
{
	if (p->depth > 1)
		return fail(p, col_at(p, 0), "missing 'end' for the group opened on line %u",
			    p->group_line[p->depth - 1]);
	if (p->depth == 1) {
		if (p->rule->nodes[p->groups[0]].first_child == NONE) {
			p->line = p->group_line[0];
			return fail(p, 1, "the '%s' block is empty", p->block);
		}
		p->depth = 0;
	}
	return 0;
}

static int finish_item(struct parse *p)
{
	int r = 0;
	if (p->rule) {
		if ((r = close_when(p)) < 0)
			return r;
		if (p->rule->is_link && p->rule->root == NONE && p->rule->root2 == NONE) {
			p->line = p->rule->line;
			return fail(p, 1, "link '%s' has neither 'works' nor 'fails'", p->rule->id);
		}
		if (!p->rule->is_link && p->rule->root == NONE) {
			p->line = p->rule->line;
			return fail(p, 1, "rule '%s' has no 'when' clause", p->rule->id);
		}
	}
	p->rule = NULL;
	p->question = NULL;
	p->cont_seq = NONE;
	p->want_first_step = false;
	return 0;
}

static const struct rule_src *find_rule(const struct rules_set *set, const char *id,
					size_t *ret_index)
{
	for (size_t k = 0; k < set->n_rules; k++) {
		if (!strcmp(set->rules[k].id, id)) {
			if (ret_index)
				*ret_index = k;
			return &set->rules[k];
		}
	}
	return NULL;
}

static int start_rule(struct parse *p, enum rules_kind kind)
{
	size_t i = 1;
	const char *id, *title;
	int r;
	if (p->set->n_rules + p->set->n_links + p->set->n_questions >= RULES_MAX_RULES)
		return fail(p, 1, "too many rules and questions (limit %u)", RULES_MAX_RULES);
	if ((r = want_ident(p, &i, "a rule id", &id)) < 0)
		return r;
	const struct rule_src *dup = find_rule(p->set, id, NULL);
	if (dup)
		return fail(p, col_at(p, 1), "duplicate id '%s' (first defined on line %u)", id,
			    dup->line);
	if ((r = want_string(p, &i, "a title", &title)) < 0 || (r = expect_end(p, i)) < 0)
		return r;
	if (p->set->n_rules == p->set->cap_rules) {
		size_t cap = p->set->cap_rules ? p->set->cap_rules * 2 : 16;
		struct rule_src *rs = realloc(p->set->rules, cap * sizeof(*rs));
		if (!rs)
			return -ENOMEM;
		p->set->rules = rs;
		p->set->cap_rules = cap;
	}
	struct rule_src *rule = &p->set->rules[p->set->n_rules++];
	*rule = (struct rule_src){
	    .kind = kind,
	    .id = id,
	    .title = title,
	    .advice = "",
	    .weight = 0.5,
	    .cost = 5,
	    .root = NONE,
	    .root2 = NONE,
	    .line = p->line,
	};
	p->rule = rule;
	p->when_done = false;
	p->depth = 0;
	return 0;
}

/* `link NAME "Title"`: how the file judges one link of the chain (NAME: fob, receiver,
 * request, output, current, latch, ajar), by `works` and `fails` conditions. */
static int start_link(struct parse *p)
{
	size_t i = 1;
	const char *id, *title;
	char d[64];
	int r;
	if (p->set->n_rules + p->set->n_links + p->set->n_questions >= RULES_MAX_RULES)
		return fail(p, 1, "too many rules and questions (limit %u)", RULES_MAX_RULES);
	if ((r = want_ident(p, &i, "a link of the chain", &id)) < 0)
		return r;
	enum role_link link = ROLE_LINK_MAX;
	for (unsigned k = 0; k < ROLE_LINK_CONTEXT; k++)
		if (!strcmp(role_link_name((enum role_link)k), id))
			link = (enum role_link)k;
	if (link == ROLE_LINK_MAX)
		return fail(p, col_at(p, 1),
			    "unknown link %s (fob, receiver, request, output, current, latch, "
			    "ajar)",
			    tok_desc(p, 1, d, sizeof(d)));
	for (size_t k = 0; k < p->set->n_links; k++)
		if (p->set->links[k].link == link)
			return fail(p, col_at(p, 1),
				    "duplicate link '%s' (first defined on line %u)", id,
				    p->set->links[k].line);
	if ((r = want_string(p, &i, "a title", &title)) < 0 || (r = expect_end(p, i)) < 0)
		return r;
	if (p->set->n_links == p->set->cap_links) {
		size_t cap = p->set->cap_links ? p->set->cap_links * 2 : 8;
		struct rule_src *rs = realloc(p->set->links, cap * sizeof(*rs));
		if (!rs)
			return -ENOMEM;
		p->set->links = rs;
		p->set->cap_links = cap;
	}
	struct rule_src *rule = &p->set->links[p->set->n_links++];
	*rule = (struct rule_src){
	    .kind = RULES_KIND_NORMAL,
	    .is_link = true,
	    .link = link,
	    .id = id,
	    .title = title,
	    .advice = "",
	    .root = NONE,
	    .root2 = NONE,
	    .line = p->line,
	};
	p->rule = rule;
	p->depth = 0;
	return 0;
}

static int start_question(struct parse *p)
{
	size_t i = 1;
	const char *mark, *prompt;
	int r;
	if (p->set->n_rules + p->set->n_links + p->set->n_questions >= RULES_MAX_RULES)
		return fail(p, 1, "too many rules and questions (limit %u)", RULES_MAX_RULES);
	if ((r = want_ident(p, &i, "a mark name", &mark)) < 0)
		return r;
	for (size_t k = 0; k < p->set->n_questions; k++)
		if (!strcmp(p->set->questions[k].mark, mark))
			return fail(p, col_at(p, 1),
				    "duplicate question for mark '%s' (first on line %u)", mark,
				    p->set->questions[k].line);
	if ((r = want_string(p, &i, "a prompt", &prompt)) < 0 || (r = expect_end(p, i)) < 0)
		return r;
	if (p->set->n_questions == p->set->cap_questions) {
		size_t cap = p->set->cap_questions ? p->set->cap_questions * 2 : 4;
		struct question_src *qs = realloc(p->set->questions, cap * sizeof(*qs));
		if (!qs)
			return -ENOMEM;
		p->set->questions = qs;
		p->set->cap_questions = cap;
	}
	struct question_src *q = &p->set->questions[p->set->n_questions++];
	*q = (struct question_src){.mark = mark, .prompt = prompt, .cost = 5, .line = p->line};
	p->question = q;
	return 0;
}

static int dup_clause(struct parse *p, const char *what)
{
	return fail(p, col_at(p, 0), "duplicate '%s' clause", what);
}

/* `when`, `works`, `fails`: one condition on the line, or `any` / `all` opening a group
 * that the following lines fill until the next clause. */
static int condition_clause(struct parse *p, const char *word, uint32_t *root)
{
	size_t i = 1;
	uint32_t n;
	int r;
	if (*root != NONE)
		return dup_clause(p, word);
	p->block = word;
	if (i < p->ntok && (tok_is(&p->toks[i], "any") || tok_is(&p->toks[i], "all"))) {
		if ((r = new_node(p, tok_is(&p->toks[i], "any") ? NODE_ANY : NODE_ALL, i, &n)) <
		    0)
			return r;
		if ((r = expect_end(p, i + 1)) < 0)
			return r;
		*root = n;
		p->groups[0] = n;
		p->group_line[0] = p->line;
		p->depth = 1;
		return 0;
	}
	if (i >= p->ntok)
		return fail(p, col_at(p, i), "'%s' needs 'any', 'all' or a condition", word);
	if ((r = parse_cond(p, &i, 0, &n)) < 0)
		return r;
	*root = n;
	return expect_end(p, i);
}

static int parse_rule_clause(struct parse *p)
{
	struct rule_src *rule = p->rule;
	const struct token *kw = &p->toks[0];
	size_t i = 1;
	int r;
	char d[64];

	if (tok_is(kw, "when") || tok_is(kw, "works") || tok_is(kw, "fails")) {
		bool when = tok_is(kw, "when");
		if (rule->is_link && when)
			return fail(p, kw->column,
				    "a link takes 'works' and 'fails' conditions, not 'when'");
		if (!rule->is_link && !when)
			return fail(p, kw->column, "'%s' is only allowed in a link",
				    tok_is(kw, "works") ? "works" : "fails");
		return condition_clause(p, when ? "when" : tok_is(kw, "works") ? "works" : "fails",
					tok_is(kw, "fails") ? &rule->root2 : &rule->root);
	}
	if (rule->is_link)
		return fail(p, kw->column, "a link takes only 'works' and 'fails', got %s",
			    tok_desc(p, 0, d, sizeof(d)));
	if (tok_is(kw, "advice")) {
		if (rule->has_advice)
			return dup_clause(p, "advice");
		rule->has_advice = true;
		if ((r = want_string(p, &i, "the advice", &rule->advice)) < 0)
			return r;
		return expect_end(p, i);
	}
	if (tok_is(kw, "weight")) {
		if (rule->has_weight)
			return dup_clause(p, "weight");
		rule->has_weight = true;
		if ((r = want_number(p, &i, "a weight", &rule->weight)) < 0)
			return r;
		if (rule->weight < 0 || rule->weight > 1)
			return fail(p, col_at(p, 1), "weight must be between 0 and 1");
		return expect_end(p, i);
	}
	if (tok_is(kw, "cost")) {
		if (rule->has_cost)
			return dup_clause(p, "cost");
		rule->has_cost = true;
		if ((r = want_uint(p, &i, "cost", 0, 1000, &rule->cost)) < 0)
			return r;
		return expect_end(p, i);
	}
	if (tok_is(kw, "rules_out")) {
		if (rule->rules_out)
			return dup_clause(p, "rules_out");
		rule->rules_out_line = p->line;
		if ((r = want_list(p, &i, "a rule id", true, &rule->rules_out, &rule->n_rules_out,
				   &rule->rules_out_col)) < 0)
			return r;
		return expect_end(p, i);
	}
	if (tok_is(kw, "covers")) {
		if (rule->kind != RULES_KIND_INHIBIT)
			return fail(p, kw->column, "'covers' is only allowed in an inhibit");
		if (rule->covers || rule->covers_all)
			return dup_clause(p, "covers");
		rule->covers_line = p->line;
		if (i < p->ntok && tok_is(&p->toks[i], "*")) {
			rule->covers_all = true;
			return expect_end(p, i + 1);
		}
		if ((r = want_list(p, &i, "a rule id or '*'", true, &rule->covers, &rule->n_covers,
				   &rule->covers_col)) < 0)
			return r;
		return expect_end(p, i);
	}
	if (tok_is(kw, "evidence")) {
		if (rule->evidence)
			return dup_clause(p, "evidence");
		rule->evidence = calloc(RULES_MAX_LIST, sizeof(*rule->evidence));
		if (!rule->evidence)
			return -ENOMEM;
		for (;;) {
			if (rule->n_evidence == RULES_MAX_LIST)
				return fail(p, col_at(p, i), "too many entries in the list (limit %u)",
					    RULES_MAX_LIST);
			if ((r = want_role(p, &i, "a role", &rule->evidence[rule->n_evidence])) < 0)
				return r;
			rule->n_evidence++;
			if (i >= p->ntok || !tok_is(&p->toks[i], ","))
				break;
			i++;
		}
		return expect_end(p, i);
	}
	if (tok_is(kw, "scope")) {
		static const char *const keys[3] = {"make", "platform", "module"};
		if (i >= p->ntok)
			return fail(p, col_at(p, i), "'scope' needs make, platform or module");
		while (i < p->ntok) {
			unsigned k;
			for (k = 0; k < 3; k++)
				if (tok_is(&p->toks[i], keys[k]))
					break;
			if (k == 3)
				return fail(p, col_at(p, i),
					    "'scope' expects make, platform or module, got %s",
					    tok_desc(p, i, d, sizeof(d)));
			if (rule->has_scope[k])
				return fail(p, col_at(p, i), "duplicate scope '%s'", keys[k]);
			rule->has_scope[k] = true;
			i++;
			if (i >= p->ntok || p->toks[i].type != TOK_WORD)
				return fail(p, col_at(p, i), "expected a %s name, got %s", keys[k],
					    tok_desc(p, i, d, sizeof(d)));
			const char *v = dup_tok(p, &p->toks[i]);
			if (!v)
				return -ENOMEM;
			if (k == 0)
				rule->scope_make = v;
			else if (k == 1)
				rule->scope_platform = v;
			else
				rule->scope_module = v;
			i++;
		}
		return 0;
	}
	return fail(p, kw->column, "unknown clause %s in rule '%s'", tok_desc(p, 0, d, sizeof(d)),
		    rule->id);
}

/* A line inside an open `when any/all` block. */
static int parse_group_line(struct parse *p)
{
	struct rule_src *rule = p->rule;
	const struct token *kw = &p->toks[0];
	size_t i = 0;
	int r;
	uint32_t n;

	if (tok_is(kw, "end")) {
		if ((r = expect_end(p, 1)) < 0)
			return r;
		if (rule->nodes[p->groups[p->depth - 1]].first_child == NONE)
			return fail(p, kw->column, "empty group (opened on line %u)",
				    p->group_line[p->depth - 1]);
		p->depth--;
		p->cont_seq = NONE;
		return 0;
	}
	if ((tok_is(kw, "any") || tok_is(kw, "all")) && p->ntok == 1) {
		if (p->depth > RULES_MAX_DEPTH - 1)
			return fail(p, kw->column, "groups nested too deep (limit %u)",
				    RULES_MAX_DEPTH);
		if ((r = new_node(p, tok_is(kw, "any") ? NODE_ANY : NODE_ALL, 0, &n)) < 0)
			return r;
		add_child(rule, p->groups[p->depth - 1], n);
		p->groups[p->depth] = n;
		p->group_line[p->depth] = p->line;
		p->depth++;
		p->cont_seq = NONE;
		return 0;
	}
	p->cont_seq = NONE;
	if ((r = parse_cond(p, &i, p->depth, &n)) < 0)
		return r;
	add_child(rule, p->groups[p->depth - 1], n);
	return expect_end(p, i);
}

static int parse_statement(struct parse *p)
{
	const struct token *kw = &p->toks[0];
	char d[64];
	int r;

	if (kw->type != TOK_WORD)
		return fail(p, kw->column, "expected a statement, got %s",
			    tok_desc(p, 0, d, sizeof(d)));

	if (!p->seen_format) {
		if (!tok_is(kw, "format"))
			return fail(p, kw->column, "the file must start with 'format %u'", RULES_FORMAT);
		size_t i = 1;
		unsigned v;
		if ((r = want_uint(p, &i, "format version", 0, 1000000, &v)) < 0)
			return r;
		if (v == 1)
			return fail(p, col_at(p, 1),
				    "format 1 names vehicle signals; this build reads format %u, "
				    "where rules name chain roles (rules/README.md)",
				    RULES_FORMAT);
		if (v != RULES_FORMAT)
			return fail(p, col_at(p, 1),
				    "unsupported format version %u (this build reads format %u)", v,
				    RULES_FORMAT);
		p->seen_format = true;
		return expect_end(p, i);
	}
	if (tok_is(kw, "format"))
		return fail(p, kw->column, "'format' may appear only once, at the top");

	/* continuation of a sequence: first step after `after ...:`, or `and` / `then` */
	if (p->want_first_step) {
		size_t i = 0;
		p->want_first_step = false;
		if ((r = parse_step(p, &i, p->cont_seq, false)) < 0)
			return r;
		return parse_more_steps(p, &i, p->cont_seq);
	}
	if (tok_is(kw, "and") || tok_is(kw, "then")) {
		if (p->cont_seq == NONE)
			return fail(p, kw->column, "'%s' must continue an 'after' sequence",
				    tok_is(kw, "and") ? "and" : "then");
		size_t i = 0;
		return parse_more_steps(p, &i, p->cont_seq);
	}

	bool top = tok_is(kw, "rule") || tok_is(kw, "inhibit") || tok_is(kw, "normal") ||
		   tok_is(kw, "question") || tok_is(kw, "link");
	if (top) {
		if ((r = finish_item(p)) < 0)
			return r;
		if (tok_is(kw, "rule"))
			return start_rule(p, RULES_KIND_CAUSE);
		if (tok_is(kw, "inhibit"))
			return start_rule(p, RULES_KIND_INHIBIT);
		if (tok_is(kw, "normal"))
			return start_rule(p, RULES_KIND_NORMAL);
		if (tok_is(kw, "link"))
			return start_link(p);
		return start_question(p);
	}
	if (p->question) {
		if (!tok_is(kw, "cost"))
			return fail(p, kw->column, "a question takes only 'cost', got %s",
				    tok_desc(p, 0, d, sizeof(d)));
		if (p->question->has_cost)
			return dup_clause(p, "cost");
		size_t i = 1;
		p->question->has_cost = true;
		if ((r = want_uint(p, &i, "cost", 0, 1000, &p->question->cost)) < 0)
			return r;
		return expect_end(p, i);
	}
	if (!p->rule)
		return fail(p, kw->column,
			    "expected 'rule', 'inhibit', 'normal', 'link' or 'question', got %s",
			    tok_desc(p, 0, d, sizeof(d)));
	p->cont_seq = p->depth ? p->cont_seq : NONE;
	if (p->depth) {
		if (!is_clause_word(kw))
			return parse_group_line(p);
		if ((r = close_when(p)) < 0)
			return r;
	}
	p->cont_seq = NONE;
	if (tok_is(kw, "end"))
		return fail(p, kw->column, "'end' without an open group");
	if (!is_clause_word(kw)) {
		if (p->rule->root != NONE || p->rule->root2 != NONE)
			return fail(p, kw->column,
				    "condition outside a '%s' block (use '%s any' or '%s all' for "
				    "several conditions)",
				    p->block, p->block, p->block);
		return fail(p, kw->column, "unknown clause %s in rule '%s'",
			    tok_desc(p, 0, d, sizeof(d)), p->rule->id);
	}
	return parse_rule_clause(p);
}

/* rules_out / covers name rules that may come later in the file: resolved at the end. */
static int resolve_refs(struct parse *p)
{
	struct rules_set *set = p->set;
	for (size_t k = 0; k < set->n_rules; k++) {
		struct rule_src *r = &set->rules[k];
		if (r->n_rules_out) {
			r->rules_out_idx = calloc(r->n_rules_out, sizeof(uint32_t));
			if (!r->rules_out_idx)
				return -ENOMEM;
		}
		for (size_t j = 0; j < r->n_rules_out; j++) {
			size_t idx;
			p->line = r->rules_out_line;
			if (!find_rule(set, r->rules_out[j], &idx))
				return fail(p, r->rules_out_col[j], "unknown id '%s' in rules_out",
					    r->rules_out[j]);
			if (idx == k)
				return fail(p, r->rules_out_col[j],
					    "rule '%s' cannot rule out itself", r->id);
			r->rules_out_idx[j] = (uint32_t)idx;
		}
		if (r->n_covers) {
			r->covers_idx = calloc(r->n_covers, sizeof(uint32_t));
			if (!r->covers_idx)
				return -ENOMEM;
		}
		for (size_t j = 0; j < r->n_covers; j++) {
			size_t idx;
			p->line = r->covers_line;
			if (!find_rule(set, r->covers[j], &idx))
				return fail(p, r->covers_col[j], "unknown id '%s' in covers",
					    r->covers[j]);
			if (set->rules[idx].kind != RULES_KIND_CAUSE)
				return fail(p, r->covers_col[j],
					    "'covers' names '%s', which is not a cause ('rule')",
					    r->covers[j]);
			r->covers_idx[j] = (uint32_t)idx;
		}
	}
	return 0;
}

static int parse_all(struct parse *p, const char *buf, size_t len)
{
	size_t pos = 0;
	int r;
	p->line = 0;
	p->cont_seq = NONE;
	for (;;) {
		const char *s = buf + pos;
		const char *nl = len > pos ? memchr(s, '\n', len - pos) : NULL;
		const char *le = nl ? nl : buf + len;
		p->line++;
		if ((r = lex_line(p, s, le)) < 0)
			return r;
		if (p->ntok) {
			if ((r = parse_statement(p)) < 0)
				return r;
		}
		if (!nl)
			break;
		pos = (size_t)(nl - buf) + 1;
	}
	if (!p->seen_format)
		return fail(p, 1, "the file must start with 'format %u'", RULES_FORMAT);
	if (p->want_first_step)
		return fail(p, 1, "expected the first step of the 'after' sequence");
	if ((r = finish_item(p)) < 0)
		return r;
	return resolve_refs(p);
}

struct rules_parser *rules_parser_new(const char *filename)
{
	struct rules_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->filename = strdup(filename ? filename : "<memory>");
	if (!p->filename) {
		free(p);
		return NULL;
	}
	return p;
}

int rules_parser_feed(struct rules_parser *p, const void *buf, size_t len)
{
	return bytes_append(&p->buf, &p->len, &p->cap, buf, len, 4096, RULES_MAX_SOURCE);
}

int rules_parser_finish(struct rules_parser *p, struct rules_error *err, struct rules_set **ret_set)
{
	struct parse *ps = calloc(1, sizeof(*ps));
	struct rules_set *set = calloc(1, sizeof(*set));
	int r;
	if (!ps || !set) {
		free(ps);
		free(set);
		return -ENOMEM;
	}
	ps->set = set;
	ps->err = err;
	ps->filename = p->filename;
	r = parse_all(ps, p->buf ? p->buf : "", p->len);
	free(ps);
	if (r < 0) {
		rules_set_free(set);
		return r;
	}
	*ret_set = set;
	return 0;
}

struct rules_parser *rules_parser_free(struct rules_parser *p)
{
	if (!p)
		return NULL;
	free(p->buf);
	free(p->filename);
	free(p);
	return NULL;
}

int rules_parse(const void *buf, size_t len, const char *filename, struct rules_error *err,
		struct rules_set **ret_set)
{
	struct rules_parser *p = rules_parser_new(filename);
	if (!p)
		return -ENOMEM;
	int r = rules_parser_feed(p, buf, len);
	if (r == 0)
		r = rules_parser_finish(p, err, ret_set);
	else if (err)
		*err = (struct rules_error){.line = 0, .column = 0};
	if (r == -EFBIG && err) {
		snprintf(err->file, sizeof(err->file), "%s", filename ? filename : "<memory>");
		snprintf(err->message, sizeof(err->message), "file larger than %u bytes",
			 RULES_MAX_SOURCE);
	}
	rules_parser_free(p);
	return r;
}
