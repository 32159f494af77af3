/* SPDX-License-Identifier: MIT */
/*
 * rules: parser, compiler and incremental evaluator of rule files (rules/README.md).
 *
 * The parser builds a set of rules whose conditions are trees of nodes (all / any /
 * not / atom / count / sequence) over atoms (a signal comparison, an edge, an update, a
 * mark, a DTC pattern, a transport event), names still as text. The engine copies the
 * trees into flat arrays with names resolved to symbol indices, and indexes atoms by
 * the signal, mark or event kind they read.
 *
 * Evaluation is event driven. An atom "fires" when what it describes happens (an edge,
 * a level becoming true or having held long enough, a DTC starting to match, a mark);
 * each atom has exactly one user, which the fire is handed to: a latch (the condition
 * held at some time since the reset), a counter (N fires within a window) or a step of
 * a sequence (checked against the windows of that sequence's open instances). Truth is
 * three-valued (false, unknown, true) so that a rule waiting for an action not yet done,
 * or a window still open, is "possible" rather than false: that is what the guided test
 * asks its next question from.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/rules.h"
#include "bytes.h"

#define MAX_LINE_TOKENS 96u
#define MAX_STRING 255u
#define MAX_NAME 127u
#define NONE UINT32_MAX

/* ---- string arena: the set's strings live and die together ---- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	char data[];
};

struct arena {
	struct arena_block *head;
};

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

/* ---- the parsed set ---- */

enum cmp {
	CMP_EQ,
	CMP_NE,
	CMP_LT,
	CMP_LE,
	CMP_GT,
	CMP_GE,
	CMP_MAX,
};

enum atom_kind {
	ATOM_LEVEL,	/* signal A op x [while B op y] [for D] */
	ATOM_EDGE,	/* rises / falls: the comparison becomes true on a sample */
	ATOM_UPDATE,	/* any sample of a signal */
	ATOM_MARK,	/* one of a list of marks */
	ATOM_DTC,	/* a DTC matching pattern + status (+ flapping) */
	ATOM_TRANSPORT, /* a transport event of a kind (+ NRC) */
	ATOM_KIND_MAX,
};

/* Status words of `dtc`: a set of required bits, or "stored" (any of TF, PDTC, CDTC). */
#define ST_TF (1u << DTC_STATUS_TEST_FAILED)
#define ST_PDTC (1u << DTC_STATUS_PENDING_DTC)
#define ST_CDTC (1u << DTC_STATUS_CONFIRMED_DTC)
#define ST_STORED_ANY (ST_TF | ST_PDTC | ST_CDTC)

struct atom_src {
	enum atom_kind kind;
	const char *sig[2]; /* LEVEL: A, B (while); EDGE, UPDATE: A */
	enum cmp op[2];
	double x[2];
	bool has_while;
	int64_t for_us;	    /* LEVEL */
	const char **marks; /* MARK */
	size_t n_marks;
	struct dtc_pattern pattern; /* DTC */
	uint8_t status_all;	    /* DTC: bits that must all be set */
	bool stored;		    /* DTC: any of TF/PDTC/CDTC (no status word given) */
	unsigned flapping;	    /* DTC: testFailed toggles needed, 0 = not asked */
	enum timeline_transport transport;
	int nrc;	  /* TRANSPORT NRC: -1 any */
	const char *text; /* source text of the atom */
};

enum node_kind {
	NODE_ALL,
	NODE_ANY,
	NODE_NOT,
	NODE_ATOM,  /* latched: held at some time since the reset */
	NODE_COUNT, /* atom fired n times within a window */
	NODE_SEQ,   /* after ANCHOR: steps */
	NODE_KIND_MAX,
};

struct step_src {
	uint32_t atom;
	bool absent;
	bool then; /* window starts when the previous step is met, not at the anchor */
	int64_t within_us;
};

struct node_src {
	enum node_kind kind;
	uint32_t first_child, next_sibling;	/* rule-local node indices, NONE */
	uint32_t atom;				/* ATOM, COUNT; SEQ: the anchor atom */
	unsigned count_n;			/* COUNT */
	int64_t within_us;			/* COUNT */
	struct step_src steps[RULES_MAX_STEPS]; /* SEQ */
	unsigned n_steps;
	unsigned line, column;
};

struct rule_src {
	enum rules_kind kind;
	const char *id, *title, *advice;
	double weight;
	unsigned cost;
	const char *scope_make, *scope_platform, *scope_module;
	const char **rules_out;
	size_t n_rules_out;
	const char **covers;
	size_t n_covers;
	const char **evidence;
	size_t n_evidence;
	uint32_t *rules_out_idx; /* resolved at the end of parsing */
	uint32_t *covers_idx;
	bool covers_all;
	struct node_src *nodes;
	size_t n_nodes, cap_nodes;
	struct atom_src *atoms;
	size_t n_atoms, cap_atoms;
	uint32_t root;
	unsigned line;
	/* positions of list entries, for errors found once the whole file is read */
	unsigned *rules_out_col, *covers_col, rules_out_line, covers_line;
	bool has_weight, has_cost, has_advice, has_scope[3];
};

struct question_src {
	const char *mark, *prompt;
	unsigned cost;
	unsigned line;
	bool has_cost;
};

