/* SPDX-License-Identifier: MIT */
#include "actuator.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/uds.h"
#include "core.h"
#include "log.h"
#include "macro.h"
#include "policy.h"
#include "role_watch.h"
#include "router.h"
#include "vehicle.h"

#define MAX_PDU 8
#define STOP_CLEANUP_US 1500000 /* at stop, the clean-up gets this long */

enum sig {
	SIG_CMD,
	SIG_CURRENT,
	SIG_AJAR,
	SIG_MAX,
};

/* What the test watches: roles of the profile, or the [safety] signals instead. */
static const char *const sig_role[SIG_MAX] = {"actuator_cmd", "actuator_current", "ajar"};

static const char *const phase_names[] = {
	[ACTUATOR_SESSION_EXTENDED] = "extended_session",
	[ACTUATOR_OUTPUT_ON] = "short_term_adjustment",
	[ACTUATOR_RETURN_CONTROL] = "return_control_to_ecu",
	[ACTUATOR_SESSION_DEFAULT] = "default_session",
};

struct actuator {
	struct core *c;
	struct vehicle *vehicle;
	struct router_watch *watch;
	struct role_watch w[SIG_MAX];

	/* the running test */
	enum actuator_phase phase;
	struct api_request *req; /* NULL when idle; an orphan once the client went */
	bool client_gone;
	char ecu[UDS_BROKER_MAX_NAME];
	uint16_t did;
	unsigned duration_ms;
	struct uds_port_request *handle;
	uint8_t pdu[MAX_PDU];
	size_t pdu_len;
	struct timer timer;
	int64_t started_us, window_end_us;
	json_t *steps;
	bool accepted;	 /* positive 0x2F 0x03 */
	int nrc;	 /* of the 0x2F 0x03, -1 none */
	const char *failure; /* outcome name when the 0x2F got no response */
	bool watching;	 /* frames count for the verdict */
	bool cmd_seen;
	double peak_current;
	unsigned current_samples;
	int ajar_before; /* -1 unknown, 0 closed, 1 open */
	bool ajar_opened;
};

static void hex(const uint8_t *p, size_t n, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < n && 2 * i + 2 < cap; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
	out[2 * i] = '\0';
}

/* ---- signals ---- */

static void on_frame(void *userdata, const struct router_frame *f)
{
	struct actuator *a = userdata;

	for (size_t k = 0; k < SIG_MAX; k++) {
		struct role_watch *w = &a->w[k];

		if (!role_watch_take(w, f) || (!a->watching && a->phase != ACTUATOR_WATCH))
			continue;
		if (k == SIG_CMD && w->value != 0.0) /* on */
			a->cmd_seen = true;
		else if (k == SIG_CURRENT) {
			a->current_samples++;
			if (w->value > a->peak_current)
				a->peak_current = w->value;
		} else if (k == SIG_AJAR && w->value != 0.0) /* open */
			a->ajar_opened = true;
	}
}

/* The command read back by the output control DID, where the profile maps no broadcast
 * actuator_cmd: its first signal, when the DBC broadcasts one of that name. */
static const char *command_signal_of(const struct profile *p, const char *ecu, uint32_t did)
{
	const struct profile_did *d = p && did ? profile_did_find(p, ecu, (uint16_t)did) : NULL;

	return d && profile_did_signal_count(d) > 0 ? dbc_signal_name(profile_did_signal_at(d, 0))
						    : NULL;
}

/* The ECU with a release output: the first one the profile gives one. */
static const struct profile_ecu *output_ecu(struct vehicle *v)
{
	for (size_t i = 0; i < vehicle_ecu_count(v); i++)
		if (vehicle_ecu_at(v, i)->output_control_did)
			return vehicle_ecu_at(v, i);
	return NULL;
}

static void use_vehicle(struct actuator *a, struct vehicle *v)
{
	const struct config *cfg = &a->c->cfg;
	const struct profile_ecu *e = output_ecu(v);
	const char *override[SIG_MAX] = {"", cfg->safety.current_signal, cfg->safety.ajar_signal};

	router_watch_want_none(a->watch);
	for (size_t k = 0; k < SIG_MAX; k++) {
		unsigned role;
		if (role_find(sig_role[k], strlen(sig_role[k]), &role) < 0)
			continue;
		if (role_watch_bind(&a->w[k], role, override[k], v, a->watch) != ROLE_WATCH_PROFILE &&
		    k == SIG_CMD && e)
			role_watch_bind(&a->w[k], role,
					command_signal_of(vehicle_profile(v), e->id,
							  e->output_control_did),
					v, a->watch);
	}
	vehicle_set(&a->vehicle, v);
}

