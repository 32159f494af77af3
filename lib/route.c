/* SPDX-License-Identifier: MIT */
/*
 * route: an open-addressing hash from (CAN id, format) to what a frame of that id is.
 * See route.h.
 */
#include <errno.h>
#include <stdlib.h>

#include "bodydiag/dbc.h"
#include "bodydiag/isotp_addr.h"
#include "bodydiag/profile.h"
#include "bodydiag/route.h"

#define KEY_EXT (1u << 31)
#define SLOT_EMPTY UINT32_MAX

struct slot {
	uint32_t key; /* id | KEY_EXT; SLOT_EMPTY = free */
	struct route_hit hit;
	/* ECUs reached with extended or mixed addressing on this id, told apart by the
	 * frame's first byte: eas[ea_first .. ea_first + ea_n) */
	uint32_t ea_first, ea_n;
};

/* One ECU direction keyed by its address byte as well as its id. */
struct ea_entry {
	uint32_t key;
	uint8_t ea;
	uint32_t order; /* profile order: of two entries for one (id, byte) the later wins */
	struct route_hit hit;
};

struct route_table {
	struct slot *slots; /* a power of two, at most half full */
	size_t mask;
	size_t n_messages, n_ecus;
	struct ea_entry *eas; /* sorted by key, then byte */
	size_t n_eas;
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

static int ea_cmp(const void *a, const void *b)
{
	const struct ea_entry *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	if (x->ea != y->ea)
		return x->ea < y->ea ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The ECUs' address-byte entries into their slots: sorted, the later of two for one
 * (id, byte) kept, each id's run recorded in its slot (whose own hit stays for frames
 * with another first byte: a DBC message on the id, or unknown). */
static void link_eas(struct route_table *t)
{
	size_t n = 0;

	if (t->n_eas > 1)
		qsort(t->eas, t->n_eas, sizeof(*t->eas), ea_cmp);
	for (size_t i = 0; i < t->n_eas; i++) {
		if (n > 0 && t->eas[n - 1].key == t->eas[i].key && t->eas[n - 1].ea == t->eas[i].ea)
			t->eas[n - 1] = t->eas[i];
		else
			t->eas[n++] = t->eas[i];
	}
	t->n_eas = n;
	for (size_t i = 0; i < n;) {
		uint32_t key = t->eas[i].key;
		struct slot *s = claim(t, key & 0x1fffffffu, key & KEY_EXT);
		size_t j = i;

		while (j < n && t->eas[j].key == key)
			j++;
		s->ea_first = (uint32_t)i;
		s->ea_n = (uint32_t)(j - i);
		i = j;
	}
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
	t->eas = calloc(2 * n_ecus + 1, sizeof(*t->eas));
	if (!t->eas) {
		free(t->slots);
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
		const struct isotp_addr *a = &e->addr;
		const uint32_t ids[2] = {a->tx_id, a->rx_id};
		const uint8_t eas[2] = {a->tx_ea, a->rx_ea};
		const enum route_kind kinds[2] = {ROUTE_DIAG_REQUEST, ROUTE_DIAG_RESPONSE};

		for (size_t k = 0; k < 2; k++) {
			struct route_hit hit = {kinds[k], (uint32_t)i};

			/* Extended and mixed addressing share ids between ECUs (a BMW tester's
			 * 0x6F1, a Toyota gateway's 0x750): the address byte tells them apart. */
			if (isotp_addr_pci_offset(a))
				t->eas[t->n_eas++] = (struct ea_entry){key_of(ids[k], a->ext_ids),
								       eas[k], (uint32_t)t->n_eas, hit};
			else
				claim(t, ids[k], a->ext_ids)->hit = hit;
		}
		/* functional requests are answered on the physical response ids; the request
		 * itself is no unknown id */
		if (a->functional_id) {
			struct slot *s = claim(t, a->functional_id, a->functional_id > 0x7ff);
			if (!is_diag(s->hit.kind))
				s->hit = (struct route_hit){ROUTE_FUNCTIONAL, (uint32_t)i};
		}
	}
	link_eas(t);
	*ret = t;
	return 0;
}

struct route_table *route_table_free(struct route_table *t)
{
	if (!t)
		return NULL;
	free(t->eas);
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
	if (!s)
		return (struct route_hit){ROUTE_UNKNOWN, 0};
	/* a few ECUs per id at most: a linear scan of the run */
	for (uint32_t i = 0; f->len >= 1 && i < s->ea_n; i++)
		if (t->eas[s->ea_first + i].ea == f->data[0])
			return t->eas[s->ea_first + i].hit;
	return s->hit;
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
