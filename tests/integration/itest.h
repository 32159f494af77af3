/* SPDX-License-Identifier: MIT */
#pragma once
/* Small helpers shared by the integration tests (run inside the VM bench or natively). */
#include <poll.h>
#include <stdlib.h>

/* Interfaces the bench provides; overridable for a native run on a developer's machine. */
static inline const char *itest_if(const char *env, const char *def)
{
	const char *v = getenv(env);
	return v && *v ? v : def;
}
#define ITEST_CAN0 itest_if("BD_CAN0", "can0")
#define ITEST_CAN1 itest_if("BD_CAN1", "can1")
#define ITEST_VCAN itest_if("BD_VCAN", "vcan0")

/* 1 when fd became readable within ms, 0 on timeout. */
static inline int itest_wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	int r = poll(&p, 1, ms);
	return r > 0 && (p.revents & (POLLIN | POLLERR));
}
