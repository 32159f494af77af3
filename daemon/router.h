/* SPDX-License-Identifier: MIT */
/*
 * The frame router: the one path every bus frame, every UDS exchange and every mark
 * takes through the daemon (the shape of iwd's frame watches).
 *
 * A frame is classified once, with the route table of the vehicle snapshot in force,
 * and a frame of a DBC message is decoded once (dbc_decode), only when some watch asked
 * for that message's signals; every watch then sees the same classification and the
 * same samples. No module decodes a frame itself.
 *
 * UDS exchanges reach the watches once each, whoever made them: the broker publishes
 * every exchange of the daemon (request, outcome, response, timing: a `dtc.read`, a
 * background scan, a guided test's reads alike), and the router reassembles the
 * diagnostic frames on the bus with a passive ISO-TP observer per ECU, publishing the
 * exchanges that another tester made (a shop tool talking to the BCM beside us). It
 * tells the two apart by the kernel's loopback mark on the request's frames
 * (BD_FRAME_LOCAL): our own requests were sent by a socket of this host, and their
 * answers come from the broker, so nothing is counted twice.
 *
 * Marks (what the person did) are published here too, so that every module that cares
 * (the diagnosis engine) sees each one once.
 *
 * The router has no event loop and reads no clock: frames carry their times, and each
 * frame's time lets the observers' reassemblies time out.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"
#include "bodydiag/route.h"
#include "uds_broker.h"

struct dbc_message;
struct dbc_sample;
struct router;
struct router_watch;
struct vehicle;

/* One frame as every watch sees it. */
struct router_frame {
	const struct bd_timed_frame *tf; /* t_us: CLOCK_MONOTONIC µs */
	struct route_hit hit;
	bool local;			 /* sent by this host (BD_FRAME_LOCAL) */
	const struct dbc_message *msg;	 /* ROUTE_MESSAGE: the message */
	/* ROUTE_MESSAGE and the watch asked for this message: its decoded signals, else
	 * NULL. Valid during the callback only. */
	const struct dbc_sample *samples;
	size_t n_samples;
};

enum router_origin {
	ROUTER_ORIGIN_DAEMON, /* the broker's: a client's request, a scan, a guided test */
	ROUTER_ORIGIN_BUS,    /* another tester on the bus, reassembled from its frames */
	ROUTER_ORIGIN_MAX,
};

/* One completed UDS exchange; pointers valid during the callback only. */
struct router_exchange {
	enum router_origin origin;
	size_t ecu;			 /* the vehicle's (and the broker's) ECU index */
	const char *ecu_name;
	const uint8_t *req;		 /* NULL when the bus showed only the answer */
	size_t req_len;
	enum uds_broker_outcome outcome; /* BUS: always UDS_BROKER_RESPONSE */
	const uint8_t *resp;		 /* the final response (never 0x78), NULL without one */
	size_t resp_len;
	int transport_errno;		 /* TRANSPORT_ERROR */
	int64_t t_us;			 /* monotonic µs of the outcome */
	uint64_t elapsed_us;		 /* request to outcome */
};

/* A mark: label as the client gave it, t_us monotonic, seq 1, 2, ... per daemon. */
struct router_mark {
	const char *label;
	int64_t t_us;
	uint64_t seq;
};

/* What a watch is told; any callback may be NULL. Callbacks must not free the router;
 * they may free their own watch only from mark/exchange callbacks' owners' teardown. */
struct router_watch_ops {
	void (*frame)(void *userdata, const struct router_frame *f); /* every frame */
	void (*exchange)(void *userdata, const struct router_exchange *x);
	void (*mark)(void *userdata, const struct router_mark *m);
};

struct router_stats {
	uint64_t frames;		 /* routed (error frames included) */
	uint64_t by_kind[ROUTE_KIND_MAX];
	uint64_t local;			 /* frames sent by this host */
	uint64_t decodes;		 /* dbc_decode calls: at most one per frame */
	uint64_t exchanges[ROUTER_ORIGIN_MAX];
	uint64_t marks;
};

/* Returns 0, -ENOMEM. The router starts with an empty vehicle: nothing is decoded. */
int router_new(struct router **ret);
/* Frees the remaining watches too. Accepts NULL, returns NULL. */
struct router *router_free(struct router *r);

/* The snapshot frames are classified with from now on (a reference is taken; the old
 * one is dropped, and with it every observation in progress). Returns 0, -ENOMEM (the
 * old snapshot stays). */
int router_set_vehicle(struct router *r, struct vehicle *v);

/* A frame from the bus (data, remote or error frame), in time order. */
void router_feed(struct router *r, const struct bd_timed_frame *tf);

/* Called by the broker for each of its completed exchanges (x->origin DAEMON). */
void router_publish_exchange(struct router *r, const struct router_exchange *x);
/* Records a mark; *ret_seq (may be NULL) its number. Returns 0, -EINVAL (empty label). */
int router_publish_mark(struct router *r, int64_t t_us, const char *label, uint64_t *ret_seq);

/* Starts a watch (copied ops). Returns 0, -ENOMEM. */
int router_watch_new(struct router *r, const struct router_watch_ops *ops, void *userdata,
		     struct router_watch **ret);
/* Accepts NULL, returns NULL. Safe from inside any of the router's callbacks. */
struct router_watch *router_watch_free(struct router_watch *w);

/*
 * Asks for (want true) or gives up the decoded signals of DBC message msg_index of
 * snapshot v. The wants belong to v (the watch keeps a reference): they count only
 * while the router routes with v, and asking for another snapshot's message drops
 * them all, so a module states its wants again in its own set_vehicle, in any order
 * relative to the router's. Returns 0, -EINVAL (index out of range), -ENOMEM.
 */
int router_watch_want(struct router_watch *w, struct vehicle *v, size_t msg_index, bool want);
/* Drops every want of w. */
void router_watch_want_none(struct router_watch *w);

void router_get_stats(const struct router *r, struct router_stats *ret);
