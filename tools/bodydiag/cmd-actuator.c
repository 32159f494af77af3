/* SPDX-License-Identifier: MIT */
/*
 * bodydiag actuator [--ecu ECU] [--duration-ms N] [--socket PATH] [--json]
 *
 * The closed-loop actuator check through bodydiagd (docs/api.md "actuator.test"): the
 * daemon drives the release output with 0x2F for N ms while it watches the bus, always
 * returns control to the ECU, and answers "commanded / current flowed / latch released".
 * Needs the admin privilege; refused unless the vehicle is known to be stationary.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_client.h"
#include "bodydiag.h"
#include "daemon/json_text.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: bodydiag actuator [--ecu ECU] [--duration-ms N] [--socket PATH] [--json]\n"
		"Drives the trunk release output (0x2F shortTermAdjustment) while watching the bus,\n"
		"then returns control to the ECU. Admin only; refused unless the vehicle is stationary.\n"
		"  --ecu ECU         the ECU with the output (default: the profile's ECU that has one)\n"
		"  --duration-ms N   how long to watch, 100..3000 (default 500)\n"
		"  --socket PATH     the daemon's socket (default %s, or $BODYDIAG_SOCKET)\n"
		"  --json            print the daemon's result object\n"
		"Exit status: 0 when the test ran (whatever the verdict), 5 when the ECU refused\n"
		"the output control (negative response), else as bodydiag(1).\n",
		API_CLIENT_DEFAULT_SOCKET);
}

static const char *yes_no(const json_t *v)
{
	return json_is_true(v) ? "yes" : "no";
}

static void print_result(const json_t *res)
{
	const json_t *nrc = json_object_get(res, "nrc");
	size_t i;
	json_t *s;

	printf("actuator test %s %s: %s\n", json_string_value(json_object_get(res, "ecu")),
	       json_string_value(json_object_get(res, "did")),
	       json_string_value(json_object_get(res, "verdict")));
	if (json_is_integer(nrc)) {
		const char *name = json_string_value(json_object_get(res, "nrc_name"));
		printf("  refused by the ECU: NRC 0x%02X%s%s\n", (unsigned)json_integer_value(nrc),
		       name ? " " : "", name ? name : "");
	}
	printf("  commanded       %s\n", yes_no(json_object_get(res, "commanded")));
	printf("  current flowed  %s (peak %.2f A)\n", yes_no(json_object_get(res, "current_flowed")),
	       json_real_value(json_object_get(res, "peak_current")));
	printf("  latch released  %s\n", yes_no(json_object_get(res, "latch_released")));
	json_array_foreach(json_object_get(res, "steps"), i, s) {
		const char *resp = json_string_value(json_object_get(s, "response"));
		printf("  %-22s %-10s -> %s%s%s\n", json_string_value(json_object_get(s, "step")),
		       json_string_value(json_object_get(s, "request")),
		       json_string_value(json_object_get(s, "outcome")), resp ? " " : "",
		       resp ? resp : "");
	}
}

int cmd_actuator(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"ecu", required_argument, NULL, 'e'},
		{"duration-ms", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *env = getenv("BODYDIAG_SOCKET");
	const char *socket = env && *env ? env : API_CLIENT_DEFAULT_SOCKET, *ecu = NULL;
	long duration = 500;
	bool json = false;
	struct api_client c;
	json_t *res = NULL, *err = NULL, *params;
	int opt, r, ex;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			socket = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'e':
			ecu = optarg;
			break;
		case 'd': {
			char *end;
			errno = 0;
			duration = strtol(optarg, &end, 10);
			if (errno || end == optarg || *end || duration < 100 || duration > 3000) {
				fprintf(stderr, "bodydiag actuator: --duration-ms must be 100..3000\n");
				return API_EXIT_USAGE;
			}
			break;
		}
		case 'h':
			usage(stdout);
			return API_EXIT_OK;
		default:
			usage(stderr);
			return API_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return API_EXIT_USAGE;
	}
	r = api_client_connect(&c, socket);
	if (r < 0) {
		fprintf(stderr, "bodydiag: cannot connect to %s: %s\n", socket, strerror(-r));
		return API_EXIT_CONNECT;
	}
	params = json_pack("{s:I}", "duration_ms", (json_int_t)duration);
	if (params && ecu)
		json_object_set_new(params, "ecu", json_string(ecu));
	r = api_client_call(&c, "actuator.test", params, NULL, NULL, &res, &err);
	api_client_close(&c);
	if (r < 0) {
		fprintf(stderr, "bodydiag: actuator.test: %s\n",
			r == -ECONNRESET ? "the daemon closed the connection" : strerror(-r));
		return r == -ECONNRESET ? API_EXIT_CONNECT : API_EXIT_DAEMON;
	}
	if (err) {
		const char *code = json_string_value(json_object_get(err, "code"));
		const char *msg = json_string_value(json_object_get(err, "message"));

		fprintf(stderr, "bodydiag: actuator.test: %s%s%s\n", code ? code : "error",
			msg ? ": " : "", msg ? msg : "");
		ex = api_client_exit_for(code);
		json_decref(err);
		return ex;
	}
	if (json) {
		char *s = json_text_dumps(res, JSON_TEXT_COMPACT, NULL);
		if (s)
			puts(s);
		free(s);
	} else {
		print_result(res);
	}
	ex = json_is_integer(json_object_get(res, "nrc")) ? API_EXIT_NEGATIVE : API_EXIT_OK;
	json_decref(res);
	return ex;
}
