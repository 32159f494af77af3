/* SPDX-License-Identifier: MIT */
/*
 * engine: frames, UDS exchanges and marks in; timeline events into the rules engine;
 * findings out. See engine.h for the pipeline.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "bodydiag/engine.h"
#include "bodydiag/isotp.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/route.h"
#include "bodydiag/uds.h"

/* An error-frame storm would fill the timeline: at most one event per this many µs. */
#define ERROR_FRAME_GAP_US 1000

/* A role source in a DBC message. */
struct plan_sig {
	const struct rolemap_source *src;
	const struct dbc_signal *sig;
	const struct dbc_signal *mux; /* its multiplexer, NULL when always present */
};

/* The read signals of one DBC message (by dbc_message_at() index). */
struct plan {
	uint32_t first, count; /* plan_sig range */
	unsigned len;	       /* the message length */
};

/*
 * The last stored `unknown_id` event of an id, in a small table indexed by a hash of the
 * id: a periodic frame of an id the DBC lacks repeats like an unchanged value (~200 a
 * second on a real car's bus), so it is stored like one. Two ids in one slot are both
 * stored every time: a collision costs ring space, never an event a reader needs.
 */
#define UNKNOWN_SLOTS 128u

struct unknown_slot {
	uint32_t id;
	bool used;
	int64_t stored_us;
};

/* What the engine knows of each role. */
struct role_state {
	uint32_t sym;  /* TIMELINE_SYMBOL_SIGNAL of the role's name */
	bool read;     /* an active rule reads it: its samples go to the rules and timeline */
	bool stored;   /* a sample of it is in the timeline */
	double stored_value; /* the last one stored, and when */
	int64_t stored_us;
	struct engine_role_stats st;
};

struct ecu {
	struct engine *e;
	const struct profile_ecu *pe;
	uint32_t module; /* TIMELINE_SYMBOL_MODULE */
	struct isotp_observer *obs;
	uint8_t req[ENGINE_MAX_REQUEST];
	size_t req_len; /* 0: no request seen */
};

struct engine {
	const struct dbc *db;
	const struct profile *profile;
	struct timeline_symbols *syms;
	struct timeline *tl;
	struct rules_engine *rules;
	bool unknown_id_events;
	bool session;
	int64_t keepalive_us; /* < 0: every sample stored */
	/* The newest time fed to the rules: an older event is raised to it. The timeline
	 * clamps what it stores, but repeats that were fed and not stored must count too, or
	 * the rules would see time go backwards. INT64_MIN before any. */
	int64_t newest_us;
	/* engine_reset()'s time: a role's first sample at or after it is stored whatever
	 * its value. INT64_MIN before any reset. */
	int64_t session_us;

	const struct route_table *routes; /* cfg->routes, or own_routes */
	struct route_table *own_routes;
	struct plan *plans; /* one per DBC message */
	struct plan_sig *psigs;
	size_t n_psigs;

	struct ecu *ecus;
	size_t n_ecus;
	struct rolemap *roles;		 /* the profile's role sources, bound */
	struct role_state *rs;		 /* per registry role */
	uint8_t *provided;		 /* per registry role: the vehicle shows it */
	const struct profile_did **dids; /* DIDs with a role a rule reads, without repeats */
	size_t n_dids;
	struct engine_transition *tr; /* body events, ENGINE_MAX_TRANSITIONS */
	size_t n_tr;
	uint64_t tr_dropped;

	int64_t last_error_frame_us;
	struct unknown_slot unknown[UNKNOWN_SLOTS];
	struct engine_stats st;
};

void engine_config_init(struct engine_config *c)
{
	memset(c, 0, sizeof(*c));
	c->unknown_id_events = true;
}

static int build_routes(struct engine *e, const struct route_table *shared)
{
	size_t n_msgs = e->db ? dbc_message_count(e->db) : 0, n_sigs = 0;
	int r;

	if (shared) {
		e->routes = shared;
	} else {
		r = route_table_new(e->db, e->profile, &e->own_routes);
		if (r < 0)
			return r;
		e->routes = e->own_routes;
	}
	n_sigs = rolemap_source_count(e->roles);
	e->psigs = calloc(n_sigs ? n_sigs : 1, sizeof(*e->psigs));
	e->plans = calloc(n_msgs ? n_msgs : 1, sizeof(*e->plans));
	if (!e->psigs || !e->plans)
		return -ENOMEM;
	for (size_t i = 0; i < n_msgs; i++) {
		const struct dbc_message *m = dbc_message_at(e->db, i);
		struct plan *pl = &e->plans[i];
		pl->first = (uint32_t)e->n_psigs;
		pl->count = 0;
		pl->len = dbc_message_length(m);
		/* every role source of the message: the rules read some, the body events and
		 * the observability report want all */
		for (size_t k = 0; k < n_sigs; k++) {
			const struct rolemap_source *src = rolemap_source_at(e->roles, k);
			if (src->msg != m)
				continue;
			e->psigs[e->n_psigs++] = (struct plan_sig){
			    .src = src, .sig = src->sig, .mux = dbc_signal_multiplexer(src->sig)};
			pl->count++;
		}
	}
	return 0;
}

