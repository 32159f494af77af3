/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * json_text: a jansson value as JSON text with every real in its shortest form that
 * reads back to the same double (lib/numfmt: 2.3, not jansson's 2.2999999999999998), for
 * every JSON the daemon and the CLI write: API replies, the history's stored results,
 * `--json` output. Members in the object's order (jansson keeps insertion order).
 */

#include <jansson.h>
#include <stddef.h>

enum json_text_flags {
	JSON_TEXT_COMPACT = 0,	    /* one line, no spaces */
	JSON_TEXT_INDENT = 1u << 0, /* one member per line, one space per level */
};

/*
 * v as text (NUL-terminated, malloc'ed), *ret_len (may be NULL) its length. Reals that
 * are not finite (jansson refuses to make them) become null. Returns NULL for NULL or
 * when out of memory.
 */
char *json_text_dumps(const json_t *v, unsigned flags, size_t *ret_len);
