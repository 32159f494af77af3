/* SPDX-License-Identifier: MIT */
#include "log.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "sdproto.h"

#define MAX_FIELDS 16

static bool use_journal;
static int max_priority = LOG_INFO;
static const char *ident = "bodydiagd";

/*
 * JOURNAL_STREAM is "dev:ino" of the stream systemd connected; it is inherited by
 * children whose stderr goes elsewhere, so compare it with our own stderr.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
		return false;
	if (fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *identifier)
{
	if (identifier)
		ident = identifier;
	use_journal = stderr_is_journal();
}

void log_set_max_priority(int priority)
{
	max_priority = priority;
}

void log_full(int priority, int err, const char *const *fields, const char *fmt, ...)
{
	char msg[1024], prio[16], errno_field[24], msg_field[1040], ident_field[64];
	va_list ap;
	size_t nfields = 0;

	if (priority > max_priority)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err > 0) {
		size_t l = strlen(msg);
		snprintf(msg + l, sizeof(msg) - l, ": %s", strerror(err));
	}
	while (fields && fields[nfields] && nfields < MAX_FIELDS)
		nfields++;

	if (use_journal) {
		struct iovec iov[MAX_FIELDS + 4];
		size_t n = 0;

		snprintf(msg_field, sizeof(msg_field), "MESSAGE=%s", msg);
		snprintf(prio, sizeof(prio), "PRIORITY=%d", priority);
		snprintf(ident_field, sizeof(ident_field), "SYSLOG_IDENTIFIER=%s", ident);
		iov[n++] = (struct iovec){msg_field, strlen(msg_field)};
		iov[n++] = (struct iovec){prio, strlen(prio)};
		iov[n++] = (struct iovec){ident_field, strlen(ident_field)};
		if (err > 0) {
			snprintf(errno_field, sizeof(errno_field), "ERRNO=%d", err);
			iov[n++] = (struct iovec){errno_field, strlen(errno_field)};
		}
		for (size_t i = 0; i < nfields; i++)
			iov[n++] = (struct iovec){(void *)fields[i], strlen(fields[i])};
		/* A journal that cannot take the message is no reason to fail; fall back. */
		if (sdproto_journal_sendv(iov, n) >= 0)
			return;
	}
	/* The fields repeat what the message says, for queries: not for human eyes. */
	fprintf(stderr, "%s: %s\n", ident, msg);
}
