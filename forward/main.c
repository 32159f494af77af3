/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-forward: publishes the history's outbox to the fleet's MQTT broker in the wire
 * format v1 (docs/fleet.md) and deletes what the fleet's receipts cover. A service of its
 * own (bodydiag-forward.service) so that the CAN-facing daemon keeps no network at all:
 * this one has IP and no CAN, the daemon CAN and no IP. Both read bodydiag.conf ([history]
 * path, [mqtt]) and meet in the history database; the daemon learns the link's state from
 * the state file this process writes ([mqtt] state_file).
 */
#include <errno.h>
#include <ev.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credentials.h"
#include "daemon/daemon-build.h"
#include "daemon/config.h"
#include "daemon/history_outbox.h"
#include "daemon/log.h"
#include "daemon/macro.h"
#include "daemon/startup.h"
#include "publisher.h"
#include "sdproto.h"
#include "wire.h"

#define MAX_OVERRIDES 64
#define EXIT_CONFIG 2 /* RestartPreventExitStatus=2: a restart cannot fix the file */

struct forward {
	const char *config_path;
	bool config_explicit;
	char *overrides[MAX_OVERRIDES];
	size_t n_overrides;
	struct config cfg;
	char unit[FLEET_MAX_UNIT + 1];
	char client_id[sizeof(((struct config *)0)->mqtt.client_id)];
	char *user, *password;
	struct ev_loop *loop;
	ev_signal sigterm, sigint;
	ev_timer watchdog;
	struct publisher *pub;
};

static const char usage_text[] =
	"Usage: bodydiag-forward [OPTIONS]\n"
	"Publishes the records bodydiagd queues in its history to the fleet's MQTT broker\n"
	"(docs/fleet.md); [history] and [mqtt] of the configuration say where and how.\n"
	"  -c, --config PATH        configuration file (default " CONFIG_DEFAULT_PATH ")\n"
	"  -s, --set SECTION.KEY=VALUE\n"
	"                           override one setting (repeatable)\n"
	"      --check-config       check the configuration (unit id, TLS files, credentials),\n"
	"                           print what would be used, exit\n"
	"  -h, --help               this text\n"
	"  -V, --version            print the version\n"
	"Exit status: 0 stopped cleanly, 1 failure, 2 configuration error.\n";

static int parse_options(struct forward *f, int argc, char **argv, bool *check_only)
{
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'}, {"set", required_argument, NULL, 's'},
		{"check-config", no_argument, NULL, 'C'}, {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},	  {0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "c:s:hV", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			f->config_path = optarg;
			f->config_explicit = true;
			break;
		case 's':
			if (f->n_overrides == MAX_OVERRIDES) {
				fprintf(stderr, "at most %d --set options\n", MAX_OVERRIDES);
				return EXIT_CONFIG;
			}
			f->overrides[f->n_overrides++] = optarg;
			break;
		case 'C':
			*check_only = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("bodydiag-forward %s (fleet wire format v%d)\n", BODYDIAG_VERSION,
			       FLEET_WIRE_VERSION);
			return EXIT_SUCCESS;
		default:
			fputs(usage_text, stderr);
			return EXIT_CONFIG;
		}
	}
	if (optind < argc) {
		fputs(usage_text, stderr);
		return EXIT_CONFIG;
	}
	return -1;
}

/* The unit id: [fleet] unit_id, else the machine id (/etc/machine-id), unique per logger;
 * the same id the daemon shows in status (config_unit_id). */
static int resolve_unit(struct forward *f)
{
	int r = config_unit_id(&f->cfg, NULL, f->unit, sizeof(f->unit));

	if (r < 0) {
		log_error_errno(-r, "mqtt: no [fleet] unit_id and no machine id to use instead");
		return r;
	}
	/* one session per unit: a broker drops the older of two sessions with one id */
	config_mqtt_client_id(&f->cfg, NULL, f->client_id, sizeof(f->client_id));
	if (!fleet_unit_valid(f->unit, strlen(f->unit))) {
		log_error("mqtt: unit '%s' is not a fleet unit id (a letter or digit, then up to 63 "
			  "of letters, digits, '_', '.', '-')",
			  f->unit);
		return -EINVAL;
	}
	return 0;
}

/* Everything a start needs from the configuration, checked; logs what is wrong. */
static int check_config(struct forward *f)
{
	const struct config *c = &f->cfg;
	const char *files[] = {c->mqtt.ca_file, c->mqtt.cert_file, c->mqtt.key_file};
	char err[320];
	int r;

	if (!c->mqtt.enabled) {
		log_error("[mqtt] enabled is off in %s: bodydiagd queues nothing to forward "
			  "(set enabled = yes in [mqtt] for both)",
			  f->config_path);
		return -EINVAL;
	}
	if (!c->history.path[0]) {
		log_error("[history] path is empty: the outbox lives in the history database");
		return -EINVAL;
	}
	if (!c->mqtt.cert_file[0] != !c->mqtt.key_file[0]) {
		log_error("[mqtt] cert_file and key_file go together (a client certificate)");
		return -EINVAL;
	}
	if ((c->mqtt.ca_file[0] || c->mqtt.cert_file[0]) && !c->mqtt.tls)
		log_warning("[mqtt] ca_file/cert_file are set but tls is off: they are not used");
	for (size_t i = 0; c->mqtt.tls && i < ARRAY_SIZE(files); i++)
		if (files[i][0] && access(files[i], R_OK) < 0) {
			log_error("[mqtt] %s: %m", files[i]);
			return -errno;
		}
	r = resolve_unit(f);
	if (r < 0)
		return r;
	if (c->mqtt.credentials[0]) {
		r = forward_load_credentials(c->mqtt.credentials, &f->user, &f->password, err,
					     sizeof(err));
		if (r < 0) {
			log_error("[mqtt] credentials %s", err);
			return r;
		}
	}
	return 0;
}

