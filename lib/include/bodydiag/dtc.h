/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * dtc: diagnostic trouble codes.
 *  - 3-byte UDS DTCs (ISO 14229-1 DTCFormatIdentifier 0x00/0x04, SAE J2012-DA format) as
 *    text "B1A40-13": two bits system letter, 14 bits code, failure type byte (FTB).
 *  - 2-byte OBD-II DTCs (SAE J1979 modes 03/07/0A) as "P0420".
 *  - the DTC status byte (ISO 14229-1 D.2) by bit name,
 *  - failure type byte categories and names (SAE J2012-DA), with a pattern matcher for
 *    rule files ("B1A40-*", "B1A4?", "U0*").
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "B1A40-13" plus NUL. */
#define DTC_TEXT_MAX 9u
/* "P0420" plus NUL. */
#define DTC_OBD_TEXT_MAX 6u

/* DTC status byte bits, ISO 14229-1:2013 D.2 Table D.14. */
enum dtc_status_bit {
	DTC_STATUS_TEST_FAILED = 0,
	DTC_STATUS_TEST_FAILED_THIS_OPERATION_CYCLE = 1,
	DTC_STATUS_PENDING_DTC = 2,
	DTC_STATUS_CONFIRMED_DTC = 3,
	DTC_STATUS_TEST_NOT_COMPLETED_SINCE_LAST_CLEAR = 4,
	DTC_STATUS_TEST_FAILED_SINCE_LAST_CLEAR = 5,
	DTC_STATUS_TEST_NOT_COMPLETED_THIS_OPERATION_CYCLE = 6,
	DTC_STATUS_WARNING_INDICATOR_REQUESTED = 7,
	DTC_STATUS_BIT_MAX,
};

/* "testFailed", ... as ISO 14229-1 spells them; "?" out of range. */
const char *dtc_status_bit_name(enum dtc_status_bit b);
/* Parses a status bit name (case-sensitive, as dtc_status_bit_name spells it).
 * Returns 0 and the bit, or -EINVAL. */
int dtc_status_bit_from_name(const char *name, enum dtc_status_bit *ret);
/* Writes the names of the set bits separated by '|', or "none". Returns 0, -ENOBUFS when
 * cap is too small (buf then holds a truncated, NUL-terminated string), -EINVAL. */
int dtc_status_format(uint8_t status, char *buf, size_t cap);

/* The system letter: P (powertrain), C (chassis), B (body), U (network). */
char dtc_system_letter(uint32_t dtc);

/* 3-byte DTC (low 24 bits of dtc) -> "B1A40-13". Returns 0, -ENOBUFS when cap < DTC_TEXT_MAX. */
int dtc_format(uint32_t dtc, char *buf, size_t cap);
/* 2-byte OBD DTC -> "P0420". Returns 0, -ENOBUFS when cap < DTC_OBD_TEXT_MAX. */
int dtc_format_obd(uint16_t dtc, char *buf, size_t cap);

/* Parses "B1A40-13", "B1A40:13" (Mazda style), "B1A4013" or "B1A40" (FTB 0x00); letters
 * in either case. Returns 0 and the 24-bit DTC, or -EINVAL. */
int dtc_parse(const char *s, uint32_t *ret_dtc);
/* Parses "P0420". Returns 0 and the 16-bit DTC, or -EINVAL. */
int dtc_parse_obd(const char *s, uint16_t *ret_dtc);

/* A compiled match pattern over 24-bit DTCs: (dtc & mask) == value. */
struct dtc_pattern {
	uint32_t value;
	uint32_t mask;
};

/*
 * Compiles a pattern. Syntax: the DTC text with '?' for any one character (the letter, a
 * digit, or an FTB nibble) and '*' for "anything from here on" (must be last). Without an
 * FTB part the FTB is free: "B1A4?" matches B1A40-13 and B1A4F-00; "B1A40-*" and
 * "B1A40" both match every FTB of B1A40; "B1A40-1?" matches FTBs 0x10-0x1F; "U0*" matches
 * U0000-00 ... U3FFF-FF? no: U0xxx only; "*" matches everything.
 * Returns 0 or -EINVAL.
 */
int dtc_pattern_compile(const char *s, struct dtc_pattern *ret);
bool dtc_pattern_match(const struct dtc_pattern *p, uint32_t dtc);

/* Failure type byte categories: the high nibble, SAE J2012-DA. */
enum dtc_ftb_category {
	DTC_FTB_GENERAL,        /* 0x0X general failure information */
	DTC_FTB_ELECTRICAL,     /* 0x1X general electrical failures */
	DTC_FTB_SIGNAL,         /* 0x2X general signal failures */
	DTC_FTB_FM_PWM,         /* 0x3X FM / PWM failures */
	DTC_FTB_INTERNAL,       /* 0x4X system internal failures */
	DTC_FTB_PROGRAMMING,    /* 0x5X system programming failures */
	DTC_FTB_ALGORITHM,      /* 0x6X algorithm based failures */
	DTC_FTB_MECHANICAL,     /* 0x7X mechanical failures */
	DTC_FTB_BUS,            /* 0x8X bus signal / message failures */
	DTC_FTB_COMPONENT,      /* 0x9X component failures */
	DTC_FTB_RESERVED,       /* 0xA0-0xEF */
	DTC_FTB_MANUFACTURER,   /* 0xF0-0xFF */
	DTC_FTB_CATEGORY_MAX,
};

enum dtc_ftb_category dtc_ftb_category(uint8_t ftb);
/* "general electrical failure", ...; never NULL. */
const char *dtc_ftb_category_name(enum dtc_ftb_category c);
/* Name of a defined FTB ("circuit open" for 0x13), or NULL for a reserved /
 * manufacturer-specific value. */
const char *dtc_ftb_name(uint8_t ftb);

/* One line: "B1A40-13 circuit open, status 0x09 testFailed|confirmedDTC". Returns 0,
 * -ENOBUFS (truncated), -EINVAL. */
int dtc_describe(uint32_t dtc, uint8_t status, char *buf, size_t cap);
