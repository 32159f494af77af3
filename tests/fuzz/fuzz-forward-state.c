/* SPDX-License-Identifier: MIT */
/*
 * The forwarder's state file as the daemon reads it (daemon/forward_state.c). Besides
 * memory safety: a file that parses formats back to the same state (a fixed point), with
 * a known link name; a failure says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/forward_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct forward_state s, again;
	char err[128] = "";
	char *text, *text2;

	if (forward_state_parse((const char *)data, size, &s, err, sizeof(err)) < 0) {
		if (!err[0])
			abort();
		return 0;
	}
	if (!forward_link_name(s.link) || strlen(s.broker) >= sizeof(s.broker) ||
	    strlen(s.unit) >= sizeof(s.unit) || strlen(s.error) >= sizeof(s.error))
		abort();
	text = forward_state_format(&s);
	if (!text)
		abort();
	if (forward_state_parse(text, strlen(text), &again, NULL, 0) < 0)
		abort();
	text2 = forward_state_format(&again);
	if (!text2 || strcmp(text, text2) != 0)
		abort();
	free(text);
	free(text2);
	return 0;
}
