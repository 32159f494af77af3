/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * The bodydiag CLI: one table of commands in main.c, each command in its own
 * cmd-<name>.c with the signature below. argv[0] is the command name; the return value
 * is the process exit status.
 */

int cmd_decode(int argc, char **argv);

/* Reads a whole file ("-" for stdin) into a malloc'd buffer; -errno on failure. */
int read_file(const char *path, char **ret_buf, size_t *ret_len);
