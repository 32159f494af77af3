/* SPDX-License-Identifier: MIT */
/* Start-up steps of bodydiagd (startup.c); each logs what failed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct api_server;

/* glibc's malloc set for a small long-lived daemon (startup.c says how); first thing in
 * main(), before any thread. */
void startup_tune_memory(void);

/* The file at path with the overrides; a missing file that was not named explicitly
 * means the built-in defaults. Returns 0 or -errno. */
int startup_load_config(const char *path, bool explicit_path, char *const *overrides,
			size_t n_overrides, struct config *ret_cfg);
/* The listening sockets systemd passed (socket activation) into fds: how many (0 when not
 * socket-activated), or -errno. Call before opening any fd of our own. */
int startup_listen_fds(int *fds, size_t max);
/* Hands the n sockets of fds to api (taking them), or listens on path when n is 0; a
 * missing folder is explained with the command that makes it for group. */
int startup_listen_api(struct api_server *api, const char *path, const char *group, int *fds,
		       int n);

/* --check-config beyond the syntax: the vehicle data loads (DBC, profile, rule files or
 * directory: errors logged with file:line:column) and the interface, when it exists, is
 * a CAN interface. Returns 0 or -errno (logged). */
int startup_check_data(const struct config *cfg);
