/* SPDX-License-Identifier: MIT */
/*
 * route: an open-addressing hash from (CAN id, format) to what a frame of that id is.
 * See route.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "bodydiag/route.h"

#define KEY_EXT (1u << 31)
#define SLOT_EMPTY UINT32_MAX

struct slot {
	uint32_t key; /* id | KEY_EXT; SLOT_EMPTY = free */
	struct route_hit hit;
};

struct route_table {
	struct slot *slots; /* a power of two, at most half full */
	size_t mask;
	size_t n_messages, n_ecus;
};

static uint32_t key_of(uint32_t id, bool ext)
{
	return (id & 0x1fffffffu) | (ext ? KEY_EXT : 0);
}

static size_t slot_of(const struct route_table *t, uint32_t key)
{
	return (size_t)((key * 0x9E3779B1u) >> 7) & t->mask;
}

static const struct slot *find(const struct route_table *t, uint32_t key)
{
	for (size_t i = slot_of(t, key);; i = (i + 1) & t->mask) {
		const struct slot *s = &t->slots[i];
		if (s->key == key)
			return s;
		if (s->key == SLOT_EMPTY)
			return NULL;
	}
}

/* The slot for key, claimed when free; a later entry for the same id replaces it. */
static struct slot *claim(struct route_table *t, uint32_t id, bool ext)
{
	uint32_t key = key_of(id, ext);
	size_t i = slot_of(t, key);

	while (t->slots[i].key != SLOT_EMPTY && t->slots[i].key != key)
		i = (i + 1) & t->mask;
	t->slots[i].key = key;
	return &t->slots[i];
}

static bool is_diag(enum route_kind k)
{
	return k == ROUTE_DIAG_REQUEST || k == ROUTE_DIAG_RESPONSE;
}

int route_table_new(const struct dbc *db, const struct profile *p, struct route_table **ret)
{
	size_t n_msgs = db ? dbc_message_count(db) : 0;
	size_t n_ecus = p ? profile_ecu_count(p) : 0;
	size_t want = 2 * (n_msgs + 3 * n_ecus) + 2, size = 16;
	struct route_table *t;

	while (size < want)
		size *= 2;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->slots = calloc(size, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return -ENOMEM;
	}
	for (size_t i = 0; i < size; i++)
		t->slots[i].key = SLOT_EMPTY;
	t->mask = size - 1;
	t->n_messages = n_msgs;
	t->n_ecus = n_ecus;

	for (size_t i = 0; i < n_msgs; i++) {
		const struct dbc_message *m = dbc_message_at(db, i);
		claim(t, dbc_message_id(m), dbc_message_is_extended(m))->hit =
			(struct route_hit){ROUTE_MESSAGE, (uint32_t)i};
	}
	/* diagnostic ids last: a DBC that lists them as messages must not steal them */
	for (size_t i = 0; i < n_ecus; i++) {
		const struct profile_ecu *e = profile_ecu_at(p, i);
		const uint32_t ids[2] = {e->request_id, e->response_id};
		const enum route_kind kinds[2] = {ROUTE_DIAG_REQUEST, ROUTE_DIAG_RESPONSE};

		for (size_t k = 0; k < 2; k++)
			claim(t, ids[k], ids[k] > 0x7ff)->hit = (struct route_hit){kinds[k], (uint32_t)i};
		/* functional requests are answered on the physical response ids; the request
		 * itself is no unknown id */
		if (e->functional_id) {
			struct slot *s = claim(t, e->functional_id, e->functional_id > 0x7ff);
			if (!is_diag(s->hit.kind))
				s->hit = (struct route_hit){ROUTE_FUNCTIONAL, (uint32_t)i};
		}
	}
	*ret = t;
	return 0;
}

struct route_table *route_table_free(struct route_table *t)
{
	if (!t)
		return NULL;
	free(t->slots);
	free(t);
	return NULL;
}

struct route_hit route_classify(const struct route_table *t, const struct bd_frame *f)
{
	const struct slot *s;
	bool ext = f->flags & BD_FRAME_EXT;

	if (f->flags & BD_FRAME_ERR)
		return (struct route_hit){ROUTE_ERROR, 0};
	if (f->flags & BD_FRAME_RTR)
		return (struct route_hit){ROUTE_REMOTE, 0};
	if (!t)
		return (struct route_hit){ROUTE_UNKNOWN, 0};
	s = find(t, key_of(f->id, ext));
	if (!s)
		s = find(t, key_of(f->id, !ext));
	return s ? s->hit : (struct route_hit){ROUTE_UNKNOWN, 0};
}

size_t route_table_message_count(const struct route_table *t)
{
	return t ? t->n_messages : 0;
}

size_t route_table_ecu_count(const struct route_table *t)
{
	return t ? t->n_ecus : 0;
}

const char *route_kind_name(enum route_kind k)
{
	static const char *const names[ROUTE_KIND_MAX] = {
		[ROUTE_UNKNOWN] = "unknown",	     [ROUTE_MESSAGE] = "message",
		[ROUTE_DIAG_REQUEST] = "diag_request", [ROUTE_DIAG_RESPONSE] = "diag_response",
		[ROUTE_FUNCTIONAL] = "functional",   [ROUTE_ERROR] = "error",
		[ROUTE_REMOTE] = "remote",
	};
	return (unsigned)k < ROUTE_KIND_MAX ? names[k] : NULL;
}