struct rules_set {
	struct arena arena;
	struct rule_src *rules;
	size_t n_rules, cap_rules;
	struct question_src *questions;
	size_t n_questions, cap_questions;
};

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
	free(set->rules);
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
	r->atoms[r->n_atoms] = (struct atom_src){.nrc = -1};
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
		if ((r = want_ident(p, i, "a signal name", &a->sig[0])) < 0 ||
		    (r = want_cmp(p, i, &a->op[0])) < 0 ||
		    (r = want_number(p, i, "a value to compare with", &a->x[0])) < 0)
			return r;
		if (*i < p->ntok && tok_is(&p->toks[*i], "while")) {
			(*i)++;
			a->has_while = true;
			if ((r = want_ident(p, i, "a signal name after 'while'", &a->sig[1])) < 0 ||
			    (r = want_cmp(p, i, &a->op[1])) < 0 ||
			    (r = want_number(p, i, "a value to compare with", &a->x[1])) < 0)
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
		if ((r = want_ident(p, i, "a signal name", &a->sig[0])) < 0)
			return r;
		/* rises X [above v]: into X > v (v = 0); falls X [below v]: into X < v, and
		 * without a threshold into X <= 0, so both work on 0/1 flags and enums. */
		a->op[0] = rises ? CMP_GT : CMP_LE;
		a->x[0] = 0;
		const char *thr = rises ? "above" : "below";
		if (*i < p->ntok && tok_is(&p->toks[*i], thr)) {
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
		if ((r = want_ident(p, i, "a signal name", &a->sig[0])) < 0)
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
	static const char *const w[] = {"scope",     "when",	 "advice",   "weight", "cost",
					"rules_out", "covers",	 "evidence", "rule",   "inhibit",
					"normal",    "question", "format"};
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
			return fail(p, 1, "the 'when' block is empty");
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
		if (p->rule->root == NONE) {
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
	if (p->set->n_rules + p->set->n_questions >= RULES_MAX_RULES)
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
	    .line = p->line,
	};
	p->rule = rule;
	p->when_done = false;
	p->depth = 0;
	return 0;
}

static int start_question(struct parse *p)
{
	size_t i = 1;
	const char *mark, *prompt;
	int r;
	if (p->set->n_rules + p->set->n_questions >= RULES_MAX_RULES)
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

static int parse_rule_clause(struct parse *p)
{
	struct rule_src *rule = p->rule;
	const struct token *kw = &p->toks[0];
	size_t i = 1;
	int r;
	char d[64];

	if (tok_is(kw, "when")) {
		if (rule->root != NONE)
			return dup_clause(p, "when");
		if (i < p->ntok && (tok_is(&p->toks[i], "any") || tok_is(&p->toks[i], "all"))) {
			uint32_t g;
			if ((r = new_node(p, tok_is(&p->toks[i], "any") ? NODE_ANY : NODE_ALL, i,
					  &g)) < 0)
				return r;
			if ((r = expect_end(p, i + 1)) < 0)
				return r;
			rule->root = g;
			p->groups[0] = g;
			p->group_line[0] = p->line;
			p->depth = 1;
			return 0;
		}
		if (i >= p->ntok)
			return fail(p, col_at(p, i), "'when' needs 'any', 'all' or a condition");
		uint32_t n;
		if ((r = parse_cond(p, &i, 0, &n)) < 0)
			return r;
		rule->root = n;
		return expect_end(p, i);
	}
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
		if ((r = want_list(p, &i, "a signal name", true, &rule->evidence, &rule->n_evidence,
				   NULL)) < 0)
			return r;
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
			return fail(p, kw->column, "the file must start with 'format 1'");
		size_t i = 1;
		unsigned v;
		if ((r = want_uint(p, &i, "format version", 0, 1000000, &v)) < 0)
			return r;
		if (v != 1)
			return fail(p, col_at(p, 1),
				    "unsupported format version %u (this build reads format 1)", v);
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
		   tok_is(kw, "question");
	if (top) {
		if ((r = finish_item(p)) < 0)
			return r;
		if (tok_is(kw, "rule"))
			return start_rule(p, RULES_KIND_CAUSE);
		if (tok_is(kw, "inhibit"))
			return start_rule(p, RULES_KIND_INHIBIT);
		if (tok_is(kw, "normal"))
			return start_rule(p, RULES_KIND_NORMAL);
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
			    "expected 'rule', 'inhibit', 'normal' or 'question', got %s",
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
		if (p->rule->root != NONE)
			return fail(p, kw->column,
				    "condition outside a 'when' block (use 'when any' or 'when "
				    "all' for several conditions)");
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
		return fail(p, 1, "the file must start with 'format 1'");
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

/* ---- the engine ---- */

enum tv {
	TV_FALSE,
	TV_UNKNOWN,
	TV_TRUE,
};

enum user_kind {
	USER_LATCH,
	USER_COUNT,
	USER_STEP,
	USER_ANCHOR,
	USER_KIND_MAX,
};

struct eatom {
	const struct atom_src *src;
	enum atom_kind kind;
	uint32_t sig[2];
	uint32_t *marks;
	size_t n_marks;
	uint32_t module; /* DTC: NONE = any module */
	enum user_kind user;
	uint32_t node; /* LATCH, COUNT, ANCHOR: global node index; STEP: the SEQ node */
	unsigned step; /* STEP */
	uint32_t rule;
	/* level state (LEVEL, DTC) */
	bool cur;   /* the comparison / match holds now */
	bool fired; /* this run of cur has fired (reached its duration) */
	int64_t since;
	struct timeline_event start_ev;
};

enum step_state {
	STEP_PENDING,
	STEP_MET,
	STEP_FAILED,
	STEP_STATE_MAX,
};

struct instance {
	bool open;
	int64_t t0;
	struct timeline_event anchor_ev;
	uint8_t state[RULES_MAX_STEPS];
	int64_t t[RULES_MAX_STEPS]; /* when the step was met */
	struct rules_evidence ev[RULES_MAX_STEPS];
};

struct enode {
	const struct node_src *src;
	enum node_kind kind;
	uint32_t first_child, next_sibling; /* global */
	uint32_t atom;			    /* global */
	uint32_t rule;
	/* ATOM, COUNT: latch */
	bool latched;
	int64_t latched_t;
	struct rules_evidence ev;
	/* COUNT: ring of fire times, count_n entries from the engine's pool */
	int64_t *ring;
	unsigned ring_len, ring_head;
	/* SEQ */
	struct instance inst[RULES_MAX_INSTANCES];
	struct instance won; /* first instance that met every step */
	unsigned n_failed;
	bool opened; /* the anchor fired since the reset */
};

struct erule {
	const struct rule_src *src;
	bool active;
	uint32_t root;
	uint32_t *evidence_sigs;
	bool *reads_question; /* per question: a mark atom of this rule names its mark */
	/* evaluation results */
	enum tv value;
	int64_t since;
};

struct edtc {
	uint32_t module, code;
	uint8_t status;
	unsigned toggles;
};

struct rules_engine {
	const struct rules_set *set;
	struct timeline_symbols *syms;
	struct eatom *atoms;
	size_t n_atoms;
	struct enode *nodes;
	size_t n_nodes;
	struct erule *rules;
	size_t n_rules, n_active;
	int64_t *ring_pool;
	/* per signal */
	size_t n_sigs;
	double *val;
	int64_t *val_t;
	uint8_t *have;
	uint8_t *reads; /* an active rule reads the signal (conditions or `evidence`) */
	uint32_t *sig_off, *sig_atoms; /* CSR: atoms reading signal s */
	/* per mark */
	size_t n_marks;
	uint32_t *mark_off, *mark_atoms;
	unsigned *mark_seen;
	/* atoms by event kind */
	uint32_t *dtc_atoms, *transport_atoms, *timed_atoms, *seq_nodes;
	size_t n_dtc_atoms, n_transport_atoms, n_timed_atoms, n_seq_nodes;
	struct edtc dtcs[RULES_MAX_DTCS];
	size_t n_dtcs;
	int64_t now;
	int64_t deadline;
	bool dirty; /* something that can move the deadline earlier happened */
	/* questions */
	uint32_t *question_marks;
	/* ranking */
	struct rules_finding *findings;
	size_t n_findings;
	enum rules_verdict verdict;
	uint32_t *order;
	uint8_t *fstate;
	uint32_t *fby;
};

/* Times near the ends of int64 come only from odd callers; windows must not overflow. */
static int64_t sat_add(int64_t a, int64_t b)
{
	if (b > 0 && a > INT64_MAX - b)
		return INT64_MAX;
	return a + b;
}

static bool cmp_eval(enum cmp op, double v, double x)
{
	switch (op) {
	case CMP_EQ:
		return v == x;
	case CMP_NE:
		return v != x;
	case CMP_LT:
		return v < x;
	case CMP_LE:
		return v <= x;
	case CMP_GT:
		return v > x;
	case CMP_GE:
		return v >= x;
	case CMP_MAX:
		break;
	}
	return false;
}

static bool str_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (list[i] && !strcmp(list[i], s))
			return true;
	return false;
}

static bool scope_active(const struct rule_src *r, const struct rules_vehicle *v)
{
	if (r->scope_make && (!v || !v->make || strcmp(v->make, r->scope_make)))
		return false;
	if (r->scope_platform && (!v || !v->platform || strcmp(v->platform, r->scope_platform)))
		return false;
	if (r->scope_module && v && v->n_modules &&
	    !str_in(r->scope_module, v->modules, v->n_modules))
		return false;
	return true;
}

static int intern(struct rules_engine *e, enum timeline_symbol_kind k, const char *name,
		  struct rules_error *err, uint32_t *ret)
{
	int r = timeline_symbols_intern(e->syms, k, name, strlen(name), ret);
	if (r < 0 && err)
		snprintf(err->message, sizeof(err->message), "cannot add name '%s': %s", name,
			 strerror(-r));
	return r;
}

/* Builds a CSR index: for each key, the atoms in key order. */
static int build_csr(size_t nkeys, size_t nitems, const uint32_t *item_key, const uint32_t *item,
		     uint32_t **ret_off, uint32_t **ret_items)
{
	uint32_t *off = calloc(nkeys + 1, sizeof(*off));
	uint32_t *items = calloc(nitems ? nitems : 1, sizeof(*items));
	if (!off || !items) {
		free(off);
		free(items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nitems; i++)
		off[item_key[i] + 1]++;
	for (size_t k = 0; k < nkeys; k++)
		off[k + 1] += off[k];
	uint32_t *fill = calloc(nkeys + 1, sizeof(*fill));
	if (!fill) {
		free(off);
		free(items);
		return -ENOMEM;
	}
	for (size_t i = 0; i < nitems; i++)
		items[off[item_key[i]] + fill[item_key[i]]++] = item[i];
	free(fill);
	*ret_off = off;
	*ret_items = items;
	return 0;
}

struct rules_engine *rules_engine_free(struct rules_engine *e)
{
	if (!e)
		return NULL;
	for (size_t i = 0; i < e->n_atoms; i++)
		free(e->atoms[i].marks);
	for (size_t i = 0; i < e->n_rules; i++) {
		free(e->rules[i].evidence_sigs);
		free(e->rules[i].reads_question);
	}
	free(e->atoms);
	free(e->nodes);
	free(e->rules);
	free(e->ring_pool);
	free(e->val);
	free(e->val_t);
	free(e->have);
	free(e->reads);
	free(e->sig_off);
	free(e->sig_atoms);
	free(e->mark_off);
	free(e->mark_atoms);
	free(e->mark_seen);
	free(e->dtc_atoms);
	free(e->transport_atoms);
	free(e->timed_atoms);
	free(e->seq_nodes);
	free(e->question_marks);
	free(e->findings);
	free(e->order);
	free(e->fstate);
	free(e->fby);
	free(e);
	return NULL;
}

static int compile(struct rules_engine *e, const struct rules_vehicle *vehicle,
		   struct rules_error *err)
{
	const struct rules_set *set = e->set;
	size_t n_atoms = 0, n_nodes = 0, n_ring = 0;
	int r;

	for (size_t k = 0; k < set->n_rules; k++) {
		n_atoms += set->rules[k].n_atoms;
		n_nodes += set->rules[k].n_nodes;
		for (size_t j = 0; j < set->rules[k].n_nodes; j++)
			if (set->rules[k].nodes[j].kind == NODE_COUNT)
				n_ring += set->rules[k].nodes[j].count_n;
	}
	e->atoms = calloc(n_atoms ? n_atoms : 1, sizeof(*e->atoms));
	e->nodes = calloc(n_nodes ? n_nodes : 1, sizeof(*e->nodes));
	e->rules = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->rules));
	e->ring_pool = calloc(n_ring ? n_ring : 1, sizeof(*e->ring_pool));
	e->findings = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->findings));
	e->order = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->order));
	e->fstate = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->fstate));
	e->fby = calloc(set->n_rules ? set->n_rules : 1, sizeof(*e->fby));
	e->question_marks = calloc(set->n_questions ? set->n_questions : 1, sizeof(uint32_t));
	if (!e->atoms || !e->nodes || !e->rules || !e->ring_pool || !e->findings || !e->order ||
	    !e->fstate || !e->fby || !e->question_marks)
		return -ENOMEM;
	e->n_atoms = n_atoms;
	e->n_nodes = n_nodes;
	e->n_rules = set->n_rules;

	for (size_t q = 0; q < set->n_questions; q++)
		if ((r = intern(e, TIMELINE_SYMBOL_MARK, set->questions[q].mark, err,
				&e->question_marks[q])) < 0)
			return r;

	size_t abase = 0, nbase = 0, rbase = 0;
	for (size_t k = 0; k < set->n_rules; k++) {
		const struct rule_src *rs = &set->rules[k];
		struct erule *er = &e->rules[k];
		er->src = rs;
		er->active = scope_active(rs, vehicle);
		er->root = (uint32_t)(nbase + rs->root);
		if (er->active)
			e->n_active++;
		uint32_t module = NONE;
		if (rs->scope_module &&
		    (r = intern(e, TIMELINE_SYMBOL_MODULE, rs->scope_module, err, &module)) < 0)
			return r;
		if (rs->n_evidence) {
			er->evidence_sigs = calloc(rs->n_evidence, sizeof(uint32_t));
			if (!er->evidence_sigs)
				return -ENOMEM;
			for (size_t j = 0; j < rs->n_evidence; j++)
				if ((r = intern(e, TIMELINE_SYMBOL_SIGNAL, rs->evidence[j], err,
						&er->evidence_sigs[j])) < 0)
					return r;
		}
		er->reads_question = calloc(set->n_questions ? set->n_questions : 1, sizeof(bool));
		if (!er->reads_question)
			return -ENOMEM;

		for (size_t j = 0; j < rs->n_atoms; j++) {
			const struct atom_src *as = &rs->atoms[j];
			struct eatom *a = &e->atoms[abase + j];
			a->src = as;
			a->kind = as->kind;
			a->rule = (uint32_t)k;
			a->module = module;
			a->sig[0] = a->sig[1] = NONE;
			for (unsigned s = 0; s < 2; s++)
				if (as->sig[s] && (r = intern(e, TIMELINE_SYMBOL_SIGNAL, as->sig[s],
							      err, &a->sig[s])) < 0)
					return r;
			if (as->n_marks) {
				a->marks = calloc(as->n_marks, sizeof(uint32_t));
				if (!a->marks)
					return -ENOMEM;
				a->n_marks = as->n_marks;
				for (size_t m = 0; m < as->n_marks; m++) {
					if ((r = intern(e, TIMELINE_SYMBOL_MARK, as->marks[m], err,
							&a->marks[m])) < 0)
						return r;
					for (size_t q = 0; q < set->n_questions; q++)
						if (e->question_marks[q] == a->marks[m])
							er->reads_question[q] = true;
				}
			}
		}
		for (size_t j = 0; j < rs->n_nodes; j++) {
			const struct node_src *ns = &rs->nodes[j];
			struct enode *n = &e->nodes[nbase + j];
			n->src = ns;
			n->kind = ns->kind;
			n->rule = (uint32_t)k;
			n->first_child =
			    ns->first_child == NONE ? NONE : (uint32_t)(nbase + ns->first_child);
			n->next_sibling =
			    ns->next_sibling == NONE ? NONE : (uint32_t)(nbase + ns->next_sibling);
			n->atom = ns->atom == NONE ? NONE : (uint32_t)(abase + ns->atom);
			switch (ns->kind) {
			case NODE_ATOM:
				e->atoms[n->atom].user = USER_LATCH;
				e->atoms[n->atom].node = (uint32_t)(nbase + j);
				break;
			case NODE_COUNT:
				e->atoms[n->atom].user = USER_COUNT;
				e->atoms[n->atom].node = (uint32_t)(nbase + j);
				n->ring = e->ring_pool + rbase;
				rbase += ns->count_n;
				break;
			case NODE_SEQ:
				e->atoms[n->atom].user = USER_ANCHOR;
				e->atoms[n->atom].node = (uint32_t)(nbase + j);
				for (unsigned s = 0; s < ns->n_steps; s++) {
					struct eatom *sa = &e->atoms[abase + ns->steps[s].atom];
					sa->user = USER_STEP;
					sa->node = (uint32_t)(nbase + j);
					sa->step = s;
				}
				break;
			case NODE_ALL:
			case NODE_ANY:
			case NODE_NOT:
			case NODE_KIND_MAX:
				break;
			}
		}
		abase += rs->n_atoms;
		nbase += rs->n_nodes;
	}

	/* per-signal state sized by what the table holds now (decoders interned theirs) */
	e->n_sigs = timeline_symbols_count(e->syms, TIMELINE_SYMBOL_SIGNAL);
	e->n_marks = timeline_symbols_count(e->syms, TIMELINE_SYMBOL_MARK);
	size_t ns = e->n_sigs ? e->n_sigs : 1, nm = e->n_marks ? e->n_marks : 1;
	e->val = calloc(ns, sizeof(*e->val));
	e->val_t = calloc(ns, sizeof(*e->val_t));
	e->have = calloc(ns, sizeof(*e->have));
	e->reads = calloc(ns, sizeof(*e->reads));
	e->mark_seen = calloc(nm, sizeof(*e->mark_seen));
	if (!e->val || !e->val_t || !e->have || !e->reads || !e->mark_seen)
		return -ENOMEM;
	for (size_t k = 0; k < set->n_rules; k++)
		for (size_t j = 0; e->rules[k].active && j < set->rules[k].n_evidence; j++)
			e->reads[e->rules[k].evidence_sigs[j]] = 1;

	/* indexes over active rules' atoms */
	size_t cap = n_atoms * 2 + 1;
	uint32_t *keys = calloc(cap, sizeof(*keys)), *items = calloc(cap, sizeof(*items));
	uint32_t *mkeys = NULL, *mitems = NULL;
	size_t nsig_items = 0, nmark_items = 0, mcap = 1;
	for (size_t i = 0; i < n_atoms; i++)
		mcap += e->atoms[i].n_marks;
	mkeys = calloc(mcap, sizeof(*mkeys));
	mitems = calloc(mcap, sizeof(*mitems));
	e->dtc_atoms = calloc(n_atoms + 1, sizeof(uint32_t));
	e->transport_atoms = calloc(n_atoms + 1, sizeof(uint32_t));
	e->timed_atoms = calloc(n_atoms + 1, sizeof(uint32_t));
	e->seq_nodes = calloc(n_nodes + 1, sizeof(uint32_t));
	if (!keys || !items || !mkeys || !mitems || !e->dtc_atoms || !e->transport_atoms ||
	    !e->timed_atoms || !e->seq_nodes) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n_atoms; i++) {
		struct eatom *a = &e->atoms[i];
		if (!e->rules[a->rule].active)
			continue;
		for (unsigned s = 0; s < 2; s++) {
			if (a->sig[s] == NONE || (s == 1 && a->sig[1] == a->sig[0]))
				continue;
			e->reads[a->sig[s]] = 1;
			keys[nsig_items] = a->sig[s];
			items[nsig_items++] = (uint32_t)i;
		}
		for (size_t m = 0; m < a->n_marks; m++) {
			mkeys[nmark_items] = a->marks[m];
			mitems[nmark_items++] = (uint32_t)i;
		}
		if (a->kind == ATOM_DTC)
			e->dtc_atoms[e->n_dtc_atoms++] = (uint32_t)i;
		if (a->kind == ATOM_TRANSPORT)
			e->transport_atoms[e->n_transport_atoms++] = (uint32_t)i;
		if (a->kind == ATOM_LEVEL && a->src->for_us > 0)
			e->timed_atoms[e->n_timed_atoms++] = (uint32_t)i;
	}
	for (size_t i = 0; i < n_nodes; i++)
		if (e->nodes[i].kind == NODE_SEQ && e->rules[e->nodes[i].rule].active)
			e->seq_nodes[e->n_seq_nodes++] = (uint32_t)i;
	if ((r = build_csr(e->n_sigs, nsig_items, keys, items, &e->sig_off, &e->sig_atoms)) < 0 ||
	    (r = build_csr(e->n_marks, nmark_items, mkeys, mitems, &e->mark_off, &e->mark_atoms)) <
		0)
		goto out;
	r = 0;
