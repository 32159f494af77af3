/* SPDX-License-Identifier: MIT */
/*
 * Live subscriptions (docs/api.md "live.subscribe"): DBC signals as the router decoded
 * them from the bus, sent to each subscriber on every change (and their first value);
 * the bus's attachment in the reply and as `live_bus` events when it changes.
 * The module asks the router for the messages its subscribers read, so frames nobody
 * reads are not decoded. A reload ends every subscription with `live_end`.
 */
#pragma once

#include <stdbool.h>

struct live;

/* The bus attached or detached: every subscriber gets a `live_bus` event saying so, so a
 * client waiting for changes can tell the person why none come. l may be NULL. */
void live_bus_event(struct live *l, bool attached, const char *detail);

extern const struct module live_module;
