/* SPDX-License-Identifier: MIT */
/*
 * The simulator's UDS server against arbitrary request sequences. Input: records of
 * [flags][len][len bytes]; flags bit 0 = functional, bit 1 = OBD, bits 2..7 = time step
 * in 100 ms units before the request. The server must never write past its buffer or
 * answer with a malformed negative response.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model.h"
#include "uds_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sim_model *m;
	struct sim_uds *u;
	uint8_t resp[SIM_UDS_RESPONSE_MAX];
	int64_t now = 0;
	size_t i = 0;

	if (sim_model_new(NULL, &m) < 0)
		return 0;
	if (sim_uds_new(m, NULL, &u) < 0) {
		sim_model_free(m);
		return 0;
	}
	sim_model_fault_add(m, SIM_FAULT_HINGE_WIRING_OPEN, NULL);
	while (i + 2 <= size) {
		uint8_t flags = data[i], len = data[i + 1];
		size_t rlen, n;
		int64_t next;

		i += 2;
		if (len > size - i)
			len = (uint8_t)(size - i);
		now += (int64_t)(flags >> 2) * 100000;
		sim_model_step(m, now);
		if (sim_uds_poll(u, now, resp, sizeof(resp), &rlen, &next) < 0)
			__builtin_trap();
		if (len > 0) {
			if (flags & 2)
				sim_uds_obd_request(u, data + i, len, resp, sizeof(resp), &rlen);
			else if (sim_uds_request(u, now, flags & 1, data + i, len, resp,
						 sizeof(resp), &rlen) < 0)
				__builtin_trap();
			if (rlen > sizeof(resp))
				__builtin_trap();
			if (!(flags & 2) && rlen > 0 && resp[0] == 0x7F &&
			    (rlen != 3 || resp[1] != data[i]))
				__builtin_trap();
		}
		n = len;
		i += n;
	}
	sim_uds_free(u);
	sim_model_free(m);
	return 0;
}