out:
	free(keys);
	free(items);
	free(mkeys);
	free(mitems);
	return r;
}

int rules_engine_new(const struct rules_set *set, struct timeline_symbols *syms,
		     const struct rules_vehicle *vehicle, struct rules_error *err,
		     struct rules_engine **ret_engine)
{
	if (!set || !syms)
		return -EINVAL;
	struct rules_engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->set = set;
	e->syms = syms;
	if (err)
		*err = (struct rules_error){0};
	int r = compile(e, vehicle, err);
	if (r < 0) {
		if (err && !err->message[0])
			snprintf(err->message, sizeof(err->message), "%s", strerror(-r));
		rules_engine_free(e);
		return r;
	}
	e->now = INT64_MIN;
	rules_reset(e, INT64_MIN);
	*ret_engine = e;
	return 0;
}

size_t rules_engine_active_count(const struct rules_engine *e)
{
	return e->n_active;
}

bool rules_engine_reads_signal(const struct rules_engine *e, uint32_t index)
{
	return index < e->n_sigs && e->reads[index];
}

/* ---- evaluation ---- */

static struct rules_evidence ev_event(const struct eatom *a, const struct timeline_event *ev)
{
	return (struct rules_evidence){
	    .kind = RULES_EVIDENCE_EVENT,
	    .event = *ev,
	    .from_us = ev->t_us,
	    .until_us = ev->t_us,
	    .condition = a->src->text,
	};
}