/* A watch that can see its role on the bus. */
static bool watched(const struct role_watch *w)
{
	return w->via == ROLE_WATCH_PROFILE || w->via == ROLE_WATCH_SIGNAL;
}

/* ---- the test ---- */

static void advance(struct actuator *a);

static void add_step(struct actuator *a, const struct uds_broker_result *r, int submit_err)
{
	char req[2 * MAX_PDU + 1], resp[2 * 64 + 1];
	json_t *o;

	hex(a->pdu, a->pdu_len, req, sizeof(req));
	o = json_pack("{s:s, s:s, s:f}", "step", phase_names[a->phase], "request", req, "t",
		      (double)(clock_now(&a->c->clock) - a->started_us) / 1e6);
	if (!o)
		return;
	if (submit_err) {
		json_object_set_new(o, "outcome", json_string("not_sent"));
		json_object_set_new(o, "error", json_string(strerror(-submit_err)));
	} else {
		json_object_set_new(o, "outcome", json_string(uds_broker_outcome_name(r->outcome)));
		json_object_set_new(o, "ms", json_real((double)r->elapsed_us / 1e3));
		if (r->outcome == UDS_BROKER_RESPONSE) {
			hex(r->resp, r->resp_len < 64 ? r->resp_len : 64, resp, sizeof(resp));
			json_object_set_new(o, "response", json_string(resp));
			if (r->resp_len >= 3 && r->resp[0] == UDS_SID_NEGATIVE_RESPONSE)
				json_object_set_new(o, "nrc", json_integer(r->resp[2]));
		} else if (r->outcome == UDS_BROKER_TRANSPORT_ERROR) {
			json_object_set_new(o, "transport",
					    json_string(uds_broker_transport_name(r->transport_errno)));
		}
	}
	json_array_append_new(a->steps, o);
}

static const char *verdict(const struct actuator *a, bool commanded, bool flowed)
{
	if (!a->accepted)
		return a->nrc >= 0 ? "refused" : "no_response";
	if (!commanded)
		return "not_commanded";
	if (!flowed)
		return "no_current";
	if (a->ajar_before == 1)
		return "already_open";
	return a->ajar_opened ? "released" : "not_released";
}

static void test_end(struct actuator *a)
{
	timer_stop(&a->timer);
	uds_port_cancel(&a->c->uds, a->handle);
	a->handle = NULL;
	json_decref(a->steps);
	a->steps = NULL;
	a->req = NULL;
	if (a->phase != ACTUATOR_IDLE)
		policy_end(a->c->policy, POLICY_ACTUATOR_TEST);
	a->phase = ACTUATOR_IDLE;
	a->watching = false;
}

static void finish(struct actuator *a)
{
	struct api_request *req = a->req;
	bool commanded = watched(&a->w[SIG_CMD]) ? a->cmd_seen : a->accepted;
	bool flowed = a->peak_current >= ACTUATOR_CURRENT_FLOWED_A;
	const char *v = verdict(a, commanded, flowed);
	json_t *res;

	res = json_pack("{s:s, s:I, s:b, s:b, s:b, s:f, s:I, s:b, s:s, s:O, s:f}", "ecu", a->ecu,
			"duration_ms", (json_int_t)a->duration_ms, "accepted", a->accepted,
			"commanded", commanded, "current_flowed", flowed, "peak_current",
			a->peak_current, "current_samples", (json_int_t)a->current_samples,
			"latch_released", a->ajar_opened && a->ajar_before != 1, "verdict", v, "steps", a->steps,
			"duration", (double)(clock_now(&a->c->clock) - a->started_us) / 1e6);
	if (res) {
		char did[8];
		snprintf(did, sizeof(did), "0x%04X", a->did);
		json_object_set_new(res, "did", json_string(did));
		json_object_set_new(res, "nrc", a->nrc >= 0 ? json_integer(a->nrc) : json_null());
		if (a->nrc >= 0 && uds_nrc_name((uint8_t)a->nrc))
			json_object_set_new(res, "nrc_name", json_string(uds_nrc_name((uint8_t)a->nrc)));
		if (a->failure)
			json_object_set_new(res, "failure", json_string(a->failure));
		json_object_set_new(res, "ajar_before",
				    a->ajar_before < 0 ? json_null() : json_boolean(a->ajar_before));
		json_object_set_new(res, "signals",
				    json_pack("{s:s?, s:s?, s:s?}", "command",
					      watched(&a->w[SIG_CMD]) ? a->w[SIG_CMD].name : NULL,
					      "current",
					      watched(&a->w[SIG_CURRENT]) ? a->w[SIG_CURRENT].name : NULL,
					      "ajar", watched(&a->w[SIG_AJAR]) ? a->w[SIG_AJAR].name : NULL));
	}
	log_info("actuator.test %s 0x%04X: %s (peak %.2f A)%s", a->ecu, a->did, v, a->peak_current,
		 a->client_gone ? ", client gone" : "");
	test_end(a);
	if (!req) /* the clean-up after a reload or at stop: nobody to tell */
		json_decref(res);
	else if (res)
		api_request_reply(req, res);
	else
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
}

