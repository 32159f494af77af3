/* SPDX-License-Identifier: MIT */
/*
 * The API method "history" (docs/api.md): params are the filters (since, until, vin,
 * code, cause, session, kind, limit); the reply holds at most limit rows and 512 KiB.
 * The records module registers it.
 */
#pragma once

#include <jansson.h>

#include "history.h"

struct api_request;

/* Answers req (a "history" request with params) from h. */
void history_api_query(struct history *h, struct api_request *req, json_t *params);
