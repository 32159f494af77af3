/* SPDX-License-Identifier: MIT */
/*
 * bodydiag detect: finds a bus's bitrate with the controller in listen-only mode, so a
 * wrong bitrate never puts an error frame (or an ACK) on somebody's car. lib/bitrate_detect
 * decides; this file sets the controller (lib/linux can_link), listens on a CAN_RAW socket
 * with error frames, reports, and puts the controller back.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/bitrate_detect.h"
#include "bodydiag/linux/can_link.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/profile.h"
#include "canio.h"

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "Usage: bodydiag detect --iface CAN [--bitrates LIST] [--profile FILE] [--timeout S]\n"
	    "                       [--dwell S] [--min-frames N] [--apply] [--json]\n"
	    "\n"
	    "Finds the bus's bitrate without transmitting: the controller is put in listen-only\n"
	    "mode (with bus-error reporting), each bitrate is listened to until frames arrive\n"
	    "without error frames, and the controller is put back as it was (or, with --apply,\n"
	    "left at the bitrate found, in its original mode). Needs CAP_NET_ADMIN (root).\n"
	    "\n"
	    "  -i, --iface CAN       the CAN interface (a controller with bit timing, not vcan)\n"
	    "  -b, --bitrates LIST   order to try, e.g. 500k,250k,125k (default:\n"
	    "                        500k,250k,125k,83.333k,33.333k,1M)\n"
	    "  -p, --profile FILE    try the profile's [vehicle] bitrate first\n"
	    "  -t, --timeout S       bound of the whole detection (default 15)\n"
	    "  -d, --dwell S         longest listen at one bitrate (default 1.5)\n"
	    "  -n, --min-frames N    clean frames that confirm a bitrate (default 4)\n"
	    "  -a, --apply           leave the controller at the bitrate found\n"
	    "  -j, --json            one JSON object instead of the table\n"
	    "\n"
	    "Exit status: 0 found, 2 no bitrate found, 1 error.\n");
}

static void feed(void *userdata, const struct bd_frame *f, int64_t now)
{
	bitrate_detect_on_frame(userdata, f, now);
}

int cmd_detect(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"iface", required_argument, NULL, 'i'},   {"bitrates", required_argument, NULL, 'b'},
	    {"profile", required_argument, NULL, 'p'}, {"timeout", required_argument, NULL, 't'},
	    {"dwell", required_argument, NULL, 'd'},   {"min-frames", required_argument, NULL, 'n'},
	    {"apply", no_argument, NULL, 'a'},	       {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},	       {0},
	};
	struct bitrate_detect_config cfg;
	struct bitrate_detect *d = NULL;
	struct bitrate_detect_step st;
	struct can_link_saved saved;
	struct can_link_info info;
	const char *iface = NULL, *profile_path = NULL;
	bool apply = false, json = false, berr = true, changed = false;
	uint32_t found = 0;
	char b1[24], b2[24];
	int c, r, fd = -1, ret = 1;

	bitrate_detect_config_init(&cfg);
	optind = 1;
	while ((c = getopt_long(argc, argv, "i:b:p:t:d:n:ajh", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			iface = optarg;
			break;
		case 'b':
			r = bitrate_detect_parse_list(optarg, strlen(optarg), cfg.bitrates,
						      BITRATE_DETECT_MAX, &cfg.n);
			if (r < 0) {
				fprintf(
				    stderr, "bodydiag detect: --bitrates %s: %s\n", optarg,
				    r == -E2BIG
					? "too many bitrates"
					: "expected bit/s like 500k,250000,83.333k,1M (10k..1M)");
				return 1;
			}
			break;
		case 'p':
			profile_path = optarg;
			break;
		case 't':
			if (canio_opt_seconds("detect", "timeout", optarg, false, &cfg.total_us) <
			    0)
				return 1;
			break;
		case 'd':
			if (canio_opt_seconds("detect", "dwell", optarg, false, &cfg.dwell_us) < 0)
				return 1;
			break;
		case 'n':
			if (canio_opt_uint("detect", "min-frames", optarg, 1, 10000,
					   &cfg.min_frames) < 0)
				return 1;
			break;
		case 'a':
			apply = true;
			break;
		case 'j':
			json = true;
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
	if (profile_path) {
		struct profile *p = NULL;
		struct profile_error err;
		if (profile_load(profile_path, &p, &err) < 0) {
			char m[400];
			profile_error_format(&err, m, sizeof(m));
			fprintf(stderr, "bodydiag detect: %s\n", m);
			return 1;
		}
		cfg.first = profile_bitrate(p);
		profile_free(p);
	}

	r = can_link_save(iface, &saved);
	if (r < 0) {
		fprintf(stderr, "bodydiag detect: %s: %s\n", iface, strerror(-r));
		return 1;
	}
	if (saved.bitrate == 0) {
		fprintf(stderr,
			"bodydiag detect: %s has no bit timing (a virtual CAN device?): "
			"nothing to detect\n",
			iface);
		return 1;
	}
	/* The socket first: it stays bound across the link's down/up. */
	r = can_raw_open(iface, NULL, 0, CAN_RAW_OPEN_ERR_FRAMES, &fd);
	if (r < 0) {
		fprintf(stderr, "bodydiag detect: %s: CAN_RAW socket: %s\n", iface, strerror(-r));
		return 1;
	}
	/* best effort: a smaller buffer only counts fewer frames of a busy bus */
	(void)can_raw_set_rcvbuf(fd, 1 << 20);
	canio_catch_signals();
	r = bitrate_detect_new(&cfg, canio_now_us(), &d);
	if (r < 0) {
		fprintf(stderr, "bodydiag detect: %s\n", strerror(-r));
		goto out;
	}
	if (!json)
		printf("detect on %s (was %s, %s, %s): listen-only, trying %zu bitrates, at most "
		       "%.1f s\n",
		       iface, canio_bitrate(saved.bitrate, b1, sizeof(b1)),
		       saved.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY ? "listen-only"
								     : "normal mode",
		       saved.up ? "up" : "down", bitrate_detect_result_count(d),
		       (double)cfg.total_us / 1e6);
	fflush(stdout);

	for (;;) {
		int64_t now = canio_now_us();
		if (canio_interrupted()) {
			fprintf(stderr, "bodydiag detect: interrupted\n");
			break;
		}
		bitrate_detect_next(d, now, &st);
		if (st.action == BITRATE_DETECT_DONE)
			break;
		if (st.action == BITRATE_DETECT_SET) {
			changed = true;
			r = can_link_set_listen_only(iface, st.bitrate, &berr);
			if (r == -EOPNOTSUPP) {
				/* No listen-only: trying a bitrate would mean error frames on the
				 * bus at every wrong one. That is exactly what must not happen. */
				fprintf(
				    stderr,
				    "bodydiag detect: %s: the controller has no listen-only mode; "
				    "refusing to try bitrates on a live bus\n",
				    iface);
				goto out;
			}
			if (r < 0) {
				bitrate_detect_set_failed(d, r, canio_now_us());
				continue;
			}
			if (can_link_get_info(iface, &info) < 0)
				info.bitrate = 0;
			/* what arrived before the switch belongs to the old bitrate */
			canio_drain(fd, NULL, NULL);
			bitrate_detect_applied(d, info.bitrate, canio_now_us());
			continue;
		}
		r = canio_wait(&fd, 1, st.until_us);
		if (r < 0) {
			fprintf(stderr, "bodydiag detect: poll: %s\n", strerror(-r));
			goto out;
		}
		if (r > 0 && (r = canio_drain(fd, feed, d)) < 0) {
			fprintf(stderr, "bodydiag detect: %s: %s\n", iface, strerror(-r));
			goto out;
		}
	}
	if (canio_interrupted())
		ret = 1;
	else
		ret = bitrate_detect_outcome(d, &found) == BITRATE_DETECT_FOUND ? 0 : 2;

