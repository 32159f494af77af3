/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/profile.h"
#include "bodydiag/timeline.h"
#include "bodydiag/uds.h"
#include "bus.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "uds_broker.h"

#define MAX_SUBSCRIBED_SIGNALS 64
#define MAX_LABEL 128 /* bytes of a mark label (TIMELINE_MAX_NAME) */

enum pending_kind {
	PENDING_DTC_READ,
	PENDING_DTC_CLEAR,
	PENDING_DID_READ,
	PENDING_KIND_MAX,
};

/* An asynchronous method call waiting for the broker. */
struct pending {
	struct list_head link;
	struct methods *m;
	struct api_request *req;
	struct uds_broker_request *breq;
	enum pending_kind kind;
	size_t ecu;
	const struct profile_did *did; /* did.read of a profile DID, else NULL */
	uint16_t did_id;
	size_t len;
	uint8_t pdu[16];
};

struct live_signal {
	const struct dbc_message *msg;
	const struct dbc_signal *sig;
	bool has_last;
	struct dbc_value last;
};

struct live_sub {
	struct list_head link;
	struct methods *m;
	struct api_subscription *sub;
	bool closed;
	size_t n;
	struct live_signal sigs[];
};

struct methods {
	struct api_server *api;
	struct methods_data data;
	struct list_head pending;
	struct list_head subs;
	size_t n_subs;
	struct dbc_sample *samples; /* decode scratch, max samples of any DBC message */
	size_t samples_cap;
	struct timeline *tl;
	struct timeline_symbols *syms;
	uint64_t marks;
	int64_t start_us;
	methods_mark_fn mark_hook;
	methods_scan_status_fn scan_status;
	void *scan_status_userdata;
	void *mark_userdata;
};

/* ---- parameters ---- */

/* Fails req with invalid_params when params has a member not in allowed (typos must not
 * pass silently, as in the envelope). Returns 0 or -EINVAL (req completed). */
static int check_members(struct api_request *req, json_t *params, const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(params, key, v) {
		bool ok = false;
		for (size_t i = 0; allowed[i]; i++)
			if (strcmp(key, allowed[i]) == 0)
				ok = true;
		if (!ok) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS, "unknown parameter \"%s\"",
					 key);
			return -EINVAL;
		}
	}
	return 0;
}

/* A number given as a JSON integer or as a string "0x1A2B" / "6699". */
static int number_param(json_t *v, uint64_t max, uint64_t *ret)
{
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i < 0 || (uint64_t)i > max)
			return -ERANGE;
		*ret = (uint64_t)i;
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char *end;
		unsigned long long u;

		if (!*s || *s == '-' || *s == '+' || *s == ' ')
			return -EINVAL;
		errno = 0;
		u = strtoull(s, &end, 0);
		if (errno || *end)
			return -EINVAL;
		if (u > max)
			return -ERANGE;
		*ret = u;
		return 0;
	}
	return -EINVAL;
}

/* The ECU named by params.ecu, or the profile's first ECU when absent. Returns the
 * index, or -1 after failing req. */
static int ecu_param(struct methods *m, struct api_request *req, json_t *params,
		     const char *fallback)
{
	json_t *v = json_object_get(params, "ecu");
	const char *name = fallback;
	int i;

	if (v && !json_is_string(v)) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "\"ecu\" must be a string");
		return -1;
	}
	if (!m->data.broker || uds_broker_ecu_count(m->data.broker) == 0) {
		api_request_fail(req, API_ERROR_UNAVAILABLE,
				 "no ECUs configured (no vehicle profile loaded)");
		return -1;
	}
	if (v)
		name = json_string_value(v);
	if (!name)
		return 0;
	i = uds_broker_ecu_find(m->data.broker, name);
	if (i < 0) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "no ECU \"%s\" in the profile", name);
		return -1;
	}
	return i;
}

/* ---- asynchronous requests through the broker ---- */

static void pending_free(struct pending *p)
{
	list_del(&p->link);
	free(p);
}

static void pending_cancel(void *data)
{
	struct pending *p = data;

	/* The client went away: the broker keeps waiting for an answer already on its way
	 * (so that it is not taken for the next request's) but drops it. */
	uds_broker_request_cancel(p->breq);
	api_request_fail(p->req, API_ERROR_UNAVAILABLE, "client gone");
	pending_free(p);
}

