/* SPDX-License-Identifier: MIT */
/*
 * The UDS session broker: every diagnostic request of the daemon goes through it, so
 * that one process serialises access to each ECU while serving many clients.
 *
 * One queue per ECU over a kernel ISO-TP socket (CAN_ISOTP_WAIT_TX_DONE; the profile's
 * addressing: 11- or 29-bit ids, normal, normal fixed, extended or mixed, padding, our
 * BS/STmin), two priorities (an interactive request never waits behind background
 * scans), one request on the wire per ECU at a time, P2/P2* with the server's values
 * from a positive 0x10 response honoured up to configurable caps, bounded 0x78 waits and
 * 0x21 resends with back-off (lib/uds's uds_wait state machine), tester present (0x3E
 * 0x80) only while a non-default session is held, a request rate limit over the whole
 * broker, and per-ECU latency statistics.
 *
 * Functional OBD requests (0x7DF) go out once on a CAN_RAW socket (a functional request
 * is always a single frame, ISO 15765-4) and are answered on the responders' own
 * physical ISO-TP sockets, which send the flow control of multi-frame answers.
 *
 * Outcomes are data: an NRC is a response; a timeout or an ISO-TP error is an outcome
 * with a name (uds_broker_outcome_name, uds_broker_transport_name). Sockets are opened
 * lazily, at the first request, so a daemon that nobody asks anything never opens one:
 * listen-only by default.
 *
 * The pure parts (token bucket, caps on server timing, statistics, error names) are
 * separate functions for the unit tests; libev drives the timers and fds.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/isotp_addr.h"
#include "bodydiag/uds.h"

struct ev_loop;
struct router;
struct uds_broker;
struct uds_broker_request;

#define UDS_BROKER_MAX_PDU 4095 /* classic CAN ISO-TP; responses beyond are EMSGSIZE */
#define UDS_BROKER_MAX_ECUS 64
#define UDS_BROKER_MAX_NAME 32

enum uds_broker_priority {
	UDS_BROKER_PRIORITY_INTERACTIVE, /* a client waits for it */
	UDS_BROKER_PRIORITY_BACKGROUND,	 /* scans: only when no interactive request waits */
	UDS_BROKER_PRIORITY_MAX,
};

enum uds_broker_outcome {
	UDS_BROKER_RESPONSE,	     /* a final response (positive or negative) */
	UDS_BROKER_NO_RESPONSE,	     /* SPRMIB request: nothing came within P2, as asked */
	UDS_BROKER_TIMEOUT,	     /* P2 (or P2* after a 0x78) expired */
	UDS_BROKER_TOO_MANY_PENDING, /* more 0x78 than max_pending */
	UDS_BROKER_TOO_MANY_BUSY,    /* still 0x21 after max_busy resends */
	UDS_BROKER_TRANSPORT_ERROR,  /* ISO-TP or socket error: see transport_errno (-ETIMEDOUT
				      * also when a response stopped mid-transfer for N_Cr) */
	UDS_BROKER_CANCELLED,	     /* the broker is being freed */
	UDS_BROKER_OUTCOME_MAX,
};

/* What a completed request yields; pointers valid during the callback only. */
struct uds_broker_result {
	enum uds_broker_outcome outcome;
	int transport_errno;  /* TRANSPORT_ERROR: negative errno from the socket */
	const uint8_t *resp;  /* RESPONSE */
	size_t resp_len;
	unsigned pending;     /* 0x78 responses seen */
	unsigned busy;        /* 0x21 responses seen */
	uint64_t elapsed_us;  /* first send to completion */
	uint32_t p2_ms, p2star_ms; /* the timing that applied */
};

typedef void (*uds_broker_done_fn)(void *userdata, const struct uds_broker_result *r);

/* One ECU as the broker addresses it (from the profile). */
struct uds_broker_ecu_config {
	const char *name;    /* copied, 1..UDS_BROKER_MAX_NAME-1 bytes */
	/* ids, addressing mode and bytes, padding (-1 none), BS/STmin of our flow control,
	 * functional id (0 = does not answer functional requests): the kernel ISO-TP socket
	 * is opened with all of it (isotp_socket_opts_from_addr) */
	struct isotp_addr addr;
	uint32_t p2_ms, p2star_ms; /* the profile's; 0 = defaults 50 / 5000 */
	uint32_t s3_ms;	     /* server's S3; tester present every s3/2; 0 = 5000 */
};

