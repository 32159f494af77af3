/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dtc.h"
#include "bodydiag/numfmt.h"
#include "bodydiag/role.h"
#include "bodydiag/timeline.h"

/* ---- symbol table: per kind a dense array of names and an open-addressed hash ---- */

struct symtab {
	char **names;
	size_t count, cap;
	uint32_t *slots; /* index + 1, 0 = empty */
	size_t nslots;	 /* power of two, kept at most half full */
};

struct timeline_symbols {
	struct symtab tab[TIMELINE_SYMBOL_KIND_MAX];
};

/* FNV-1a: short names, no adversary worth a keyed hash (names come from our own files). */
static uint32_t hash_name(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)s[i];
		h *= 16777619u;
	}
	return h;
}

struct timeline_symbols *timeline_symbols_new(void)
{
	return calloc(1, sizeof(struct timeline_symbols));
}

struct timeline_symbols *timeline_symbols_free(struct timeline_symbols *s)
{
	if (!s)
		return NULL;
	for (size_t k = 0; k < TIMELINE_SYMBOL_KIND_MAX; k++) {
		for (size_t i = 0; i < s->tab[k].count; i++)
			free(s->tab[k].names[i]);
		free(s->tab[k].names);
		free(s->tab[k].slots);
	}
	free(s);
	return NULL;
}

static bool name_ok(const char *name, size_t len)
{
	return name && len > 0 && len < TIMELINE_MAX_NAME && !memchr(name, '\0', len);
}

static const uint32_t *symtab_find(const struct symtab *t, const char *name, size_t len)
{
	if (!t->nslots)
		return NULL;
	for (size_t i = hash_name(name, len) & (t->nslots - 1);; i = (i + 1) & (t->nslots - 1)) {
		const uint32_t *slot = &t->slots[i];
		if (!*slot)
			return slot;
		const char *n = t->names[*slot - 1];
		if (strlen(n) == len && !memcmp(n, name, len))
			return slot;
	}
}

static int symtab_grow(struct symtab *t)
{
	size_t n = t->nslots ? t->nslots * 2 : 64;
	uint32_t *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < t->count; i++) {
		const char *name = t->names[i];
		size_t j = hash_name(name, strlen(name)) & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = slots;
	t->nslots = n;
	return 0;
}

int timeline_symbols_lookup(const struct timeline_symbols *s, enum timeline_symbol_kind kind,
			    const char *name, size_t len, uint32_t *ret_index)
{
	if (!s || (unsigned)kind >= TIMELINE_SYMBOL_KIND_MAX || !name_ok(name, len))
		return -EINVAL;
	const uint32_t *slot = symtab_find(&s->tab[kind], name, len);
	if (!slot || !*slot)
		return -ENOENT;
	*ret_index = *slot - 1;
	return 0;
}

int timeline_symbols_intern(struct timeline_symbols *s, enum timeline_symbol_kind kind,
			    const char *name, size_t len, uint32_t *ret_index)
{
	int r = timeline_symbols_lookup(s, kind, name, len, ret_index);
	if (r != -ENOENT)
		return r;

	struct symtab *t = &s->tab[kind];
	if (t->count >= TIMELINE_MAX_SYMBOLS)
		return -E2BIG;
	if ((t->count + 1) * 2 > t->nslots) {
		r = symtab_grow(t);
		if (r < 0)
			return r;
	}
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 32;
		char **names = realloc(t->names, cap * sizeof(*names));
		if (!names)
			return -ENOMEM;
		t->names = names;
		t->cap = cap;
	}
	char *copy = strndup(name, len);
	if (!copy)
		return -ENOMEM;
	uint32_t *slot = (uint32_t *)symtab_find(t, name, len);
	t->names[t->count] = copy;
	*slot = (uint32_t)t->count + 1;
	*ret_index = (uint32_t)t->count;
	t->count++;
	return 0;
}

size_t timeline_symbols_count(const struct timeline_symbols *s, enum timeline_symbol_kind kind)
{
	if (!s || (unsigned)kind >= TIMELINE_SYMBOL_KIND_MAX)
		return 0;
	return s->tab[kind].count;
}

const char *timeline_symbols_name(const struct timeline_symbols *s, enum timeline_symbol_kind kind,
				  uint32_t index)
{
	if (!s || (unsigned)kind >= TIMELINE_SYMBOL_KIND_MAX || index >= s->tab[kind].count)
		return NULL;
	return s->tab[kind].names[index];
}

