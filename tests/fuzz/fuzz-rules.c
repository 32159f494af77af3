/* SPDX-License-Identifier: MIT */
/*
 * Rule files: parse any bytes; when they parse, compile them for a vehicle that shows a
 * part of the roles (chosen by the same bytes) and run the engine over a short synthetic
 * timeline derived from the same bytes, so the evaluator, the four truth values, the
 * ranking, the links and the question helper see every rule shape the parser accepts.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "bodydiag/role.h"
#include "bodydiag/rules.h"
#include "bodydiag/timeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rules_error err;
	struct rules_set *set = NULL;
	if (size > 256 * 1024)
		return 0;
	if (rules_parse(data, size, "fuzz.rules", &err, &set) < 0) {
		/* every failure says where and why */
		if (!err.line || !err.column || !err.message[0] ||
		    !memchr(err.message, '\0', sizeof(err.message)))
			__builtin_trap();
		return 0;
	}
	struct timeline_symbols *syms = timeline_symbols_new();
	struct rules_engine *e = NULL;
	uint8_t roles[64];
	for (size_t k = 0; k < sizeof(roles); k++)
		roles[k] = ((data[k % size] ^ k) & 3) != 0;
	struct rules_vehicle v = {.roles = roles};
	if (!syms || role_count() > sizeof(roles) ||
	    rules_engine_new(set, syms, size % 5 ? &v : NULL, &err, &e) < 0)
		goto out;
	size_t nsig = timeline_symbols_count(syms, TIMELINE_SYMBOL_SIGNAL);
	size_t nmark = timeline_symbols_count(syms, TIMELINE_SYMBOL_MARK);
	int64_t t = 0;
	/* the input's bytes, read again, drive a timeline: bounded, deterministic */
	for (size_t i = 0; i + 1 < size && i < 4096; i += 2) {
		uint8_t a = data[i], b = data[i + 1];
		struct timeline_event ev;
		t += (int64_t)(a & 0x0F) * 37000;
		switch (a >> 6) {
		case 0:
			ev = timeline_event_signal(t, nsig ? b % nsig : 0, (double)(b & 0x0F) - 2);
			break;
		case 1:
			ev = timeline_event_mark(t, nmark ? b % nmark : 0);
			break;
		case 2:
			ev = b & 1 ? timeline_event_dtc_read(t, TIMELINE_MODULE_NONE)
				   : timeline_event_dtc(t, TIMELINE_MODULE_NONE, 0x9A4000u | b, a);
			break;
		default:
			ev = timeline_event_transport(
			    t, (enum timeline_transport)(b % TIMELINE_TRANSPORT_MAX), 0x7E8, 0x22,
			    b);
			break;
		}
		rules_feed(e, &ev);
		if ((a & 0x30) == 0x30)
			rules_advance(
			    e, rules_next_deadline(e) == INT64_MAX ? t : rules_next_deadline(e));
	}
	rules_advance(e, t + 60000000);
	rules_evaluate(e);
	char buf[512];
	for (size_t i = 0; i < rules_finding_count(e); i++) {
		const struct rules_finding *f = rules_finding_at(e, i);
		for (size_t j = 0; j < f->n_evidence; j++)
			rules_evidence_format(e, &f->evidence[j], buf, sizeof(buf));
		for (size_t j = 0; j < f->n_missing; j++)
			rules_missing_format(&f->missing[j], buf, sizeof(buf));
	}
	for (size_t i = 0; i < RULES_CHAIN_LINKS; i++) {
		const struct rules_link *l = rules_link_at(e, i);
		if (!l || (unsigned)l->state >= RULES_LINK_STATE_MAX)
			__builtin_trap();
		for (size_t j = 0; j < l->n_evidence; j++)
			rules_evidence_format(e, &l->evidence[j], buf, sizeof(buf));
	}
	struct rules_question q;
	rules_next_question(e, &q);
	rules_reset(e, t + 60000001);
	rules_evaluate(e);
out:
	rules_engine_free(e);
	timeline_symbols_free(syms);
	rules_set_free(set);
	return 0;
}
