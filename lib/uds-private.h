/* SPDX-License-Identifier: MIT */
/*
 * What uds.c (builders, parsers, the wait machine) and uds_describe.c (names, the
 * describer) share; not installed, not exported.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "bodydiag/uds.h"

static inline uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be24(const uint8_t *p)
{
	return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Services whose second byte is a sub-function with the SPRMIB (ISO 14229-1:2013 7.5). */
static inline bool has_subfunction(uint8_t sid)
{
	switch (sid) {
	case 0x10: case 0x11: case 0x19: case 0x27: case 0x28: case 0x29: case 0x2c: case 0x31:
	case 0x3e: case 0x83: case 0x85: case 0x86: case 0x87:
		return true;
	}
	return false;
}

static inline enum uds_rdtci_shape rdtci_shape(uint8_t subfn)
{
	switch (subfn) {
	case 0x01: case 0x07: case 0x11: case 0x12:
		return UDS_RDTCI_SHAPE_COUNT;
	case 0x02: case 0x0a: case 0x0b: case 0x0c: case 0x0d: case 0x0e: case 0x0f: case 0x13: case 0x15:
		return UDS_RDTCI_SHAPE_DTC_LIST;
	case 0x04: case 0x06: case 0x10:
		return UDS_RDTCI_SHAPE_DTC_RECORDS;
	}
	return UDS_RDTCI_SHAPE_OTHER;
}
