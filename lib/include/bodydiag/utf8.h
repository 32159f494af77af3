/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * utf8: UTF-8 as RFC 3629 defines it (no overlong form, no surrogate, nothing above
 * U+10FFFF), for what reads text from files (the profile parser refuses the rest) and
 * what writes it on (the daemon's JSON text, which must not pass the rest on).
 */

#include <stddef.h>

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes left): 1 for ASCII, 2 to 4, 0
 * when the bytes there are not one. */
size_t utf8_len(const unsigned char *s, size_t n);
