/* SPDX-License-Identifier: MIT */
/*
 * systemd's service protocols spoken directly (sdproto.h). libsystemd would give the same
 * five calls but maps libgcrypt, libgpg-error, libzstd, liblzma, liblz4 and libcap into
 * every process that links it (about 1.1 MB of resident file pages and 130 kB anonymous
 * in bodydiagd, and their dynamic linking at each start); the protocols are small, stable
 * and documented: sd_notify(3), sd_listen_fds(3), sd_watchdog_enabled(3) and systemd's
 * docs/JOURNAL_NATIVE_PROTOCOL.md.
 */
#include "sdproto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/*
 * A socket address from systemd's notation: "/path" or "@name" (Linux's abstract namespace:
 * a leading NUL and a length that counts exactly the name's bytes, no terminator).
 */
static int unix_address(const char *s, struct sockaddr_un *ret, socklen_t *ret_len)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t len = strlen(s);

	if (s[0] != '/' && s[0] != '@')
		return -EAFNOSUPPORT;
	/* A path keeps its NUL inside sun_path; an abstract name needs at least one byte. */
	if ((s[0] == '/' && len >= sizeof(a.sun_path)) ||
	    (s[0] == '@' && (len < 2 || len > sizeof(a.sun_path))))
		return -EINVAL;
	memcpy(a.sun_path, s, len);
	if (s[0] == '@')
		a.sun_path[0] = '\0';
	*ret = a;
	*ret_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (s[0] == '/'));
	return 0;
}

/* A plain decimal number ("12", not " 12", "+12", "-1", "0x1" or "") up to max. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Whether a variable holding a PID names this process. */
static int pid_is_ours(const char *s)
{
	uint64_t pid;
	int r = parse_decimal(s, INT_MAX, &pid);

	if (r < 0)
		return r;
	return pid == (uint64_t)getpid();
}

int sdproto_notify(const char *state)
{
	const char *e = getenv("NOTIFY_SOCKET");
	struct sockaddr_un a;
	socklen_t alen;
	struct iovec iov;
	struct msghdr m;
	int fd, r;

	if (!state)
		return -EINVAL;
	if (!e || !*e)
		return 0;
	r = unix_address(e, &a, &alen);
	if (r < 0)
		return r;
	/*
	 * Blocking, as libsystemd's: a full queue in PID 1 (it drains it at once) should delay
	 * READY=1 a moment, not lose it and have the start time out. A socket per message:
	 * they are a handful per run, and nothing stays open.
	 */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	iov = (struct iovec){.iov_base = (void *)state, .iov_len = strlen(state)};
	m = (struct msghdr){.msg_name = &a, .msg_namelen = alen, .msg_iov = &iov, .msg_iovlen = 1};
	r = sendmsg(fd, &m, MSG_NOSIGNAL) < 0 ? -errno : 1;
	close(fd);
	return r;
}

int sdproto_notifyf(const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -ENOBUFS;
	return sdproto_notify(buf);
}

int sdproto_listen_fds(bool unset_environment)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	uint64_t n = 0;
	int r;

	/* No LISTEN_PID: not socket-activated. Another PID: inherited, not for us. */
	r = pid ? pid_is_ours(pid) : 0;
	if (r > 0 && !fds)
		r = 0;
	if (r <= 0)
		goto out;
	r = parse_decimal(fds, INT_MAX - SDPROTO_LISTEN_FDS_START, &n);
	if (r < 0)
		goto out;
	/* systemd passes them inheritable; a program we start must not hold our API socket. */
	for (int fd = SDPROTO_LISTEN_FDS_START; fd < SDPROTO_LISTEN_FDS_START + (int)n; fd++) {
		int flags = fcntl(fd, F_GETFD);

		if (flags < 0 ||
		    (!(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)) {
			r = -errno;
			goto out;
		}
	}
	r = (int)n;
out:
	if (unset_environment) {
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_FDNAMES");
	}
	return r;
}

int sdproto_watchdog_usec(uint64_t *ret_usec)
{
	const char *usec_s = getenv("WATCHDOG_USEC"), *pid_s = getenv("WATCHDOG_PID");
	uint64_t usec;
	int r;

	if (!usec_s)
		return 0;
	/* Another process's settings (inherited) are not ours, whatever they hold. */
	if (pid_s) {
		r = pid_is_ours(pid_s);
		if (r <= 0)
			return r;
	}
	r = parse_decimal(usec_s, UINT64_MAX, &usec);
	if (r < 0)
		return r;
	if (usec == 0)
		return -EINVAL;
	*ret_usec = usec;
	return 1;
}

/* journald's rule for the names a client may send (it drops the others). */
static bool field_name_valid(const char *p, size_t len)
{
	if (len == 0 || len > 64 || p[0] == '_' || (p[0] >= '0' && p[0] <= '9'))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '_'))
			return false;
	return true;
}

