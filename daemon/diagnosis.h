/* SPDX-License-Identifier: MIT */
/*
 * The live diagnosis: lib/engine fed with the bus frames, the daemon's own UDS reads and
 * the marks clients record, and the guided test on top of it (docs/api.md "diagnose").
 *
 * API methods registered here:
 *   findings   the engine's ranked findings now (what the bus has shown so far)
 *   diagnose   the guided test: reads the fault memory and the DIDs the rules use, then
 *              asks for the splitting actions (events "diagnose.question") one at a
 *              time, waiting for each as a mark, rereads after each action, and replies
 *              with the verdict and the ranked causes. One at a time per daemon.
 *
 * Transmits only what the guided test needs (0x19 and 0x22 through the broker, at
 * interactive priority), only while a client runs it: listen-only otherwise.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bodydiag/frame.h"

struct api_server;
struct dbc;
struct ev_loop;
struct history;
struct profile;
struct rules_set;
struct uds_broker;
struct diagnosis;

/* Borrowed; any may be NULL except rules (no rules: the methods answer `unavailable`). */
struct diagnosis_data {
	const struct dbc *dbc;
	const struct profile *profile;
	const struct rules_set *rules;
	struct uds_broker *broker; /* ECU i is the profile's ECU i; NULL: no reads */
};

/* Registers `findings` and `diagnose` on api. Returns 0, -EEXIST, -ENOMEM, or the
 * engine's error for data it cannot build a pipeline from (-EINVAL, -E2BIG). */
int diagnosis_new(struct ev_loop *loop, struct api_server *api, const struct diagnosis_data *data,
		  struct diagnosis **ret);
/* Ends a running guided test (its client gets `unavailable`), unregisters. NULL-safe. */
struct diagnosis *diagnosis_free(struct diagnosis *g);
static inline void diagnosis_freep(struct diagnosis **g)
{
	diagnosis_free(*g);
}

/* New data (SIGHUP): a running guided test ends with `unavailable`, the engine is rebuilt.
 * On failure the old data stays in use. Returns 0 or -errno. */
int diagnosis_set_data(struct diagnosis *g, const struct diagnosis_data *data);

/* A bus frame, t_us monotonic. */
void diagnosis_bus_frame(struct diagnosis *g, const struct bd_timed_frame *f);

/* A mark recorded by a client (the `mark` method), t_us monotonic. Returns 0 or -errno
 * (a name the timeline refuses). */
int diagnosis_mark(struct diagnosis *g, int64_t t_us, const char *name);

/*
 * Where guided tests are recorded (NULL = nowhere): each test is a history session with
 * the DTCs read, the findings with their evidence, and the timeline of the signals the
 * rules read plus the marks (what `bodydiag report` draws). Borrowed.
 */
void diagnosis_set_history(struct diagnosis *g, struct history *h);

/* Told the VIN when a guided test read it (UDS 0xF190, a profile DID), e.g. for the
 * MQTT topics. The history session gets it in any case. */
typedef void (*diagnosis_vin_fn)(void *userdata, const char *vin);
void diagnosis_set_vin_hook(struct diagnosis *g, diagnosis_vin_fn fn, void *userdata);

/* True while a guided test runs. */
bool diagnosis_running(const struct diagnosis *g);
