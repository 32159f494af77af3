/* SPDX-License-Identifier: MIT */
#include "discovery.h"

#include <errno.h>
#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "core.h"
#include "discover_json.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "policy.h"

/* Frames and PDUs read per wakeup: a busy bus must not starve the API. */
#define READ_BATCH 256

struct discovery_run {
	struct core *c;
	struct discover *plan;
	discovery_done_fn done;
	void *userdata;
	int raw_fd; /* probes out, everything the bus says in */
	int ecu_fd; /* the ISO-TP socket of the ECU being identified */
	size_t ecu; /* which one it is bound to */
	ev_io raw_io, ecu_io;
	ev_timer timer;
	int64_t t0_us, t_end_us;
	unsigned rate;
	bool over;
	bool stepping; /* step() on the stack: done runs once it returns */
};

static int64_t now_us(void)
{
	return clock_now_us(CLOCK_MONOTONIC);
}

static void close_ecu(struct discovery_run *r)
{
	if (r->ecu_fd < 0)
		return;
	ev_io_stop(r->c->loop, &r->ecu_io);
	close(r->ecu_fd);
	r->ecu_fd = -1;
}

static void stop_io(struct discovery_run *r)
{
	close_ecu(r);
	if (r->raw_fd >= 0) {
		ev_io_stop(r->c->loop, &r->raw_io);
		close(r->raw_fd);
		r->raw_fd = -1;
	}
	ev_timer_stop(r->c->loop, &r->timer);
}

static void step(struct discovery_run *r);

static void read_frames(struct discovery_run *r)
{
	for (int i = 0; i < READ_BATCH && r->raw_fd >= 0; i++) {
		struct bd_timed_frame f;
		int k = can_raw_recv(r->raw_fd, &f, NULL, NULL);

		if (k == -ENETDOWN)
			continue; /* the controller leaving listen-only mode: a down and up */
		if (k <= 0)
			return;
		discover_on_frame(r->plan, &f.frame, now_us());
	}
}

static void read_pdus(struct discovery_run *r)
{
	static uint8_t buf[4096];

	for (int i = 0; i < READ_BATCH && r->ecu_fd >= 0; i++) {
		size_t len = 0;
		int k = isotp_socket_recv(r->ecu_fd, buf, sizeof(buf), &len);

		if (k == 0)
			return;
		if (k < 0)
			discover_on_transport_error(r->plan, r->ecu, k, now_us());
		else
			discover_on_pdu(r->plan, r->ecu, buf, len, now_us());
	}
}

static void on_raw(struct ev_loop *loop, ev_io *w, int revents)
{
	struct discovery_run *r = container_of(w, struct discovery_run, raw_io);

	read_frames(r);
	step(r);
}

static void on_ecu(struct ev_loop *loop, ev_io *w, int revents)
{
	struct discovery_run *r = container_of(w, struct discovery_run, ecu_io);

	read_pdus(r);
	step(r);
}

static void on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
	step(container_of(w, struct discovery_run, timer));
}

static int ecu_socket(struct discovery_run *r, size_t i)
{
	const struct discover_ecu *e = discover_ecu_at(r->plan, i);
	struct isotp_socket_opts o;
	int k;

	if (r->ecu_fd >= 0 && r->ecu == i)
		return 0;
	close_ecu(r);
	isotp_socket_opts_from_addr(&o, &e->addr);
	o.wait_tx_done = false; /* the loop must not wait for a transfer */
	k = isotp_socket_open(r->c->cfg.can.interface, &o, &r->ecu_fd);
	if (k < 0)
		return k;
	r->ecu = i;
	ev_io_init(&r->ecu_io, on_ecu, r->ecu_fd, EV_READ);
	ev_io_start(r->c->loop, &r->ecu_io);
	return 0;
}

