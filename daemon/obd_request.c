/* SPDX-License-Identifier: MIT */
#include "obd_request.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bodydiag/dtc.h"
#include "bodydiag/linux/isotp_socket.h"
#include "bodydiag/obd.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "core.h"
#include "list.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "policy.h"
#include "uds_port.h"
#include "vehicle.h"

#define MAX_PIDS 6 /* ISO 15765-4: a functional request is one single frame */

/*
 * One obd.request waiting for the broker. A functional request cannot be cancelled, so
 * the call outlives its client and the module: the broker's callback frees it.
 */
struct call {
	struct list_head link;	 /* in the module's list while it exists */
	struct obd_requests *o;	 /* NULL once the module went away */
	struct api_request *req; /* NULL once failed (client gone, daemon stopping) */
	struct vehicle *vehicle; /* the ECUs' names */
	uint8_t mode;
	uint8_t pdu[8];
	size_t len;
};

struct obd_requests {
	struct core *c;
	struct list_head calls;
};

static char *hex(const uint8_t *p, size_t n)
{
	char *s = malloc(2 * n + 1);

	for (size_t i = 0; s && i < n; i++)
		snprintf(s + 2 * i, 3, "%02x", p[i]);
	if (s)
		s[2 * n] = '\0';
	return s;
}

static void set_hex(json_t *o, const char *key, const uint8_t *p, size_t n)
{
	char *s = hex(p, n);

	json_object_set_new(o, key, s ? json_string(s) : json_null());
	free(s);
}

/* Mode 01: every PID of the answer, scaled where SAE J1979 gives a formula. */
static void decode_pids(json_t *o, const uint8_t *resp, size_t len)
{
	struct obd_pid_value v[MAX_PIDS * 2];
	struct obd_mode01_response mr;
	json_t *pids;

	if (obd_parse_mode01(resp, len, v, ARRAY_SIZE(v), &mr) < 0 || mr.result != OBD_RESULT_OK) {
		json_object_set_new(o, "decode_error", json_string(obd_result_name(mr.result)));
		return;
	}
	pids = json_array();
	for (size_t i = 0; i < mr.n; i++) {
		json_t *p = json_pack("{s:i,s:s*}", "pid", v[i].pid, "name", obd_pid_name(v[i].pid));
		double value;

		set_hex(p, "data", v[i].data, v[i].len);
		if (obd_decode_pid(v[i].pid, v[i].data, v[i].len, &value) == 0) {
			json_object_set_new(p, "value", json_real(value));
			if (obd_pid_unit(v[i].pid))
				json_object_set_new(p, "unit", json_string(obd_pid_unit(v[i].pid)));
		}
		json_array_append_new(pids, p);
	}
	json_object_set_new(o, "pids", pids);
}

/* Modes 03/07/0A: the DTC list as SAE J2012 text. */
static void decode_dtcs(json_t *o, uint8_t mode, const uint8_t *resp, size_t len)
{
	uint16_t codes[(4095 - 2) / 2];
	struct obd_dtc_list dl;
	json_t *dtcs;

	if (obd_parse_dtcs(mode, resp, len, codes, ARRAY_SIZE(codes), &dl) < 0 ||
	    dl.result != OBD_RESULT_OK) {
		json_object_set_new(o, "decode_error", json_string(obd_result_name(dl.result)));
		return;
	}
	dtcs = json_array();
	for (size_t i = 0; i < dl.n; i++) {
		char text[DTC_TEXT_MAX];

		if (dtc_format_obd(codes[i], text, sizeof(text)) == 0)
			json_array_append_new(dtcs, json_string(text));
	}
	json_object_set_new(o, "dtcs", dtcs);
}

/* One responder's answer, or NULL when it stayed silent (ISO 15765-4: an ECU that does
 * not support the request does not answer a functional one). */
