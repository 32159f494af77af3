/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <linux/can.h>
#include <linux/can/error.h>
#include <linux/can/raw.h>

#include "bodydiag/linux/can_raw.h"

/* The kernel caps CAN_RAW_FILTER at CAN_RAW_FILTER_MAX (512) entries. */
#define FILTER_MAX 512

static int setsockopt_int(int fd, int level, int name, int value)
{
	if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
		return -errno;
	return 0;
}

int can_raw_set_filters(int fd, const struct can_raw_filter *filters, size_t n_filters)
{
	struct can_filter kf[FILTER_MAX];

	if (n_filters > FILTER_MAX)
		return -E2BIG;
	if (!filters) {
		/* Back to the kernel's default: one filter that passes everything. */
		struct can_filter all = {.can_id = 0, .can_mask = 0};
		if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, &all, sizeof(all)) < 0)
			return -errno;
		return 0;
	}
	for (size_t i = 0; i < n_filters; i++) {
		const struct can_raw_filter *f = &filters[i];
		/* Match the frame format and RTR bit too, so a standard-id filter never
		 * lets the extended id with the same number through. */
		if (f->ext) {
			kf[i].can_id = (f->id & CAN_EFF_MASK) | CAN_EFF_FLAG;
			kf[i].can_mask = (f->mask & CAN_EFF_MASK) | CAN_EFF_FLAG | CAN_RTR_FLAG;
		} else {
			kf[i].can_id = f->id & CAN_SFF_MASK;
			kf[i].can_mask = (f->mask & CAN_SFF_MASK) | CAN_EFF_FLAG | CAN_RTR_FLAG;
		}
		if (f->invert)
			kf[i].can_id |= CAN_INV_FILTER;
	}
	if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_FILTER, n_filters ? kf : NULL,
		       (socklen_t)(n_filters * sizeof(kf[0]))) < 0)
		return -errno;
	return 0;
}

int can_raw_open(const char *ifname, const struct can_raw_filter *filters, size_t n_filters,
		 unsigned flags, int *ret_fd)
{
	struct sockaddr_can addr = {.can_family = AF_CAN};
	int fd, r;

	if (n_filters > FILTER_MAX)
		return -E2BIG;
	if (ifname && *ifname && strcmp(ifname, "any") != 0) {
		addr.can_ifindex = (int)if_nametoindex(ifname);
		if (addr.can_ifindex == 0)
			return -ENODEV;
	}

	fd = socket(PF_CAN, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, CAN_RAW);
	if (fd < 0)
		return -errno;

	if (filters) {
		r = can_raw_set_filters(fd, filters, n_filters);
		if (r < 0)
			goto fail;
	}
	if (flags & CAN_RAW_OPEN_FD) {
		r = setsockopt_int(fd, SOL_CAN_RAW, CAN_RAW_FD_FRAMES, 1);
		if (r < 0)
			goto fail;
	}
	if (flags & CAN_RAW_OPEN_ERR_FRAMES) {
		can_err_mask_t m = CAN_ERR_MASK;
		if (setsockopt(fd, SOL_CAN_RAW, CAN_RAW_ERR_FILTER, &m, sizeof(m)) < 0) {
			r = -errno;
			goto fail;
		}
	}
	if (flags & CAN_RAW_OPEN_NO_LOOPBACK) {
		r = setsockopt_int(fd, SOL_CAN_RAW, CAN_RAW_LOOPBACK, 0);
		if (r < 0)
			goto fail;
	}
	if (flags & CAN_RAW_OPEN_RECV_OWN) {
		r = setsockopt_int(fd, SOL_CAN_RAW, CAN_RAW_RECV_OWN_MSGS, 1);
		if (r < 0)
			goto fail;
	}
	if (flags & CAN_RAW_OPEN_TIMESTAMP) {
		r = setsockopt_int(fd, SOL_SOCKET, SO_TIMESTAMPNS, 1);
		if (r < 0)
			goto fail;
	}
	/* Always ask for the drop counter: a daemon that loses frames must be able to say so. */
	r = setsockopt_int(fd, SOL_SOCKET, SO_RXQ_OVFL, 1);
	if (r < 0)
		goto fail;

	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		r = -errno;
		goto fail;
	}
	*ret_fd = fd;
	return 0;
fail:
	close(fd);
	return r;
}

