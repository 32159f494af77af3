/* SPDX-License-Identifier: MIT */
#include "small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "macro.h"

int small_file_read(const char *path, char *buf, size_t size, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	size_t len = 0;

	if (fd < 0)
		return -errno;
	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == size)
		return -EFBIG;
	*ret_len = len;
	return 0;
}
