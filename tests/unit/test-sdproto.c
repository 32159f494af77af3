/* SPDX-License-Identifier: MIT */
/*
 * common/sdproto against real sockets in a temporary folder: what a receiver bound where
 * systemd would listen gets (the notify datagram with our credentials, a path and an
 * abstract name; journal entries decoded back by a strict parser of the native protocol,
 * the binary-safe form and the sealed memfd included), socket activation's fds and
 * environment, the watchdog's variables, and the errors for what is unreachable or
 * malformed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdproto.h"

static char dir[64];

static int setup(void **state)
{
	const char *vars[] = {"NOTIFY_SOCKET",	"LISTEN_PID",	 "LISTEN_FDS",
			      "LISTEN_FDNAMES", "WATCHDOG_USEC", "WATCHDOG_PID"};

	for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
	snprintf(dir, sizeof(dir), "/tmp/test-sdproto-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A datagram receiver at "/path" or "@abstract" (the notation of $NOTIFY_SOCKET). */
static int receiver(const char *where)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	size_t len = strlen(where);
	socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	int one = 1, fd;

	assert_true(len < sizeof(a.sun_path));
	memcpy(a.sun_path, where, len);
	if (where[0] == '@')
		a.sun_path[0] = '\0';
	else
		alen++;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, alen), 0);
	/* As systemd's notify socket: the kernel then attaches the sender's credentials. */
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
	return fd;
}

/*
 * One datagram: its payload (NUL-terminated in buf), its length, the sender's credentials
 * and an fd passed with it (-1 when none).
 */
static ssize_t receive(int fd, char *buf, size_t size, struct ucred *ret_cred, int *ret_fd)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct iovec iov = {buf, size - 1};
	struct msghdr m = {.msg_iov = &iov,
			   .msg_iovlen = 1,
			   .msg_control = control.buf,
			   .msg_controllen = sizeof(control.buf)};
	ssize_t n = recvmsg(fd, &m, MSG_CMSG_CLOEXEC);

	*ret_fd = -1;
	memset(ret_cred, 0, sizeof(*ret_cred));
	if (n < 0)
		return -errno;
	assert_false(m.msg_flags & (MSG_TRUNC | MSG_CTRUNC));
	buf[n] = '\0';
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS)
			memcpy(ret_cred, CMSG_DATA(c), sizeof(*ret_cred));
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			/* Exactly one fd, as journald demands. */
			assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(int)));
			assert_int_equal(*ret_fd, -1);
			memcpy(ret_fd, CMSG_DATA(c), sizeof(int));
		}
	}
	return n;
}

static void path_in_dir(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

/* --- notify --- */

static void expect_notify(int rx, const char *want)
{
	char buf[8192];
	struct ucred cred;
	int passed;

	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed), (ssize_t)strlen(want));
	assert_string_equal(buf, want);
	assert_int_equal(passed, -1);
	assert_int_equal(cred.pid, getpid());
	assert_int_equal(cred.uid, getuid());
	/* One message, one datagram. */
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed), -EAGAIN);
}

static void test_notify_path(void **state)
{
	char path[108];
	int rx;

	path_in_dir(path, sizeof(path), "notify");
	rx = receiver(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdproto_notify("READY=1\nSTATUS=API ready"), 1);
	expect_notify(rx, "READY=1\nSTATUS=API ready");
	assert_int_equal(sdproto_notifyf("STATUS=%s %d", "unit", 42), 1);
	expect_notify(rx, "STATUS=unit 42");
	close(rx);
}

static void test_notify_abstract(void **state)
{
	char name[64];
	int rx, rx_other;

	/* Unique per run; a second receiver one byte longer proves the length is exact
	 * (an abstract name has no terminator: "\0name" and "\0name\0" are two sockets). */
	snprintf(name, sizeof(name), "@bodydiag-test/%d/%.20s", (int)getpid(), dir + 5);
	rx = receiver(name);
	{
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		size_t len = strlen(name);

		memcpy(a.sun_path, name, len);
		a.sun_path[0] = '\0';
		rx_other = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		assert_true(rx_other >= 0);
		assert_int_equal(
		    bind(rx_other, (struct sockaddr *)&a,
			 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)),
		    0);
	}
	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(sdproto_notify("WATCHDOG=1"), 1);
	expect_notify(rx, "WATCHDOG=1");
	{
		char buf[64];
		struct ucred cred;
		int passed;

		assert_int_equal(receive(rx_other, buf, sizeof(buf), &cred, &passed), -EAGAIN);
	}
	close(rx_other);
	close(rx);
}

