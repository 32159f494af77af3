/* SPDX-License-Identifier: MIT */
/*
 * rules_lang: the rule language's front end (rules_lang.h): a recursive parser for
 * conditions over the words of rules_syntax.c, and the checks that need the whole file
 * (rules_out / covers naming rules defined later). Roles and their labels are resolved against the
 * role registry as they are read, so every mistake carries the line and column where it was
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
#include "rules_syntax-private.h"

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
	for (size_t i = 0; i < set->n_actions; i++)
		free(set->actions[i].causes);
	free(set->actions);
	rules_arena_free(&set->arena);
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

const char *rules_set_rule_title(const struct rules_set *set, size_t i)
{
	if (!set || i >= set->n_rules)
		return NULL;
	return set->rules[i].title;
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

size_t rules_set_action_count(const struct rules_set *set)
{
	return set ? set->n_actions : 0;
}

int rules_error_format(const struct rules_error *e, char *buf, size_t size)
{
	return snprintf(buf, size, "%s:%u:%u: %s", e->file, e->line, e->column, e->message);
}

struct rules_parser {
	char *filename;
	char *buf;
	size_t len, cap;
};

static bool is_clause_word(const struct token *t)
{
	static const char *const w[] = {"scope",     "when",	 "advice",   "weight", "cost",
					"rules_out", "covers",	 "evidence", "rule",   "inhibit",
					"normal",    "question", "format",   "link",   "works",
					"fails",     "action"};
	for (size_t k = 0; k < sizeof(w) / sizeof(w[0]); k++)
		if (rules_tok_is(t, w[k]))
			return true;
	return false;
}

static int close_when(struct parse *p)
{
	if (p->depth > 1)
		return rules_fail(p, rules_col_at(p, 0),
				  "missing 'end' for the group opened on line %u",
				  p->group_line[p->depth - 1]);
	if (p->depth == 1) {
		if (p->rule->nodes[p->groups[0]].first_child == NONE) {
			p->line = p->group_line[0];
			return rules_fail(p, 1, "the '%s' block is empty", p->block);
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
			return rules_fail(p, 1, "link '%s' has neither 'works' nor 'fails'",
					  p->rule->id);
		}
		if (!p->rule->is_link && p->rule->root == NONE) {
			p->line = p->rule->line;
			return rules_fail(p, 1, "rule '%s' has no 'when' clause", p->rule->id);
		}
	}
	if (p->action && !p->action->n_causes) {
		p->line = p->action->line;
		return rules_fail(p, 1, "action '%s' has no 'causes' clause", p->action->mark);
	}
	p->rule = NULL;
	p->question = NULL;
	p->action = NULL;
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
		return rules_fail(p, 1, "too many rules and questions (limit %u)", RULES_MAX_RULES);
	if ((r = rules_want_ident(p, &i, "a rule id", &id)) < 0)
		return r;
	const struct rule_src *dup = find_rule(p->set, id, NULL);
	if (dup)
		return rules_fail(p, rules_col_at(p, 1),
				  "duplicate id '%s' (first defined on line %u)", id, dup->line);
	if ((r = rules_want_string(p, &i, "a title", &title)) < 0 ||
	    (r = rules_expect_end(p, i)) < 0)
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
		return rules_fail(p, 1, "too many rules and questions (limit %u)", RULES_MAX_RULES);
	if ((r = rules_want_ident(p, &i, "a link of the chain", &id)) < 0)
		return r;
	enum role_link link = ROLE_LINK_MAX;
	for (unsigned k = 0; k < ROLE_LINK_CONTEXT; k++)
		if (!strcmp(role_link_name((enum role_link)k), id))
			link = (enum role_link)k;
	if (link == ROLE_LINK_MAX)
		return rules_fail(
		    p, rules_col_at(p, 1),
		    "unknown link %s (fob, receiver, request, output, current, latch, "
		    "ajar)",
		    rules_tok_desc(p, 1, d, sizeof(d)));
	for (size_t k = 0; k < p->set->n_links; k++)
		if (p->set->links[k].link == link)
			return rules_fail(p, rules_col_at(p, 1),
					  "duplicate link '%s' (first defined on line %u)", id,
					  p->set->links[k].line);
	if ((r = rules_want_string(p, &i, "a title", &title)) < 0 ||
	    (r = rules_expect_end(p, i)) < 0)
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
		return rules_fail(p, 1, "too many rules and questions (limit %u)", RULES_MAX_RULES);
	if ((r = rules_want_ident(p, &i, "a mark name", &mark)) < 0)
		return r;
	for (size_t k = 0; k < p->set->n_questions; k++)
		if (!strcmp(p->set->questions[k].mark, mark))
			return rules_fail(p, rules_col_at(p, 1),
					  "duplicate question for mark '%s' (first on line %u)",
					  mark, p->set->questions[k].line);
	if ((r = rules_want_string(p, &i, "a prompt", &prompt)) < 0 ||
	    (r = rules_expect_end(p, i)) < 0)
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
	return rules_fail(p, rules_col_at(p, 0), "duplicate '%s' clause", what);
}

/* `action MARK`: a person's action, what it causes and how the car names it. */
static int start_action(struct parse *p)
{
	size_t i = 1;
	const char *mark;
	int r;
	if (p->set->n_actions == RULES_MAX_ACTIONS)
		return rules_fail(p, 1, "too many actions (limit %u)", RULES_MAX_ACTIONS);
	if ((r = rules_want_ident(p, &i, "a mark name", &mark)) < 0)
		return r;
	for (size_t k = 0; k < p->set->n_actions; k++)
		if (!strcmp(p->set->actions[k].mark, mark))
			return rules_fail(p, rules_col_at(p, 1),
					  "duplicate action '%s' (first on line %u)", mark,
					  p->set->actions[k].line);
	if ((r = rules_expect_end(p, i)) < 0)
		return r;
	if (p->set->n_actions == p->set->cap_actions) {
		size_t cap = p->set->cap_actions ? p->set->cap_actions * 2 : 4;
		struct action_src *as = realloc(p->set->actions, cap * sizeof(*as));
		if (!as)
			return -ENOMEM;
		p->set->actions = as;
		p->set->cap_actions = cap;
	}
	struct action_src *a = &p->set->actions[p->set->n_actions++];
	*a = (struct action_src){.mark = mark, .late_us = RULES_DEFAULT_LATE_US, .line = p->line};
	p->action = a;
	return 0;
}