/* ---- events ---- */

struct timeline_event timeline_event_signal(int64_t t_us, uint32_t index, double value)
{
	return (struct timeline_event){
	    .t_us = t_us,
	    .type = TIMELINE_EVENT_SIGNAL,
	    .signal = {.index = index, .value = value},
	};
}

struct timeline_event timeline_event_mark(int64_t t_us, uint32_t index)
{
	return (struct timeline_event){
	    .t_us = t_us,
	    .type = TIMELINE_EVENT_MARK,
	    .mark = {.index = index},
	};
}

struct timeline_event timeline_event_dtc(int64_t t_us, uint32_t module, uint32_t code,
					 uint8_t status)
{
	return (struct timeline_event){
	    .t_us = t_us,
	    .type = TIMELINE_EVENT_DTC,
	    .dtc = {.code = code, .module = module, .status = status},
	};
}

struct timeline_event timeline_event_transport(int64_t t_us, enum timeline_transport kind,
					       uint32_t id, uint8_t service, uint8_t nrc)
{
	return (struct timeline_event){
	    .t_us = t_us,
	    .type = TIMELINE_EVENT_TRANSPORT,
	    .transport = {.kind = kind, .id = id, .service = service, .nrc = nrc},
	};
}

struct timeline_event timeline_event_dtc_read(int64_t t_us, uint32_t module)
{
	return (struct timeline_event){
	    .t_us = t_us,
	    .type = TIMELINE_EVENT_DTC_READ,
	    .dtc_read = {.module = module},
	};
}

static const char *const transport_names[TIMELINE_TRANSPORT_MAX] = {
    [TIMELINE_TRANSPORT_TIMEOUT] = "timeout",
    [TIMELINE_TRANSPORT_NRC] = "nrc",
    [TIMELINE_TRANSPORT_BUS_OFF] = "busoff",
    [TIMELINE_TRANSPORT_UNKNOWN_ID] = "unknown_id",
    [TIMELINE_TRANSPORT_ERROR_FRAME] = "error_frame",
};

const char *timeline_transport_name(enum timeline_transport kind)
{
	if ((unsigned)kind >= TIMELINE_TRANSPORT_MAX)
		return NULL;
	return transport_names[kind];
}

int timeline_transport_from_name(const char *name, size_t len, enum timeline_transport *ret_kind)
{
	for (unsigned k = 0; k < TIMELINE_TRANSPORT_MAX; k++) {
		if (strlen(transport_names[k]) == len && !memcmp(transport_names[k], name, len)) {
			*ret_kind = (enum timeline_transport)k;
			return 0;
		}
	}
	return -EINVAL;
}

/* ---- the ring ---- */

/*
 * An event as the ring keeps it: 20 bytes instead of struct timeline_event's 40 (the
 * daemon's ring of 65,536 events is the largest thing it holds). seq is not stored: the
 * ring's events have consecutive numbers, so the i-th one's is next_seq - count + i.
 * A signal keeps its value's bits in p; a signal value is finite (timeline_push refuses
 * others), so its exponent is never all ones, and every other type is stored as such a
 * pattern (PACKED_TAG) with its type and up to 16 bits beside it, and its fields in
 * p_lo and aux:
 *
 *   signal     p = the value's bits, aux = index
 *   dtc        x = previous | first_seen << 8, p_lo = module, aux = code | status << 24
 *   mark       aux = index
 *   dtc_read   aux = module
 *   transport  p_lo = id, aux = kind | service << 8 | nrc << 16
 *
 * Five 32-bit words, so no padding and 4-byte alignment on every target (no unaligned
 * 64-bit loads on armhf); every field round-trips, extremes included (test-timeline).
 */
struct packed_event {
	uint32_t t_lo, t_hi;
	uint32_t p_lo, p_hi; /* p_hi of a non-signal: PACKED_TAG | type << 16 | x */
	uint32_t aux;
};

#define PACKED_TAG 0x7FF00000u /* a double's exponent bits, all ones: never a finite value */

static struct packed_event pack(const struct timeline_event *ev)
{
	struct packed_event p = {
	    .t_lo = (uint32_t)(uint64_t)ev->t_us,
	    .t_hi = (uint32_t)((uint64_t)ev->t_us >> 32),
	};
	uint32_t x = 0;