/* ---- events ---- */

static void start_session(struct engine *e, int64_t t_us)
{
	if (!e->session) {
		e->session = true;
		rules_reset(e->rules, t_us);
	}
}

static void touch(struct engine *e, int64_t t_us)
{
	if (e->st.first_us == INT64_MIN)
		e->st.first_us = t_us;
	if (t_us > e->st.last_us)
		e->st.last_us = t_us;
	start_session(e, t_us);
}

/* The time an event at t_us is fed at: never older than the newest fed. */
static int64_t feed_time(const struct engine *e, int64_t t_us)
{
	return t_us < e->newest_us ? e->newest_us : t_us;
}

/*
 * Feeds ev to the rules, and to the timeline when store: 1 when stored and fed, 2 when
 * fed only (the rules get seq 0: not in the timeline), 0 when the timeline dropped a
 * repeated DTC status (not fed either), -errno. Either way the rules see the time
 * timeline_push() would have given it.
 */
static int push(struct engine *e, const struct timeline_event *ev, bool store)
{
	struct timeline_event fed = *ev;
	int r = 1;

	fed.t_us = feed_time(e, ev->t_us);
	if (store) {
		r = timeline_push(e->tl, &fed, &fed);
		if (r <= 0)
			return r;
	} else {
		fed.seq = 0;
		r = 2;
	}
	if (fed.t_us != ev->t_us)
		e->st.clamped++;
	e->newest_us = fed.t_us;
	int f = rules_feed(e->rules, &fed);
	return f < 0 ? f : r;
}

/* Whether the keepalive has passed from stored_us to t_us (fed times: t_us >= stored_us,
 * so the difference cannot overflow). */
static bool keepalive_passed(const struct engine *e, int64_t stored_us, int64_t t_us)
{
	return (uint64_t)t_us - (uint64_t)stored_us >= (uint64_t)e->keepalive_us;
}

/* Whether role sample v at t_us (fed time) goes into the timeline: the first, the first
 * at or after the session's start, a change, or a repeat once the keepalive has passed. */
static bool worth_storing(const struct engine *e, const struct role_state *r, int64_t t_us,
			  double v)
{
	if (e->keepalive_us < 0 || !r->stored || r->stored_value != v)
		return true;
	if (r->stored_us < e->session_us && t_us >= e->session_us)
		return true;
	return keepalive_passed(e, r->stored_us, t_us);
}

static void transition(struct engine *e, int64_t t_us, const struct rolemap_source *src,
		       double from, double to)
{
	if (e->n_tr == ENGINE_MAX_TRANSITIONS) {
		e->tr_dropped++;
		return;
	}
	e->tr[e->n_tr++] = (struct engine_transition){
	    .t_us = t_us, .role = src->role, .from = from, .to = to, .source = src};
}

/* One value of a role source: statistics, body events, and the timeline and rules when a
 * rule reads the role. */
static void push_role(struct engine *e, int64_t t_us, const struct rolemap_source *src,
		      double raw, double phys)
{
	struct role_state *r = &e->rs[src->role];
	double v;
	/* a non-finite float signal is no sample */
	if (rolemap_convert(src, raw, phys, &v) < 0 || v != v || v - v != 0) {
		e->st.unmapped++;
		return;
	}
	if (role_at(src->role)->body_event && (!r->st.samples || r->st.last != v))
		transition(e, t_us, src, r->st.samples ? r->st.last : NAN, v);
	if (!r->st.samples) {
		r->st.first_us = t_us;
		r->st.min = r->st.max = v;
	}
	if (v < r->st.min)
		r->st.min = v;
	if (v > r->st.max)
		r->st.max = v;
	r->st.samples++;
	r->st.last = v;
	r->st.last_us = t_us;
	if (!r->read)
		return;
	struct timeline_event ev = timeline_event_signal(t_us, r->sym, v);
	int64_t fed_us = feed_time(e, t_us);
	int p = push(e, &ev, worth_storing(e, r, fed_us, v));
	if (p < 0)
		return;
	e->st.signal_events++;
	if (p == 1) {
		e->st.signal_stored++;
		r->stored = true;
		r->stored_value = v;
		r->stored_us = fed_us;
	}
}

