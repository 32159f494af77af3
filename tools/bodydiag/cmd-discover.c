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
#include "canio.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: bodydiag discover --iface CAN [--rate N] [--max-time S] [--range R]...\n"
	    "                         [--probe tester-present|session] [--padding 0xNN|none]\n"
	    "                         [--quiet S] [--no-identify] [--json] [--write-profile FILE]\n"
	    "\n"
	    "Finds the ECUs that answer diagnostics without a profile. This TRANSMITS on the bus:\n"
	    "functional OBD/UDS requests, one probe per request id / target address, then the\n"
	    "identification reads (F187 F18A F18C F190 F191 F195 F197, OBD mode 09 VIN). Ids\n"
	    "other nodes use are never sent on; the first bus error stops it. Refused when the\n"
	    "controller is in listen-only mode. Needs root (raw CAN sockets).\n"
	    "\n"
	    "  -i, --iface CAN           the CAN interface\n"
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

static json_t *ecu_json(const struct discover_ecu *e)
{
	char addr[160], text[3 * DISCOVER_IDENT_BYTES + 8], key[8];
	json_t *o = json_object(), *id = json_object();
	const char *role = discover_guess_role(e);
	struct vin_info v;

	isotp_addr_format(&e->addr, addr, sizeof(addr));
	json_object_set_new(o, "address", json_string(addr));
	json_object_set_new(o, "addressing", json_string(isotp_addr_mode_name(e->addr.mode)));
	json_object_set_new(o, "request", json_integer(e->addr.tx_id));
	json_object_set_new(o, "response", json_integer(e->addr.rx_id));
	json_object_set_new(o, "ext_ids", json_boolean(e->addr.ext_ids));
	json_object_set_new(
	    o, "found_by",
	    json_string(e->found_by == DISCOVER_FOUND_PHYSICAL ? "physical" : "functional"));
	json_object_set_new(o, "request_guessed", json_boolean(e->request_guessed));
	json_object_set_new(o, "uds", json_boolean(e->uds));
	json_object_set_new(o, "obd", json_boolean(e->obd));
	json_object_set_new(o, "probe_nrc",
			    e->probe_nrc ? json_integer(e->probe_nrc) : json_null());
	json_object_set_new(o, "latency_ms", json_real((double)e->latency_us / 1000.0));
	json_object_set_new(o, "status", json_string(discover_ecu_status_name(e->status)));
	json_object_set_new(o, "role", role ? json_string(role) : json_null());
	for (enum discover_ident_id i = 0; i < DISCOVER_ID_MAX; i++) {
		const struct discover_ident *x = &e->ident[i];
		json_t *v1;
		if (x->state == DISCOVER_IDENT_NOT_ASKED)
			continue;
		if (discover_ident_did(i))
			snprintf(key, sizeof(key), "%04X", discover_ident_did(i));
		else
			snprintf(key, sizeof(key), "OBD09");
		v1 = json_pack("{s:s}", "state", discover_ident_state_name(x->state));
		if (x->state == DISCOVER_IDENT_OK) {
			discover_ident_format(x, text, sizeof(text));
			json_object_set_new(v1, "value", json_string(text));
		} else if (x->state == DISCOVER_IDENT_NEGATIVE) {
			json_object_set_new(v1, "nrc", json_integer(x->nrc));
		}
		json_object_set_new(id, key, v1);
	}
	json_object_set_new(o, "identification", id);
	int r = discover_ecu_vin(e, &v);
	if (r == 0)
		json_object_set_new(o, "vin",
				    json_pack("{s:s,s:b,s:s?,s:s?}", "vin", v.vin, "valid", 1,
					      "maker", v.maker ? v.maker->brand : NULL, "make",
					      v.maker ? v.maker->make : NULL));
	else if (r == -EINVAL)
		json_object_set_new(o, "vin",
				    json_pack("{s:b,s:s}", "valid", 0, "reason", v.reason));
	return o;
}

static void print_table(const struct discover *d)
{
	char addr[160], text[3 * DISCOVER_IDENT_BYTES + 8];

	if (discover_ecu_count(d) == 0) {
		printf("no ECU answered\n");
		return;
	}
	printf("%-44s %-10s %9s  %-12s %s\n", "address", "found by", "latency", "role", "status");
	for (size_t i = 0; i < discover_ecu_count(d); i++) {
		const struct discover_ecu *e = discover_ecu_at(d, i);
		const char *role = discover_guess_role(e);
		struct vin_info v;
		isotp_addr_format(&e->addr, addr, sizeof(addr));
		printf("%-44s %-10s %6.1f ms  %-12s %s%s%s\n", addr,
		       e->found_by == DISCOVER_FOUND_PHYSICAL ? "physical" : "functional",
		       (double)e->latency_us / 1000.0, role ? role : "-",
		       discover_ecu_status_name(e->status), e->obd ? ", OBD-II" : "",
		       e->request_guessed ? ", request id guessed" : "");
		if (e->probe_nrc)
			printf("    probe answered negatively: NRC 0x%02X %s\n", e->probe_nrc,
			       uds_nrc_name(e->probe_nrc) ? uds_nrc_name(e->probe_nrc) : "");
		for (enum discover_ident_id k = 0; k < DISCOVER_ID_MAX; k++) {
			const struct discover_ident *x = &e->ident[k];
			char label[32];
			if (x->state == DISCOVER_IDENT_NOT_ASKED)
				continue;
			if (discover_ident_did(k))
				snprintf(label, sizeof(label), "%s (%04X)", discover_ident_name(k),
					 discover_ident_did(k));
			else
				snprintf(label, sizeof(label), "%s", discover_ident_name(k));
			if (x->state == DISCOVER_IDENT_OK) {
				discover_ident_format(x, text, sizeof(text));
				printf("    %-20s %s\n", label, text);
			} else if (x->state == DISCOVER_IDENT_NEGATIVE) {
				const char *n = uds_nrc_name(x->nrc);
				printf("    %-20s NRC 0x%02X %s\n", label, x->nrc, n ? n : "");
			} else {
				printf("    %-20s %s\n", label,
				       discover_ident_state_name(x->state));
			}
		}
		int r = discover_ecu_vin(e, &v);
		if (r == 0)
			printf("    VIN %s: %s, check digit %s\n", v.vin,
			       v.maker ? v.maker->brand : "maker not in the WMI table",
			       vin_check_name(v.check));
		else if (r == -EINVAL)
			printf("    VIN not valid: %s\n", v.reason);
	}
}

