/* SPDX-License-Identifier: MIT */
#include "methods.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/dtc.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "bus.h"
#include "core.h"
#include "identity.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "records.h"
#include "router.h"
#include "scan.h"
#include "uds_broker.h"
#include "vehicle.h"

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
	struct uds_port_request *handle;
	enum pending_kind kind;
	char ecu[UDS_BROKER_MAX_NAME];
	struct vehicle *vehicle;       /* what did points into */
	const struct profile_did *did; /* did.read of a profile DID, else NULL */
	uint16_t did_id;
	size_t len;
	uint8_t pdu[16];
};

struct methods {
	struct core *c;
	struct vehicle *vehicle;
	struct list_head pending;
};

/* ---- parameters ---- */

int methods_number_param(json_t *v, uint64_t max, uint64_t *ret)
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

/* The ECU named by params.ecu, or fallback, or the profile's first ECU. Returns its
 * index in the vehicle, or -1 after failing req. */
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
	if (vehicle_ecu_count(m->vehicle) == 0 || !m->c->uds.ops) {
		api_request_fail(req, API_ERROR_UNAVAILABLE,
				 "no ECUs configured (no vehicle profile loaded)");
		return -1;
	}
	if (v)
		name = json_string_value(v);
	if (!name)
		return 0;
	i = vehicle_ecu_find(m->vehicle, name);
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
	vehicle_unref(p->vehicle);
	free(p);
}

static void pending_cancel(void *data)
{
	struct pending *p = data;

	/* The client went away: the broker keeps waiting for an answer already on its way
	 * (so that it is not taken for the next request's) but drops it. */
	uds_port_cancel(&p->m->c->uds, p->handle);
	api_request_fail(p->req, API_ERROR_UNAVAILABLE, "client gone");
	pending_free(p);
}

static json_t *nrc_result(const char *ecu, uint8_t nrc)
{
	char text[96];

	snprintf(text, sizeof(text), "0x%02x %s", nrc, uds_nrc_name(nrc));
	return json_pack("{s:s,s:s,s:i}", "ecu", ecu, "nrc", text, "nrc_code", nrc);
}

/* The API error of a transport failure (docs/api.md: errors on the way to the ECU). */
static enum api_error transport_error(int neg_errno)
{
	switch (-neg_errno) {
	case ETIMEDOUT:
		return API_ERROR_TRANSPORT_TIMEOUT;
	case ECOMM:
	case EILSEQ:
	case EBADMSG:
	case EMSGSIZE:
	case EOVERFLOW:
		return API_ERROR_ISOTP_ERROR;
	case ENETDOWN:
	case ENODEV:
	case ENXIO:
		return API_ERROR_LINK_DOWN;
	default:
		return API_ERROR_TRANSPORT_ERROR;
	}
}

/* Fails req for an outcome other than a response, with the message "ECU: reason: text"
 * (the reason a stable name); returns true when it did. */
static bool fail_outcome(struct api_request *req, const char *ecu,
			 const struct uds_broker_result *r)
{
	const char *reason = uds_broker_outcome_name(r->outcome);

	switch (r->outcome) {
	case UDS_BROKER_RESPONSE:
		return false;
	case UDS_BROKER_NO_RESPONSE:
		api_request_fail(req, API_ERROR_TIMEOUT, "%s: no_response: no answer", ecu);
		return true;
	case UDS_BROKER_TIMEOUT:
		api_request_fail(req, API_ERROR_TIMEOUT,
				 "%s: %s: no response within %s %" PRIu32 " ms", ecu, reason,
				 r->pending ? "P2*" : "P2", r->pending ? r->p2star_ms : r->p2_ms);
		return true;
	case UDS_BROKER_TOO_MANY_PENDING:
		api_request_fail(req, API_ERROR_RESPONSE_PENDING_LIMIT,
				 "%s: %s: still responsePending after %u 0x78 responses", ecu,
				 reason, r->pending);
		return true;
	case UDS_BROKER_TOO_MANY_BUSY:
		api_request_fail(req, API_ERROR_BUSY_LIMIT,
				 "%s: %s: still busyRepeatRequest after %u resends", ecu, reason,
				 r->busy > 0 ? r->busy - 1 : 0);
		return true;
	case UDS_BROKER_TRANSPORT_ERROR:
		api_request_fail(req, transport_error(r->transport_errno), "%s: %s: %s", ecu,
				 uds_broker_transport_name(r->transport_errno),
				 isotp_socket_error_name(r->transport_errno));
		return true;
	case UDS_BROKER_CANCELLED:
	case UDS_BROKER_OUTCOME_MAX:
		break;
	}
	api_request_fail(req, API_ERROR_UNAVAILABLE, "%s: request cancelled (daemon reloading)",
			 ecu);
	return true;
}