	switch (ev->type) {
	case TIMELINE_EVENT_SIGNAL: {
		uint64_t bits;
		memcpy(&bits, &ev->signal.value, sizeof(bits));
		p.p_lo = (uint32_t)bits;
		p.p_hi = (uint32_t)(bits >> 32);
		p.aux = ev->signal.index;
		return p;
	}
	case TIMELINE_EVENT_DTC:
		x = ev->dtc.previous | (uint32_t)ev->dtc.first_seen << 8;
		p.p_lo = ev->dtc.module;
		p.aux = ev->dtc.code | (uint32_t)ev->dtc.status << 24;
		break;
	case TIMELINE_EVENT_MARK:
		p.aux = ev->mark.index;
		break;
	case TIMELINE_EVENT_DTC_READ:
		p.aux = ev->dtc_read.module;
		break;
	case TIMELINE_EVENT_TRANSPORT:
		p.p_lo = ev->transport.id;
		p.aux = (uint32_t)ev->transport.kind | (uint32_t)ev->transport.service << 8 |
			(uint32_t)ev->transport.nrc << 16;
		break;
	case TIMELINE_EVENT_TYPE_MAX:
		break;
	}
	p.p_hi = PACKED_TAG | (uint32_t)ev->type << 16 | x;
	return p;
}

static void unpack(const struct packed_event *p, uint64_t seq, struct timeline_event *ev)
{
	*ev = (struct timeline_event){
	    .t_us = (int64_t)((uint64_t)p->t_hi << 32 | p->t_lo),
	    .seq = seq,
	};
	if ((p->p_hi & PACKED_TAG) != PACKED_TAG) {
		uint64_t bits = (uint64_t)p->p_hi << 32 | p->p_lo;
		ev->type = TIMELINE_EVENT_SIGNAL;
		ev->signal.index = p->aux;
		memcpy(&ev->signal.value, &bits, sizeof(bits));
		return;
	}
	ev->type = (enum timeline_event_type)(p->p_hi >> 16 & 0xF);
	switch (ev->type) {
	case TIMELINE_EVENT_DTC:
		ev->dtc.module = p->p_lo;
		ev->dtc.code = p->aux & 0xFFFFFFu;
		ev->dtc.status = (uint8_t)(p->aux >> 24);
		ev->dtc.previous = (uint8_t)p->p_hi;
		ev->dtc.first_seen = p->p_hi >> 8 & 1;
		break;
	case TIMELINE_EVENT_MARK:
		ev->mark.index = p->aux;
		break;
	case TIMELINE_EVENT_DTC_READ:
		ev->dtc_read.module = p->aux;
		break;
	case TIMELINE_EVENT_TRANSPORT:
		ev->transport.id = p->p_lo;
		ev->transport.kind = (enum timeline_transport)(p->aux & 0xFF);
		ev->transport.service = (uint8_t)(p->aux >> 8);
		ev->transport.nrc = (uint8_t)(p->aux >> 16);
		break;
	case TIMELINE_EVENT_SIGNAL:
	case TIMELINE_EVENT_TYPE_MAX:
		break;
	}
}

struct dtc_memory {
	uint32_t module;
	uint32_t code;
	uint8_t status;
};

struct timeline {
	struct packed_event *ring;
	size_t cap;
	size_t head; /* index of the oldest event */
	size_t count;
	uint64_t next_seq;
	uint64_t dropped, clamped;
	int64_t last_t;
	/* Last status per DTC: small and rarely touched (DTC reads are polls), so a
	 * linear scan costs less than keeping a hash in step with it. */
	struct dtc_memory dtcs[TIMELINE_MAX_DTCS];
	size_t ndtcs;
};

struct timeline *timeline_new(size_t capacity)
{
	if (capacity == 0 || capacity > TIMELINE_MAX_CAPACITY) {
		errno = EINVAL;
		return NULL;
	}
	struct timeline *tl = calloc(1, sizeof(*tl));
	if (!tl)
		return NULL;
	/* malloc, not calloc: no slot is read before it is written, so the pages of a ring
	 * that never fills are never touched */
	tl->ring = malloc(capacity * sizeof(*tl->ring));
	if (!tl->ring) {
		free(tl);
		return NULL;
	}
	tl->cap = capacity;
	tl->next_seq = 1;
	tl->last_t = INT64_MIN;
	return tl;
}