static bool level_now(const struct rules_engine *e, const struct eatom *a)
{
	for (unsigned s = 0; s < (a->src->has_while ? 2u : 1u); s++) {
		uint32_t sig = a->sig[s];
		if (sig >= e->n_sigs || !e->have[sig] ||
		    !cmp_eval(a->src->op[s], e->val[sig], a->src->x[s]))
			return false;
	}
	return true;
}

/* The level (or DTC match) is satisfied now, duration included. */
static bool atom_satisfied(const struct eatom *a)
{
	if (a->kind == ATOM_LEVEL)
		return a->cur && (a->src->for_us == 0 || a->fired);
	if (a->kind == ATOM_DTC)
		return a->cur;
	return false;
}

static struct rules_evidence atom_current_evidence(const struct eatom *a)
{
	struct rules_evidence ev = ev_event(a, &a->start_ev);
	if (a->kind == ATOM_LEVEL && a->src->for_us > 0) {
		ev.kind = RULES_EVIDENCE_HELD;
		ev.from_us = a->since;
		ev.until_us = sat_add(a->since, a->src->for_us);
	}
	return ev;
}

static void fire(struct rules_engine *e, struct eatom *a, int64_t t,
		 const struct rules_evidence *ev);

static void instance_check(struct rules_engine *e, struct enode *n, struct instance *in)
{
	unsigned steps = n->src->n_steps;
	bool all = true;
	for (unsigned s = 0; s < steps; s++) {
		if (in->state[s] == STEP_FAILED) {
			in->open = false;
			n->n_failed++;
			return;
		}
		if (in->state[s] != STEP_MET)
			all = false;
	}
	if (all) {
		in->open = false;
		if (!n->latched) {
			n->latched = true;
			n->latched_t = in->t[steps - 1];
			for (unsigned s = 0; s < steps; s++)
				if (in->t[s] > n->latched_t)
					n->latched_t = in->t[s];
			n->won = *in;
		}
	}
}

/* Anchor time of step s of an instance, or INT64_MIN when its window is not open yet. */
static int64_t step_anchor(const struct enode *n, const struct instance *in, unsigned s)
{
	if (s == 0 || !n->src->steps[s].then)
		return in->t0;
	if (in->state[s - 1] != STEP_MET)
		return INT64_MIN;
	return in->t[s - 1];
}

static void step_met(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		     int64_t t, const struct rules_evidence *ev);

/* A window opens at time a: a level already true meets (or, absent, fails) it at once. */
static void step_open(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		      int64_t a)
{
	const struct step_src *st = &n->src->steps[s];
	const struct eatom *atom = &e->atoms[n->atom - n->src->atom + st->atom];
	if (in->state[s] != STEP_PENDING || !atom_satisfied(atom))
		return;
	if (st->absent) {
		in->state[s] = STEP_FAILED;
		return;
	}
	struct rules_evidence ev = atom_current_evidence(atom);
	step_met(e, n, in, s, a, &ev);
}

