/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * profile: vehicle profiles (profiles/README.md, "Format 1"): which ECUs answer
 * diagnostics at which ISO-TP ids, what their DIDs contain and how to scale them, what
 * their DTCs mean on this platform and where that meaning comes from, and which chain
 * roles (bodydiag/role.h) the car shows in which DBC signal or DID, with a value map into
 * the role's normalised values, a source and a confidence grade.
 *
 * Role names and their labels are checked against the role registry while parsing, and a
 * `did` source against the profile's own DIDs; the DBC signal a source names is checked
 * when the profile is bound to its DBC (bodydiag/rolemap.h).
 *
 * The parser is pure and streaming: feed it chunks of any size (a line may be split
 * anywhere), then finish. It never opens files; profile_load() is the one convenience
 * that reads a file and feeds it. Every mistake is reported with file, line, column
 * (1-based, bytes) and a plain message, and the profile is refused.
 *
 * DID payload signals are lib/dbc signals (`dbc_signal_parse()` syntax) with their
 * `values` labels attached as VAL_ choices, so dbc_signal_choice_label() and the dbc
 * accessors work on them. A parsed profile is immutable; every pointer it hands out
 * lives until profile_free().
 *
 * Limits: a line is at most PROFILE_MAX_LINE bytes (newline excluded); a profile is at
 * most PROFILE_MAX_SOURCE bytes; a DID payload is at most PROFILE_MAX_DID_LENGTH bytes;
 * at most PROFILE_MAX_ECUS ECUs, PROFILE_MAX_DIDS DIDs, PROFILE_MAX_DTCS DTCs and
 * PROFILE_MAX_SIGNALS signals per DID (lookups are linear scans, and these bound them).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/dbc.h"
#include "bodydiag/isotp_addr.h"

#define PROFILE_MAX_LINE 4096u
#define PROFILE_MAX_SOURCE (16u * 1024u * 1024u)
#define PROFILE_MAX_DID_LENGTH 4092u /* one 4095-byte ISO-TP PDU minus 0x62 and the DID */
#define PROFILE_MAX_ECUS 256u
#define PROFILE_MAX_DIDS 4096u
#define PROFILE_MAX_DTCS 4096u
#define PROFILE_MAX_SIGNALS 256u
#define PROFILE_MAX_ROLES 1024u	   /* [role] sections */
#define PROFILE_MAX_ROLE_MAP 256u  /* map entries of one [role] section */
#define PROFILE_MAX_WMI 64u	   /* [vehicle] wmi entries */

struct profile;	       /* opaque, immutable after parsing */
struct profile_parser; /* streaming: feed chunks, then finish */
struct profile_did;    /* opaque */

struct profile_error {
	char file[256];	 /* the name given to the parser, truncated */
	unsigned line;	 /* 1-based */
	unsigned column; /* 1-based, in bytes */
	char message[200];
};

/*
 * Streaming parser. filename (may be NULL: "<memory>") is copied and used in errors
 * only. NULL on allocation failure.
 * _feed: 0, or -EINVAL with *ret_err (may be NULL) filled on a mistake found in the
 * complete lines fed so far, -EFBIG past PROFILE_MAX_SOURCE, -ENOMEM. After a failure
 * every further call fails with the same error.
 * _finish: 0 and *ret (owned by the caller); -EINVAL with *ret_err filled; -ENOMEM.
 * A last line without a newline is accepted. The parser is freed, not reused, after.
 */
struct profile_parser *profile_parser_new(const char *filename);
int profile_parser_feed(struct profile_parser *p, const char *data, size_t len,
			struct profile_error *ret_err);
int profile_parser_finish(struct profile_parser *p, struct profile **ret,
			  struct profile_error *ret_err);
/* Accepts NULL, returns NULL. */
struct profile_parser *profile_parser_free(struct profile_parser *p);

/* One-shot parse of a buffer. */
int profile_parse(const char *data, size_t len, const char *filename, struct profile **ret,
		  struct profile_error *ret_err);

/*
 * Reads and parses a file. Errors as profile_parser_finish(); an I/O failure returns its
 * -errno with *ret_err filled (line 0, message from strerror).
 */
