/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * discover: finds the ECUs that answer diagnostics on a bus without a profile, as a pure
 * planner. The caller owns the sockets (lib/linux: one CAN_RAW socket with error frames
 * for the probes and for everything the bus says, one kernel ISO-TP socket for the ECU
 * being identified) and the clock; the planner says what to send next and when, takes
 * every frame seen and every PDU received, and ends with a list of ECUs.
 *
 * The run:
 *  1. quiet: listen for quiet_us first. Every id seen on the bus, then and later, is never
 *     used for a probe (sending on an id another node uses makes bit errors: two
 *     transmitters with different data on one id). An error frame stops everything.
 *  2. probes, at most `rate` requests per second in total, one single frame each:
 *     functional 0x7DF (and 0x18DB33F1): OBD-II mode 01 PID 00, then the UDS probe; the
 *       answers name the OBD ECUs (0x7E8+n answers 0x7E0+n, ISO 15765-4) and the response
 *       ids of every ECU that takes functional requests;
 *     11-bit physical request ids (default 0x700-0x7F7): the UDS probe, normal addressing;
 *       an answer on any 11-bit id within listen_us belongs to the probe in flight (with
 *       several in flight, the one at a usual offset: +8, +0x20, +0x6A);
 *     29-bit normal fixed targets (default 0x00-0xFF): 0x18DA<TA><F1>, answers on
 *       0x18DAF1<TA>;
 *     extended addressing behind the usual gateways: Toyota-style 0x750 with the target
 *       byte first, answers on 0x758 carrying the target again; BMW-style 0x6F1, answers
 *       on 0x600 + target carrying the tester's 0xF1.
 *     The UDS probe is TesterPresent 0x3E 0x00 (it must be answered, so never the
 *     suppress-response form) or DiagnosticSessionControl default 0x10 0x01.
 *  3. identification, one ECU at a time and one request at a time over ISO-TP:
 *     ReadDataByIdentifier F187 spare part number, F18A supplier, F18C serial number, F190
 *     VIN, F191 hardware number, F195 software version, F197 system name; OBD mode 09
 *     PID 02 (VIN) for the ECUs that answered mode 01. P2, P2*, 0x78 and 0x21 through lib/uds's
 *     wait machine; an ECU that keeps answering 0x78 (max_pending), answers garbage
 *     (three times) or runs past ecu_budget_us is given up, with the reason kept; two
 *     unanswered reads or "service not supported" end its UDS reads.
 *  Everything is bounded by max_time_us; the first bus-fault error frame (bus error,
 *  bus-off, no ACK...) stops the run at once.
 *
 * Range text form (discover_range_parse, one range; a command line may give several):
 *   functional | functional29 | 11bit[:FIRST-LAST] | 29bit[:FIRST-LAST]
 *   | toyota[:FIRST-LAST] | bmw[:FIRST-LAST] | ext:REQ/RESP[:FIRST-LAST]
 * 11bit takes request ids (0x000-0x7FF), the others target addresses (0x00-0xFF);
 * ext:REQ/RESP is a gateway of the Toyota kind on other ids. Numbers hex, 0x optional.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"
#include "bodydiag/isotp_addr.h"
#include "bodydiag/uds.h"
#include "bodydiag/vin.h"

#define DISCOVER_MAX_RANGES 16u
#define DISCOVER_MAX_ECUS 64u
#define DISCOVER_IDENT_BYTES 64u /* identification bytes kept per DID */
/* Ext (29-bit) ids remembered as in use; past this, further ids are not remembered. */
#define DISCOVER_MAX_EXT_IDS 4096u

enum discover_range_kind {
	DISCOVER_RANGE_FUNCTIONAL,   /* 0x7DF */
	DISCOVER_RANGE_FUNCTIONAL29, /* 0x18DB33F1 */
	DISCOVER_RANGE_11BIT,	     /* physical request ids first..last, normal addressing */
	DISCOVER_RANGE_29BIT,	     /* normal fixed, targets first..last */
	DISCOVER_RANGE_EXT_ECHO,     /* extended, tx_id -> rx_id, the target byte both ways */
	DISCOVER_RANGE_EXT_TESTER,   /* extended, tx_id -> rx_id + target, tester byte in answers */
	DISCOVER_RANGE_KIND_MAX,
};

struct discover_range {
	enum discover_range_kind kind;
	uint32_t first, last; /* request ids (11bit) or target addresses */
	uint32_t tx_id;	      /* EXT_*: the gateway's request id */
	uint32_t rx_id;	      /* EXT_ECHO: response id; EXT_TESTER: base of response ids */
};

/* Parses one range. 0, or -EINVAL with a message in err. */
int discover_range_parse(const char *s, size_t n, struct discover_range *ret, char *err,
			 size_t errcap);
/* The text form of a range. Returns snprintf's result. */
int discover_range_format(const struct discover_range *r, char *buf, size_t size);
/* Number of probes the range plans (before ids in use are skipped). */
unsigned discover_range_probes(const struct discover_range *r);

