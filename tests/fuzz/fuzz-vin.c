/* SPDX-License-Identifier: MIT */
/*
 * VIN checks on arbitrary bytes: vin_parse on the input as it is (any length, any byte),
 * the check digit and the maker lookup on its first 17 / 3 bytes, and the model year code
 * of every byte. Whatever comes from an ECU's F190 or mode 09 answer ends up here.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bodydiag/vin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vin_info v;
	char buf[VIN_LENGTH + 1];
	int years[2];

	if (vin_parse((const char *)data, size, &v) == 0) {
		/* valid: 17 VIN characters with the check digit the region asks for */
		if (v.problem != VIN_OK || strlen(v.vin) != VIN_LENGTH)
			__builtin_trap();
		if (v.check == VIN_CHECK_MISMATCH)
			__builtin_trap();
	} else if (v.problem == VIN_OK || v.reason[0] == '\0') {
		__builtin_trap(); /* refused without a reason */
	}
	if (size >= VIN_LENGTH) {
		memcpy(buf, data, VIN_LENGTH);
		buf[VIN_LENGTH] = '\0';
		(void)vin_check_digit(buf);
		(void)vin_maker_lookup(buf);
	}
	for (size_t i = 0; i < size && i < 64; i++)
		(void)vin_model_year_codes((char)data[i], years);
	return 0;
}