static json_t *dtc_json(const struct pending *p, uint32_t code, uint8_t status)
{
	const struct profile *prof = vehicle_profile(p->vehicle);
	char text[DTC_TEXT_MAX], hex[8];
	const struct profile_dtc *pd = prof ? profile_dtc_find(prof, p->ecu, code) : NULL;
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
	const char *ecu = p->ecu;
	struct uds_rdtci_response rr;
	json_t *dtcs;

	if (uds_parse_rdtci(p->pdu, p->len, resp, len, &rr) < 0) {
		api_request_fail(p->req, API_ERROR_INTERNAL, "cannot parse the response");
		return;
	}
	if (rr.r.result == UDS_RESULT_NEGATIVE) {
		api_request_reply(p->req, nrc_result(ecu, rr.r.nrc));
		return;
	}
	if (rr.r.result != UDS_RESULT_OK || rr.shape != UDS_RDTCI_SHAPE_DTC_LIST) {
		api_request_fail(p->req, API_ERROR_INVALID_RESPONSE, "%s: invalid response: %s", ecu,
				 uds_result_name(rr.r.result));
		return;
	}
	/* The exchange itself reached the engine and the history through the router. */
	dtcs = json_array();
	for (size_t i = 0; i < rr.n_dtcs; i++) {
		struct uds_dtc_record d;

		if (uds_rdtci_dtc(&rr, i, &d) < 0)
			break;
		json_array_append_new(dtcs, dtc_json(p, d.dtc, d.status));
	}
	api_request_reply(p->req, json_pack("{s:s,s:i,s:i,s:o}", "ecu", ecu, "mask",
					    (int)p->pdu[2], "availability_mask",
					    (int)rr.availability_mask, "dtcs", dtcs));
}

