/* SPDX-License-Identifier: MIT */
/*
 * The diagnostic API methods (docs/api.md): status, ecus, dtc.read, dtc.clear, did.read,
 * live.subscribe, mark. They read the vehicle data (profile, DBC) and reach the ECUs
 * through the UDS broker; live.subscribe is fed the bus frames by main.c; marks go into
 * the timeline that the diagnosis engine reads.
 *
 * The data (profile, DBC, broker, bus) is borrowed and may be swapped at run time
 * (SIGHUP): methods_set_data() first cancels whatever uses the old set (pending requests
 * fail with `unavailable`, subscriptions end), so the caller may free the old objects
 * right after it returns.
 */
#pragma once

#include <jansson.h>
#include <stdint.h>

#include "bodydiag/frame.h"

struct api_server;
struct bus;
struct dbc;
struct profile;
struct timeline;
struct timeline_symbols;
struct uds_broker;
struct methods;

/* Everything the methods read; any pointer may be NULL (the methods needing it then
 * answer `unavailable`). Borrowed. */
struct methods_data {
	const struct profile *profile;
	const struct dbc *dbc;
	struct uds_broker *broker; /* ECU i is the profile's ECU i */
	struct bus *bus;
	const char *ifname; /* shown by status when there is no bus */
	bool listen_only;   /* no background scans configured */
};

/* Registers the methods on api. The timeline (marks, DTC reads) is created here with
 * timeline_capacity events. Returns 0, -EEXIST (a method name already taken), -ENOMEM. */
int methods_new(struct api_server *api, const struct methods_data *data, size_t timeline_capacity,
		struct methods **ret);
/* Unregisters the methods, cancels pending requests and subscriptions. NULL-safe. */
struct methods *methods_free(struct methods *m);
static inline void methods_freep(struct methods **m)
{
	methods_free(*m);
}

/* Swaps the data (see above). */
void methods_set_data(struct methods *m, const struct methods_data *data);

/* A bus frame (t_us monotonic): decoded with the DBC for live subscribers. */
void methods_bus_frame(struct methods *m, const struct bd_timed_frame *f);

/* Told of every mark a client records (after it is in the timeline), e.g. to feed the
 * diagnosis engine; returns 0 or -errno (logged, the mark stays recorded). */
typedef int (*methods_mark_fn)(void *userdata, int64_t t_us, const char *label);
void methods_set_mark_hook(struct methods *m, methods_mark_fn fn, void *userdata);

/* Asked by `status` for the "scan" member (a new reference, or NULL for "disabled"). */
typedef json_t *(*methods_scan_status_fn)(void *userdata);
void methods_set_scan_status(struct methods *m, methods_scan_status_fn fn, void *userdata);

/* The timeline and its symbols, for the diagnosis engine. */
struct timeline *methods_timeline(struct methods *m);
struct timeline_symbols *methods_symbols(struct methods *m);
