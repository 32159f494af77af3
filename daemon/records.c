/* SPDX-License-Identifier: MIT */
#include "records.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api.h"
#include "bodydiag/uds.h"
#include "config.h"
#include "core.h"
#include "daemon-build.h"
#include "forward_state.h"
#include "history_api.h"
#include "history_outbox.h"
#include "history_retention.h"
#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "router.h"
#include "uds_broker.h"

struct records {
	struct core *c;
	struct router_watch *watch;
	struct history *history;
	struct history_pruner *pruner;
	struct metrics *metrics;
	struct metrics_family *frames, *drops, *error_frames, *outages, *ecu_requests,
		*ecu_timeouts, *ecu_negative, *ecu_latency;
	/* [mqtt] enabled: the outbox and the forwarder's state file */
	struct metrics_family *fwd_running, *fwd_connected, *fwd_oldest, *fwd_published,
		*fwd_resent, *fwd_receipted, *fwd_rejected, *fwd_failures;
	bool state_warned; /* the state file's problem was logged once */
	uint64_t last_frames;
	int64_t last_collect_us;
	char ifname[32];
	struct timer trim; /* the heap's free pages back to the kernel */
	size_t trimmed_free; /* the heap's free bytes right after the last trim */
};

/*
 * The heap after a burst of big replies (findings with their evidence, a thousand
 * history rows: hundreds of KB of small JSON objects, freed once sent) keeps the freed
 * pages; glibc gives back only what lies at the top of the heap. Every second (TRIM_US),
 * when more than TRIM_FREE is free inside the heap, malloc_trim() returns the whole free
 * pages to the kernel (the daemon's resident memory stays at its working set:
 * bench/memory-bench.sh). It walks the free chunks: tens of microseconds.
 */
#define TRIM_US 1000000
/*
 * A page: once the history's replies stopped churning the heap (history_api.c), a round
 * of requests left ~120 kB free inside it, under the 256 KiB this was, resident for good
 * (the heap 948 kB after the first round, 824 kB trimmed over 32 KiB); with 32 KiB, up
 * to 32 KiB of free pages could stay, enough to move the heap's resident size by a page
 * between rounds (+4 kB in one run of bench/memory-bench.sh). A trim runs only when the
 * heap changed since the last one (its free bytes moved): an idle daemon does not
 * madvise the same pages every second.
 */
#define TRIM_FREE 4096u

static void on_trim(struct timer *t)
{
	struct records *r = container_of(t, struct records, trim);
	struct mallinfo2 mi = mallinfo2();

	if (mi.fordblks >= TRIM_FREE && mi.fordblks != r->trimmed_free) {
		malloc_trim(0);
		r->trimmed_free = mallinfo2().fordblks;
	}
	timer_start(t, TRIM_US);
}

static void collect_forward(struct records *r, struct metrics *m);

/* Runs when the metrics are formatted (textfile timer or the `metrics` method). */
static void collect(struct metrics *m, void *userdata)
{
	struct records *r = userdata;
	const char *ifl[] = {r->ifname};
	struct bus_stats st;

	if (r->c->bus) {
		int64_t now = clock_now_us(CLOCK_MONOTONIC);
		bus_get_stats(r->c->bus, &st);
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
	for (size_t i = 0; r->c->broker && i < uds_broker_ecu_count(r->c->broker); i++) {
		struct uds_broker_stats s;
		const char *el[] = {uds_broker_ecu_name(r->c->broker, i)};
		if (uds_broker_ecu_stats(r->c->broker, i, &s) < 0)
			continue;
		metrics_set(r->ecu_requests, el, (double)s.requests);
		metrics_set(r->ecu_timeouts, el, (double)s.timeouts);
		metrics_set(r->ecu_negative, el, (double)s.negative);
		metrics_set(r->ecu_latency, el, uds_broker_stats_mean_ms(&s) / 1e3);
	}
	collect_forward(r, m);
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
		/* [mqtt] enabled only (n_always below) */
		{&r->fwd_running, "bodydiag_forward_running", "1 when bodydiag-forward wrote its state file within 30 s", METRICS_GAUGE, NULL},
		{&r->fwd_connected, "bodydiag_forward_connected", "1 when bodydiag-forward is connected to the broker", METRICS_GAUGE, NULL},
		{&r->fwd_oldest, "bodydiag_forward_oldest_seconds", "Age of the oldest record in the outbox (0 when empty)", METRICS_GAUGE, NULL},
		{&r->fwd_published, "bodydiag_forward_published_total", "Records bodydiag-forward published (first sends)", METRICS_COUNTER, NULL},
		{&r->fwd_resent, "bodydiag_forward_resent_total", "Records published again (no receipt in time, reconnection)", METRICS_COUNTER, NULL},
		{&r->fwd_receipted, "bodydiag_forward_receipted_total", "Records a fleet receipt covered (removed from the outbox)", METRICS_COUNTER, NULL},
		{&r->fwd_rejected, "bodydiag_forward_rejected_total", "Records the fleet ingest refused for good", METRICS_COUNTER, NULL},
		{&r->fwd_failures, "bodydiag_forward_connect_failures_total", "Broker connections refused, failed or lost", METRICS_COUNTER, NULL},
	};
	size_t n_always = 8, n = r->c->cfg.mqtt.enabled ? ARRAY_SIZE(t) : n_always;

	for (size_t i = 0; i < n; i++) {
		int e = metrics_family(r->metrics, t[i].name, t[i].help, t[i].type, t[i].labels, NULL, 0,
				       t[i].f);
		if (e < 0)
			return e;
	}
	return metrics_add_collector(r->metrics, collect, r);
}

