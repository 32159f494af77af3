/* SPDX-License-Identifier: MIT */
/*
 * Vehicle profiles: parse any bytes at once and in two chunks split at the first byte's
 * value; both must agree (same error, or same profile). A failure must say where and
 * why; a profile that loads has every DID decoded and formatted from the input's own
 * bytes, at its length and at a wrong one, and its [role] sections bound (lib/rolemap) to
 * a small DBC of its own, every source converting values taken from the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bodydiag/profile.h"
#include "bodydiag/role.h"
#include "bodydiag/rolemap.h"

/* What [role] sections of the seeds bind to: a plain, a labelled, a multiplexed signal. */
static const char DBC[] = "VERSION \"\"\n"
			  "BO_ 928 Trunk: 8 BCM\n"
			  " SG_ Cmd : 0|1@1+ (1,0) [0|1] \"\" X\n"
			  " SG_ Req : 1|3@1+ (1,0) [0|7] \"\" X\n"
			  " SG_ Speed : 8|16@1+ (0.01,0) [0|300] \"mph\" X\n"
			  " SG_ Page M : 24|8@1+ (1,0) [0|255] \"\" X\n"
			  " SG_ Lid m1 : 32|1@1- (1,0) [0|1] \"\" X\n"
			  "VAL_ 928 Req 0 \"Null\" 1 \"Remote\" 3 \"Key Cylinder\";\n";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int count(void *userdata, const struct profile_did *d, const struct dbc_signal *s,
		 struct dbc_value v, const char *label, const char *text)
{
	(void)d;
	(void)v;
	if (!s && !text)
		abort();
	if (label)
		(void)strlen(label);
	(*(size_t *)userdata)++;
	return 0;
}

static void walk(const struct profile *p, const uint8_t *data, size_t size)
{
	uint8_t payload[PROFILE_MAX_DID_LENGTH + 1];
	char line[256];

	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = size ? data[i % size] : 0;
	for (size_t i = 0; i < profile_ecu_count(p); i++) {
		const struct profile_ecu *e = profile_ecu_at(p, i);
		if (profile_ecu_find(p, e->id) != e)
			abort();
	}
	for (size_t i = 0; i < profile_did_count(p); i++) {
		const struct profile_did *d = profile_did_at(p, i);
		int len = profile_did_length(d);
		size_t n = len < 0 ? (size ? data[i % size] : 0) : (size_t)len, calls = 0;
		if (profile_did_find(p, profile_did_ecu(d), profile_did_id(d)) != d ||
		    !profile_did_find_name(p, profile_did_name(d)))
			abort();
		int r = profile_did_decode(d, payload, n, count, &calls);
		if (r == 0 && calls != (profile_did_is_ascii(d) ? 1 : profile_did_signal_count(d)))
			abort();
		if (r < 0 && r != -EBADMSG)
			abort();
		r = profile_did_format(d, payload, n, line, sizeof(line));
		if (r < 0 && r != -EBADMSG && r != -ENOBUFS)
			abort();
		if (len > 0 && profile_did_decode(d, payload, (size_t)len + 1, count, &calls) != -EBADMSG)
			abort();
	}
	for (size_t i = 0; i < profile_dtc_count(p); i++) {
		const struct profile_dtc *t = profile_dtc_at(p, i);
		if (!t->text || !t->source || !profile_dtc_find(p, t->ecu, t->code))
			abort();
	}
	for (size_t i = 0; i < profile_role_count(p); i++) {
		const struct profile_role *r = profile_role_at(p, i);
		const struct role *ro = role_at(r->role);
		if (!ro || !r->source || (r->grade != 'A' && r->grade != 'B' && r->grade != 'C'))
			abort();
		for (size_t k = 0; k < r->n_map; k++)
			if (r->map[k].value >= ro->n_labels)
				abort();
	}
	struct dbc *db = NULL;
	struct rolemap *m = NULL;
	struct profile_error err;
	if (dbc_parse(DBC, strlen(DBC), NULL, NULL, NULL, NULL, &db) < 0)
		abort();
	if (rolemap_new(p, size & 1 ? db : NULL, &err, &m) == 0) {
		for (size_t i = 0; i < rolemap_source_count(m); i++) {
			const struct rolemap_source *src = rolemap_source_at(m, i);
			double v, raw = size ? (double)(int8_t)data[i % size] : 0;
			rolemap_source_format(src, line, sizeof(line));
			if (rolemap_convert(src, raw, raw * 0.5, &v) == 0 &&
			    role_at(src->role)->kind != ROLE_KIND_NUMBER &&
			    !role_label(role_at(src->role), v))
				abort(); /* a label role takes labels only */
			if (!(rolemap_provides(m, src->role) & (ROLEMAP_BROADCAST | ROLEMAP_DID)))
				abort();
		}
	} else if (!err.line || !err.message[0]) {
		abort();
	}
	rolemap_free(m);
	dbc_free(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile_error e1, e2;
	struct profile *p1 = NULL, *p2 = NULL;
	struct profile_parser *pp;
	size_t split = size ? data[0] % (size + 1) : 0;
	int r1, r2;

	if (size > 256 * 1024)
		return 0;
	memset(&e1, 0, sizeof(e1));
	memset(&e2, 0, sizeof(e2));
	r1 = profile_parse((const char *)data, size, "fuzz.profile", &p1, &e1);
	pp = profile_parser_new("fuzz.profile");
	if (!pp)
		abort();
	r2 = profile_parser_feed(pp, (const char *)data, split, &e2);
	if (r2 == 0)
		r2 = profile_parser_feed(pp, (const char *)data + split, size - split, &e2);
	if (r2 == 0)
		r2 = profile_parser_finish(pp, &p2, &e2);
	profile_parser_free(pp);
	if (r1 != r2)
		abort();
	if (r1 < 0) {
		if (!e1.line || !e1.column || !e1.message[0] ||
		    !memchr(e1.message, '\0', sizeof(e1.message)) || memcmp(&e1, &e2, sizeof(e1)))
			abort();
		return 0;
	}
	if (profile_did_count(p1) != profile_did_count(p2) ||
	    profile_dtc_count(p1) != profile_dtc_count(p2) ||
	    profile_ecu_count(p1) != profile_ecu_count(p2) ||
	    profile_role_count(p1) != profile_role_count(p2))
		abort();
	walk(p1, data, size);
	profile_free(p1);
	profile_free(p2);
	return 0;
}
