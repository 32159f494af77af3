/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * candump: read and write can-utils log lines (`candump -l` / `-L`, can-utils lib.c):
 *
 *   (1700000000.001000) can0 123#DEADBEEF          classic, 3 hex digit id
 *   (1700000000.001000) can0 12345678#00           extended, 8 hex digits
 *   (1700000000.001000) can0 123##1AABB            CAN FD, flags nibble (BRS=1, ESI=2)
 *   (1700000000.001000) can0 123#R  / 123#R4       remote frame, optional length
 *   (1700000000.001000) can0 123#1122334455667788_A  classic, raw DLC 9..15
 *   (1700000000.001000) can0 20000080#0000000000000000  error frame (CAN_ERR_FLAG)
 *
 * Data bytes may be separated by '.'. The timestamp is kept as written so that a
 * record prints back byte for byte.
 *
 * candump's screen output with a timestamp is read too (`candump -ta`, `-tz`, `-tA`):
 *
 *    (1700000000.001000)  can0  123   [4]  DE AD BE EF
 *    (000.001000)  can0  12345678   [2]  11 22       29-bit id: 8 digits; -tz: from 0
 *    (2023-11-14 22:13:20.001000)  can0  123  [12]  ...  -tA; two-digit length: CAN FD
 *
 * Its records carry a log-format time (candump_set_time_us) and write back as log
 * lines. Screen lines without a timestamp (plain `candump can0`) are refused with a
 * reason that says how to record a usable capture; the reader also refuses screen
 * timestamps that go backwards (the deltas of `candump -td`). The reader is a pure streaming parser: feed it
 * chunks of any size, it calls back once per complete line. Lines are at most
 * CANDUMP_MAX_LINE bytes.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

#define CANDUMP_MAX_LINE 512u
#define CANDUMP_MAX_IFACE 32u
#define CANDUMP_MAX_TIME 32u

struct candump_record {
	/* the frame; t_us from the timestamp (seconds * 1e6 + micros, digits beyond the
	 * sixth dropped) */
	struct bd_timed_frame tf;
	char time[CANDUMP_MAX_TIME];   /* the text between the parentheses, as written */
	char iface[CANDUMP_MAX_IFACE]; /* interface name */
	uint8_t len8_dlc;	       /* classic CAN raw DLC 9..15 after '_', else 0 */
	bool screen;		       /* read from candump's screen format */
	unsigned line;		       /* 1-based line number in the stream */
};

/*
 * Parses one line (without the newline; a trailing '\r' is accepted). 0 and
 * *ret_record on success (its line field is left 0); -EINVAL on a malformed line, with
 * *reason (may be NULL) set to a static string saying why.
 */
int candump_parse_line(const char *line, size_t len, const char **reason,
		       struct candump_record *ret_record);

/*
 * Formats "ID#DATA" the way can-utils' sprint_canframe does (upper-case hex, 3 or 8 digit
 * ids, "##F" for CAN FD, "R" for remote frames). Returns snprintf's result.
 */
int candump_format_frame(const struct bd_frame *f, uint8_t len8_dlc, char *buf, size_t size);

/* Formats "(time) iface ID#DATA" without newline; returns snprintf's result. */
int candump_format_record(const struct candump_record *r, char *buf, size_t size);

/* Fills r->time from microseconds ("%010llu.%06llu" as candump -l writes it). */
void candump_set_time_us(struct candump_record *r, int64_t t_us);

enum candump_reader_flags {
	CANDUMP_READER_STRICT = 1u << 0, /* a bad line stops reading with -EBADMSG */
};

/* Called per record; a negative return stops the reader and is returned by _feed/_finish. */
typedef int (*candump_record_fn)(void *userdata, const struct candump_record *r);
/* Called per bad line (reason is a static string); may be NULL. */
typedef void (*candump_bad_line_fn)(void *userdata, unsigned line, const char *reason);

struct candump_reader;

struct candump_reader *candump_reader_new(unsigned flags, candump_record_fn on_record,
					  candump_bad_line_fn on_bad_line, void *userdata);
/* Feeds bytes; returns 0, a callback's negative value, or -EBADMSG (strict mode). */
int candump_reader_feed(struct candump_reader *r, const void *buf, size_t len);
/* Handles a last line without newline; same returns as _feed. */
int candump_reader_finish(struct candump_reader *r);
/* Bad lines seen so far. */
unsigned candump_reader_bad_lines(const struct candump_reader *r);
struct candump_reader *candump_reader_free(struct candump_reader *r);

static inline void candump_reader_freep(struct candump_reader **r)
{
	candump_reader_free(*r);
}