static void on_done(void *userdata, const struct uds_broker_result *r)
{
	struct actuator *a = userdata;
	struct uds_io_control_response io;

	a->handle = NULL;
	add_step(a, r, 0);
	switch (a->phase) {
	case ACTUATOR_SESSION_EXTENDED:
		/* Without the session the 0x2F would be refused: straight to the clean-up,
		 * which is sent anyway in case the ECU did switch. */
		if (r->outcome == UDS_BROKER_RESPONSE && r->resp_len >= 1 && r->resp[0] == 0x50 &&
		    !a->client_gone)
			a->phase = ACTUATOR_OUTPUT_ON;
		else
			a->phase = ACTUATOR_RETURN_CONTROL;
		if (a->phase == ACTUATOR_RETURN_CONTROL && r->outcome == UDS_BROKER_RESPONSE &&
		    r->resp_len >= 3 && r->resp[0] == UDS_SID_NEGATIVE_RESPONSE)
			a->nrc = r->resp[2];
		else if (a->phase == ACTUATOR_RETURN_CONTROL && r->outcome != UDS_BROKER_RESPONSE)
			a->failure = uds_broker_outcome_name(r->outcome);
		break;
	case ACTUATOR_OUTPUT_ON:
		if (r->outcome == UDS_BROKER_RESPONSE &&
		    uds_parse_io_control(a->pdu, a->pdu_len, r->resp, r->resp_len, &io) == 0) {
			if (io.r.result == UDS_RESULT_OK)
				a->accepted = true;
			else if (io.r.result == UDS_RESULT_NEGATIVE)
				a->nrc = io.r.nrc;
			else
				a->failure = uds_result_name(io.r.result);
		} else if (r->outcome != UDS_BROKER_RESPONSE) {
			a->failure = uds_broker_outcome_name(r->outcome);
		}
		if (a->accepted && !a->client_gone) {
			a->phase = ACTUATOR_WATCH;
			a->window_end_us = clock_now(&a->c->clock) + (int64_t)a->duration_ms * 1000;
			timer_start(&a->timer, (int64_t)a->duration_ms * 1000);
			return;
		}
		a->phase = ACTUATOR_RETURN_CONTROL;
		break;
	case ACTUATOR_RETURN_CONTROL:
		a->phase = ACTUATOR_SESSION_DEFAULT;
		break;
	case ACTUATOR_SESSION_DEFAULT:
		a->phase = ACTUATOR_DONE;
		break;
	case ACTUATOR_IDLE:
	case ACTUATOR_WATCH:
	case ACTUATOR_DONE:
	case ACTUATOR_PHASE_MAX:
		return;
	}
	advance(a);
}

/* Sends the request of the current phase; a request the broker refuses is recorded and
 * skipped, so that the clean-up steps are still tried. */
