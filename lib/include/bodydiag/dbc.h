/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * dbc: Vector DBC databases: parse, look up, decode and encode.
 *
 * The parser is pure: it takes bytes (fed in chunks or at once) and a file name used
 * only in messages; it never opens files. It follows the grammar the way cantools reads
 * it (token based, not line based), plus the quirks opendbc's own parser accepts:
 * numbers like `.25`, names starting with a digit, `CM_ SG_ <id> "text"` without a
 * signal name, a missing `;`, and 29-bit identifiers above 0x7FF written without bit 31
 * (taken as extended). Structural problems cantools accepts in lax mode (overlapping
 * signals, signals past the end of the message) are reported through the warning
 * callback and the file still loads.
 *
 * Decoding is compiled at load time: every message becomes a flat plan of per-signal
 * ops (byte window, shifts, scaling as integer arithmetic where factor and offset allow,
 * a direct table of value labels, the multiplexer that selects it) and messages are
 * found by identifier through an open-addressing table, so decoding a frame is a few
 * loads, shifts and a multiply per signal, with no allocation and no string work.
 * Physical values follow cantools' rules: a signal whose factor and offset are both
 * integral (and which is not an IEEE float) decodes to an integer, everything else to a
 * double.
 *
 * Limits: a database source is at most DBC_MAX_SOURCE bytes; messages are at most 64
 * bytes long (CAN FD); signals are decoded up to 64 bits wide (wider ones load, with a
 * warning, and are reported as DBC_DECODE_TOO_WIDE).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DBC_MAX_SOURCE (64u * 1024u * 1024u)
#define DBC_MAX_MESSAGE_LEN 64u

struct dbc;
struct dbc_message;
struct dbc_signal;
struct dbc_parser;

/* Where and why parsing failed. file is the name given to the parser (truncated). */
struct dbc_error {
	char file[256];
	unsigned line;	 /* 1-based */
	unsigned column; /* 1-based, in bytes */
	char message[192];
};

/* Lenient problems (overlaps, signals past the frame, repaired quirks). */
typedef void (*dbc_warn_fn)(void *userdata, const char *file, unsigned line, unsigned column,
			    const char *message);

/*
 * Streaming parser. filename may be NULL ("<memory>"); it is copied. warn may be NULL.
 * _feed appends bytes: -ENOMEM, -EFBIG past DBC_MAX_SOURCE. _finish parses everything
 * fed so far: 0 and *ret_dbc (owned by the caller) on success; -EINVAL on a syntax
 * error, -ENOMEM; on failure err (may be NULL) is filled. The parser can be freed
 * (and not reused) after _finish.
 */
struct dbc_parser *dbc_parser_new(const char *filename, dbc_warn_fn warn, void *userdata);
int dbc_parser_feed(struct dbc_parser *p, const void *buf, size_t len);
int dbc_parser_finish(struct dbc_parser *p, struct dbc_error *err, struct dbc **ret_dbc);
struct dbc_parser *dbc_parser_free(struct dbc_parser *p);

/* One-shot form of the above. */
int dbc_parse(const void *buf, size_t len, const char *filename, dbc_warn_fn warn, void *userdata,
	      struct dbc_error *err, struct dbc **ret_dbc);

/* Accepts NULL, returns NULL. */
struct dbc *dbc_free(struct dbc *db);

static inline void dbc_freep(struct dbc **db)
{
	dbc_free(*db);
}
static inline void dbc_parser_freep(struct dbc_parser **p)
{
	dbc_parser_free(*p);
}

/* Database. Strings and objects returned are owned by the database. */
const char *dbc_version(const struct dbc *db); /* "" when absent */
size_t dbc_message_count(const struct dbc *db);
const struct dbc_message *dbc_message_at(const struct dbc *db, size_t index);
/*
 * O(1) lookup by identifier (without flag bits). When two messages share an id and
 * frame format the last one wins, as in cantools. An exact (id, ext) match is
 * preferred; failing that, a message with the same number in the other format is
 * returned (cantools keys messages by number alone). NULL when absent.
 */
const struct dbc_message *dbc_find_message(const struct dbc *db, uint32_t id, bool ext);
const struct dbc_message *dbc_find_message_by_name(const struct dbc *db, const char *name);
size_t dbc_node_count(const struct dbc *db);
const char *dbc_node_at(const struct dbc *db, size_t index);
/*
 * Dense numbers for tables of the caller's own (pre-formatted names, symbol ids): a
 * message's index is its dbc_message_at() position; signals are numbered 0 ..
 * dbc_signal_total() - 1 across the database, message after message. A standalone
 * signal (dbc_signal_parse) is number 0.
 */
