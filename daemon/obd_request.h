/* SPDX-License-Identifier: MIT */
/*
 * The method `obd.request` (docs/api.md): a functional OBD request (SAE J1979 over ISO
 * 15765-4: mode 01 PIDs, 02 freeze frame, 03/07/0A DTCs, 04 clear, 09 vehicle info) sent
 * once on the functional id through the broker (uds_broker_functional), answered by every
 * profile ECU with a `functional` id that responds; each answer decoded with lib/obd.
 * The transmit policy decides first (listen-only, no functional request during an
 * actuator test, at most one per FUNCTIONAL_MIN_INTERVAL_US); mode 04, which clears the
 * emission-related DTCs and freeze frames, needs the admin privilege.
 */
#pragma once

struct obd_requests;

extern const struct module obd_module;
