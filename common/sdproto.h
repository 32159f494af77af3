/* SPDX-License-Identifier: MIT */
/*
 * The client side of systemd's documented service protocols, without libsystemd:
 * readiness and status (sd_notify(3): $NOTIFY_SOCKET), socket activation (sd_listen_fds(3):
 * $LISTEN_PID, $LISTEN_FDS, $LISTEN_FDNAMES), the watchdog (sd_watchdog_enabled(3):
 * $WATCHDOG_USEC, $WATCHDOG_PID) and structured logging (systemd's "Native Journal
 * Protocol": datagrams to /run/systemd/journal/socket, a sealed memfd when too big).
 *
 * Every function returns >= 0 on success and -errno on failure; none allocates on the heap
 * or keeps state, except the journal's socket, opened once and kept (CLOEXEC).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* The first fd passed by socket activation; the n fds are SDPROTO_LISTEN_FDS_START..+n-1. */
#define SDPROTO_LISTEN_FDS_START 3

/* journald's socket for the native protocol. */
#define SDPROTO_JOURNAL_SOCKET "/run/systemd/journal/socket"

/* The most fields one journal entry may have here (each takes five iovecs to send). */
#define SDPROTO_JOURNAL_MAX_FIELDS 64

/*
 * Sends state ("READY=1", "STATUS=...", "WATCHDOG=1", several separated by newlines) as one
 * datagram to $NOTIFY_SOCKET: a path, or a Linux abstract socket name when it starts with
 * '@'. The kernel attaches our credentials (systemd's notify socket has SO_PASSCRED).
 * Returns 0 when $NOTIFY_SOCKET is unset or empty (not started by systemd as a notify
 * service), 1 when sent, -EINVAL for a NULL state or an address too long for sockaddr_un,
 * -EAFNOSUPPORT for an address that is neither a path nor '@' (vsock: not supported),
 * else the -errno of socket() or sendmsg() (-ENOENT, -ECONNREFUSED: nobody listens).
 */
int sdproto_notify(const char *state);

/* sdproto_notify() of a printf-formatted state (at most 4 KiB; longer: -ENOBUFS). */
int sdproto_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * The number of fds passed by socket activation: 0 when $LISTEN_PID is unset or names
 * another process (the variables were inherited) or $LISTEN_FDS is unset; n > 0 when
 * fds SDPROTO_LISTEN_FDS_START.. are ours, each then set FD_CLOEXEC (their O_NONBLOCK is the
 * caller's: the .socket unit decides it). -EINVAL when a variable is not a plain decimal
 * number in range, or -errno of fcntl() (-EBADF: an fd that is not open). With
 * unset_environment, $LISTEN_PID, $LISTEN_FDS and $LISTEN_FDNAMES are removed before
 * returning, whatever the result, so that children do not see them.
 */
int sdproto_listen_fds(bool unset_environment);

/*
 * Whether systemd expects WATCHDOG=1 from us: 1 and *ret_usec the interval (send more often,
 * e.g. every half) when $WATCHDOG_USEC is set and $WATCHDOG_PID is unset or ours; 0 when
 * $WATCHDOG_USEC is unset or $WATCHDOG_PID names another process; -EINVAL when either is
 * not a plain decimal number or the interval is 0. *ret_usec is written only when 1.
 */
int sdproto_watchdog_usec(uint64_t *ret_usec);

/*
 * One journal entry of n fields, each iov[i] "FIELD=value" (value any bytes: a value with a
 * newline is sent in the protocol's binary-safe form). FIELD: 1-64 characters of A-Z, 0-9
 * and '_', not starting with a digit or '_' (journald keeps '_' fields for what it adds).
 * Sent from a non-blocking socket: journald busy means -EAGAIN, never a stalled caller. An
 * entry too big for one datagram goes in a sealed memfd. Returns 0 when sent; -EINVAL for
 * a malformed field, -E2BIG beyond SDPROTO_JOURNAL_MAX_FIELDS, else the -errno of the
 * socket calls (-ENOENT, -ECONNREFUSED: no journald).
 */
int sdproto_journal_sendv(const struct iovec *iov, size_t n);

/*
 * sdproto_journal_sendv() to another socket path, from a socket of its own opened and
 * closed in the call: for tests, which cannot bind journald's path. A parameter rather
 * than an environment variable so that nothing in the environment of a production process
 * can send its log elsewhere.
 */
int sdproto_journal_sendv_to(const char *path, const struct iovec *iov, size_t n);
