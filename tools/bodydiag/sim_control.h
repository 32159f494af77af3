/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * bodydiag-sim's control socket, from the client side: the simulator does a person's
 * action (tools/bodydiag-sim/README.md, "Control commands"). `bodydiag diagnose
 * --sim-control` and the matrices' matrix-tool (tests/scenarios) use it.
 */
#include <stddef.h>

/* The simulator's command for the action a mark names ("press fob_trunk" for
 * fob_trunk_pressed), NULL when it has none. */
const char *sim_control_command(const char *mark);
/* The mark of a simulator command that is a person's action, NULL for other commands. */
const char *sim_control_mark(const char *command);

/* Sends one command line to the control socket at path and reads its reply line into
 * reply ("ok", "ok ANSWER", "error ..."). Returns 0 or -errno. */
int sim_control_do(const char *path, const char *command, char *reply, size_t size);
