/* SPDX-License-Identifier: MIT */
/*
 * Metrics in the Prometheus text exposition format (version 0.0.4): a small registry of
 * counter, gauge and histogram families with labels, written atomically (temp file +
 * rename in the same directory) for node_exporter's textfile collector, and served by
 * the API method "metrics".
 *
 * Modules update values as things happen (metrics_add/_set/_observe, or the bodydiag
 * helpers at the bottom); values that are cheaper to read than to track (queue depth)
 * come from collectors run just before every formatting.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <jansson.h>

struct ev_loop;
struct api_server;

#define METRICS_MAX_LABELS 4

enum metrics_type {
	METRICS_COUNTER,
	METRICS_GAUGE,
	METRICS_HISTOGRAM,
	METRICS_TYPE_MAX,
};

struct metrics;
struct metrics_family;

int metrics_new(struct metrics **ret);
struct metrics *metrics_free(struct metrics *m);
static inline void metrics_freep(struct metrics **m)
{
	metrics_free(*m);
}
#define _metrics_cleanup_ __attribute__((cleanup(metrics_freep)))

/*
 * Declares a family (or returns the existing one of that name when type and labels
 * agree: -EEXIST otherwise). labels: NULL-terminated label names, at most
 * METRICS_MAX_LABELS; buckets: histogram upper bounds, strictly increasing, finite
 * (+Inf is implicit). Returns 0 or -EINVAL (invalid name), -EEXIST, -ENOMEM.
 */
int metrics_family(struct metrics *m, const char *name, const char *help, enum metrics_type type,
		   const char *const *labels, const double *buckets, size_t n_buckets,
		   struct metrics_family **ret);

/*
 * label_values: one per label name of the family (any bytes; escaped on output), NULL
 * when the family has none. Returns 0, -EINVAL (a counter going down, wrong type),
 * -ENOMEM.
 */
int metrics_set(struct metrics_family *f, const char *const *label_values, double value);
int metrics_add(struct metrics_family *f, const char *const *label_values, double delta);
int metrics_observe(struct metrics_family *f, const char *const *label_values, double value);

typedef void (*metrics_collect_fn)(struct metrics *m, void *userdata);
int metrics_add_collector(struct metrics *m, metrics_collect_fn fn, void *userdata);

/* The whole exposition, NUL-terminated, malloc'd. Runs the collectors first. */
int metrics_format(struct metrics *m, char **ret_text, size_t *ret_len);

/*
 * Writes the exposition to path atomically: a temp file ".<name>.<pid>.tmp" in the same
 * directory (node_exporter reads only *.prom, so it never sees a half-written file),
 * then rename(). Returns 0 or -errno.
 */
int metrics_write_textfile(struct metrics *m, const char *path);

/* Rewrites the textfile every interval_s seconds from a libev timer (and once now). */
int metrics_start_textfile(struct metrics *m, struct ev_loop *loop, const char *path,
			   double interval_s);

/* Answers an API "metrics" request: {"format":"prometheus-text-0.0.4","text":"..."}
 * (the records module serves the method). */
struct api_request;
void metrics_api_query(struct metrics *m, struct api_request *req, json_t *params);

/* Label value escaping of the format (\\, \", \n); returns the length it would need. */
size_t metrics_escape_label(const char *in, char *buf, size_t size);

/* --- The bodydiag series (names in docs/history.md) --- */

/* bodydiag_bus_state{interface,state}: 1 for state, 0 for the other known states. */
int metrics_bus_state(struct metrics *m, const char *interface, const char *state);
/* bodydiag_bus_errors_total{interface,kind} += n (kind: "bus-off", "error-passive", "rx-overflow", ...) */
int metrics_bus_errors(struct metrics *m, const char *interface, const char *kind, uint64_t n);
/* bodydiag_bus_frames_per_second{interface} */
int metrics_bus_frame_rate(struct metrics *m, const char *interface, double fps);
/*
 * One finished diagnostic request: bodydiag_request_duration_seconds{ecu,service}
 * histogram; nrc >= 0 also counts bodydiag_nrc_total{ecu,service,nrc}; timeout counts
 * bodydiag_request_timeouts_total{ecu,service} (no latency observed then).
 */
int metrics_request(struct metrics *m, const char *ecu, uint8_t service, double seconds, int nrc,
		    bool timeout);
/* bodydiag_forward_queue_depth and bodydiag_forward_dropped_total. */
int metrics_forward_queue(struct metrics *m, uint64_t depth, uint64_t dropped_total);