static void step_met(struct rules_engine *e, struct enode *n, struct instance *in, unsigned s,
		     int64_t t, const struct rules_evidence *ev)
{
	in->state[s] = STEP_MET;
	in->t[s] = t;
	in->ev[s] = *ev;
	if (s + 1 < n->src->n_steps && n->src->steps[s + 1].then)
		step_open(e, n, in, s + 1, t);
}

static void open_instance(struct rules_engine *e, struct enode *n, int64_t t,
			  const struct timeline_event *anchor)
{
	struct instance *slot = NULL;
	for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
		if (!n->inst[k].open) {
			slot = &n->inst[k];
			break;
		}
	}
	if (!slot) {
		/* bounded memory: the oldest open window is given up, undecided */
		slot = &n->inst[0];
		for (unsigned k = 1; k < RULES_MAX_INSTANCES; k++)
			if (n->inst[k].t0 < slot->t0)
				slot = &n->inst[k];
	}
	memset(slot, 0, sizeof(*slot));
	n->opened = true;
	slot->open = true;
	slot->t0 = t;
	slot->anchor_ev = *anchor;
	for (unsigned s = 0; s < n->src->n_steps; s++)
		if (s == 0 || !n->src->steps[s].then)
			step_open(e, n, slot, s, t);
	instance_check(e, n, slot);
}

static void latch(struct enode *n, int64_t t, const struct rules_evidence *ev)
{
	if (n->latched)
		return;
	n->latched = true;
	n->latched_t = t;
	n->ev = *ev;
}

static void fire(struct rules_engine *e, struct eatom *a, int64_t t,
		 const struct rules_evidence *ev)
{
	struct enode *n = &e->nodes[a->node];
	e->dirty = true;
	switch (a->user) {
	case USER_LATCH:
		latch(n, t, ev);
		break;
	case USER_COUNT: {
		unsigned cap = n->src->count_n;
		n->ring[n->ring_head] = t;
		n->ring_head = (n->ring_head + 1) % cap;
		if (n->ring_len < cap)
			n->ring_len++;
		/* full ring: the oldest of the last N fires is at ring_head */
		if (n->ring_len == cap &&
		    t <= sat_add(n->ring[n->ring_head % cap], n->src->within_us))
			latch(n, t, ev);
		break;
	}
	case USER_ANCHOR: {
		open_instance(e, n, t, &ev->event);
		break;
	}
	case USER_STEP: {
		const struct step_src *st = &n->src->steps[a->step];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
			struct instance *in = &n->inst[k];
			if (!in->open || in->state[a->step] != STEP_PENDING)
				continue;
			int64_t anchor = step_anchor(n, in, a->step);
			if (anchor == INT64_MIN || t < anchor || t > sat_add(anchor, st->within_us))
				continue;
			if (st->absent)
				in->state[a->step] = STEP_FAILED;
			else
				step_met(e, n, in, a->step, t, ev);
			instance_check(e, n, in);
		}
		break;
	}
	case USER_KIND_MAX:
		break;
	}
}

/* A level atom's inputs changed at event ev. */
static void level_update(struct rules_engine *e, struct eatom *a, const struct timeline_event *ev)
{
	bool now = level_now(e, a);
	if (now && !a->cur) {
		e->dirty = true; /* a hold starts: its end is a deadline */
		a->cur = true;
		a->since = ev->t_us;
		a->start_ev = *ev;
		a->fired = false;
		if (a->src->for_us == 0) {
			a->fired = true;
			struct rules_evidence evd = ev_event(a, ev);
			fire(e, a, ev->t_us, &evd);
		}
	} else if (!now && a->cur) {
		a->cur = false;
		a->fired = false;
	}
}

static void recompute_deadline(struct rules_engine *e)
{
	int64_t d = INT64_MAX;
	for (size_t i = 0; i < e->n_timed_atoms; i++) {
		const struct eatom *a = &e->atoms[e->timed_atoms[i]];
		if (a->cur && !a->fired && sat_add(a->since, a->src->for_us) < d)
			d = sat_add(a->since, a->src->for_us);
	}
	for (size_t i = 0; i < e->n_seq_nodes; i++) {
		const struct enode *n = &e->nodes[e->seq_nodes[i]];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
			const struct instance *in = &n->inst[k];
			if (!in->open)
				continue;
			for (unsigned s = 0; s < n->src->n_steps; s++) {
				int64_t a = step_anchor(n, in, s);
				if (in->state[s] != STEP_PENDING || a == INT64_MIN)
					continue;
				/* the window closes once time is past its end */
				int64_t end = sat_add(sat_add(a, n->src->steps[s].within_us), 1);
				if (end < d)
					d = end;
			}
		}
	}
	e->deadline = d;
	e->dirty = false;
}

static void do_advance(struct rules_engine *e, int64_t now)
{
	if (now < e->deadline)
		return;
	/* durations reached by now, at the time they were reached */
	for (size_t i = 0; i < e->n_timed_atoms; i++) {
		struct eatom *a = &e->atoms[e->timed_atoms[i]];
		if (a->cur && !a->fired && sat_add(a->since, a->src->for_us) <= now) {
			a->fired = true;
			struct rules_evidence ev = atom_current_evidence(a);
			fire(e, a, sat_add(a->since, a->src->for_us), &ev);
		}
	}
	/* windows ended before now; an absence met opens a `then` window at its end,
	 * which may itself have ended: loop until nothing changes */
	for (size_t i = 0; i < e->n_seq_nodes; i++) {
		struct enode *n = &e->nodes[e->seq_nodes[i]];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++) {
			struct instance *in = &n->inst[k];
			bool changed = true;
			while (in->open && changed) {
				changed = false;
				for (unsigned s = 0; s < n->src->n_steps; s++) {
					const struct step_src *st = &n->src->steps[s];
					int64_t a = step_anchor(n, in, s);
					if (in->state[s] != STEP_PENDING || a == INT64_MIN ||
					    sat_add(a, st->within_us) >= now)
						continue;
					changed = true;
					if (!st->absent) {
						in->state[s] = STEP_FAILED;
						continue;
					}
					const struct eatom *atom =
					    &e->atoms[n->atom - n->src->atom + st->atom];
					struct rules_evidence ev = {
					    .kind = RULES_EVIDENCE_ABSENT,
					    .event = in->anchor_ev,
					    .from_us = a,
					    .until_us = sat_add(a, st->within_us),
					    .condition = atom->src->text,
					};
					step_met(e, n, in, s, sat_add(a, st->within_us), &ev);
				}
				instance_check(e, n, in);
			}
		}
	}
	recompute_deadline(e);
}

void rules_advance(struct rules_engine *e, int64_t now_us)
{
	/* advancing to rules_next_deadline() when nothing is pending changes nothing */
	if (now_us == INT64_MAX)
		return;
	if (now_us < e->now)
		now_us = e->now;
	e->now = now_us;
	do_advance(e, now_us);
}

int64_t rules_next_deadline(const struct rules_engine *e)
{
	return e->deadline;
}

int64_t rules_now(const struct rules_engine *e)
{
	return e->now;
}

static bool dtc_matches(const struct eatom *a, const struct edtc *d)
{
	const struct atom_src *s = a->src;
	if (a->module != NONE && d->module != TIMELINE_MODULE_NONE && d->module != a->module)
		return false;
	if (!dtc_pattern_match(&s->pattern, d->code))
		return false;
	if ((d->status & s->status_all) != s->status_all)
		return false;
	if (s->stored && !(d->status & ST_STORED_ANY))
		return false;
	if (s->flapping && d->toggles < s->flapping)
		return false;
	return true;
}

