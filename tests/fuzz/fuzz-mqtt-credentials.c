/* SPDX-License-Identifier: MIT */
/*
 * The MQTT credentials file parser (forward/credentials.c). Besides memory safety: success
 * gives two non-empty strings without newlines, failure leaves the outputs untouched and
 * always says where and why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "credentials.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *user = NULL, *pass = NULL, err[128] = "";
	int r = forward_parse_credentials((const char *)data, size, &user, &pass, err, sizeof(err));

	if (r == 0) {
		if (!user || !pass || !*user || !*pass || strchr(user, '\n') || strchr(pass, '\n'))
			abort();
		free(user);
		free(pass);
	} else if (user || pass || strncmp(err, "line ", 5) != 0) {
		abort();
	}
	return 0;
}
