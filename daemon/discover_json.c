/* SPDX-License-Identifier: MIT */
#include "discover_json.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bodydiag/discover.h"
#include "bodydiag/uds.h"

json_t *discover_json_ecu(const struct discover_ecu *e)
{
	char addr[160], text[3 * DISCOVER_IDENT_BYTES + 8], key[8];
	json_t *o = json_object(), *id = json_object();
	const char *role = discover_guess_role(e);
	struct vin_info v;

	isotp_addr_format(&e->addr, addr, sizeof(addr));
	json_object_set_new(o, "address", json_string(addr));
	json_object_set_new(o, "addressing", json_string(isotp_addr_mode_name(e->addr.mode)));
	json_object_set_new(o, "request", json_integer(e->addr.tx_id));
	json_object_set_new(o, "response", json_integer(e->addr.rx_id));
	json_object_set_new(o, "ext_ids", json_boolean(e->addr.ext_ids));
	json_object_set_new(
	    o, "found_by",
	    json_string(e->found_by == DISCOVER_FOUND_PHYSICAL ? "physical" : "functional"));
	json_object_set_new(o, "request_guessed", json_boolean(e->request_guessed));
	json_object_set_new(o, "uds", json_boolean(e->uds));
	json_object_set_new(o, "obd", json_boolean(e->obd));
	json_object_set_new(o, "probe_nrc",
			    e->probe_nrc ? json_integer(e->probe_nrc) : json_null());
	json_object_set_new(o, "latency_ms", json_real((double)e->latency_us / 1000.0));
	json_object_set_new(o, "status", json_string(discover_ecu_status_name(e->status)));
	json_object_set_new(o, "role", role ? json_string(role) : json_null());
	for (enum discover_ident_id i = 0; i < DISCOVER_ID_MAX; i++) {
		const struct discover_ident *x = &e->ident[i];
		json_t *v1;
		if (x->state == DISCOVER_IDENT_NOT_ASKED)
			continue;
		if (discover_ident_did(i))
			snprintf(key, sizeof(key), "%04X", discover_ident_did(i));
		else
			snprintf(key, sizeof(key), "OBD09");
		v1 = json_pack("{s:s}", "state", discover_ident_state_name(x->state));
		if (x->state == DISCOVER_IDENT_OK) {
			discover_ident_format(x, text, sizeof(text));
			json_object_set_new(v1, "value", json_string(text));
		} else if (x->state == DISCOVER_IDENT_NEGATIVE) {
			json_object_set_new(v1, "nrc", json_integer(x->nrc));
		}
		json_object_set_new(id, key, v1);
	}
	json_object_set_new(o, "identification", id);
	int r = discover_ecu_vin(e, &v);
	if (r == 0)
		json_object_set_new(
		    o, "vin",
		    json_pack("{s:s,s:b,s:s?,s:s?,s:s,s:o}", "vin", v.vin, "valid", 1, "maker",
			      v.maker ? v.maker->brand : NULL, "make",
			      v.maker ? v.maker->make : NULL, "check", vin_check_name(v.check),
			      "model_year",
			      v.model_year ? json_integer(v.model_year) : json_null()));
	else if (r == -EINVAL)
		json_object_set_new(o, "vin",
				    json_pack("{s:b,s:s}", "valid", 0, "reason", v.reason));
	return o;
}

json_t *discover_json_run(const struct discover *d, const char *iface, const char *status,
			  double seconds, unsigned rate)
{
	json_t *o = json_object(), *ecus = json_array();
	char stop[160] = "";

	for (size_t i = 0; i < discover_ecu_count(d); i++)
		json_array_append_new(ecus, discover_json_ecu(discover_ecu_at(d, i)));
	if (discover_status(d) == DISCOVER_BUS_ERROR)
		bd_frame_err_format(discover_stop_frame(d), stop, sizeof(stop));
	else if (discover_status(d) == DISCOVER_SEND_ERROR)
		snprintf(stop, sizeof(stop), "%s", strerror(-discover_stop_errno(d)));
	json_object_set_new(o, "iface", json_string(iface));
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "requests", json_integer(discover_requests_sent(d)));
	json_object_set_new(o, "skipped", json_integer(discover_probes_skipped(d)));
	json_object_set_new(o, "seconds", json_real(seconds));
	json_object_set_new(o, "rate", json_integer(rate));
	json_object_set_new(o, "stop", stop[0] ? json_string(stop) : json_null());
	json_object_set_new(o, "ecus", ecus);
	return o;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