static void advance(struct actuator *a)
{
	for (;;) {
		size_t len = 0;
		int r = -EINVAL;

		switch (a->phase) {
		case ACTUATOR_SESSION_EXTENDED:
			r = uds_build_session_control(0x03, false, a->pdu, sizeof(a->pdu), &len);
			break;
		case ACTUATOR_OUTPUT_ON: {
			const uint8_t on = 0x01;
			r = uds_build_io_control(a->did, UDS_IO_SHORT_TERM_ADJUSTMENT, &on, 1, NULL, 0,
						 a->pdu, sizeof(a->pdu), &len);
			break;
		}
		case ACTUATOR_RETURN_CONTROL:
			r = uds_build_io_control(a->did, UDS_IO_RETURN_CONTROL_TO_ECU, NULL, 0, NULL, 0,
						 a->pdu, sizeof(a->pdu), &len);
			break;
		case ACTUATOR_SESSION_DEFAULT:
			r = uds_build_session_control(0x01, false, a->pdu, sizeof(a->pdu), &len);
			break;
		case ACTUATOR_DONE:
			finish(a);
			return;
		case ACTUATOR_IDLE:
		case ACTUATOR_WATCH:
		case ACTUATOR_PHASE_MAX:
			return;
		}
		a->pdu_len = len;
		/* Watch from the request on: the output can switch before its answer arrives. */
		a->watching = a->phase == ACTUATOR_OUTPUT_ON;
		if (r == 0)
			r = uds_port_submit(&a->c->uds, a->ecu, UDS_BROKER_PRIORITY_INTERACTIVE, a->pdu,
					    len, on_done, a, &a->handle);
		if (r == 0)
			return;
		log_warning_errno(-r, "actuator.test: cannot send %s", phase_names[a->phase]);
		add_step(a, NULL, r);
		if (a->phase == ACTUATOR_OUTPUT_ON)
			a->failure = "not_sent";
		a->phase = a->phase == ACTUATOR_SESSION_EXTENDED || a->phase == ACTUATOR_OUTPUT_ON
				   ? ACTUATOR_RETURN_CONTROL
				   : a->phase + 1;
	}
}

static void on_timer(struct timer *t)
{
	struct actuator *a = container_of(t, struct actuator, timer);

	if (a->phase != ACTUATOR_WATCH)
		return;
	a->watching = false;
	a->phase = ACTUATOR_RETURN_CONTROL;
	advance(a);
}

/* The client went: the output must not stay under our control, cut the window short. */
static void on_client_gone(void *data)
{
	struct actuator *a = data;

	a->client_gone = true;
	log_notice("actuator.test: client gone, returning control to the ECU");
	if (a->phase == ACTUATOR_WATCH) {
		timer_stop(&a->timer);
		a->watching = false;
		a->phase = ACTUATOR_RETURN_CONTROL;
		advance(a);
	}
	/* Otherwise a request is on its way; on_done goes to the clean-up from there. */
}

static void method_test(struct api_request *req, json_t *params, void *userdata)
{
	struct actuator *a = ((struct core *)userdata)->actuator;
	const char *ecu_name = NULL;
	json_int_t duration = ACTUATOR_DEFAULT_DURATION_MS;
	const struct profile_ecu *pe;
	json_error_t jerr;
	char why[192];
	int i;

	if (json_unpack_ex(params, &jerr, JSON_STRICT, "{s?s, s?I}", "ecu", &ecu_name, "duration_ms",
			   &duration) < 0) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "%s", jerr.text);
		return;
	}
	if (duration < ACTUATOR_MIN_DURATION_MS || duration > ACTUATOR_MAX_DURATION_MS) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "duration_ms must be %d..%d",
				 ACTUATOR_MIN_DURATION_MS, ACTUATOR_MAX_DURATION_MS);
		return;
	}
	if (!a->c->uds.ops || !vehicle_profile(a->vehicle)) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no vehicle profile loaded");
		return;
	}
	if (!ecu_name) {
		/* The ECU that has a release output, when the profile names one. */
		pe = output_ecu(a->vehicle);
		if (!pe) {
			api_request_fail(req, API_ERROR_NOT_FOUND,
					 "no ECU of the profile has an output_control_did");
			return;
		}
		ecu_name = pe->id;
	}
	i = vehicle_ecu_find(a->vehicle, ecu_name);
	if (i < 0) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "no ECU \"%s\" in the profile", ecu_name);
		return;
	}
	pe = vehicle_ecu_at(a->vehicle, (size_t)i);
	if (!pe->output_control_did) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "ECU %s has no output_control_did in the profile",
				 ecu_name);
		return;
	}
	if (a->phase != ACTUATOR_IDLE) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "an actuator test is already running");
		return;
	}
	switch (policy_begin(a->c->policy, POLICY_ACTUATOR_TEST, why, sizeof(why))) {
	case POLICY_GO:
		break;
	case POLICY_RATE_LIMITED:
		api_request_fail(req, API_ERROR_RATE_LIMITED, "%s", why);
		return;
	default:
		log_notice("actuator.test refused: %s", why);
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
		return;
	}
	a->steps = json_array();
	a->phase = ACTUATOR_SESSION_EXTENDED;
	if (!a->steps) {
		test_end(a);
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	a->req = req;
	a->client_gone = false;
	snprintf(a->ecu, sizeof(a->ecu), "%s", pe->id);
	a->did = (uint16_t)pe->output_control_did;
	a->duration_ms = (unsigned)duration;
	a->started_us = clock_now(&a->c->clock);
	a->accepted = a->cmd_seen = a->ajar_opened = false;
	a->nrc = -1;
	a->failure = NULL;
	a->peak_current = 0;
	a->current_samples = 0;
	a->ajar_before = watched(&a->w[SIG_AJAR]) && a->w[SIG_AJAR].seen
				 ? a->w[SIG_AJAR].value != 0.0
				 : -1;
	api_request_set_cancel(req, on_client_gone, a);
	log_notice("actuator.test: %s 0x%04X for %u ms (uid %u)", a->ecu, a->did, a->duration_ms,
		   (unsigned)api_request_peer(req)->uid);
	advance(a);
}

