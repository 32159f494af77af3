/* SPDX-License-Identifier: MIT */
/*
 * bodydiag discover: finds the ECUs that answer diagnostics, standalone (as root, like
 * can-utils; bodydiagd's admin method comes later). lib/discover plans; this file owns
 * the sockets: one CAN_RAW socket (probes out, everything the bus says in, error frames
 * included) and one kernel ISO-TP socket for the ECU being identified.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/discover.h"
#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/linux/isotp_socket.h"
#include "api_client.h"
#include "canio.h"
#include "daemon/discover_json.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: bodydiag discover [--iface CAN | --socket PATH] [--rate N] [--max-time S]\n"
	    "                         [--range R]... [--probe tester-present|session]\n"
	    "                         [--padding 0xNN|none] [--quiet S] [--no-identify] [--json]\n"
	    "                         [--write-profile FILE]\n"
	    "\n"
	    "Finds the ECUs that answer diagnostics without a profile. This TRANSMITS on the bus:\n"
	    "functional OBD/UDS requests, one probe per request id / target address, then the\n"
	    "identification reads (F187 F18A F18C F190 F191 F195 F197, OBD mode 09 VIN). Ids\n"
	    "other nodes use are never sent on; the first bus error stops it.\n"
	    "Without --iface it asks bodydiagd (its `discover` method, admin: root or group\n"
	    "bodydiag-admin) on the daemon's interface, within its [discover] rate and time\n"
	    "bounds; refused when the daemon is listen-only. With --iface it runs standalone\n"
	    "(root, no daemon on that interface): refused when the controller is in\n"
	    "listen-only mode.\n"
	    "\n"
	    "  -i, --iface CAN           standalone on this CAN interface\n"
	    "  -S, --socket PATH         the daemon's socket (default " API_CLIENT_DEFAULT_SOCKET ",\n"
	    "                            or $BODYDIAG_SOCKET)\n"
	    "  -r, --rate N              requests per second, probes and reads (default 20)\n"
	    "  -T, --max-time S          bound of the whole run (default 120)\n"
	    "  -R, --range R             what to probe (repeatable; default all of them):\n"
	    "                            functional, functional29, 11bit[:0x700-0x7F7],\n"
	    "                            29bit[:0x00-0xFF], toyota[:0x00-0xFF], bmw[:0x00-0xFF],\n"
	    "                            ext:REQ/RESP[:FIRST-LAST]\n"
	    "  -P, --probe KIND          tester-present (0x3E 0x00, default) or session (0x10 "
	    "0x01)\n"
	    "  -p, --padding B           pad byte of every frame sent, or none (default 0xCC)\n"
	    "  -q, --quiet S             listen first, learning the ids in use (default 0.5)\n"
	    "  -N, --no-identify         probe only\n"
	    "  -j, --json                one JSON object instead of the table\n"
	    "  -w, --write-profile FILE  write a profile skeleton of the ECUs found (not over an\n"
	    "                            existing file)\n"
	    "\n"
	    "Exit status: 0 done, 3 time bound reached (results so far), 2 stopped by a bus error\n"
	    "or a send failure, 1 refused or error.\n");
}

static void feed(void *userdata, const struct bd_frame *f, int64_t now)
{
	discover_on_frame(userdata, f, now);
}

/* The ISO-TP socket of the ECU being identified. */
struct ecu_sock {
	int fd;
	size_t ecu;
};

static void sock_close(struct ecu_sock *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int sock_for(struct ecu_sock *s, const char *iface, const struct discover_ecu *e, size_t i)
{
	struct isotp_socket_opts o;

	if (s->fd >= 0 && s->ecu == i)
		return 0;
	sock_close(s);
	isotp_socket_opts_from_addr(&o, &e->addr);
	/* the loop must not block for the length of a transfer */
	o.wait_tx_done = false;
	s->ecu = i;
	return isotp_socket_open(iface, &o, &s->fd);
}

static void receive_pdus(struct discover *d, struct ecu_sock *s)
{
	uint8_t buf[4096];
	size_t len;

	for (int k = 0; k < 64 && s->fd >= 0; k++) {
		int r = isotp_socket_recv(s->fd, buf, sizeof(buf), &len);
		if (r == 0)
			return;
		if (r < 0)
			discover_on_transport_error(d, s->ecu, r, canio_now_us());
		else
			discover_on_pdu(d, s->ecu, buf, len, canio_now_us());
	}
}

/* The profile text into a new file (never over an existing one). 0 or -errno (said). */
static int write_text(const char *path, const char *text)
{
	size_t len = strlen(text), off = 0;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "bodydiag discover: %s: %s\n", path, strerror(-r));
		return r;
	}
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		fprintf(stderr, "bodydiag discover: %s: %s\n", path, strerror(-r));
		unlink(path);
	}
	return r;
}

