/* SPDX-License-Identifier: MIT */
#include "router.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/dbc.h"
#include "bodydiag/isotp.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "list.h"
#include "vehicle.h"

#define MAX_REQUEST 256		    /* bytes of an observed request kept for its answer */
#define FUNCTIONAL_WINDOW_US 5000000 /* P2* max: answers to a functional request */

struct router_watch {
	struct list_head link;
	struct router *r;
	struct router_watch_ops ops;
	void *userdata;
	struct vehicle *wants_vehicle; /* the snapshot wants refers to (a reference) */
	uint16_t *wants;	       /* per DBC message: how many times asked */
	bool dead;		       /* freed while the router was dispatching */
};

/* The passive view of one ECU's diagnostic ids. */
struct observer {
	struct router *r;
	size_t ecu;
	struct isotp_observer *o;
	uint8_t req[MAX_REQUEST];
	size_t req_len; /* 0: no request open */
	bool req_local;
	int64_t req_t_us;
};

struct router {
	struct vehicle *vehicle;
	struct observer *obs;
	size_t n_obs;
	struct dbc_sample *samples;
	size_t samples_cap;
	struct list_head watches;
	unsigned depth; /* dispatches in progress */
	bool sweep;	/* a watch died during one */
	bool feeding_local;

	/* The last functional request (0x7DF) seen: its answers come on physical ids. */
	uint8_t func_req[8];
	size_t func_len;
	bool func_local;
	int64_t func_t_us;

	uint64_t marks;
	struct router_stats st;
};

/* ---- watches ---- */

int router_watch_new(struct router *r, const struct router_watch_ops *ops, void *userdata,
		     struct router_watch **ret)
{
	struct router_watch *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->r = r;
	w->ops = *ops;
	w->userdata = userdata;
	list_add_tail(&r->watches, &w->link);
	*ret = w;
	return 0;
}

void router_watch_want_none(struct router_watch *w)
{
	free(w->wants);
	w->wants = NULL;
	w->wants_vehicle = vehicle_unref(w->wants_vehicle);
}

static void watch_destroy(struct router_watch *w)
{
	list_del(&w->link);
	router_watch_want_none(w);
	free(w);
}

struct router_watch *router_watch_free(struct router_watch *w)
{
	if (!w)
		return NULL;
	if (w->r->depth > 0) {
		/* The dispatch loop holds a pointer to it: unlink after the loop. */
		w->dead = true;
		w->r->sweep = true;
		return NULL;
	}
	watch_destroy(w);
	return NULL;
}

int router_watch_want(struct router_watch *w, struct vehicle *v, size_t msg_index, bool want)
{
	const struct dbc *db = vehicle_dbc(v);
	size_t n = db ? dbc_message_count(db) : 0;

	if (msg_index >= n)
		return -EINVAL;
	if (w->wants_vehicle != v) {
		uint16_t *wants = calloc(n, sizeof(*wants));
		if (!wants)
			return -ENOMEM;
		router_watch_want_none(w);
		w->wants = wants;
		w->wants_vehicle = vehicle_ref(v);
	}
	if (want && w->wants[msg_index] < UINT16_MAX)
		w->wants[msg_index]++;
	else if (!want && w->wants[msg_index] > 0)
		w->wants[msg_index]--;
	return 0;
}

static bool watch_wants(const struct router_watch *w, const struct router *r, uint32_t msg_index)
{
	return !w->dead && w->wants && w->wants_vehicle == r->vehicle && w->wants[msg_index];
}

static void end_dispatch(struct router *r)
{
	struct list_head *i;

	if (--r->depth > 0 || !r->sweep)
		return;
	r->sweep = false;
	for (i = r->watches.next; i != &r->watches;) {
		struct router_watch *w = list_entry(i, struct router_watch, link);
		i = i->next;
		if (w->dead)
			watch_destroy(w);
	}
}

/* ---- exchanges ---- */

void router_publish_exchange(struct router *r, const struct router_exchange *x)
{
	if ((unsigned)x->origin >= ROUTER_ORIGIN_MAX)
		return;
	r->st.exchanges[x->origin]++;
	r->depth++;
	for (struct list_head *i = r->watches.next; i != &r->watches; i = i->next) {
		struct router_watch *w = list_entry(i, struct router_watch, link);
		if (!w->dead && w->ops.exchange)
			w->ops.exchange(w->userdata, x);
	}
	end_dispatch(r);
}