/* `source ROLE == LABEL {, LABEL} [within DURATION]` */
static int parse_source(struct parse *p, struct action_src *a)
{
	char d[64], labels[160];
	size_t i = 1;
	int r;
	if (a->n_sources == RULES_MAX_SOURCES)
		return rules_fail(p, rules_col_at(p, 0), "too many 'source' clauses (limit %u)",
				  RULES_MAX_SOURCES);
	struct source_src *src = &a->sources[a->n_sources];
	*src = (struct source_src){0};
	if ((r = rules_want_role(p, &i, "a role", &src->role)) < 0)
		return r;
	const struct role *ro = role_at(src->role);
	if (ro->kind == ROLE_KIND_NUMBER)
		return rules_fail(p, rules_col_at(p, 1),
				  "'source' needs a role with labels that name a source; '%s' is a "
				  "number",
				  ro->name);
	for (size_t k = 0; k < a->n_sources; k++)
		if (a->sources[k].role == src->role)
			return rules_fail(p, rules_col_at(p, 1), "duplicate 'source' for role '%s'",
					  ro->name);
	if (i >= p->ntok || !rules_tok_is(&p->toks[i], "=="))
		return rules_fail(p, rules_col_at(p, i), "'source' needs '==', got %s",
				  rules_tok_desc(p, i, d, sizeof(d)));
	i++;
	for (;;) {
		unsigned v;
		if (i >= p->ntok || p->toks[i].type != TOK_WORD ||
		    role_label_find(ro, p->toks[i].s, p->toks[i].len, &v) < 0)
			return rules_fail(p, rules_col_at(p, i),
					  "unknown value %s of role '%s' (%s)",
					  rules_tok_desc(p, i, d, sizeof(d)), ro->name,
					  rules_label_list(ro, labels, sizeof(labels)));
		if (v == 0)
			return rules_fail(
			    p, rules_col_at(p, i),
			    "'%s' is the rest value of '%s': a source is named by one "
			    "of the others",
			    ro->labels[0], ro->name);
		if (v >= 64)
			return rules_fail(p, rules_col_at(p, i), "label index out of range");
		src->labels |= 1ull << v;
		i++;
		if (i >= p->ntok || !rules_tok_is(&p->toks[i], ","))
			break;
		i++;
	}
	if (i < p->ntok && rules_tok_is(&p->toks[i], "within")) {
		i++;
		if ((r = rules_want_duration(p, &i, &src->within_us)) < 0)
			return r;
	}
	if ((r = rules_expect_end(p, i)) < 0)
		return r;
	a->n_sources++;
	return 0;
}

