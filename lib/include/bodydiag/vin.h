/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * vin: the vehicle identification number. Structure per ISO 3779 (17 characters, digits
 * and capital letters without I, O and Q: WMI 1-3, VDS 4-9, VIS 10-17), the check digit
 * at position 9 as North America prescribes it (49 CFR 565.15(c): transliteration, weights,
 * sum mod 11, 10 written X), the model year code at position 10, and the maker from the
 * World Manufacturer Identifier (ISO 3780) through a table of common assignments (its
 * sources are cited in vin.c).
 *
 * The check digit is binding where the region requires it (North America, first character
 * 1-5, and China, L, under GB 16735): a mismatch there makes the VIN invalid. Elsewhere
 * makers may leave position 9 free (most European VINs do), so a mismatch is reported as
 * "not used" and the VIN stays valid.
 *
 * Pure functions over memory; no allocation, no globals but constant tables.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIN_LENGTH 17u

/* Why a VIN was refused. */
enum vin_problem {
	VIN_OK,
	VIN_BAD_LENGTH, /* not 17 characters */
	VIN_BAD_CHAR,	/* a character outside 0-9 A-Z, or I, O, Q, or a lower-case letter */
	VIN_FILLER,	/* one character repeated (an unprogrammed ECU: 000..., FFF..., spaces) */
	VIN_BAD_CHECK_DIGIT, /* the region requires the check digit and it does not match */
	VIN_BAD_MODEL_YEAR,  /* North America: position 10 is U, Z or 0, which no year uses */
	VIN_PROBLEM_MAX,
};

/* ISO 3780 regions by the first character. */
enum vin_region {
	VIN_REGION_UNKNOWN,
	VIN_REGION_AFRICA,	  /* A-H */
	VIN_REGION_ASIA,	  /* J-R */
	VIN_REGION_EUROPE,	  /* S-Z */
	VIN_REGION_NORTH_AMERICA, /* 1-5 */
	VIN_REGION_OCEANIA,	  /* 6-7 */
	VIN_REGION_SOUTH_AMERICA, /* 8-9, 0 */
	VIN_REGION_MAX,
};

enum vin_check {
	VIN_CHECK_OK,	    /* position 9 holds the computed check digit */
	VIN_CHECK_MISMATCH, /* it does not, and the region requires it: the VIN is invalid */
	VIN_CHECK_NOT_USED, /* it does not, and the region does not require one */
	VIN_CHECK_MAX,
};

/* One row of the WMI table. */
struct vin_maker {
	const char *wmi;   /* 3 characters, or 2 for a whole block ("1G") */
	const char *brand; /* "Chevrolet" */
	const char *make;  /* the brand as a profile's `make` word: "chevrolet" */
	const char *group; /* the maker that owns the brand's diagnostics: "gm" */
};

struct vin_info {
	enum vin_problem problem;
	unsigned position; /* 1-based position of the character at fault, 0 = none */
	char reason[96];   /* a sentence for the user when problem != VIN_OK */
	char vin[VIN_LENGTH + 1];
	char wmi[4];
	enum vin_region region;
	const struct vin_maker *maker; /* NULL when the WMI is not in the table */
	enum vin_check check;
	char check_digit;   /* the computed one: '0'..'9' or 'X' */
	int model_year;	    /* resolved model year, 0 when ambiguous (outside North America) */
	int model_years[2]; /* the two candidates of the 30-year cycle (1980-2009, 2010-2039) */
};

/*
 * Checks s (len bytes, not NUL-terminated). Returns 0 for a valid VIN, -EINVAL otherwise;
 * *ret is filled in both cases as far as the VIN could be read (problem, position and
 * reason say what is wrong).
 */
int vin_parse(const char *s, size_t len, struct vin_info *ret);

/* The check digit of a 17-character VIN ('0'..'9' or 'X'); 0 when a character is not a
 * VIN character. Position 9 itself does not count. */
char vin_check_digit(const char *vin17);

/* The two model years a position-10 code stands for (ret[0] in 1980-2009, ret[1] in
 * 2010-2039). 0, or -EINVAL for a character no model year uses. */
int vin_model_year_codes(char c, int ret[2]);

/* The WMI table row for the first 3 characters (the exact WMI first, then its 2-character
 * block), or NULL. */
const struct vin_maker *vin_maker_lookup(const char *wmi3);

/* Row i of the table (sorted by wmi), NULL past the end. */
const struct vin_maker *vin_maker_at(size_t i);

/* "OK", "wrong length", ...; "?" out of range. */
const char *vin_problem_name(enum vin_problem p);
/* "Europe", "North America", ...; "unknown". */
const char *vin_region_name(enum vin_region r);
/* "ok", "mismatch", "not used". */
const char *vin_check_name(enum vin_check c);