int profile_load(const char *path, struct profile **ret, struct profile_error *ret_err);

/* Accepts NULL, returns NULL. */
struct profile *profile_free(struct profile *p);

static inline void profile_freep(struct profile **p)
{
	profile_free(*p);
}
static inline void profile_parser_freep(struct profile_parser **p)
{
	profile_parser_free(*p);
}

/* "file:line:column: message" (or "file: message" for line 0). Returns snprintf's result. */
int profile_error_format(const struct profile_error *e, char *buf, size_t size);

/* [vehicle]. Strings owned by the profile; NULL (0 for bitrate) when absent. */
const char *profile_make(const struct profile *p);
const char *profile_platform(const struct profile *p);
const char *profile_vehicle_name(const struct profile *p);
const char *profile_bus(const struct profile *p);
uint32_t profile_bitrate(const struct profile *p);

/* [vehicle] wmi: the World Manufacturer Identifiers (ISO 3780: 3 characters, or a maker's
 * 2-character block) of the vehicles the profile is for, in file order; NULL out of range. */
size_t profile_wmi_count(const struct profile *p);
const char *profile_wmi_at(const struct profile *p, size_t i);
/* How well a VIN (NUL-terminated, may be NULL) belongs to the profile: the length of the
 * longest of its WMIs the VIN starts with (3 or 2), 0 for none. */
unsigned profile_vin_match(const struct profile *p, const char *vin);
const char *profile_dbc(const struct profile *p);

/* [ecu NAME], in file order. */
struct profile_ecu {
	const char *id;	  /* the section's NAME: "bcm" */
	const char *name; /* free text; NULL when absent */
	uint32_t request_id, response_id;
	uint32_t functional_id; /* 0 = none */
	int padding;		/* 0x00..0xFF, -1 = none */
	uint32_t p2_ms, p2star_ms, s3_ms; /* defaults 50, 5000, 5000 */
	uint32_t output_control_did;	  /* 0 = none */
	/* The whole ISO-TP addressing (addressing, target, source, ext_address, bs, stmin
	 * and the keys above); request_id/response_id are its tx_id/rx_id. */
	struct isotp_addr addr;
};

size_t profile_ecu_count(const struct profile *p);
const struct profile_ecu *profile_ecu_at(const struct profile *p, size_t i); /* NULL out of range */
const struct profile_ecu *profile_ecu_find(const struct profile *p, const char *id); /* NULL when absent */

/* [did ECU ID], in file order. */
size_t profile_did_count(const struct profile *p);
const struct profile_did *profile_did_at(const struct profile *p, size_t i); /* NULL out of range */
const struct profile_did *profile_did_find(const struct profile *p, const char *ecu, uint16_t did);
/* By DID name or by the name of one of its signals; NULL when absent. */
const struct profile_did *profile_did_find_name(const struct profile *p, const char *name);

uint16_t profile_did_id(const struct profile_did *d);
const char *profile_did_ecu(const struct profile_did *d);
const char *profile_did_name(const struct profile_did *d);
/* Payload length in bytes (the `ascii` count for ASCII DIDs); -1 = any. */
int profile_did_length(const struct profile_did *d);
bool profile_did_is_ascii(const struct profile_did *d);
size_t profile_did_signal_count(const struct profile_did *d); /* 0 for ASCII DIDs */
/* NULL out of range. Its `values` are the signal's choices (dbc_signal_choice_label()). */
const struct dbc_signal *profile_did_signal_at(const struct profile_did *d, size_t i);

/*
 * One decoded value. For a signal DID: signal set, value its physical value (lib/dbc
 * semantics: integral factor and offset keep integers), label its `values` label or
 * NULL, text NULL. For an ASCII DID: signal NULL, text the payload as a NUL-terminated
 * string (bytes outside 0x20..0x7E shown as '.'), label NULL. Pointers are valid during
 * the call only. A negative return stops the decode and is returned by it.
 */
typedef int (*profile_value_cb)(void *userdata, const struct profile_did *d,
				const struct dbc_signal *signal, struct dbc_value value,
				const char *label, const char *text);

