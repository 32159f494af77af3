/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bodydiag/bitrate_detect.h"
#include "bodydiag/linux/can_raw.h"
#include "canio.h"

/* The one piece of process state: a signal arrived. */
static volatile sig_atomic_t interrupted;

int64_t canio_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

void canio_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

bool canio_interrupted(void)
{
	return interrupted != 0;
}

int canio_wait(const int *fds, size_t n, int64_t until_us)
{
	struct pollfd p[4];
	int64_t left = until_us - canio_now_us();
	int r, mask = 0;

	if (n > 4)
		return -EINVAL;
	if (left < 0)
		left = 0;
	for (size_t i = 0; i < n; i++)
		p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
	/* round up: waking a millisecond early would only spin */
	r = poll(p, n, (int)((left + 999) / 1000));
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	for (size_t i = 0; i < n; i++)
		if (fds[i] >= 0 && (p[i].revents & (POLLIN | POLLERR)))
			mask |= 1 << i;
	return mask;
}

int canio_drain(int fd, void (*fn)(void *userdata, const struct bd_frame *f, int64_t now_us),
		void *userdata)
{
	struct bd_timed_frame tf;
	int n = 0;

	/* bounded: a bus at full load must not keep the caller here for ever */
	for (int k = 0; k < 10000; k++) {
		int r = can_raw_recv(fd, &tf, NULL, NULL);
		if (r == 0)
			return n;
		if (r == -ENETDOWN)
			continue;
		if (r < 0)
			return r;
		if (fn)
			fn(userdata, &tf.frame, canio_now_us());
		n++;
	}
	return n;
}

int canio_opt_seconds(const char *cmd, const char *opt, const char *arg, bool zero_ok,
		      int64_t *ret_us)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(arg, &end);
	if (errno || end == arg || *end || !(v >= 0) || (v == 0 && !zero_ok) || v > 86400) {
		fprintf(stderr, "bodydiag %s: --%s %s: expected seconds (%s86400)\n", cmd, opt, arg,
			zero_ok ? "0.." : "above 0, up to ");
		return -EINVAL;
	}
	*ret_us = (int64_t)(v * 1e6);
	return 0;
}

int canio_opt_uint(const char *cmd, const char *opt, const char *arg, unsigned min, unsigned max,
		   unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		fprintf(stderr, "bodydiag %s: --%s %s: expected %u..%u\n", cmd, opt, arg, min, max);
		return -EINVAL;
	}
	*ret = (unsigned)v;
	return 0;
}

const char *canio_bitrate(uint32_t bitrate, char *buf, size_t size)
{
	bitrate_detect_format(bitrate, buf, size);
	return buf;
}