static void push_transport(struct engine *e, int64_t t_us, enum timeline_transport kind,
			   uint32_t id, uint8_t service, uint8_t nrc)
{
	struct timeline_event ev = timeline_event_transport(t_us, kind, id, service, nrc);
	if (push(e, &ev, true) >= 0)
		e->st.transport_events++;
}

/* A frame of an id no DBC message has: fed to the rules (they may count them), stored
 * when its id has no stored event within the keepalive. */
static void push_unknown(struct engine *e, int64_t t_us, uint32_t id)
{
	struct unknown_slot *s = &e->unknown[(id * 2654435761u) % UNKNOWN_SLOTS];
	int64_t fed_us = feed_time(e, t_us);
	bool store = e->keepalive_us < 0 || !s->used || s->id != id ||
		     keepalive_passed(e, s->stored_us, fed_us);
	struct timeline_event ev =
	    timeline_event_transport(t_us, TIMELINE_TRANSPORT_UNKNOWN_ID, id, 0, 0);
	int p = push(e, &ev, store);
	if (p < 0)
		return;
	e->st.transport_events++;
	if (p == 1)
		*s = (struct unknown_slot){.id = id, .used = true, .stored_us = fed_us};
}

static void push_dtc(struct engine *e, int64_t t_us, uint32_t module, uint32_t code,
		     uint8_t status)
{
	struct timeline_event ev = timeline_event_dtc(t_us, module, code & 0xffffffu, status);
	if (push(e, &ev, true) > 0)
		e->st.dtc_events++;
}

/* ---- UDS responses ---- */

struct did_ctx {
	struct engine *e;
	int64_t t_us;
};

static int on_did_value(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
			struct dbc_value value, const char *label, const char *text)
{
	struct did_ctx *c = userdata;
	struct engine *e = c->e;
	if (!s)
		return 0;
	for (size_t i = 0; i < rolemap_source_count(e->roles); i++) {
		const struct rolemap_source *src = rolemap_source_at(e->roles, i);
		if (src->sig != s)
			continue;
		/* DID signals carry no offset of their own often; the raw value is what maps
		 * use: recover it from the physical one */
		double phys = dbc_value_as_double(value);
		double f = dbc_signal_factor(s), raw = f != 0 ? (phys - dbc_signal_offset(s)) / f : phys;
		push_role(e, c->t_us, src, raw, phys);
	}
	return 0;
}

struct len_ctx {
	const struct profile *p;
	const char *ecu;
};

static int did_len(void *userdata, uint16_t did)
{
	const struct len_ctx *c = userdata;
	const struct profile_did *d = profile_did_find(c->p, c->ecu, did);
	return d ? profile_did_length(d) : -1;
}

/* A 0x22 request rebuilt from the response's DIDs, for a capture that missed the
 * request: walk the records with the lengths the profile knows. */
static size_t rebuild_read_did(const struct len_ctx *c, const uint8_t *resp, size_t len,
			       uint8_t *req, size_t cap)
{
	size_t n = 1, pos = 1;
	req[0] = UDS_SID_READ_DATA_BY_IDENTIFIER;
	while (pos + 2 <= len && n + 2 <= cap) {
		uint16_t did = (uint16_t)(resp[pos] << 8 | resp[pos + 1]);
		int l = did_len((void *)c, did);
		req[n++] = resp[pos];
		req[n++] = resp[pos + 1];
		if (l < 0)
			break;
		pos += 2 + (size_t)l;
	}
	return n;
}

static void uds_read_did(struct engine *e, struct ecu *u, int64_t t_us, const uint8_t *req,
			 size_t req_len, const uint8_t *resp, size_t resp_len)
{
	struct len_ctx lc = {.p = e->profile, .ecu = u->pe->id};
	uint8_t rebuilt[ENGINE_MAX_REQUEST];
	struct uds_did_value vals[32];
	struct uds_response r;
	size_t n = 0;

	if (!req || req_len < 3 || req[0] != UDS_SID_READ_DATA_BY_IDENTIFIER) {
		req_len = rebuild_read_did(&lc, resp, resp_len, rebuilt, sizeof(rebuilt));
		req = rebuilt;
	}
	if (uds_parse_read_did(req, req_len, resp, resp_len, did_len, &lc, vals, 32, &n, &r) < 0)
		return;
	if (r.result != UDS_RESULT_OK)
		return;
	struct did_ctx dc = {.e = e, .t_us = t_us};
	for (size_t i = 0; i < n; i++) {
		const struct profile_did *d = profile_did_find(e->profile, u->pe->id, vals[i].did);
		if (d)
			/* a record of the wrong length is reported by profile_did_decode
			 * (-EBADMSG) and taken as no sample */
			(void)profile_did_decode(d, vals[i].data, vals[i].len, on_did_value, &dc);
	}
}