/*
 * Decodes a 0x62 payload (without the SID and DID bytes): cb once per signal, in file
 * order (once for an ASCII DID). Returns 0; -EBADMSG, without calling cb, when len
 * differs from the DID's length (or, for a DID of any length, is too short for a
 * signal); a negative value returned by cb.
 */
int profile_did_decode(const struct profile_did *d, const uint8_t *data, size_t len,
		       profile_value_cb cb, void *userdata);

/*
 * The decoded payload as one line of text: `Name=12.5 A` or `Name=3 (exterior)` per
 * signal separated by ", ", `VIN="WBA..."` for ASCII DIDs. Numbers printed with %.15g
 * (integers exactly). Returns 0, -EBADMSG as profile_did_decode() (buf then says why, e.g.
 * "length 3, expected 2"), -ENOBUFS when truncated (buf still NUL-terminated).
 */
int profile_did_format(const struct profile_did *d, const uint8_t *data, size_t len, char *buf,
		       size_t size);

/* ---- [role NAME]: where the car shows a chain role ---- */

enum profile_role_from {
	PROFILE_ROLE_FROM_DBC, /* `dbc_signal = MESSAGE.SIGNAL` of the profile's DBC */
	PROFILE_ROLE_FROM_DID, /* `did = ECU 0xDID [SIGNAL]` of the profile */
	PROFILE_ROLE_FROM_MAX,
};

/* One `map` entry: a value of the source signal, by raw number or by its label, and the
 * role value it means. */
struct profile_role_map {
	const char *from_label; /* the source's VAL_ / `values` label, or NULL: from_raw */
	int64_t from_raw;
	unsigned value; /* index of the role's label */
	unsigned line, column;
};

struct profile_role {
	unsigned role; /* registry index (role_at()) */
	enum profile_role_from from;
	const char *message; /* DBC: the message name, or its id as written ("0x3A0") */
	const char *signal;  /* DBC: the signal; DID: the DID's signal, NULL for its only one */
	const char *ecu;     /* DID: the ECU */
	uint16_t did;	     /* DID */
	const struct profile_role_map *map;
	size_t n_map;
	int default_value;  /* label index for values the map does not name; -1 = none */
	double scale;	    /* number roles: value = physical * scale + offset ... */
	double offset;
	bool has_scale;	    /* ... scale given; otherwise the unit decides (role_unit_factor) */
	const char *source; /* where the mapping comes from (file, message, signal, why) */
	char grade;	    /* 'A', 'B' or 'C' (profiles/README.md) */
	const char *note;   /* NULL when absent */
	unsigned line, column;		/* the section header */
	unsigned from_line, from_column; /* the `dbc_signal` / `did` value */
};

/* [role NAME] sections in file order (a role may have several sources); NULL out of
 * range. */
size_t profile_role_count(const struct profile *p);
const struct profile_role *profile_role_at(const struct profile *p, size_t i);
/* The file name the profile was parsed under ("<memory>" when none). */
const char *profile_filename(const struct profile *p);

/*
 * Where the profile's `dbc =` file is: beside the profile, then in `../dbc/` beside the
 * profile's directory (a source tree or share/bodydiag), then in datadir/dbc/ (datadir
 * may be NULL). profile_path is the path the profile was loaded from. Returns 0 and the
 * path in buf; -ENOENT when the profile names no DBC or none of the places has it (buf
 * then lists the places tried); -ENAMETOOLONG.
 */
int profile_dbc_path(const struct profile *p, const char *profile_path, const char *datadir,
		     char *buf, size_t size);

/* [dtc ECU CODE], in file order. */
struct profile_dtc {
	const char *ecu;
	uint32_t code;	    /* 3-byte UDS DTC including the failure type byte */
	const char *text;   /* required */
	const char *source; /* required */
	const char *set;    /* NULL when absent */
};

size_t profile_dtc_count(const struct profile *p);
const struct profile_dtc *profile_dtc_at(const struct profile *p, size_t i); /* NULL out of range */
/* NULL when absent. ecu NULL matches any ECU (the first in file order). */
const struct profile_dtc *profile_dtc_find(const struct profile *p, const char *ecu, uint32_t code);
