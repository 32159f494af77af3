/* SPDX-License-Identifier: MIT */
/*
 * The simulator's scenario parser, fed in pieces the input itself chooses, and every
 * parsed scenario run through the model for a short while: a scenario file is user
 * input, and so is each control-channel line.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_scenario_parser *p;
	struct sim_scenario *sc = NULL;
	struct sim_parse_error err;
	struct sim_command cmd;
	size_t off = 0, chunk;
	int r;

	if (size > 65536)
		return 0;
	/* Every line also goes through the control-channel parser. */
	for (size_t start = 0, i = 0; i <= size; i++) {
		if (i == size || data[i] == '\n') {
			if (sim_command_parse((const char *)data + start, i - start, &cmd, &err) == 0 &&
			    !sim_command_is_query(cmd.type)) {
				struct sim_model *m;
				if (sim_model_new(NULL, &m) == 0) {
					sim_command_apply(&cmd, m);
					sim_model_step(m, 200000);
					sim_model_free(m);
				}
			}
			start = i + 1;
		}
	}

	if (sim_scenario_parser_new(&p) < 0)
		return 0;
	/* The first byte picks the chunk size, so splits land everywhere. */
	chunk = size ? (size_t)data[0] % 17 + 1 : 1;
	r = 0;
	while (r == 0 && off < size) {
		size_t n = size - off < chunk ? size - off : chunk;
		r = sim_scenario_parser_feed(p, (const char *)data + off, n, &err);
		off += n;
	}
	if (r == 0)
		r = sim_scenario_parser_finish(p, &sc, &err);
	if (r < 0)
		/* Errors must carry a position and a message. */
		if (err.line == 0 || err.column == 0 || err.message[0] == '\0')
			__builtin_trap();
	sim_scenario_parser_free(p);

	if (sc) {
		struct sim_model_config cfg;
		struct sim_model *m;
		size_t cursor = 0;
		int64_t end = sim_scenario_end_us(sc);

		/* Bound the simulated time so one input stays cheap. */
		if (end > 20000000)
			end = 20000000;
		sim_model_config_init(&cfg);
		sim_scenario_model_config(sc, &cfg);
		if (sim_model_new(&cfg, &m) == 0) {
			if (sim_scenario_start(sc, m) == 0)
				for (int64_t t = 0; t <= end; t += 50000)
					if (sim_scenario_advance(sc, m, &cursor, t) < 0)
						cursor++;
			sim_model_free(m);
		}
		sim_scenario_free(sc);
	}
	return 0;
}