static int write_profile(const struct discover *d, const char *path, const char *iface)
{
	struct can_link_info info;
	char header[200], stamp[40], *text = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(header, sizeof(header), "bodydiag discover on %s, %s: %zu ECUs", iface, stamp,
		 discover_ecu_count(d));
	struct discover_profile_opts o = {
	    .bus = iface,
	    .bitrate = can_link_get_info(iface, &info) == 0 ? info.bitrate : 0,
	    .header = header,
	};
	r = discover_write_profile(d, &o, &text);
	if (r == -ENOENT) {
		fprintf(stderr, "bodydiag discover: no ECU answered: %s not written\n", path);
		return r;
	}
	if (r < 0) {
		fprintf(stderr, "bodydiag discover: profile: %s\n", strerror(-r));
		return r;
	}
	r = write_text(path, text);
	free(text);
	return r;
}

/* The exit status of a run's status (usage text). */
static int exit_of(const char *status)
{
	if (!strcmp(status, discover_status_name(DISCOVER_DONE)))
		return 0;
	if (!strcmp(status, discover_status_name(DISCOVER_TIMEOUT)))
		return 3;
	if (!strcmp(status, discover_status_name(DISCOVER_BUS_ERROR)) ||
	    !strcmp(status, discover_status_name(DISCOVER_SEND_ERROR)))
		return 2;
	return 1;
}

