/* SPDX-License-Identifier: MIT */
/*
 * Live subscriptions (docs/api.md "live.subscribe"): DBC signals as the router decoded
 * them from the bus, sent to each subscriber on every change (and their first value).
 * The module asks the router for the messages its subscribers read, so frames nobody
 * reads are not decoded. A reload ends every subscription with `live_end`.
 */
#pragma once

struct live;

extern const struct module live_module;
