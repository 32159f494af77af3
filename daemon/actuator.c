/* SPDX-License-Identifier: MIT */
#include "actuator.h"

#include <errno.h>
#include <ev.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "bodydiag/uds.h"
#include "log.h"
#include "macro.h"
#include "uds_broker.h"

#define MAX_SIGNAL_NAME 128
#define MAX_PDU 8

enum sig {
	SIG_SPEED,
	SIG_GEAR,
	SIG_CMD,
	SIG_CURRENT,
	SIG_AJAR,
	SIG_MAX,
};

static const char *const default_names[SIG_MAX] = {
	[SIG_SPEED] = "VehicleSpeed",	       [SIG_GEAR] = "GearPosition",
	[SIG_CMD] = "TrunkActuatorCmd",	       [SIG_CURRENT] = "TrunkActuatorCurrent",
	[SIG_AJAR] = "TrunkAjar",
};

/* The last value of one DBC signal seen on the bus. */
struct watched {
	const struct dbc_message *msg; /* NULL: not in the DBC */
	const struct dbc_signal *sig;
	bool seen;
	int64_t t_us;
	double value;
	const char *choice; /* VAL_ label, owned by the DBC */
};

enum phase {
	PHASE_IDLE,
	PHASE_SESSION_EXTENDED,
	PHASE_OUTPUT_ON,
	PHASE_WATCH,
	PHASE_RETURN_CONTROL,
	PHASE_SESSION_DEFAULT,
	PHASE_DONE,
};

static const char *const phase_names[] = {
	[PHASE_SESSION_EXTENDED] = "extended_session",
	[PHASE_OUTPUT_ON] = "short_term_adjustment",
	[PHASE_RETURN_CONTROL] = "return_control_to_ecu",
	[PHASE_SESSION_DEFAULT] = "default_session",
};

struct actuator {
	struct ev_loop *loop;
	struct api_server *api;
	struct actuator_data data;
	char names[SIG_MAX][MAX_SIGNAL_NAME];
	struct watched w[SIG_MAX];
	struct dbc_sample *samples;
	size_t samples_cap;
	int64_t last_start_us; /* 0 = never */

