/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * can_raw: CAN_RAW sockets with kernel ID filters, CAN FD, kernel receive
 * timestamps and the kernel's drop counter. Every fd is CLOEXEC|NONBLOCK.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bodydiag/frame.h"

/* One kernel acceptance filter: a frame passes when (frame_id & mask) == (id & mask).
 * ext selects 29-bit identifiers; the EFF and RTR bits are part of the match so that a
 * filter for 11-bit 0x123 does not also accept the 29-bit 0x123. */
struct can_raw_filter {
	uint32_t id;
	uint32_t mask;
	bool ext;
	bool invert; /* pass everything that does NOT match */
};

enum can_raw_flag {
	CAN_RAW_OPEN_FD = 1u << 0,          /* receive and send CAN FD frames */
	CAN_RAW_OPEN_TIMESTAMP = 1u << 1,   /* kernel receive timestamps (SO_TIMESTAMPNS) */
	CAN_RAW_OPEN_ERR_FRAMES = 1u << 2,  /* deliver error frames (all error classes) */
	CAN_RAW_OPEN_NO_LOOPBACK = 1u << 3, /* do not see frames other sockets on this host send */
	CAN_RAW_OPEN_RECV_OWN = 1u << 4,    /* see this socket's own frames */
};

/*
 * Opens a CAN_RAW socket bound to ifname ("any" or "" for all interfaces).
 * filters/n_filters: NULL/0 receives everything; n_filters > 0 installs exactly those.
 * Passing n_filters = 0 with a non-NULL filters pointer installs an empty list: the socket
 * receives nothing (useful for a send-only socket).
 * Returns 0 and the fd in *ret_fd, or -errno (-ENODEV: no such interface,
 * -EAFNOSUPPORT: kernel without CAN).
 */
int can_raw_open(const char *ifname, const struct can_raw_filter *filters, size_t n_filters,
		 unsigned flags, int *ret_fd);

/*
 * Replaces the ID filters of an open socket (same rules as can_raw_open; NULL = receive
 * everything again). Frames already queued stay. Returns 0, -E2BIG (more than 512),
 * -errno.
 */
int can_raw_set_filters(int fd, const struct can_raw_filter *filters, size_t n_filters);

/*
 * Reads one frame. Returns 1 and fills *ret when a frame was read, 0 when nothing is
 * pending (EAGAIN), -errno on failure (-ENETDOWN when the link went down).
 * ret->t_us is the kernel receive time (CLOCK_REALTIME µs) when timestamps are on, else 0.
 * ret_ifindex (may be NULL) receives the interface the frame came from;
 * ret_drops (may be NULL) receives the kernel's cumulative drop count for this socket
 * (SO_RXQ_OVFL), unchanged when the kernel did not report it.
 */
int can_raw_recv(int fd, struct bd_timed_frame *ret, int *ret_ifindex, uint32_t *ret_drops);

/* Sets the socket's receive buffer (bytes), so that bursts (a 4095-byte ISO-TP PDU is 586
 * frames) are not dropped while the reader is busy. Tries SO_RCVBUFFORCE first (needs
 * CAP_NET_ADMIN, bypasses net.core.rmem_max), then SO_RCVBUF. Returns 0 or -errno. */
int can_raw_set_rcvbuf(int fd, int bytes);

/* Sends one frame. Returns 0, -EAGAIN when the tx queue is full (ENOBUFS is mapped to it),
 * -EINVAL for a frame that is not valid, or another -errno. */
int can_raw_send(int fd, const struct bd_frame *f);