static json_t *answer_json(const struct call *k, const struct uds_broker_functional_answer *a)
{
	const struct profile_ecu *e = vehicle_ecu_at(k->vehicle, a->ecu);
	const uint8_t *r = a->resp;
	json_t *o;

	if (!r && !a->transport_errno)
		return NULL;
	o = json_pack("{s:s}", "ecu", e ? e->id : "?");
	if (!r) {
		json_object_set_new(o, "transport",
				    json_string(uds_broker_transport_name(a->transport_errno)));
		json_object_set_new(o, "text", json_string(isotp_socket_error_name(a->transport_errno)));
		return o;
	}
	set_hex(o, "response", r, a->resp_len);
	if (r[0] == UDS_SID_NEGATIVE_RESPONSE && a->resp_len >= 3) {
		char text[96];

		snprintf(text, sizeof(text), "0x%02x %s", r[2], uds_nrc_name(r[2]));
		json_object_set_new(o, "nrc", json_string(text));
		json_object_set_new(o, "nrc_code", json_integer(r[2]));
		return o;
	}
	if (r[0] != (uint8_t)(k->mode + 0x40)) {
		json_object_set_new(o, "decode_error", json_string(obd_result_name(OBD_RESULT_WRONG_MODE)));
		return o;
	}
	switch (k->mode) {
	case OBD_MODE_CURRENT_DATA:
		decode_pids(o, r, a->resp_len);
		break;
	case OBD_MODE_STORED_DTCS:
	case OBD_MODE_PENDING_DTCS:
	case OBD_MODE_PERMANENT_DTCS:
		decode_dtcs(o, k->mode, r, a->resp_len);
		break;
	case OBD_MODE_CLEAR_DTCS:
		json_object_set_new(o, "cleared", json_true());
		break;
	case OBD_MODE_VEHICLE_INFO:
		if (k->pdu[1] == 0x02) {
			struct obd_vin vin;

			if (obd_parse_vin(r, a->resp_len, &vin) == 0 && vin.result == OBD_RESULT_OK)
				json_object_set_new(o, "vin", json_string(vin.vin));
			else
				json_object_set_new(o, "decode_error",
						    json_string(obd_result_name(vin.result)));
		}
		break;
	default: /* mode 02: the freeze frame as it came (response) */
		break;
	}
	return o;
}

static void call_free(struct call *k)
{
	if (k->o)
		list_del(&k->link);
	vehicle_unref(k->vehicle);
	free(k);
}

static void on_answers(void *userdata, const struct uds_broker_functional_answer *a, size_t n)
{
	struct call *k = userdata;
	json_t *answers, *silent, *res;
	char *req;

	if (!k->req) {
		call_free(k);
		return;
	}
	answers = json_array();
	silent = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *o = answer_json(k, &a[i]);
		const struct profile_ecu *e = vehicle_ecu_at(k->vehicle, a[i].ecu);

		if (o)
			json_array_append_new(answers, o);
		else
			json_array_append_new(silent, json_string(e ? e->id : "?"));
	}
	req = hex(k->pdu, k->len);
	res = json_pack("{s:i,s:s,s:o,s:o}", "mode", k->mode, "request", req ? req : "", "answers",
			answers, "silent", silent);
	free(req);
	api_request_reply(k->req, res);
	call_free(k);
}

static void on_cancel(void *data)
{
	struct call *k = data;

	/* The broker's answer still comes (and frees k); nobody wants it now. */
	api_request_fail(k->req, API_ERROR_UNAVAILABLE, "client gone");
	k->req = NULL;
}

/* params.pid (one) or params.pids (an array) into pids; the count, or -1 after failing req. */
static int pids_param(struct api_request *req, json_t *params, uint8_t *pids)
{
	json_t *one = json_object_get(params, "pid"), *many = json_object_get(params, "pids"), *v;
	uint64_t x;
	size_t i;

	if (one && many) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "give \"pid\" or \"pids\", not both");
		return -1;
	}
	if (one) {
		if (methods_number_param(one, 0xff, &x) < 0)
			goto bad;
		pids[0] = (uint8_t)x;
		return 1;
	}
	if (!many)
		return 0;
	if (!json_is_array(many) || json_array_size(many) > MAX_PIDS)
		goto bad;
	json_array_foreach(many, i, v) {
		if (methods_number_param(v, 0xff, &x) < 0)
			goto bad;
		pids[i] = (uint8_t)x;
	}
	return (int)json_array_size(many);
bad:
	api_request_fail(req, API_ERROR_INVALID_PARAMS,
			 "\"pid\" is a number 0..255, \"pids\" an array of 1..%d of them", MAX_PIDS);
	return -1;
}