static int parse_action_clause(struct parse *p)
{
	struct action_src *a = p->action;
	const struct token *kw = &p->toks[0];
	size_t i = 1;
	char d[64];
	int r;

	if (rules_tok_is(kw, "causes")) {
		if (a->causes)
			return dup_clause(p, "causes");
		a->causes = calloc(RULES_MAX_LIST, sizeof(*a->causes));
		if (!a->causes)
			return -ENOMEM;
		for (;;) {
			if (a->n_causes == RULES_MAX_LIST)
				return rules_fail(p, rules_col_at(p, i),
						  "too many entries in the list (limit %u)",
						  RULES_MAX_LIST);
			if ((r = rules_want_role(p, &i, "a role", &a->causes[a->n_causes])) < 0)
				return r;
			for (size_t k = 0; k < a->n_causes; k++)
				if (a->causes[k] == a->causes[a->n_causes])
					return rules_fail(p, p->toks[i - 1].column,
							  "role '%s' listed twice",
							  role_at(a->causes[k])->name);
			a->n_causes++;
			if (i >= p->ntok || !rules_tok_is(&p->toks[i], ","))
				break;
			i++;
		}
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "source"))
		return parse_source(p, a);
	if (rules_tok_is(kw, "late")) {
		if (a->has_late)
			return dup_clause(p, "late");
		a->has_late = true;
		if ((r = rules_want_duration(p, &i, &a->late_us)) < 0)
			return r;
		return rules_expect_end(p, i);
	}
	return rules_fail(p, kw->column, "an action takes 'causes', 'source' and 'late', got %s",
			  rules_tok_desc(p, 0, d, sizeof(d)));
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
	if (i < p->ntok && (rules_tok_is(&p->toks[i], "any") || rules_tok_is(&p->toks[i], "all"))) {
		if ((r = rules_new_node(p, rules_tok_is(&p->toks[i], "any") ? NODE_ANY : NODE_ALL,
					i, &n)) < 0)
			return r;
		if ((r = rules_expect_end(p, i + 1)) < 0)
			return r;
		*root = n;
		p->groups[0] = n;
		p->group_line[0] = p->line;
		p->depth = 1;
		return 0;
	}
	if (i >= p->ntok)
		return rules_fail(p, rules_col_at(p, i), "'%s' needs 'any', 'all' or a condition",
				  word);
	if ((r = rules_parse_cond(p, &i, 0, &n)) < 0)
		return r;
	*root = n;
	return rules_expect_end(p, i);
}