static void feed_dtc(struct rules_engine *e, const struct timeline_event *ev)
{
	struct edtc *d = NULL;
	for (size_t i = 0; i < e->n_dtcs && !d; i++)
		if (e->dtcs[i].code == ev->dtc.code && e->dtcs[i].module == ev->dtc.module)
			d = &e->dtcs[i];
	/* the status before this event: ours, else what the timeline remembered */
	bool prev_known;
	uint8_t prev = 0;
	if (d) {
		if (d->status == ev->dtc.status)
			return;
		prev_known = true;
		prev = d->status;
	} else {
		if (e->n_dtcs == RULES_MAX_DTCS)
			return; /* beyond the bound: ignored, as documented */
		d = &e->dtcs[e->n_dtcs++];
		*d = (struct edtc){.module = ev->dtc.module, .code = ev->dtc.code};
		prev_known = !ev->dtc.first_seen;
		prev = ev->dtc.previous;
	}
	struct edtc before = *d;
	before.status = prev;
	/* testFailed toggling is the intermittent signature: count every change of bit 0 */
	if (prev_known && ((prev ^ ev->dtc.status) & ST_TF))
		d->toggles++;
	d->status = ev->dtc.status;

	for (size_t i = 0; i < e->n_dtc_atoms; i++) {
		struct eatom *a = &e->atoms[e->dtc_atoms[i]];
		bool was = prev_known && dtc_matches(a, &before);
		bool is = dtc_matches(a, d);
		if (is && !was) {
			if (!a->cur) {
				a->cur = true;
				a->since = ev->t_us;
				a->start_ev = *ev;
			}
			struct rules_evidence evd = ev_event(a, ev);
			fire(e, a, ev->t_us, &evd);
		} else if (was && !is) {
			bool any = false;
			for (size_t j = 0; j < e->n_dtcs && !any; j++)
				any = dtc_matches(a, &e->dtcs[j]);
			a->cur = any;
		}
	}
}

int rules_feed(struct rules_engine *e, const struct timeline_event *ev)
{
	if (!e || !ev)
		return -EINVAL;
	struct timeline_event evc = *ev;
	if (evc.t_us < e->now)
		evc.t_us = e->now;
	e->now = evc.t_us;
	do_advance(e, evc.t_us);

	switch (evc.type) {
	case TIMELINE_EVENT_SIGNAL: {
		uint32_t s = evc.signal.index;
		if (!isfinite(evc.signal.value))
			return -EINVAL;
		if (s >= e->n_sigs)
			return 0;
		double prev = e->val[s];
		bool had = e->have[s];
		e->val[s] = evc.signal.value;
		e->val_t[s] = evc.t_us;
		e->have[s] = 1;
		for (uint32_t k = e->sig_off[s]; k < e->sig_off[s + 1]; k++) {
			struct eatom *a = &e->atoms[e->sig_atoms[k]];
			switch (a->kind) {
			case ATOM_LEVEL:
				level_update(e, a, &evc);
				break;
			case ATOM_EDGE:
				if (had && !cmp_eval(a->src->op[0], prev, a->src->x[0]) &&
				    cmp_eval(a->src->op[0], evc.signal.value, a->src->x[0])) {
					struct rules_evidence evd = ev_event(a, &evc);
					fire(e, a, evc.t_us, &evd);
				}
				break;
			case ATOM_UPDATE: {
				struct rules_evidence evd = ev_event(a, &evc);
				fire(e, a, evc.t_us, &evd);
				break;
			}
			case ATOM_MARK:
			case ATOM_DTC:
			case ATOM_TRANSPORT:
			case ATOM_KIND_MAX:
				break;
			}
		}
		break;
	}
	case TIMELINE_EVENT_MARK: {
		uint32_t m = evc.mark.index;
		if (m >= e->n_marks)
			return 0;
		e->mark_seen[m]++;
		/* mark atoms that are steps first, anchors last: a mark must not meet a step
		 * of the window it opens itself */
		for (int pass = 0; pass < 2; pass++) {
			for (uint32_t k = e->mark_off[m]; k < e->mark_off[m + 1]; k++) {
				struct eatom *a = &e->atoms[e->mark_atoms[k]];
				if ((a->user == USER_ANCHOR) != (pass == 1))
					continue;
				struct rules_evidence evd = ev_event(a, &evc);
				fire(e, a, evc.t_us, &evd);
			}
		}
		break;
	}
	case TIMELINE_EVENT_DTC:
		if (evc.dtc.code > 0xFFFFFFu)
			return -EINVAL;
		feed_dtc(e, &evc);
		break;
	case TIMELINE_EVENT_TRANSPORT:
		if ((unsigned)evc.transport.kind >= TIMELINE_TRANSPORT_MAX)
			return -EINVAL;
		for (size_t i = 0; i < e->n_transport_atoms; i++) {
			struct eatom *a = &e->atoms[e->transport_atoms[i]];
			if (a->src->transport != evc.transport.kind ||
			    (a->src->nrc >= 0 && a->src->nrc != evc.transport.nrc))
				continue;
			struct rules_evidence evd = ev_event(a, &evc);
			fire(e, a, evc.t_us, &evd);
		}
		break;
	case TIMELINE_EVENT_TYPE_MAX:
		return -EINVAL;
	}
	/* an event no rule reads changed nothing: keep the per-event cost at the lookup */
	if (e->dirty)
		recompute_deadline(e);
	return 0;
}

void rules_reset(struct rules_engine *e, int64_t now_us)
{
	if (now_us > e->now || e->now == INT64_MIN)
		e->now = now_us;
	for (size_t i = 0; i < e->n_nodes; i++) {
		struct enode *n = &e->nodes[i];
		n->latched = false;
		n->latched_t = 0;
		n->ring_len = n->ring_head = 0;
		n->n_failed = 0;
		n->opened = false;
		memset(n->inst, 0, sizeof(n->inst));
		memset(&n->won, 0, sizeof(n->won));
	}
	for (size_t i = 0; i < e->n_dtcs; i++)
		e->dtcs[i].toggles = 0;
	/* without their toggle history, `flapping` atoms may no longer match */
	for (size_t i = 0; i < e->n_dtc_atoms; i++) {
		struct eatom *a = &e->atoms[e->dtc_atoms[i]];
		bool any = false;
		for (size_t j = 0; j < e->n_dtcs && !any; j++)
			any = dtc_matches(a, &e->dtcs[j]);
		a->cur = any;
	}
	if (e->mark_seen)
		memset(e->mark_seen, 0, (e->n_marks ? e->n_marks : 1) * sizeof(*e->mark_seen));
	/* what is true now holds from now on: re-latch current levels and DTC matches */
	for (size_t i = 0; i < e->n_atoms; i++) {
		struct eatom *a = &e->atoms[i];
		if (!e->rules[a->rule].active || a->user != USER_LATCH)
			continue;
		if (a->kind == ATOM_LEVEL && a->cur && a->src->for_us > 0 && a->fired) {
			/* restart the hold so its duration is measured in this session */
			a->fired = false;
			a->since = e->now;
		} else if (atom_satisfied(a)) {
			struct rules_evidence ev = atom_current_evidence(a);
			latch(&e->nodes[a->node], e->now, &ev);
		}
	}
	for (size_t i = 0; i < e->n_findings; i++)
		e->findings[i] = (struct rules_finding){0};
	e->n_findings = 0;
	e->verdict = RULES_VERDICT_INCONCLUSIVE;
	recompute_deadline(e);
}