/*
 * An entry too big for a datagram (EMSGSIZE: larger than the socket's send buffer allows):
 * the same bytes in a memfd, sealed so journald can map it knowing we cannot change it,
 * passed alone in an empty datagram.
 */
static int send_memfd(int fd, struct msghdr *m, size_t total)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int))];
	} control = {0};
	/* One empty iovec rather than none: the same empty datagram on the wire, but qemu-user
	 * (the unit suite's arm64/armhf runs) returns success for a sendmsg without iovecs
	 * and sends nothing. */
	struct iovec empty = {.iov_base = control.buf, .iov_len = 0};
	struct msghdr fdm = {.msg_name = m->msg_name,
			     .msg_namelen = m->msg_namelen,
			     .msg_iov = &empty,
			     .msg_iovlen = 1,
			     .msg_control = control.buf,
			     .msg_controllen = sizeof(control.buf)};
	struct cmsghdr *c;
	int mfd, r = 0;
	ssize_t n;

	mfd = memfd_create("bodydiag-journal-entry", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (mfd < 0)
		return -errno;
	n = writev(mfd, m->msg_iov, (int)m->msg_iovlen);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != total)
		r = -EIO; /* tmpfs writes all or fails; a short write would be a truncated entry */
	if (r == 0 &&
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0)
		r = -errno;
	if (r == 0) {
		c = CMSG_FIRSTHDR(&fdm);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &mfd, sizeof(int));
		if (sendmsg(fd, &fdm, MSG_NOSIGNAL) < 0)
			r = -errno;
	}
	close(mfd);
	return r;
}

static int journal_send(int fd, const char *path, const struct iovec *iov, size_t n)
{
	static char nl[] = "\n";
	struct iovec out[SDPROTO_JOURNAL_MAX_FIELDS * 5];
	unsigned char lens[SDPROTO_JOURNAL_MAX_FIELDS][8];
	struct sockaddr_un a;
	socklen_t alen;
	struct msghdr m;
	size_t k = 0, total = 0;
	int r;

	if (n > SDPROTO_JOURNAL_MAX_FIELDS)
		return -E2BIG;
	r = unix_address(path, &a, &alen);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		char *b = iov[i].iov_base;
		size_t len = iov[i].iov_len;
		char *eq = b ? memchr(b, '=', len) : NULL;
		size_t name_len, value_len;

		if (!eq || !field_name_valid(b, (size_t)(eq - b)))
			return -EINVAL;
		name_len = (size_t)(eq - b);
		value_len = len - name_len - 1;
		if (!memchr(eq + 1, '\n', value_len)) {
			/* FIELD=value\n */
			out[k++] = (struct iovec){b, len};
			out[k++] = (struct iovec){nl, 1};
			continue;
		}
		/* FIELD\n, the value's length as 64-bit little endian, the value, \n */
		for (int j = 0; j < 8; j++)
			lens[i][j] = (unsigned char)((uint64_t)value_len >> (8 * j));
		out[k++] = (struct iovec){b, name_len};
		out[k++] = (struct iovec){nl, 1};
		out[k++] = (struct iovec){lens[i], 8};
		out[k++] = (struct iovec){eq + 1, value_len};
		out[k++] = (struct iovec){nl, 1};
	}
	for (size_t i = 0; i < k; i++)
		total += out[i].iov_len;
	m = (struct msghdr){.msg_name = &a, .msg_namelen = alen, .msg_iov = out, .msg_iovlen = k};
	if (sendmsg(fd, &m, MSG_NOSIGNAL) >= 0)
		return 0;
	/* ENOBUFS too: the kernel could not allocate a buffer that large. */
	if (errno != EMSGSIZE && errno != ENOBUFS)
		return -errno;
	return send_memfd(fd, &m, total);
}

/* Opened once, unconnected (a restarted journald is found again at the same path). */
static int journal_fd = -1;

int sdproto_journal_sendv(const struct iovec *iov, size_t n)
{
	int fd = __atomic_load_n(&journal_fd, __ATOMIC_ACQUIRE);

	if (fd < 0) {
		int expected = -1;

		/* Non-blocking: the daemon's event loop must never wait for journald. */
		fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (fd < 0)
			return -errno;
		/* Two threads logging at once for the first time: one socket wins. */
		if (!__atomic_compare_exchange_n(&journal_fd, &expected, fd, false,
						 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
			close(fd);
			fd = expected;
		}
	}
	return journal_send(fd, SDPROTO_JOURNAL_SOCKET, iov, n);
}

int sdproto_journal_sendv_to(const char *path, const struct iovec *iov, size_t n)
{
	int fd, r;

	if (!path)
		return -EINVAL;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = journal_send(fd, path, iov, n);
	close(fd);
	return r;
}