static json_t *nrc_result(const char *ecu, uint8_t nrc)
{
	char text[96];

	snprintf(text, sizeof(text), "0x%02x %s", nrc, uds_nrc_name(nrc));
	return json_pack("{s:s,s:s,s:i}", "ecu", ecu, "nrc", text, "nrc_code", nrc);
}

/* Fails p->req for an outcome other than a response; returns true when it did. */
static bool fail_outcome(struct pending *p, const struct uds_broker_result *r)
{
	const char *ecu = uds_broker_ecu_name(p->m->data.broker, p->ecu);
	const char *reason = uds_broker_outcome_name(r->outcome);

	switch (r->outcome) {
	case UDS_BROKER_RESPONSE:
		return false;
	case UDS_BROKER_NO_RESPONSE:
		api_request_fail(p->req, API_ERROR_TIMEOUT, "%s: no_response: no answer", ecu);
		return true;
	case UDS_BROKER_TIMEOUT:
		api_request_fail(p->req, API_ERROR_TIMEOUT,
				 "%s: %s: no response within %s %" PRIu32 " ms", ecu, reason,
				 r->pending ? "P2*" : "P2", r->pending ? r->p2star_ms : r->p2_ms);
		return true;
	case UDS_BROKER_TOO_MANY_PENDING:
		api_request_fail(p->req, API_ERROR_TIMEOUT,
				 "%s: %s: still responsePending after %u 0x78 responses", ecu,
				 reason, r->pending);
		return true;
	case UDS_BROKER_TOO_MANY_BUSY:
		api_request_fail(p->req, API_ERROR_TIMEOUT,
				 "%s: %s: still busyRepeatRequest after %u resends", ecu, reason,
				 r->busy > 0 ? r->busy - 1 : 0);
		return true;
	case UDS_BROKER_TRANSPORT_ERROR:
		api_request_fail(p->req,
				 r->transport_errno == -ETIMEDOUT ? API_ERROR_TIMEOUT
								  : API_ERROR_UNAVAILABLE,
				 "%s: %s: %s", ecu, uds_broker_transport_name(r->transport_errno),
				 isotp_socket_error_name(r->transport_errno));
		return true;
	case UDS_BROKER_CANCELLED:
	case UDS_BROKER_OUTCOME_MAX:
		break;
	}
	api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s: request cancelled (daemon reloading)",
			 ecu);
	return true;
}

static json_t *dtc_json(struct methods *m, const char *ecu, uint32_t code, uint8_t status)
{
	char text[DTC_TEXT_MAX], hex[8];
	const struct profile_dtc *pd =
		m->data.profile ? profile_dtc_find(m->data.profile, ecu, code) : NULL;
	const char *ftb = dtc_ftb_name((uint8_t)code);
	json_t *flags = json_array(), *o;

	dtc_format(code, text, sizeof(text));
	snprintf(hex, sizeof(hex), "0x%02x", status);
	for (int b = 0; b < DTC_STATUS_BIT_MAX; b++)
		if (status & (1u << b))
			json_array_append_new(flags,
					      json_string(dtc_status_bit_name((enum dtc_status_bit)b)));
	o = json_pack("{s:s,s:i,s:s,s:o,s:s*,s:s*,s:s*}", "code", text, "dtc", (int)code, "status",
		      hex, "flags", flags, "ftb", ftb, "text", pd ? pd->text : NULL, "source",
		      pd ? pd->source : NULL);
	return o;
}

static void reply_dtc_read(struct pending *p, const uint8_t *resp, size_t len)
{
	struct methods *m = p->m;
	const char *ecu = uds_broker_ecu_name(m->data.broker, p->ecu);
	struct uds_rdtci_response rr;
	json_t *dtcs;
	uint32_t module = TIMELINE_MODULE_NONE;
	int64_t t = clock_now_us(CLOCK_MONOTONIC);

	if (uds_parse_rdtci(p->pdu, p->len, resp, len, &rr) < 0) {
		api_request_fail(p->req, API_ERROR_INTERNAL, "cannot parse the response");
		return;
	}
	if (rr.r.result == UDS_RESULT_NEGATIVE) {
		api_request_reply(p->req, nrc_result(ecu, rr.r.nrc));
		return;
	}
	if (rr.r.result != UDS_RESULT_OK || rr.shape != UDS_RDTCI_SHAPE_DTC_LIST) {
		api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s: invalid response: %s", ecu,
				 uds_result_name(rr.r.result));
		return;
	}
	timeline_symbols_intern(m->syms, TIMELINE_SYMBOL_MODULE, ecu, strlen(ecu), &module);
	dtcs = json_array();
	for (size_t i = 0; i < rr.n_dtcs; i++) {
		struct uds_dtc_record d;
		struct timeline_event ev;

		if (uds_rdtci_dtc(&rr, i, &d) < 0)
			break;
		json_array_append_new(dtcs, dtc_json(m, ecu, d.dtc, d.status));
		ev = timeline_event_dtc(t, module, d.dtc & 0xffffffu, d.status);
		timeline_push(m->tl, &ev, NULL);
	}
	api_request_reply(p->req, json_pack("{s:s,s:i,s:i,s:o}", "ecu", ecu, "mask",
					    (int)p->pdu[2], "availability_mask",
					    (int)rr.availability_mask, "dtcs", dtcs));
}

