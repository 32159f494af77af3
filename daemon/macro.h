/* SPDX-License-Identifier: MIT */
/* Small helpers shared by the daemon modules (ell cleanup.h, systemd macro.h). */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define container_of(ptr, type, member)                                                            \
	((type *)(void *)((char *)(ptr) - offsetof(type, member)))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* Closes an fd unless it was stolen (set to -1); keeps errno, as systemd's closep does. */
static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Hands ownership on: returns the value and leaves the variable empty. */
#define steal_ptr(p)                                                                               \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})
#define steal_fd(fd)                                                                               \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* Microseconds on a clock: CLOCK_MONOTONIC for timelines and timers, CLOCK_REALTIME for
 * what must outlive a reboot (history) and for kernel frame stamps. */
static inline int64_t clock_now_us(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
