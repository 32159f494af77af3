/* SPDX-License-Identifier: MIT */
/*
 * The DBC database: its memory, its lifetime and the accessors of bodydiag/dbc.h. The
 * parser (dbc-lex.c, dbc-parse.c, dbc-resolve.c) builds it; the codec (dbc-codec.c)
 * compiles decode plans from it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dbc-private.h"

/* ---- memory ---------------------------------------------------------------------- */

void *dbci_arena_alloc(struct arena *a, size_t size)
{
	size = (size + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
	if (!a->head || a->head->cap - a->head->used < size) {
		/* The first block small, each next one twice the last up to 32 KiB: a profile
		 * makes a database of one message per DID and a standalone signal per DID
		 * signal, dozens of arenas that need a few hundred bytes each. */
		size_t cap = a->head ? a->head->cap * 2 : 512;
		if (cap > 32768)
			cap = 32768;
		if (cap < size)
			cap = size;
		struct arena_block *b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = (char *)a->head->data + a->head->used;
	a->head->used += size;
	memset(p, 0, size);
	return p;
}

char *dbci_arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = dbci_arena_alloc(a, n + 1);
	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void dbci_arena_free(struct arena *a)
{
	while (a->head) {
		struct arena_block *b = a->head;
		a->head = b->next;
		free(b);
	}
}

void *dbci_vec_push(struct vec *vec, size_t elem)
{
	if (vec->n == vec->cap) {
		size_t cap = vec->cap ? vec->cap * 2 : 8;
		void *nv = realloc(vec->v, cap * elem);
		if (!nv)
			return NULL;
		vec->v = nv;
		vec->cap = cap;
	}
	void *p = (char *)vec->v + vec->n * elem;
	vec->n++;
	memset(p, 0, elem);
	return p;
}

int dbci_vec_push_ptr(struct vec *vec, void *ptr)
{
	void **p = dbci_vec_push(vec, sizeof(void *));
	if (!p)
		return -ENOMEM;
	*p = ptr;
	return 0;
}

/* ---- lifetime -------------------------------------------------------------------- */

void dbci_signal_release(struct dbc_signal *s)
{
	free(s->receivers.v);
	free(s->mux_ranges.v);
	free(s->children.v);
	free(s->valid_ids.v);
	free(s->choices.v);
}

void dbci_message_release(struct dbc_message *m)
{
	struct dbc_signal **sigs = m->signals.v;
	for (size_t k = 0; k < m->signals.n; k++)
		dbci_signal_release(sigs[k]);
	free(m->signals.v);
	free(m->senders.v);
	free(m->roots.v);
	free(m->groups.v);
}

struct dbc *dbc_free(struct dbc *db)
{
	if (!db)
		return NULL;
	struct dbc_message **msgs = db->messages.v;
	for (size_t i = 0; i < db->messages.n; i++)
		dbci_message_release(msgs[i]);
	free(db->messages.v);
	free(db->nodes.v);
	free(db->table);
	free(db->std);
	dbci_arena_free(&db->arena);
	free(db);
	return NULL;
}

struct dbc_signal *dbc_signal_free(struct dbc_signal *s)
{
	if (!s || !s->own)
		return NULL;
	struct arena *a = s->own;
	dbci_signal_release(s);
	dbci_arena_free(a);
	free(a);
	return NULL;
}

bool dbci_in_ranges(const struct vec *ranges, int64_t v)
{
	const struct range *r = ranges->v;
	for (size_t i = 0; i < ranges->n; i++)
		if (v >= r[i].lo && v <= r[i].hi)
			return true;
	return false;
}

/* ---- accessors ----------------------------------------------------------- */

const char *dbc_version(const struct dbc *db)
{
	return db->version ? db->version : "";
}

size_t dbc_message_count(const struct dbc *db)
{
	return db->messages.n;
}

const struct dbc_message *dbc_message_at(const struct dbc *db, size_t index)
{
	return index < db->messages.n ? ((struct dbc_message **)db->messages.v)[index] : NULL;
}

const struct dbc_message *dbc_find_message_by_name(const struct dbc *db, const char *name)
{
	struct dbc_message **msgs = db->messages.v;
	const struct dbc_message *found = NULL;
	for (size_t i = 0; i < db->messages.n; i++)
		if (strcmp(msgs[i]->name, name) == 0)
			found = msgs[i];
	return found;
}

size_t dbc_node_count(const struct dbc *db)
{
	return db->nodes.n;
}

const char *dbc_node_at(const struct dbc *db, size_t index)
{
	return index < db->nodes.n ? ((const char **)db->nodes.v)[index] : NULL;
}

size_t dbc_signal_total(const struct dbc *db)
{
	return db->n_signals;
}

size_t dbc_message_index(const struct dbc_message *m)
{
	return m->index;
}

size_t dbc_signal_number(const struct dbc_signal *s)
{
	return s->number;
}

const char *dbc_message_name(const struct dbc_message *m)
{
	return m->name;
}

uint32_t dbc_message_id(const struct dbc_message *m)
{
	return m->id;
}

bool dbc_message_is_extended(const struct dbc_message *m)
{
	return m->ext;
}

bool dbc_message_is_fd(const struct dbc_message *m)
{
	return m->fd;
}

unsigned dbc_message_length(const struct dbc_message *m)
{
	return m->length;
}

unsigned dbc_message_cycle_time(const struct dbc_message *m)
{
	return m->cycle_time;
}

const char *dbc_message_comment(const struct dbc_message *m)
{
	return m->comment;
}

size_t dbc_message_sender_count(const struct dbc_message *m)
{
	return m->senders.n;
}

const char *dbc_message_sender_at(const struct dbc_message *m, size_t index)
{
	return index < m->senders.n ? ((const char **)m->senders.v)[index] : NULL;
}

size_t dbc_message_signal_count(const struct dbc_message *m)
{
	return m->signals.n;
}

const struct dbc_signal *dbc_message_signal_at(const struct dbc_message *m, size_t index)
{
	return index < m->signals.n ? ((struct dbc_signal **)m->signals.v)[index] : NULL;
}

const struct dbc_signal *dbc_message_find_signal(const struct dbc_message *m, const char *name)
{
	struct dbc_signal **s = m->signals.v;
	for (size_t i = 0; i < m->signals.n; i++)
		if (strcmp(s[i]->name, name) == 0)
			return s[i];
	return NULL;
}

size_t dbc_message_signal_group_count(const struct dbc_message *m)
{
	return m->groups.n;
}

bool dbc_message_signal_group_at(const struct dbc_message *m, size_t index, const char **ret_name,
				 unsigned *ret_repetitions, const char *const **ret_members,
				 size_t *ret_count)
{
	if (index >= m->groups.n)
		return false;
	const struct sig_group *g = (const struct sig_group *)m->groups.v + index;
	if (ret_name)
		*ret_name = g->name;
	if (ret_repetitions)
		*ret_repetitions = g->repetitions;
	if (ret_members)
		*ret_members = g->members;
	if (ret_count)
		*ret_count = g->n_members;
	return true;
}

size_t dbc_message_max_samples(const struct dbc_message *m)
{
	return m->signals.n;
}

const char *dbc_signal_name(const struct dbc_signal *s)
{
	return s->name;
}

unsigned dbc_signal_start(const struct dbc_signal *s)
{
	return s->start;
}

unsigned dbc_signal_length(const struct dbc_signal *s)
{
	return s->length;
}

bool dbc_signal_is_big_endian(const struct dbc_signal *s)
{
	return s->big_endian;
}

bool dbc_signal_is_signed(const struct dbc_signal *s)
{
	return s->is_signed;
}

enum dbc_signal_type dbc_signal_type(const struct dbc_signal *s)
{
	if (!s->is_float)
		return DBC_SIGNAL_TYPE_INTEGER;
	return s->length == 64 ? DBC_SIGNAL_TYPE_DOUBLE : DBC_SIGNAL_TYPE_FLOAT;
}

double dbc_signal_factor(const struct dbc_signal *s)
{
	return s->factor;
}

double dbc_signal_offset(const struct dbc_signal *s)
{
	return s->offset;
}

bool dbc_signal_range(const struct dbc_signal *s, double *ret_min, double *ret_max)
{
	if (!s->has_range)
		return false;
	if (ret_min)
		*ret_min = s->min;
	if (ret_max)
		*ret_max = s->max;
	return true;
}

const char *dbc_signal_unit(const struct dbc_signal *s)
{
	return s->unit ? s->unit : "";
}

const char *dbc_signal_comment(const struct dbc_signal *s)
{
	return s->comment;
}

size_t dbc_signal_receiver_count(const struct dbc_signal *s)
{
	return s->receivers.n;
}

const char *dbc_signal_receiver_at(const struct dbc_signal *s, size_t index)
{
	return index < s->receivers.n ? ((const char **)s->receivers.v)[index] : NULL;
}

bool dbc_signal_initial_raw(const struct dbc_signal *s, double *ret_raw)
{
	if (!s->has_initial)
		return false;
	if (ret_raw)
		*ret_raw = s->initial;
	return true;
}

bool dbc_signal_is_multiplexer(const struct dbc_signal *s)
{
	return s->is_multiplexer;
}

const struct dbc_signal *dbc_signal_multiplexer(const struct dbc_signal *s)
{
	return s->mux;
}

bool dbc_signal_selected_by(const struct dbc_signal *s, int64_t v)
{
	return s->mux && dbci_in_ranges(&s->mux_ranges, v);
}

size_t dbc_signal_choice_count(const struct dbc_signal *s)
{
	return s->choices.n;
}

bool dbc_signal_choice_at(const struct dbc_signal *s, size_t index, int64_t *ret_value,
			  const char **ret_label)
{
	if (index >= s->choices.n)
		return false;
	const struct choice *c = (const struct choice *)s->choices.v + index;
	if (ret_value)
		*ret_value = c->value;
	if (ret_label)
		*ret_label = c->label;
	return true;
}

const struct choice *dbci_find_choice(const struct dbc_signal *s, int64_t raw)
{
	const struct choice *c = s->choices.v;
	size_t lo = 0, hi = s->choices.n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c[mid].value == raw)
			return &c[mid];
		if (c[mid].value < raw)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *dbc_signal_choice_label(const struct dbc_signal *s, int64_t raw)
{
	const struct choice *c = dbci_find_choice(s, raw);
	return c ? c->label : NULL;
}

