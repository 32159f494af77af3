/* SPDX-License-Identifier: MIT */
/*
 * bodydiagd: loads the configuration and the vehicle data, starts the modules of
 * core.c, serves the Unix socket API, tells systemd it is ready and alive, reloads on
 * SIGHUP (keeping the old configuration and data when the new ones fail to load).
 * Nothing in this file transmits on a CAN bus: the transmit policy (policy.c) decides.
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api.h"
#include "config.h"
#include "core.h"
#include "daemon-build.h"
#include "identity.h"
#include "log.h"
#include "macro.h"
#include "sdproto.h"
#include "startup.h"
#include "vehicle.h"

#define MAX_OVERRIDES 64

struct daemon {
	struct core core;
	ev_signal sigterm, sigint, sighup;
	ev_timer watchdog;
	const char *config_path;
	bool config_explicit; /* -c given: a missing file is an error, not "use defaults" */
	char *overrides[MAX_OVERRIDES];
	size_t n_overrides;
};

static int syslog_priority(enum config_log_level level)
{
	static const int prio[CONFIG_LOG_LEVEL_MAX] = {
		[CONFIG_LOG_LEVEL_ERR] = LOG_ERR,	[CONFIG_LOG_LEVEL_WARNING] = LOG_WARNING,
		[CONFIG_LOG_LEVEL_NOTICE] = LOG_NOTICE, [CONFIG_LOG_LEVEL_INFO] = LOG_INFO,
		[CONFIG_LOG_LEVEL_DEBUG] = LOG_DEBUG,
	};
	return (unsigned)level < CONFIG_LOG_LEVEL_MAX ? prio[level] : LOG_INFO;
}

static void api_settings(const struct config *cfg, struct api_limits *ret)
{
	api_limits_default(ret);
	ret->max_clients = cfg->api.max_clients;
	ret->rate_limit = cfg->api.rate_limit;
}

