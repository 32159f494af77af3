/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * timeline: what happened on the vehicle and what the person did, in time order.
 *
 * Five kinds of events, each with a monotonic time in microseconds given by the caller
 * (lib never reads a clock):
 *  - signal samples: a chain role's value (bodydiag/role.h), decoded from a DBC signal
 *    or a profile DID and normalised by the vehicle profile,
 *  - DTC status changes (3-byte DTC + status byte, with the status it had before:
 *    the timeline keeps the last status of every DTC it has seen, so a poll that
 *    returns the same status again is not an event),
 *  - DTC reads (the fault memory of a module was read: a list arrived, maybe empty, so
 *    an absent DTC now means something),
 *  - marks (what the person did: fob_trunk_pressed, interior_pressed, ...),
 *  - transport events (timeout, negative response, bus-off, unknown CAN id, error frame).
 *
 * Names are resolved once, at load time, through a symbol table (struct
 * timeline_symbols): the DBC decoder, the profile and the rule compiler intern the
 * names they use and keep the small integer indices, so that events carry indices and
 * nothing downstream compares strings per event.
 *
 * Limits: a timeline holds at most `capacity` events (fixed at creation, at most
 * TIMELINE_MAX_CAPACITY), 20 bytes each (packed: struct timeline_event is what goes in
 * and comes out, copied); when full the oldest event is overwritten and counted in
 * timeline_dropped(). It remembers the status of at most TIMELINE_MAX_DTCS distinct
 * (module, DTC) pairs; beyond that, changes of further DTCs are still stored but their
 * previous status is reported as unknown (0). A symbol table holds at most
 * TIMELINE_MAX_SYMBOLS names per kind, each at most TIMELINE_MAX_NAME bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TIMELINE_MAX_CAPACITY (1u << 22)
#define TIMELINE_MAX_DTCS 256u
#define TIMELINE_MAX_SYMBOLS 65536u
#define TIMELINE_MAX_NAME 128u

/* ---- symbol table ---- */

enum timeline_symbol_kind {
	TIMELINE_SYMBOL_SIGNAL, /* a chain role's name (or, in tests, any signal name) */
	TIMELINE_SYMBOL_MARK,	/* user action */
	TIMELINE_SYMBOL_MODULE, /* ECU / module name of the profile ("bcm") */
	TIMELINE_SYMBOL_KIND_MAX,
};

struct timeline_symbols;

/* New empty table; NULL on allocation failure. */
struct timeline_symbols *timeline_symbols_new(void);
/* Accepts NULL, returns NULL. */
struct timeline_symbols *timeline_symbols_free(struct timeline_symbols *s);

/*
 * Index of name (len bytes, need not be NUL-terminated) of the given kind, adding it
 * when absent. Indices are dense, 0-based, in order of first interning, and never
 * change. Returns 0 and *ret_index; -EINVAL for an empty or too long name or a bad
 * kind, -E2BIG when the kind is full, -ENOMEM.
 */
int timeline_symbols_intern(struct timeline_symbols *s, enum timeline_symbol_kind kind,
			    const char *name, size_t len, uint32_t *ret_index);
/* Like intern without adding: -ENOENT when absent. */
int timeline_symbols_lookup(const struct timeline_symbols *s, enum timeline_symbol_kind kind,
			    const char *name, size_t len, uint32_t *ret_index);
/* Number of names of a kind (0 for a bad kind). */
size_t timeline_symbols_count(const struct timeline_symbols *s, enum timeline_symbol_kind kind);
/* Name of an index, owned by the table; NULL when out of range. */
const char *timeline_symbols_name(const struct timeline_symbols *s, enum timeline_symbol_kind kind,
				  uint32_t index);

static inline void timeline_symbols_freep(struct timeline_symbols **s)
{
	timeline_symbols_free(*s);
}

/* ---- events ---- */

enum timeline_event_type {
	TIMELINE_EVENT_SIGNAL,
	TIMELINE_EVENT_DTC,
	TIMELINE_EVENT_MARK,
	TIMELINE_EVENT_TRANSPORT,
	TIMELINE_EVENT_DTC_READ,
	TIMELINE_EVENT_TYPE_MAX,
};

enum timeline_transport {
	TIMELINE_TRANSPORT_TIMEOUT,    /* no (final) answer within P2 / P2* */
	TIMELINE_TRANSPORT_NRC,	       /* negative response: service and nrc set */
	TIMELINE_TRANSPORT_BUS_OFF,    /* controller went bus-off */
	TIMELINE_TRANSPORT_UNKNOWN_ID, /* a frame whose identifier no DBC message has */
	TIMELINE_TRANSPORT_ERROR_FRAME, /* a CAN error frame other than bus-off: id = class */
	TIMELINE_TRANSPORT_MAX,
};

/* Module index of DTCs whose module is not known. */
#define TIMELINE_MODULE_NONE UINT32_MAX

