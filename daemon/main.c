/* SPDX-License-Identifier: MIT */
/*
 * bodydiagd: loads the configuration, serves the Unix socket API, tells systemd it is
 * ready and alive. Listen-only: nothing in this file transmits on a CAN bus.
 * The bus, UDS broker and the other API methods plug into the same loop (issue 6).
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>

#include "api.h"
#include "config.h"
#include "daemon-build.h"
#include "log.h"
#include "macro.h"

#define MAX_OVERRIDES 64

struct daemon {
	struct ev_loop *loop;
	ev_signal sigterm, sigint, sighup;
	ev_timer watchdog;
	struct config cfg;
	struct api_server *api;
	const char *config_path;
	bool config_explicit; /* -c given: a missing file is an error, not "use defaults" */
	char *overrides[MAX_OVERRIDES];
	size_t n_overrides;
};

static int syslog_priority(enum config_log_level level)
{
	switch (level) {
	case CONFIG_LOG_LEVEL_ERR:
		return LOG_ERR;
	case CONFIG_LOG_LEVEL_WARNING:
		return LOG_WARNING;
	case CONFIG_LOG_LEVEL_NOTICE:
		return LOG_NOTICE;
	case CONFIG_LOG_LEVEL_INFO:
		return LOG_INFO;
	case CONFIG_LOG_LEVEL_DEBUG:
		return LOG_DEBUG;
	case CONFIG_LOG_LEVEL_MAX:
		break;
	}
	return LOG_INFO;
}

static void limits_from_config(const struct config *cfg, struct api_limits *ret)
{
	api_limits_default(ret);
	ret->max_clients = cfg->api.max_clients;
	ret->rate_limit = cfg->api.rate_limit;
}

/* Loads file + overrides; a missing default file means built-in defaults. */
static int load_config(struct daemon *d, struct config *ret_cfg)
{
	struct config_error err;
	int r;

	r = config_load(d->config_path, d->overrides, d->n_overrides, ret_cfg, &err);
	if (r == -ENOENT && !d->config_explicit) {
		struct config cfg;

		config_init_defaults(&cfg);
		for (size_t i = 0; i < d->n_overrides; i++) {
			if (config_apply_override(&cfg, d->overrides[i], &err) < 0) {
				log_error("--set %s: column %u: %s", d->overrides[i], err.column,
					  err.message);
				return -EINVAL;
			}
		}
		log_notice("%s not found, using built-in defaults", d->config_path);
		*ret_cfg = cfg;
		return 0;
	}
	if (r < 0) {
		if (err.line > 0) {
			char file[CONFIG_MAX_STRING + 16], line[32], column[32];
			const char *const fields[] = {file, line, column, NULL};

			snprintf(file, sizeof(file), "CONFIG_FILE=%s", d->config_path);
			snprintf(line, sizeof(line), "CONFIG_LINE=%u", err.line);
			snprintf(column, sizeof(column), "BODYDIAG_CONFIG_COLUMN=%u", err.column);
			log_full(LOG_ERR, 0, fields, "%s:%u:%u: %s", d->config_path, err.line,
				 err.column, err.message);
		} else
			log_error("%s: %s", d->config_path, err.message);
		return r;
	}
	return 0;
}

