/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * json_text: JSON text with every real in its shortest form that reads back to the same
 * double (lib/numfmt: 2.3, not jansson's 2.2999999999999998), for every JSON the daemon
 * and the CLI write: API replies, the history's stored results, `--json` output. Either
 * a jansson value dumped (members in the object's order: jansson keeps insertion order),
 * or text written value by value into one buffer, for what is too big to build as
 * jansson values first (a `findings` reply's thousands of body events: an object each
 * cost ~1 KB, the text ~0.2 KB). Both give the same text for the same value.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- the writer ---- */

struct json_text;

/* NULL when out of memory. */
struct json_text *json_text_new(unsigned flags);
/* Accepts NULL, returns NULL: abandons what was written. */
struct json_text *json_text_free(struct json_text *w);
/*
 * The text written (NUL-terminated, malloc'ed), *ret_len (may be NULL) its length; frees
 * w. NULL (w freed all the same) when nothing was written, a container is still open, or
 * a call failed: out of memory, a value in an object without its key, a key outside an
 * object, an end that does not match, nesting beyond 256.
 */
char *json_text_finish(struct json_text *w, size_t *ret_len);
/* The text written read back as a jansson value (its reals are the same doubles, and
 * stay reals: "12.0"); frees w. NULL as json_text_finish(), or out of memory. */
json_t *json_text_finish_value(struct json_text *w);
/* True once a call failed (the text is lost then); also for NULL. */
bool json_text_failed(const struct json_text *w);

/*
 * Values. A failure is kept in w and reported by json_text_finish(), so a caller writes
 * on and checks once. In an object each value follows its json_text_key().
 */
void json_text_object_begin(struct json_text *w);
void json_text_object_end(struct json_text *w);
void json_text_array_begin(struct json_text *w);
void json_text_array_end(struct json_text *w);
void json_text_key(struct json_text *w, const char *key);
/* s NUL-terminated, NULL: null. A byte that is not part of valid UTF-8 becomes U+FFFD. */
void json_text_string(struct json_text *w, const char *s);
void json_text_real(struct json_text *w, double d); /* not finite: null */
void json_text_integer(struct json_text *w, int64_t v);
void json_text_bool(struct json_text *w, bool v);
void json_text_null(struct json_text *w);
/* A jansson value, as json_text_dumps() writes it. */
void json_text_value(struct json_text *w, const json_t *v);
/* Bytes as they are, outside any value: the newline that ends an API line. */
void json_text_raw(struct json_text *w, const char *s, size_t n);

/*
 * Undoing the last values: a mark taken between two values of a container, and a rewind
 * to it from the same depth (a reply's row that does not fit its budget is taken back).
 * A rewind across a close of the mark's container fails w.
 */
struct json_text_mark {
	size_t len;
	unsigned depth;
	bool member, keyed;
};
struct json_text_mark json_text_mark(const struct json_text *w);
void json_text_rewind(struct json_text *w, struct json_text_mark m);
/* Bytes written so far (0 for NULL). */
size_t json_text_length(const struct json_text *w);