static int write_profile(const struct discover *d, const char *path, const char *iface)
{
	struct can_link_info info;
	char header[200], stamp[40], *text = NULL;
	time_t now = time(NULL);
	struct tm tm;
	int fd, r;

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
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "bodydiag discover: %s: %s\n", path, strerror(-r));
		free(text);
		return r;
	}
	size_t len = strlen(text), off = 0;
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
	free(text);
	if (r < 0) {
		fprintf(stderr, "bodydiag discover: %s: %s\n", path, strerror(-r));
		unlink(path);
	}
	return r;
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
			"  listen-only off; ip link set %s up).\n",
			iface, iface, iface, iface);
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
	    {"help", no_argument, NULL, 'h'},
	    {0},
	};
	struct discover_config cfg;
	struct discover *d = NULL;
	struct discover_action a;
	struct ecu_sock es = {.fd = -1};
	const char *iface = NULL, *profile_out = NULL;
	bool json = false;
	char err[160];
	int c, r, raw = -1, ret = 1;
	int64_t t0;

	discover_config_init(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:r:T:R:P:p:q:Njw:h", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'r':
			if (canio_opt_uint("discover", "rate", optarg, 1, 1000, &cfg.rate) < 0)
				return 1;
			break;
		case 'T':
			if (canio_opt_seconds("discover", "max-time", optarg, false,
					      &cfg.max_time_us) < 0)
				return 1;
			break;
		case 'q':
			if (canio_opt_seconds("discover", "quiet", optarg, true, &cfg.quiet_us) < 0)
				return 1;
			break;
		case 'R':
			if (cfg.n_ranges == DISCOVER_MAX_RANGES) {
				fprintf(stderr, "bodydiag discover: at most %u --range\n",
					DISCOVER_MAX_RANGES);
				return 1;
			}
			if (discover_range_parse(optarg, strlen(optarg), &cfg.ranges[cfg.n_ranges],
						 err, sizeof(err)) < 0) {
				fprintf(stderr, "bodydiag discover: --range %s: %s\n", optarg, err);
				return 1;
			}
			cfg.n_ranges++;
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
				return 1;
			}
			break;
		case 'p': {
			char *end;
			unsigned long v;
			if (strcmp(optarg, "none") == 0) {
				cfg.padding = -1;
				break;
			}
			v = strtoul(optarg, &end, 16);
			if (end == optarg || *end || v > 0xFF) {
				fprintf(stderr,
					"bodydiag discover: --padding %s: 0x00..0xFF or none\n",
					optarg);
				return 1;
			}
			cfg.padding = (int)v;
			break;
		}
		case 'N':
			cfg.identify = false;
			break;
		case 'j':
			json = true;
			break;
		case 'w':
			profile_out = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (!iface || optind != argc) {
		usage(stderr);
		return 1;
	}
	if (profile_out && access(profile_out, F_OK) == 0) {
		fprintf(stderr,
			"bodydiag discover: %s exists: not overwritten (choose another name)\n",
			profile_out);
		return 1;
	}
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
	if (json) {
		json_t *o = json_object(), *ecus = json_array();
		for (size_t i = 0; i < discover_ecu_count(d); i++)
			json_array_append_new(ecus, ecu_json(discover_ecu_at(d, i)));
		json_object_set_new(o, "iface", json_string(iface));
		json_object_set_new(
		    o, "status",
		    json_string(canio_interrupted() ? "interrupted" : discover_status_name(st)));
		json_object_set_new(o, "requests", json_integer(discover_requests_sent(d)));
		json_object_set_new(o, "skipped", json_integer(discover_probes_skipped(d)));
		json_object_set_new(o, "seconds", json_real(secs));
		json_object_set_new(o, "rate", json_integer(cfg.rate));
		json_object_set_new(o, "ecus", ecus);
		json_dumpf(o, stdout, JSON_COMPACT);
		putchar('\n');
		json_decref(o);
	} else {
		print_table(d);
		printf("%s: %zu ECUs, %u requests in %.1f s, %u probes skipped (id in use or ours)",
		       canio_interrupted() ? "interrupted" : discover_status_name(st),
		       discover_ecu_count(d), discover_requests_sent(d), secs,
		       discover_probes_skipped(d));
		if (st == DISCOVER_BUS_ERROR) {
			char cls[128];
			bd_frame_err_format(discover_stop_frame(d), cls, sizeof(cls));
			printf(": %s", cls);
		} else if (st == DISCOVER_SEND_ERROR) {
			printf(": %s", strerror(-discover_stop_errno(d)));
		}
		printf("\n");
	}
	fflush(stdout);
	if (canio_interrupted())
		ret = 1;
	else if (st == DISCOVER_DONE)
		ret = 0;
	else if (st == DISCOVER_TIMEOUT)
		ret = 3;
	else
		ret = 2;
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
}