size_t dbc_signal_total(const struct dbc *db);
size_t dbc_message_index(const struct dbc_message *m);
size_t dbc_signal_number(const struct dbc_signal *s);

/* Message. */
const char *dbc_message_name(const struct dbc_message *m);
uint32_t dbc_message_id(const struct dbc_message *m); /* without bit 31 */
bool dbc_message_is_extended(const struct dbc_message *m);
bool dbc_message_is_fd(const struct dbc_message *m); /* VFrameFormat *CAN_FD */
unsigned dbc_message_length(const struct dbc_message *m);
/* GenMsgCycleTime in ms; 0 when not defined or 0 */
unsigned dbc_message_cycle_time(const struct dbc_message *m);
const char *dbc_message_comment(const struct dbc_message *m); /* NULL when absent */
size_t dbc_message_sender_count(const struct dbc_message *m);
const char *dbc_message_sender_at(const struct dbc_message *m, size_t index);
size_t dbc_message_signal_count(const struct dbc_message *m);
const struct dbc_signal *dbc_message_signal_at(const struct dbc_message *m, size_t index);
const struct dbc_signal *dbc_message_find_signal(const struct dbc_message *m, const char *name);
/* SIG_GROUP_: name, repetitions and member signal names (as written in the DBC). */
size_t dbc_message_signal_group_count(const struct dbc_message *m);
bool dbc_message_signal_group_at(const struct dbc_message *m, size_t index, const char **ret_name,
				 unsigned *ret_repetitions, const char *const **ret_members,
				 size_t *ret_count);

/* Signal. */
enum dbc_signal_type {
	DBC_SIGNAL_TYPE_INTEGER,
	DBC_SIGNAL_TYPE_FLOAT,	/* SIG_VALTYPE_ 1, IEEE single (or half when 16 bits long) */
	DBC_SIGNAL_TYPE_DOUBLE, /* SIG_VALTYPE_ 2, IEEE double */
	DBC_SIGNAL_TYPE_MAX,
};

const char *dbc_signal_name(const struct dbc_signal *s);
unsigned dbc_signal_start(const struct dbc_signal *s);	   /* as written in the DBC */
unsigned dbc_signal_length(const struct dbc_signal *s);	   /* bits, >= 1 */
bool dbc_signal_is_big_endian(const struct dbc_signal *s); /* @0, Motorola */
bool dbc_signal_is_signed(const struct dbc_signal *s);
enum dbc_signal_type dbc_signal_type(const struct dbc_signal *s);
double dbc_signal_factor(const struct dbc_signal *s);
double dbc_signal_offset(const struct dbc_signal *s);
/* false when the DBC says [0|0] (no range) */
bool dbc_signal_range(const struct dbc_signal *s, double *ret_min, double *ret_max);
const char *dbc_signal_unit(const struct dbc_signal *s);    /* "" when absent */
const char *dbc_signal_comment(const struct dbc_signal *s); /* NULL when absent */
size_t dbc_signal_receiver_count(const struct dbc_signal *s);
const char *dbc_signal_receiver_at(const struct dbc_signal *s, size_t index);
/* GenSigStartValue (raw); false when not given */
bool dbc_signal_initial_raw(const struct dbc_signal *s, double *ret_raw);
bool dbc_signal_is_multiplexer(const struct dbc_signal *s);
/* The multiplexer selecting this signal, NULL for signals present in every frame. */
const struct dbc_signal *dbc_signal_multiplexer(const struct dbc_signal *s);
/* True when this (multiplexed) signal is present for multiplexer value v. */
bool dbc_signal_selected_by(const struct dbc_signal *s, int64_t v);
size_t dbc_signal_choice_count(const struct dbc_signal *s);
bool dbc_signal_choice_at(const struct dbc_signal *s, size_t index, int64_t *ret_value,
			  const char **ret_label);
/* Label for a raw value, NULL when none. */
const char *dbc_signal_choice_label(const struct dbc_signal *s, int64_t raw);