static void reply_dtc_clear(struct pending *p, const uint8_t *resp, size_t len)
{
	const char *ecu = p->ecu;
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
		api_request_fail(p->req, API_ERROR_INVALID_RESPONSE, "%s: invalid response: %s", ecu,
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
	const char *ecu = p->ecu;
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
		api_request_fail(p->req, API_ERROR_INVALID_RESPONSE, "%s: invalid response: %s", ecu,
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

	if (!fail_outcome(p->req, p->ecu, r)) {
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
	char why[160];
	int r;

	if (policy_begin(m->c->policy, POLICY_CLIENT, why, sizeof(why)) != POLICY_GO) {
		api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s", why);
		pending_free(p);
		return;
	}
	r = uds_port_submit(&m->c->uds, p->ecu, UDS_BROKER_PRIORITY_INTERACTIVE, p->pdu, p->len,
			    pending_done, p, &p->handle);
	if (r < 0) {
		if (r == -ENOBUFS)
			api_request_fail(p->req, API_ERROR_UNAVAILABLE,
					 "the ECU's request queue is full");
		else
			api_request_fail(p->req, API_ERROR_INTERNAL, "cannot queue: %s",
					 strerror(-r));
		pending_free(p);
		return;
	}
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
	p->vehicle = vehicle_ref(m->vehicle);
	snprintf(p->ecu, sizeof(p->ecu), "%s", vehicle_ecu_at(m->vehicle, ecu)->id);
	list_add_tail(&m->pending, &p->link);
	return p;
}

/* ---- the methods ---- */

static void method_status(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {NULL};
	struct core *c = userdata;
	const struct profile *prof = vehicle_profile(c->vehicle);
	const struct dbc *db = vehicle_dbc(c->vehicle);
	bool listen_only = config_never_transmit(&c->cfg) || !c->cfg.scan.enabled;
	struct router_stats rs;
	struct bus_stats st = {0};
	json_t *o;

	if (api_params_check(req, params, allowed) < 0)
		return;
	if (c->bus)
		bus_get_stats(c->bus, &st);
	router_get_stats(c->router, &rs);
	o = json_pack("{s:s,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:s,s:I,s:f,s:I,s:I}",
		      "interface", c->cfg.can.interface, "attached", st.attached, "state",
		      st.attached ? can_link_state_name(st.link.state) : "DETACHED", "bitrate",
		      (json_int_t)st.link.bitrate, "frames", (json_int_t)st.frames,
		      "error_frames", (json_int_t)st.error_frames, "drops",
		      (json_int_t)st.drops, "outages", (json_int_t)st.outages, "restarts",
		      (json_int_t)st.restarts, "listen_only", listen_only, "scan",
		      listen_only ? "disabled" : "idle", "clients",
		      (json_int_t)api_server_client_count(c->api), "uptime_s",
		      (double)(clock_now(&c->clock) - c->start_us) / 1e6, "ecus",
		      (json_int_t)vehicle_ecu_count(c->vehicle), "marks", (json_int_t)rs.marks);
	if (!o) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	if (c->scan) {
		json_t *scan = scan_status_json(c->scan);
		if (scan)
			json_object_set_new(o, "scan", scan);
	}
	if (c->policy)
		json_object_set_new(o, "policy", policy_status_json(c->policy));
	if (c->records)
		json_object_set_new(o, "mqtt", records_mqtt_status(c->records));
	if (c->bus)
		json_object_set_new(o, "controller", bus_status_json(c->bus));
	if (c->identity)
		json_object_set_new(o, "identity", identity_status_json(c->identity));
	json_object_set_new(o, "profile",
			    prof && profile_vehicle_name(prof) ? json_string(profile_vehicle_name(prof))
							      : json_null());
	json_object_set_new(o, "dbc_messages",
			    json_integer(db ? (json_int_t)dbc_message_count(db) : 0));
	api_request_reply(req, o);
}

static void method_ecus(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {NULL};
	struct core *c = userdata;
	size_t n = c->broker ? uds_broker_ecu_count(c->broker) : 0;
	json_t *arr;

	if (api_params_check(req, params, allowed) < 0)
		return;
	arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct uds_broker_ecu_config *e = uds_broker_ecu_config(c->broker, i);
		int k = vehicle_ecu_find(c->vehicle, e->name);
		const struct profile_ecu *pe = k >= 0 ? vehicle_ecu_at(c->vehicle, (size_t)k) : NULL;
		struct uds_broker_stats st;
		char tx[16], rx[16], fn[16], addr[128];

		uds_broker_ecu_stats(c->broker, i, &st);
		snprintf(tx, sizeof(tx), "0x%03" PRIx32, e->addr.tx_id);
		snprintf(rx, sizeof(rx), "0x%03" PRIx32, e->addr.rx_id);
		snprintf(fn, sizeof(fn), "0x%03" PRIx32, e->addr.functional_id);
		isotp_addr_format(&e->addr, addr, sizeof(addr));
		json_array_append_new(
			arr,
			json_pack("{s:s,s:s?,s:s,s:s,s:s,s:s,s:s?,s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:I,"
				  "s:f,s:f,s:f,s:I,s:i,s:i}",
				  "name", e->name, "description", pe ? pe->name : NULL, "tx", tx,
				  "rx", rx, "addressing", isotp_addr_mode_name(e->addr.mode),
				  "address", addr, "functional",
				  e->addr.functional_id ? fn : NULL, "session",
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
	struct methods *m = ((struct core *)userdata)->methods;
	json_t *v = json_object_get(params, "mask");
	uint64_t mask = 0xff;
	struct pending *p;
	int ecu;

	if (api_params_check(req, params, allowed) < 0)
		return;
	if (v && methods_number_param(v, 0xff, &mask) < 0) {
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
	struct methods *m = ((struct core *)userdata)->methods;
	json_t *v = json_object_get(params, "group");
	uint64_t group = UDS_DTC_GROUP_ALL;
	struct pending *p;
	int ecu;

	if (api_params_check(req, params, allowed) < 0)
		return;
	if (v && methods_number_param(v, 0xffffff, &group) < 0) {
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
	struct methods *m = ((struct core *)userdata)->methods;
	const struct profile *prof = vehicle_profile(m->vehicle);
	json_t *v = json_object_get(params, "did");
	const struct profile_did *d = NULL;
	const char *fallback = NULL, *ecu_name;
	uint64_t num = 0;
	struct pending *p;
	uint16_t id;
	int ecu;

	if (api_params_check(req, params, allowed) < 0)
		return;
	if (!v) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "\"did\" is required");
		return;
	}
	if (json_is_string(v) && methods_number_param(v, 0xffff, &num) < 0) {
		const char *name = json_string_value(v);

		if (!prof) {
			api_request_fail(req, API_ERROR_UNAVAILABLE,
					 "no vehicle profile loaded: give the DID by number");
			return;
		}
		d = profile_did_find_name(prof, name);
		if (!d) {
			api_request_fail(req, API_ERROR_NOT_FOUND, "no DID \"%s\" in the profile",
					 name);
			return;
		}
		fallback = profile_did_ecu(d);
	} else if (methods_number_param(v, 0xffff, &num) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"did\" must be a profile name or a number 0..65535");
		return;
	}
	ecu = ecu_param(m, req, params, fallback);
	if (ecu < 0)
		return;
	ecu_name = vehicle_ecu_at(m->vehicle, (size_t)ecu)->id;
	if (d && strcmp(profile_did_ecu(d), ecu_name)) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "DID \"%s\" belongs to ECU \"%s\"",
				 profile_did_name(d), profile_did_ecu(d));
		return;
	}
	id = d ? profile_did_id(d) : (uint16_t)num;
	if (!d && prof)
		d = profile_did_find(prof, ecu_name, id);
	p = pending_new(m, req, PENDING_DID_READ, (size_t)ecu);
	if (!p)
		return;
	p->did = d;
	p->did_id = id;
	uds_build_read_did(&id, 1, p->pdu, sizeof(p->pdu), &p->len);
	pending_submit(p);
}

static void method_mark(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"label", NULL};
	struct core *c = userdata;
	json_t *v = json_object_get(params, "label");
	int64_t t = clock_now(&c->clock);
	uint64_t seq;

	if (api_params_check(req, params, allowed) < 0)
		return;
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= MAX_LABEL || strlen(json_string_value(v)) != json_string_length(v)) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"label\" must be a string of 1..%d bytes", MAX_LABEL - 1);
		return;
	}
	if (router_publish_mark(c->router, t, json_string_value(v), &seq) < 0) {
		api_request_fail(req, API_ERROR_INTERNAL, "cannot record the mark");
		return;
	}
	api_request_reply(req, json_pack("{s:s,s:I,s:I}", "label", json_string_value(v), "t_us",
					 (json_int_t)t, "seq", (json_int_t)seq));
}

