/* SPDX-License-Identifier: MIT */
/*
 * Linking a parsed DBC: the statements that refer to messages and signals by id and name
 * are applied (comments, attributes, value labels, IEEE types, senders, signal groups),
 * multiplexing is resolved (simple `M`/`mN`, extended `mNM` with SG_MUL_VAL_), cantools'
 * strict-mode checks are reported as warnings, and the codec compiles its plans. Which
 * signals a multiplexer selects and how names are kept follow cantools 42 so that both
 * tools give the same answer.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbc-parse.h"

static struct dbc_signal *find_sig_dbc_name(struct dbc_message *m, const char *name)
{
	struct dbc_signal **s = m->signals.v;
	for (size_t i = 0; i < m->signals.n; i++)
		if (strcmp(s[i]->dbc_name, name) == 0)
			return s[i];
	return NULL;
}

static int cmp_choice(const void *a, const void *b)
{
	const struct choice *x = a, *y = b;
	return (x->value > y->value) - (x->value < y->value);
}

/* Sets the choices of s from a VAL_ list: a repeated value keeps its last label. */
static int set_choices(struct dbc_signal *s, const struct vec *pairs)
{
	const struct choice *src = pairs->v;
	free(s->choices.v);
	s->choices = (struct vec){0};
	for (size_t i = 0; i < pairs->n; i++) {
		struct choice *c = s->choices.v;
		size_t j;
		for (j = 0; j < s->choices.n; j++)
			if (c[j].value == src[i].value)
				break;
		if (j < s->choices.n) {
			c[j].label = src[i].label;
			continue;
		}
		struct choice *n = dbci_vec_push(&s->choices, sizeof(*n));
		if (!n)
			return -ENOMEM;
		*n = src[i];
	}
	/* cantools maps a label back to the last value carrying it */
	struct choice *c = s->choices.v;
	for (size_t i = 0; i < s->choices.n; i++) {
		c[i].mux_number = c[i].value;
		for (size_t j = 0; j < s->choices.n; j++)
			if (strcmp(c[j].label, c[i].label) == 0)
				c[i].mux_number = c[j].value;
	}
	if (s->choices.n > 1)
		qsort(s->choices.v, s->choices.n, sizeof(struct choice), cmp_choice);
	return 0;
}

static bool ranges_intersect(const struct vec *a, const struct vec *b)
{
	const struct range *x = a->v, *y = b->v;
	for (size_t i = 0; i < a->n; i++)
		for (size_t j = 0; j < b->n; j++)
			if (x[i].lo <= y[j].hi && y[j].lo <= x[i].hi)
				return true;
	return false;
}