static void reply_dtc_clear(struct pending *p, const uint8_t *resp, size_t len)
{
	const char *ecu = uds_broker_ecu_name(p->m->data.broker, p->ecu);
	struct uds_response r;

	if (uds_parse_clear_dtc(p->pdu, p->len, resp, len, &r) < 0) {
		api_request_fail(p->req, API_ERROR_INTERNAL, "cannot parse the response");
		return;
	}
	if (r.result == UDS_RESULT_NEGATIVE) {
		api_request_reply(p->req, nrc_result(ecu, r.nrc));
		return;
	}
	if (r.result != UDS_RESULT_OK) {
		api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s: invalid response: %s", ecu,
				 uds_result_name(r.result));
		return;
	}
	api_request_reply(p->req, json_pack("{s:s,s:b}", "ecu", ecu, "cleared", 1));
}

static int did_len(void *userdata, uint16_t did)
{
	struct pending *p = userdata;

	return p->did && profile_did_id(p->did) == did ? profile_did_length(p->did) : -1;
}

static json_t *value_json(struct dbc_value v)
{
	switch (v.type) {
	case DBC_VALUE_INT:
		return json_integer(v.i);
	case DBC_VALUE_UINT:
		return v.u <= INT64_MAX ? json_integer((json_int_t)v.u) : json_real((double)v.u);
	case DBC_VALUE_FLOAT:
		return json_real(v.f);
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return json_null();
}

static int did_value_cb(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
			struct dbc_value value, const char *label, const char *text)
{
	json_t *values = userdata, *o;

	if (s)
		o = json_pack("{s:s,s:o,s:s*,s:s*}", "signal", dbc_signal_name(s), "value",
			      value_json(value), "unit",
			      *dbc_signal_unit(s) ? dbc_signal_unit(s) : NULL, "label", label);
	else
		o = json_pack("{s:s,s:s}", "signal", profile_did_name(d), "text", text);
	if (!o)
		return -ENOMEM;
	json_array_append_new(values, o);
	return 0;
}

static void reply_did_read(struct pending *p, const uint8_t *resp, size_t len)
{
	const char *ecu = uds_broker_ecu_name(p->m->data.broker, p->ecu);
	struct uds_did_value dv;
	struct uds_response r;
	size_t n = 0;
	char hexid[8], *raw, text[512];
	json_t *o, *values;

	if (uds_parse_read_did(p->pdu, p->len, resp, len, did_len, p, &dv, 1, &n, &r) < 0) {
		api_request_fail(p->req, API_ERROR_INTERNAL, "cannot parse the response");
		return;
	}
	if (r.result == UDS_RESULT_NEGATIVE) {
		o = nrc_result(ecu, r.nrc);
		snprintf(hexid, sizeof(hexid), "0x%04x", p->did_id);
		json_object_set_new(o, "did", json_string(hexid));
		api_request_reply(p->req, o);
		return;
	}
	if (r.result != UDS_RESULT_OK || n != 1) {
		api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s: invalid response: %s", ecu,
				 uds_result_name(r.result));
		return;
	}
	snprintf(hexid, sizeof(hexid), "0x%04x", p->did_id);
	raw = malloc(dv.len * 2 + 1);
	if (!raw) {
		api_request_fail(p->req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < dv.len; i++)
		sprintf(raw + 2 * i, "%02x", dv.data[i]);
	raw[dv.len * 2] = '\0';
	o = json_pack("{s:s,s:s,s:s}", "ecu", ecu, "did", hexid, "raw", raw);
	free(raw);
	if (p->did) {
		json_object_set_new(o, "name", json_string(profile_did_name(p->did)));
		values = json_array();
		if (profile_did_decode(p->did, dv.data, dv.len, did_value_cb, values) < 0) {
			json_decref(values);
			profile_did_format(p->did, dv.data, dv.len, text, sizeof(text));
			json_object_set_new(o, "decode_error", json_string(text));
		} else {
			json_object_set_new(o, "values", values);
			if (profile_did_format(p->did, dv.data, dv.len, text, sizeof(text)) >= 0)
				json_object_set_new(o, "text", json_string(text));
		}
	} else if (uds_did_name(p->did_id))
		json_object_set_new(o, "name", json_string(uds_did_name(p->did_id)));
	api_request_reply(p->req, o);
}

static void pending_done(void *userdata, const struct uds_broker_result *r)
{
	struct pending *p = userdata;

	if (!fail_outcome(p, r)) {
		switch (p->kind) {
		case PENDING_DTC_READ:
			reply_dtc_read(p, r->resp, r->resp_len);
			break;
		case PENDING_DTC_CLEAR:
			reply_dtc_clear(p, r->resp, r->resp_len);
			break;
		case PENDING_DID_READ:
			reply_did_read(p, r->resp, r->resp_len);
			break;
		case PENDING_KIND_MAX:
			break;
		}
	}
	pending_free(p);
}

/* Queues p->pdu; completes req on failure. p is owned by the call. */
static void pending_submit(struct pending *p)
{
	struct methods *m = p->m;
	int r = uds_broker_submit(m->data.broker, p->ecu, UDS_BROKER_PRIORITY_INTERACTIVE, p->pdu,
				  p->len, pending_done, p, &p->breq);

	if (r < 0) {
		if (r == -ENOBUFS)
			api_request_fail(p->req, API_ERROR_UNAVAILABLE,
					 "the ECU's request queue is full");
		else
			api_request_fail(p->req, API_ERROR_INTERNAL, "cannot queue: %s",
					 strerror(-r));
		free(p);
		return;
	}
	list_add_tail(&m->pending, &p->link);
	api_request_set_cancel(p->req, pending_cancel, p);
}

static struct pending *pending_new(struct methods *m, struct api_request *req,
				   enum pending_kind kind, size_t ecu)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return NULL;
	}
	p->m = m;
	p->req = req;
	p->kind = kind;
	p->ecu = ecu;
	list_init(&p->link);
	return p;
}

