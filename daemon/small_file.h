/* SPDX-License-Identifier: MIT */
/*
 * A whole small file into the caller's buffer: the forwarder's state file and its
 * credentials file, read at once and bounded.
 */
#pragma once

#include <stddef.h>

/*
 * Reads path into buf (size bytes, no terminating NUL added). Returns 0 with *ret_len, or
 * -EFBIG when the file holds size bytes or more (so size is one more than the largest
 * file taken), or -errno from open/read. buf may hold part of the file after a failure.
 */
int small_file_read(const char *path, char *buf, size_t size, size_t *ret_len);
