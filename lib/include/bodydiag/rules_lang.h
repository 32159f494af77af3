/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * rules_lang: the front end of the rule language (rules/README.md has the grammar):
 * bytes in, a checked struct rules_set out. Pure: no file I/O, no clock.
 *
 * Rules read chain roles (bodydiag/role.h), never a vehicle's signal names: every role
 * and every value label is checked against the role registry while parsing, so a rule
 * naming an unknown role or label is refused with file:line:column, whatever vehicle
 * it is later run on. The names of marks, modules and rule ids are the file's own.
 *
 * The evaluator (bodydiag/rules.h) compiles a set for one vehicle.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_FORMAT 2u			    /* the `format` this build reads */
#define RULES_MAX_SOURCE (1u << 20)	    /* bytes of one rule file */
#define RULES_MAX_RULES 512u		    /* rules + inhibits + normals + links + questions */
#define RULES_MAX_CONDITIONS 128u	    /* condition nodes per rule */
#define RULES_MAX_DEPTH 8u		    /* nesting of any/all groups */
#define RULES_MAX_STEPS 8u		    /* steps of one `after mark` sequence */
#define RULES_MAX_COUNT 64u		    /* N of `count ... >= N` and of `flapping N` */
#define RULES_MAX_LIST 32u		    /* entries of rules_out / covers / evidence / marks */
#define RULES_MAX_ACTIONS 32u		    /* `action` items */
#define RULES_MAX_SOURCES 4u		    /* `source` clauses of one action */
#define RULES_MAX_DURATION_US (24LL * 3600 * 1000000) /* longest window: one day */

struct rules_error {
	char file[256];
	unsigned line;	 /* 1-based */
	unsigned column; /* 1-based, bytes */
	char message[192];
};

struct rules_set;
struct rules_parser;

/*
 * Streaming parser over memory. filename (may be NULL: "<memory>") is used in errors
 * only. _feed appends bytes (-EFBIG past RULES_MAX_SOURCE, -ENOMEM). _finish parses all
 * that was fed: 0 and *ret_set (owned by the caller); -EINVAL on a mistake, with err
 * (may be NULL) filled; -ENOMEM. The parser is freed, not reused, after _finish.
 */
struct rules_parser *rules_parser_new(const char *filename);
int rules_parser_feed(struct rules_parser *p, const void *buf, size_t len);
int rules_parser_finish(struct rules_parser *p, struct rules_error *err,
			struct rules_set **ret_set);
struct rules_parser *rules_parser_free(struct rules_parser *p);

/* One-shot form. */
int rules_parse(const void *buf, size_t len, const char *filename, struct rules_error *err,
		struct rules_set **ret_set);

/* Accepts NULL, returns NULL. A set must outlive the engines made from it. */
struct rules_set *rules_set_free(struct rules_set *set);

static inline void rules_set_freep(struct rules_set **s)
{
	rules_set_free(*s);
}
static inline void rules_parser_freep(struct rules_parser **p)
{
	rules_parser_free(*p);
}

enum rules_kind {
	RULES_KIND_CAUSE,   /* `rule`: a failed part or a fault */
	RULES_KIND_INHIBIT, /* `inhibit`: a lockout that blocks the release on purpose */
	RULES_KIND_NORMAL,  /* `normal`: the chain worked end to end */
	RULES_KIND_MAX,
};

/* Rules (causes, inhibits, normals) in file order; links and questions apart. */
size_t rules_set_rule_count(const struct rules_set *set);
const char *rules_set_rule_id(const struct rules_set *set, size_t i);	    /* NULL out of range */
/* The title a person reads ("Trunk release fuse blown"); NULL out of range. */
const char *rules_set_rule_title(const struct rules_set *set, size_t i);
enum rules_kind rules_set_rule_kind(const struct rules_set *set, size_t i); /* CAUSE out of range */
size_t rules_set_question_count(const struct rules_set *set);
/* `link` items: how the file judges each link of the chain. */
size_t rules_set_link_count(const struct rules_set *set);
/* `action` items: the person's actions whose effects are attributed (rules/README.md). */
size_t rules_set_action_count(const struct rules_set *set);

/* "file:line:column: message". Returns snprintf's result. */
int rules_error_format(const struct rules_error *e, char *buf, size_t size);