/* Without --iface: the daemon's discover method, on its interface. */
static int through_daemon(const char *socket, json_t *params, bool json, const char *profile_out)
{
	struct api_client c;
	json_t *res = NULL, *err = NULL;
	int r, ret;

	r = api_client_connect(&c, socket);
	if (r < 0) {
		json_decref(params);
		fprintf(stderr,
			"bodydiag discover: cannot connect to %s: %s (is bodydiagd running? Without "
			"it: --iface CAN, as root)\n",
			socket, strerror(-r));
		return 1;
	}
	if (profile_out)
		json_object_set_new(params, "profile", json_true());
	if (!json)
		printf("discover through bodydiagd (%s); this may take up to its time bound\n",
		       socket);
	fflush(stdout);
	r = api_client_call(&c, "discover", params, NULL, NULL, &res, &err);
	api_client_close(&c);
	if (r < 0) {
		fprintf(stderr, "bodydiag discover: %s\n",
			r == -ECONNRESET ? "the daemon closed the connection" : strerror(-r));
		return 1;
	}
	if (err) {
		fprintf(stderr, "bodydiag discover: %s: %s\n",
			json_string_value(json_object_get(err, "code")),
			json_string_value(json_object_get(err, "message")));
		json_decref(err);
		return 1;
	}
	if (json) {
		json_t *copy = json_deep_copy(res);
		json_object_del(copy, "profile");
		json_dumpf(copy, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(copy);
	} else {
		discover_json_print(stdout, res);
	}
	fflush(stdout);
	ret = exit_of(json_string_value(json_object_get(res, "status")));
	if (profile_out) {
		const char *text = json_string_value(json_object_get(res, "profile"));

		if (!text) {
			fprintf(stderr, "bodydiag discover: no ECU answered: %s not written\n",
				profile_out);
			ret = 1;
		} else if (write_text(profile_out, text) < 0) {
			ret = 1;
		} else if (!json) {
			printf("profile skeleton written to %s\n", profile_out);
		}
	}
	json_decref(res);
	return ret;
}

/* Before a single frame: is this controller allowed and able to transmit? */
static int check_link(const char *iface)
{
	struct can_link_info info;
	uint32_t mode = 0;
	int r;

	/* A device without CAN netlink data (vcan) has no controller mode: nothing to refuse. */
	r = can_link_get_ctrlmode(iface, &mode);
	if (r == -ENODEV) {
		fprintf(stderr, "bodydiag discover: %s: %s\n", iface, strerror(-r));
		return r;
	}
	if (mode & CAN_LINK_CTRLMODE_LISTENONLY) {
		fprintf(stderr,
			"bodydiag discover: refused: %s is in listen-only mode, and discovery "
			"transmits.\n"
			"  Nothing was sent. If transmitting on this bus is allowed, take the "
			"controller\n"
			"  out of listen-only first (ip link set %s down; ip link set %s type can\n"
			"  listen-only off; ip link set %s up). If bodydiagd runs on %s (it keeps\n"
			"  the controller in listen-only mode while it only listens), leave out\n"
			"  --iface: the daemon discovers itself.\n",
			iface, iface, iface, iface, iface);
		return -EPERM;
	}
	r = can_link_is_up(iface);
	if (r <= 0) {
		fprintf(stderr, "bodydiag discover: %s: %s\n", iface,
			r == 0 ? "the link is down" : strerror(-r));
		return r == 0 ? -ENETDOWN : r;
	}
	if (can_link_get_info(iface, &info) == 0 &&
	    (info.state == CAN_LINK_STATE_BUS_OFF || info.state == CAN_LINK_STATE_ERROR_PASSIVE ||
	     info.state == CAN_LINK_STATE_STOPPED)) {
		fprintf(stderr,
			"bodydiag discover: refused: %s is %s; a bus with errors is no place "
			"to send probes\n",
			iface, can_link_state_name(info.state));
		return -EIO;
	}
	return 0;
}

int cmd_discover(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"iface", required_argument, NULL, 'i'},
	    {"rate", required_argument, NULL, 'r'},
	    {"max-time", required_argument, NULL, 'T'},
	    {"range", required_argument, NULL, 'R'},
	    {"probe", required_argument, NULL, 'P'},
	    {"padding", required_argument, NULL, 'p'},
	    {"quiet", required_argument, NULL, 'q'},
	    {"no-identify", no_argument, NULL, 'N'},
	    {"json", no_argument, NULL, 'j'},
	    {"write-profile", required_argument, NULL, 'w'},
	    {"socket", required_argument, NULL, 'S'},
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct discover_config cfg;
	struct discover *d = NULL;
	struct discover_action a;
	struct ecu_sock es = {.fd = -1};
	const char *iface = NULL, *profile_out = NULL;
	const char *env = getenv("BODYDIAG_SOCKET");
	const char *socket = env && *env ? env : API_CLIENT_DEFAULT_SOCKET;
	json_t *params = json_object(), *ranges = json_array();
	bool json = false;
	char err[160];
	int c, r, raw = -1, ret = 1;
	int64_t t0;

	discover_config_init(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:r:T:R:P:p:q:NjS:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'r':
			if (canio_opt_uint("discover", "rate", optarg, 1, 1000, &cfg.rate) < 0)
				goto bad;
			json_object_set_new(params, "rate", json_integer(cfg.rate));
			break;
		case 'T':
			if (canio_opt_seconds("discover", "max-time", optarg, false,
					      &cfg.max_time_us) < 0)
				goto bad;
			json_object_set_new(params, "max_time",
					    json_real((double)cfg.max_time_us / 1e6));
			break;
		case 'q':
			if (canio_opt_seconds("discover", "quiet", optarg, true, &cfg.quiet_us) < 0)
				goto bad;
			json_object_set_new(params, "quiet", json_real((double)cfg.quiet_us / 1e6));
			break;
		case 'R':
			if (cfg.n_ranges == DISCOVER_MAX_RANGES) {
				fprintf(stderr, "bodydiag discover: at most %u --range\n",
					DISCOVER_MAX_RANGES);
				goto bad;
			}
			if (discover_range_parse(optarg, strlen(optarg), &cfg.ranges[cfg.n_ranges],
						 err, sizeof(err)) < 0) {
				fprintf(stderr, "bodydiag discover: --range %s: %s\n", optarg, err);
				goto bad;
			}
			cfg.n_ranges++;
			json_array_append_new(ranges, json_string(optarg));
			break;
		case 'P':
			if (strcmp(optarg, "tester-present") == 0)
				cfg.probe = DISCOVER_PROBE_TESTER_PRESENT;
			else if (strcmp(optarg, "session") == 0)
				cfg.probe = DISCOVER_PROBE_SESSION;
			else {
				fprintf(
				    stderr,
				    "bodydiag discover: --probe %s: tester-present or session\n",
				    optarg);
				goto bad;
			}
			json_object_set_new(params, "probe", json_string(optarg));
			break;
		case 'p': {
			char *end;
			unsigned long v;
			if (strcmp(optarg, "none") == 0) {
				cfg.padding = -1;
				json_object_set_new(params, "padding", json_null());
				break;
			}
			v = strtoul(optarg, &end, 16);
			if (end == optarg || *end || v > 0xFF) {
				fprintf(stderr,
					"bodydiag discover: --padding %s: 0x00..0xFF or none\n",
					optarg);
				goto bad;
			}
			cfg.padding = (int)v;
			json_object_set_new(params, "padding", json_integer(cfg.padding));
			break;
		}
		case 'N':
			cfg.identify = false;
			json_object_set_new(params, "identify", json_false());
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			profile_out = optarg;
			break;
		case 'S':
			socket = optarg;
			break;
		case 'h':
			usage(stdout);
			json_decref(params);
			json_decref(ranges);
			return 0;
		default:
			usage(stderr);
			goto bad;
		}
	}
	if (optind != argc) {
		usage(stderr);
		goto bad;
	}
	if (json_array_size(ranges))
		json_object_set_new(params, "ranges", ranges);
	else
		json_decref(ranges);
	ranges = NULL;
	if (profile_out && access(profile_out, F_OK) == 0) {
		fprintf(stderr,
			"bodydiag discover: %s exists: not overwritten (choose another name)\n",
			profile_out);
		json_decref(params);
		return 1;
	}
	if (!iface)
		return through_daemon(socket, params, json, profile_out);
	json_decref(params);
	if (check_link(iface) < 0)
		return 1;

	r = can_raw_open(iface, NULL, 0, CAN_RAW_OPEN_ERR_FRAMES, &raw);
	if (r < 0) {
		fprintf(stderr, "bodydiag discover: %s: CAN_RAW socket: %s\n", iface, strerror(-r));
		return 1;
	}
	/* best effort: a smaller buffer only risks dropped frames of other nodes */
	(void)can_raw_set_rcvbuf(raw, 1 << 20);
	canio_catch_signals();
	t0 = canio_now_us();
	r = discover_new(&cfg, t0, &d);
	if (r < 0) {
		fprintf(stderr, "bodydiag discover: %s\n", strerror(-r));
		goto out;
	}
	if (!json) {
		unsigned probes = 0;
		for (size_t i = 0; i < cfg.n_ranges; i++)
			probes += discover_range_probes(&cfg.ranges[i]);
		printf("discover on %s: %s%u requests/s, at most %.0f s\n", iface,
		       cfg.n_ranges ? "" : "every range, ", cfg.rate,
		       (double)cfg.max_time_us / 1e6);
		if (probes)
			printf("  %u probes planned\n", probes);
		fflush(stdout);
	}

	for (;;) {
		int64_t now = canio_now_us();
		if (canio_interrupted()) {
			fprintf(stderr, "bodydiag discover: interrupted\n");
			break;
		}
		discover_next(d, now, &a);
		if (a.kind == DISCOVER_ACTION_DONE)
			break;
		if (a.kind == DISCOVER_ACTION_SEND_FRAME) {
			r = can_raw_send(raw, &a.frame);
			if (r < 0)
				discover_send_failed(d, r, canio_now_us());
			continue;
		}
		if (a.kind == DISCOVER_ACTION_SEND_PDU) {
			r = sock_for(&es, iface, discover_ecu_at(d, a.ecu), a.ecu);
			if (r >= 0)
				r = isotp_socket_send(es.fd, a.pdu, a.pdu_len);
			if (r == -EAGAIN || r == -ENOBUFS)
				discover_send_failed(d, r, canio_now_us());
			else if (r < 0)
				discover_on_transport_error(d, a.ecu, r, canio_now_us());
			continue;
		}
		int fds[2] = {raw, es.fd};
		r = canio_wait(fds, 2, a.at_us);
		if (r < 0) {
			fprintf(stderr, "bodydiag discover: poll: %s\n", strerror(-r));
			goto out;
		}
		if ((r & 1) && (r = canio_drain(raw, feed, d)) < 0) {
			fprintf(stderr, "bodydiag discover: %s: %s\n", iface, strerror(-r));
			goto out;
		}
		receive_pdus(d, &es);
	}
	sock_close(&es);

	enum discover_status st = discover_status(d);
	double secs = (double)(canio_now_us() - t0) / 1e6;
	json_t *o = discover_json_run(d, iface,
				      canio_interrupted() ? "interrupted" : discover_status_name(st),
				      secs, cfg.rate);
	if (json) {
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
	} else {
		discover_json_print(stdout, o);
	}
	json_decref(o);
	fflush(stdout);
	ret = canio_interrupted() ? 1 : exit_of(discover_status_name(st));
	if (profile_out && write_profile(d, profile_out, iface) < 0)
		ret = 1;
	else if (profile_out && !json)
		printf("profile skeleton written to %s\n", profile_out);
out:
	sock_close(&es);
	discover_free(d);
	if (raw >= 0)
		close(raw);
	return ret;
bad:
	json_decref(params);
	json_decref(ranges);
	return 1;
}