out:
	/* Put the controller back: as it was, or at the bitrate found in its old mode. */
	{
		struct can_link_saved back = saved;
		int rr = 0;
		if (apply && ret == 0)
			back.bitrate = found;
		if (changed || back.bitrate != saved.bitrate)
			rr = can_link_restore(iface, &back);
		if (rr < 0) {
			fprintf(stderr,
				"bodydiag detect: %s: could not put the controller back (%s): "
				"check it with `ip -details link show %s`\n",
				iface, strerror(-rr), iface);
			ret = 1;
		}
		if (d && json) {
			json_t *o = json_object(), *res = json_array();
			for (size_t i = 0; i < bitrate_detect_result_count(d); i++) {
				const struct bitrate_detect_result *x =
				    bitrate_detect_result_at(d, i);
				char cls[128];
				struct bd_frame ef = {.id = x->error_classes,
						      .flags = BD_FRAME_ERR};
				bd_frame_err_format(&ef, cls, sizeof(cls));
				json_array_append_new(
				    res,
				    json_pack("{s:i,s:i,s:s,s:i,s:i,s:i,s:s,s:f}", "bitrate",
					      (json_int_t)x->bitrate, "applied",
					      (json_int_t)x->applied, "verdict",
					      bitrate_detect_verdict_name(x->verdict), "frames",
					      (json_int_t)x->frames, "ids", (json_int_t)x->ids,
					      "error_frames", (json_int_t)x->error_frames,
					      "error_classes", cls, "listened_s",
					      (double)x->listened_us / 1e6));
			}
			json_object_set_new(o, "iface", json_string(iface));
			json_object_set_new(o, "outcome",
					    json_string(bitrate_detect_outcome_name(
						bitrate_detect_outcome(d, NULL))));
			json_object_set_new(o, "bitrate",
					    found ? json_integer(found) : json_null());
			json_object_set_new(o, "bus_error_reporting", json_boolean(berr));
			json_object_set_new(o, "results", res);
			json_object_set_new(
			    o, "left_at",
			    json_pack("{s:i,s:b,s:b}", "bitrate", (json_int_t)back.bitrate,
				      "listen_only",
				      (int)!!(back.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY), "up",
				      (int)back.up));
			json_dumpf(o, stdout, JSON_COMPACT);
			putchar('\n');
			json_decref(o);
		} else if (d) {
			printf("%-9s %-9s %-26s %7s %5s %7s  %s\n", "bitrate", "applied", "verdict",
			       "frames", "ids", "errors", "listened");
			for (size_t i = 0; i < bitrate_detect_result_count(d); i++) {
				const struct bitrate_detect_result *x =
				    bitrate_detect_result_at(d, i);
				char cls[128] = "";
				if (x->error_frames) {
					struct bd_frame ef = {.id = x->error_classes,
							      .flags = BD_FRAME_ERR};
					bd_frame_err_format(&ef, cls, sizeof(cls));
				}
				printf("%-9s %-9s %-26s %7u %5u %7u  %.2f s%s%s\n",
				       canio_bitrate(x->bitrate, b1, sizeof(b1)),
				       x->applied ? canio_bitrate(x->applied, b2, sizeof(b2)) : "-",
				       bitrate_detect_verdict_name(x->verdict), x->frames, x->ids,
				       x->error_frames, (double)x->listened_us / 1e6,
				       cls[0] ? "  " : "", cls);
			}
			if (!berr)
				printf("note: the driver has no bus-error reporting: a wrong "
				       "bitrate shows "
				       "as silence, not as error frames\n");
			printf("%s", bitrate_detect_outcome_name(bitrate_detect_outcome(d, NULL)));
			if (ret == 0)
				printf(": %s", canio_bitrate(found, b1, sizeof(b1)));
			printf("; %s left at %s, %s, %s%s\n", iface,
			       canio_bitrate(back.bitrate, b2, sizeof(b2)),
			       back.ctrlmode & CAN_LINK_CTRLMODE_LISTENONLY ? "listen-only"
									    : "normal mode",
			       back.up ? "up" : "down",
			       apply && ret == 0 ? " (--apply: the bitrate found)"
						 : " (as it was found)");
		}
	}
	bitrate_detect_free(d);
	if (fd >= 0)
		close(fd);
	return ret;
}