static void open_history(struct records *r, struct ev_loop *loop, const struct config *cfg)
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
	e = history_pruner_new(r->history, loop, 60.0, &r->pruner);
	if (e < 0)
		log_warning_errno(-e, "history: pruning not started");
}

/*
 * [mqtt] enabled: records are queued in the history's outbox, in their own transaction;
 * bodydiag-forward, a service of its own that may use the network, publishes them. The
 * daemon itself opens no IP socket.
 */
static void start_outbox(struct records *r, const struct config *cfg)
{
	int e;

	if (!cfg->mqtt.enabled)
		return;
	if (!r->history) {
		log_error("mqtt: the outbox lives in the history database, which is off; nothing is "
			  "queued for bodydiag-forward");
		return;
	}
	e = history_outbox_enable(r->history, true, cfg->mqtt.queue_max);
	if (e < 0)
		log_error_errno(-e, "mqtt: cannot queue records for bodydiag-forward");
	else
		log_info("mqtt: records are queued for bodydiag-forward (outbox of %s)",
			 cfg->history.path);
}

/* The forwarder's state file, and whether it was written recently; false when absent. */
static bool forwarder_state(struct records *r, struct forward_state *st, bool *ret_fresh)
{
	char err[128];
	int e = forward_state_read(r->c->cfg.mqtt.state_file, st, err, sizeof(err));

	if (e < 0) {
		if (e != -ENOENT && !r->state_warned)
			log_warning("mqtt: %s: %s", r->c->cfg.mqtt.state_file,
				    e == -EINVAL ? err : strerror(-e));
		r->state_warned = e != -ENOENT;
		return false;
	}
	r->state_warned = false;
	*ret_fresh = forward_state_fresh(st, clock_now_us(CLOCK_BOOTTIME));
	return true;
}

static void collect_forward(struct records *r, struct metrics *m)
{
	struct history_outbox_stats os = {0};
	struct forward_state st;
	bool have, fresh = false;

	if (!r->fwd_running || !r->history)
		return; /* [mqtt] was off at start */
	if (history_outbox_stats(r->history, &os) >= 0)
		metrics_forward_queue(m, os.depth, history_outbox_dropped(r->history));
	have = forwarder_state(r, &st, &fresh);
	metrics_set(r->fwd_running, NULL, have && fresh);
	metrics_set(r->fwd_connected, NULL, have && fresh && st.link == FORWARD_LINK_CONNECTED);
	metrics_set(r->fwd_oldest, NULL,
		    os.oldest_t_us ? (double)(clock_now_us(CLOCK_REALTIME) - os.oldest_t_us) / 1e6 : 0);
	if (!have)
		return;
	/* The forwarder's own counters: they restart with it, which Prometheus's rate() and
	 * increase() take for a counter reset. */
	metrics_set(r->fwd_published, NULL, (double)st.published);
	metrics_set(r->fwd_resent, NULL, (double)st.resent);
	metrics_set(r->fwd_receipted, NULL, (double)st.receipted);
	metrics_set(r->fwd_rejected, NULL, (double)st.rejected);
	metrics_set(r->fwd_failures, NULL, (double)st.failures);
}

json_t *records_mqtt_status(struct records *r)
{
	const struct config *cfg = &r->c->cfg;
	struct history_outbox_stats os = {0};
	struct forward_state st;
	char broker[300];
	bool have, fresh = false;

	if (!cfg->mqtt.enabled)
		return json_pack("{s:s}", "state", "disabled");
	snprintf(broker, sizeof(broker), "%s:%u", cfg->mqtt.host,
		 cfg->mqtt.port ? cfg->mqtt.port : cfg->mqtt.tls ? 8883 : 1883);
	if (r->history && history_outbox_stats(r->history, &os) < 0)
		log_warning("mqtt: cannot read the outbox: %s", history_last_error(r->history));
	have = forwarder_state(r, &st, &fresh);
	return forward_state_status_json(have ? &st : NULL, fresh, broker, os.depth, os.oldest_t_us,
					 r->history ? history_outbox_dropped(r->history) : 0);
}

/* The DTC list of an answer to 0x19 into the history, in the session open now (a guided
 * test's) or in none. Whoever asked: a client's dtc.read, a scan, a guided test, another
 * tester on the bus. */