static void test_notify_unset(void **state)
{
	assert_int_equal(sdproto_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	assert_int_equal(sdproto_notify("READY=1"), 0);
	assert_int_equal(sdproto_notifyf("STATUS=%d", 1), 0);
	setenv("NOTIFY_SOCKET", "/nonexistent", 1);
	assert_int_equal(sdproto_notify(NULL), -EINVAL);
}

static void test_notify_unreachable(void **state)
{
	char path[108], longpath[300];
	int fd;

	path_in_dir(path, sizeof(path), "nobody");
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdproto_notify("READY=1"), -ENOENT);

	/* A socket file whose owner is gone. */
	path_in_dir(path, sizeof(path), "stale");
	fd = receiver(path);
	close(fd);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(sdproto_notify("READY=1"), -ECONNREFUSED);

	/* An abstract name nobody bound. */
	setenv("NOTIFY_SOCKET", "@bodydiag-test-sdproto-nobody-listens", 1);
	assert_int_equal(sdproto_notify("READY=1"), -ECONNREFUSED);

	/* Not an address we know (relative path, vsock), too long, an empty abstract name. */
	setenv("NOTIFY_SOCKET", "run/notify", 1);
	assert_int_equal(sdproto_notify("READY=1"), -EAFNOSUPPORT);
	setenv("NOTIFY_SOCKET", "vsock:2:1234", 1);
	assert_int_equal(sdproto_notify("READY=1"), -EAFNOSUPPORT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(sdproto_notify("READY=1"), -EINVAL);
	longpath[108] = '\0'; /* 108 bytes: no room left for the path's NUL */
	assert_int_equal(sdproto_notify("READY=1"), -EINVAL);
	setenv("NOTIFY_SOCKET", "@", 1);
	assert_int_equal(sdproto_notify("READY=1"), -EINVAL);
}

/* --- listen_fds --- */

/* Fds 3..5 as the test wants them; what the process had there is put back at the end. */
struct fd_slots {
	int saved[3];
};

/* A socket at a high fd, so that it cannot land in the slots. */
static int high_receiver(const char *name)
{
	char path[108];
	int fd, high;

	path_in_dir(path, sizeof(path), name);
	fd = receiver(path);
	high = fcntl(fd, F_DUPFD_CLOEXEC, 100);
	assert_true(high >= 100);
	close(fd);
	return high;
}

static void slots_take(struct fd_slots *s)
{
	for (int i = 0; i < 3; i++) {
		s->saved[i] = fcntl(3 + i, F_DUPFD_CLOEXEC, 100);
		close(3 + i);
	}
}

static void slots_restore(struct fd_slots *s)
{
	for (int i = 0; i < 3; i++) {
		close(3 + i);
		if (s->saved[i] >= 0) {
			assert_int_equal(dup2(s->saved[i], 3 + i), 3 + i);
			close(s->saved[i]);
		}
	}
}

static void set_listen_env(long pid, const char *fds)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%ld", pid);
	setenv("LISTEN_PID", buf, 1);
	setenv("LISTEN_FDS", fds, 1);
	setenv("LISTEN_FDNAMES", "api:other", 1);
}

static void assert_listen_env_gone(void)
{
	assert_null(getenv("LISTEN_PID"));
	assert_null(getenv("LISTEN_FDS"));
	assert_null(getenv("LISTEN_FDNAMES"));
}

