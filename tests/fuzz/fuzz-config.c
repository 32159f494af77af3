/* SPDX-License-Identifier: MIT */
/*
 * bodydiag.conf parser. Besides memory safety it checks two properties:
 * - streaming: the input fed in one piece and fed in pieces of varying size give the
 *   same outcome (same struct, or the same error at the same line:column);
 * - round trip: a configuration that parsed formats (config_format) to text that parses
 *   back to the same struct.
 * The input is also tried as a --set argument.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse_pieces(const uint8_t *data, size_t size, size_t step, struct config *cfg,
			struct config_parser *p)
{
	size_t off = 0;
	int r = 0;

	config_init_defaults(cfg);
	config_parser_init(p, cfg);
	while (off < size && r == 0) {
		size_t n = step ? step : size;
		if (n > size - off)
			n = size - off;
		r = config_parser_feed(p, (const char *)data + off, n);
		off += n;
		/* Vary the piece size so splits land everywhere in a line. */
		if (step)
			step = step % 7 + 1;
	}
	if (r == 0)
		r = config_parser_finish(p);
	return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct config a, b, c;
	static struct config_parser pa, pb;
	static char text[65536];
	struct config_error e;
	char *arg;
	int ra, rb, n;

	if (size > 1 << 20)
		return 0;
	ra = parse_pieces(data, size, 0, &a, &pa);
	rb = parse_pieces(data, size, size ? (size_t)data[0] % 13 + 1 : 1, &b, &pb);
	if (ra != rb)
		abort();
	if (ra < 0) {
		if (pa.error.line != pb.error.line || pa.error.column != pb.error.column ||
		    strcmp(pa.error.message, pb.error.message) != 0 || pa.error.line == 0)
			abort();
	} else {
		if (memcmp(&a, &b, sizeof(a)) != 0)
			abort();
		n = config_format(&a, text, sizeof(text));
		if (n < 0)
			abort();
		if (parse_pieces((const uint8_t *)text, (size_t)n, 0, &c, &pa) != 0)
			abort();
		if (memcmp(&a, &c, sizeof(a)) != 0)
			abort();
	}

	arg = malloc(size + 1);
	if (!arg)
		return 0;
	memcpy(arg, data, size);
	arg[size] = '\0';
	config_init_defaults(&a);
	if (config_apply_override(&a, arg, &e) < 0 && (e.line != 0 || e.message[0] == '\0'))
		abort();
	free(arg);
	return 0;
}
