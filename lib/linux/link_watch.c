/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "bodydiag/linux/link_watch.h"

/* glibc's <net/if.h> lacks it and <linux/if.h> clashes with it (value from linux/if.h). */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

/* Interfaces tracked at once; a car tool sees a handful, a busy host maybe a few hundred. */
#define LINKS_MAX 256

struct link {
	int ifindex;
	bool up;
	bool seen; /* used while re-synchronising */
	char name[IF_NAMESIZE];
};

struct link_watch {
	int fd;
	unsigned seq;
	size_t n_links;
	struct link links[LINKS_MAX];
};

const char *link_watch_event_name(enum link_watch_event ev)
{
	switch (ev) {
	case LINK_WATCH_ADDED:
		return "added";
	case LINK_WATCH_UP:
		return "up";
	case LINK_WATCH_DOWN:
		return "down";
	case LINK_WATCH_REMOVED:
		return "removed";
	case _LINK_WATCH_EVENT_MAX:
		break;
	}
	return "?";
}

/* Administratively up with carrier. IFF_RUNNING (the operational state) would be the
 * textbook choice, but the kernel's linkwatch updates it up to a second after the carrier
 * changes, while IFF_LOWER_UP follows the driver at once; CAN drivers drop the carrier on
 * bus-off, which is exactly the outage the daemon must see. */
static bool link_is_up(unsigned flags)
{
	return (flags & IFF_UP) && (flags & IFF_LOWER_UP);
}

static struct link *find(struct link_watch *w, int ifindex)
{
	for (size_t i = 0; i < w->n_links; i++)
		if (w->links[i].ifindex == ifindex)
			return &w->links[i];
	return NULL;
}

static void drop(struct link_watch *w, struct link *l)
{
	*l = w->links[--w->n_links];
}

static bool name_matches(const char *filter, const char *name)
{
	return !filter || strcmp(filter, name) == 0;
}

/* Applies one RTM_NEWLINK/RTM_DELLINK and reports the transition, if any. */
static int apply(struct link_watch *w, const struct nlmsghdr *nh, const char *filter,
		 link_watch_cb cb, void *userdata)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	const char *name = NULL;
	struct link *l;
	bool up;
	int len = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof(*ifi));

	if (len < 0)
		return 0;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		if (a->rta_type == IFLA_IFNAME && RTA_PAYLOAD(a) > 0) {
			name = RTA_DATA(a);
			/* The kernel NUL-terminates IFLA_IFNAME; refuse anything that is not. */
			if (strnlen(name, RTA_PAYLOAD(a)) == RTA_PAYLOAD(a))
				name = NULL;
		}
	}
	l = find(w, ifi->ifi_index);
	if (nh->nlmsg_type == RTM_DELLINK) {
		if (!l)
			return 0;
		char gone[IF_NAMESIZE];
		memcpy(gone, l->name, sizeof(gone));
		drop(w, l);
		if (cb && name_matches(filter, gone))
			cb(gone, ifi->ifi_index, LINK_WATCH_REMOVED, userdata);
		return name_matches(filter, gone);
	}
	if (!name)
		return 0;
	up = link_is_up(ifi->ifi_flags);
	if (!l) {
		if (w->n_links == LINKS_MAX)
			return 0; /* documented bound: further interfaces are not tracked */
		l = &w->links[w->n_links++];
		*l = (struct link){.ifindex = ifi->ifi_index, .up = up, .seen = true};
		snprintf(l->name, sizeof(l->name), "%s", name);
		if (!cb || !name_matches(filter, name))
			return 0;
		cb(name, ifi->ifi_index, LINK_WATCH_ADDED, userdata);
		if (up)
			cb(name, ifi->ifi_index, LINK_WATCH_UP, userdata);
		return up ? 2 : 1;
	}
	l->seen = true;
	snprintf(l->name, sizeof(l->name), "%s", name); /* renames follow the index */
	if (l->up == up)
		return 0;
	l->up = up;
	if (cb && name_matches(filter, name)) {
		cb(name, ifi->ifi_index, up ? LINK_WATCH_UP : LINK_WATCH_DOWN, userdata);
		return 1;
	}
	return 0;
}

/* Reads one datagram's worth of messages. Returns callbacks made, 0 when nothing is
 * pending, or -errno. *done is set when a dump's NLMSG_DONE was seen. */
static int read_batch(struct link_watch *w, const char *filter, link_watch_cb cb, void *userdata,
		      bool *done)
{
	char buf[32768] __attribute__((aligned(__alignof__(struct nlmsghdr))));
	ssize_t n = recv(w->fd, buf, sizeof(buf), MSG_DONTWAIT);
	int count = 0;

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		return -errno;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_DONE) {
			if (done)
				*done = true;
			break;
		}
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);
			if (e->error)
				return e->error;
			continue;
		}
		if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK)
			count += apply(w, nh, filter, cb, userdata);
	}
	return count;
}

/* Dumps all links. Links missing from the dump are reported REMOVED. Blocking with poll
 * on the dump only: the kernel answers a dump immediately. */
