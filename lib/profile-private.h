/* SPDX-License-Identifier: MIT */
/*
 * profile-private.h: what the profile's files share (lib/profile.c the model and its
 * accessors, profile-parse.c the line parser, profile-did.c DIDs, profile-role.c [role]
 * sections). Not installed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/dbc.h"
#include "bodydiag/isotp_addr.h"
#include "bodydiag/profile.h"

/* Shared between the profile's files, never exported (libbodydiag.sym exports profile_*). */
#define PROFILE_PRIVATE __attribute__((visibility("hidden")))

#define DEFAULT_P2_MS 50u
#define DEFAULT_P2STAR_MS 5000u
#define DEFAULT_S3_MS 5000u
#define DID_MSG_HEADER "BO_ 1 D: %u Vector__XXX\n"

/* A growing string; oom is sticky. */
struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

PROFILE_PRIVATE void profile_text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

struct sig_src {
	char *text; /* the `signal` value without a leading SG_ keyword */
	char *name;
	struct text values;		     /* all `values` of this signal, joined by blanks */
	unsigned need;			     /* payload bytes it needs */
	unsigned line, column;		     /* of the signal value */
	unsigned values_line, values_column; /* of its first `values` */
};

struct profile_did {
	uint16_t id;
	const char *ecu; /* the ecu's id string */
	char *name;
	int length; /* -1 = any */
	bool ascii;
	unsigned need; /* bytes the signals need */
	struct dbc *db;
	const struct dbc_signal **signals;
	unsigned *signal_lines, *signal_columns; /* where each was defined, for errors */
	size_t nsignals;
	/* parse state, freed once the section is compiled */
	struct sig_src *src;
	size_t nsrc;
	unsigned line, column; /* of the section header */
	unsigned ascii_line, ascii_column, length_line, length_column, name_line, name_column;
	bool has_length;
};

struct ecu_entry {
	struct profile_ecu pub;
	struct isotp_addr_spec spec; /* addressing keys, checked together at the section's end */
	unsigned line;
	unsigned ocd_line, ocd_column;	 /* output_control_did */
	unsigned resp_line, resp_column; /* response */
};

struct dtc_entry {
	struct profile_dtc pub;
	unsigned line;
};

struct role_entry {
	struct profile_role pub;
	struct profile_role_map *map;
	unsigned grade_line, grade_column, default_line, default_column;
	unsigned scale_line, scale_column;
	bool has_offset;
};

struct profile {
	char *filename;
	char *make, *platform, *name, *bus, *dbc;
	uint32_t bitrate;
	char wmi[PROFILE_MAX_WMI][4]; /* [vehicle] wmi, NUL-terminated */
	size_t nwmi;
	struct ecu_entry **ecus;
	size_t necus;
	struct profile_did **dids;
	size_t ndids;
	struct dtc_entry **dtcs;
	size_t ndtcs;
	struct role_entry **roles;
	size_t nroles;
};

enum section_kind {
	SECTION_NONE,
	SECTION_VEHICLE,
	SECTION_ECU,
	SECTION_DID,
	SECTION_DTC,
	SECTION_ROLE,
	SECTION_MAX,
};

enum key_mult {
	KEY_REQUIRED,
	KEY_OPTIONAL,
	KEY_MULTI,
};

struct key_def {
	const char *name;
	enum key_mult mult;
};

struct profile_parser {
	char *filename;
	struct profile *prof;
	char line[PROFILE_MAX_LINE + 2]; /* room for a CR and the byte that overflows */
	size_t linelen;
	unsigned lineno; /* of the line being buffered */
	size_t total;
	int failed;		  /* sticky error */
	struct profile_error err; /* copy of the first error */
	bool format_seen, vehicle_seen, any_section;
	enum section_kind kind;
	unsigned sec_line, sec_column;
	unsigned seen[32]; /* per key of the current section: line where it was set */
	struct ecu_entry *ecu;
	struct profile_did *did;
	struct dtc_entry *dtc;
	struct role_entry *role;
};

PROFILE_PRIVATE int profile_fail(struct profile_parser *p, unsigned line, unsigned column,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
PROFILE_PRIVATE void *profile_grow(void *v, size_t n, size_t size);

/* Makes room for element n of an array; NULL on allocation failure. */
#define PUSH(arr, n)                                                                               \
	({                                                                                         \
		void *_g = profile_grow((arr), (n), sizeof(*(arr)));                               \
		if (_g)                                                                            \
			(arr) = _g;                                                                \
		_g;                                                                                \
	})

/* profile-parse.c: lexical helpers and values */
PROFILE_PRIVATE bool profile_is_ws(char c);
PROFILE_PRIVATE bool profile_is_digit(char c);
PROFILE_PRIVATE bool profile_parse_hex(const char *s, size_t n, uint32_t max, uint32_t *ret);
PROFILE_PRIVATE bool profile_parse_dec(const char *s, size_t n, uint32_t min, uint32_t max,
				       uint32_t *ret);
PROFILE_PRIVATE bool profile_is_name(const char *s, size_t n);
PROFILE_PRIVATE char *profile_dup_n(const char *s, size_t n);
PROFILE_PRIVATE int profile_set_string(struct profile_parser *p, char **dst, const char *v,
				       size_t vn, unsigned vcol);

/* profile-did.c */
PROFILE_PRIVATE void profile_did_free(struct profile_did *d);
PROFILE_PRIVATE int profile_end_did(struct profile_parser *p);
PROFILE_PRIVATE int profile_pair_did(struct profile_parser *p, int key, const char *v, size_t vn,
				     unsigned vcol);

/* profile-role.c */
PROFILE_PRIVATE int profile_start_role(struct profile_parser *p, unsigned column, const char *name,
				       size_t len, unsigned col);
PROFILE_PRIVATE int profile_end_role(struct profile_parser *p);
PROFILE_PRIVATE int profile_pair_role(struct profile_parser *p, int key, const char *v, size_t vn,
				      unsigned vcol);
PROFILE_PRIVATE int profile_check_role_dids(struct profile_parser *p);