int router_publish_mark(struct router *r, int64_t t_us, const char *label, uint64_t *ret_seq)
{
	struct router_mark m = {.label = label, .t_us = t_us};

	if (!label || !*label)
		return -EINVAL;
	m.seq = ++r->marks;
	r->st.marks++;
	r->depth++;
	for (struct list_head *i = r->watches.next; i != &r->watches; i = i->next) {
		struct router_watch *w = list_entry(i, struct router_watch, link);
		if (!w->dead && w->ops.mark)
			w->ops.mark(w->userdata, &m);
	}
	end_dispatch(r);
	if (ret_seq)
		*ret_seq = m.seq;
	return 0;
}

/* A request/response pair the observer reassembled: published unless the request was
 * ours (the broker publishes those, with their outcome). */
static void observed_response(struct observer *ob, const uint8_t *pdu, size_t len, int64_t t_us)
{
	struct router *r = ob->r;
	const uint8_t *req = ob->req_len ? ob->req : NULL;
	size_t req_len = ob->req_len;
	bool local = ob->req_local;
	int64_t t_req = ob->req_t_us;

	if (!req && r->func_len && t_us - r->func_t_us <= FUNCTIONAL_WINDOW_US) {
		req = r->func_req;
		req_len = r->func_len;
		local = r->func_local;
		t_req = r->func_t_us;
	}
	/* 0x78 announces the final answer; the request stays open for it. */
	if (len >= 3 && pdu[0] == UDS_SID_NEGATIVE_RESPONSE && pdu[2] == UDS_NRC_RESPONSE_PENDING)
		return;
	ob->req_len = 0;
	if (local)
		return;
	struct router_exchange x = {
		.origin = ROUTER_ORIGIN_BUS,
		.ecu = ob->ecu,
		.ecu_name = vehicle_ecu_at(r->vehicle, ob->ecu)->id,
		.req = req,
		.req_len = req_len,
		.outcome = UDS_BROKER_RESPONSE,
		.resp = pdu,
		.resp_len = len,
		.t_us = t_us,
		.elapsed_us = req && t_us > t_req ? (uint64_t)(t_us - t_req) : 0,
	};
	router_publish_exchange(r, &x);
}

static void on_pdu(void *userdata, enum isotp_dir dir, const uint8_t *pdu, size_t len,
		   int64_t t_first_us, int64_t t_last_us)
{
	struct observer *ob = userdata;

	if (dir == ISOTP_DIR_RESPONSE) {
		observed_response(ob, pdu, len, t_last_us);
		return;
	}
	/* a request too long to keep is not one whose answer we can read */
	ob->req_len = len <= sizeof(ob->req) ? len : 0;
	if (ob->req_len)
		memcpy(ob->req, pdu, len);
	ob->req_local = ob->r->feeding_local;
	ob->req_t_us = t_first_us;
	(void)t_last_us;
}

static void free_observers(struct observer *obs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		isotp_observer_free(obs[i].o);
	free(obs);
}

static int build_observers(struct router *r, struct vehicle *v, struct observer **ret, size_t *ret_n)
{
	static const struct isotp_observer_ops ops = {.pdu = on_pdu};
	size_t n = vehicle_ecu_count(v);
	struct observer *obs = calloc(n ? n : 1, sizeof(*obs));

	if (!obs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct profile_ecu *e = vehicle_ecu_at(v, i);
		struct isotp_observer_config oc;
		int k;

		obs[i] = (struct observer){.r = r, .ecu = i};
		/* the ECU's own addressing: extended and mixed frames carry their address
		 * byte before the PCI, which the observer checks and skips */
		isotp_addr_observer_config(&e->addr, &oc);
		k = isotp_observer_new(&oc, &ops, &obs[i], &obs[i].o);
		if (k < 0) {
			free_observers(obs, i);
			return k;
		}
	}
	*ret = obs;
	*ret_n = n;
	return 0;
}

/* ---- frames ---- */

