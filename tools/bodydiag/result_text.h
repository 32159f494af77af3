/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * A diagnosis result as text: the object daemon/engine_json.c makes (`bodydiag analyze
 * --json`, the daemon's `findings` and `diagnose` replies) printed the way `bodydiag
 * analyze` prints it, so the offline analysis and the guided test through the daemon read
 * the same: body events, the roles the vehicle showed, the verdict, the chain, the
 * findings, what cannot be told and what it needs, the next check.
 */
#include <jansson.h>

struct out;

/* The top section (summary.h: answer, next check, chain, causes, DTCs), then the details
 * (result_text_details). events_from: what body events' times count from ("the start of
 * the capture"). */
void result_text_print(struct out *o, json_t *res, const char *events_from);
/* The details alone: body events, roles, verdict, the chain with its first evidence, every
 * finding with its evidence lines, advice and what it rules out, what cannot be told. */
void result_text_details(struct out *o, json_t *res, const char *events_from);