	/* the running test */
	enum phase phase;
	struct api_request *req; /* NULL when idle; an orphan once the client went */
	bool client_gone;
	size_t ecu;
	uint16_t did;
	unsigned duration_ms;
	struct uds_broker_request *handle;
	uint8_t pdu[MAX_PDU];
	size_t pdu_len;
	ev_timer timer;
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

static void resolve(struct actuator *a)
{
	const struct dbc *db = a->data.dbc;
	size_t cap = 0;

	memset(a->w, 0, sizeof(a->w));
	for (size_t k = 0; k < SIG_MAX && db; k++) {
		if (!a->names[k][0])
			continue;
		for (size_t i = 0; i < dbc_message_count(db) && !a->w[k].sig; i++) {
			const struct dbc_message *msg = dbc_message_at(db, i);
			const struct dbc_signal *s = dbc_message_find_signal(msg, a->names[k]);
			if (s) {
				a->w[k].msg = msg;
				a->w[k].sig = s;
				if (dbc_message_max_samples(msg) > cap)
					cap = dbc_message_max_samples(msg);
			}
		}
	}
	if (cap > a->samples_cap) {
		struct dbc_sample *n = realloc(a->samples, cap * sizeof(*n));
		if (n) {
			a->samples = n;
			a->samples_cap = cap;
		} else {
			log_warning("actuator: out of memory, bus signals not watched");
			memset(a->w, 0, sizeof(a->w));
		}
	}
}

static void copy_name(char *dst, const char *src, const char *def)
{
	snprintf(dst, MAX_SIGNAL_NAME, "%s", src ? src : def);
}

/* The command signal is what the output control DID reads back: its first signal. */
static const char *command_signal_of(const struct profile *p, const char *ecu, uint32_t did)
{
	const struct profile_did *d = p && did ? profile_did_find(p, ecu, (uint16_t)did) : NULL;

	return d && profile_did_signal_count(d) > 0 ? dbc_signal_name(profile_did_signal_at(d, 0))
						    : NULL;
}

static void set_names(struct actuator *a, const struct actuator_data *d)
{
	const struct profile_ecu *ecu = NULL;

	copy_name(a->names[SIG_SPEED], d->speed_signal, default_names[SIG_SPEED]);
	copy_name(a->names[SIG_GEAR], d->gear_signal, default_names[SIG_GEAR]);
	copy_name(a->names[SIG_CURRENT], d->current_signal, default_names[SIG_CURRENT]);
	copy_name(a->names[SIG_AJAR], d->ajar_signal, default_names[SIG_AJAR]);
	/* One release output per profile today: the first ECU that has one names it. */
	for (size_t i = 0; d->profile && i < profile_ecu_count(d->profile) && !ecu; i++)
		if (profile_ecu_at(d->profile, i)->output_control_did)
			ecu = profile_ecu_at(d->profile, i);
	copy_name(a->names[SIG_CMD],
		  ecu ? command_signal_of(d->profile, ecu->id, ecu->output_control_did) : NULL,
		  default_names[SIG_CMD]);
}

/* Why the vehicle is not known to be stationary now, or NULL when it is. */
static const char *interlock(const struct actuator *a, int64_t now, char *buf, size_t cap)
{
	const struct watched *s = &a->w[SIG_SPEED], *g = &a->w[SIG_GEAR];

	if (!s->sig) {
		snprintf(buf, cap, "vehicle speed unknown: no signal %s in the DBC", a->names[SIG_SPEED]);
		return buf;
	}
	if (!s->seen || now - s->t_us > ACTUATOR_SPEED_MAX_AGE_US) {
		snprintf(buf, cap, "vehicle speed unknown: no %s on the bus within the last %.0f s",
			 a->names[SIG_SPEED], ACTUATOR_SPEED_MAX_AGE_US / 1e6);
		return buf;
	}
	if (s->value != 0.0) {
		snprintf(buf, cap, "vehicle not stationary: %s = %g%s%s", a->names[SIG_SPEED], s->value,
			 *dbc_signal_unit(s->sig) ? " " : "", dbc_signal_unit(s->sig));
		return buf;
	}
	/* Gear is optional: a DBC without it, or a frame not seen lately, does not block. */
	if (g->sig && g->seen && now - g->t_us <= ACTUATOR_SPEED_MAX_AGE_US &&
	    (g->choice ? strcmp(g->choice, "P") != 0 : g->value != 0.0)) {
		snprintf(buf, cap, "vehicle not in park: %s = %s", a->names[SIG_GEAR],
			 g->choice ? g->choice : "not 0");
		return buf;
	}
	return NULL;
}

/* ---- the test ---- */

static void advance(struct actuator *a);

static void add_step(struct actuator *a, const struct uds_broker_result *r, int submit_err)
{
	char req[2 * MAX_PDU + 1], resp[2 * 64 + 1];
	json_t *o;

	hex(a->pdu, a->pdu_len, req, sizeof(req));
	o = json_pack("{s:s, s:s, s:f}", "step", phase_names[a->phase], "request", req, "t",
		      (double)(clock_now_us(CLOCK_MONOTONIC) - a->started_us) / 1e6);
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
	ev_timer_stop(a->loop, &a->timer);
	if (a->handle) {
		uds_broker_request_cancel(a->handle);
		a->handle = NULL;
	}
	json_decref(a->steps);
	a->steps = NULL;
	a->req = NULL;
	a->phase = PHASE_IDLE;
	a->watching = false;
}

static void finish(struct actuator *a)
{
	struct api_request *req = a->req;
	bool commanded = a->w[SIG_CMD].sig ? a->cmd_seen : a->accepted;
	bool flowed = a->peak_current >= ACTUATOR_CURRENT_FLOWED_A;
	const char *v = verdict(a, commanded, flowed);
	json_t *res;

	res = json_pack("{s:s, s:I, s:b, s:b, s:b, s:f, s:I, s:b, s:s, s:O, s:f}", "ecu",
			uds_broker_ecu_name(a->data.broker, a->ecu),
			"duration_ms", (json_int_t)a->duration_ms, "accepted", a->accepted,
			"commanded", commanded, "current_flowed", flowed, "peak_current",
			a->peak_current, "current_samples", (json_int_t)a->current_samples,
			"latch_released", a->ajar_opened && a->ajar_before != 1, "verdict", v, "steps", a->steps,
			"duration", (double)(clock_now_us(CLOCK_MONOTONIC) - a->started_us) / 1e6);
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
					      a->w[SIG_CMD].sig ? a->names[SIG_CMD] : NULL, "current",
					      a->w[SIG_CURRENT].sig ? a->names[SIG_CURRENT] : NULL,
					      "ajar", a->w[SIG_AJAR].sig ? a->names[SIG_AJAR] : NULL));
	}
	log_info("actuator.test %s 0x%04X: %s (peak %.2f A)%s",
		 uds_broker_ecu_name(a->data.broker, a->ecu), a->did, v, a->peak_current,
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
	case PHASE_SESSION_EXTENDED:
		/* Without the session the 0x2F would be refused: straight to the clean-up,
		 * which is sent anyway in case the ECU did switch. */
		if (r->outcome == UDS_BROKER_RESPONSE && r->resp_len >= 1 && r->resp[0] == 0x50 &&
		    !a->client_gone)
			a->phase = PHASE_OUTPUT_ON;
		else
			a->phase = PHASE_RETURN_CONTROL;
		if (a->phase == PHASE_RETURN_CONTROL && r->outcome == UDS_BROKER_RESPONSE &&
		    r->resp_len >= 3 && r->resp[0] == UDS_SID_NEGATIVE_RESPONSE)
			a->nrc = r->resp[2];
		else if (a->phase == PHASE_RETURN_CONTROL && r->outcome != UDS_BROKER_RESPONSE)
			a->failure = uds_broker_outcome_name(r->outcome);
		break;
	case PHASE_OUTPUT_ON:
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
			a->phase = PHASE_WATCH;
			a->window_end_us = clock_now_us(CLOCK_MONOTONIC) + (int64_t)a->duration_ms * 1000;
			ev_timer_set(&a->timer, a->duration_ms / 1e3, 0.);
			ev_timer_start(a->loop, &a->timer);
			return;
		}
		a->phase = PHASE_RETURN_CONTROL;
		break;
	case PHASE_RETURN_CONTROL:
		a->phase = PHASE_SESSION_DEFAULT;
		break;
	case PHASE_SESSION_DEFAULT:
		a->phase = PHASE_DONE;
		break;
	default:
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
		int r;

		switch (a->phase) {
		case PHASE_SESSION_EXTENDED:
			r = uds_build_session_control(0x03, false, a->pdu, sizeof(a->pdu), &len);
			break;
		case PHASE_OUTPUT_ON: {
			const uint8_t on = 0x01;
			r = uds_build_io_control(a->did, UDS_IO_SHORT_TERM_ADJUSTMENT, &on, 1, NULL, 0,
						 a->pdu, sizeof(a->pdu), &len);
			break;
		}
		case PHASE_RETURN_CONTROL:
			r = uds_build_io_control(a->did, UDS_IO_RETURN_CONTROL_TO_ECU, NULL, 0, NULL, 0,
						 a->pdu, sizeof(a->pdu), &len);
			break;
		case PHASE_SESSION_DEFAULT:
			r = uds_build_session_control(0x01, false, a->pdu, sizeof(a->pdu), &len);
			break;
		case PHASE_DONE:
			finish(a);
			return;
		default:
			return;
		}
		a->pdu_len = len;
		/* Watch from the request on: the output can switch before its answer arrives. */
		a->watching = a->phase == PHASE_OUTPUT_ON;
		if (r == 0)
			r = uds_broker_submit(a->data.broker, a->ecu, UDS_BROKER_PRIORITY_INTERACTIVE,
					      a->pdu, len, on_done, a, &a->handle);
		if (r == 0)
			return;
		log_warning_errno(-r, "actuator.test: cannot send %s", phase_names[a->phase]);
		add_step(a, NULL, r);
		if (a->phase == PHASE_OUTPUT_ON)
			a->failure = "not_sent";
		a->phase = a->phase == PHASE_SESSION_EXTENDED || a->phase == PHASE_OUTPUT_ON
				   ? PHASE_RETURN_CONTROL
				   : a->phase + 1;
	}
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct actuator *a = container_of(w, struct actuator, timer);

	(void)loop;
	(void)revents;
	if (a->phase != PHASE_WATCH)
		return;
	a->watching = false;
	a->phase = PHASE_RETURN_CONTROL;
	advance(a);
}