static void test_listen_fds(void **state)
{
	int s0 = high_receiver("l0"), s1 = high_receiver("l1");
	struct fd_slots slots;

	slots_take(&slots);
	/* Two inheritable sockets at 3 and 4 (dup2 clears CLOEXEC), as systemd passes them. */
	assert_int_equal(dup2(s0, 3), 3);
	assert_int_equal(dup2(s1, 4), 4);
	close(s0);
	close(s1);
	assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);
	assert_int_equal(fcntl(4, F_GETFD) & FD_CLOEXEC, 0);

	/* Not socket-activated. */
	assert_int_equal(sdproto_listen_fds(true), 0);

	/* Inherited from a parent: not ours, untouched, removed when asked. */
	set_listen_env((long)getpid() + 1, "2");
	assert_int_equal(sdproto_listen_fds(false), 0);
	assert_non_null(getenv("LISTEN_FDS"));
	assert_int_equal(sdproto_listen_fds(true), 0);
	assert_listen_env_gone();
	assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, 0);

	/* LISTEN_PID ours but no LISTEN_FDS. */
	set_listen_env(getpid(), "2");
	unsetenv("LISTEN_FDS");
	assert_int_equal(sdproto_listen_fds(true), 0);

	/* Ours: two fds, now close-on-exec; the variables stay unless asked. */
	set_listen_env(getpid(), "2");
	assert_int_equal(sdproto_listen_fds(false), 2);
	assert_string_equal(getenv("LISTEN_FDNAMES"), "api:other");
	assert_int_equal(sdproto_listen_fds(true), 2);
	assert_listen_env_gone();
	assert_int_equal(fcntl(3, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	assert_int_equal(fcntl(4, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	/* Once unset, a second call finds nothing (sd_listen_fds(3)). */
	assert_int_equal(sdproto_listen_fds(true), 0);

	/* More fds claimed than are open: fd 5 is closed. */
	set_listen_env(getpid(), "3");
	assert_int_equal(sdproto_listen_fds(true), -EBADF);
	assert_listen_env_gone();

	slots_restore(&slots);
}

static void test_listen_fds_garbage(void **state)
{
	const char *bad_fds[] = {"",   "abc", "-1",  "+2",	    " 2",
				 "2 ", "2x",  "0x2", "99999999999", "2147483647"};
	const char *bad_pid[] = {"", "12a", "-5", " 7", "99999999999999999999"};

	for (size_t i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		set_listen_env(getpid(), bad_fds[i]);
		assert_int_equal(sdproto_listen_fds(true), -EINVAL);
		assert_listen_env_gone();
	}
	for (size_t i = 0; i < sizeof(bad_pid) / sizeof(bad_pid[0]); i++) {
		set_listen_env(0, "1");
		setenv("LISTEN_PID", bad_pid[i], 1);
		assert_int_equal(sdproto_listen_fds(true), -EINVAL);
		assert_listen_env_gone();
	}
	/* Zero fds passed is no error. */
	set_listen_env(getpid(), "0");
	assert_int_equal(sdproto_listen_fds(true), 0);
}

/* --- watchdog --- */

static void test_watchdog(void **state)
{
	char pid[32], other[32];
	uint64_t usec = 7;

	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(other, sizeof(other), "%d", (int)getpid() + 1);

	assert_int_equal(sdproto_watchdog_usec(&usec), 0);
	assert_int_equal(usec, 7);

	/* Set without a PID: ours. */
	setenv("WATCHDOG_USEC", "30000000", 1);
	assert_int_equal(sdproto_watchdog_usec(&usec), 1);
	assert_int_equal(usec, 30000000);

	usec = 7;
	setenv("WATCHDOG_PID", pid, 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	assert_int_equal(sdproto_watchdog_usec(&usec), 1);
	assert_int_equal(usec, 2000000);

	/* Another process's (inherited): not ours, whatever the interval says. */
	usec = 7;
	setenv("WATCHDOG_PID", other, 1);
	assert_int_equal(sdproto_watchdog_usec(&usec), 0);
	setenv("WATCHDOG_USEC", "garbage", 1);
	assert_int_equal(sdproto_watchdog_usec(&usec), 0);
	assert_int_equal(usec, 7);

	/* Garbage for us. */
	setenv("WATCHDOG_PID", "12x", 1);
	setenv("WATCHDOG_USEC", "2000000", 1);
	assert_int_equal(sdproto_watchdog_usec(&usec), -EINVAL);
	setenv("WATCHDOG_PID", pid, 1);
	{
		const char *bad[] = {"", "0", "-1", "1s", "2000000 ", "18446744073709551616"};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			setenv("WATCHDOG_USEC", bad[i], 1);
			assert_int_equal(sdproto_watchdog_usec(&usec), -EINVAL);
		}
	}
	assert_int_equal(usec, 7);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
}

/* --- journal --- */

/*
 * A strict decoder of one native-protocol entry: each field either "NAME=value\n" (value
 * without newline) or "NAME\n" + 64-bit little-endian length + value + "\n". Fills fields
 * with "NAME=value" copies (value may hold any byte) and their lengths; returns the count,
 * or -1 on anything malformed.
 */
struct field {
	char *data;
	size_t len;
};

static int decode_entry(const char *p, size_t n, struct field *out, int max)
{
	int k = 0;

	while (n > 0) {
		const char *stop = NULL;
		size_t name_len;

		for (size_t i = 0; i < n; i++)
			if (p[i] == '=' || p[i] == '\n') {
				stop = p + i;
				break;
			}
		if (!stop || stop == p || k == max)
			return -1;
		name_len = (size_t)(stop - p);
		if (*stop == '=') {
			const char *nl = memchr(stop, '\n', n - name_len);

			if (!nl)
				return -1;
			out[k].len = (size_t)(nl - p);
			out[k].data = malloc(out[k].len);
			memcpy(out[k].data, p, out[k].len);
			n -= out[k].len + 1;
			p = nl + 1;
		} else {
			uint64_t vlen = 0;

			if (n < name_len + 1 + 8)
				return -1;
			for (int j = 0; j < 8; j++)
				vlen |= (uint64_t)(unsigned char)stop[1 + j] << (8 * j);
			if (n - name_len - 9 < vlen + 1 || stop[9 + vlen] != '\n')
				return -1;
			out[k].len = name_len + 1 + vlen;
			out[k].data = malloc(out[k].len);
			memcpy(out[k].data, p, name_len);
			out[k].data[name_len] = '=';
			memcpy(out[k].data + name_len + 1, stop + 9, vlen);
			n -= name_len + 9 + vlen + 1;
			p = stop + 9 + vlen + 1;
		}
		k++;
	}
	return k;
}

static void assert_fields(const char *p, size_t n, const struct iovec *want, int nwant)
{
	struct field got[SDPROTO_JOURNAL_MAX_FIELDS];
	int k = decode_entry(p, n, got, SDPROTO_JOURNAL_MAX_FIELDS);

	assert_int_equal(k, nwant);
	for (int i = 0; i < k; i++) {
		assert_int_equal(got[i].len, want[i].iov_len);
		assert_memory_equal(got[i].data, want[i].iov_base, got[i].len);
		free(got[i].data);
	}
}

#define IOV(s) ((struct iovec){.iov_base = (void *)(s), .iov_len = sizeof(s) - 1})

static void test_journal_plain(void **state)
{
	char path[108], buf[4096];
	const struct iovec fields[] = {IOV("MESSAGE=API listening on /run/bodydiag/api.sock"),
				       IOV("PRIORITY=6"), IOV("SYSLOG_IDENTIFIER=bodydiagd"),
				       IOV("CODE_FILE=daemon/startup.c"), IOV("EMPTY=")};
	const char want[] = "MESSAGE=API listening on /run/bodydiag/api.sock\nPRIORITY=6\n"
			    "SYSLOG_IDENTIFIER=bodydiagd\nCODE_FILE=daemon/startup.c\nEMPTY=\n";
	struct ucred cred;
	int rx, passed;

	path_in_dir(path, sizeof(path), "journal");
	rx = receiver(path);
	assert_int_equal(sdproto_journal_sendv_to(path, fields, 5), 0);
	/* The plain form, byte for byte. */
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed), (ssize_t)sizeof(want) - 1);
	assert_memory_equal(buf, want, sizeof(want) - 1);
	assert_int_equal(passed, -1);
	assert_int_equal(cred.pid, getpid());
	close(rx);
}

static void test_journal_binary_safe(void **state)
{
	char path[108], buf[4096];
	/* A newline anywhere, a NUL, a value that looks like the binary form itself. */
	static const char nul_value[] = "BODYDIAG_RAW=a\0b\nc";
	const struct iovec fields[] = {
	    IOV("MESSAGE=/etc/bodydiag/bodydiag.conf:3:7: unknown key\n  trunk_delay = 5"),
	    IOV("PRIORITY=3"),
	    {.iov_base = (void *)nul_value, .iov_len = sizeof(nul_value) - 1},
	    IOV("TRAILING=ends with a newline\n"),
	    IOV("ONLY=\n"),
	    IOV("EQUALS=a=b\nc=d"),
	};
	struct ucred cred;
	ssize_t n;
	int rx, passed;

	path_in_dir(path, sizeof(path), "journal");
	rx = receiver(path);
	assert_int_equal(sdproto_journal_sendv_to(path, fields, 6), 0);
	n = receive(rx, buf, sizeof(buf), &cred, &passed);
	assert_true(n > 0);
	assert_int_equal(passed, -1);
	/* The first field in the binary form exactly. */
	assert_memory_equal(buf, "MESSAGE\n", 8);
	assert_int_equal((unsigned char)buf[8], fields[0].iov_len - 8);
	assert_memory_equal(buf + 9, "\0\0\0\0\0\0\0", 7);
	assert_fields(buf, (size_t)n, fields, 6);
	close(rx);
}

static void test_journal_memfd(void **state)
{
	char path[108];
	int probe, sndbuf = 0, rx, passed, seals;
	socklen_t l = sizeof(sndbuf);
	struct ucred cred;
	struct stat st;
	size_t big;
	char *value, *map, buf[64];
	struct iovec fields[3];

	/* Larger than any datagram a fresh socket may send (its send buffer). */
	probe = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(getsockopt(probe, SOL_SOCKET, SO_SNDBUF, &sndbuf, &l), 0);
	close(probe);
	big = (size_t)sndbuf * 2 + 12345;
	value = malloc(big);
	memcpy(value, "MESSAGE=", 8);
	for (size_t i = 8; i < big; i++)
		value[i] = (char)(i % 61 == 0 ? '\n' : 'a' + i % 26);
	fields[0] = (struct iovec){value, big};
	fields[1] = IOV("PRIORITY=4");
	fields[2] = IOV("BODYDIAG_BIG=yes");

	path_in_dir(path, sizeof(path), "journal");
	rx = receiver(path);
	assert_int_equal(sdproto_journal_sendv_to(path, fields, 3), 0);
	/* An empty datagram with exactly one fd: a sealed memfd holding the entry. */
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed), 0);
	assert_true(passed >= 0);
	assert_int_equal(cred.pid, getpid());
	seals = fcntl(passed, F_GET_SEALS);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
	assert_int_equal(fstat(passed, &st), 0);
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, passed, 0);
	assert_true(map != MAP_FAILED);
	assert_fields(map, (size_t)st.st_size, fields, 3);
	munmap(map, (size_t)st.st_size);
	close(passed);
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed), -EAGAIN);
	free(value);
	close(rx);
}