/* A physical value: integers stay integers (cantools semantics). */
enum dbc_value_type {
	DBC_VALUE_INT,	 /* i */
	DBC_VALUE_UINT,	 /* u: an integer above INT64_MAX */
	DBC_VALUE_FLOAT, /* f */
	DBC_VALUE_TYPE_MAX,
};

struct dbc_value {
	enum dbc_value_type type;
	union {
		int64_t i;
		uint64_t u;
		double f;
	};
};

double dbc_value_as_double(struct dbc_value v);

struct dbc_sample {
	const struct dbc_signal *signal;
	struct dbc_value value;
	const char *choice; /* VAL_ label of the raw value, NULL when none */
};

/* Decode outcomes that are data, not errors (the frame still yields what it can). */
enum dbc_decode_flag {
	DBC_DECODE_SHORT = 1u << 0,    /* frame shorter than the message length */
	DBC_DECODE_BAD_MUX = 1u << 1,  /* a multiplexer value selects no signals */
	DBC_DECODE_PAST_END = 1u << 2, /* signals reach beyond the message length (the part
					* inside is decoded when it is 64 bits or less) */
	DBC_DECODE_TOO_WIDE = 1u << 3, /* signals wider than 64 bits are left out */
};

struct dbc_decode_status {
	unsigned flags; /* enum dbc_decode_flag */
	unsigned frame_len;
	unsigned message_len;
	const struct dbc_signal *bad_mux; /* first multiplexer with an unknown value */
	int64_t bad_mux_value;
};

/* Upper bound of samples dbc_decode can produce for m: its signal count. */
size_t dbc_message_max_samples(const struct dbc_message *m);

/*
 * Decodes data (len bytes; bytes past the message length are ignored) into out (cap
 * entries): every signal that is present (multiplexed ones only when selected) and
 * lies within both the data and the message length. Returns the number of samples,
 * -ENOBUFS when cap is too small. *ret_status (may be NULL) tells what was left out.
 */
int dbc_decode(const struct dbc_message *m, const uint8_t *data, size_t len, struct dbc_sample *out,
	       size_t cap, struct dbc_decode_status *ret_status);

/* Plain text of a status ("" when flags is 0); returns snprintf's result. */
int dbc_decode_status_format(const struct dbc_decode_status *st, char *buf, size_t size);

/*
 * Encodes physical values into data (size >= message length; the first length bytes
 * are written, unused bits 0). values is indexed like dbc_message_signal_at(); values
 * of signals not selected by their multiplexer are ignored. A value is converted the
 * way cantools does (minus offset, divided by factor, rounded half to even for integer
 * signals). Returns the message length, -ENOBUFS when size is too small, -ERANGE when
 * a raw value does not fit its signal, -EINVAL for a non-finite value of an integer
 * signal. Signals reaching past the message end or wider than 64 bits stay 0.
 */
int dbc_encode(const struct dbc_message *m, const struct dbc_value *values, uint8_t *data,
	       size_t size);

/*
 * A standalone signal from one `SG_` definition, with or without the `SG_` keyword and
 * receivers, e.g. `Current : 0|16@1+ (0.01,0) [0|20] "A"`. Multiplexer indicators are
 * accepted and ignored. 0 and *ret_signal (owned by the caller) on success; -EINVAL
 * with err filled (may be NULL) on a syntax error; -ENOMEM.
 */
int dbc_signal_parse(const char *text, size_t len, struct dbc_error *err,
		     struct dbc_signal **ret_signal);
/* Only for signals from dbc_signal_parse(); accepts NULL, returns NULL. */
struct dbc_signal *dbc_signal_free(struct dbc_signal *s);

static inline void dbc_signal_freep(struct dbc_signal **s)
{
	dbc_signal_free(*s);
}
/* Makes a standalone signal an IEEE float (SIG_VALTYPE_); -EINVAL when the length does not fit. */
int dbc_signal_set_type(struct dbc_signal *s, enum dbc_signal_type type);
/*
 * Decodes one signal from data (bit positions count from data[0]). -ENODATA when data
 * is too short for it, -ERANGE for a signal wider than 64 bits.
 */
int dbc_signal_decode(const struct dbc_signal *s, const uint8_t *data, size_t len,
		      struct dbc_value *ret_value);
/* Raw (unscaled) value of a signal as a double; -ENODATA, -ERANGE as above. */
int dbc_signal_decode_raw(const struct dbc_signal *s, const uint8_t *data, size_t len,
			  double *ret_raw);