/* Kleene three-valued evaluation; *ret_since: when it became true. */
static enum tv eval_node(const struct rules_engine *e, uint32_t ni, int64_t *ret_since)
{
	const struct enode *n = &e->nodes[ni];
	int64_t since = INT64_MIN;
	switch (n->kind) {
	case NODE_ATOM:
	case NODE_COUNT:
		*ret_since = n->latched_t;
		return n->latched ? TV_TRUE : TV_FALSE;
	case NODE_SEQ: {
		*ret_since = n->latched_t;
		if (n->latched)
			return TV_TRUE;
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++)
			if (n->inst[k].open)
				return TV_UNKNOWN;
		if (n->n_failed)
			return TV_FALSE;
		/* a mark is an action someone may still do: undecided until then; an event of
		 * the vehicle that has not happened is simply not there */
		if (!n->opened && e->atoms[n->atom].kind == ATOM_MARK)
			return TV_UNKNOWN;
		return n->opened ? TV_UNKNOWN : TV_FALSE;
	}
	case NODE_NOT: {
		int64_t s;
		enum tv v = eval_node(e, n->first_child, &s);
		*ret_since = e->now;
		return v == TV_TRUE ? TV_FALSE : v == TV_FALSE ? TV_TRUE : TV_UNKNOWN;
	}
	case NODE_ALL: {
		enum tv acc = TV_TRUE;
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling) {
			int64_t s;
			enum tv v = eval_node(e, c, &s);
			if (v == TV_FALSE)
				return TV_FALSE;
			if (v == TV_UNKNOWN)
				acc = TV_UNKNOWN;
			else if (s > since)
				since = s;
		}
		*ret_since = since;
		return acc;
	}
	case NODE_ANY: {
		enum tv acc = TV_FALSE;
		since = INT64_MAX;
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling) {
			int64_t s;
			enum tv v = eval_node(e, c, &s);
			if (v == TV_TRUE) {
				acc = TV_TRUE;
				if (s < since)
					since = s;
			} else if (v == TV_UNKNOWN && acc == TV_FALSE) {
				acc = TV_UNKNOWN;
			}
		}
		*ret_since = since;
		return acc;
	}
	case NODE_KIND_MAX:
		break;
	}
	*ret_since = INT64_MIN;
	return TV_FALSE;
}

static void add_evidence(struct rules_finding *f, const struct rules_evidence *ev)
{
	if (f->n_evidence < RULES_MAX_EVIDENCE)
		f->evidence[f->n_evidence++] = *ev;
}

static void collect(const struct rules_engine *e, uint32_t ni, struct rules_finding *f)
{
	const struct enode *n = &e->nodes[ni];
	int64_t s;
	switch (n->kind) {
	case NODE_ATOM:
	case NODE_COUNT:
		if (n->latched)
			add_evidence(f, &n->ev);
		break;
	case NODE_SEQ:
		if (n->latched) {
			const struct eatom *anchor = &e->atoms[n->atom];
			struct rules_evidence a = ev_event(anchor, &n->won.anchor_ev);
			add_evidence(f, &a);
			for (unsigned k = 0; k < n->src->n_steps; k++)
				add_evidence(f, &n->won.ev[k]);
		}
		break;
	case NODE_NOT:
		break;
	case NODE_ALL:
	case NODE_ANY:
		for (uint32_t c = n->first_child; c != NONE; c = e->nodes[c].next_sibling)
			if (eval_node(e, c, &s) == TV_TRUE)
				collect(e, c, f);
		break;
	case NODE_KIND_MAX:
		break;
	}
}

/* what a finding of an inhibit with `covers *` lists */
static const char *const covers_all_list[1] = {"*"};

static void fill_finding(const struct rules_engine *e, size_t k, struct rules_finding *f,
			 enum rules_state state, const char *by)
{
	const struct erule *er = &e->rules[k];
	const struct rule_src *rs = er->src;
	*f = (struct rules_finding){
	    .id = rs->id,
	    .title = rs->title,
	    .advice = rs->advice,
	    .kind = rs->kind,
	    .state = state,
	    .weight = rs->weight,
	    .score = state == RULES_STATE_POSSIBLE ? rs->weight / 2 : rs->weight,
	    .cost = rs->cost,
	    .since_us = er->value == TV_TRUE ? er->since : 0,
	    .by = by,
	    .rules_out = (const char *const *)rs->rules_out,
	    .n_rules_out = rs->n_rules_out,
	    .covers = rs->covers_all ? covers_all_list : (const char *const *)rs->covers,
	    .n_covers = rs->covers_all ? 1 : rs->n_covers,
	};
	if (er->value != TV_TRUE)
		return;
	collect(e, er->root, f);
	/* the rule's `evidence` signals: their last sample, as context */
	for (size_t j = 0; j < rs->n_evidence; j++) {
		uint32_t s = er->evidence_sigs[j];
		if (s >= e->n_sigs || !e->have[s])
			continue;
		struct timeline_event ev = timeline_event_signal(e->val_t[s], s, e->val[s]);
		struct rules_evidence r = {
		    .kind = RULES_EVIDENCE_EVENT,
		    .event = ev,
		    .from_us = ev.t_us,
		    .until_us = ev.t_us,
		    .condition = rs->evidence[j],
		};
		add_evidence(f, &r);
	}
}

static bool inhibit_covers(const struct rule_src *inh, uint32_t k)
{
	if (inh->covers_all)
		return true;
	for (size_t j = 0; j < inh->n_covers; j++)
		if (inh->covers_idx[j] == k)
			return true;
	return false;
}

static bool rules_out_has(const struct rule_src *r, uint32_t k)
{
	for (size_t j = 0; j < r->n_rules_out; j++)
		if (r->rules_out_idx[j] == k)
			return true;
	return false;
}

enum fstate {
	FS_NONE, /* false or inactive: not listed */
	FS_HOLDS,
	FS_POSSIBLE,
	FS_SUPPRESSED,
	FS_RULED_OUT,
};

static int by_rank(const struct rules_engine *e, uint32_t a, uint32_t b)
{
	const struct rule_src *ra = e->rules[a].src, *rb = e->rules[b].src;
	if (ra->weight != rb->weight)
		return ra->weight > rb->weight ? -1 : 1;
	if (ra->cost != rb->cost)
		return ra->cost < rb->cost ? -1 : 1;
	return a < b ? -1 : a > b ? 1 : 0;
}

