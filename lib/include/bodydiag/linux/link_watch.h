/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * link_watch: rtnetlink link notifications, so that a daemon notices a CAN adapter that
 * goes down, disappears (USB unplugged, driver unbound) or comes back, without polling.
 */

#include <stdbool.h>

struct link_watch;

enum link_watch_event {
	LINK_WATCH_ADDED,   /* interface appeared (first seen in a NEWLINK) */
	LINK_WATCH_UP,      /* administratively up and carrier on (IFF_UP, IFF_LOWER_UP) */
	LINK_WATCH_DOWN,    /* still present, but down or without carrier (CAN: also bus-off) */
	LINK_WATCH_REMOVED, /* DELLINK: the interface is gone */
	_LINK_WATCH_EVENT_MAX,
};

typedef void (*link_watch_cb)(const char *ifname, int ifindex, enum link_watch_event ev,
			      void *userdata);

/* Opens a NETLINK_ROUTE socket subscribed to link changes (CLOEXEC|NONBLOCK) and takes a
 * snapshot of the current links so that later events are reported as transitions only.
 * Returns 0 or -errno. */
int link_watch_new(struct link_watch **ret);
struct link_watch *link_watch_free(struct link_watch *w);

/* The fd to poll for readability. */
int link_watch_fd(const struct link_watch *w);

/* Reads every pending notification and calls cb once per transition (ADDED, UP, DOWN,
 * REMOVED) for interfaces whose name matches filter (NULL: all). Returns the number of
 * callbacks made, or -errno. -ENOBUFS means the kernel dropped notifications: the watch
 * re-synchronises with a fresh dump and reports the differences, then returns the count. */
int link_watch_dispatch(struct link_watch *w, const char *filter, link_watch_cb cb, void *userdata);

/* "added", "up", "down", "removed". */
const char *link_watch_event_name(enum link_watch_event ev);

/* Current state of one interface without a watch: 1 up with carrier, 0 present but down,
 * -ENODEV absent, other -errno on failure. */
int link_watch_query(const char *ifname);

/* The link type of one interface (ARPHRD_* of <linux/if_arp.h>: ARPHRD_CAN, 280, for every
 * CAN interface, vcan included; ARPHRD_LOOPBACK for lo), -ENODEV absent, other -errno. */
int link_watch_link_type(const char *ifname);
