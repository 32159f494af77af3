/* SPDX-License-Identifier: MIT */
#include "records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "config.h"
#include "daemon-build.h"
#include "history.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "uds_broker.h"
#if HAVE_MOSQUITTO
#include "forwarder.h"
#endif

struct records {
	struct history *history;
	struct metrics *metrics;
#if HAVE_MOSQUITTO
	struct forwarder *forwarder;
#endif
	struct bus *bus;
	struct uds_broker *broker;
	struct metrics_family *frames, *drops, *error_frames, *outages, *ecu_requests,
		*ecu_timeouts, *ecu_negative, *ecu_latency;
	uint64_t last_frames;
	int64_t last_collect_us;
	char ifname[32];
};

/* Runs when the metrics are formatted (textfile timer or the `metrics` method). */
static void collect(struct metrics *m, void *userdata)
{
	struct records *r = userdata;
	const char *ifl[] = {r->ifname};
	struct bus_stats st;

	if (r->bus) {
		int64_t now = clock_now_us(CLOCK_MONOTONIC);
		bus_get_stats(r->bus, &st);
		metrics_bus_state(m, r->ifname,
				  st.attached ? can_link_state_name(st.link.state) : "DETACHED");
		metrics_set(r->frames, ifl, (double)st.frames);
		metrics_set(r->drops, ifl, (double)st.drops);
		metrics_set(r->error_frames, ifl, (double)st.error_frames);
		metrics_set(r->outages, ifl, (double)st.outages);
		if (r->last_collect_us && now > r->last_collect_us && st.frames >= r->last_frames)
			metrics_bus_frame_rate(m, r->ifname,
					       (double)(st.frames - r->last_frames) * 1e6 /
						       (double)(now - r->last_collect_us));
		r->last_frames = st.frames;
		r->last_collect_us = now;
	}
	for (size_t i = 0; r->broker && i < uds_broker_ecu_count(r->broker); i++) {
		struct uds_broker_stats s;
		const char *el[] = {uds_broker_ecu_name(r->broker, i)};
		if (uds_broker_ecu_stats(r->broker, i, &s) < 0)
			continue;
		metrics_set(r->ecu_requests, el, (double)s.requests);
		metrics_set(r->ecu_timeouts, el, (double)s.timeouts);
		metrics_set(r->ecu_negative, el, (double)s.negative);
		metrics_set(r->ecu_latency, el, uds_broker_stats_mean_ms(&s) / 1e3);
	}
}

static int families(struct records *r)
{
	static const char *const ifl[] = {"interface", NULL};
	static const char *const el[] = {"ecu", NULL};
	const struct {
		struct metrics_family **f;
		const char *name, *help;
		enum metrics_type type;
		const char *const *labels;
	} t[] = {
		{&r->frames, "bodydiag_bus_frames_total", "Frames received", METRICS_COUNTER, ifl},
		{&r->drops, "bodydiag_bus_dropped_frames_total", "Frames the kernel dropped (receive queue full)", METRICS_COUNTER, ifl},
		{&r->error_frames, "bodydiag_bus_error_frames_total", "CAN error frames received", METRICS_COUNTER, ifl},
		{&r->outages, "bodydiag_bus_outages_total", "Times the interface went away (link down, adapter removed)", METRICS_COUNTER, ifl},
		{&r->ecu_requests, "bodydiag_ecu_requests_total", "UDS requests sent to the ECU", METRICS_COUNTER, el},
		{&r->ecu_timeouts, "bodydiag_ecu_timeouts_total", "UDS requests without a final answer in time", METRICS_COUNTER, el},
		{&r->ecu_negative, "bodydiag_ecu_negative_responses_total", "Negative responses of the ECU", METRICS_COUNTER, el},
		{&r->ecu_latency, "bodydiag_ecu_latency_mean_seconds", "Mean request-to-first-response latency", METRICS_GAUGE, el},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int e = metrics_family(r->metrics, t[i].name, t[i].help, t[i].type, t[i].labels, NULL, 0,
				       t[i].f);
		if (e < 0)
			return e;
	}
	return metrics_add_collector(r->metrics, collect, r);
}

static void open_history(struct records *r, struct api_server *api, struct ev_loop *loop,
			 const struct config *cfg)
{
	struct history_options o = {
		.retention_ms = cfg->history.retention_ms,
		.max_bytes = (uint64_t)cfg->history.max_size_mb << 20,
		.durable = cfg->history.durable,
	};
	char err[256] = "";
	int e;

	if (!cfg->history.path[0])
		return;
	e = history_open(cfg->history.path, &o, &r->history, err, sizeof(err));
	if (e < 0) {
		log_error("history %s: %s; running without history", cfg->history.path,
			  err[0] ? err : strerror(-e));
		r->history = NULL;
		return;
	}
	e = history_api_register(api, r->history);
	if (e < 0)
		log_warning_errno(-e, "history: cannot register the history method");
	e = history_start_pruning(r->history, loop, 60.0);
	if (e < 0)
		log_warning_errno(-e, "history: pruning not started");
}

