/* SPDX-License-Identifier: MIT */
/*
 * bodydiagd: loads the configuration, the DBC and the vehicle profile, listens on the
 * bus, serves the Unix socket API with the diagnostic methods, tells systemd it is ready
 * and alive. Listen-only: nothing in this file transmits on a CAN bus; the UDS broker
 * transmits only what a client asks for.
 */
#include <errno.h>
#include <ev.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "actuator.h"
#include "api.h"
#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "bus.h"
#include "config.h"
#include "daemon-build.h"
#include "diagnosis.h"
#include "log.h"
#include "macro.h"
#include "methods.h"
#include "records.h"
#include "scan.h"
#include "uds_broker.h"

#define MAX_OVERRIDES 64
#define TIMELINE_CAPACITY 65536

enum {
	BROKER_CLI_P2_CAP = 1u << 0,
	BROKER_CLI_P2STAR_CAP = 1u << 1,
	BROKER_CLI_MAX_PENDING = 1u << 2,
	BROKER_CLI_MAX_BUSY = 1u << 3,
	BROKER_CLI_RATE = 1u << 4,
};

/* The vehicle data a reload swaps as a whole: the old set stays when the new one fails. */
struct vehicle {
	struct profile *profile;
	struct dbc *dbc;
	struct rules_set *rules;
	struct uds_broker *broker;
};