static int parse_rule_clause(struct parse *p)
{
	struct rule_src *rule = p->rule;
	const struct token *kw = &p->toks[0];
	size_t i = 1;
	int r;
	char d[64];

	if (rules_tok_is(kw, "when") || rules_tok_is(kw, "works") || rules_tok_is(kw, "fails")) {
		bool when = rules_tok_is(kw, "when");
		if (rule->is_link && when)
			return rules_fail(
			    p, kw->column,
			    "a link takes 'works' and 'fails' conditions, not 'when'");
		if (!rule->is_link && !when)
			return rules_fail(p, kw->column, "'%s' is only allowed in a link",
					  rules_tok_is(kw, "works") ? "works" : "fails");
		return condition_clause(p,
					when			    ? "when"
					: rules_tok_is(kw, "works") ? "works"
								    : "fails",
					rules_tok_is(kw, "fails") ? &rule->root2 : &rule->root);
	}
	if (rule->is_link)
		return rules_fail(p, kw->column, "a link takes only 'works' and 'fails', got %s",
				  rules_tok_desc(p, 0, d, sizeof(d)));
	if (rules_tok_is(kw, "advice")) {
		if (rule->has_advice)
			return dup_clause(p, "advice");
		rule->has_advice = true;
		if ((r = rules_want_string(p, &i, "the advice", &rule->advice)) < 0)
			return r;
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "weight")) {
		if (rule->has_weight)
			return dup_clause(p, "weight");
		rule->has_weight = true;
		if ((r = rules_want_number(p, &i, "a weight", &rule->weight)) < 0)
			return r;
		if (rule->weight < 0 || rule->weight > 1)
			return rules_fail(p, rules_col_at(p, 1), "weight must be between 0 and 1");
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "cost")) {
		if (rule->has_cost)
			return dup_clause(p, "cost");
		rule->has_cost = true;
		if ((r = rules_want_uint(p, &i, "cost", 0, 1000, &rule->cost)) < 0)
			return r;
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "rules_out")) {
		if (rule->rules_out)
			return dup_clause(p, "rules_out");
		rule->rules_out_line = p->line;
		if ((r = rules_want_list(p, &i, "a rule id", true, &rule->rules_out,
					 &rule->n_rules_out, &rule->rules_out_col)) < 0)
			return r;
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "covers")) {
		if (rule->kind != RULES_KIND_INHIBIT)
			return rules_fail(p, kw->column, "'covers' is only allowed in an inhibit");
		if (rule->covers || rule->covers_all)
			return dup_clause(p, "covers");
		rule->covers_line = p->line;
		if (i < p->ntok && rules_tok_is(&p->toks[i], "*")) {
			rule->covers_all = true;
			return rules_expect_end(p, i + 1);
		}
		if ((r = rules_want_list(p, &i, "a rule id or '*'", true, &rule->covers,
					 &rule->n_covers, &rule->covers_col)) < 0)
			return r;
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "evidence")) {
		if (rule->evidence)
			return dup_clause(p, "evidence");
		rule->evidence = calloc(RULES_MAX_LIST, sizeof(*rule->evidence));
		if (!rule->evidence)
			return -ENOMEM;
		for (;;) {
			if (rule->n_evidence == RULES_MAX_LIST)
				return rules_fail(p, rules_col_at(p, i),
						  "too many entries in the list (limit %u)",
						  RULES_MAX_LIST);
			if ((r = rules_want_role(p, &i, "a role",
						 &rule->evidence[rule->n_evidence])) < 0)
				return r;
			rule->n_evidence++;
			if (i >= p->ntok || !rules_tok_is(&p->toks[i], ","))
				break;
			i++;
		}
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "scope")) {
		static const char *const keys[3] = {"make", "platform", "module"};
		if (i >= p->ntok)
			return rules_fail(p, rules_col_at(p, i),
					  "'scope' needs make, platform or module");
		while (i < p->ntok) {
			unsigned k;
			for (k = 0; k < 3; k++)
				if (rules_tok_is(&p->toks[i], keys[k]))
					break;
			if (k == 3)
				return rules_fail(
				    p, rules_col_at(p, i),
				    "'scope' expects make, platform or module, got %s",
				    rules_tok_desc(p, i, d, sizeof(d)));
			if (rule->has_scope[k])
				return rules_fail(p, rules_col_at(p, i), "duplicate scope '%s'",
						  keys[k]);
			rule->has_scope[k] = true;
			i++;
			if (i >= p->ntok || p->toks[i].type != TOK_WORD)
				return rules_fail(p, rules_col_at(p, i),
						  "expected a %s name, got %s", keys[k],
						  rules_tok_desc(p, i, d, sizeof(d)));
			const char *v = rules_dup_tok(p, &p->toks[i]);
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
	return rules_fail(p, kw->column, "unknown clause %s in rule '%s'",
			  rules_tok_desc(p, 0, d, sizeof(d)), rule->id);
}

/* A line inside an open `when any/all` block. */
static int parse_group_line(struct parse *p)
{
	struct rule_src *rule = p->rule;
	const struct token *kw = &p->toks[0];
	size_t i = 0;
	int r;
	uint32_t n;

	if (rules_tok_is(kw, "end")) {
		if ((r = rules_expect_end(p, 1)) < 0)
			return r;
		if (rule->nodes[p->groups[p->depth - 1]].first_child == NONE)
			return rules_fail(p, kw->column, "empty group (opened on line %u)",
					  p->group_line[p->depth - 1]);
		p->depth--;
		p->cont_seq = NONE;
		return 0;
	}
	if ((rules_tok_is(kw, "any") || rules_tok_is(kw, "all")) && p->ntok == 1) {
		if (p->depth > RULES_MAX_DEPTH - 1)
			return rules_fail(p, kw->column, "groups nested too deep (limit %u)",
					  RULES_MAX_DEPTH);
		if ((r = rules_new_node(p, rules_tok_is(kw, "any") ? NODE_ANY : NODE_ALL, 0, &n)) <
		    0)
			return r;
		rules_add_child(rule, p->groups[p->depth - 1], n);
		p->groups[p->depth] = n;
		p->group_line[p->depth] = p->line;
		p->depth++;
		p->cont_seq = NONE;
		return 0;
	}
	p->cont_seq = NONE;
	if ((r = rules_parse_cond(p, &i, p->depth, &n)) < 0)
		return r;
	rules_add_child(rule, p->groups[p->depth - 1], n);
	return rules_expect_end(p, i);
}

static int parse_statement(struct parse *p)
{
	const struct token *kw = &p->toks[0];
	char d[64];
	int r;

	if (kw->type != TOK_WORD)
		return rules_fail(p, kw->column, "expected a statement, got %s",
				  rules_tok_desc(p, 0, d, sizeof(d)));

	if (!p->seen_format) {
		if (!rules_tok_is(kw, "format"))
			return rules_fail(p, kw->column, "the file must start with 'format %u'",
					  RULES_FORMAT);
		size_t i = 1;
		unsigned v;
		if ((r = rules_want_uint(p, &i, "format version", 0, 1000000, &v)) < 0)
			return r;
		if (v == 1)
			return rules_fail(
			    p, rules_col_at(p, 1),
			    "format 1 names vehicle signals; this build reads format %u, "
			    "where rules name chain roles (rules/README.md)",
			    RULES_FORMAT);
		if (v != RULES_FORMAT)
			return rules_fail(
			    p, rules_col_at(p, 1),
			    "unsupported format version %u (this build reads format %u)", v,
			    RULES_FORMAT);
		p->seen_format = true;
		return rules_expect_end(p, i);
	}
	if (rules_tok_is(kw, "format"))
		return rules_fail(p, kw->column, "'format' may appear only once, at the top");

	/* continuation of a sequence: first step after `after ...:`, or `and` / `then` */
	if (p->want_first_step) {
		size_t i = 0;
		p->want_first_step = false;
		if ((r = rules_parse_step(p, &i, p->cont_seq, false)) < 0)
			return r;
		return rules_parse_more_steps(p, &i, p->cont_seq);
	}
	if (rules_tok_is(kw, "and") || rules_tok_is(kw, "then")) {
		if (p->cont_seq == NONE)
			return rules_fail(p, kw->column, "'%s' must continue an 'after' sequence",
					  rules_tok_is(kw, "and") ? "and" : "then");
		size_t i = 0;
		return rules_parse_more_steps(p, &i, p->cont_seq);
	}

	bool top = rules_tok_is(kw, "rule") || rules_tok_is(kw, "inhibit") ||
		   rules_tok_is(kw, "normal") || rules_tok_is(kw, "question") ||
		   rules_tok_is(kw, "link") || rules_tok_is(kw, "action");
	if (top) {
		if ((r = finish_item(p)) < 0)
			return r;
		if (rules_tok_is(kw, "rule"))
			return start_rule(p, RULES_KIND_CAUSE);
		if (rules_tok_is(kw, "inhibit"))
			return start_rule(p, RULES_KIND_INHIBIT);
		if (rules_tok_is(kw, "normal"))
			return start_rule(p, RULES_KIND_NORMAL);
		if (rules_tok_is(kw, "link"))
			return start_link(p);
		if (rules_tok_is(kw, "action"))
			return start_action(p);
		return start_question(p);
	}
	if (p->action)
		return parse_action_clause(p);
	if (p->question) {
		if (!rules_tok_is(kw, "cost"))
			return rules_fail(p, kw->column, "a question takes only 'cost', got %s",
					  rules_tok_desc(p, 0, d, sizeof(d)));
		if (p->question->has_cost)
			return dup_clause(p, "cost");
		size_t i = 1;
		p->question->has_cost = true;
		if ((r = rules_want_uint(p, &i, "cost", 0, 1000, &p->question->cost)) < 0)
			return r;
		return rules_expect_end(p, i);
	}
	if (!p->rule)
		return rules_fail(
		    p, kw->column,
		    "expected 'rule', 'inhibit', 'normal', 'link', 'question' or 'action', "
		    "got %s",
		    rules_tok_desc(p, 0, d, sizeof(d)));
	p->cont_seq = p->depth ? p->cont_seq : NONE;
	if (p->depth) {
		if (!is_clause_word(kw))
			return parse_group_line(p);
		if ((r = close_when(p)) < 0)
			return r;
	}
	p->cont_seq = NONE;
	if (rules_tok_is(kw, "end"))
		return rules_fail(p, kw->column, "'end' without an open group");
	if (!is_clause_word(kw)) {
		if (p->rule->root != NONE || p->rule->root2 != NONE)
			return rules_fail(
			    p, kw->column,
			    "condition outside a '%s' block (use '%s any' or '%s all' for "
			    "several conditions)",
			    p->block, p->block, p->block);
		return rules_fail(p, kw->column, "unknown clause %s in rule '%s'",
				  rules_tok_desc(p, 0, d, sizeof(d)), p->rule->id);
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
				return rules_fail(p, r->rules_out_col[j],
						  "unknown id '%s' in rules_out", r->rules_out[j]);
			if (idx == k)
				return rules_fail(p, r->rules_out_col[j],
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
				return rules_fail(p, r->covers_col[j], "unknown id '%s' in covers",
						  r->covers[j]);
			if (set->rules[idx].kind != RULES_KIND_CAUSE)
				return rules_fail(
				    p, r->covers_col[j],
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
		if ((r = rules_lex_line(p, s, le)) < 0)
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
		return rules_fail(p, 1, "the file must start with 'format %u'", RULES_FORMAT);
	if (p->want_first_step)
		return rules_fail(p, 1, "expected the first step of the 'after' sequence");
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
