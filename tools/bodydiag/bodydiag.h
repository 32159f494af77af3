/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The bodydiag CLI: one table of commands in main.c, each command in its own
 * cmd-<name>.c with the signature below. argv[0] is the command name; the return value
 * is the process exit status.
 */

int cmd_decode(int argc, char **argv);
int cmd_history(int argc, char **argv); /* cmd-history.c */
int cmd_report(int argc, char **argv);  /* cmd-report.c */
int cmd_analyze(int argc, char **argv);
int cmd_changes(int argc, char **argv); /* cmd-changes.c */
int cmd_uds(int argc, char **argv);
/* API clients of bodydiagd (cmd-client.c) */
int cmd_status(int argc, char **argv);
int cmd_ecus(int argc, char **argv);
int cmd_dtc(int argc, char **argv);
int cmd_did(int argc, char **argv);
int cmd_live(int argc, char **argv);
int cmd_mark(int argc, char **argv);
int cmd_diagnose(int argc, char **argv);
int cmd_actuator(int argc, char **argv); /* cmd-actuator.c */
int cmd_fleet(int argc, char **argv);    /* cmd-fleet.c: runs bodydiag-fleet */
/* Standalone on a CAN interface, through lib/linux (no daemon) */
int cmd_detect(int argc, char **argv);	 /* cmd-detect.c */
int cmd_discover(int argc, char **argv); /* cmd-discover.c */

/* Reads a whole file ("-" for stdin) into a malloc'd buffer; -errno on failure. */
int read_file(const char *path, char **ret_buf, size_t *ret_len);