/* The client went: the output must not stay under our control, cut the window short. */
static void on_client_gone(void *data)
{
	struct actuator *a = data;

	a->client_gone = true;
	log_notice("actuator.test: client gone, returning control to the ECU");
	if (a->phase == PHASE_WATCH) {
		ev_timer_stop(a->loop, &a->timer);
		a->watching = false;
		a->phase = PHASE_RETURN_CONTROL;
		advance(a);
	}
	/* Otherwise a request is on its way; on_done goes to the clean-up from there. */
}

static void method_test(struct api_request *req, json_t *params, void *userdata)
{
	struct actuator *a = userdata;
	const char *ecu_name = NULL;
	json_int_t duration = ACTUATOR_DEFAULT_DURATION_MS;
	const struct profile_ecu *pe;
	json_error_t jerr;
	char why[192];
	int64_t now = clock_now_us(CLOCK_MONOTONIC);
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
	if (!a->data.broker || !a->data.profile) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no vehicle profile loaded");
		return;
	}
	if (!ecu_name) {
		/* The ECU that has a release output, when the profile names exactly one. */
		for (size_t k = 0; k < profile_ecu_count(a->data.profile); k++)
			if (profile_ecu_at(a->data.profile, k)->output_control_did) {
				ecu_name = profile_ecu_at(a->data.profile, k)->id;
				break;
			}
		if (!ecu_name) {
			api_request_fail(req, API_ERROR_NOT_FOUND,
					 "no ECU of the profile has an output_control_did");
			return;
		}
	}
	i = uds_broker_ecu_find(a->data.broker, ecu_name);
	pe = profile_ecu_find(a->data.profile, ecu_name);
	if (i < 0 || !pe) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "no ECU \"%s\" in the profile", ecu_name);
		return;
	}
	if (!pe->output_control_did) {
		api_request_fail(req, API_ERROR_NOT_FOUND, "ECU %s has no output_control_did in the profile",
				 ecu_name);
		return;
	}
	if (a->phase != PHASE_IDLE) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "an actuator test is already running");
		return;
	}
	if (a->last_start_us && now - a->last_start_us < ACTUATOR_MIN_INTERVAL_US) {
		api_request_fail(req, API_ERROR_RATE_LIMITED,
				 "one actuator test per %.0f s: retry in %.1f s",
				 ACTUATOR_MIN_INTERVAL_US / 1e6,
				 (double)(a->last_start_us + ACTUATOR_MIN_INTERVAL_US - now) / 1e6);
		return;
	}
	if (interlock(a, now, why, sizeof(why))) {
		log_notice("actuator.test refused: %s", why);
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
		return;
	}
	a->steps = json_array();
	if (!a->steps) {
		api_request_fail(req, API_ERROR_INTERNAL, "out of memory");
		return;
	}
	a->req = req;
	a->client_gone = false;
	a->ecu = (size_t)i;
	a->did = (uint16_t)pe->output_control_did;
	a->duration_ms = (unsigned)duration;
	a->started_us = a->last_start_us = now;
	a->accepted = a->cmd_seen = a->ajar_opened = false;
	a->nrc = -1;
	a->failure = NULL;
	a->peak_current = 0;
	a->current_samples = 0;
	a->ajar_before = a->w[SIG_AJAR].seen ? a->w[SIG_AJAR].value != 0.0 : -1;
	api_request_set_cancel(req, on_client_gone, a);
	log_notice("actuator.test: %s 0x%04X for %u ms (uid %u)", ecu_name, a->did, a->duration_ms,
		   (unsigned)api_request_peer(req)->uid);
	a->phase = PHASE_SESSION_EXTENDED;
	advance(a);
}