static const struct api_method method_table[] = {
	{.name = "status", .privilege = API_PRIVILEGE_READ, .handler = method_status,
	 .summary = "bus state, counters, ECUs, transmit policy, uptime"},
	{.name = "ecus", .privilege = API_PRIVILEGE_READ, .handler = method_ecus,
	 .summary = "the profile's ECUs with session, timing and latency"},
	{.name = "dtc.read", .privilege = API_PRIVILEGE_READ, .handler = method_dtc_read,
	 .summary = "read an ECU's DTCs (0x19 0x02)"},
	{.name = "dtc.clear", .privilege = API_PRIVILEGE_ADMIN, .handler = method_dtc_clear,
	 .summary = "clear an ECU's DTCs (0x14)"},
	{.name = "did.read", .privilege = API_PRIVILEGE_READ, .handler = method_did_read,
	 .summary = "read a DID by profile name or number (0x22)"},
	{.name = "mark", .privilege = API_PRIVILEGE_READ, .handler = method_mark,
	 .summary = "put a user action into the timeline"},
};

/* ---- lifecycle ---- */

static void cancel_all(struct methods *m, const char *why)
{
	while (!list_empty(&m->pending)) {
		struct pending *p = list_first_entry(&m->pending, struct pending, link);

		uds_port_cancel(&m->c->uds, p->handle);
		api_request_fail(p->req, API_ERROR_UNAVAILABLE, "%s", why);
		pending_free(p);
	}
}

static int methods_new(struct core *c)
{
	struct methods *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->c = c;
	m->vehicle = vehicle_ref(c->vehicle);
	list_init(&m->pending);
	c->methods = m;
	return 0;
}

static void methods_set_vehicle(struct core *c, struct vehicle *v)
{
	struct methods *m = c->methods;

	cancel_all(m, "configuration reloaded");
	vehicle_set(&m->vehicle, v);
}

static void methods_free(struct core *c)
{
	struct methods *m = c->methods;

	if (!m)
		return;
	cancel_all(m, "daemon stopping");
	vehicle_unref(m->vehicle);
	free(m);
	c->methods = NULL;
}

const struct module methods_module = {
	.name = "diagnostic methods",
	.new = methods_new,
	.set_vehicle = methods_set_vehicle,
	.free = methods_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};