/* ---- the methods ---- */

static void method_status(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {NULL};
	struct methods *m = userdata;
	struct bus_stats st = {0};
	json_t *o;

	if (check_members(req, params, allowed) < 0)
		return;
	if (m->data.bus)
		bus_get_stats(m->data.bus, &st);
	o = json_pack("{s:s,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s,s:I,s:f,s:I,s:I}",
		      "interface",
		      m->data.bus ? bus_ifname(m->data.bus)
				  : (m->data.ifname ? m->data.ifname : ""),
		      "attached", st.attached, "state",
		      st.attached ? can_link_state_name(st.link.state) : "DETACHED", "bitrate",
		      (json_int_t)st.link.bitrate, "frames", (json_int_t)st.frames,
		      "error_frames", (json_int_t)st.error_frames, "drops",
		      (json_int_t)st.drops, "outages", (json_int_t)st.outages, "restarts",
		      (json_int_t)st.restarts, "listen_only", m->data.listen_only, "scan",
		      m->data.listen_only ? "disabled" : "idle", "clients",
		      (json_int_t)api_server_client_count(m->api), "uptime_s",
		      (double)(clock_now_us(CLOCK_MONOTONIC) - m->start_us) / 1e6, "ecus",
		      (json_int_t)(m->data.broker ? uds_broker_ecu_count(m->data.broker) : 0),
		      "marks", (json_int_t)m->marks);
	if (!o) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	if (m->scan_status) {
		json_t *scan = m->scan_status(m->scan_status_userdata);
		if (scan)
			json_object_set_new(o, "scan", scan);
	}
	json_object_set_new(o, "profile",
			    m->data.profile && profile_vehicle_name(m->data.profile)
				    ? json_string(profile_vehicle_name(m->data.profile))
				    : json_null());
	json_object_set_new(o, "dbc_messages",
			    json_integer(m->data.dbc ? (json_int_t)dbc_message_count(m->data.dbc)
						     : 0));
	api_request_reply(req, o);
}

