/* SPDX-License-Identifier: MIT */
/* The MQTT credentials file of bodydiag-forward ([mqtt] credentials). */
#pragma once

#include <stddef.h>

/*
 * Parses a credentials file: the first line is the user name, the second the password
 * (both without the newline; a trailing \r is dropped; nothing may follow). Pure; the
 * strings are malloc'd. Returns 0, -EINVAL with line/column/reason in ret_error, -ENOMEM.
 */
int forward_parse_credentials(const char *buf, size_t len, char **ret_user, char **ret_pass,
			      char *ret_error, size_t error_size);

/*
 * Reads and parses the credentials file at path ([mqtt] credentials): at most 4 KiB.
 * Returns 0, -errno from open/read, -EFBIG, or -EINVAL with "path: line L, column C:
 * reason" in ret_error.
 */
int forward_load_credentials(const char *path, char **ret_user, char **ret_pass,
			     char *ret_error, size_t error_size);