/* ---- public ---- */

int actuator_new(struct ev_loop *loop, struct api_server *api, const struct actuator_data *data,
		 struct actuator **ret)
{
	const struct api_method m = {
		.name = "actuator.test",
		.privilege = API_PRIVILEGE_ADMIN,
		.handler = method_test,
		.summary = "0x2F on the release output (stationary only): commanded / current / latch",
	};
	struct actuator *a = calloc(1, sizeof(*a));
	struct api_method mm = m;
	int r;

	if (!a)
		return -ENOMEM;
	a->loop = loop;
	a->api = api;
	ev_timer_init(&a->timer, on_timer, 1., 0.);
	if (data) {
		a->data = *data;
		set_names(a, data);
		resolve(a);
	}
	mm.userdata = a;
	r = api_server_register(api, &mm);
	if (r < 0) {
		free(a->samples);
		free(a);
		return r;
	}
	*ret = a;
	return 0;
}

/*
 * The client's request ends now (reload, stop), the clean-up does not: whatever was sent,
 * ReturnControlToECU and 0x10 0x01 go out again from the start of the clean-up. Returns
 * true when a clean-up is to run.
 */
static bool detach(struct actuator *a, const char *why)
{
	struct api_request *req = a->req;

	if (a->phase == PHASE_IDLE)
		return false;
	a->req = NULL;
	if (req)
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s; control returned to the ECU", why);
	ev_timer_stop(a->loop, &a->timer);
	if (a->handle) {
		uds_broker_request_cancel(a->handle);
		a->handle = NULL;
	}
	a->watching = false;
	a->client_gone = true;
	if (a->phase != PHASE_SESSION_DEFAULT)
		a->phase = PHASE_RETURN_CONTROL;
	return true;
}