#if HAVE_MOSQUITTO
static void start_forwarder(struct records *r, struct ev_loop *loop, const struct config *cfg)
{
	struct forwarder_options fo = {
		.host = cfg->mqtt.host,
		.port = (uint16_t)cfg->mqtt.port,
		.tls = cfg->mqtt.tls,
		.cafile = cfg->mqtt.ca_file[0] ? cfg->mqtt.ca_file : NULL,
		.client_id = cfg->mqtt.client_id,
		.queue_max = cfg->mqtt.queue_max,
	};
	char *user = NULL, *pass = NULL, err[256] = "";
	int e;

	if (!cfg->mqtt.enabled)
		return;
	if (!r->history) {
		/* The queue lives in the history database: without it, nothing is safe to send. */
		log_error("mqtt: needs the history database (its store-and-forward queue), not started");
		return;
	}
	if (cfg->mqtt.credentials[0] &&
	    forwarder_load_credentials(cfg->mqtt.credentials, &user, &pass, err, sizeof(err)) < 0) {
		log_error("mqtt: %s: %s; not started", cfg->mqtt.credentials, err);
		return;
	}
	fo.username = user;
	fo.password = pass;
	e = forwarder_new(loop, r->history, &fo, &r->forwarder);
	free(user);
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		free(pass);
	}
	if (e < 0) {
		log_error_errno(-e, "mqtt: cannot start the forwarder");
		r->forwarder = NULL;
		return;
	}
	e = forwarder_forward_history(r->forwarder);
	if (e < 0)
		log_warning_errno(-e, "mqtt: findings and DTC changes are not forwarded");
	forwarder_metrics_register(r->forwarder, r->metrics);
}
#endif

int records_new(struct ev_loop *loop, struct api_server *api, const struct config *cfg,
		struct records **ret)
{
	struct records *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	snprintf(r->ifname, sizeof(r->ifname), "%s", cfg->can.interface);
	e = metrics_new(&r->metrics);
	if (e < 0)
		goto fail;
	e = families(r);
	if (e < 0)
		goto fail;
	e = metrics_api_register(api, r->metrics);
	if (e < 0)
		goto fail;
	if (cfg->metrics.textfile[0]) {
		e = metrics_start_textfile(r->metrics, loop, cfg->metrics.textfile,
					   (double)cfg->metrics.interval_ms / 1000.0);
		if (e < 0)
			log_warning_errno(-e, "metrics: cannot write %s", cfg->metrics.textfile);
	}
	open_history(r, api, loop, cfg);
#if HAVE_MOSQUITTO
	start_forwarder(r, loop, cfg);
#else
	if (cfg->mqtt.enabled)
		log_error("mqtt: this build has no libmosquitto; forwarding is off");
#endif
	*ret = r;
	return 0;
fail:
	metrics_free(r->metrics);
	free(r);
	return e;
}

struct records *records_free(struct records *r)
{
	if (!r)
		return NULL;
#if HAVE_MOSQUITTO
	forwarder_free(r->forwarder);
#endif
	history_free(r->history);
	metrics_free(r->metrics);
	free(r);
	return NULL;
}

struct history *records_history(struct records *r)
{
	return r ? r->history : NULL;
}

void records_set_sources(struct records *r, struct bus *bus, struct uds_broker *broker)
{
	r->bus = bus;
	r->broker = broker;
}

void records_bus_event(struct records *r, const char *ifname, enum bus_event ev, const char *detail)
{
	const char *what = NULL;

	switch (ev) {
	case BUS_EVENT_DETACHED:
		what = "adapter-lost";
		break;
	case BUS_EVENT_ATTACHED:
		what = "adapter-returned";
		break;
	case BUS_EVENT_RESTARTED:
		what = "restarted";
		break;
	case BUS_EVENT_STATE:
		what = "state";
		break;
	case BUS_EVENT_DROPS:
		metrics_bus_errors(r->metrics, ifname, "rx-overflow", 1);
		what = "rx-overflow";
		break;
	case BUS_EVENT_CONFIG_FAILED:
		what = "config-failed";
		break;
	case _BUS_EVENT_MAX:
		return;
	}
	if (ev == BUS_EVENT_STATE && strstr(detail, "-> BUS-OFF"))
		metrics_bus_errors(r->metrics, ifname, "bus-off", 1);
	if (ev == BUS_EVENT_STATE && strstr(detail, "-> ERROR-PASSIVE"))
		metrics_bus_errors(r->metrics, ifname, "error-passive", 1);
	if (r->history && history_record_bus_event(r->history, 0, clock_now_us(CLOCK_REALTIME), ifname, what, detail) < 0)
		log_warning("history: cannot record a bus event");
}

void records_set_vin(struct records *r, const char *vin)
{
#if HAVE_MOSQUITTO
	if (r->forwarder && forwarder_set_vin(r->forwarder, vin) < 0)
		log_warning("mqtt: cannot switch to the topics of VIN %s", vin);
#else
	(void)r;
	(void)vin;
#endif
}

void records_reload(struct records *r, const struct config *cfg)
{
	if (r->history)
		history_set_retention(r->history, cfg->history.retention_ms,
				      (uint64_t)cfg->history.max_size_mb << 20);
}