static void method_ecus(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {NULL};
	struct methods *m = userdata;
	json_t *arr;
	size_t n;

	if (check_members(req, params, allowed) < 0)
		return;
	arr = json_array();
	n = m->data.broker ? uds_broker_ecu_count(m->data.broker) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct uds_broker_ecu_config *c = uds_broker_ecu_config(m->data.broker, i);
		const struct profile_ecu *pe =
			m->data.profile ? profile_ecu_find(m->data.profile, c->name) : NULL;
		struct uds_broker_stats st;
		char tx[16], rx[16], fn[16];

		uds_broker_ecu_stats(m->data.broker, i, &st);
		snprintf(tx, sizeof(tx), "0x%03" PRIx32, c->tx_id);
		snprintf(rx, sizeof(rx), "0x%03" PRIx32, c->rx_id);
		snprintf(fn, sizeof(fn), "0x%03" PRIx32, c->functional_id);
		json_array_append_new(
			arr,
			json_pack("{s:s,s:s?,s:s,s:s,s:s?,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:f,"
				  "s:f,s:f,s:I,s:i,s:i}",
				  "name", c->name, "description", pe ? pe->name : NULL, "tx", tx,
				  "rx", rx, "functional", c->functional_id ? fn : NULL, "session",
				  (int)st.session, "requests", (json_int_t)st.requests, "responses",
				  (json_int_t)st.responses, "negative", (json_int_t)st.negative,
				  "timeouts", (json_int_t)st.timeouts, "transport_errors",
				  (json_int_t)st.transport_errors, "response_pending",
				  (json_int_t)st.pending, "busy", (json_int_t)st.busy,
				  "latency_ms", uds_broker_stats_mean_ms(&st), "latency_min_ms",
				  (double)st.latency_min_us / 1000.0, "latency_max_ms",
				  (double)st.latency_max_us / 1000.0, "queued",
				  (json_int_t)st.queued, "p2_ms", (int)st.p2_ms, "p2star_ms",
				  (int)st.p2star_ms));
	}
	api_request_reply(req, json_pack("{s:o}", "ecus", arr));
}

static void method_dtc_read(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"ecu", "mask", NULL};
	struct methods *m = userdata;
	json_t *v = json_object_get(params, "mask");
	uint64_t mask = 0xff;
	struct pending *p;
	int ecu;

	if (check_members(req, params, allowed) < 0)
		return;
	if (v && number_param(v, 0xff, &mask) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"mask\" must be a number 0..255 (integer or \"0x..\")");
		return;
	}
	ecu = ecu_param(m, req, params, NULL);
	if (ecu < 0)
		return;
	p = pending_new(m, req, PENDING_DTC_READ, (size_t)ecu);
	if (!p)
		return;
	uds_build_rdtci_status_mask(UDS_RDTCI_DTC_BY_STATUS_MASK, (uint8_t)mask, p->pdu,
				    sizeof(p->pdu), &p->len);
	pending_submit(p);
}

static void method_dtc_clear(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"ecu", "group", NULL};
	struct methods *m = userdata;
	json_t *v = json_object_get(params, "group");
	uint64_t group = UDS_DTC_GROUP_ALL;
	struct pending *p;
	int ecu;

	if (check_members(req, params, allowed) < 0)
		return;
	if (v && number_param(v, 0xffffff, &group) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"group\" must be a 24-bit number (integer or \"0xffffff\")");
		return;
	}
	ecu = ecu_param(m, req, params, NULL);
	if (ecu < 0)
		return;
	p = pending_new(m, req, PENDING_DTC_CLEAR, (size_t)ecu);
	if (!p)
		return;
	uds_build_clear_dtc((uint32_t)group, -1, p->pdu, sizeof(p->pdu), &p->len);
	pending_submit(p);
}