static int resync(struct link_watch *w, const char *filter, link_watch_cb cb, void *userdata)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++w->seq,
		},
		.ifi = {.ifi_family = AF_UNSPEC},
	};
	bool done = false;
	int count = 0, r, tries = 0;

	for (size_t i = 0; i < w->n_links; i++)
		w->links[i].seen = false;
	if (send(w->fd, &req, req.nh.nlmsg_len, 0) < 0)
		return -errno;
	while (!done) {
		r = read_batch(w, filter, cb, userdata, &done);
		if (r < 0)
			return r;
		count += r;
		if (r == 0 && !done) {
			/* The dump is produced synchronously, but pieces may still be in flight. */
			if (++tries > 1000)
				return -ETIMEDOUT;
			usleep(1000);
		}
	}
	for (size_t i = 0; i < w->n_links;) {
		struct link *l = &w->links[i];
		if (l->seen) {
			i++;
			continue;
		}
		char gone[IF_NAMESIZE];
		int idx = l->ifindex;
		memcpy(gone, l->name, sizeof(gone));
		drop(w, l);
		if (cb && name_matches(filter, gone)) {
			cb(gone, idx, LINK_WATCH_REMOVED, userdata);
			count++;
		}
	}
	return count;
}

int link_watch_new(struct link_watch **ret)
{
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
	struct link_watch *w;
	int r;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (w->fd < 0) {
		r = -errno;
		free(w);
		return r;
	}
	if (bind(w->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		goto fail;
	}
	r = resync(w, NULL, NULL, NULL);
	if (r < 0)
		goto fail;
	*ret = w;
	return 0;
fail:
	link_watch_free(w);
	return r;
}

struct link_watch *link_watch_free(struct link_watch *w)
{
	if (!w)
		return NULL;
	if (w->fd >= 0)
		close(w->fd);
	free(w);
	return NULL;
}

int link_watch_fd(const struct link_watch *w)
{
	return w->fd;
}

int link_watch_dispatch(struct link_watch *w, const char *filter, link_watch_cb cb, void *userdata)
{
	int count = 0, r;

	for (;;) {
		r = read_batch(w, filter, cb, userdata, NULL);
		if (r == -ENOBUFS) {
			/* The socket overflowed and notifications were lost: what we believe about
			 * the links may be stale, so ask the kernel for the full picture. */
			r = resync(w, filter, cb, userdata);
			if (r < 0)
				return r;
			return count + r;
		}
		if (r < 0)
			return r;
		if (r == 0) {
			/* read_batch returns 0 both for "nothing pending" and for messages that
			 * changed nothing; only the former ends the loop. */
			char probe;
			ssize_t n = recv(w->fd, &probe, 1, MSG_DONTWAIT | MSG_PEEK);
			if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return count;
			if (n < 0 && errno != ENOBUFS)
				return -errno;
			continue;
		}
		count += r;
	}
}

/* RTM_GETLINK for one interface: its flags and type. 0, -ENODEV absent, other -errno. */
static int get_link(const char *ifname, unsigned *ret_flags, unsigned short *ret_type)
{
	/* SIOCGIFFLAGS cannot be used: ifr_flags is a short and IFF_LOWER_UP is bit 16. */
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = {
		.nh = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_GETLINK,
			.nlmsg_flags = NLM_F_REQUEST,
			.nlmsg_seq = 1,
		},
		.ifi = {.ifi_family = AF_UNSPEC},
	};
	char buf[8192] __attribute__((aligned(__alignof__(struct nlmsghdr))));
	ssize_t n;
	int fd, r = -EIO;

	if (!ifname || strlen(ifname) >= IF_NAMESIZE)
		return -EINVAL;
	req.ifi.ifi_index = (int)if_nametoindex(ifname);
	if (req.ifi.ifi_index == 0)
		return -ENODEV;
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	if (send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
		r = -errno;
		goto out;
	}
	n = recv(fd, buf, sizeof(buf), 0);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n);
	     nh = NLMSG_NEXT(nh, n)) {
		if (nh->nlmsg_type == NLMSG_ERROR) {
			const struct nlmsgerr *e = NLMSG_DATA(nh);
			r = e->error ? e->error : -EIO;
			break;
		}
		if (nh->nlmsg_type == RTM_NEWLINK) {
			const struct ifinfomsg *ifi = NLMSG_DATA(nh);
			*ret_flags = ifi->ifi_flags;
			*ret_type = ifi->ifi_type;
			r = 0;
			break;
		}
	}
out:
	close(fd);
	return r;
}

int link_watch_query(const char *ifname)
{
	unsigned flags;
	unsigned short type;
	int r = get_link(ifname, &flags, &type);

	return r < 0 ? r : link_is_up(flags) ? 1 : 0;
}

int link_watch_link_type(const char *ifname)
{
	unsigned flags;
	unsigned short type;
	int r = get_link(ifname, &flags, &type);

	return r < 0 ? r : (int)type;
}