static const struct api_method method_table[] = {
	{.name = "actuator.test", .privilege = API_PRIVILEGE_ADMIN, .handler = method_test,
	 .summary = "0x2F on the release output (stationary only): commanded / current / latch"},
};

/* ---- the module ---- */

/*
 * The client's request ends now (reload, stop), the clean-up does not: whatever was sent,
 * ReturnControlToECU and 0x10 0x01 go out again from the start of the clean-up. Returns
 * true when a clean-up is to run.
 */
static bool detach(struct actuator *a, const char *why)
{
	struct api_request *req = a->req;

	if (a->phase == ACTUATOR_IDLE)
		return false;
	a->req = NULL;
	if (req)
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s; control returned to the ECU", why);
	timer_stop(&a->timer);
	uds_port_cancel(&a->c->uds, a->handle);
	a->handle = NULL;
	a->watching = false;
	a->client_gone = true;
	if (a->phase != ACTUATOR_SESSION_DEFAULT)
		a->phase = ACTUATOR_RETURN_CONTROL;
	return true;
}

static int actuator_new(struct core *c)
{
	static const struct router_watch_ops ops = {.frame = on_frame};
	struct actuator *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->c = c;
	c->actuator = a;
	timer_init(&a->timer, &c->clock, on_timer);
	r = router_watch_new(c->router, &ops, a, &a->watch);
	if (r < 0)
		return r;
	use_vehicle(a, c->vehicle);
	return 0;
}

/* A reload mid-test: the client is told, the clean-up goes out to the ECU of that name
 * (through the broker that now has the new profile's ECUs). */
static void actuator_set_vehicle(struct core *c, struct vehicle *v)
{
	struct actuator *a = c->actuator;
	bool cleanup = detach(a, "configuration reloaded");

	use_vehicle(a, v);
	if (!cleanup)
		return;
	if (vehicle_ecu_find(v, a->ecu) < 0)
		log_warning("actuator.test: ECU %s gone after the reload; it returns control at its "
			    "S3 timeout", a->ecu);
	advance(a);
}

static void on_guard(struct timer *t)
{
	/* Only wakes the loop during the clean-up at stop; keeps itself going. */
	timer_start(t, 100000);
}

static void actuator_free(struct core *c)
{
	struct actuator *a = c->actuator;

	if (!a)
		return;
	if (detach(a, "daemon stopping")) {
		/* The main loop has ended: let time pass a little longer, for the clean-up only
		 * (bounded: the guard timer wakes the loop, the broker's P2 ends each request). */
		int64_t end = clock_now(&c->clock) + STOP_CLEANUP_US;
		struct timer guard;

		timer_init(&guard, &c->clock, on_guard);
		timer_start(&guard, 100000);
		advance(a);
		while (a->phase != ACTUATOR_IDLE && clock_now(&c->clock) < end)
			clock_run_once(&c->clock);
		timer_stop(&guard);
	}
	if (a->phase != ACTUATOR_IDLE) {
		log_warning("actuator.test: clean-up unfinished at stop; the ECU returns control at "
			    "its S3 timeout");
		test_end(a);
	}
	router_watch_free(a->watch);
	vehicle_unref(a->vehicle);
	free(a);
	c->actuator = NULL;
}

const struct module actuator_module = {
	.name = "actuator test",
	.new = actuator_new,
	.set_vehicle = actuator_set_vehicle,
	.free = actuator_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};

enum actuator_phase actuator_phase(const struct actuator *a)
{
	return a ? a->phase : ACTUATOR_IDLE;
}