enum discover_probe {
	DISCOVER_PROBE_TESTER_PRESENT, /* 0x3E 0x00 */
	DISCOVER_PROBE_SESSION,	       /* 0x10 0x01 */
	DISCOVER_PROBE_MAX,
};

struct discover_config {
	struct discover_range ranges[DISCOVER_MAX_RANGES];
	size_t
	    n_ranges; /* 0: the default set (functional, functional29, 11bit, 29bit, toyota, bmw) */
	enum discover_probe probe;
	unsigned rate;	     /* requests per second, probes and reads together; default 20 */
	int64_t max_time_us; /* bound of the whole run; default 120 s */
	int64_t quiet_us;    /* passive listening before the first probe; default 500 ms */
	int64_t listen_us; /* how long after a probe an answer is attributed to it; default 50 ms */
	int64_t ecu_budget_us; /* identification time per ECU; default 10 s */
	uint8_t tester;	       /* our address (SA) for 29-bit and BMW-style; default 0xF1 */
	int padding;   /* pad byte of probe frames and ISO-TP frames, -1 none; default 0xCC */
	bool identify; /* read the identification after probing; default true */
	/* which reads: bits (1u << enum discover_ident_id); 0 = all of them (default). The
	 * VIN alone: DISCOVER_IDENT_ONLY_VIN */
	uint32_t ident_only;
	struct uds_timing timing; /* identification reads: default P2 100 ms, P2* 5 s, 10 x 0x78 */
};

void discover_config_init(struct discover_config *c);

/* Identification reads, in the order they are made. */
enum discover_ident_id {
	DISCOVER_ID_SPARE_PART,	 /* F187 */
	DISCOVER_ID_SUPPLIER,	 /* F18A */
	DISCOVER_ID_SERIAL,	 /* F18C */
	DISCOVER_ID_VIN,	 /* F190 */
	DISCOVER_ID_HARDWARE,	 /* F191 */
	DISCOVER_ID_SOFTWARE,	 /* F195 */
	DISCOVER_ID_SYSTEM_NAME, /* F197 */
	DISCOVER_ID_OBD_VIN,	 /* mode 09 PID 02 */
	DISCOVER_ID_MAX,
};
#define DISCOVER_IDENT_ONLY_VIN ((1u << DISCOVER_ID_VIN) | (1u << DISCOVER_ID_OBD_VIN))

/* The DID (0 for the OBD read) and a short name ("spare part", "VIN (OBD)", ...). */
uint16_t discover_ident_did(enum discover_ident_id i);
const char *discover_ident_name(enum discover_ident_id i);

enum discover_ident_state {
	DISCOVER_IDENT_NOT_ASKED,
	DISCOVER_IDENT_OK,
	DISCOVER_IDENT_NEGATIVE,  /* an NRC */
	DISCOVER_IDENT_NO_ANSWER, /* P2 / P2* expired */
	DISCOVER_IDENT_GARBAGE,	  /* an answer that is no answer to the read */
	DISCOVER_IDENT_PENDING,	  /* 0x78 without end */
	DISCOVER_IDENT_TRANSPORT, /* the ISO-TP transfer failed */
	DISCOVER_IDENT_STATE_MAX,
};
const char *discover_ident_state_name(enum discover_ident_state s);

struct discover_ident {
	enum discover_ident_state state;
	uint8_t nrc;			    /* NEGATIVE */
	uint8_t data[DISCOVER_IDENT_BYTES]; /* OK: the value (after SID and DID) */
	size_t len;			    /* bytes kept (the value may have been longer) */
};

enum discover_found_by {
	DISCOVER_FOUND_FUNCTIONAL, /* only through a functional request */
	DISCOVER_FOUND_PHYSICAL,   /* a physical probe at its own address */
	DISCOVER_FOUND_MAX,
};

enum discover_ecu_status {
	DISCOVER_ECU_FOUND,	      /* not identified (yet, or identify off, or time bound) */
	DISCOVER_ECU_IDENTIFIED,      /* every read made */
	DISCOVER_ECU_GAVE_UP_PENDING, /* kept answering 0x78 */
	DISCOVER_ECU_GAVE_UP_GARBAGE, /* answered garbage or broke the transport */
	DISCOVER_ECU_GAVE_UP_BUDGET,  /* ran past ecu_budget_us */
	DISCOVER_ECU_STATUS_MAX,
};
const char *discover_ecu_status_name(enum discover_ecu_status s);

struct discover_ecu {
	struct isotp_addr addr; /* how to reach it (padding: the config's) */
	enum discover_found_by found_by;
	bool uds;	      /* answered the UDS probe */
	bool obd;	      /* answered OBD mode 01 (functional) */
	bool request_guessed; /* answered only functionally: request id = response - 8 */
	uint8_t probe_nrc;    /* its answer to the UDS probe was negative: the NRC */
	int64_t latency_us;   /* probe to answer */
	enum discover_ecu_status status;
	struct discover_ident ident[DISCOVER_ID_MAX];
	unsigned pending_seen, garbage_seen;
};