static void test_journal_errors(void **state)
{
	char path[108], buf[4096];
	const struct iovec ok = IOV("MESSAGE=x");
	const struct iovec bad[] = {
	    IOV("message=x"),
	    IOV("_PID=1"),
	    IOV("1ST=x"),
	    IOV("=x"),
	    IOV("NO_EQUALS"),
	    IOV("A-B=x"),
	    IOV("A B=x"),
	    IOV("A234567890123456789012345678901234567890123456789012345678901234"
		"5=65 characters")};
	const struct iovec longest =
	    IOV("A234567890123456789012345678901234567890123456789012345678901234=64");
	struct iovec many[SDPROTO_JOURNAL_MAX_FIELDS + 1];
	struct ucred cred;
	int rx, passed;

	path_in_dir(path, sizeof(path), "journal");
	rx = receiver(path);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const struct iovec two[] = {ok, bad[i]};

		assert_int_equal(sdproto_journal_sendv_to(path, two, 2), -EINVAL);
	}
	/* Nothing of a refused entry was sent. */
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed), -EAGAIN);
	assert_int_equal(sdproto_journal_sendv_to(path, &longest, 1), 0);
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed),
			 (ssize_t)longest.iov_len + 1);

	for (size_t i = 0; i < SDPROTO_JOURNAL_MAX_FIELDS + 1; i++)
		many[i] = ok;
	assert_int_equal(sdproto_journal_sendv_to(path, many, SDPROTO_JOURNAL_MAX_FIELDS + 1),
			 -E2BIG);
	assert_int_equal(sdproto_journal_sendv_to(path, many, SDPROTO_JOURNAL_MAX_FIELDS), 0);
	assert_int_equal(receive(rx, buf, sizeof(buf), &cred, &passed),
			 (ssize_t)(ok.iov_len + 1) * SDPROTO_JOURNAL_MAX_FIELDS);
	close(rx);

	/* No journald. */
	path_in_dir(path, sizeof(path), "no-journal");
	assert_int_equal(sdproto_journal_sendv_to(path, &ok, 1), -ENOENT);
	rx = receiver(path);
	close(rx);
	assert_int_equal(sdproto_journal_sendv_to(path, &ok, 1), -ECONNREFUSED);
	assert_int_equal(sdproto_journal_sendv_to(NULL, &ok, 1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_notify_path, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_abstract, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_unset, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_notify_unreachable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_fds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_listen_fds_garbage, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_watchdog, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_plain, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_binary_safe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_memfd, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_journal_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
