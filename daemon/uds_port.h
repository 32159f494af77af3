/* SPDX-License-Identifier: MIT */
/*
 * The seam between the modules that ask ECUs something (the methods, the guided test,
 * the actuator test, the scans) and the UDS broker that does it: an ops table in front
 * of the broker, as iso14229 puts a transport vtable in front of its client. The daemon
 * fills it with the broker (uds_broker_port); the in-process tests put a scripted ECU
 * behind it. The contract is the broker's (uds_broker.h): done runs exactly once, from
 * the loop, never inside submit, unless the request is cancelled first. ECUs are named
 * (the profile's ids), so that a module's request reaches the right ECU also while a
 * reload renumbers them; an unknown name gives -ENOENT.
 */
#pragma once

#include <errno.h>

#include "uds_broker.h"

struct uds_port_request; /* a submitted request, until its done runs */

struct uds_port_ops {
	int (*submit)(void *impl, const char *ecu, enum uds_broker_priority prio, const uint8_t *req,
		      size_t len, uds_broker_done_fn done, void *userdata,
		      struct uds_port_request **ret_req);
	void (*cancel)(void *impl, struct uds_port_request *r);
	int (*functional)(void *impl, const uint8_t *req, size_t len,
			  uds_broker_functional_fn done, void *userdata);
};

struct uds_port {
	const struct uds_port_ops *ops; /* NULL: no broker, every request fails -ENODEV */
	void *impl;
};

/* The broker as a port. */
void uds_broker_port(struct uds_broker *b, struct uds_port *ret);

static inline int uds_port_submit(const struct uds_port *p, const char *ecu,
				  enum uds_broker_priority prio, const uint8_t *req, size_t len,
				  uds_broker_done_fn done, void *userdata,
				  struct uds_port_request **ret_req)
{
	if (!p->ops)
		return -ENODEV;
	return p->ops->submit(p->impl, ecu, prio, req, len, done, userdata, ret_req);
}

/* Accepts NULL (nothing outstanding). */
static inline void uds_port_cancel(const struct uds_port *p, struct uds_port_request *r)
{
	if (p->ops && r)
		p->ops->cancel(p->impl, r);
}

static inline int uds_port_functional(const struct uds_port *p, const uint8_t *req, size_t len,
				      uds_broker_functional_fn done, void *userdata)
{
	if (!p->ops)
		return -ENODEV;
	return p->ops->functional(p->impl, req, len, done, userdata);
}