struct timeline *timeline_free(struct timeline *tl)
{
	if (!tl)
		return NULL;
	free(tl->ring);
	free(tl);
	return NULL;
}

static struct dtc_memory *dtc_memory_find(struct timeline *tl, uint32_t module, uint32_t code)
{
	for (size_t i = 0; i < tl->ndtcs; i++)
		if (tl->dtcs[i].code == code && tl->dtcs[i].module == module)
			return &tl->dtcs[i];
	return NULL;
}

static bool event_valid(const struct timeline_event *ev)
{
	switch (ev->type) {
	case TIMELINE_EVENT_SIGNAL:
		return isfinite(ev->signal.value);
	case TIMELINE_EVENT_DTC:
		return ev->dtc.code <= 0xFFFFFFu;
	case TIMELINE_EVENT_MARK:
		return true;
	case TIMELINE_EVENT_TRANSPORT:
		return (unsigned)ev->transport.kind < TIMELINE_TRANSPORT_MAX;
	case TIMELINE_EVENT_DTC_READ:
		return true;
	case TIMELINE_EVENT_TYPE_MAX:
		break;
	}
	return false;
}

int timeline_push(struct timeline *tl, const struct timeline_event *ev,
		  struct timeline_event *ret_stored)
{
	if (!tl || !ev || !event_valid(ev))
		return -EINVAL;

	struct timeline_event e = *ev;
	if (e.type == TIMELINE_EVENT_DTC) {
		struct dtc_memory *m = dtc_memory_find(tl, e.dtc.module, e.dtc.code);
		if (m) {
			if (m->status == e.dtc.status)
				return 0;
			e.dtc.previous = m->status;
			e.dtc.first_seen = false;
			m->status = e.dtc.status;
		} else {
			e.dtc.previous = 0;
			e.dtc.first_seen = true;
			if (tl->ndtcs < TIMELINE_MAX_DTCS)
				tl->dtcs[tl->ndtcs++] = (struct dtc_memory){
				    .module = e.dtc.module,
				    .code = e.dtc.code,
				    .status = e.dtc.status,
				};
		}
	}
	if (e.t_us < tl->last_t) {
		e.t_us = tl->last_t;
		tl->clamped++;
	}
	tl->last_t = e.t_us;
	e.seq = tl->next_seq++;

	size_t slot;
	if (tl->count == tl->cap) {
		slot = tl->head;
		tl->head = (tl->head + 1) % tl->cap;
		tl->dropped++;
	} else {
		slot = (tl->head + tl->count) % tl->cap;
		tl->count++;
	}
	tl->ring[slot] = pack(&e);
	if (ret_stored)
		*ret_stored = e;
	return 1;
}

size_t timeline_capacity(const struct timeline *tl)
{
	return tl->cap;
}

size_t timeline_count(const struct timeline *tl)
{
	return tl->count;
}

uint64_t timeline_dropped(const struct timeline *tl)
{
	return tl->dropped;
}

uint64_t timeline_clamped(const struct timeline *tl)
{
	return tl->clamped;
}

int64_t timeline_last_time(const struct timeline *tl)
{
	return tl->count ? tl->last_t : INT64_MIN;
}

static int64_t time_at(const struct timeline *tl, size_t i)
{
	const struct packed_event *p = &tl->ring[(tl->head + i) % tl->cap];
	return (int64_t)((uint64_t)p->t_hi << 32 | p->t_lo);
}

int timeline_get(const struct timeline *tl, size_t i, struct timeline_event *ret)
{
	if (i >= tl->count)
		return -ENOENT;
	unpack(&tl->ring[(tl->head + i) % tl->cap], tl->next_seq - tl->count + i, ret);
	return 0;
}