static void on_terminate(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping", w->signum);
	sdproto_notify("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_sighup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct daemon *d = container_of(w, struct daemon, sighup);
	struct config cfg;
	struct api_limits limits;
	struct api_groups groups;
	struct vehicle *v;

	sdproto_notify("RELOADING=1");
	if (startup_load_config(d->config_path, d->config_explicit, d->overrides,
				d->n_overrides, &cfg) < 0 ||
	    api_groups_resolve(cfg.api.admin_group, cfg.api.read_group, &groups) < 0 ||
	    vehicle_load_profile(&cfg, identity_profile(d->core.identity), &v) < 0) {
		log_error("reload failed, keeping the previous configuration and vehicle data");
		sdproto_notify("READY=1\nSTATUS=Reload failed, previous configuration kept");
		return;
	}
	if (strcmp(cfg.api.socket, d->core.cfg.api.socket) != 0)
		log_warning("reload: api.socket changed; takes effect at restart");
	if (strcmp(cfg.can.interface, d->core.cfg.can.interface) != 0) {
		log_warning("reload: can.interface changed; takes effect at restart");
		memcpy(cfg.can.interface, d->core.cfg.can.interface, sizeof(cfg.can.interface));
	}
	core_set_vehicle(&d->core, &cfg, v);
	vehicle_unref(v);
	api_settings(&cfg, &limits);
	api_server_set_limits(d->core.api, &limits);
	api_server_set_groups(d->core.api, &groups);
	log_set_max_priority(syslog_priority(cfg.log.level));
	log_info("configuration reloaded");
	sdproto_notify("READY=1\nSTATUS=Configuration reloaded; API ready");
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	/* Fed from the loop itself, so a stuck loop stops feeding and systemd restarts us. */
	sdproto_notify("WATCHDOG=1");
}

static const char usage_text[] =
	"Usage: bodydiagd [OPTIONS]\n"
	"  -c, --config PATH        configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	"  -s, --set SECTION.KEY=VALUE\n"
	"                           override one setting (repeatable)\n"
	"      --check-config       check the configuration and the files it names (DBC,\n"
	"                           profile, rules), print the configuration, exit\n"
	"      --p2-cap MS          longest server P2 honoured (--set uds.p2_cap=MSms)\n"
	"      --p2star-cap MS      longest server P2* honoured (--set uds.p2star_cap=MSms)\n"
	"      --max-pending N      0x78 responses accepted per request (uds.max_pending)\n"
	"      --max-busy N         0x21 resends per request (uds.max_busy)\n"
	"      --uds-rate N         UDS requests per second over all ECUs (uds.rate_limit)\n"
	"  -h, --help               this text\n"
	"  -V, --version            print the version\n";

/* Command-line options; returns -1 to go on, else the exit status. */
static int parse_options(struct daemon *d, int argc, char **argv, bool *check_only)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},  {"set", required_argument, NULL, 's'},
		{"check-config", no_argument, NULL, 'C'},  {"p2-cap", required_argument, NULL, 'P'},
		{"p2star-cap", required_argument, NULL, 'S'}, {"max-pending", required_argument, NULL, 'M'},
		{"max-busy", required_argument, NULL, 'B'}, {"uds-rate", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},	   {"version", no_argument, NULL, 'V'},
		{0},
	};
	/* The broker tuning options are shorthands for --set uds.KEY (kept in argv order). */
	static char synth[MAX_OVERRIDES][64];
	const char *key;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:s:hV", options, NULL)) != -1) {
		key = opt == 'P' ? "p2_cap" : opt == 'S' ? "p2star_cap" : opt == 'M' ? "max_pending"
		    : opt == 'B' ? "max_busy" : opt == 'R' ? "rate_limit" : NULL;
		if ((opt == 's' || key) && d->n_overrides == MAX_OVERRIDES) {
			fprintf(stderr, "at most %d --set options\n", MAX_OVERRIDES);
			return EXIT_FAILURE;
		}
		if (key) {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);
			if (end == optarg || *end || v > 600000) {
				fprintf(stderr, "invalid number '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			snprintf(synth[d->n_overrides], sizeof(synth[0]), "uds.%s=%lu%s", key, v,
				 opt == 'P' || opt == 'S' ? "ms" : "");
			d->overrides[d->n_overrides] = synth[d->n_overrides];
			d->n_overrides++;
		} else if (opt == 'c') {
			d->config_path = optarg;
			d->config_explicit = true;
		} else if (opt == 's') {
			d->overrides[d->n_overrides++] = optarg;
		} else if (opt == 'C') {
			*check_only = true;
		} else if (opt == 'h' || opt == 'V') {
			if (opt == 'h')
				fputs(usage_text, stdout);
			else
				printf("bodydiagd %s (API %d)\n", BODYDIAG_VERSION, API_VERSION);
			return EXIT_SUCCESS;
		} else {
			fputs(usage_text, stderr);
			return EXIT_FAILURE;
		}
	}
	if (optind < argc) {
		fputs(usage_text, stderr);
		return EXIT_FAILURE;
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct daemon d = {.config_path = CONFIG_DEFAULT_PATH};
	struct core *c = &d.core;
	struct api_limits limits;
	struct api_groups groups;
	struct vehicle *v;
	bool check_only = false;
	uint64_t watchdog_usec = 0;
	int listen_fds[4] = {-1, -1, -1, -1};
	int r, n_listen, exit_status = EXIT_FAILURE;
	char buf[16384];

	startup_tune_memory();
	r = parse_options(&d, argc, argv, &check_only);
	if (r >= 0)
		return r;
	log_init("bodydiagd");
	n_listen = startup_listen_fds(listen_fds, ARRAY_SIZE(listen_fds));
	if (n_listen < 0 || startup_load_config(d.config_path, d.config_explicit, d.overrides,
						       d.n_overrides, &c->cfg) < 0)
		goto fail_config;
	log_set_max_priority(syslog_priority(c->cfg.log.level));
	if (check_only) {
		r = config_format(&c->cfg, buf, sizeof(buf));
		fputs(r < 0 ? "" : buf, stdout);
		fflush(stdout);
		return r < 0 || startup_check_data(&c->cfg) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
	}
	r = api_groups_resolve(c->cfg.api.admin_group, c->cfg.api.read_group, &groups);
	if (r < 0) {
		log_error_errno(-r, "cannot resolve the API groups");
		goto fail_config;
	}
	if (!groups.have_admin)
		log_notice("group %s does not exist: only root is API admin", c->cfg.api.admin_group);
	/* SIGPIPE would kill us when a client goes away mid-write; we use MSG_NOSIGNAL too. */
	signal(SIGPIPE, SIG_IGN);
	c->loop = ev_default_loop(EVFLAG_AUTO);
	if (!c->loop)
		goto fail_config;
	clock_ev_init(&c->clock, c->loop);
	ev_signal_init(&d.sigterm, on_terminate, SIGTERM);
	ev_signal_init(&d.sigint, on_terminate, SIGINT);
	ev_signal_init(&d.sighup, on_sighup, SIGHUP);
	ev_signal_start(c->loop, &d.sigterm);
	ev_signal_start(c->loop, &d.sigint);
	ev_signal_start(c->loop, &d.sighup);
	api_settings(&c->cfg, &limits);
	r = api_server_new(c->loop, &limits, &groups, &c->api);
	if (r < 0 || startup_listen_api(c->api, c->cfg.api.socket, c->cfg.api.read_group, listen_fds,
				       n_listen) < 0)
		goto fail_api;
	if (vehicle_load(&c->cfg, &v) < 0)
		goto fail_api;
	r = core_new(c, v);
	vehicle_unref(v);
	if (r < 0)
		goto fail_api;
	r = sdproto_watchdog_usec(&watchdog_usec);
	if (r < 0)
		log_warning_errno(-r, "cannot read the watchdog settings, not feeding it");
	if (r > 0) {
		ev_timer_init(&d.watchdog, on_watchdog, 0, watchdog_usec / 2 / 1e6);
		ev_timer_start(c->loop, &d.watchdog);
	}
	sdproto_notifyf("READY=1\nSTATUS=API ready (%s), interface %s",
			config_never_transmit(&c->cfg) ? "listen-only"
			: c->cfg.scan.enabled	       ? "background scans"
						       : "transmits only for clients",
			c->cfg.can.interface);
	log_info("bodydiagd %s ready", BODYDIAG_VERSION);
	ev_run(c->loop, 0);
	exit_status = EXIT_SUCCESS;
	ev_timer_stop(c->loop, &d.watchdog);
	core_free(c);
fail_api:
	c->api = api_server_free(c->api);
	if (c->loop)
		ev_loop_destroy(c->loop);
fail_config:
	for (size_t i = 0; i < ARRAY_SIZE(listen_fds); i++)
		closep(&listen_fds[i]);
	return exit_status;
}
