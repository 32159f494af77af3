/* SPDX-License-Identifier: MIT */
/*
 * The start-up steps of bodydiagd that are not modules: the configuration as the daemon
 * loads it (file, --set overrides, built-in defaults when the default file is missing,
 * errors to the journal with file, line and column fields) and the API's listening
 * sockets (systemd's socket activation, or the configured path).
 */
#include "startup.h"

#include <errno.h>
#include <malloc.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "api.h"
#include "bus.h"
#include "log.h"
#include "macro.h"
#include "sdproto.h"
#include "vehicle.h"

/*
 * Issue 19 (the daemon fits a Pi Zero; bench/memory-bench.sh measures it):
 * - one arena: the history's checkpointer thread would otherwise get one of its own (64
 *   MiB of address space reserved, and what it once touched kept);
 * - fixed thresholds instead of glibc's dynamic ones: a block of 64 KiB or more (an API
 *   reply of history rows, a client's output buffer) is mapped and unmapped on its own,
 *   where the dynamic threshold would rise after the first such free and keep the next
 *   ones in the heap, and free memory above 128 KiB at the top of the heap goes back to
 *   the kernel.
 * - no transparent huge pages: with THP "always" (Debian's kernels, the Pi's included)
 *   the first touch of a large allocation (a big reply, the timeline's 320 KB ring) maps
 *   a whole 2 MiB page, so the daemon's resident memory jumps by 2 MiB or not, depending
 *   on where the mapping falls; a daemon this size gains nothing from them.
 * mallopt() fails only on unknown parameters (another libc), prctl() on kernels before
 * 3.15: then the defaults stay.
 */
void startup_tune_memory(void)
{
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 64 * 1024);
	mallopt(M_TRIM_THRESHOLD, 128 * 1024);
}

/* The file and the --set overrides (the broker options are --set uds.*); a missing
 * default file means built-in defaults. Logs what failed, with file:line:column. */
int startup_load_config(const char *path, bool explicit_path, char *const *overrides,
			size_t n_overrides, struct config *ret_cfg)
{
	struct config_error err = {0};
	int r = config_load(path, overrides, n_overrides, ret_cfg, &err);

	if (r == -ENOENT && !explicit_path) {
		log_notice("%s not found, using built-in defaults", path);
		config_init_defaults(ret_cfg);
		for (size_t i = 0; i < n_overrides; i++) {
			r = config_apply_override(ret_cfg, overrides[i], &err);
			if (r < 0) {
				log_error("--set %s: column %u: %s", overrides[i], err.column,
					  err.message);
				return r;
			}
		}
		return 0;
	}
	if (r < 0 && err.line > 0) {
		char file[CONFIG_MAX_STRING + 16], line[32], column[32];
		const char *const fields[] = {file, line, column, NULL};

		snprintf(file, sizeof(file), "CONFIG_FILE=%s", path);
		snprintf(line, sizeof(line), "CONFIG_LINE=%u", err.line);
		snprintf(column, sizeof(column), "BODYDIAG_CONFIG_COLUMN=%u", err.column);
		log_full(LOG_ERR, 0, fields, "%s:%u:%u: %s", path, err.line, err.column,
			 err.message);
	} else if (r < 0) {
		log_error("%s: %s", path, err.message);
	}
	return r;
}

/* Whether fd is a listening AF_UNIX stream socket (what bodydiagd.socket passes). */
static bool is_unix_stream_listener(int fd)
{
	int domain, type, listening;
	socklen_t l1 = sizeof(domain), l2 = sizeof(type), l3 = sizeof(listening);

	return getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &l1) == 0 && domain == AF_UNIX &&
	       getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &l2) == 0 && type == SOCK_STREAM &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &l3) == 0 && listening;
}

/* The listening sockets of socket activation (bodydiagd.socket): how many were stored
 * in fds (0 when not socket-activated), or -errno after logging why. */
int startup_listen_fds(int *fds, size_t max)
{
	int n = sdproto_listen_fds(true);

	if (n < 0) {
		log_error_errno(-n, "cannot take the sockets systemd passed (LISTEN_FDS=)");
		return n;
	}
	if ((size_t)n > max) {
		log_error("cannot take the %d sockets systemd passed (at most %zu)", n, max);
		return -E2BIG;
	}
	for (int i = 0; i < n; i++) {
		int fd = SDPROTO_LISTEN_FDS_START + i;

		if (!is_unix_stream_listener(fd)) {
			log_error("fd %d from systemd is not a listening Unix stream socket", fd);
			return -ENOTSOCK;
		}
		fds[i] = fd;
	}
	return n;
}

int startup_listen_api(struct api_server *api, const char *path, const char *group, int *fds,
		       int n)
{
	int r = 0;

	for (int i = 0; i < n && r >= 0; i++)
		r = api_server_listen_fd(api, steal_fd(fds[i]));
	if (n == 0)
		r = api_server_listen_path(api, path);
	if (r == -ENOENT && n == 0) {
		/* A fresh host: only the service (RuntimeDirectory=) and tmpfiles make it. */
		const char *slash = strrchr(path, '/');
		int len = slash ? (int)(slash - path) : 0;

		log_error("cannot listen on %s: the folder %.*s does not exist. Start the service "
			  "(systemctl start bodydiagd), which creates it, or create it first: "
			  "install -d -m 0750 -g %s %.*s", path, len, path, group, len, path);
	} else if (r < 0)
		log_error_errno(-r, "cannot listen on %s", n ? "the sockets systemd passed"
							      : path);
	else
		log_info("API listening on %s", n ? "the socket-activated socket(s)"
						  : path);
	return r;
}


int startup_check_data(const struct config *cfg)
{
	struct vehicle *v;
	char why[256];
	int r = bus_check_interface(cfg->can.interface, why, sizeof(why));

	if (r == -EMEDIUMTYPE)
		log_error("%s", why);
	else if (r == 0)
		log_notice("%s does not exist now (an adapter plugged in later is picked up)",
			   cfg->can.interface);
	r = r == -EMEDIUMTYPE ? r : 0;
	/* vehicle_load logs each failure with its position */
	if (vehicle_load(cfg, &v) < 0)
		return -EINVAL;
	vehicle_unref(v);
	return r;
}