static void on_terminate(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("signal %d: stopping", w->signum);
	sdproto_notify("STOPPING=1");
	ev_break(loop, EVBREAK_ALL);
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	sdproto_notify("WATCHDOG=1");
}

static void on_link(void *userdata, const struct forward_state *st)
{
	if (st->link == FORWARD_LINK_CONNECTED)
		sdproto_notifyf("STATUS=Connected to %s as unit %s", st->broker, st->unit);
	else if (st->link == FORWARD_LINK_WAITING)
		sdproto_notifyf("STATUS=Not connected to %s: %s", st->broker, st->error);
	else
		sdproto_notifyf("STATUS=%s %s", forward_link_name(st->link), st->broker);
}

static int run(struct forward *f, struct history *h)
{
	const struct config *c = &f->cfg;
	uint64_t watchdog_usec = 0;
	struct publisher_options o = {
		.host = c->mqtt.host,
		.port = (uint16_t)c->mqtt.port,
		.tls = c->mqtt.tls,
		.ca_file = c->mqtt.ca_file[0] ? c->mqtt.ca_file : NULL,
		.cert_file = c->mqtt.cert_file[0] ? c->mqtt.cert_file : NULL,
		.key_file = c->mqtt.key_file[0] ? c->mqtt.key_file : NULL,
		.username = f->user,
		.password = f->password,
		.unit = f->unit,
		.client_id = f->client_id,
		.prefix = c->mqtt.prefix,
		.software = "bodydiag " BODYDIAG_VERSION,
		.keepalive_s = c->mqtt.keepalive_s,
		.session_expiry_s = c->mqtt.session_expiry_s,
		.resend_s = (double)c->mqtt.resend_ms / 1000.0,
		.state_file = c->mqtt.state_file[0] ? c->mqtt.state_file : NULL,
		.on_link = on_link,
	};
	int r;

	f->loop = ev_default_loop(EVFLAG_AUTO);
	if (!f->loop)
		return -ENOMEM;
	ev_signal_init(&f->sigterm, on_terminate, SIGTERM);
	ev_signal_init(&f->sigint, on_terminate, SIGINT);
	ev_signal_start(f->loop, &f->sigterm);
	ev_signal_start(f->loop, &f->sigint);
	r = publisher_new(f->loop, h, &o, &f->pub);
	if (r < 0) {
		log_error_errno(-r, "mqtt: cannot start");
		return r;
	}
	r = sdproto_watchdog_usec(&watchdog_usec);
	if (r > 0) {
		ev_timer_init(&f->watchdog, on_watchdog, 0, (double)watchdog_usec / 2 / 1e6);
		ev_timer_start(f->loop, &f->watchdog);
	}
	sdproto_notify("READY=1");
	log_info("bodydiag-forward %s: unit %s, outbox %s, broker %s:%u%s", BODYDIAG_VERSION,
		 f->unit, c->history.path, c->mqtt.host,
		 c->mqtt.port ? c->mqtt.port : c->mqtt.tls ? 8883 : 1883, c->mqtt.tls ? " (TLS)" : "");
	ev_run(f->loop, 0);
	ev_timer_stop(f->loop, &f->watchdog);
	publisher_stop(f->pub);
	f->pub = publisher_free(f->pub);
	return 0;
}

int main(int argc, char **argv)
{
	struct forward f = {.config_path = CONFIG_DEFAULT_PATH};
	struct history_options ho = {0};
	struct history *h = NULL;
	bool check_only = false;
	char err[512] = "";
	int r, status = EXIT_CONFIG;

	r = parse_options(&f, argc, argv, &check_only);
	if (r >= 0)
		return r;
	log_init("bodydiag-forward");
	/* SIGPIPE would kill us when the broker closes mid-write; libmosquitto uses
	 * MSG_NOSIGNAL for TCP, not for every TLS path. */
	signal(SIGPIPE, SIG_IGN);
	if (startup_load_config(f.config_path, f.config_explicit, f.overrides, f.n_overrides,
				&f.cfg) < 0 ||
	    check_config(&f) < 0)
		goto out;
	if (check_only) {
		printf("unit = %s\nclient_id = %s\nbroker = %s:%u\ntls = %s\noutbox = %s\n"
		       "state_file = %s\n",
		       f.unit, f.client_id,
		       f.cfg.mqtt.host,
		       f.cfg.mqtt.port ? f.cfg.mqtt.port : f.cfg.mqtt.tls ? 8883 : 1883,
		       f.cfg.mqtt.tls ? "yes" : "no", f.cfg.history.path, f.cfg.mqtt.state_file);
		status = EXIT_SUCCESS;
		goto out;
	}
	/* Deletes that a crash loses come back as repeats, which the fleet stores once:
	 * no fsync for them, whatever [history] durable says for the records. */
	r = history_open(f.cfg.history.path, &ho, &h, err, sizeof(err));
	if (r < 0) {
		log_error("history %s: %s", f.cfg.history.path, err[0] ? err : strerror(-r));
		status = EXIT_FAILURE;
		goto out;
	}
	status = run(&f, h) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
out:
	history_free(h);
	if (f.loop)
		ev_loop_destroy(f.loop);
	free(f.user);
	if (f.password)
		explicit_bzero(f.password, strlen(f.password));
	free(f.password);
	return status;
}