static void uds_read_dtc(struct engine *e, struct ecu *u, int64_t t_us, const uint8_t *req,
			 size_t req_len, const uint8_t *resp, size_t resp_len)
{
	uint8_t rebuilt[3];
	struct uds_rdtci_response r;

	if (resp_len < 2)
		return;
	if (!req || req_len < 2 || req[0] != UDS_SID_READ_DTC_INFORMATION || req[1] != resp[1]) {
		/* the list sub-functions carry everything needed in the response itself */
		rebuilt[0] = UDS_SID_READ_DTC_INFORMATION;
		rebuilt[1] = resp[1];
		rebuilt[2] = resp_len > 2 ? resp[2] : 0;
		req = rebuilt;
		req_len = (resp[1] == UDS_RDTCI_DTC_BY_STATUS_MASK ||
			   resp[1] == UDS_RDTCI_MIRROR_BY_STATUS_MASK ||
			   resp[1] == UDS_RDTCI_EMISSIONS_BY_STATUS_MASK)
			      ? 3
			      : 2;
	}
	if (uds_parse_rdtci(req, req_len, resp, resp_len, &r) < 0)
		return;
	if (r.r.result != UDS_RESULT_OK || r.shape != UDS_RDTCI_SHAPE_DTC_LIST)
		return;
	/* the module's fault memory was read: a DTC it does not list is not set */
	struct timeline_event rd = timeline_event_dtc_read(t_us, u->module);
	(void)push(e, &rd, true);
	for (size_t i = 0; i < r.n_dtcs; i++) {
		struct uds_dtc_record rec;
		if (uds_rdtci_dtc(&r, i, &rec) < 0)
			break;
		push_dtc(e, t_us, u->module, rec.dtc, rec.status);
	}
}

static void uds_response(struct engine *e, struct ecu *u, int64_t t_us, const uint8_t *req,
			 size_t req_len, const uint8_t *resp, size_t resp_len)
{
	if (resp_len == 0)
		return;
	e->st.pdus++;
	if (resp[0] == UDS_SID_NEGATIVE_RESPONSE) {
		/* 0x78 announces the final answer; it is not an outcome */
		if (resp_len >= 3 && resp[2] != UDS_NRC_RESPONSE_PENDING)
			push_transport(e, t_us, TIMELINE_TRANSPORT_NRC, 0, resp[1], resp[2]);
		return;
	}
	if (resp[0] == UDS_SID_READ_DTC_INFORMATION + UDS_POSITIVE_OFFSET)
		uds_read_dtc(e, u, t_us, req, req_len, resp, resp_len);
	else if (resp[0] == UDS_SID_READ_DATA_BY_IDENTIFIER + UDS_POSITIVE_OFFSET && e->profile)
		uds_read_did(e, u, t_us, req, req_len, resp, resp_len);
}

static void on_pdu(void *userdata, enum isotp_dir dir, const uint8_t *pdu, size_t len,
		   int64_t t_first_us, int64_t t_last_us)
{
	struct ecu *u = userdata;
	if (dir == ISOTP_DIR_REQUEST) {
		/* a request too long to keep is not one whose answer we decode */
		u->req_len = len <= sizeof(u->req) ? len : 0;
		if (u->req_len)
			memcpy(u->req, pdu, len);
		return;
	}
	uds_response(u->e, u, t_last_us, u->req_len ? u->req : NULL, u->req_len, pdu, len);
	/* 0x78 keeps the request open for the final answer */
	if (!(len >= 3 && pdu[0] == UDS_SID_NEGATIVE_RESPONSE && pdu[2] == UDS_NRC_RESPONSE_PENDING))
		u->req_len = 0;
}

static void on_isotp_error(void *userdata, enum isotp_dir dir, enum isotp_n_result r,
			   const uint8_t *partial, size_t got, size_t len, int64_t t_us)
{
	struct ecu *u = userdata;
	u->e->st.isotp_errors++;
}

/* ---- construction ---- */