enum discover_status {
	DISCOVER_RUNNING,
	DISCOVER_DONE,	     /* every range probed, every ECU identified */
	DISCOVER_TIMEOUT,    /* max_time_us reached: the results so far */
	DISCOVER_BUS_ERROR,  /* an error frame: stopped at once */
	DISCOVER_SEND_ERROR, /* the caller could not send (discover_send_failed) */
	DISCOVER_STATUS_MAX,
};
const char *discover_status_name(enum discover_status s);

enum discover_action_kind {
	DISCOVER_ACTION_WAIT,	    /* nothing before action.at_us: feed frames meanwhile */
	DISCOVER_ACTION_SEND_FRAME, /* send action.frame on the raw socket now */
	DISCOVER_ACTION_SEND_PDU,   /* send action.pdu to ECU action.ecu over ISO-TP now */
	DISCOVER_ACTION_DONE,
	DISCOVER_ACTION_KIND_MAX,
};

struct discover_action {
	enum discover_action_kind kind;
	int64_t at_us;
	struct bd_frame frame;
	size_t ecu; /* index for discover_ecu_at() */
	uint8_t pdu[8];
	size_t pdu_len;
};

struct discover;

/* cfg is copied. 0, -EINVAL (rate 0 or above 1000, times <= 0, a bad range), -ENOMEM. */
int discover_new(const struct discover_config *cfg, int64_t now_us, struct discover **ret);
/* Accepts NULL, returns NULL. */
struct discover *discover_free(struct discover *d);
static inline void discover_freep(struct discover **d)
{
	discover_free(*d);
}

/* What to do now. A SEND action counts as sent when returned; report a failure with
 * discover_send_failed(). Always fills *ret. */
void discover_next(struct discover *d, int64_t now_us, struct discover_action *ret);
/* Every frame the raw socket receives (data and error frames). */
void discover_on_frame(struct discover *d, const struct bd_frame *f, int64_t now_us);
/* A PDU received from ECU ecu's ISO-TP socket. */
void discover_on_pdu(struct discover *d, size_t ecu, const uint8_t *pdu, size_t len,
		     int64_t now_us);
/* The ISO-TP transfer to or from ECU ecu failed (-errno from lib/linux isotp_socket). */
void discover_on_transport_error(struct discover *d, size_t ecu, int neg_errno, int64_t now_us);
/* The last SEND action could not be sent. -EAGAIN/-ENOBUFS: tried again later; anything
 * else stops the run (DISCOVER_SEND_ERROR). */
void discover_send_failed(struct discover *d, int neg_errno, int64_t now_us);

enum discover_status discover_status(const struct discover *d);
/* The error frame that stopped the run (DISCOVER_BUS_ERROR) or the -errno of the failed
 * send (DISCOVER_SEND_ERROR); NULL / 0 otherwise. */
const struct bd_frame *discover_stop_frame(const struct discover *d);
int discover_stop_errno(const struct discover *d);

/* Requests sent (probes + reads) and probes skipped because their id was in use. */
unsigned discover_requests_sent(const struct discover *d);
unsigned discover_probes_skipped(const struct discover *d);

size_t discover_ecu_count(const struct discover *d);
/* Sorted by response id once probing is over; NULL out of range. */
const struct discover_ecu *discover_ecu_at(const struct discover *d, size_t i);

/* An identification value as text: printable ASCII with blanks and fill (0x00, 0xFF)
 * trimmed, or hex bytes when it is not text. Returns snprintf's result. */
int discover_ident_format(const struct discover_ident *id, char *buf, size_t size);

/* The ECU's VIN (F190, else OBD mode 09), checked: 0 and *ret valid; -ENOENT none read;
 * -EINVAL read but invalid (*ret says why). */
int discover_ecu_vin(const struct discover_ecu *e, struct vin_info *ret);

/* A guessed role from the system name (F197) and, failing that, the OBD position:
 * "bcm", "gateway", "engine", "transmission", "brakes", "steering", "airbag",
 * "cluster", "climate", "door", "tailgate", "keyless", "infotainment", "adas", or NULL. */
const char *discover_guess_role(const struct discover_ecu *e);

struct discover_profile_opts {
	const char *bus;    /* [vehicle] bus; NULL: left out */
	uint32_t bitrate;   /* 0: left out */
	const char *header; /* a comment line for the top (e.g. when and how), NULL none */
};

/* A profile skeleton (profiles/README.md format 1) with one [ecu] per ECU found: its
 * addressing keys, padding, the identification as comments, a NAME from the guessed role
 * (or ecu_<id>), the make from the VIN's WMI. lib/profile parses it. 0 and *ret_text
 * (malloc'd, NUL-terminated; the caller frees), -ENOENT when no ECU was found, -ENOMEM. */
int discover_write_profile(const struct discover *d, const struct discover_profile_opts *o,
			   char **ret_text);
