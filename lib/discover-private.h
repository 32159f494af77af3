/* SPDX-License-Identifier: MIT */
/* discover-private.h: what discover.c (the machine) and discover-text.c share. */
#pragma once

#include <stddef.h>

#include "bodydiag/discover.h"

/* ISO 15765-4: OBD physical request = response - 8; 0x7DF and 0x18DB33F1 functional. */
#define OBD_FUNC_11 0x7DFu
#define OBD_FUNC_29 0x18DB33F1u

/* The default set of ranges (functional, functional29, 11bit, 29bit, toyota, bmw) into
 * ret, which has room for DISCOVER_MAX_RANGES; returns how many. */
__attribute__((visibility("hidden"))) size_t discover_default_ranges(struct discover_range *ret);