static int build_ecus(struct engine *e)
{
	size_t n = e->profile ? profile_ecu_count(e->profile) : 0;
	if (!n)
		return 0;
	e->ecus = calloc(n, sizeof(*e->ecus));
	if (!e->ecus)
		return -ENOMEM;
	static const struct isotp_observer_ops ops = {.pdu = on_pdu, .error = on_isotp_error};
	for (size_t i = 0; i < n; i++) {
		struct ecu *u = &e->ecus[e->n_ecus];
		const struct profile_ecu *pe = profile_ecu_at(e->profile, i);
		struct isotp_observer_config oc;
		int r;
		u->e = e;
		u->pe = pe;
		r = timeline_symbols_intern(e->syms, TIMELINE_SYMBOL_MODULE, pe->id, strlen(pe->id),
					    &u->module);
		if (r < 0)
			return r;
		isotp_addr_observer_config(&pe->addr, &oc);
		r = isotp_observer_new(&oc, &ops, u, &u->obs);
		if (r < 0)
			return r;
		e->n_ecus++;
	}
	return 0;
}

/* The DIDs whose signals carry a role a rule reads: what the guided test reads. */
static int build_dids(struct engine *e)
{
	size_t nd = e->profile ? profile_did_count(e->profile) : 0;
	e->dids = calloc(nd ? nd : 1, sizeof(*e->dids));
	if (!e->dids)
		return -ENOMEM;
	for (size_t i = 0; i < nd; i++) {
		const struct profile_did *d = profile_did_at(e->profile, i);
		for (size_t k = 0; k < rolemap_source_count(e->roles); k++) {
			const struct rolemap_source *src = rolemap_source_at(e->roles, k);
			if (src->did == d && e->rs[src->role].read) {
				e->dids[e->n_dids++] = d;
				break;
			}
		}
	}
	return 0;
}

/* The profile's role sources, bound to the DBC; a mistake is the profile's, at its line. */
static int build_roles(struct engine *e, struct rules_error *err)
{
	size_t n = role_count();
	e->rs = calloc(n, sizeof(*e->rs));
	e->provided = calloc(n, sizeof(*e->provided));
	e->tr = calloc(ENGINE_MAX_TRANSITIONS, sizeof(*e->tr));
	if (!e->rs || !e->provided || !e->tr)
		return -ENOMEM;
	if (e->profile) {
		struct profile_error perr = {0};
		int r = rolemap_new(e->profile, e->db, &perr, &e->roles);
		if (r < 0) {
			if (err && r == -EINVAL) {
				*err = (struct rules_error){.line = perr.line, .column = perr.column};
				snprintf(err->file, sizeof(err->file), "%s", perr.file);
				snprintf(err->message, sizeof(err->message), "%.191s", perr.message);
			}
			return r;
		}
	}
	for (size_t i = 0; i < n; i++)
		e->provided[i] = rolemap_provides(e->roles, (unsigned)i) != 0;
	return 0;
}

/* After the rules engine: which roles it reads, and their symbols. */
static int link_roles(struct engine *e)
{
	for (size_t i = 0; i < role_count(); i++) {
		const char *name = role_at(i)->name;
		struct role_state *r = &e->rs[i];
		int ret = timeline_symbols_intern(e->syms, TIMELINE_SYMBOL_SIGNAL, name, strlen(name),
						  &r->sym);
		if (ret < 0)
			return ret;
		r->read = rules_engine_reads_signal(e->rules, r->sym);
	}
	return 0;
}

int engine_new(const struct engine_config *cfg, struct rules_error *err, struct engine **ret)
{
	size_t cap;
	int r;

	if (!cfg || !cfg->rules || !ret)
		return -EINVAL;
	cap = cfg->timeline_capacity ? cfg->timeline_capacity : ENGINE_DEFAULT_TIMELINE;
	if (cap > TIMELINE_MAX_CAPACITY)
		return -EINVAL;

	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->db = cfg->dbc;
	e->profile = cfg->profile;
	e->unknown_id_events = cfg->unknown_id_events;
	e->keepalive_us = cfg->timeline_keepalive_us ? cfg->timeline_keepalive_us
						     : ENGINE_DEFAULT_KEEPALIVE_US;
	e->newest_us = INT64_MIN;
	e->session_us = INT64_MIN;
	e->st.first_us = e->st.last_us = INT64_MIN;
	e->last_error_frame_us = INT64_MIN;
	e->syms = timeline_symbols_new();
	e->tl = timeline_new(cap);
	if (!e->syms || !e->tl) {
		r = -ENOMEM;
		goto fail;
	}

	r = build_roles(e, err);
	if (r < 0)
		goto fail;
	/* the vehicle decides which rules apply (scope make/platform/module) and which roles
	 * can be seen at all */
	const char *mods[64];
	struct rules_vehicle v = {.roles = e->provided};
	if (e->profile) {
		v.make = profile_make(e->profile);
		v.platform = profile_platform(e->profile);
		for (size_t i = 0; i < profile_ecu_count(e->profile) && v.n_modules < 64; i++)
			mods[v.n_modules++] = profile_ecu_at(e->profile, i)->id;
		v.modules = mods;
	}
	r = rules_engine_new(cfg->rules, e->syms, &v, err, &e->rules);
	if (r < 0)
		goto fail;
	r = link_roles(e);
	if (r >= 0)
		r = build_ecus(e);
	if (r >= 0)
		r = build_routes(e, cfg->routes);
	if (r >= 0)
		r = build_dids(e);
	if (r < 0)
		goto fail;
	*ret = e;
	return 0;
fail:
	engine_free(e);
	return r;
}