static void record_dtcs(struct records *r, const struct router_exchange *x, int64_t session,
			int64_t wall)
{
	struct uds_rdtci_response dl;
	struct uds_dtc_record rec;

	bool batch;
	int e = 0, k;

	if (!x->req || uds_parse_rdtci(x->req, x->req_len, x->resp, x->resp_len, &dl) < 0 ||
	    dl.r.result != UDS_RESULT_OK || dl.shape != UDS_RDTCI_SHAPE_DTC_LIST)
		return;
	/* One transaction for the list: a full fault memory (1,023 DTCs) is one fsync. */
	batch = history_batch_begin(r->history) >= 0;
	for (size_t i = 0; e >= 0 && uds_rdtci_dtc(&dl, i, &rec) == 0; i++)
		e = history_record_dtc(r->history, session, wall, x->ecu_name, rec.dtc & 0xffffffu,
				       rec.status, NULL);
	k = batch ? history_batch_end(r->history) : 0; /* also what came before a failure */
	if (e >= 0)
		e = k;
	if (e < 0)
		log_warning_errno(-e, "history: cannot record the DTCs of %s", x->ecu_name);
}

static void on_exchange(void *userdata, const struct router_exchange *x)
{
	struct records *r = userdata;
	int64_t session = r->history ? history_open_session(r->history) : 0;

	if (x->outcome != UDS_BROKER_RESPONSE || !x->resp)
		return;
	if (r->history && x->resp[0] == UDS_SID_READ_DTC_INFORMATION + UDS_POSITIVE_OFFSET)
		record_dtcs(r, x, session, core_wall_of(r->c, x->t_us));
}

static int records_new(struct core *c)
{
	static const struct router_watch_ops ops = {.exchange = on_exchange};
	const struct config *cfg = &c->cfg;
	struct records *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	r->c = c;
	c->records = r;
	timer_init(&r->trim, &c->clock, on_trim);
	snprintf(r->ifname, sizeof(r->ifname), "%s", cfg->can.interface);
	e = metrics_new(&r->metrics);
	if (e >= 0)
		e = families(r);
	if (e >= 0)
		e = router_watch_new(c->router, &ops, r, &r->watch);
	if (e < 0)
		return e;
	if (cfg->metrics.textfile[0]) {
		e = metrics_start_textfile(r->metrics, c->loop, cfg->metrics.textfile,
					   (double)cfg->metrics.interval_ms / 1000.0);
		if (e < 0)
			log_warning_errno(-e, "metrics: cannot write %s", cfg->metrics.textfile);
	}
	timer_start(&r->trim, TRIM_US);
	open_history(r, c->loop, cfg);
	start_outbox(r, cfg);
	return 0;
}

static void records_free(struct core *c)
{
	struct records *r = c->records;

	if (!r)
		return;
	timer_stop(&r->trim);
	router_watch_free(r->watch);
	history_pruner_free(r->pruner);
	history_free(r->history);
	metrics_free(r->metrics);
	free(r);
	c->records = NULL;
}

struct history *records_history(struct records *r)
{
	return r ? r->history : NULL;
}

void records_set_vin(struct records *r, const char *vin)
{
	if (!r)
		return;
	if (r->history &&
	    history_set_vin(r->history, core_wall_of(r->c, clock_now(&r->c->clock)), vin) < 0)
		log_warning("history: cannot record the VIN %s", vin);
	/* bodydiag-forward names the topics by the VIN each outbox record carries */
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
	case BUS_EVENT_BITRATE:
		what = "bitrate";
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

/* SIGHUP: the retention settings of the new config (the rest takes effect at restart). */
static void records_set_vehicle(struct core *c, struct vehicle *v)
{
	struct records *r = c->records;

	if (r->history)
		history_set_retention(r->history, c->cfg.history.retention_ms,
				      (uint64_t)c->cfg.history.max_size_mb << 20);
}

static void method_history(struct api_request *req, json_t *params, void *userdata)
{
	struct records *r = ((struct core *)userdata)->records;

	if (!r->history) {
		api_request_fail(req, API_ERROR_UNAVAILABLE, "no history database ([history] path)");
		return;
	}
	history_api_query(r->history, req, params);
}

static void method_metrics(struct api_request *req, json_t *params, void *userdata)
{
	metrics_api_query(((struct core *)userdata)->records->metrics, req, params);
}

static const struct api_method method_table[] = {
	{.name = "history", .privilege = API_PRIVILEGE_READ, .handler = method_history,
	 .summary = "stored DTC transitions, findings and bus events (filters: since, until, "
		    "vin, code, cause, session, kind, limit)"},
	{.name = "metrics", .privilege = API_PRIVILEGE_READ, .handler = method_metrics,
	 .summary = "Prometheus text exposition of the daemon's metrics"},
};

const struct module records_module = {
	.name = "history and metrics",
	.new = records_new,
	.set_vehicle = records_set_vehicle,
	.free = records_free,
	.methods = method_table,
	.n_methods = ARRAY_SIZE(method_table),
};
