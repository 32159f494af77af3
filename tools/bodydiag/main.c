/* SPDX-License-Identifier: MIT */
/*
 * bodydiag: command dispatch. Every command is one row of the table below, so the
 * usage text and the commands cannot drift apart (wireguard-tools src/wg.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "config.h"

static int cmd_help(int argc, char **argv);

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *help;
} commands[] = {
    {"analyze", cmd_analyze, "Diagnose a candump capture offline: ranked causes with evidence"},
    {"changes", cmd_changes, "Which decoded signals changed around each mark: find a car's own signals"},
    {"decode", cmd_decode, "Decode a candump log with a DBC file"},
    {"uds", cmd_uds, "ISO-TP/UDS view of a candump capture: PDUs, latencies, transport problems"},
    {"status", cmd_status, "The daemon's bus state, counters, ECUs, uptime"},
    {"ecus", cmd_ecus, "The vehicle's ECUs with session, timing and latency"},
    {"dtc", cmd_dtc, "Read (or clear) an ECU's DTCs through the daemon"},
    {"did", cmd_did, "Read DIDs by profile name or number, scaled"},
    {"live", cmd_live, "Print DBC signal changes as they arrive"},
    {"mark", cmd_mark, "Put a user action (fob pressed...) into the timeline"},
    {"diagnose", cmd_diagnose, "Guided trunk test through the daemon: ranked causes with evidence"},
    {"actuator", cmd_actuator, "Closed-loop release output check (admin, stationary): commanded / current / latch"},
    {"history", cmd_history, "Stored DTC transitions, findings and bus events (JSON lines, CSV)"},
    {"detect", cmd_detect, "Find the bus's bitrate in listen-only mode (root; never transmits)"},
    {"discover", cmd_discover, "Find the ECUs that answer, without a profile (through bodydiagd, or --iface as root; transmits)"},
    {"report", cmd_report, "One self-contained HTML report of a session (DTCs, causes, timeline)"},
    {"fleet", cmd_fleet, "The fleet database: vans with open faults, causes, histories, silent vans, HTML"},
    {"help", cmd_help, "Show this help"},
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: bodydiag <command> [<args>]\n\nCommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(f, "\n'bodydiag <command> --help' shows a command's options.\n");
}

static int cmd_help(int argc, char **argv)
{
	usage(stdout);
	return 0;
}

int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int r = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 1u << 16;
			char *nb = realloc(buf, ncap);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (r < 0) {
		free(buf);
		return r;
	}
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("bodydiag %s\n", BODYDIAG_VERSION);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bodydiag: unknown command '%s'\n\n", argv[1]);
	usage(stderr);
	return 1;
}
