/* SPDX-License-Identifier: MIT */
/*
 * API request lines: the envelope parser/validator (api_request_parse) and the reply
 * encoder. Every outcome must produce a reply line that is one JSON object with "v":1,
 * no raw newline inside, and the request's id echoed when the parser accepted it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/api.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_line(char *line, size_t len, const json_t *id)
{
	json_t *j, *got;

	if (!line)
		return; /* out of memory: nothing to check */
	if (len == 0 || line[len - 1] != '\n' || memchr(line, '\n', len - 1) ||
	    strlen(line) != len)
		abort();
	j = json_loadb(line, len, 0, NULL);
	if (!j || !json_is_object(j) || json_integer_value(json_object_get(j, "v")) != 1)
		abort();
	got = json_object_get(j, "id");
	if ((id == NULL) != (got == NULL) || (id && !json_equal(id, got)))
		abort();
	json_decref(j);
	free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_parsed_request p;
	size_t len = 0;
	char *line;
	int r;

	if (size > 128 * 1024)
		return 0;
	r = api_request_parse((const char *)data, size, &p);
	if (r == 0) {
		if (!p.method || !json_is_object(p.params) ||
		    (p.id && !json_is_integer(p.id) && !json_is_string(p.id)))
			abort();
		line = api_format_result(p.id, json_deep_copy(p.params), &len);
		check_line(line, len, p.id);
		/* Events carry arbitrary data: the params stand in for it. */
		line = api_format_event(p.method, json_deep_copy(p.params), &len);
		check_line(line, len, NULL);
	} else if (r == 1) {
		if (!api_error_code(p.error))
			abort();
		line = api_format_error(p.id, p.error, p.message, &len);
		check_line(line, len, p.id);
	} else if (r != -ENOMEM) {
		abort();
	}
	api_parsed_request_finish(&p);
	return 0;
}