static void method_did_read(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"ecu", "did", NULL};
	struct methods *m = userdata;
	json_t *v = json_object_get(params, "did");
	const struct profile_did *d = NULL;
	const char *fallback = NULL;
	uint64_t num = 0;
	struct pending *p;
	uint16_t id;
	int ecu;

	if (check_members(req, params, allowed) < 0)
		return;
	if (!v) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "\"did\" is required");
		return;
	}
	if (json_is_string(v) && number_param(v, 0xffff, &num) < 0) {
		const char *name = json_string_value(v);

		if (!m->data.profile) {
			api_request_fail(req, API_ERROR_UNAVAILABLE,
					 "no vehicle profile loaded: give the DID by number");
			return;
		}
		d = profile_did_find_name(m->data.profile, name);
		if (!d) {
			api_request_fail(req, API_ERROR_NOT_FOUND, "no DID \"%s\" in the profile",
					 name);
			return;
		}
		fallback = profile_did_ecu(d);
	} else if (number_param(v, 0xffff, &num) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"did\" must be a profile name or a number 0..65535");
		return;
	}
	ecu = ecu_param(m, req, params, fallback);
	if (ecu < 0)
		return;
	if (d && strcmp(profile_did_ecu(d), uds_broker_ecu_name(m->data.broker, (size_t)ecu))) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "DID \"%s\" belongs to ECU \"%s\"",
				 profile_did_name(d), profile_did_ecu(d));
		return;
	}
	id = d ? profile_did_id(d) : (uint16_t)num;
	if (!d && m->data.profile)
		d = profile_did_find(m->data.profile, uds_broker_ecu_name(m->data.broker, (size_t)ecu),
				     id);
	p = pending_new(m, req, PENDING_DID_READ, (size_t)ecu);
	if (!p)
		return;
	p->did = d;
	p->did_id = id;
	uds_build_read_did(&id, 1, p->pdu, sizeof(p->pdu), &p->len);
	pending_submit(p);
}

static void live_close(void *data)
{
	struct live_sub *s = data;

	/* May run inside api_subscription_send(): only mark it, the sweep frees it. */
	s->closed = true;
}

static void live_free(struct live_sub *s)
{
	list_del(&s->link);
	s->m->n_subs--;
	api_subscription_free(s->sub);
	free(s);
}

static void live_sweep(struct methods *m)
{
	struct list_head *i = m->subs.next;

	while (i != &m->subs) {
		struct live_sub *s = list_entry(i, struct live_sub, link);
		i = i->next;
		if (s->closed)
			live_free(s);
	}
}

static const struct dbc_signal *find_signal(const struct dbc *db, const char *name,
					    const struct dbc_message **ret_msg)
{
	for (size_t i = 0; i < dbc_message_count(db); i++) {
		const struct dbc_message *msg = dbc_message_at(db, i);
		const struct dbc_signal *s = dbc_message_find_signal(msg, name);

		if (s) {
			*ret_msg = msg;
			return s;
		}
	}
	return NULL;
}

static void method_live_subscribe(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"signals", NULL};
	struct methods *m = userdata;
	json_t *sigs = json_object_get(params, "signals"), *v, *names;
	struct live_sub *s;
	size_t i, n;
	int r;

	/* Subscribers that left while the bus was silent are still listed: free them now,
	 * so that subscribing and leaving in a loop cannot grow the list. */
	live_sweep(m);
	if (check_members(req, params, allowed) < 0)
		return;
	if (!json_is_array(sigs) || json_array_size(sigs) == 0 ||
	    json_array_size(sigs) > MAX_SUBSCRIBED_SIGNALS) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"signals\" must be an array of 1..%d signal names",
				 MAX_SUBSCRIBED_SIGNALS);
		return;
	}
	json_array_foreach(sigs, i, v) {
		if (!json_is_string(v)) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"signals\"[%zu] is not a string", i);
			return;
		}
	}
	if (!m->data.dbc) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no DBC loaded");
		return;
	}
	n = json_array_size(sigs);
	s = calloc(1, sizeof(*s) + n * sizeof(s->sigs[0]));
	if (!s) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	s->m = m;
	s->n = n;
	list_init(&s->link);
	names = json_array();
	json_array_foreach(sigs, i, v) {
		s->sigs[i].sig = find_signal(m->data.dbc, json_string_value(v), &s->sigs[i].msg);
		if (!s->sigs[i].sig) {
			api_request_fail(req, API_ERROR_NOT_FOUND, "no signal \"%s\" in the DBC",
					 json_string_value(v));
			json_decref(names);
			free(s);
			return;
		}
		json_array_append_new(names, json_string(dbc_signal_name(s->sigs[i].sig)));
	}
	r = api_request_subscribe(req, live_close, s, &s->sub);
	if (r < 0) {
		json_decref(names);
		free(s);
		api_request_fail(req, API_ERROR_INTERNAL, "cannot subscribe: %s", strerror(-r));
		return;
	}
	list_add_tail(&m->subs, &s->link);
	m->n_subs++;
	api_request_reply(req, json_pack("{s:o}", "subscribed", names));
}