static void functional_request(struct router *r, const struct router_frame *f)
{
	const struct bd_frame *fr = &f->tf->frame;
	size_t n = fr->len ? (fr->data[0] & 0x0f) : 0;

	/* ISO 15765-4: a functional request is one single frame, PCI 0x0N */
	if (fr->len < 2 || (fr->data[0] & 0xf0) != 0 || n == 0 || n + 1 > fr->len ||
	    n > sizeof(r->func_req))
		return;
	memcpy(r->func_req, fr->data + 1, n);
	r->func_len = n;
	r->func_local = f->local;
	r->func_t_us = f->tf->t_us;
	/* a functional request ends whatever physical request the observers held */
	for (size_t i = 0; i < r->n_obs; i++)
		r->obs[i].req_len = 0;
}

void router_feed(struct router *r, const struct bd_timed_frame *tf)
{
	struct router_frame f = {
		.tf = tf,
		.hit = route_classify(vehicle_routes(r->vehicle), &tf->frame),
		.local = tf->frame.flags & BD_FRAME_LOCAL,
	};
	bool decoded = false;

	/* Time passes as frames come: a reassembly the bus abandoned ends now. */
	for (size_t i = 0; i < r->n_obs; i++)
		isotp_observer_poll(r->obs[i].o, tf->t_us);
	r->st.frames++;
	r->st.by_kind[f.hit.kind]++;
	r->st.local += f.local;
	switch (f.hit.kind) {
	case ROUTE_DIAG_REQUEST:
	case ROUTE_DIAG_RESPONSE:
		r->feeding_local = f.local;
		isotp_observer_feed(r->obs[f.hit.index].o, &tf->frame, tf->t_us);
		break;
	case ROUTE_FUNCTIONAL:
		functional_request(r, &f);
		break;
	case ROUTE_MESSAGE:
		f.msg = dbc_message_at(vehicle_dbc(r->vehicle), f.hit.index);
		break;
	case ROUTE_UNKNOWN:
	case ROUTE_ERROR:
	case ROUTE_REMOTE:
	case ROUTE_KIND_MAX:
		break;
	}
	r->depth++;
	for (struct list_head *i = r->watches.next; i != &r->watches; i = i->next) {
		struct router_watch *w = list_entry(i, struct router_watch, link);
		struct router_frame wf = f;

		if (w->dead || !w->ops.frame)
			continue;
		if (f.msg && watch_wants(w, r, f.hit.index)) {
			if (!decoded) {
				int n = dbc_decode(f.msg, tf->frame.data, tf->frame.len, r->samples,
						   r->samples_cap, NULL);
				r->st.decodes++;
				decoded = true;
				f.samples = r->samples;
				f.n_samples = n > 0 ? (size_t)n : 0;
			}
			wf.samples = f.samples;
			wf.n_samples = f.n_samples;
		}
		w->ops.frame(w->userdata, &wf);
	}
	end_dispatch(r);
}

/* ---- lifecycle ---- */

int router_set_vehicle(struct router *r, struct vehicle *v)
{
	struct observer *obs;
	struct dbc_sample *samples;
	size_t n_obs, cap = vehicle_max_samples(v);
	int k;

	samples = calloc(cap ? cap : 1, sizeof(*samples));
	if (!samples)
		return -ENOMEM;
	k = build_observers(r, v, &obs, &n_obs);
	if (k < 0) {
		free(samples);
		return k;
	}
	free_observers(r->obs, r->n_obs);
	free(r->samples);
	r->obs = obs;
	r->n_obs = n_obs;
	r->samples = samples;
	r->samples_cap = cap;
	r->func_len = 0;
	vehicle_set(&r->vehicle, v);
	return 0;
}

int router_new(struct router **ret)
{
	struct router *r = calloc(1, sizeof(*r));
	struct vehicle *empty;
	int k;

	if (!r)
		return -ENOMEM;
	list_init(&r->watches);
	k = vehicle_new(NULL, NULL, NULL, &empty);
	if (k >= 0) {
		k = router_set_vehicle(r, empty);
		vehicle_unref(empty);
	}
	if (k < 0) {
		free(r);
		return k;
	}
	*ret = r;
	return 0;
}

struct router *router_free(struct router *r)
{
	if (!r)
		return NULL;
	while (!list_empty(&r->watches))
		watch_destroy(list_first_entry(&r->watches, struct router_watch, link));
	free_observers(r->obs, r->n_obs);
	free(r->samples);
	vehicle_unref(r->vehicle);
	free(r);
	return NULL;
}

void router_get_stats(const struct router *r, struct router_stats *ret)
{
	*ret = r->st;
}