int can_raw_recv(int fd, struct bd_timed_frame *ret, int *ret_ifindex, uint32_t *ret_drops)
{
	struct canfd_frame kf;
	struct sockaddr_can addr;
	char ctrl[CMSG_SPACE(sizeof(struct timespec)) + CMSG_SPACE(sizeof(uint32_t))];
	struct iovec iov = {.iov_base = &kf, .iov_len = sizeof(kf)};
	struct msghdr msg = {
		.msg_name = &addr,
		.msg_namelen = sizeof(addr),
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctrl,
		.msg_controllen = sizeof(ctrl),
	};
	struct bd_timed_frame out = {0};
	ssize_t n;

	n = recvmsg(fd, &msg, MSG_DONTWAIT);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
	if (n != CAN_MTU && n != CANFD_MTU)
		return -EBADMSG;

	if (kf.can_id & CAN_ERR_FLAG) {
		out.frame.flags |= BD_FRAME_ERR;
		out.frame.id = kf.can_id & CAN_ERR_MASK;
	} else if (kf.can_id & CAN_EFF_FLAG) {
		out.frame.flags |= BD_FRAME_EXT;
		out.frame.id = kf.can_id & CAN_EFF_MASK;
	} else {
		out.frame.id = kf.can_id & CAN_SFF_MASK;
	}
	if (kf.can_id & CAN_RTR_FLAG)
		out.frame.flags |= BD_FRAME_RTR;
	if (n == CANFD_MTU) {
		out.frame.flags |= BD_FRAME_FD;
		if (kf.flags & CANFD_BRS)
			out.frame.flags |= BD_FRAME_BRS;
		if (kf.flags & CANFD_ESI)
			out.frame.flags |= BD_FRAME_ESI;
		if (kf.len > CANFD_MAX_DLEN)
			return -EBADMSG;
	} else if (kf.len > CAN_MAX_DLEN) {
		return -EBADMSG;
	}
	/* The kernel marks frames that another socket of this host sent (MSG_DONTROUTE) and
	 * those this socket sent itself (MSG_CONFIRM): both are ours, not the car's. */
	if (msg.msg_flags & (MSG_DONTROUTE | MSG_CONFIRM))
		out.frame.flags |= BD_FRAME_LOCAL;
	out.frame.len = kf.len;
	if (!(out.frame.flags & BD_FRAME_RTR))
		memcpy(out.frame.data, kf.data, kf.len);

	for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SO_TIMESTAMPNS) {
			struct timespec ts;
			memcpy(&ts, CMSG_DATA(c), sizeof(ts));
			out.t_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
		} else if (c->cmsg_type == SO_RXQ_OVFL && ret_drops) {
			uint32_t d;
			memcpy(&d, CMSG_DATA(c), sizeof(d));
			*ret_drops = d;
		}
	}
	if (ret_ifindex)
		*ret_ifindex = addr.can_ifindex;
	*ret = out;
	return 1;
}

int can_raw_set_rcvbuf(int fd, int bytes)
{
	if (bytes <= 0)
		return -EINVAL;
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) == 0)
		return 0;
	if (errno != EPERM)
		return -errno;
	return setsockopt_int(fd, SOL_SOCKET, SO_RCVBUF, bytes);
}

int can_raw_send(int fd, const struct bd_frame *f)
{
	struct canfd_frame kf = {0};
	size_t mtu;
	ssize_t n;

	if (!bd_frame_is_valid(f) || (f->flags & BD_FRAME_ERR))
		return -EINVAL;
	kf.can_id = f->id;
	if (f->flags & BD_FRAME_EXT)
		kf.can_id |= CAN_EFF_FLAG;
	if (f->flags & BD_FRAME_RTR)
		kf.can_id |= CAN_RTR_FLAG;
	kf.len = f->len;
	if (f->flags & BD_FRAME_FD) {
		mtu = CANFD_MTU;
		if (f->flags & BD_FRAME_BRS)
			kf.flags |= CANFD_BRS;
		if (f->flags & BD_FRAME_ESI)
			kf.flags |= CANFD_ESI;
	} else {
		mtu = CAN_MTU;
	}
	if (!(f->flags & BD_FRAME_RTR))
		memcpy(kf.data, f->data, f->len);

	n = send(fd, &kf, mtu, MSG_DONTWAIT);
	if (n < 0) {
		/* A full device queue shows as ENOBUFS on CAN sockets: callers treat it as "try
		 * again later", not as a failure. */
		if (errno == ENOBUFS || errno == EWOULDBLOCK)
			return -EAGAIN;
		return -errno;
	}
	if ((size_t)n != mtu)
		return -EIO;
	return 0;
}