struct engine *engine_free(struct engine *e)
{
	if (!e)
		return NULL;
	for (size_t i = 0; i < e->n_ecus; i++)
		isotp_observer_free(e->ecus[i].obs);
	free(e->ecus);
	free(e->dids);
	route_table_free(e->own_routes);
	free(e->plans);
	free(e->rs);
	free(e->provided);
	free(e->tr);
	rolemap_free(e->roles);
	free(e->psigs);
	rules_engine_free(e->rules);
	timeline_free(e->tl);
	timeline_symbols_free(e->syms);
	free(e);
	return NULL;
}

/* ---- input ---- */

static void decode_message(struct engine *e, const struct plan *pl, const struct bd_timed_frame *tf)
{
	size_t len = tf->frame.len < pl->len ? tf->frame.len : pl->len;
	const struct plan_sig *ps = &e->psigs[pl->first];
	bool any = false;

	for (uint32_t i = 0; i < pl->count; i++) {
		struct dbc_value v;
		double raw;
		if (ps[i].mux) {
			double mraw;
			if (dbc_signal_decode_raw(ps[i].mux, tf->frame.data, len, &mraw) < 0 ||
			    !dbc_signal_selected_by(ps[i].sig, (int64_t)mraw))
				continue;
		}
		/* a signal past the frame's end is not in this frame: no sample */
		if (dbc_signal_decode(ps[i].sig, tf->frame.data, len, &v) < 0 ||
		    dbc_signal_decode_raw(ps[i].sig, tf->frame.data, len, &raw) < 0)
			continue;
		any = true;
		push_role(e, tf->t_us, ps[i].src, raw, dbc_value_as_double(v));
	}
	if (any)
		e->st.role_frames++;
}

/* The read signals among samples a caller decoded (dbc_decode: only the signals present,
 * multiplexing already resolved). */
static void take_samples(struct engine *e, const struct plan *pl, const struct bd_timed_frame *tf,
			 const struct dbc_sample *samples, size_t n)
{
	const struct plan_sig *ps = &e->psigs[pl->first];
	bool any = false;

	for (uint32_t i = 0; i < pl->count; i++)
		for (size_t k = 0; k < n; k++) {
			if (samples[k].signal != ps[i].sig)
				continue;
			/* Value maps read the raw value; the caller decoded the physical one and the
			 * frame is not decoded twice: raw values are integers, so undoing the
			 * scaling and rounding gives them back exactly. */
			double phys = dbc_value_as_double(samples[k].value);
			double f = dbc_signal_factor(ps[i].sig), o = dbc_signal_offset(ps[i].sig);
			double raw = f != 0 ? nearbyint((phys - o) / f) : phys;
			any = true;
			push_role(e, tf->t_us, ps[i].src, raw, phys);
			break;
		}
	if (any)
		e->st.role_frames++;
}

static void error_frame(struct engine *e, const struct bd_timed_frame *tf)
{
	if (tf->frame.id & ROUTE_CAN_ERR_BUSOFF) {
		push_transport(e, tf->t_us, TIMELINE_TRANSPORT_BUS_OFF, 0, 0, 0);
		return;
	}
	if (e->last_error_frame_us != INT64_MIN && tf->t_us - e->last_error_frame_us < ERROR_FRAME_GAP_US)
		return;
	e->last_error_frame_us = tf->t_us;
	push_transport(e, tf->t_us, TIMELINE_TRANSPORT_ERROR_FRAME, tf->frame.id, 0, 0);
}

