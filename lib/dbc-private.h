/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The DBC object model shared by the three modules behind bodydiag/dbc.h (not installed):
 *   dbc.c        the database: memory, lifetime, accessors
 *   dbc-lex.c, dbc-parse.c, dbc-resolve.c   the text parser (tokens, statements, linking)
 *   dbc-codec.c  compiled decode plans, the id lookup, decode
 *   dbc-encode.c encode
 * Functions shared between them start with dbci_ (the shared library exports dbc_* only).
 */

#include <endian.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"

/* ---- memory ---------------------------------------------------------------------- */

/* Strings and fixed-size objects live in an arena freed with the database. */
struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	max_align_t data[];
};

struct arena {
	struct arena_block *head;
};

/* Zeroed memory from the arena; NULL when out of memory. */
void *dbci_arena_alloc(struct arena *a, size_t size);
char *dbci_arena_strndup(struct arena *a, const char *s, size_t n);
void dbci_arena_free(struct arena *a);

/* Growable array of elements of one size; zeroes new elements. */
struct vec {
	void *v;
	size_t n, cap;
};

void *dbci_vec_push(struct vec *vec, size_t elem);
int dbci_vec_push_ptr(struct vec *vec, void *ptr);

/* ---- objects --------------------------------------------------------------------- */

enum conv {
	CONV_IDENTITY,	 /* factor 1, offset 0: the raw value */
	CONV_LINEAR_INT, /* integral factor and offset on an integer signal: exact integer */
	CONV_LINEAR,	 /* anything else: a double */
};

struct range {
	int64_t lo, hi;
};

struct choice {
	int64_t value;
	const char *label;
	int64_t mux_number; /* what cantools' inverse lookup of label gives back */
};

/* Where a field sits in the data: a load window, a shift and a mask. */
struct field {
	unsigned byte_lo; /* first byte of the load window */
	unsigned need;	  /* bytes of data the field needs */
	unsigned shift;	  /* LE: right shift; BE: bits above the MSB in the window */
	unsigned length;  /* bits */
	bool wide;	  /* the field spans 9 bytes: two 64-bit loads */
	uint64_t mask;
};

struct dbc_signal {
	const char *name;     /* after SystemSignalLongSymbol */
	const char *dbc_name; /* as written; comments and attributes refer to it */
	const char *unit;
	const char *comment;
	struct vec receivers; /* const char * */
	unsigned start, length;
	bool big_endian, is_signed, is_float;
	bool is_multiplexer;
	bool orphan; /* names a multiplexer the message lacks: never present */
	bool has_range, has_initial;
	double factor, offset, min, max, initial;
	bool factor_is_int_literal;
	enum conv conv;
	int64_t iscale, ioffset;
	/* multiplexing as written: mN / SG_MUL_VAL_, resolved per message */
	const char *mux_token;
	const char *mux_name;
	struct vec mux_ranges; /* struct range */
	const struct dbc_signal *mux;
	struct vec children;  /* struct dbc_signal *: signals this multiplexer selects */
	bool check_mux;	      /* a value outside every child's ids is an error */
	struct vec valid_ids; /* struct range: children ids and choice values */
	struct vec choices;   /* struct choice, sorted by value */
	unsigned dup_rank;    /* which of two same-named signals gives the value */
	unsigned dup_group;   /* index of the first signal of the message with this name */
	struct field pl;
	/* a signal reaching past the message end: the part inside it (what canmatrix, the
	 * reference's fallback, decodes); length 0 when nothing usable remains */
	struct field part;
	size_t index;	   /* in its message */
	size_t number;	   /* in the database (dbc_signal_number) */
	struct arena *own; /* standalone signal: its own arena */
};

struct sig_group {
	const char *name;
	unsigned repetitions;
	const char **members;
	size_t n_members;
};

struct dbci_plan; /* dbc-codec.c */

struct dbc_message {
	const char *name;
	const char *dbc_name;
	uint32_t dbc_id; /* as written, with bit 31 (repaired for 29-bit ids) */
	uint32_t id;
	bool ext, fd;
	unsigned length;
	unsigned cycle_time;
	const char *comment;
	struct vec senders;		  /* const char * */
	struct vec signals;		  /* struct dbc_signal * */
	struct vec roots;		  /* struct dbc_signal *: present in every frame */
	struct vec groups;		  /* struct sig_group */
	bool dup_names;			  /* two signals share a (display) name */
	bool dropped;			  /* not representable: parsed for syntax, then left out */
	struct dbc_message *next_same_id; /* while loading */
	unsigned line, column;
	size_t index;		 /* in the database */
	struct dbci_plan *plan; /* decode plan (dbc-codec.c) */
};

struct dbci_table_entry {
	uint32_t key; /* id | 0x80000000 for extended; DBCI_NO_KEY when empty */
	const struct dbc_message *m;
};

#define DBCI_NO_KEY UINT32_MAX

struct dbc {
	struct arena arena;
	const char *version;
	struct vec messages; /* struct dbc_message * */
	struct vec nodes;    /* const char * */
	size_t n_signals;
	/* open addressing by (id, ext); both formats of every id present, so that a lookup
	 * that falls back to the other format (as cantools keys by number) is one probe */
	struct dbci_table_entry *table;
	size_t table_mask;
	const struct dbc_message **std; /* by 11-bit id, the table's answer; NULL: no messages */
};

#define DBCI_STD_IDS 2048u
#define DBCI_STD_MIN_MESSAGES 2u /* fewer: no direct table of the 11-bit ids */

/* ---- shared helpers -------------------------------------------------------------- */

/* data padded with zeros so that every load window (two 8-byte loads) stays inside */
#define DBCI_PAD_LEN (DBC_MAX_MESSAGE_LEN + 16)
/* multiplexers nest at most this deep; deeper signals are neither decoded nor encoded */
#define DBCI_MAX_DEPTH 64u

static inline size_t dbci_hash_id(uint32_t key, size_t mask)
{
	uint64_t h = (uint64_t)key * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & mask;
}

/* Sawtooth start bit (the MSB of a Motorola signal) in network order, where bit 0 is the
 * MSB of byte 0 and numbers grow towards the end of the frame. */
static inline unsigned dbci_network_msb(unsigned start)
{
	return 8 * (start / 8) + (7 - start % 8);
}

/* 8 bytes of data as a little- or big-endian number */
static inline uint64_t dbci_load_le(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return le64toh(v);
}

static inline uint64_t dbci_load_be(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return be64toh(v);
}

bool dbci_in_ranges(const struct vec *ranges, int64_t v);
const struct choice *dbci_find_choice(const struct dbc_signal *s, int64_t raw);
void dbci_signal_release(struct dbc_signal *s);
void dbci_message_release(struct dbc_message *m);

/* dbc-codec.c: the conversion class and field of a signal (also the part inside a message
 * of msg_len bytes; msg_len 0 for a standalone signal). */
void dbci_signal_locate(struct dbc_signal *s, unsigned msg_len);
/* dbc-codec.c: numbers every message and signal, compiles every message's decode plan
 * (in the database's arena) and the id table, once the database is complete. -ENOMEM. */
int dbci_compile(struct dbc *db);