/* Insertion sort: a few dozen rules, and qsort has no context pointer in C17. */
static void sort_rules(const struct rules_engine *e, uint32_t *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		uint32_t x = v[i];
		size_t j = i;
		while (j > 0 && by_rank(e, v[j - 1], x) > 0) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static void rank(struct rules_engine *e)
{
	size_t n = e->n_rules;
	for (size_t k = 0; k < n; k++) {
		struct erule *er = &e->rules[k];
		e->fstate[k] = FS_NONE;
		e->fby[k] = NONE;
		if (!er->active) {
			er->value = TV_FALSE;
			continue;
		}
		er->value = eval_node(e, er->root, &er->since);
		if (er->value == TV_TRUE)
			e->fstate[k] = FS_HOLDS;
		else if (er->value == TV_UNKNOWN)
			e->fstate[k] = FS_POSSIBLE;
	}
	/* inhibits that hold explain the causes they cover */
	for (size_t i = 0; i < n; i++) {
		const struct rule_src *ri = e->rules[i].src;
		if (ri->kind != RULES_KIND_INHIBIT || e->fstate[i] != FS_HOLDS)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (e->rules[k].src->kind != RULES_KIND_CAUSE ||
			    (e->fstate[k] != FS_HOLDS && e->fstate[k] != FS_POSSIBLE) ||
			    !inhibit_covers(ri, (uint32_t)k))
				continue;
			e->fstate[k] = FS_SUPPRESSED;
			e->fby[k] = (uint32_t)i;
		}
	}
	/* rules_out, strongest first among those that hold */
	size_t m = 0;
	for (size_t k = 0; k < n; k++)
		if (e->fstate[k] == FS_HOLDS)
			e->order[m++] = (uint32_t)k;
	sort_rules(e, e->order, m);
	for (size_t i = 0; i < m; i++) {
		uint32_t k = e->order[i];
		if (e->fstate[k] != FS_HOLDS)
			continue;
		for (size_t j = 0; j < n; j++) {
			if (j == k || !rules_out_has(e->rules[k].src, (uint32_t)j))
				continue;
			if (e->fstate[j] == FS_HOLDS || e->fstate[j] == FS_POSSIBLE) {
				/* a weaker finding cannot rule out one ranked above it */
				bool above = false;
				for (size_t q = 0; q < i; q++)
					if (e->order[q] == j)
						above = true;
				if (above)
					continue;
				e->fstate[j] = FS_RULED_OUT;
				e->fby[j] = k;
			}
		}
	}

	/* output order */
	e->n_findings = 0;
	bool cause_or_inhibit = false;
	e->verdict = RULES_VERDICT_INCONCLUSIVE;
	/* A failed part proven by one action comes first and makes the verdict a fault even
	 * when an inhibit explains another action (a press while moving, then one after
	 * stopping); inhibits that hold follow it, and make the verdict only alone. */
	static const enum rules_kind holding[] = {RULES_KIND_CAUSE, RULES_KIND_INHIBIT};
	for (size_t pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < m; i++) {
			uint32_t k = e->order[i];
			if (e->fstate[k] != FS_HOLDS || e->rules[k].src->kind != holding[pass])
				continue;
			if (!cause_or_inhibit)
				e->verdict = holding[pass] == RULES_KIND_CAUSE ? RULES_VERDICT_FAULT
									       : RULES_VERDICT_BLOCKED;
			cause_or_inhibit = true;
			fill_finding(e, k, &e->findings[e->n_findings++], RULES_STATE_HOLDS, NULL);
		}
	for (size_t i = 0; i < m && !cause_or_inhibit; i++) {
		uint32_t k = e->order[i];
		if (e->fstate[k] != FS_HOLDS || e->rules[k].src->kind != RULES_KIND_NORMAL)
			continue;
		e->verdict = RULES_VERDICT_NO_FAULT;
		fill_finding(e, k, &e->findings[e->n_findings++], RULES_STATE_HOLDS, NULL);
	}
	static const uint8_t later[] = {FS_POSSIBLE, FS_SUPPRESSED, FS_RULED_OUT};
	static const enum rules_state later_state[] = {RULES_STATE_POSSIBLE, RULES_STATE_SUPPRESSED,
						       RULES_STATE_RULED_OUT};
	for (size_t pass = 0; pass < 3; pass++) {
		size_t mm = 0;
		for (size_t k = 0; k < n; k++)
			if (e->fstate[k] == later[pass] &&
			    (pass > 0 || e->rules[k].src->kind == RULES_KIND_CAUSE))
				e->order[mm++] = (uint32_t)k;
		sort_rules(e, e->order, mm);
		for (size_t i = 0; i < mm; i++) {
			uint32_t k = e->order[i];
			const char *by = e->fby[k] == NONE ? NULL : e->rules[e->fby[k]].src->id;
			fill_finding(e, k, &e->findings[e->n_findings++], later_state[pass], by);
		}
	}
}

int rules_evaluate(struct rules_engine *e)
{
	rank(e);
	return (int)e->n_findings;
}

size_t rules_finding_count(const struct rules_engine *e)
{
	return e->n_findings;
}

const struct rules_finding *rules_finding_at(const struct rules_engine *e, size_t i)
{
	return i < e->n_findings ? &e->findings[i] : NULL;
}

enum rules_verdict rules_verdict(const struct rules_engine *e)
{
	return e->verdict;
}

const char *rules_verdict_name(enum rules_verdict v)
{
	switch (v) {
	case RULES_VERDICT_INCONCLUSIVE:
		return "inconclusive";
	case RULES_VERDICT_FAULT:
		return "fault";
	case RULES_VERDICT_BLOCKED:
		return "blocked";
	case RULES_VERDICT_NO_FAULT:
		return "no fault found in the release chain";
	case RULES_VERDICT_MAX:
		break;
	}
	return "?";
}

const char *rules_state_name(enum rules_state s)
{
	switch (s) {
	case RULES_STATE_HOLDS:
		return "holds";
	case RULES_STATE_POSSIBLE:
		return "possible";
	case RULES_STATE_SUPPRESSED:
		return "suppressed";
	case RULES_STATE_RULED_OUT:
		return "ruled out";
	case RULES_STATE_MAX:
		break;
	}
	return "?";
}

const char *rules_kind_name(enum rules_kind k)
{
	switch (k) {
	case RULES_KIND_CAUSE:
		return "cause";
	case RULES_KIND_INHIBIT:
		return "inhibit";
	case RULES_KIND_NORMAL:
		return "normal";
	case RULES_KIND_MAX:
		break;
	}
	return "?";
}

int rules_evidence_format(const struct rules_engine *e, const struct rules_evidence *ev, char *buf,
			  size_t size)
{
	char what[160];
	timeline_event_format(&ev->event, e->syms, what, sizeof(what));
	switch (ev->kind) {
	case RULES_EVIDENCE_EVENT:
		return snprintf(buf, size, "%s: %s", ev->condition ? ev->condition : "", what);
	case RULES_EVIDENCE_HELD:
		return snprintf(buf, size, "%s: held %.3f s from %s", ev->condition,
				(double)(ev->until_us - ev->from_us) / 1e6, what);
	case RULES_EVIDENCE_ABSENT:
		return snprintf(buf, size, "no '%s' within %.3f s after %s", ev->condition,
				(double)(ev->until_us - ev->from_us) / 1e6, what);
	case RULES_EVIDENCE_KIND_MAX:
		break;
	}
	return snprintf(buf, size, "?");
}

int rules_next_question(struct rules_engine *e, struct rules_question *ret_question)
{
	const struct rules_set *set = e->set;
	rank(e);
	for (size_t i = 0; i < e->n_seq_nodes; i++) {
		const struct enode *n = &e->nodes[e->seq_nodes[i]];
		for (unsigned k = 0; k < RULES_MAX_INSTANCES; k++)
			if (n->inst[k].open)
				return -EAGAIN;
	}
	double lead = -1;
	if (e->verdict == RULES_VERDICT_FAULT || e->verdict == RULES_VERDICT_BLOCKED)
		lead = e->findings[0].weight;

	size_t best = SIZE_MAX;
	unsigned best_waiting = 0;
	for (size_t q = 0; q < set->n_questions; q++) {
		uint32_t m = e->question_marks[q];
		if (m < e->n_marks && e->mark_seen[m])
			continue;
		unsigned waiting = 0;
		for (size_t k = 0; k < e->n_rules; k++) {
			/* only what a part or the whole chain does is worth an action: an inhibit
			 * waiting for a press is no reason to ask for one */
			if (e->fstate[k] != FS_POSSIBLE || !e->rules[k].reads_question[q] ||
			    e->rules[k].src->kind == RULES_KIND_INHIBIT)
				continue;
			if (e->rules[k].src->weight < lead)
				continue;
			waiting++;
		}
		if (!waiting)
			continue;
		if (best == SIZE_MAX || set->questions[q].cost < set->questions[best].cost ||
		    (set->questions[q].cost == set->questions[best].cost &&
		     waiting > best_waiting)) {
			best = q;
			best_waiting = waiting;
		}
	}
	if (best == SIZE_MAX)
		return -ENOENT;
	*ret_question = (struct rules_question){
	    .mark = set->questions[best].mark,
	    .prompt = set->questions[best].prompt,
	    .cost = set->questions[best].cost,
	    .mark_index = e->question_marks[best],
	    .waiting = best_waiting,
	};
	return 0;
}