static void method_mark(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"label", NULL};
	struct methods *m = userdata;
	json_t *v = json_object_get(params, "label");
	const struct timeline_event *stored = NULL;
	struct timeline_event ev;
	const char *label;
	uint32_t index;
	int r;

	if (check_members(req, params, allowed) < 0)
		return;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= MAX_LABEL || strlen(json_string_value(v)) != json_string_length(v)) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"label\" must be a string of 1..%d bytes", MAX_LABEL - 1);
		return;
	}
	label = json_string_value(v);
	r = timeline_symbols_intern(m->syms, TIMELINE_SYMBOL_MARK, label, strlen(label), &index);
	if (r < 0) {
		api_request_fail(req, r == -E2BIG ? API_ERROR_UNAVAILABLE : API_ERROR_INTERNAL,
				 "cannot record the mark: %s",
				 r == -E2BIG ? "too many distinct labels" : strerror(-r));
		return;
	}
	ev = timeline_event_mark(clock_now_us(CLOCK_MONOTONIC), index);
	if (timeline_push(m->tl, &ev, &stored) < 0 || !stored) {
		api_request_fail(req, API_ERROR_INTERNAL, "cannot record the mark");
		return;
	}
	m->marks++;
	ev = *stored; /* stored lives until the next push only */
	if (m->mark_hook) {
		r = m->mark_hook(m->mark_userdata, ev.t_us, label);
		if (r < 0)
			log_warning("mark \"%s\": the diagnosis did not take it: %s", label,
				    strerror(-r));
	}
	api_request_reply(req, json_pack("{s:s,s:I,s:I}", "label", label, "t_us",
					 (json_int_t)ev.t_us, "seq", (json_int_t)ev.seq));
}

static const struct api_method method_table[] = {
	{.name = "status", .privilege = API_PRIVILEGE_READ, .handler = method_status,
	 .summary = "bus state, counters, ECUs, uptime"},
	{.name = "ecus", .privilege = API_PRIVILEGE_READ, .handler = method_ecus,
	 .summary = "the profile's ECUs with session, timing and latency"},
	{.name = "dtc.read", .privilege = API_PRIVILEGE_READ, .handler = method_dtc_read,
	 .summary = "read an ECU's DTCs (0x19 0x02)"},
	{.name = "dtc.clear", .privilege = API_PRIVILEGE_ADMIN, .handler = method_dtc_clear,
	 .summary = "clear an ECU's DTCs (0x14)"},
	{.name = "did.read", .privilege = API_PRIVILEGE_READ, .handler = method_did_read,
	 .summary = "read a DID by profile name or number (0x22)"},
	{.name = "live.subscribe", .privilege = API_PRIVILEGE_READ,
	 .handler = method_live_subscribe, .summary = "DBC signal changes as events"},
	{.name = "mark", .privilege = API_PRIVILEGE_READ, .handler = method_mark,
	 .summary = "put a user action into the timeline"},
};

/* ---- lifecycle ---- */

static int samples_reserve(struct methods *m, const struct dbc *db)
{
	size_t need = 0;

	for (size_t i = 0; db && i < dbc_message_count(db); i++) {
		size_t k = dbc_message_max_samples(dbc_message_at(db, i));
		if (k > need)
			need = k;
	}
	if (need > m->samples_cap) {
		struct dbc_sample *n = realloc(m->samples, need * sizeof(*n));
		if (!n)
			return -ENOMEM;
		m->samples = n;
		m->samples_cap = need;
	}
	return 0;
}

static void cancel_all(struct methods *m, const char *why)
{
	while (!list_empty(&m->pending)) {
		struct pending *p = list_first_entry(&m->pending, struct pending, link);

		uds_broker_request_cancel(p->breq);
		api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s", why);
		pending_free(p);
	}
	while (!list_empty(&m->subs)) {
		struct live_sub *s = list_first_entry(&m->subs, struct live_sub, link);

		if (!s->closed)
			api_subscription_send(s->sub, "live_end", json_pack("{s:s}", "reason", why));
		live_free(s);
	}
}

int methods_new(struct api_server *api, const struct methods_data *data, size_t timeline_capacity,
		struct methods **ret)
{
	struct methods *m = calloc(1, sizeof(*m));
	size_t i;
	int r;

