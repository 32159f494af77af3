/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * bitrate_detect: finds a CAN bus's bitrate by listening, never by sending. The caller
 * keeps the controller in listen-only mode (lib/linux can_link_set_mode() with
 * CAN_LINK_CTRLMODE_LISTENONLY, and bus-error reporting so a wrong bitrate shows as error
 * frames) and does what this machine says: put the controller at a bitrate, listen until a
 * time, feed it every frame and error frame seen meanwhile.
 *
 * A bitrate matches when min_frames data frames arrive with no error frame that speaks of
 * the bus (bd_frame_err_is_bus_fault()); an error frame condemns the bitrate at once (a
 * controller sampling at the wrong rate sees stuff and form errors on every frame); a
 * bitrate that stays silent for dwell_us proves nothing and the next one is tried. The
 * whole run is bounded by total_us. Pure: time is the caller's monotonic microseconds.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

#define BITRATE_DETECT_MAX 16u
/* Distinct ids counted per bitrate for the report; more are seen but not counted. */
#define BITRATE_DETECT_IDS 64u

struct bitrate_detect_config {
	uint32_t bitrates[BITRATE_DETECT_MAX]; /* order to try; n = 0: the default list */
	size_t n;
	uint32_t first;	     /* tried first when not 0 (the profile's bitrate) */
	int64_t dwell_us;    /* longest listen at one bitrate; default 1.5 s */
	int64_t total_us;    /* bound of the whole run; default 15 s */
	unsigned min_frames; /* clean data frames that confirm a bitrate; default 4 */
};

/* The default order: 500k, 250k, 125k, 83.333k, 33.333k (GM single-wire), 1M; dwell 1.5 s,
 * total 15 s, 4 frames. */
void bitrate_detect_config_init(struct bitrate_detect_config *c);

/* "500k,250000,83.333k,1M": bit/s with an optional k or M suffix and decimals, rounded
 * to the nearest bit/s (10k..1M). 0 and *ret_n, -EINVAL (bad token), -E2BIG (more than cap). */
int bitrate_detect_parse_list(const char *s, size_t n, uint32_t *out, size_t cap, size_t *ret_n);
/* "500k", "83.333k", "1M", "1200". Returns snprintf's result. */
int bitrate_detect_format(uint32_t bitrate, char *buf, size_t size);

enum bitrate_detect_verdict {
	BITRATE_DETECT_NOT_TRIED,
	BITRATE_DETECT_MATCH,  /* min_frames clean frames */
	BITRATE_DETECT_ERRORS, /* an error frame: wrong bitrate (or a faulty bus) */
	BITRATE_DETECT_SILENT, /* nothing at all during the dwell */
	BITRATE_DETECT_FEW,    /* some clean frames, fewer than min_frames, dwell over */
	BITRATE_DETECT_FAILED, /* the controller refused this bitrate */
	BITRATE_DETECT_CUT,    /* the total time bound ended it */
	BITRATE_DETECT_VERDICT_MAX,
};
/* "match", "error frames", "silent", ... */
const char *bitrate_detect_verdict_name(enum bitrate_detect_verdict v);

struct bitrate_detect_result {
	uint32_t bitrate; /* asked for */
	uint32_t applied; /* as the controller reported it back; 0 = never applied */
	enum bitrate_detect_verdict verdict;
	unsigned frames;	/* data frames */
	unsigned error_frames;	/* bus-fault error frames */
	uint32_t error_classes; /* the union of their classes (enum bd_frame_err_class) */
	unsigned ids;		/* distinct ids among the data frames, up to BITRATE_DETECT_IDS */
	int64_t listened_us;
	int set_error; /* -errno when the controller refused (FAILED) */
};

enum bitrate_detect_action {
	BITRATE_DETECT_SET, /* put the controller at step.bitrate, listen-only; then _applied() */
	BITRATE_DETECT_LISTEN, /* feed frames until step.until_us, then ask again */
	BITRATE_DETECT_DONE,
	BITRATE_DETECT_ACTION_MAX,
};

struct bitrate_detect_step {
	enum bitrate_detect_action action;
	uint32_t bitrate;
	int64_t until_us;
};

enum bitrate_detect_outcome {
	BITRATE_DETECT_RUNNING,
	BITRATE_DETECT_FOUND,	   /* one bitrate matched */
	BITRATE_DETECT_NO_TRAFFIC, /* no frame at any bitrate: bus asleep or not connected */
	BITRATE_DETECT_NONE,	   /* traffic or errors seen, but no bitrate matched */
	BITRATE_DETECT_TIMEOUT,	   /* the time bound came first */
	BITRATE_DETECT_OUTCOME_MAX,
};
const char *bitrate_detect_outcome_name(enum bitrate_detect_outcome o);

struct bitrate_detect;

/* cfg is copied (and its list deduplicated, `first` moved to the front). 0, -EINVAL (a
 * bitrate of 0, n above BITRATE_DETECT_MAX, dwell or total <= 0), -ENOMEM. */
int bitrate_detect_new(const struct bitrate_detect_config *cfg, int64_t now_us,
		       struct bitrate_detect **ret);
/* Accepts NULL, returns NULL. */
struct bitrate_detect *bitrate_detect_free(struct bitrate_detect *d);
static inline void bitrate_detect_freep(struct bitrate_detect **d)
{
	bitrate_detect_free(*d);
}

/* What to do now. Always fills *ret. */
void bitrate_detect_next(struct bitrate_detect *d, int64_t now_us, struct bitrate_detect_step *ret);
/* The controller runs at the bitrate of the last SET step; applied is what it reports
 * (the listening window starts now: frames queued before must be dropped by the caller). */
void bitrate_detect_applied(struct bitrate_detect *d, uint32_t applied, int64_t now_us);
/* The controller refused the last SET step's bitrate (-errno). */
void bitrate_detect_set_failed(struct bitrate_detect *d, int neg_errno, int64_t now_us);
/* A frame or error frame received while listening. Ignored outside a listening window. */
void bitrate_detect_on_frame(struct bitrate_detect *d, const struct bd_frame *f, int64_t now_us);

enum bitrate_detect_outcome bitrate_detect_outcome(const struct bitrate_detect *d,
						   uint32_t *ret_bitrate);
size_t bitrate_detect_result_count(const struct bitrate_detect *d);
/* In the order tried (then the untried ones); NULL out of range. */
const struct bitrate_detect_result *bitrate_detect_result_at(const struct bitrate_detect *d,
							     size_t i);