static void method_obd_request(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"mode", "pid", "pids", NULL};
	struct core *c = userdata;
	struct obd_requests *o = c->obd;
	json_t *m = json_object_get(params, "mode");
	uint8_t pids[MAX_PIDS];
	uint64_t mode;
	struct call *k;
	char why[192];
	int n, r;

	if (api_params_check(req, params, allowed) < 0)
		return;
	if (!m || methods_number_param(m, 0xff, &mode) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "\"mode\" is required: an OBD mode 0x01..0x0A (integer or \"0x..\")");
		return;
	}
	n = pids_param(req, params, pids);
	if (n < 0)
		return;
	k = calloc(1, sizeof(*k));
	if (!k) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	k->mode = (uint8_t)mode;
	if (obd_build_request(k->mode, pids, (size_t)n, k->pdu, sizeof(k->pdu) - 1, &k->len) < 0) {
		free(k);
		api_request_fail(req, API_ERROR_INVALID_PARAMS,
				 "mode 0x%02x with %d PID(s): mode 0x01 takes 1-6 PIDs, 0x02 "
				 "PID/frame pairs (2, 4 or 6 numbers), 0x09 one InfoType, 0x03, "
				 "0x04, 0x07 and 0x0A none; other modes are not offered",
				 (unsigned)mode, n);
		return;
	}
	/* Mode 04 erases what an inspection station reads: an admin's decision. */
	if (k->mode == OBD_MODE_CLEAR_DTCS &&
	    api_request_peer(req)->privilege < API_PRIVILEGE_ADMIN) {
		free(k);
		api_request_fail(req, API_ERROR_PERMISSION_DENIED,
				 "mode 0x04 clears the emission-related DTCs: it needs the admin "
				 "privilege");
		return;
	}
	switch (policy_begin(c->policy, POLICY_FUNCTIONAL, why, sizeof(why))) {
	case POLICY_GO:
		break;
	case POLICY_RATE_LIMITED:
		free(k);
		api_request_fail(req, API_ERROR_RATE_LIMITED, "%s", why);
		return;
	default:
		free(k);
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
		return;
	}
	k->vehicle = vehicle_ref(c->vehicle);
	r = uds_port_functional(&c->uds, k->pdu, k->len, on_answers, k);
	if (r < 0) {
		vehicle_unref(k->vehicle);
		free(k);
		if (r == -ENOENT)
			api_request_fail(req, API_ERROR_UNAVAILABLE,
					 "no ECU of the profile answers functional requests "
					 "(functional = in its [ecu] section)");
		else if (r == -EBUSY)
			api_request_fail(req, API_ERROR_UNAVAILABLE,
					 "another functional request is in flight; retry");
		else
			api_request_fail(req, API_ERROR_UNAVAILABLE, "cannot send: %s",
					 strerror(-r));
		return;
	}
	k->o = o;
	k->req = req;
	list_add_tail(&o->calls, &k->link);
	api_request_set_cancel(req, on_cancel, k);
}

static const struct api_method method_table[] = {
	{.name = "obd.request", .privilege = API_PRIVILEGE_READ, .handler = method_obd_request,
	 .summary = "a functional OBD request (0x7DF): every responding ECU's answer"},
};

static int obd_new(struct core *c)
{
	struct obd_requests *o = calloc(1, sizeof(*o));

	if (!o)
		return -ENOMEM;
	o->c = c;
	list_init(&o->calls);
	c->obd = o;
	return 0;
}

static void obd_set_vehicle(struct core *c, struct vehicle *v)
{
	/* A call keeps the snapshot it started with for its answers' names. */
	(void)c;
	(void)v;
}

static void obd_free(struct core *c)
{
	struct obd_requests *o = c->obd;

	if (!o)
		return;
	while (!list_empty(&o->calls)) {
		struct call *k = list_first_entry(&o->calls, struct call, link);

		list_del(&k->link);
		k->o = NULL;
		if (k->req)
			api_request_fail(k->req, API_ERROR_UNAVAILABLE, "daemon stopping");
		k->req = NULL;
	}
	free(o);
	c->obd = NULL;
}

const struct module obd_module = {
	.name = "OBD requests",
	.new = obd_new,
	.set_vehicle = obd_set_vehicle,
	.free = obd_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};