/* Does what the planner says until it says wait (a timer then) or done. */
static void step(struct discovery_run *r)
{
	struct discover_action a;
	char why[192];

	if (r->over || r->stepping)
		return;
	r->stepping = true;
	for (;;) {
		int k;

		discover_next(r->plan, now_us(), &a);
		if (a.kind == DISCOVER_ACTION_DONE)
			break;
		if (a.kind == DISCOVER_ACTION_WAIT) {
			double d = (double)(a.at_us - now_us()) / 1e6;

			ev_timer_stop(r->c->loop, &r->timer);
			ev_timer_set(&r->timer, d > 0 ? d : 0., 0.);
			ev_timer_start(r->c->loop, &r->timer);
			r->stepping = false;
			return;
		}
		/* Whatever goes out asks the policy first: listen-only stops the run here. */
		k = policy_transmit(r->c->policy, why, sizeof(why));
		if (k < 0) {
			log_notice("discovery: not sent: %s", why);
			discover_send_failed(r->plan, k, now_us());
			continue;
		}
		if (a.kind == DISCOVER_ACTION_SEND_FRAME) {
			k = can_raw_send(r->raw_fd, &a.frame);
			/* The controller just left listen-only mode (a down and up): the socket
			 * reports that once, on this send; the frame goes on the second try. */
			if (k == -ENETDOWN)
				k = can_raw_send(r->raw_fd, &a.frame);
			if (k < 0)
				discover_send_failed(r->plan, k, now_us());
			continue;
		}
		k = ecu_socket(r, a.ecu);
		if (k >= 0)
			k = isotp_socket_send(r->ecu_fd, a.pdu, a.pdu_len);
		if (k == -EAGAIN || k == -ENOBUFS)
			discover_send_failed(r->plan, k, now_us());
		else if (k < 0)
			discover_on_transport_error(r->plan, a.ecu, k, now_us());
	}
	r->stepping = false;
	r->over = true;
	r->t_end_us = now_us();
	stop_io(r);
	log_info("discovery: %s: %zu ECUs, %u requests in %.1f s",
		 discover_status_name(discover_status(r->plan)), discover_ecu_count(r->plan),
		 discover_requests_sent(r->plan), discovery_run_seconds(r));
	if (r->done)
		r->done(r->userdata, r); /* may free r */
}

int discovery_run_new(struct core *c, const struct discover_config *cfg, discovery_done_fn done,
		      void *userdata, struct discovery_run **ret)
{
	struct discovery_run *r = calloc(1, sizeof(*r));
	int k;

	if (!r)
		return -ENOMEM;
	r->c = c;
	r->done = done;
	r->userdata = userdata;
	r->raw_fd = r->ecu_fd = -1;
	r->rate = cfg->rate;
	r->t0_us = now_us();
	ev_timer_init(&r->timer, on_timer, 0., 0.);
	k = discover_new(cfg, r->t0_us, &r->plan);
	if (k >= 0)
		k = can_raw_open(c->cfg.can.interface, NULL, 0, CAN_RAW_OPEN_ERR_FRAMES,
				 &r->raw_fd);
	if (k < 0) {
		discovery_run_free(r);
		return k;
	}
	/* best effort: a smaller buffer only risks missing frames of other nodes */
	(void)can_raw_set_rcvbuf(r->raw_fd, 1 << 20);
	ev_io_init(&r->raw_io, on_raw, r->raw_fd, EV_READ);
	ev_io_start(c->loop, &r->raw_io);
	/* the first step from the loop: done never runs inside this call */
	ev_timer_set(&r->timer, 0., 0.);
	ev_timer_start(c->loop, &r->timer);
	*ret = r;
	return 0;
}

struct discovery_run *discovery_run_free(struct discovery_run *r)
{
	if (!r)
		return NULL;
	stop_io(r);
	discover_free(r->plan);
	free(r);
	return NULL;
}

const struct discover *discovery_run_plan(const struct discovery_run *r)
{
	return r->plan;
}

double discovery_run_seconds(const struct discovery_run *r)
{
	return (double)((r->over ? r->t_end_us : now_us()) - r->t0_us) / 1e6;
}