struct timeline_event {
	int64_t t_us; /* monotonic microseconds */
	uint64_t seq; /* set by timeline_push: 1, 2, ... */
	enum timeline_event_type type;
	union {
		struct {
			uint32_t index; /* TIMELINE_SYMBOL_SIGNAL */
			double value;
		} signal;
		struct {
			uint32_t code;	  /* 24-bit DTC, J2012 letter/number + failure type byte */
			uint32_t module;  /* TIMELINE_SYMBOL_MODULE index or TIMELINE_MODULE_NONE */
			uint8_t status;	  /* ISO 14229-1 status byte */
			uint8_t previous; /* status before this change; 0 when first seen */
			bool first_seen;  /* no earlier status known */
		} dtc;
		struct {
			uint32_t module; /* TIMELINE_SYMBOL_MODULE index or TIMELINE_MODULE_NONE */
		} dtc_read;
		struct {
			uint32_t index; /* TIMELINE_SYMBOL_MARK */
		} mark;
		struct {
			enum timeline_transport kind;
			uint32_t id;	 /* CAN id (unknown id, timeout: request id), else 0 */
			uint8_t service; /* NRC: the rejected service */
			uint8_t nrc;	 /* NRC: the negative response code */
		} transport;
	};
};

/* Event constructors (no timeline needed): fill *ret and return it. */
struct timeline_event timeline_event_signal(int64_t t_us, uint32_t index, double value);
struct timeline_event timeline_event_mark(int64_t t_us, uint32_t index);
struct timeline_event timeline_event_dtc(int64_t t_us, uint32_t module, uint32_t code,
					 uint8_t status);
struct timeline_event timeline_event_transport(int64_t t_us, enum timeline_transport kind,
					       uint32_t id, uint8_t service, uint8_t nrc);
struct timeline_event timeline_event_dtc_read(int64_t t_us, uint32_t module);

/* ---- the ring ---- */

struct timeline;

/* New timeline holding up to capacity (1..TIMELINE_MAX_CAPACITY) events; NULL on a bad
 * capacity (errno EINVAL) or allocation failure. */
struct timeline *timeline_new(size_t capacity);
/* Accepts NULL, returns NULL. */
struct timeline *timeline_free(struct timeline *tl);

static inline void timeline_freep(struct timeline **tl)
{
	timeline_free(*tl);
}

/*
 * Appends a copy of ev. Times must not go backwards: an event older than the newest
 * one is stored with the newest time (sources with slightly different clocks, such as
 * a UDS answer and a frame timestamp, must not reorder the timeline) and counted in
 * timeline_clamped(). For DTC events the timeline fills dtc.previous and
 * dtc.first_seen from its own memory and stores the event only when the status
 * changed (or the DTC is new). seq is assigned.
 *
 * Returns 1 and, when ret_stored is not NULL, a copy of the event as stored (its seq,
 * time, and DTC fields); 0 when a DTC event repeated the known status and was not
 * stored; -EINVAL for a malformed event (bad type or transport kind, DTC code above
 * 24 bits, a non-finite signal value).
 */
int timeline_push(struct timeline *tl, const struct timeline_event *ev,
		  struct timeline_event *ret_stored);

size_t timeline_capacity(const struct timeline *tl);
size_t timeline_count(const struct timeline *tl);
/* Events overwritten because the ring was full. */
uint64_t timeline_dropped(const struct timeline *tl);
/* Events whose time was raised to keep the timeline ordered. */
uint64_t timeline_clamped(const struct timeline *tl);
/* Time of the newest event, INT64_MIN when empty. */
int64_t timeline_last_time(const struct timeline *tl);
/* A copy of the i-th event held, 0 = oldest, into *ret (the ring keeps events packed, so
 * there is no pointer into it to give out). 0, or -ENOENT out of range. */
int timeline_get(const struct timeline *tl, size_t i, struct timeline_event *ret);
/* Index (for timeline_get) of the first event with t_us >= t; timeline_count() when none. */
size_t timeline_find_time(const struct timeline *tl, int64_t t);
/*
 * Last known status of a DTC of a module. Returns 0 and *ret_status, -ENOENT when the
 * timeline has not seen it (or forgot it, see TIMELINE_MAX_DTCS).
 */
int timeline_dtc_status(const struct timeline *tl, uint32_t module, uint32_t code,
			uint8_t *ret_status);
/* The DTCs it knows (TIMELINE_MAX_DTCS at most), in the order first seen: the i-th one's
 * module, code and last status. 0, or -ENOENT out of range. */
size_t timeline_dtc_count(const struct timeline *tl);
int timeline_dtc_at(const struct timeline *tl, size_t i, uint32_t *ret_module, uint32_t *ret_code,
		    uint8_t *ret_status);
/* Forgets every event and DTC status; the capacity stays. */
void timeline_clear(struct timeline *tl);

/*
 * One line for logs and reports: "12.345678 signal actuator_current = 2.31 A" (a role's
 * value with its unit or label), "12.5 dtc_read bcm",
 * "12.400000 dtc bcm B1A40-13 status 0x09 (was 0x50)", "13.0 mark fob_trunk_pressed".
 * syms may be NULL (indices are printed). Returns snprintf's result.
 */
int timeline_event_format(const struct timeline_event *ev, const struct timeline_symbols *syms,
			  char *buf, size_t size);

/* "timeout", "nrc", "busoff", "unknown_id"; NULL out of range. */
const char *timeline_transport_name(enum timeline_transport kind);
/* Inverse of timeline_transport_name: 0 and *ret_kind, or -EINVAL. */
int timeline_transport_from_name(const char *name, size_t len, enum timeline_transport *ret_kind);
