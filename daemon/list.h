/* SPDX-License-Identifier: MIT */
/* Intrusive circular doubly linked list (the kernel's / wlroots' wl_list shape). */
#pragma once

#include <stdbool.h>

#include "macro.h"

struct list_head {
	struct list_head *prev, *next;
};

static inline void list_init(struct list_head *h)
{
	h->prev = h->next = h;
}

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_add_tail(struct list_head *h, struct list_head *n)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

/* Unlinks n and leaves it self-linked, so a second list_del is harmless. */
static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(h, type, member) list_entry((h)->next, type, member)