json_t *discovery_run_json(const struct discovery_run *r)
{
	return discover_json_run(r->plan, r->c->cfg.can.interface,
				 r->over ? discover_status_name(discover_status(r->plan))
					 : "interrupted",
				 discovery_run_seconds(r), r->rate);
}

/* ---- the method ---- */

/* A background scan holds the bus for a few requests: a discover asked meanwhile waits
 * for its end (the policy wakes it) instead of failing, at most WAIT_MAX_US. */
#define WAIT_MAX_US 10000000

struct discovery {
	struct core *c;
	struct api_request *req;
	struct discovery_run *run;
	bool profile; /* a profile skeleton in the reply */
	/* the request waiting for a background scan's end, with its settings */
	struct api_request *waiting;
	struct discover_config wait_cfg;
	bool wait_profile;
	struct policy_waiter scan_end;
	struct timer wait; /* the wait's deadline */
};

static void finish(struct discovery *d)
{
	d->run = discovery_run_free(d->run);
	d->req = NULL;
	policy_end(d->c->policy, POLICY_DISCOVERY);
}

static void on_done(void *userdata, struct discovery_run *run)
{
	struct discovery *d = userdata;
	json_t *res = discovery_run_json(run);
	char header[160], *text = NULL;
	struct can_link_info info;

	if (res && d->profile) {
		struct discover_profile_opts o = {
		    .bus = d->c->cfg.can.interface,
		    .bitrate =
			can_link_get_info(d->c->cfg.can.interface, &info) == 0 ? info.bitrate : 0,
		    .header = header,
		};
		snprintf(header, sizeof(header), "bodydiagd discover on %s: %zu ECUs",
			 d->c->cfg.can.interface, discover_ecu_count(discovery_run_plan(run)));
		if (discover_write_profile(discovery_run_plan(run), &o, &text) < 0)
			text = NULL;
		json_object_set_new(res, "profile", text ? json_string(text) : json_null());
		free(text);
	}
	if (res)
		api_request_reply(d->req, res);
	else
		api_request_fail(d->req, API_ERROR_INTERNAL, "out of memory");
	finish(d);
}

static void on_cancel(void *data)
{
	struct discovery *d = data;

	/* Nobody waits for the result: the probes stop now. */
	log_info("discovery: the client went away, stopped");
	api_request_fail(d->req, API_ERROR_UNAVAILABLE, "client gone");
	finish(d);
}

/* seconds (a number > 0) into µs, at most max_us. -1 after failing req. */
static int seconds_param(struct api_request *req, json_t *params, const char *key, bool zero_ok,
			 int64_t max_us, int64_t *ret)
{
	json_t *v = json_object_get(params, key);
	double s;

	if (!v)
		return 0;
	s = json_number_value(v);
	if (!json_is_number(v) || !(s > 0 || (zero_ok && s == 0)) || s * 1e6 > (double)max_us) {
		api_request_fail(req, API_ERROR_INVALID_PARAMS, "\"%s\" is seconds in %s0, %.0f]",
				 key, zero_ok ? "[" : "(", (double)max_us / 1e6);
		return -1;
	}
	*ret = (int64_t)(s * 1e6);
	return 0;
}

/* The request's params into cfg (within the configuration's bounds); -1 after failing req. */
static int config_of(struct api_request *req, json_t *params, const struct config *conf,
		     struct discover_config *cfg, bool *ret_profile)
{
	json_t *v, *x;
	size_t i;
	char err[160];
	uint64_t n;