size_t timeline_find_time(const struct timeline *tl, int64_t t)
{
	/* Times are non-decreasing in ring order, so a binary search over positions works. */
	size_t lo = 0, hi = tl->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (time_at(tl, mid) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int timeline_dtc_status(const struct timeline *tl, uint32_t module, uint32_t code,
			uint8_t *ret_status)
{
	for (size_t i = 0; i < tl->ndtcs; i++) {
		if (tl->dtcs[i].code == code && tl->dtcs[i].module == module) {
			*ret_status = tl->dtcs[i].status;
			return 0;
		}
	}
	return -ENOENT;
}

size_t timeline_dtc_count(const struct timeline *tl)
{
	return tl->ndtcs;
}

int timeline_dtc_at(const struct timeline *tl, size_t i, uint32_t *ret_module, uint32_t *ret_code,
		    uint8_t *ret_status)
{
	if (i >= tl->ndtcs)
		return -ENOENT;
	*ret_module = tl->dtcs[i].module;
	*ret_code = tl->dtcs[i].code;
	*ret_status = tl->dtcs[i].status;
	return 0;
}

void timeline_clear(struct timeline *tl)
{
	tl->head = 0;
	tl->count = 0;
	tl->ndtcs = 0;
	tl->last_t = INT64_MIN;
}

int timeline_event_format(const struct timeline_event *ev, const struct timeline_symbols *syms,
			  char *buf, size_t size)
{
	/* Print times as seconds with µs, sign kept apart so -0.5 s prints right. */
	int64_t t = ev->t_us;
	const char *sign = t < 0 ? "-" : "";
	uint64_t mag = t < 0 ? (uint64_t)0 - (uint64_t)t : (uint64_t)t;
	char ts[32];
	snprintf(ts, sizeof(ts), "%s%" PRIu64 ".%06" PRIu64, sign, mag / 1000000u, mag % 1000000u);

	switch (ev->type) {
	case TIMELINE_EVENT_SIGNAL: {
		const char *n =
		    timeline_symbols_name(syms, TIMELINE_SYMBOL_SIGNAL, ev->signal.index);
		unsigned ri;
		/* a role's value as people read it: its label, or the number and unit */
		if (n && role_find(n, strlen(n), &ri) == 0) {
			char v[64];
			role_value_format(role_at(ri), ev->signal.value, v, sizeof(v));
			return snprintf(buf, size, "%s signal %s = %s", ts, n, v);
		}
		char num[NUMFMT_DOUBLE_MAX];
		numfmt_double_text(num, ev->signal.value);
		if (n)
			return snprintf(buf, size, "%s signal %s = %s", ts, n, num);
		return snprintf(buf, size, "%s signal #%" PRIu32 " = %s", ts, ev->signal.index,
				num);
	}
	case TIMELINE_EVENT_DTC: {
		char code[DTC_TEXT_MAX];
		if (dtc_format(ev->dtc.code, code, sizeof(code)) < 0)
			snprintf(code, sizeof(code), "%06" PRIx32, ev->dtc.code & 0xFFFFFFu);
		const char *m =
		    ev->dtc.module == TIMELINE_MODULE_NONE
			? "?"
			: timeline_symbols_name(syms, TIMELINE_SYMBOL_MODULE, ev->dtc.module);
		if (!m)
			m = "?";
		if (ev->dtc.first_seen)
			return snprintf(buf, size, "%s dtc %s %s status 0x%02x", ts, m, code,
					ev->dtc.status);
		return snprintf(buf, size, "%s dtc %s %s status 0x%02x (was 0x%02x)", ts, m, code,
				ev->dtc.status, ev->dtc.previous);
	}
	case TIMELINE_EVENT_MARK: {
		const char *n = timeline_symbols_name(syms, TIMELINE_SYMBOL_MARK, ev->mark.index);
		if (n)
			return snprintf(buf, size, "%s mark %s", ts, n);
		return snprintf(buf, size, "%s mark #%" PRIu32, ts, ev->mark.index);
	}
	case TIMELINE_EVENT_DTC_READ: {
		const char *m =
		    ev->dtc_read.module == TIMELINE_MODULE_NONE
			? "?"
			: timeline_symbols_name(syms, TIMELINE_SYMBOL_MODULE, ev->dtc_read.module);
		return snprintf(buf, size, "%s dtc_read %s", ts, m ? m : "?");
	}
	case TIMELINE_EVENT_TRANSPORT: {
		const char *n = timeline_transport_name(ev->transport.kind);
		if (ev->transport.kind == TIMELINE_TRANSPORT_NRC)
			return snprintf(buf, size, "%s transport nrc 0x%02x to service 0x%02x", ts,
					ev->transport.nrc, ev->transport.service);
		return snprintf(buf, size, "%s transport %s id 0x%" PRIx32, ts, n ? n : "?",
				ev->transport.id);
	}
	case TIMELINE_EVENT_TYPE_MAX:
		break;
	}
	return snprintf(buf, size, "%s ?", ts);
}