struct uds_broker_config {
	const char *ifname;
	uint32_t p2_cap_ms;	/* server P2 values above are cut to this; default 1000 */
	uint32_t p2star_cap_ms; /* server P2* above is cut to this; default 10000 */
	uint32_t margin_ms;	/* added to server timing for bus + transport latency; default 10 */
	unsigned max_pending;	/* 0x78 responses accepted; default 20 */
	unsigned max_busy;	/* 0x21 resends; default 3 */
	uint32_t busy_delay_ms; /* first resend delay, doubled each time; default 100 */
	uint32_t busy_delay_max_ms; /* default 2000 */
	double rate_limit;	/* requests per second over the broker; 0 = unlimited */
	double rate_burst;	/* bucket size; 0 = max(rate_limit, 1) */
	unsigned max_queue;	/* queued requests per ECU; default 64 */
	uint32_t n_cr_ms;	/* a segmented response's next frame, at most; default 1000 */
	struct router *router;	/* where every completed exchange is published (but tester
				 * present and what the broker's end cancels), and whose frames
				 * show when a response starts (P2 is met by its first frame,
				 * then N_Cr bounds each frame); may be NULL: P2 then runs to
				 * the whole PDU */
	/* Asked right before anything is sent (a request, a resend, tester present, a
	 * functional broadcast): 0 lets it go, else the request completes with
	 * TRANSPORT_ERROR and that -errno (why for the log). The daemon's transmit policy
	 * (policy_transmit: listen-only, the controller's mode). NULL: always. */
	int (*gate)(void *userdata, char *why, size_t size);
	void *gate_userdata;
};

/* Fills the defaults above (ifname "can0"). */
void uds_broker_config_init(struct uds_broker_config *c);

/* Per-ECU statistics; latency is first send to first response PDU. */
struct uds_broker_stats {
	uint64_t requests, responses, negative, timeouts, transport_errors, pending, busy;
	uint64_t latency_n, latency_sum_us, latency_min_us, latency_max_us, latency_last_us;
	unsigned queued;       /* waiting, both priorities */
	bool active;           /* one on the wire */
	uint8_t session;       /* last session the ECU accepted (1 = default) */
	uint32_t p2_ms, p2star_ms; /* current timing */
	bool open;             /* socket open */
};

/* Records one latency sample (pure; the unit tests use it). */
void uds_broker_stats_add_latency(struct uds_broker_stats *s, uint64_t us);
/* Mean latency in ms, 0 when no sample. */
double uds_broker_stats_mean_ms(const struct uds_broker_stats *s);

/*
 * Token bucket over request starts (pure): rate per second, burst tokens. take returns 0
 * when a token was taken, else the µs until one is available (nothing taken).
 * rate 0 = unlimited (always 0).
 */
struct uds_broker_bucket {
	double rate, burst, tokens;
	int64_t last_us;
};
void uds_broker_bucket_init(struct uds_broker_bucket *b, double rate, double burst, int64_t now_us);
int64_t uds_broker_bucket_take(struct uds_broker_bucket *b, int64_t now_us);

/*
 * The timing to use after a positive 0x10 response (pure): the server's P2/P2* plus
 * margin, capped; the current values stay when the response has no timing record.
 */
void uds_broker_timing_from_session(const struct uds_broker_config *c,
				    const struct uds_session_response *s, uint32_t *p2_ms,
				    uint32_t *p2star_ms);

/* "response", "no_response", "timeout", "response_pending_limit", "busy_limit",
 * "transport_error", "cancelled"; NULL out of range. */
const char *uds_broker_outcome_name(enum uds_broker_outcome o);
/*
 * Stable machine name of a transport errno (negative): -ETIMEDOUT "isotp_timeout"
 * (N_Cr/N_Bs), -ECOMM "isotp_no_flow_control", -EILSEQ "isotp_wrong_sequence", -EBADMSG
 * "isotp_malformed", -EMSGSIZE "isotp_overflow", -EOVERFLOW "isotp_wait_limit",
 * -ENETDOWN/-ENODEV/-ENXIO "link_down", -ENOBUFS "tx_queue_full", -EPERM "not_permitted"
 * (the transmit policy's gate said no), others "transport_error". Never NULL. isotp_socket_error_name() gives the human text.
 */