static void on_guard(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Only wakes the loop in actuator_free(). */
	(void)loop;
	(void)w;
	(void)revents;
}

struct actuator *actuator_free(struct actuator *a)
{
	if (!a)
		return NULL;
	if (detach(a, "daemon stopping") && a->data.broker) {
		/* The main loop has ended: turn it a little longer, for the clean-up only
		 * (bounded: the guard timer wakes it, the broker's P2 ends each request). */
		int64_t end = clock_now_us(CLOCK_MONOTONIC) + 1500000;
		ev_timer guard;

		ev_timer_init(&guard, on_guard, 0.1, 0.1);
		ev_timer_start(a->loop, &guard);
		advance(a);
		while (a->phase != PHASE_IDLE && clock_now_us(CLOCK_MONOTONIC) < end)
			ev_run(a->loop, EVRUN_ONCE);
		ev_timer_stop(a->loop, &guard);
	}
	if (a->phase != PHASE_IDLE) {
		log_warning("actuator.test: clean-up unfinished at stop; the ECU returns control at "
			    "its S3 timeout");
		test_end(a);
	}
	api_server_unregister(a->api, "actuator.test");
	free(a->samples);
	free(a);
	return NULL;
}

int actuator_set_data(struct actuator *a, const struct actuator_data *data)
{
	char ecu[UDS_BROKER_MAX_NAME] = "";
	bool cleanup;
	int i;

	if (a->phase != PHASE_IDLE && a->data.broker)
		snprintf(ecu, sizeof(ecu), "%s", uds_broker_ecu_name(a->data.broker, a->ecu));
	/* The old broker goes right after this returns: the clean-up moves to the new one. */
	cleanup = detach(a, "configuration reloaded");
	a->data = *data;
	set_names(a, data);
	resolve(a);
	if (!cleanup)
		return 0;
	i = data->broker && ecu[0] ? uds_broker_ecu_find(data->broker, ecu) : -1;
	if (i < 0) {
		log_warning("actuator.test: ECU %s gone after the reload; it returns control at its "
			    "S3 timeout", ecu);
		test_end(a);
		return 0;
	}
	a->ecu = (size_t)i;
	advance(a);
	return 0;
}

void actuator_bus_frame(struct actuator *a, const struct bd_timed_frame *f)
{
	const struct dbc_message *msg = NULL;
	bool wanted = false;
	int n;

	if (!a->data.dbc || !a->samples_cap)
		return;
	for (size_t k = 0; k < SIG_MAX && !wanted; k++)
		if (a->w[k].msg && dbc_message_id(a->w[k].msg) == f->frame.id &&
		    dbc_message_is_extended(a->w[k].msg) == !!(f->frame.flags & BD_FRAME_EXT))
			wanted = true;
	if (!wanted)
		return;
	msg = dbc_find_message(a->data.dbc, f->frame.id, f->frame.flags & BD_FRAME_EXT);
	if (!msg)
		return;
	n = dbc_decode(msg, f->frame.data, f->frame.len, a->samples, a->samples_cap, NULL);
	for (int j = 0; j < n; j++) {
		for (size_t k = 0; k < SIG_MAX; k++) {
			struct watched *w = &a->w[k];
			if (w->sig != a->samples[j].signal)
				continue;
			w->seen = true;
			w->t_us = f->t_us;
			w->value = dbc_value_as_double(a->samples[j].value);
			w->choice = a->samples[j].choice;
			if (!a->watching && a->phase != PHASE_WATCH)
				continue;
			if (k == SIG_CMD && w->value != 0.0)
				a->cmd_seen = true;
			else if (k == SIG_CURRENT) {
				a->current_samples++;
				if (w->value > a->peak_current)
					a->peak_current = w->value;
			} else if (k == SIG_AJAR && w->value != 0.0)
				a->ajar_opened = true;
		}
	}
}

bool actuator_running(const struct actuator *a)
{
	return a && a->phase != PHASE_IDLE;
}