int engine_feed_classified(struct engine *e, const struct bd_timed_frame *tf, struct route_hit hit,
			   const struct dbc_sample *samples, size_t n_samples)
{
	if (!e || !tf || !bd_frame_is_valid(&tf->frame) || (unsigned)hit.kind >= ROUTE_KIND_MAX ||
	    (hit.kind == ROUTE_MESSAGE && hit.index >= route_table_message_count(e->routes)) ||
	    ((hit.kind == ROUTE_DIAG_REQUEST || hit.kind == ROUTE_DIAG_RESPONSE) &&
	     hit.index >= e->n_ecus))
		return -EINVAL;
	touch(e, tf->t_us);
	e->st.frames++;
	switch (hit.kind) {
	case ROUTE_ERROR:
		error_frame(e, tf);
		break;
	case ROUTE_UNKNOWN:
		e->st.unknown_ids++;
		if (e->unknown_id_events && e->db)
			push_unknown(e, tf->t_us, tf->frame.id);
		break;
	case ROUTE_FUNCTIONAL:
		e->st.diag_frames++;
		break;
	case ROUTE_DIAG_REQUEST:
	case ROUTE_DIAG_RESPONSE:
		e->st.diag_frames++;
		isotp_observer_feed(e->ecus[hit.index].obs, &tf->frame, tf->t_us);
		break;
	case ROUTE_MESSAGE: {
		const struct plan *pl = &e->plans[hit.index];
		e->st.decoded++;
		if (!pl->count)
			break;
		if (samples)
			take_samples(e, pl, tf, samples, n_samples);
		else
			decode_message(e, pl, tf);
		break;
	}
	case ROUTE_REMOTE:
	case ROUTE_KIND_MAX:
		break;
	}
	return 0;
}

int engine_feed_frame(struct engine *e, const struct bd_timed_frame *tf)
{
	if (!e || !tf)
		return -EINVAL;
	return engine_feed_classified(e, tf, route_classify(e->routes, &tf->frame), NULL, 0);
}

bool engine_reads_message(const struct engine *e, size_t msg_index)
{
	return msg_index < route_table_message_count(e->routes) && e->plans[msg_index].count > 0;
}

int engine_mark(struct engine *e, int64_t t_us, const char *name, size_t len)
{
	uint32_t idx;
	if (!e || !name)
		return -EINVAL;
	int r = timeline_symbols_intern(e->syms, TIMELINE_SYMBOL_MARK, name, len, &idx);
	if (r < 0)
		return r;
	touch(e, t_us);
	struct timeline_event ev = timeline_event_mark(t_us, idx);
	r = push(e, &ev, true);
	if (r < 0)
		return r;
	e->st.marks++;
	return 0;
}

static struct ecu *find_ecu(struct engine *e, const char *id)
{
	for (size_t i = 0; id && i < e->n_ecus; i++)
		if (strcmp(e->ecus[i].pe->id, id) == 0)
			return &e->ecus[i];
	return NULL;
}

int engine_uds(struct engine *e, const char *ecu_id, int64_t t_us, const uint8_t *req,
	       size_t req_len, const uint8_t *resp, size_t resp_len)
{
	if (!e || !ecu_id || (!resp && resp_len))
		return -EINVAL;
	struct ecu *u = find_ecu(e, ecu_id);
	if (!u)
		return -ENOENT;
	touch(e, t_us);
	uds_response(e, u, t_us, req, req ? req_len : 0, resp, resp_len);
	return 0;
}

int engine_dtc(struct engine *e, int64_t t_us, const char *module, uint32_t code, uint8_t status)
{
	uint32_t m = TIMELINE_MODULE_NONE;
	if (!e || code > 0xffffffu)
		return -EINVAL;
	if (module) {
		int r = timeline_symbols_intern(e->syms, TIMELINE_SYMBOL_MODULE, module,
						strlen(module), &m);
		if (r < 0)
			return r;
	}
	touch(e, t_us);
	push_dtc(e, t_us, m, code, status);
	return 0;
}

int engine_transport(struct engine *e, int64_t t_us, enum timeline_transport kind, uint32_t id,
		     uint8_t service, uint8_t nrc)
{
	if (!e || (unsigned)kind >= TIMELINE_TRANSPORT_MAX)
		return -EINVAL;
	touch(e, t_us);
	push_transport(e, t_us, kind, id, service, nrc);
	return 0;
}

void engine_advance(struct engine *e, int64_t now_us)
{
	if (!e || now_us == INT64_MAX)
		return;
	for (size_t i = 0; i < e->n_ecus; i++)
		isotp_observer_poll(e->ecus[i].obs, now_us);
	if (e->session)
		rules_advance(e->rules, now_us);
	if (now_us > e->st.last_us && e->st.last_us != INT64_MIN)
		e->st.last_us = now_us;
}

int64_t engine_next_deadline(const struct engine *e)
{
	int64_t d = rules_next_deadline(e->rules);
	for (size_t i = 0; i < e->n_ecus; i++) {
		int64_t o = isotp_observer_next_deadline(e->ecus[i].obs);
		if (o < d)
			d = o;
	}
	return d;
}