static void on_terminate(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping", w->signum);
	sd_notify(0, "STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = container_of(w, struct daemon, sighup);
	struct config cfg;
	struct api_limits limits;
	struct api_groups groups;
	int r;

	sd_notify(0, "RELOADING=1");
	if (load_config(d, &cfg) < 0) {
		log_error("reload failed, keeping the previous configuration");
		sd_notify(0, "READY=1\nSTATUS=Reload failed, previous configuration kept");
		return;
	}
	r = api_groups_resolve(cfg.api.admin_group, cfg.api.read_group, &groups);
	if (r < 0) {
		log_error_errno(-r, "reload: cannot resolve API groups, keeping the previous "
				    "configuration");
		sd_notify(0, "READY=1\nSTATUS=Reload failed, previous configuration kept");
		return;
	}
	if (strcmp(cfg.api.socket, d->cfg.api.socket) != 0)
		log_warning("reload: api.socket changed; takes effect at restart");
	if (strcmp(cfg.can.interface, d->cfg.can.interface) != 0)
		log_warning("reload: can.interface changed; takes effect at restart");
	limits_from_config(&cfg, &limits);
	api_server_set_limits(d->api, &limits);
	api_server_set_groups(d->api, &groups);
	log_set_max_priority(syslog_priority(cfg.log.level));
	d->cfg = cfg;
	log_info("configuration reloaded");
	sd_notify(0, "READY=1\nSTATUS=Configuration reloaded; API ready (listen-only)");
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Fed from the loop itself, so a stuck loop stops feeding and systemd restarts us. */
	sd_notify(0, "WATCHDOG=1");
}

/*
 * The listening sockets of socket activation (bodydiagd.socket). Returns how many were
 * stored in fds (0 when not socket-activated) or -errno after logging why.
 */
static int collect_listen_fds(int *fds, size_t max)
{
	int n = sd_listen_fds(1);

	if (n < 0) {
		log_error_errno(-n, "cannot read the sockets systemd passed");
		return n;
	}
	if ((size_t)n > max) {
		log_error("systemd passed %d sockets, at most %zu expected", n, max);
		return -E2BIG;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;
		int r = sd_is_socket_unix(fd, SOCK_STREAM, 1, NULL, 0);

		if (r <= 0) {
			log_error("fd %d from systemd is not a listening Unix stream socket%s%s", fd,
				  r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
			return r < 0 ? r : -ENOTSOCK;
		}
		fds[i] = fd;
	}
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiagd [OPTIONS]\n"
		"  -c, --config PATH        configuration file (default %s)\n"
		"  -s, --set SECTION.KEY=VALUE\n"
		"                           override one setting (repeatable)\n"
		"      --check-config       parse the configuration, print it, exit\n"
		"  -h, --help               this text\n"
		"  -V, --version            print the version\n",
		CONFIG_DEFAULT_PATH);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"set", required_argument, NULL, 's'},
		{"check-config", no_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{0},
	};
	struct daemon d = {.config_path = CONFIG_DEFAULT_PATH};
	struct api_limits limits;
	struct api_groups groups;
	bool check_only = false;
	uint64_t watchdog_usec = 0;
	int listen_fds[4] = {-1, -1, -1, -1};
	int opt, r, n_listen = 0, exit_status = EXIT_FAILURE;

	while ((opt = getopt_long(argc, argv, "c:s:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			d.config_path = optarg;
			d.config_explicit = true;
			break;
		case 's':
			if (d.n_overrides == MAX_OVERRIDES) {
				fprintf(stderr, "at most %d --set options\n", MAX_OVERRIDES);
				return EXIT_FAILURE;
			}
			d.overrides[d.n_overrides++] = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("bodydiagd %s (API %d)\n", BODYDIAG_VERSION, API_VERSION);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return EXIT_FAILURE;
	}

	log_init("bodydiagd");
	/*
	 * Take the sockets systemd passed before opening any fd of our own: if LISTEN_FDS
	 * lied about fd 3, the event loop's epoll fd must not be mistaken for it.
	 */
	n_listen = collect_listen_fds(listen_fds, ARRAY_SIZE(listen_fds));
	if (n_listen < 0)
		goto fail_listen_fds;
	if (load_config(&d, &d.cfg) < 0)
		goto fail_config;
	log_set_max_priority(syslog_priority(d.cfg.log.level));
	if (check_only) {
		char buf[16384];
		if (config_format(&d.cfg, buf, sizeof(buf)) < 0)
			goto fail_config;
		fputs(buf, stdout);
		return EXIT_SUCCESS;
	}
	r = api_groups_resolve(d.cfg.api.admin_group, d.cfg.api.read_group, &groups);
	if (r < 0) {
		log_error_errno(-r, "cannot resolve the API groups");
		goto fail_groups;
	}
	if (!groups.have_admin)
		log_notice("group %s does not exist: only root is API admin",
			   d.cfg.api.admin_group);

	/* SIGPIPE would kill us when a client goes away mid-write; we use MSG_NOSIGNAL too. */
	signal(SIGPIPE, SIG_IGN);
	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop) {
		log_error("cannot create the event loop");
		goto fail_loop;
	}
	ev_signal_init(&d.sigterm, on_terminate, SIGTERM);
	ev_signal_init(&d.sigint, on_terminate, SIGINT);
	ev_signal_init(&d.sighup, on_sighup, SIGHUP);
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_start(d.loop, &d.sigint);
	ev_signal_start(d.loop, &d.sighup);

	limits_from_config(&d.cfg, &limits);
	r = api_server_new(d.loop, &limits, &groups, &d.api);
	if (r < 0) {
		log_error_errno(-r, "cannot create the API server");
		goto fail_api;
	}
	for (int i = 0; i < n_listen; i++) {
		r = api_server_listen_fd(d.api, steal_fd(listen_fds[i]));
		if (r < 0) {
			log_error_errno(-r, "cannot listen on the socket systemd passed");
			goto fail_listen;
		}
	}
	if (n_listen == 0) {
		r = api_server_listen_path(d.api, d.cfg.api.socket);
		if (r < 0) {
			log_error_errno(-r, "cannot listen on %s", d.cfg.api.socket);
			goto fail_listen;
		}
		log_info("API listening on %s", d.cfg.api.socket);
	} else {
		log_info("API listening on %d socket-activated socket(s)", n_listen);
	}

	r = sd_watchdog_enabled(0, &watchdog_usec);
	if (r < 0)
		log_warning_errno(-r, "cannot read the watchdog settings, not feeding it");
	if (r > 0) {
		ev_timer_init(&d.watchdog, on_watchdog, 0, watchdog_usec / 2 / 1e6);
		ev_timer_start(d.loop, &d.watchdog);
	}

	sd_notifyf(0, "READY=1\nSTATUS=API ready (listen-only), interface %s not attached yet",
		   d.cfg.can.interface);
	log_info("bodydiagd %s ready", BODYDIAG_VERSION);
	ev_run(d.loop, 0);
	exit_status = EXIT_SUCCESS;

	if (ev_is_active(&d.watchdog))
		ev_timer_stop(d.loop, &d.watchdog);
fail_listen:
	d.api = api_server_free(d.api);
fail_api:
	ev_signal_stop(d.loop, &d.sigterm);
	ev_signal_stop(d.loop, &d.sigint);
	ev_signal_stop(d.loop, &d.sighup);
	ev_loop_destroy(d.loop);
fail_loop:
fail_groups:
fail_config:
	for (size_t i = 0; i < ARRAY_SIZE(listen_fds); i++)
		closep(&listen_fds[i]);
fail_listen_fds:
	return exit_status;
}
