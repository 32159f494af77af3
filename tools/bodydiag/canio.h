/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * canio: what the commands that open CAN sockets themselves (detect, discover) share:
 * the monotonic clock, SIGINT/SIGTERM turned into a flag (so the controller is put back
 * before exiting), waiting on sockets until a deadline, and reading a CAN_RAW socket dry.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

int64_t canio_now_us(void);

/* SIGINT and SIGTERM set a flag instead of ending the process (no SA_RESTART: a waiting
 * canio_wait returns at once). */
void canio_catch_signals(void);
bool canio_interrupted(void);

/* Waits until one of fds (-1 entries ignored) is readable or the monotonic deadline
 * passes. Returns a bit mask of the readable fds (bit i for fds[i]), 0 on the deadline or
 * a signal, -errno. */
int canio_wait(const int *fds, size_t n, int64_t until_us);

/* Calls fn for every frame pending on a CAN_RAW fd, with the monotonic time of the read.
 * -ENETDOWN (the link was taken down under the socket) is skipped. Returns the number of
 * frames, or -errno. */
int canio_drain(int fd, void (*fn)(void *userdata, const struct bd_frame *f, int64_t now_us),
		void *userdata);

/* Option values of the bus commands: seconds with decimals ("1.5") as microseconds (0 only
 * when zero_ok, up to a day), and a decimal in min..max. 0, or -EINVAL after telling the
 * user on stderr ("bodydiag CMD: --OPT ARG: ..."). */
int canio_opt_seconds(const char *cmd, const char *opt, const char *arg, bool zero_ok,
		      int64_t *ret_us);
int canio_opt_uint(const char *cmd, const char *opt, const char *arg, unsigned min, unsigned max,
		   unsigned *ret);

/* "500k", "83.333k": a bitrate for humans. */
const char *canio_bitrate(uint32_t bitrate, char *buf, size_t size);