static int add_range(struct vec *v, int64_t lo, int64_t hi)
{
	struct range *r = dbci_vec_push(v, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lo = lo;
	r->hi = hi;
	return 0;
}

/* Bits a signal covers, in a 512-bit map in network-independent (LE bit) numbering. */
static void signal_bits(const struct dbc_signal *s, uint64_t map[8])
{
	memset(map, 0, 8 * sizeof(uint64_t));
	for (unsigned k = 0; k < s->length && k < 512; k++) {
		unsigned bit;
		if (s->big_endian) {
			unsigned p = dbci_network_msb(s->start) + k;
			bit = 8 * (p / 8) + (7 - p % 8);
		} else {
			bit = s->start + k;
		}
		if (bit < 512)
			map[bit / 64] |= UINT64_C(1) << (bit % 64);
	}
}

static bool may_coexist(const struct dbc_signal *a, const struct dbc_signal *b)
{
	if (!a->mux || !b->mux)
		return true;
	return a->mux == b->mux && ranges_intersect(&a->mux_ranges, &b->mux_ranges);
}

static int resolve_message(struct lex *l, struct dbc_message *m, struct vec *mulvals)
{
	struct dbc_signal **sigs = m->signals.v;
	const char *simple_mux = NULL;
	size_t n_m = 0;
	int r;

	/* one 'M' signal: simple multiplexing; several: extended, SG_MUL_VAL_ only */
	for (size_t i = 0; i < m->signals.n; i++) {
		const char *t = sigs[i]->mux_token;
		if (t && t[strlen(t) - 1] == 'M') {
			sigs[i]->is_multiplexer = true;
			n_m++;
			simple_mux = sigs[i]->dbc_name;
		}
	}
	if (n_m != 1)
		simple_mux = NULL;

	for (size_t i = 0; i < m->signals.n; i++) {
		struct dbc_signal *s = sigs[i];
		const char *t = s->mux_token;
		const struct ref *mv = NULL;

		/* the last SG_MUL_VAL_ for this signal of this message */
		const struct ref *refs = mulvals->v;
		for (size_t k = 0; k < mulvals->n; k++)
			if (refs[k].dbc_id == m->dbc_id && strcmp(refs[k].sig, s->dbc_name) == 0)
				mv = &refs[k];

		if (simple_mux) {
			if (strcmp(s->dbc_name, simple_mux) != 0 && t) {
				s->mux_name = simple_mux;
				if (t[0] == 'm' && t[strlen(t) - 1] != 'M') {
					char *end;
					errno = 0;
					long long id = strtoll(t + 1, &end, 10);
					if (end == t + 1 || *end != '\0' || errno)
						return lex_fail_msg(
						    l, m, "bad multiplexer indicator '%s'", t);
					if ((r = add_range(&s->mux_ranges, id, id)) < 0)
						return r;
				}
				if (mv && strcmp(mv->name, simple_mux) == 0) {
					const struct range *rg = mv->pairs.v;
					for (size_t k = 0; k < mv->pairs.n; k++)
						if ((r = add_range(&s->mux_ranges, rg[k].lo,
								   rg[k].hi)) < 0)
							return r;
				}
				if (s->mux_ranges.n == 0)
					s->mux_name = NULL;
			}
		} else if (t && mv) {
			s->mux_name = mv->name;
			const struct range *rg = mv->pairs.v;
			for (size_t k = 0; k < mv->pairs.n; k++)
				if ((r = add_range(&s->mux_ranges, rg[k].lo, rg[k].hi)) < 0)
					return r;
			if (s->mux_ranges.n == 0)
				s->mux_name = NULL;
		}
	}

	/* link multiplexers and children */
	for (size_t i = 0; i < m->signals.n; i++) {
		struct dbc_signal *s = sigs[i];
		if (!s->mux_name) {
			if ((r = dbci_vec_push_ptr(&m->roots, s)) < 0)
				return r;
			continue;
		}
		struct dbc_signal *mux = find_sig_dbc_name(m, s->mux_name);
		if (!mux || mux == s || !mux->is_multiplexer) {
			s->orphan = true;
			lex_warn_msg(l, m, "signal ", "%s refers to multiplexer %s which is not one",
				 s->name, s->mux_name);
			continue;
		}
		s->mux = mux;
		if ((r = dbci_vec_push_ptr(&mux->children, s)) < 0)
			return r;
	}
	for (size_t i = 0; i < m->signals.n; i++) {
		struct dbc_signal *s = sigs[i];
		if (!s->is_multiplexer)
			continue;
		struct dbc_signal **ch = s->children.v;
		for (size_t k = 0; k < s->children.n; k++) {
			const struct range *rg = ch[k]->mux_ranges.v;
			for (size_t j = 0; j < ch[k]->mux_ranges.n; j++)
				if ((r = add_range(&s->valid_ids, rg[j].lo, rg[j].hi)) < 0)
					return r;
		}
		/* cantools accepts a multiplexer value that has a VAL_ label, even with no
		 * signals behind it; with neither children nor labels nothing is checked */
		const struct choice *c = s->choices.v;
		for (size_t k = 0; k < s->choices.n; k++)
			if ((r = add_range(&s->valid_ids, c[k].value, c[k].value)) < 0)
				return r;
		s->check_mux = s->valid_ids.n > 0;
	}

	/* plans, and the structural checks cantools makes in strict mode, as warnings */
	for (size_t i = 0; i < m->signals.n; i++) {
		dbci_signal_locate(sigs[i], m->length);
		/* cantools unpacks into a dict by name: Motorola fields first in network order,
		 * then Intel fields from the highest start bit down; the last write wins */
		sigs[i]->dup_rank = sigs[i]->big_endian
					? dbci_network_msb(sigs[i]->start)
					: (1u << 30) | ((1u << 24) - sigs[i]->start);
		sigs[i]->dup_group = (unsigned)i;
		for (size_t j = 0; j < i; j++)
			if (strcmp(sigs[i]->name, sigs[j]->name) == 0) {
				/* the first signal of that name stands for all */
				if (sigs[i]->dup_group == i)
					sigs[i]->dup_group = (unsigned)j;
				m->dup_names = true;
				lex_warn_msg(l, m, "signal name ", "%s used twice", sigs[i]->name);
			}
	}
	for (size_t i = 0; i < m->signals.n; i++) {
		if (sigs[i]->pl.need > m->length)
			lex_warn_msg(l, m, "signal ", "%s does not fit in %u bytes", sigs[i]->name,
				 m->length);
	}
	if (l->warn && m->signals.n < 256) {
		uint64_t(*maps)[8] = calloc(m->signals.n, sizeof(*maps));
		if (!maps)
			return -ENOMEM;
		for (size_t i = 0; i < m->signals.n; i++)
			signal_bits(sigs[i], maps[i]);
		for (size_t i = 0; i < m->signals.n; i++)
			for (size_t j = i + 1; j < m->signals.n; j++) {
				bool ov = false;
				for (int k = 0; k < 8; k++)
					ov |= (maps[i][k] & maps[j][k]) != 0;
				if (ov && may_coexist(sigs[i], sigs[j]))
					lex_warn_msg(l, m, "signals ", "%s and %s overlap",
						 sigs[i]->name, sigs[j]->name);
			}
		free(maps);
	}
	return 0;
}

static bool def_is(struct lex *l, const char *name, const char *type)
{
	struct attr_def *d = dbci_find_def(l, name);
	return d && (!type || strcmp(d->type, type) == 0);
}

static void apply_frame_format(struct lex *l, struct dbc_message *m, const struct ref *attr)
{
	struct attr_def *d = dbci_find_def(l, "VFrameFormat");
	const char *format = NULL;

	if (!d)
		return;
	if (attr) {
		if (attr->is_string) {
			format = attr->text;
		} else if (attr->num >= 0 && attr->num < (double)d->enums.n) {
			format = ((const char **)d->enums.v)[(size_t)attr->num];
		}
	} else {
		format = d->def_text;
	}
	if (format) {
		size_t n = strlen(format);
		m->fd = n >= 6 && strcmp(format + n - 6, "CAN_FD") == 0;
	}
}

/* Head of the chain of messages written with this id (statements refer to all of them). */
static struct dbc_message *first_with_id(struct dbc_message **heads, size_t size, uint32_t id)
{
	size_t h = dbci_hash_id(id, size - 1);
	while (heads[h] && heads[h]->dbc_id != id)
		h = (h + 1) & (size - 1);
	return heads[h];
}

int dbci_resolve(struct lex *l)
{
	struct dbc *db = l->db;
	struct dbc_message **msgs = db->messages.v;
	struct vec mulvals = {0};
	int r = 0;

	/* chain messages by written id: statements refer to every message with that id */
	size_t size = 16;
	while (size < db->messages.n * 2)
		size *= 2;
	struct dbc_message **heads = calloc(size, sizeof(*heads));
	if (!heads)
		return -ENOMEM;
	for (size_t i = db->messages.n; i-- > 0;) {
		size_t h = dbci_hash_id(msgs[i]->dbc_id, size - 1);
		while (heads[h] && heads[h]->dbc_id != msgs[i]->dbc_id)
			h = (h + 1) & (size - 1);
		msgs[i]->next_same_id = heads[h];
		heads[h] = msgs[i];
		msgs[i]->id = msgs[i]->dbc_id & 0x7fffffffu;
		msgs[i]->ext = (msgs[i]->dbc_id & 0x80000000u) != 0;
	}

	bool have_cycle = def_is(l, "GenMsgCycleTime", NULL);
	unsigned default_cycle = 0;
	if (have_cycle) {
		const char *t = dbci_find_def(l, "GenMsgCycleTime")->def_text;
		if (t) {
			char *end;
			double d = strtod(t, &end);
			if (end != t && d >= 0 && d <= UINT_MAX)
				default_cycle = (unsigned)d;
		}
	}
	for (size_t i = 0; i < db->messages.n; i++) {
		msgs[i]->cycle_time = default_cycle;
		apply_frame_format(l, msgs[i], NULL);
	}

	struct ref *refs = l->refs.v;
	for (size_t i = 0; i < l->refs.n; i++) {
		struct ref *ref = &refs[i];
		switch ((enum ref_kind)ref->kind) {
		case REF_MULVAL:
			if (dbci_vec_push(&mulvals, sizeof(struct ref)) == NULL) {
				r = -ENOMEM;
				goto out;
			}
			((struct ref *)mulvals.v)[mulvals.n - 1] = *ref;
			continue;
		case REF_COMMENT_MSG:
		case REF_COMMENT_SIG:
		case REF_ATTR_MSG:
		case REF_ATTR_SIG:
		case REF_CHOICES:
		case REF_SIGTYPE:
		case REF_TX_BU:
		case REF_SIG_GROUP:
			break;
		}
		if (ref->kind < 0)
			continue;
		/* cantools ignores statements about messages or signals that do not exist;
		 * so do we, but say so */
		if (l->warn) {
			struct dbc_message *m = first_with_id(heads, size, ref->dbc_id);
			if (!m)
				lex_warn_line(l, ref->line, ref->column, "message id %u is not defined",
					  ref->dbc_id);
			else if (ref->sig && !find_sig_dbc_name(m, ref->sig))
				lex_warn_line(l, ref->line, ref->column, "message %s has no signal %s",
					  m->name, ref->sig);
		}
		for (struct dbc_message *m = first_with_id(heads, size, ref->dbc_id); m;
		     m = m->next_same_id) {
			/* a name a message defines twice: every signal of that name (cantools
			 * looks attributes up by name for each signal) */
			struct dbc_signal **sv = m->signals.v;
			size_t next = 0;
			do {
				struct dbc_signal *s = NULL;
				if (ref->sig) {
					while (next < m->signals.n &&
					       strcmp(sv[next]->dbc_name, ref->sig) != 0)
						next++;
					if (next == m->signals.n)
						break;
					s = sv[next++];
				}
				switch ((enum ref_kind)ref->kind) {
				case REF_COMMENT_MSG:
					m->comment = ref->text;
					break;
				case REF_COMMENT_SIG:
					if (s)
						s->comment = ref->text;
					break;
				case REF_ATTR_MSG:
					if (strcmp(ref->name, "GenMsgCycleTime") == 0 &&
					    have_cycle) {
						/* cantools: an explicit 0 means none, not the
						 * default */
						if (!ref->is_string)
							m->cycle_time =
							    ref->num > 0 && ref->num <= UINT_MAX
								? (unsigned)ref->num
								: 0;
					} else if (strcmp(ref->name, "VFrameFormat") == 0) {
						apply_frame_format(l, m, ref);
					} else if (strcmp(ref->name, "SystemMessageLongSymbol") ==
						       0 &&
						   ref->is_string) {
						m->name = ref->text;
					}
					break;
				case REF_ATTR_SIG:
					if (!s)
						break;
					if (strcmp(ref->name, "GenSigStartValue") == 0 &&
					    !ref->is_string) {
						s->initial = ref->num;
						s->has_initial = true;
					} else if (strcmp(ref->name, "SystemSignalLongSymbol") ==
						       0 &&
						   ref->is_string) {
						s->name = ref->text;
					}
					break;
				case REF_CHOICES:
					/* an empty VAL_ leaves the signal's labels alone (cantools)
					 */
					if (s && ref->pairs.n > 0 &&
					    (r = set_choices(s, &ref->pairs)) < 0)
						goto out;
					break;
				case REF_SIGTYPE:
					if (s)
						s->is_float = ref->num == 1 || ref->num == 2;
					break;
				case REF_TX_BU: {
					const char **names = ref->pairs.v;
					for (size_t k = 0; k < ref->pairs.n; k++) {
						const char **have = m->senders.v;
						bool dup = false;
						for (size_t j = 0; j < m->senders.n; j++)
							dup |= strcmp(have[j], names[k]) == 0;
						if (!dup &&
						    (r = dbci_vec_push_ptr(&m->senders,
								      (void *)names[k])) < 0)
							goto out;
					}
					break;
				}
				case REF_SIG_GROUP: {
					struct sig_group *g = dbci_vec_push(&m->groups, sizeof(*g));
					if (!g) {
						r = -ENOMEM;
						goto out;
					}
					g->name = ref->name;
					g->repetitions = (unsigned)ref->num;
					/* the names live in the arena: the list goes there too */
					g->members = dbci_arena_alloc(&db->arena, (ref->pairs.n + 1) *
										 sizeof(char *));
					if (!g->members) {
						r = -ENOMEM;
						goto out;
					}
					if (ref->pairs.n)
						memcpy(g->members, ref->pairs.v,
						       ref->pairs.n * sizeof(char *));
					g->n_members = ref->pairs.n;
					break;
				}
				case REF_MULVAL:
					break;
				}
			} while (ref->sig);
		}
	}

	for (size_t i = 0; i < db->messages.n; i++) {
		struct dbc_signal **sigs = msgs[i]->signals.v;
		for (size_t k = 0; k < msgs[i]->signals.n; k++)
			if (sigs[k]->is_float && sigs[k]->length != 16 && sigs[k]->length != 32 &&
			    sigs[k]->length != 64)
				lex_warn_msg(l, msgs[i], "IEEE float signal ",
					 "%s is %u bits; read as integer", sigs[k]->name,
					 sigs[k]->length);
		if ((r = resolve_message(l, msgs[i], &mulvals)) < 0)
			goto out;
	}
	r = dbci_compile(db);
out:
	free(mulvals.v);
	free(heads);
	return r;
}