	discover_config_init(cfg);
	cfg->rate = conf->discover.rate;
	cfg->max_time_us = (int64_t)conf->discover.max_time_ms * 1000;
	if ((v = json_object_get(params, "rate"))) {
		if (methods_number_param(v, conf->discover.rate, &n) < 0 || n == 0) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"rate\" is requests per second, 1..%u ([discover] rate)",
					 conf->discover.rate);
			return -1;
		}
		cfg->rate = (unsigned)n;
	}
	if (seconds_param(req, params, "max_time", false, cfg->max_time_us, &cfg->max_time_us))
		return -1;
	if (seconds_param(req, params, "quiet", true, 10000000, &cfg->quiet_us))
		return -1;
	if ((v = json_object_get(params, "ranges"))) {
		if (!json_is_array(v) || json_array_size(v) == 0 ||
		    json_array_size(v) > DISCOVER_MAX_RANGES) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"ranges\" is an array of 1..%u ranges",
					 DISCOVER_MAX_RANGES);
			return -1;
		}
		json_array_foreach(v, i, x)
		{
			const char *s = json_string_value(x);

			if (!s || discover_range_parse(s, strlen(s), &cfg->ranges[i], err,
						       sizeof(err)) < 0) {
				api_request_fail(req, API_ERROR_INVALID_PARAMS, "ranges[%zu]: %s",
						 i, s ? err : "not a string");
				return -1;
			}
		}
		cfg->n_ranges = json_array_size(v);
	}
	if ((v = json_object_get(params, "probe"))) {
		const char *s = json_string_value(v);

		if (s && !strcmp(s, "tester-present"))
			cfg->probe = DISCOVER_PROBE_TESTER_PRESENT;
		else if (s && !strcmp(s, "session"))
			cfg->probe = DISCOVER_PROBE_SESSION;
		else {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"probe\" is \"tester-present\" or \"session\"");
			return -1;
		}
	}
	if ((v = json_object_get(params, "padding"))) {
		if (json_is_null(v))
			cfg->padding = -1;
		else if (methods_number_param(v, 0xff, &n) < 0) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"padding\" is a byte 0..255, or null for none");
			return -1;
		} else
			cfg->padding = (int)n;
	}
	if ((v = json_object_get(params, "identify"))) {
		if (!json_is_boolean(v)) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS,
					 "\"identify\" is a boolean");
			return -1;
		}
		cfg->identify = json_is_true(v);
	}
	if ((v = json_object_get(params, "profile"))) {
		if (!json_is_boolean(v)) {
			api_request_fail(req, API_ERROR_INVALID_PARAMS, "\"profile\" is a boolean");
			return -1;
		}
		*ret_profile = json_is_true(v);
	}
	return 0;
}

/* Runs a discovery for req; the policy said go (POLICY_DISCOVERY begun). */
static void start(struct discovery *d, struct api_request *req, const struct discover_config *cfg,
		  bool profile)
{
	int k = discovery_run_new(d->c, cfg, on_done, d, &d->run);

	if (k < 0) {
		policy_end(d->c->policy, POLICY_DISCOVERY);
		api_request_fail(req,
				 k == -EINVAL ? API_ERROR_INVALID_PARAMS : API_ERROR_UNAVAILABLE,
				 "cannot start: %s", strerror(-k));
		return;
	}
	d->req = req;
	d->profile = profile;
	api_request_set_cancel(req, on_cancel, d);
	log_info("discovery started: %u requests/s, at most %.0f s", cfg->rate,
		 (double)cfg->max_time_us / 1e6);
}

static void on_wait_cancel(void *data)
{
	struct discovery *d = data;

	log_info("discover: the client went away while waiting for the background scan");
	api_request_fail(d->waiting, API_ERROR_UNAVAILABLE, "client gone");
	d->waiting = NULL;
	policy_wait_cancel(&d->scan_end);
	timer_stop(&d->wait);
}

