/* SPDX-License-Identifier: MIT */
/*
 * The broker credentials file ([mqtt] credentials): the user name on the first line, the
 * password on the second, nothing else. Parsed strictly (fuzz target mqtt-credentials) so
 * that a stray blank line or a CR from an editor is an error with its line and column,
 * not a password that silently differs.
 */
#include "credentials.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/small_file.h"

static int cred_line(const char *buf, size_t len, size_t *pos, unsigned lineno, char **ret,
		     char *err, size_t err_size)
{
	size_t start = *pos, end = start;

	while (end < len && buf[end] != '\n')
		end++;
	size_t n = end - start;
	if (n > 0 && buf[start + n - 1] == '\r')
		n--;
	if (n == 0 || n > 256) {
		snprintf(err, err_size, "line %u, column 1: %s", lineno,
			 n ? "longer than 256 bytes" : lineno == 1 ? "empty user name" : "empty password");
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		if (buf[start + i] == '\0' || buf[start + i] == '\r') {
			snprintf(err, err_size, "line %u, column %zu: %s", lineno, i + 1,
				 buf[start + i] ? "stray carriage return" : "NUL byte");
			return -EINVAL;
		}
	*ret = strndup(buf + start, n);
	if (!*ret)
		return -ENOMEM;
	*pos = end < len ? end + 1 : end;
	return 0;
}

int forward_parse_credentials(const char *buf, size_t len, char **ret_user, char **ret_pass,
			      char *ret_error, size_t error_size)
{
	char scratch[1];
	char *user = NULL, *pass = NULL;
	size_t pos = 0;
	int r;

	if (!ret_error) {
		ret_error = scratch;
		error_size = sizeof(scratch);
	}
	r = cred_line(buf, len, &pos, 1, &user, ret_error, error_size);
	if (r >= 0 && pos >= len && (len == 0 || buf[len - 1] != '\n')) {
		snprintf(ret_error, error_size, "line 2, column 1: the password line is missing");
		r = -EINVAL;
	}
	if (r >= 0)
		r = cred_line(buf, len, &pos, 2, &pass, ret_error, error_size);
	if (r >= 0 && pos < len) {
		snprintf(ret_error, error_size, "line 3, column 1: nothing may follow the password");
		r = -EINVAL;
	}
	if (r < 0) {
		free(user);
		if (pass)
			explicit_bzero(pass, strlen(pass));
		free(pass);
		return r;
	}
	*ret_user = user;
	*ret_pass = pass;
	return 0;
}

int forward_load_credentials(const char *path, char **ret_user, char **ret_pass,
			     char *ret_error, size_t error_size)
{
	char buf[4097], msg[160];
	size_t len = 0;
	int r = small_file_read(path, buf, sizeof(buf), &len);

	if (r < 0) {
		snprintf(ret_error, error_size, "%s: %s", path,
			 r == -EFBIG ? "larger than 4 KiB" : strerror(-r));
		explicit_bzero(buf, sizeof(buf));
		return r;
	}
	r = forward_parse_credentials(buf, len, ret_user, ret_pass, msg, sizeof(msg));
	explicit_bzero(buf, sizeof(buf));
	if (r < 0)
		snprintf(ret_error, error_size, "%s: %s", path, msg);
	return r;
}