void discover_json_print(FILE *f, const json_t *run)
{
	const json_t *ecus = json_object_get(run, "ecus"), *e;
	size_t i;

	if (json_array_size(ecus) == 0)
		fprintf(f, "no ECU answered\n");
	else
		fprintf(f, "%-44s %-10s %9s  %-12s %s\n", "address", "found by", "latency", "role",
			"status");
	json_array_foreach(ecus, i, e)
	{
		const json_t *ids = json_object_get(e, "identification"), *x, *vin;
		const char *key, *role = str(e, "role");

		fprintf(f, "%-44s %-10s %6.1f ms  %-12s %s%s%s\n", str(e, "address"),
			str(e, "found_by"), json_number_value(json_object_get(e, "latency_ms")),
			*role ? role : "-", str(e, "status"),
			json_is_true(json_object_get(e, "obd")) ? ", OBD-II" : "",
			json_is_true(json_object_get(e, "request_guessed")) ? ", request id guessed"
									    : "");
		if (json_is_integer(json_object_get(e, "probe_nrc"))) {
			int nrc = (int)json_integer_value(json_object_get(e, "probe_nrc"));
			const char *n = uds_nrc_name((uint8_t)nrc);

			fprintf(f, "    probe answered negatively: NRC 0x%02X %s\n", nrc,
				n ? n : "");
		}
		for (enum discover_ident_id k = 0; k < DISCOVER_ID_MAX; k++) {
			char label[32], did[8];

			if (discover_ident_did(k)) {
				snprintf(did, sizeof(did), "%04X", discover_ident_did(k));
				snprintf(label, sizeof(label), "%s (%s)", discover_ident_name(k),
					 did);
			} else {
				snprintf(did, sizeof(did), "OBD09");
				snprintf(label, sizeof(label), "%s", discover_ident_name(k));
			}
			key = did;
			x = json_object_get(ids, key);
			if (!x)
				continue;
			if (!strcmp(str(x, "state"), "ok")) {
				fprintf(f, "    %-20s %s\n", label, str(x, "value"));
			} else if (!strcmp(str(x, "state"), "negative")) {
				int nrc = (int)json_integer_value(json_object_get(x, "nrc"));
				const char *n = uds_nrc_name((uint8_t)nrc);

				fprintf(f, "    %-20s NRC 0x%02X %s\n", label, nrc, n ? n : "");
			} else {
				fprintf(f, "    %-20s %s\n", label, str(x, "state"));
			}
		}
		vin = json_object_get(e, "vin");
		if (json_is_true(json_object_get(vin, "valid")))
			fprintf(f, "    VIN %s: %s, check digit %s\n", str(vin, "vin"),
				*str(vin, "maker") ? str(vin, "maker")
						   : "maker not in the WMI table",
				str(vin, "check"));
		else if (vin)
			fprintf(f, "    VIN not valid: %s\n", str(vin, "reason"));
	}
	fprintf(f, "%s: %zu ECUs, %lld requests in %.1f s, %lld probes skipped (id in use or ours)",
		str(run, "status"), json_array_size(ecus),
		(long long)json_integer_value(json_object_get(run, "requests")),
		json_number_value(json_object_get(run, "seconds")),
		(long long)json_integer_value(json_object_get(run, "skipped")));
	if (json_is_string(json_object_get(run, "stop")))
		fprintf(f, ": %s", str(run, "stop"));
	fprintf(f, "\n");
}
