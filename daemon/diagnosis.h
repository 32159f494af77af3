/* SPDX-License-Identifier: MIT */
/*
 * The live diagnosis: lib/engine fed by the router with what the bus shows (the frames
 * of the messages its rules read, decoded once by the router, unknown ids, error frames
 * and bus-off), every UDS exchange whoever made it (a client's `dtc.read`, a scan, this
 * module's own reads, another tester on the bus), and every mark; and the guided test on
 * top of it (docs/api.md "diagnose").
 *
 * API methods:
 *   findings   the engine's ranked findings now (what the bus has shown so far)
 *   diagnose   the guided test: reads the fault memory and the DIDs the rules use, then
 *              asks for the splitting actions (events "diagnose.question") one at a
 *              time, waiting for each as a mark, rereads after each action, and replies
 *              with the verdict and the ranked causes. One at a time per daemon, and only
 *              when the transmit policy allows it (not during an actuator test).
 *
 * Transmits only what the guided test needs (0x19 and 0x22 through the UDS port, at
 * interactive priority), only while a client runs it. Each test is a history session:
 * the findings with their evidence and the timeline of the signals the rules read (the
 * DTCs read during it are recorded by the records module, from the router).
 *
 * The guided test runs on the core's clock and UDS port, so the in-process tests drive
 * every state and exit path with a fake clock and a scripted ECU.
 */
#pragma once

struct diagnosis;
struct engine;

enum diagnosis_state {
	DIAGNOSIS_IDLE,
	DIAGNOSIS_STARTING, /* accepted, nothing sent yet */
	DIAGNOSIS_READING,  /* UDS reads outstanding */
	DIAGNOSIS_ASKING,   /* a question is out, waiting for its mark */
	DIAGNOSIS_WAITING,  /* a rule window is open after an action */
	DIAGNOSIS_STATE_MAX,
};

/* The state of the guided test (tests); IDLE for NULL. */
enum diagnosis_state diagnosis_state(const struct diagnosis *g);
/* The engine (NULL without rules), for tests and reports. */
struct engine *diagnosis_engine(const struct diagnosis *g);

extern const struct module diagnosis_module;