const char *uds_broker_transport_name(int neg_errno);

/*
 * Creates a broker on loop for the ECUs given (copied). No socket is opened until a
 * request needs one. Returns 0, -EINVAL (bad config: duplicate or empty names, too many
 * ECUs), -ENOMEM.
 */
int uds_broker_new(struct ev_loop *loop, const struct uds_broker_config *c,
		   const struct uds_broker_ecu_config *ecus, size_t n_ecus,
		   struct uds_broker **ret);
/*
 * A new set of ECUs (a reload): an ECU with the same name and addressing as before keeps
 * its queue, the request on the wire, its session and socket; the others' requests
 * complete with CANCELLED before this returns, and their sockets close. ECU indices
 * follow the new order. Returns 0, -EINVAL (as uds_broker_new), -ENOMEM (nothing
 * changed).
 */
int uds_broker_set_ecus(struct uds_broker *b, const struct uds_broker_ecu_config *ecus,
			size_t n_ecus);
/* New timing caps, 0x78/0x21 limits and rate limit (a reload); the rest of c is ignored. */
void uds_broker_set_tuning(struct uds_broker *b, const struct uds_broker_config *c);

/* Completes every request with CANCELLED, closes the sockets. Accepts NULL, returns NULL. */
struct uds_broker *uds_broker_free(struct uds_broker *b);

/* Nothing queued or on the wire, no functional request, every ECU in its default
 * session (no tester present due). */
bool uds_broker_idle(const struct uds_broker *b);
/* Closes the sockets of an idle broker (the next request opens them again): before the
 * controller goes back to listen-only mode. Nothing when it is not idle. */
void uds_broker_close_idle(struct uds_broker *b);

size_t uds_broker_ecu_count(const struct uds_broker *b);
/* Index of an ECU by name, -ENOENT when absent. */
int uds_broker_ecu_find(const struct uds_broker *b, const char *name);
const char *uds_broker_ecu_name(const struct uds_broker *b, size_t i);
const struct uds_broker_ecu_config *uds_broker_ecu_config(const struct uds_broker *b, size_t i);
/* 0, -ENOENT out of range. */
int uds_broker_ecu_stats(const struct uds_broker *b, size_t i, struct uds_broker_stats *ret);

/*
 * Queues req (copied, 1..UDS_BROKER_MAX_PDU bytes) for ECU index ecu. done runs exactly
 * once, from the loop (never inside this call), unless the request is cancelled first.
 * *ret_req (may be NULL) is a handle for uds_broker_request_cancel, valid until done
 * runs. Returns 0, -ENOENT (no such ECU), -EINVAL (empty or oversized PDU, bad priority),
 * -ENOBUFS (the ECU's queue is full), -ENOMEM.
 */
int uds_broker_submit(struct uds_broker *b, size_t ecu, enum uds_broker_priority prio,
		      const uint8_t *req, size_t len, uds_broker_done_fn done, void *userdata,
		      struct uds_broker_request **ret_req);

/*
 * The caller no longer wants the result: done will not run. A queued request is dropped;
 * one already on the wire is still waited for (its response must not be taken for the
 * next request's) and then discarded.
 */
void uds_broker_request_cancel(struct uds_broker_request *r);

/* One answer to a functional request. */
struct uds_broker_functional_answer {
	size_t ecu;	     /* index of the responder */
	const uint8_t *resp; /* NULL when it did not answer (or with a transport error) */
	size_t resp_len;
	int transport_errno; /* 0, or the responder socket's error */
};
typedef void (*uds_broker_functional_fn)(void *userdata,
					 const struct uds_broker_functional_answer *answers,
					 size_t n);

/*
 * Sends req (1..7 bytes: a single frame) once on the functional id of the ECUs that have
 * one, and collects for P2 (the longest of theirs) every responder's answer, waiting
 * P2* for those that sent 0x78. The responders' queues are held meanwhile. done runs
 * once from the loop with one answer per responder. The responders: the ECUs with the
 * first functional id found and no address byte (normal and normal_fixed addressing; the
 * profile has no functional address byte for extended and mixed ones). Returns 0,
 * -ENOENT (no such ECU), -EINVAL, -EBUSY (a functional request is running), -ENOMEM.
 */
int uds_broker_functional(struct uds_broker *b, const uint8_t *req, size_t len,
			  uds_broker_functional_fn done, void *userdata);