	if (!m)
		return -ENOMEM;
	m->api = api;
	m->data = *data;
	m->start_us = clock_now_us(CLOCK_MONOTONIC);
	list_init(&m->pending);
	list_init(&m->subs);
	m->tl = timeline_new(timeline_capacity);
	m->syms = timeline_symbols_new();
	if (!m->tl || !m->syms || samples_reserve(m, data->dbc) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	for (i = 0; i < ARRAY_SIZE(method_table); i++) {
		struct api_method meth = method_table[i];

		meth.userdata = m;
		r = api_server_register(api, &meth);
		if (r < 0)
			goto fail_register;
	}
	*ret = m;
	return 0;
fail_register:
	while (i-- > 0)
		api_server_unregister(api, method_table[i].name);
fail:
	timeline_free(m->tl);
	timeline_symbols_free(m->syms);
	free(m->samples);
	free(m);
	return r;
}

struct methods *methods_free(struct methods *m)
{
	if (!m)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(method_table); i++)
		api_server_unregister(m->api, method_table[i].name);
	cancel_all(m, "daemon stopping");
	timeline_free(m->tl);
	timeline_symbols_free(m->syms);
	free(m->samples);
	free(m);
	return NULL;
}

void methods_set_data(struct methods *m, const struct methods_data *data)
{
	cancel_all(m, "configuration reloaded");
	if (samples_reserve(m, data->dbc) < 0) {
		/* Keep serving; live.subscribe will decode nothing until the next reload. */
		m->data = *data;
		m->data.dbc = NULL;
		return;
	}
	m->data = *data;
}

static bool value_equal(struct dbc_value a, struct dbc_value b)
{
	if (a.type != b.type)
		return false;
	switch (a.type) {
	case DBC_VALUE_INT:
		return a.i == b.i;
	case DBC_VALUE_UINT:
		return a.u == b.u;
	case DBC_VALUE_FLOAT:
		return a.f == b.f || (a.f != a.f && b.f != b.f);
	case DBC_VALUE_TYPE_MAX:
		break;
	}
	return true;
}

void methods_bus_frame(struct methods *m, const struct bd_timed_frame *f)
{
	const struct dbc_message *msg;
	struct live_sub *s;
	bool wanted = false;
	int n;

	if (!m->data.dbc || list_empty(&m->subs))
		return;
	msg = dbc_find_message(m->data.dbc, f->frame.id, f->frame.flags & BD_FRAME_EXT);
	if (!msg)
		return;
	for (struct list_head *i = m->subs.next; i != &m->subs && !wanted; i = i->next) {
		s = list_entry(i, struct live_sub, link);
		for (size_t k = 0; k < s->n && !wanted; k++)
			wanted = s->sigs[k].msg == msg;
	}
	if (!wanted)
		return;
	n = dbc_decode(msg, f->frame.data, f->frame.len, m->samples, m->samples_cap, NULL);
	if (n <= 0)
		return;
	for (struct list_head *i = m->subs.next; i != &m->subs; i = i->next) {
		s = list_entry(i, struct live_sub, link);
		for (size_t k = 0; k < s->n && !s->closed; k++) {
			struct live_signal *ls = &s->sigs[k];

			if (ls->msg != msg)
				continue;
			for (int j = 0; j < n; j++) {
				const struct dbc_sample *smp = &m->samples[j];
				json_t *data;

				if (smp->signal != ls->sig)
					continue;
				if (ls->has_last && value_equal(ls->last, smp->value))
					break;
				ls->has_last = true;
				ls->last = smp->value;
				data = json_pack("{s:I,s:s,s:o,s:s*,s:s*}", "t_us",
						 (json_int_t)f->t_us, "signal",
						 dbc_signal_name(ls->sig), "value",
						 value_json(smp->value), "label", smp->choice, "unit",
						 *dbc_signal_unit(ls->sig) ? dbc_signal_unit(ls->sig)
									    : NULL);
				/* A slow subscriber is sent "dropped" and closed by the server;
				 * live_close marks it and the sweep below frees it. */
				api_subscription_send(s->sub, "live", data);
				break;
			}
		}
	}
	live_sweep(m);
}

void methods_set_scan_status(struct methods *m, methods_scan_status_fn fn, void *userdata)
{
	m->scan_status = fn;
	m->scan_status_userdata = userdata;
}

void methods_set_mark_hook(struct methods *m, methods_mark_fn fn, void *userdata)
{
	m->mark_hook = fn;
	m->mark_userdata = userdata;
}

struct timeline *methods_timeline(struct methods *m)
{
	return m->tl;
}

struct timeline_symbols *methods_symbols(struct methods *m)
{
	return m->syms;
}
