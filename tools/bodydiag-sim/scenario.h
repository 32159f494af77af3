/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * scenario: the simulator's text commands and scenario files (grammar in README.md).
 *
 * One command language serves both the control channel (a line on stdin or the Unix
 * socket: `press fob_trunk`, `fault add hinge_wiring_open`, `status`) and scenario files
 * (`at 1.5s press fob_trunk`). Parsers are pure and streaming: they take memory, never
 * a file, and report errors with line and column.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "faults.h"
#include "model.h"

/* Longest accepted line, bytes without the newline. */
#define SIM_SCENARIO_LINE_MAX 1024u
/* Most timed steps a scenario may hold. */
#define SIM_SCENARIO_STEPS_MAX 10000u
/* Most faults given with the `fault` directive. */
#define SIM_SCENARIO_FAULTS_MAX 16u
/* Latest step time: one simulated day. */
#define SIM_SCENARIO_TIME_MAX_US (24LL * 3600 * 1000000)

enum sim_command_type {
	SIM_COMMAND_PRESS,
	SIM_COMMAND_KEY_BLADE,
	SIM_COMMAND_CLOSE_LID,
	SIM_COMMAND_IGNITION,
	SIM_COMMAND_SET_SPEED,
	SIM_COMMAND_SET_GEAR,
	SIM_COMMAND_SET_BATTERY,
	SIM_COMMAND_ALARM,       /* OEM perimeter alarm arm/disarm */
	SIM_COMMAND_AFTERMARKET, /* aftermarket alarm arm/disarm */
	SIM_COMMAND_VALET,
	SIM_COMMAND_FAULT_ADD,
	SIM_COMMAND_FAULT_REMOVE,
	SIM_COMMAND_FAULT_CLEAR,
	SIM_COMMAND_DTC_CLEAR,
	/* Queries: answered by the simulator, allowed on the control channel only. */
	SIM_COMMAND_STATUS,
	SIM_COMMAND_DTC,
	SIM_COMMAND_FAULTS,
	SIM_COMMAND_HELP,
	SIM_COMMAND_QUIT,
	_SIM_COMMAND_MAX,
};

/* A parsed command; only the fields of its type are meaningful. */
struct sim_command {
	enum sim_command_type type;
	enum sim_button button;   /* PRESS */
	unsigned fob;             /* PRESS of a fob button: slot 0..3 */
	double distance_m;        /* PRESS of a fob button; 0 = the model's default */
	int64_t hold_us;          /* PRESS of a switch; 0 = the model's default */
	enum sim_ignition ignition; /* IGNITION */
	double value;             /* SET_SPEED km/h, SET_BATTERY volts */
	enum sim_gear gear;       /* SET_GEAR */
	bool on;                  /* ALARM, AFTERMARKET (armed), VALET */
	enum sim_fault fault;     /* FAULT_ADD, FAULT_REMOVE */
	struct sim_fault_opts opts; /* FAULT_ADD */
};

struct sim_parse_error {
	unsigned line;   /* 1-based */
	unsigned column; /* 1-based byte column of the offending token */
	char message[160];
};

/* True for the query commands (status, dtc, faults, help, quit). */
bool sim_command_is_query(enum sim_command_type t);

/*
 * Parses one control-channel line (no newline needed; a trailing "\n" or "\r\n" and a
 * `# comment` are ignored). Returns 0 and *ret, -ENODATA for a blank line, -EINVAL with
 * *ret_err (line 1) on a mistake. ret_err may be NULL.
 */
int sim_command_parse(const char *line, size_t len, struct sim_command *ret,
		      struct sim_parse_error *ret_err);

/*
 * Carries a non-query command out on the model at its current time. Returns 0 or the
 * model's -errno (-EINVAL for queries, -ENOENT removing an absent fault, -ENODEV for
 * `aftermarket` without the alarm fault, -EBUSY for a switch already held).
 */
int sim_command_apply(const struct sim_command *c, struct sim_model *m);

/* The control-channel help text (one command per line). */
const char *sim_command_help(void);

struct sim_scenario_step {
	int64_t t_us;
	unsigned line;
	struct sim_command cmd;
};

struct sim_scenario;
struct sim_scenario_parser;

int sim_scenario_parser_new(struct sim_scenario_parser **ret);
struct sim_scenario_parser *sim_scenario_parser_free(struct sim_scenario_parser *p);
/*
 * Feeds len bytes (any split, including mid-line). Returns 0, or -EINVAL with *ret_err
 * at the first mistake (every later call fails the same way), -ENOMEM.
 */
int sim_scenario_parser_feed(struct sim_scenario_parser *p, const char *buf, size_t len,
			     struct sim_parse_error *ret_err);
/* Ends the input. Returns 0 and a new scenario (caller frees), or as _feed(). */
int sim_scenario_parser_finish(struct sim_scenario_parser *p, struct sim_scenario **ret,
			       struct sim_parse_error *ret_err);
/* Convenience: new + feed + finish over one buffer. */
int sim_scenario_parse(const char *buf, size_t len, struct sim_scenario **ret,
		       struct sim_parse_error *ret_err);

struct sim_scenario *sim_scenario_free(struct sim_scenario *sc);

/* Writes the scenario's seed, lockout, confirm/aging cycles, fobs, battery and fob
 * distance over cfg (fields the scenario does not set are left alone). */
void sim_scenario_model_config(const struct sim_scenario *sc, struct sim_model_config *cfg);
/* Broadcast-side settings: frame timing jitter (max, us) and noise frames per second. */
int64_t sim_scenario_jitter_us(const struct sim_scenario *sc);
double sim_scenario_noise_per_s(const struct sim_scenario *sc);
/* `end` if given, else the last step + 5 s. */
int64_t sim_scenario_end_us(const struct sim_scenario *sc);
size_t sim_scenario_n_steps(const struct sim_scenario *sc);
/* NULL when i is out of range. Steps are in time order. */
const struct sim_scenario_step *sim_scenario_step(const struct sim_scenario *sc, size_t i);

/* Adds the scenario's initial faults to a fresh model. 0 or the model's -errno. */
int sim_scenario_start(const struct sim_scenario *sc, struct sim_model *m);
/*
 * Steps the model to now_us, carrying out every step due on the way at its exact time.
 * *cursor is the index of the next step (start at 0). Queries in a scenario cannot
 * happen (the parser refuses them). Returns 0, or -errno of the failing step with
 * *cursor pointing at it.
 */
int sim_scenario_advance(const struct sim_scenario *sc, struct sim_model *m, size_t *cursor,
			 int64_t now_us);
