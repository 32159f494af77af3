/* SPDX-License-Identifier: MIT */
/*
 * Daemon logging: to journald with structured fields when stderr is connected to the
 * journal (JOURNAL_STREAM matches stderr, as systemd documents), to stderr otherwise.
 * The daemon logs once, where an error is handled (style rule 13).
 */
#pragma once

#include <syslog.h>

/* Decides the sink; call once at start. */
void log_init(const char *identifier);

/* Messages above this syslog priority (LOG_ERR .. LOG_DEBUG) are dropped. */
void log_set_max_priority(int priority);

/*
 * Logs one message. fields is NULL or a NULL-terminated array of "KEY=value" strings
 * added as journal fields (upper-case keys, as sd_journal_send wants them; at most 16)
 * and left out on stderr. err > 0 adds ERRNO= and ": strerror" to the message.
 */
void log_full(int priority, int err, const char *const *fields, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#define log_error(...) log_full(LOG_ERR, 0, NULL, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, 0, NULL, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, 0, NULL, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, 0, NULL, __VA_ARGS__)
#define log_debug(...) log_full(LOG_DEBUG, 0, NULL, __VA_ARGS__)
/* err is a positive errno value. */
#define log_error_errno(err, ...) log_full(LOG_ERR, (err), NULL, __VA_ARGS__)
#define log_warning_errno(err, ...) log_full(LOG_WARNING, (err), NULL, __VA_ARGS__)