struct daemon {
	struct ev_loop *loop;
	ev_signal sigterm, sigint, sighup;
	ev_timer watchdog;
	struct config cfg;
	struct api_server *api;
	struct methods *methods;
	struct diagnosis *diagnosis; /* NULL without rules */
	struct actuator *actuator;   /* actuator.test */
	struct records *records;     /* history, forwarder, metrics */
	struct scan *scan;           /* background DTC scans */
	struct bus *bus;
	struct vehicle vehicle;
	struct uds_broker_config broker_cli; /* command-line tuning, kept across reloads */
	unsigned broker_cli_set;	     /* which of it was given: BROKER_CLI_* */
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

static void vehicle_clear(struct vehicle *v)
{
	v->broker = uds_broker_free(v->broker);
	v->rules = rules_set_free(v->rules);
	v->dbc = dbc_free(v->dbc);
	v->profile = profile_free(v->profile);
}

static int read_whole(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;
			if (cap >= DBC_MAX_SOURCE) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void dbc_warn(void *userdata, const char *file, unsigned line, unsigned column,
		     const char *message)
{
	log_debug("%s:%u:%u: %s", file, line, column, message);
}

static int load_dbc(const char *path, struct dbc **ret)
{
	_cleanup_free_ char *buf = NULL;
	struct dbc_error err = {0};
	size_t len;
	int r;

	r = read_whole(path, &buf, &len);
	if (r < 0) {
		log_error_errno(-r, "%s", path);
		return r;
	}
	r = dbc_parse(buf, len, path, dbc_warn, NULL, &err, ret);
	if (r < 0)
		log_error("%s:%u:%u: %s", err.file, err.line, err.column, err.message);
	return r;
}

/* [uds] of the config file, then the command-line options over it. */
static void broker_config_of(const struct daemon *d, const struct config *cfg,
			     struct uds_broker_config *ret)
{
	const struct uds_broker_config *cli = &d->broker_cli;

	uds_broker_config_init(ret);
	ret->p2_cap_ms = (uint32_t)cfg->uds.p2_cap_ms;
	ret->p2star_cap_ms = (uint32_t)cfg->uds.p2star_cap_ms;
	ret->max_pending = cfg->uds.max_pending;
	ret->max_busy = cfg->uds.max_busy;
	ret->rate_limit = cfg->uds.rate_limit;
	if (d->broker_cli_set & BROKER_CLI_P2_CAP)
		ret->p2_cap_ms = cli->p2_cap_ms;
	if (d->broker_cli_set & BROKER_CLI_P2STAR_CAP)
		ret->p2star_cap_ms = cli->p2star_cap_ms;
	if (d->broker_cli_set & BROKER_CLI_MAX_PENDING)
		ret->max_pending = cli->max_pending;
	if (d->broker_cli_set & BROKER_CLI_MAX_BUSY)
		ret->max_busy = cli->max_busy;
	if (d->broker_cli_set & BROKER_CLI_RATE)
		ret->rate_limit = cli->rate_limit;
}

/* Loads what the configuration names into *ret (all or nothing). */
static int vehicle_load(struct daemon *d, const struct config *cfg, struct vehicle *ret)
{
	struct vehicle v = {0};
	struct uds_broker_ecu_config ecus[UDS_BROKER_MAX_ECUS];
	struct uds_broker_config bc;
	char dbc_path[PATH_MAX];
	size_t n = 0;
	int r;

	broker_config_of(d, cfg, &bc);
	dbc_path[0] = '\0';
	if (cfg->data.profile[0]) {
		struct profile_error err;

		r = profile_load(cfg->data.profile, &v.profile, &err);
		if (r < 0) {
			char text[512];
			profile_error_format(&err, text, sizeof(text));
			log_error("%s", text);
			return r;
		}
		/* The profile names its DBC relative to dbc/ beside profiles/ (source tree and
		 * share/bodydiag alike); an explicit data.dbc wins. */
		if (!cfg->data.dbc[0] && profile_dbc(v.profile)) {
			char dir[PATH_MAX];

			snprintf(dir, sizeof(dir), "%s", cfg->data.profile);
			snprintf(dbc_path, sizeof(dbc_path), "%s/../dbc/%s", dirname(dir),
				 profile_dbc(v.profile));
		}
	}
	if (cfg->data.dbc[0])
		snprintf(dbc_path, sizeof(dbc_path), "%s", cfg->data.dbc);
	if (dbc_path[0]) {
		r = load_dbc(dbc_path, &v.dbc);
		if (r < 0)
			goto fail;
	}
	if (cfg->data.rules[0]) {
		_cleanup_free_ char *buf = NULL;
		struct rules_error err = {0};
		size_t len;

		r = read_whole(cfg->data.rules, &buf, &len);
		if (r < 0) {
			log_error_errno(-r, "%s", cfg->data.rules);
			goto fail;
		}
		r = rules_parse(buf, len, cfg->data.rules, &err, &v.rules);
		if (r < 0) {
			log_error("%s:%u:%u: %s", err.file, err.line, err.column, err.message);
			goto fail;
		}
	}
	for (size_t i = 0; v.profile && i < profile_ecu_count(v.profile) && n < ARRAY_SIZE(ecus);
	     i++) {
		const struct profile_ecu *e = profile_ecu_at(v.profile, i);

		ecus[n++] = (struct uds_broker_ecu_config){
			.name = e->id,
			.tx_id = e->request_id,
			.rx_id = e->response_id,
			.ext_ids = e->request_id > 0x7ff || e->response_id > 0x7ff,
			.padding = e->padding,
			.functional_id = e->functional_id,
			.p2_ms = e->p2_ms,
			.p2star_ms = e->p2star_ms,
			.s3_ms = e->s3_ms,
		};
	}
	bc.ifname = cfg->can.interface;
	r = uds_broker_new(d->loop, &bc, ecus, n, &v.broker);
	if (r < 0) {
		log_error_errno(-r, "cannot create the UDS broker");
		goto fail;
	}
	log_info("vehicle data: profile %s (%zu ECUs), DBC %s (%zu messages)",
		 cfg->data.profile[0] ? cfg->data.profile : "none", n,
		 dbc_path[0] ? dbc_path : "none", v.dbc ? dbc_message_count(v.dbc) : 0);
	*ret = v;
	return 0;
fail:
	vehicle_clear(&v);
	return r;
}

static void methods_data_of(struct daemon *d, struct methods_data *ret)
{
	*ret = (struct methods_data){
		.profile = d->vehicle.profile,
		.dbc = d->vehicle.dbc,
		.broker = d->vehicle.broker,
		.bus = d->bus,
		.ifname = d->cfg.can.interface,
		.listen_only = !d->cfg.scan.enabled,
	};
}

static void diagnosis_data_of(const struct vehicle *v, struct diagnosis_data *ret)
{
	*ret = (struct diagnosis_data){
		.dbc = v->dbc,
		.profile = v->profile,
		.rules = v->rules,
		.broker = v->broker,
	};
}

static void actuator_data_of(const struct config *cfg, const struct vehicle *v,
			     struct actuator_data *ret)
{
	*ret = (struct actuator_data){
		.dbc = v->dbc,
		.profile = v->profile,
		.broker = v->broker,
		.speed_signal = cfg->safety.speed_signal,
		.gear_signal = cfg->safety.gear_signal,
		.current_signal = cfg->safety.current_signal,
		.ajar_signal = cfg->safety.ajar_signal,
	};
}

static void scan_config_of(const struct config *cfg, struct scan_config *ret)
{
	*ret = (struct scan_config){
		.enabled = cfg->scan.enabled,
		.interval_ms = cfg->scan.interval_ms,
		.bus_quiet_ms = cfg->scan.bus_quiet_ms,
		.battery_low_v = cfg->scan.battery_low_v,
		.battery_signal = cfg->scan.battery_signal,
	};
}

static void scan_data_of(struct daemon *d, const struct vehicle *v, struct scan_data *ret)
{
	*ret = (struct scan_data){
		.broker = v->broker,
		.profile = v->profile,
		.dbc = v->dbc,
		.bus = d->bus,
		.history = d->records ? records_history(d->records) : NULL,
	};
}

static int on_mark(void *userdata, int64_t t_us, const char *label)
{
	struct daemon *d = userdata;

	return d->diagnosis ? diagnosis_mark(d->diagnosis, t_us, label) : 0;
}

static void on_bus_frame(void *userdata, const struct bd_timed_frame *f)
{
	struct daemon *d = userdata;

	if (d->methods)
		methods_bus_frame(d->methods, f);
	if (d->diagnosis)
		diagnosis_bus_frame(d->diagnosis, f);
	if (d->actuator)
		actuator_bus_frame(d->actuator, f);
	if (d->scan)
		scan_bus_frame(d->scan, f);
}

static void on_bus_event(void *userdata, enum bus_event ev, const char *detail)
{
	struct daemon *d = userdata;
	char field[64];
	const char *const fields[] = {field, NULL};

	snprintf(field, sizeof(field), "BODYDIAG_BUS_EVENT=%s", bus_event_name(ev));
	log_full(ev == BUS_EVENT_DETACHED || ev == BUS_EVENT_CONFIG_FAILED ? LOG_WARNING
									    : LOG_INFO,
		 0, fields, "%s: %s: %s", d->cfg.can.interface, bus_event_name(ev), detail);
	if (d->records)
		records_bus_event(d->records, d->cfg.can.interface, ev, detail);
}

/*
 * Kernel ID filters for the bus: the DBC's messages and the profile ECUs' diagnostic ids,
 * so that a busy bus costs us only the frames we decode. None (everything) when there is
 * neither, or more than the kernel's 512 filters. *ret malloc'd, NULL for everything.
 */
static void vehicle_filters(const struct vehicle *v, struct can_raw_filter **ret, size_t *ret_n)
{
	size_t n = 0, cap = 0;
	struct can_raw_filter *f;

	*ret = NULL;
	*ret_n = 0;
	if (v->dbc)
		cap += dbc_message_count(v->dbc);
	if (v->profile)
		cap += 3 * profile_ecu_count(v->profile);
	if (cap == 0 || cap > 512) {
		if (cap > 512)
			log_notice("%zu identifiers: more than the kernel's 512 filters, receiving every frame",
				   cap);
		return;
	}
	f = calloc(cap, sizeof(*f));
	if (!f)
		return; /* everything then: slower, not wrong */
	for (size_t i = 0; v->dbc && i < dbc_message_count(v->dbc); i++) {
		const struct dbc_message *m = dbc_message_at(v->dbc, i);
		bool ext = dbc_message_is_extended(m);
		f[n++] = (struct can_raw_filter){.id = dbc_message_id(m), .ext = ext,
						 .mask = ext ? 0x1fffffff : 0x7ff};
	}
	for (size_t i = 0; v->profile && i < profile_ecu_count(v->profile); i++) {
		const struct profile_ecu *e = profile_ecu_at(v->profile, i);
		const uint32_t ids[] = {e->request_id, e->response_id, e->functional_id};
		for (size_t k = 0; k < 3; k++) {
			bool ext = ids[k] > 0x7ff;
			if (k == 2 && !ids[k])
				continue;
			f[n++] = (struct can_raw_filter){.id = ids[k], .ext = ext,
							 .mask = ext ? 0x1fffffff : 0x7ff};
		}
	}
	*ret = f;
	*ret_n = n;
}

static void on_vin(void *userdata, const char *vin)
{
	struct daemon *d = userdata;

	log_info("vehicle VIN %s", vin);
	if (d->records)
		records_set_vin(d->records, vin);
}

/* `status` shows the scanner's state (docs/api.md, "scan"). */
static json_t *scan_status_of(void *userdata)
{
	struct daemon *d = userdata;

	return d->scan ? scan_status_json(d->scan) : NULL;
}

static int bus_attach(struct daemon *d)
{
	struct can_raw_filter *filters;
	size_t n_filters;
	int r;
	struct bus_opts o = {
		.ifname = d->cfg.can.interface,
		.configure_link = d->cfg.can.bitrate != 0 || d->cfg.can.restart_ms != 0,
		.bitrate = d->cfg.can.bitrate,
		.restart_ms = d->cfg.can.restart_ms ? (int)d->cfg.can.restart_ms : -1,
		.restart_bus_off = true,
		.restart_holdoff_s = 1.0,
		.error_frames = true,
	};
	static const struct bus_ops ops = {.frame = on_bus_frame, .event = on_bus_event};

	vehicle_filters(&d->vehicle, &filters, &n_filters);
	o.filters = filters;
	o.n_filters = n_filters;
	r = bus_new(d->loop, &o, &ops, d, &d->bus);
	free(filters);
	return r;
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
	if (strcmp(cfg.can.interface, d->cfg.can.interface) != 0) {
		log_warning("reload: can.interface changed; takes effect at restart");
		snprintf(cfg.can.interface, sizeof(cfg.can.interface), "%s", d->cfg.can.interface);
	}
	{
		struct vehicle v;
		struct methods_data md;

		if (vehicle_load(d, &cfg, &v) < 0) {
			log_error("reload: vehicle data failed to load, keeping the previous set");
			sd_notify(0, "READY=1\nSTATUS=Reload failed, previous configuration kept");
			return;
		}
		/* Methods first: they stop using the old broker and data before it goes. */
		d->cfg.scan = cfg.scan;
		methods_data_of(d, &md);
		md.profile = v.profile;
		md.dbc = v.dbc;
		md.broker = v.broker;
		methods_set_data(d->methods, &md);
		if (d->diagnosis) {
			struct diagnosis_data dd;

			diagnosis_data_of(&v, &dd);
			if (!v.rules || diagnosis_set_data(d->diagnosis, &dd) < 0) {
				/* It must not keep pointers into the set freed below. */
				log_warning("reload: diagnosis %s", v.rules ? "failed, now off"
									     : "off (no rules)");
				d->diagnosis = diagnosis_free(d->diagnosis);
			}
		} else if (v.rules) {
			struct diagnosis_data dd;

			diagnosis_data_of(&v, &dd);
			if (diagnosis_new(d->loop, d->api, &dd, &d->diagnosis) < 0)
				log_warning("reload: cannot start the diagnosis");
		}
		if (d->diagnosis) {
			diagnosis_set_history(d->diagnosis, records_history(d->records));
			diagnosis_set_vin_hook(d->diagnosis, on_vin, d);
		}
		if (d->actuator) {
			struct actuator_data ad;

			actuator_data_of(&cfg, &v, &ad);
			actuator_set_data(d->actuator, &ad);
		}
		if (d->scan) {
			struct scan_config sc;
			struct scan_data sd;

			/* Like the methods, it stops using the old broker before it goes. */
			scan_config_of(&cfg, &sc);
			if (scan_set_config(d->scan, &sc) < 0)
				log_warning("reload: [scan] battery_signal too long, kept the old one");
			scan_data_of(d, &v, &sd);
			scan_set_data(d->scan, &sd);
		}
		/* The metrics collector must not read the broker freed below. */
		records_set_sources(d->records, d->bus, v.broker);
		vehicle_clear(&d->vehicle);
		d->vehicle = v;
		if (d->bus) {
			struct can_raw_filter *f;
			size_t n;
			vehicle_filters(&d->vehicle, &f, &n);
			r = bus_set_filters(d->bus, f, n);
			if (r < 0)
				log_warning_errno(-r, "reload: bus filters not changed");
			free(f);
		}
	}
	records_reload(d->records, &cfg);
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
		"      --p2-cap MS          longest server P2 honoured (default 1000)\n"
		"      --p2star-cap MS      longest server P2* honoured (default 10000)\n"
		"      --max-pending N      0x78 responses accepted per request (default 20)\n"
		"      --max-busy N         0x21 resends per request (default 3)\n"
		"      --uds-rate N         UDS requests per second over all ECUs (default 0 = no limit)\n"
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
		{"p2-cap", required_argument, NULL, 'P'},
		{"p2star-cap", required_argument, NULL, 'S'},
		{"max-pending", required_argument, NULL, 'M'},
		{"max-busy", required_argument, NULL, 'B'},
		{"uds-rate", required_argument, NULL, 'R'},
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
	struct methods_data md;
	unsigned long v;
	char *end;

	uds_broker_config_init(&d.broker_cli);

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
		case 'P':
		case 'S':
		case 'M':
		case 'B':
		case 'R':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || v > 600000) {
				fprintf(stderr, "invalid number '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			if (opt == 'P') {
				d.broker_cli.p2_cap_ms = (uint32_t)v;
				d.broker_cli_set |= BROKER_CLI_P2_CAP;
			} else if (opt == 'S') {
				d.broker_cli.p2star_cap_ms = (uint32_t)v;
				d.broker_cli_set |= BROKER_CLI_P2STAR_CAP;
			} else if (opt == 'M') {
				d.broker_cli.max_pending = (unsigned)v;
				d.broker_cli_set |= BROKER_CLI_MAX_PENDING;
			} else if (opt == 'B') {
				d.broker_cli.max_busy = (unsigned)v;
				d.broker_cli_set |= BROKER_CLI_MAX_BUSY;
			} else {
				d.broker_cli.rate_limit = (double)v;
				d.broker_cli_set |= BROKER_CLI_RATE;
			}
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

	if (vehicle_load(&d, &d.cfg, &d.vehicle) < 0)
		goto fail_vehicle;
	r = bus_attach(&d);
	if (r < 0)
		/* Without netlink there is no bus; the API and the broker still work. */
		log_warning_errno(-r, "cannot watch %s, live data unavailable", d.cfg.can.interface);
	methods_data_of(&d, &md);
	r = methods_new(d.api, &md, TIMELINE_CAPACITY, &d.methods);
	if (r < 0) {
		log_error_errno(-r, "cannot register the API methods");
		goto fail_methods;
	}
	methods_set_mark_hook(d.methods, on_mark, &d);
	if (d.vehicle.rules) {
		struct diagnosis_data dd;

		diagnosis_data_of(&d.vehicle, &dd);
		r = diagnosis_new(d.loop, d.api, &dd, &d.diagnosis);
		if (r < 0)
			/* The rest of the daemon is still useful without the guided test. */
			log_error_errno(-r, "cannot start the diagnosis, findings/diagnose off");
	}

	{
		struct actuator_data ad;

		actuator_data_of(&d.cfg, &d.vehicle, &ad);
		r = actuator_new(d.loop, d.api, &ad, &d.actuator);
		if (r < 0)
			log_error_errno(-r, "cannot register actuator.test");
	}

	r = records_new(d.loop, d.api, &d.cfg, &d.records);
	if (r < 0) {
		log_error_errno(-r, "cannot set up history and metrics");
		goto fail_records;
	}
	records_set_sources(d.records, d.bus, d.vehicle.broker);
	if (d.diagnosis) {
		diagnosis_set_history(d.diagnosis, records_history(d.records));
		diagnosis_set_vin_hook(d.diagnosis, on_vin, &d);
	}
	{
		struct scan_config sc;
		struct scan_data sd;

		scan_config_of(&d.cfg, &sc);
		scan_data_of(&d, &d.vehicle, &sd);
		r = scan_new(d.loop, &sc, &sd, &d.scan);
		if (r < 0) {
			log_error_errno(-r, "cannot set up the background scans");
			goto fail_scan;
		}
		r = scan_api_register(d.scan, d.api);
		if (r < 0)
			log_warning_errno(-r, "cannot register the API method scan");
		methods_set_scan_status(d.methods, scan_status_of, &d);
	}

	r = sd_watchdog_enabled(0, &watchdog_usec);
	if (r < 0)
		log_warning_errno(-r, "cannot read the watchdog settings, not feeding it");
	if (r > 0) {
		ev_timer_init(&d.watchdog, on_watchdog, 0, watchdog_usec / 2 / 1e6);
		ev_timer_start(d.loop, &d.watchdog);
	}

	sd_notifyf(0, "READY=1\nSTATUS=API ready (%s), interface %s",
		   d.cfg.scan.enabled ? "background scans" : "listen-only", d.cfg.can.interface);
	log_info("bodydiagd %s ready", BODYDIAG_VERSION);
	ev_run(d.loop, 0);
	exit_status = EXIT_SUCCESS;

	if (ev_is_active(&d.watchdog))
		ev_timer_stop(d.loop, &d.watchdog);
	d.scan = scan_free(d.scan);
fail_scan:
fail_records:
	d.actuator = actuator_free(d.actuator);
	d.diagnosis = diagnosis_free(d.diagnosis);
	d.methods = methods_free(d.methods);
	d.records = records_free(d.records);
fail_methods:
	d.bus = bus_free(d.bus);
	vehicle_clear(&d.vehicle);
fail_vehicle:
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
