/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * engine: the one diagnosis pipeline, used by the daemon (live) and `bodydiag analyze`
 * (offline) alike:
 *
 *   timed CAN frame -> DBC decode (the profile's role sources) -> role samples -----.
 *   frame on an ECU's diagnostic ids -> passive ISO-TP reassembly -> UDS response  |
 *        -> DTC status events (0x59) and DID role samples (0x62, via the profile)  |-> timeline -> rules
 *   marks (what the person did), transport events, time passing -------------------'
 *
 * The profile says which chain roles (bodydiag/role.h) the car shows in which DBC
 * signal or DID, and how their values map into the roles' normalised values
 * (bodydiag/rolemap.h): the rules never see a vehicle's own signal names. Every role
 * sample updates the role's statistics and, for the roles of body events (doors, lid,
 * locks, fob, requests), the list of transitions; the samples of roles an active rule
 * reads go to the rules, every one of them, and to the timeline when they say something:
 * the first sample of a role (in a session), every change of its value, and a repeat of an
 * unchanged value once `timeline_keepalive_us` has passed since the role's last stored
 * event (so a lane still shows the signal alive, and one that goes silent leaves a gap).
 * Periodic frames repeat most values many times a second: the timeline holds minutes of
 * a car's bus where it held a minute of samples.
 *
 * Everything is resolved at engine_new(): the profile's role sources bound to the DBC
 * (a signal the DBC lacks is an error at the profile's line), DBC messages to a small
 * decode plan (their role sources only), diagnostic ids to their ECU, so a frame costs
 * one hash lookup plus one decode per role source, and no string is compared per frame. No sockets, no clock: time is the caller's
 * monotonic microseconds (a capture's timestamps offline). Memory is bounded and
 * allocated here: the timeline ring (timeline_capacity events, 20 bytes each), the rules engine's
 * state (see rules.h), two ISO-TP buffers and one request buffer per ECU.
 *
 * Sessions: the first event fed starts a session at its time (rules_reset()), unless
 * engine_reset() started one; engine_reset() starts the next one (the guided test does
 * this after reading the fault memory, so what is already true holds from then on).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"
#include "bodydiag/route.h"
#include "bodydiag/role.h"
#include "bodydiag/rules.h"
#include "bodydiag/timeline.h"

struct dbc;
struct dbc_sample;
struct profile;
struct rolemap;
struct rolemap_source;

/*
 * Events kept when the config says 0: 16,384 (320 KB). With repeats thinned to one per
 * keepalive, the simulated car's bus (~950 samples/s of the roles the rules read, most of
 * them repeats) stores ~25 events/s, so the ring holds ~11 min of it where 65,536 events
 * of every sample held 69 s (bench/README.md); a guided test, whose timeline the daemon
 * records for the report, takes about a minute. Frames of ids the DBC lacks (unknown_id
 * events, ~200/s on a real car's capture) are thinned the same way, per id.
 */
#define ENGINE_DEFAULT_TIMELINE (1u << 14)
/*
 * A role's unchanged value is stored again after this long when the config says 0: 1 s.
 * Body signals are broadcast every 10 ms to 1 s, so this keeps at most one repeat per role
 * and second, whatever the car's frame rates, while a signal that stops arriving leaves
 * a visible hole in a report's lane (drawn over tens of seconds) and in `findings`
 * evidence times; the rules' own windows see every sample and are unaffected.
 */
#define ENGINE_DEFAULT_KEEPALIVE_US 1000000
/* timeline_keepalive_us: store every sample, repeats included (the ring before keepalives) */
#define ENGINE_KEEP_EVERY_SAMPLE (-1)
#define ENGINE_MAX_REQUEST 256u		   /* bytes of a UDS request remembered per ECU */
#define ENGINE_MAX_TRANSITIONS 4096u	   /* body events kept; later ones are counted */

struct engine_config {
	const struct rules_set *rules;	/* required; must outlive the engine */
	const struct dbc *dbc;		/* broadcast frames; NULL: no frame is decoded */
	const struct profile *profile;	/* vehicle (scope), ECUs (ISO-TP ids), DIDs, DTCs; may be NULL */
	size_t timeline_capacity;	/* events kept in the ring; 0 = ENGINE_DEFAULT_TIMELINE */
	/* A repeated (unchanged) value of a role is stored when at least this many µs have
	 * passed since the role's last stored event: 0 = ENGINE_DEFAULT_KEEPALIVE_US;
	 * INT64_MAX = changes only; negative (ENGINE_KEEP_EVERY_SAMPLE) = every sample. The
	 * rules see every sample whatever this says. */
	int64_t timeline_keepalive_us;
	bool unknown_id_events;		/* frames no DBC message has become `transport
					 * unknown_id` events (default true): every one fed to
					 * the rules, stored like a role's repeats (one per id and
					 * keepalive) */
	const struct route_table *routes; /* built from this dbc and profile, shared with the
					 * caller (must outlive the engine); NULL: the engine
					 * builds its own */
};

void engine_config_init(struct engine_config *c);

struct engine;

/*
 * Builds the pipeline. The dbc, profile and rules must outlive the engine. Returns 0
 * and *ret; -EINVAL (no rules, a bad timeline capacity, or a profile role source the DBC
 * or the profile's DIDs do not have: err then names the profile's file, line and
 * column), -ENOMEM, -E2BIG (symbol table full), with err (may be NULL) filled for errors
 * of the binding and the rules compiler.
 */
int engine_new(const struct engine_config *cfg, struct rules_error *err, struct engine **ret);
/* Accepts NULL, returns NULL. */
struct engine *engine_free(struct engine *e);
static inline void engine_freep(struct engine **e)
{
	engine_free(*e);
}

/* ---- input (in time order; older times are taken as the newest time seen) ---- */

/*
 * One captured or received frame. Error frames with the bus-off class become a
 * `transport busoff` event, other error frames `transport error_frame` (at most one per
 * millisecond, so an error storm cannot flush the timeline); frames on a profile ECU's
 * request/response ids go to the ISO-TP observer; frames of DBC messages are decoded;
 * others are `unknown_id`. Returns 0; -EINVAL for NULL or an invalid frame
 * (bd_frame_is_valid()).
 */
int engine_feed_frame(struct engine *e, const struct bd_timed_frame *tf);

/*
 * engine_feed_frame() for a caller that has classified the frame already
 * (route_classify() over the same DBC and profile) and, for a ROUTE_MESSAGE, may have
 * decoded it: with samples (dbc_decode()'s output for this frame) the engine takes the
 * values of the signals its rules read from them and decodes nothing itself; with
 * samples NULL it decodes what it reads. Returns 0; -EINVAL for NULL, an invalid frame
 * or an index out of range.
 */
int engine_feed_classified(struct engine *e, const struct bd_timed_frame *tf, struct route_hit hit,
			   const struct dbc_sample *samples, size_t n_samples);

/* True when the rules read a signal of DBC message msg_index (dbc_message_at()): the
 * frames of other messages need no decoding for this engine. */
bool engine_reads_message(const struct engine *e, size_t msg_index);

/* What the person did ("fob_trunk_pressed"), len bytes. Returns 0; -EINVAL for an
 * invalid name (see timeline_symbols_intern), -E2BIG, -ENOMEM. */
int engine_mark(struct engine *e, int64_t t_us, const char *name, size_t len);

/*
 * A UDS exchange with the profile's ECU ecu_id ("bcm"), as the daemon's own client sees
 * it or as the observer reassembled it: negative responses become `transport nrc`
 * events (0x78 response pending is not final and is ignored), 0x59 DTC lists become DTC
 * status events of that module, 0x62 records become signal events of the DIDs'
 * signals (decoded with the profile). req may be NULL (a capture that begins between
 * request and response): a 0x59 list or a 0x62 whose DID lengths the profile knows is
 * still understood. Returns 0 (also when nothing could be taken from it); -ENOENT for
 * an unknown ECU; -EINVAL.
 * Each exchange must reach the engine once: a live caller that hands its exchanges over
 * here must not also feed the frames on the ECU's ids (the daemon feeds no such frame:
 * its frame router reassembles them once and publishes every exchange, its own and
 * those of another tester on the bus, to this function), or DID samples and NRCs would
 * count double.
 */
int engine_uds(struct engine *e, const char *ecu_id, int64_t t_us, const uint8_t *req,
	       size_t req_len, const uint8_t *resp, size_t resp_len);

/* A DTC status read by other means (module "bcm", NULL = unknown). Returns 0, -EINVAL. */
int engine_dtc(struct engine *e, int64_t t_us, const char *module, uint32_t code, uint8_t status);

/* A transport event from the live side (timeout, bus-off). Returns 0, -EINVAL. */
int engine_transport(struct engine *e, int64_t t_us, enum timeline_transport kind, uint32_t id,
		     uint8_t service, uint8_t nrc);

/* Time passed without input: closes rule windows, completes durations, ends ISO-TP
 * reassemblies that timed out. */
void engine_advance(struct engine *e, int64_t now_us);
/* When engine_advance() next has work without new input; INT64_MAX when none. */
int64_t engine_next_deadline(const struct engine *e);

/* Starts a new diagnosis session at now_us (see rules_reset()). The first sample of each
 * role at or after now_us is stored in the timeline whatever its value, so the session's
 * part of the timeline (timeline_find_time(now_us) on; the daemon records it for the
 * report) begins with every role's value. */
void engine_reset(struct engine *e, int64_t now_us);

/* ---- results: the rules engine's, see rules.h ---- */

/* Ranks the findings at the current time; returns their count or -ENOMEM. */
int engine_evaluate(struct engine *e);
size_t engine_finding_count(const struct engine *e);
const struct rules_finding *engine_finding_at(const struct engine *e, size_t i);
enum rules_verdict engine_verdict(const struct engine *e);
/* rules_next_question(): 0, -EAGAIN (a window is open), -ENOENT (nothing would help). */
int engine_next_question(struct engine *e, struct rules_question *ret);
/* One evidence line (rules_evidence_format()). */
int engine_evidence_format(const struct engine *e, const struct rules_evidence *ev, char *buf,
			   size_t size);

struct engine_stats {
	uint64_t frames;	  /* fed */
	uint64_t decoded;	  /* frames of a DBC message (not error, remote or diagnostic) */
	uint64_t role_frames;	  /* frames that carried at least one role source */
	uint64_t unmapped;	  /* role source values the profile's map does not name */
	uint64_t unknown_ids;	  /* frames of no DBC message and no ECU */
	uint64_t diag_frames;	  /* frames on an ECU's ISO-TP ids */
	uint64_t pdus;		  /* UDS responses taken (observed or given) */
	uint64_t isotp_errors;	  /* reassemblies that failed */
	uint64_t signal_events;	  /* role samples fed to the rules (DBC and DID; roles a rule reads) */
	uint64_t signal_stored;	  /* of them, stored in the timeline: firsts, changes, keepalives */
	uint64_t dtc_events;	  /* DTC status changes fed to the rules and stored */
	uint64_t marks;		  /* fed and stored */
	uint64_t transport_events; /* fed; stored but for unknown_id repeats (unknown_id_events) */
	uint64_t clamped;	  /* events whose time was older than the newest fed: raised to it */
	int64_t first_us, last_us; /* INT64_MIN before any input */
};
void engine_stats(const struct engine *e, struct engine_stats *ret);

/*
 * The profile DIDs that carry a role an active rule reads, in profile order, without
 * repeats: what the guided test should read (0x22) after each action. i-th of them, or
 * NULL out of range.
 */
size_t engine_did_count(const struct engine *e);
const struct profile_did *engine_did_at(const struct engine *e, size_t i);

/* ---- what the vehicle showed ---- */

/* A role's samples so far (every source of it, DBC and DID). */
struct engine_role_stats {
	uint64_t samples;
	int64_t first_us, last_us;
	double min, max, last; /* normalised values; meaningful when samples > 0 */
	unsigned provides;     /* ROLEMAP_BROADCAST / ROLEMAP_DID bits: how the car shows it */
};
/* Statistics of registry role `role`: 0, or -EINVAL out of range. */
int engine_role_stats(const struct engine *e, unsigned role, struct engine_role_stats *ret);

/* A change of a body-event role (role->body_event: doors, lid, locks, fob, requests). */
struct engine_transition {
	int64_t t_us;
	unsigned role;	/* registry index */
	double from;	/* NAN: the first sample, the state when the capture began */
	double to;
	const struct rolemap_source *source; /* the signal or DID it came from */
};
/* In time order; ENGINE_MAX_TRANSITIONS at most (engine_transitions_dropped() counts the
 * rest). */
size_t engine_transition_count(const struct engine *e);
const struct engine_transition *engine_transition_at(const struct engine *e, size_t i);
uint64_t engine_transitions_dropped(const struct engine *e);

/* How a vehicle can show a link of the chain. */
enum engine_observability {
	ENGINE_OBS_NONE,       /* the profile maps none of its roles: the car does not show it */
	ENGINE_OBS_DIAGNOSTIC, /* only in DIDs: seen only through the diagnostic connection */
	ENGINE_OBS_BROADCAST,  /* some role is in a broadcast signal: seen by listening */
	ENGINE_OBS_MAX,
};

#define ENGINE_LINK_MAX_ROLES 16u

/* One link of the release chain, for the CLI, the daemon's API and reports. */
struct engine_link {
	enum role_link link;
	const char *name;  /* "fob", "receiver", ... */
	const char *title; /* the rule file's, or the name */
	/* WORKING / FAILING as the rules judged it; NOT_OBSERVABLE when the car does not
	 * show it or nothing of it arrived; NOT_EXERCISED otherwise */
	enum rules_link_state state;
	enum engine_observability observability;
	bool seen; /* a sample of one of its roles arrived */
	unsigned roles[ENGINE_LINK_MAX_ROLES]; /* its roles this vehicle maps (registry) */
	size_t n_roles;
	const struct rules_link *judged; /* evidence and what is missing */
};

struct engine_chain {
	struct engine_link links[RULES_CHAIN_LINKS]; /* fob, receiver, ... ajar */
};

/* The chain as the last engine_evaluate() (or engine_next_question()) left it. */
void engine_chain(const struct engine *e, struct engine_chain *ret);
/* "not shown by this vehicle", "diagnostic connection only", "broadcast" */
const char *engine_observability_name(enum engine_observability o);

/* The profile it was made with (its DTC texts, for reports); NULL without one. */
const struct profile *engine_profile(const struct engine *e);

/* The profile's role sources bound to the DBC; NULL without a profile. */
const struct rolemap *engine_rolemap(const struct engine *e);

/* The parts, for reports and for the daemon's own reads (which DIDs to ask for). */
struct rules_engine *engine_rules(const struct engine *e);
const struct timeline *engine_timeline(const struct engine *e);
const struct timeline_symbols *engine_symbols(const struct engine *e);