void engine_reset(struct engine *e, int64_t now_us)
{
	e->session = true;
	rules_reset(e->rules, now_us);
	/* a frame stamped before now_us may still be on its way (the daemon's router feeds
	 * what the socket holds after the API call that reset): the session's part of the
	 * timeline begins with each role's first sample at or after now_us, not at the
	 * first sample after this call */
	e->session_us = now_us;
	memset(e->unknown, 0, sizeof(e->unknown));
}

/* ---- results ---- */

int engine_evaluate(struct engine *e)
{
	return rules_evaluate(e->rules);
}

size_t engine_finding_count(const struct engine *e)
{
	return rules_finding_count(e->rules);
}

const struct rules_finding *engine_finding_at(const struct engine *e, size_t i)
{
	return rules_finding_at(e->rules, i);
}

enum rules_verdict engine_verdict(const struct engine *e)
{
	return rules_verdict(e->rules);
}

int engine_next_question(struct engine *e, struct rules_question *ret)
{
	return rules_next_question(e->rules, ret);
}

int engine_evidence_format(const struct engine *e, const struct rules_evidence *ev, char *buf,
			   size_t size)
{
	return rules_evidence_format(e->rules, ev, buf, size);
}

void engine_stats(const struct engine *e, struct engine_stats *ret)
{
	*ret = e->st;
}

size_t engine_did_count(const struct engine *e)
{
	return e->n_dids;
}

const struct profile_did *engine_did_at(const struct engine *e, size_t i)
{
	return i < e->n_dids ? e->dids[i] : NULL;
}

struct rules_engine *engine_rules(const struct engine *e)
{
	return e->rules;
}

const struct timeline *engine_timeline(const struct engine *e)
{
	return e->tl;
}

const struct timeline_symbols *engine_symbols(const struct engine *e)
{
	return e->syms;
}

/* ---- what the vehicle showed ---- */

int engine_role_stats(const struct engine *e, unsigned role, struct engine_role_stats *ret)
{
	if (!e || role >= role_count())
		return -EINVAL;
	*ret = e->rs[role].st;
	ret->provides = rolemap_provides(e->roles, role);
	return 0;
}

size_t engine_transition_count(const struct engine *e)
{
	return e->n_tr;
}

const struct engine_transition *engine_transition_at(const struct engine *e, size_t i)
{
	return i < e->n_tr ? &e->tr[i] : NULL;
}

uint64_t engine_transitions_dropped(const struct engine *e)
{
	return e->tr_dropped;
}

const struct rolemap *engine_rolemap(const struct engine *e)
{
	return e->roles;
}

const struct profile *engine_profile(const struct engine *e)
{
	return e->profile;
}

void engine_chain(const struct engine *e, struct engine_chain *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (size_t i = 0; i < RULES_CHAIN_LINKS; i++) {
		struct engine_link *l = &ret->links[i];
		const struct rules_link *rl = rules_link_at(e->rules, i);
		unsigned bits = 0;
		l->link = (enum role_link)i;
		l->name = role_link_name(l->link);
		l->title = rl->title;
		l->judged = rl;
		for (size_t k = 0; k < role_count(); k++) {
			if (role_at(k)->link != l->link)
				continue;
			unsigned b = rolemap_provides(e->roles, (unsigned)k);
			if (!b)
				continue;
			bits |= b;
			if (e->rs[k].st.samples)
				l->seen = true;
			if (l->n_roles < ENGINE_LINK_MAX_ROLES)
				l->roles[l->n_roles++] = (unsigned)k;
		}
		l->observability = bits & ROLEMAP_BROADCAST ? ENGINE_OBS_BROADCAST
				   : bits & ROLEMAP_DID	    ? ENGINE_OBS_DIAGNOSTIC
							    : ENGINE_OBS_NONE;
		l->state = rl->state;
		/* what was seen working or failing stands; otherwise a link nothing of which
		 * arrived cannot be told, whatever a press might have shown */
		if (l->state != RULES_LINK_WORKING && l->state != RULES_LINK_FAILING &&
		    (l->observability == ENGINE_OBS_NONE || !l->seen))
			l->state = RULES_LINK_NOT_OBSERVABLE;
	}
}

const char *engine_observability_name(enum engine_observability o)
{
	switch (o) {
	case ENGINE_OBS_NONE:
		return "not shown by this vehicle";
	case ENGINE_OBS_DIAGNOSTIC:
		return "diagnostic connection only";
	case ENGINE_OBS_BROADCAST:
		return "broadcast";
	case ENGINE_OBS_MAX:
		break;
	}
	return "?";
}