/* The scan ended (deadline: false) or the wait is over (true): start, wait on, or fail. */
static void wait_over(struct discovery *d, bool deadline)
{
	struct api_request *req = d->waiting;
	char why[192];

	if (!req)
		return;
	if (policy_begin(d->c->policy, POLICY_DISCOVERY, why, sizeof(why)) == POLICY_GO) {
		d->waiting = NULL;
		policy_wait_cancel(&d->scan_end);
		timer_stop(&d->wait);
		start(d, req, &d->wait_cfg, d->wait_profile);
		return;
	}
	if (!deadline && policy_running(d->c->policy, POLICY_SCAN)) {
		/* the next scan began in the same turn: its end, then */
		policy_wait_end(d->c->policy, POLICY_SCAN, &d->scan_end);
		return;
	}
	/* something else took the bus, or the scan did not end within WAIT_MAX_US */
	d->waiting = NULL;
	policy_wait_cancel(&d->scan_end);
	timer_stop(&d->wait);
	log_notice("discover refused: %s", why);
	api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
}

static void on_scan_end(struct policy_waiter *w)
{
	wait_over(container_of(w, struct discovery, scan_end), false);
}

static void on_wait(struct timer *t)
{
	wait_over(container_of(t, struct discovery, wait), true);
}

static void method_discover(struct api_request *req, json_t *params, void *userdata)
{
	static const char *const allowed[] = {"ranges",	 "rate",     "max_time", "quiet", "probe",
					      "padding", "identify", "profile",	 NULL};
	struct core *c = userdata;
	struct discovery *d = c->discovery;
	struct discover_config cfg;
	bool profile = false;
	char why[192];

	if (api_params_check(req, params, allowed) < 0 ||
	    config_of(req, params, &c->cfg, &cfg, &profile) < 0)
		return;
	if (d->waiting) {
		api_request_fail(req, API_ERROR_UNAVAILABLE,
				 "another discover waits for the background scan's end");
		return;
	}
	/* never on its own, never with anything else on the bus, never in listen-only */
	if (policy_begin(c->policy, POLICY_DISCOVERY, why, sizeof(why)) == POLICY_GO) {
		start(d, req, &cfg, profile);
		return;
	}
	if (!policy_running(c->policy, POLICY_SCAN)) {
		log_notice("discover refused: %s", why);
		api_request_fail(req, API_ERROR_UNAVAILABLE, "%s", why);
		return;
	}
	/* The scan ends within a few requests: the client is not told to retry. */
	log_info("discover waits for the background scan's end");
	d->waiting = req;
	d->wait_cfg = cfg;
	d->wait_profile = profile;
	api_request_set_cancel(req, on_wait_cancel, d);
	policy_wait_end(c->policy, POLICY_SCAN, &d->scan_end);
	timer_start(&d->wait, WAIT_MAX_US);
}

static const struct api_method method_table[] = {
    {.name = "discover",
     .privilege = API_PRIVILEGE_ADMIN,
     .handler = method_discover,
     .summary = "finds the ECUs that answer diagnostics, without a profile (transmits: "
		"probes at a bounded rate, then the identification DIDs)"},
};

static int discovery_new(struct core *c)
{
	struct discovery *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->c = c;
	timer_init(&d->wait, &c->clock, on_wait);
	policy_waiter_init(&d->scan_end, on_scan_end);
	c->discovery = d;
	return 0;
}

static void discovery_set_vehicle(struct core *c, struct vehicle *v)
{
	/* A run needs no vehicle data: it goes on across a reload. */
	(void)c;
	(void)v;
}

static void discovery_free(struct core *c)
{
	struct discovery *d = c->discovery;

	if (!d)
		return;
	if (d->req) {
		api_request_fail(d->req, API_ERROR_UNAVAILABLE, "daemon stopping");
		finish(d);
	}
	if (d->waiting)
		api_request_fail(d->waiting, API_ERROR_UNAVAILABLE, "daemon stopping");
	policy_wait_cancel(&d->scan_end);
	timer_stop(&d->wait);
	free(d);
	c->discovery = NULL;
}

const struct module discovery_module = {
    .name = "ECU discovery",
    .new = discovery_new,
    .set_vehicle = discovery_set_vehicle,
    .free = discovery_free,
    .methods = method_table,
    .n_methods = ARRAY_SIZE(method_table),
};
