/* SPDX-License-Identifier: MIT */
/*
 * vehicle: profile, DBC and rules for the offline commands (vehicle.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/dbc.h"
#include "bodydiag/profile.h"
#include "bodydiag/rules.h"
#include "config.h"
#include "vehicle.h"

const char vehicle_usage[] =
    "  --profile FILE  the vehicle profile: which roles of the release chain the car shows\n"
    "                  in which DBC signal or DID (profiles/README.md)\n"
    "  --vehicle NAME  a profile installed in the data directory (profiles/NAME.profile;\n"
    "                  'sim' = the simulated car of bodydiag-sim)\n"
    "  --dbc FILE      another DBC than the profile's own 'dbc ='\n";

const char *vehicle_datadir(void)
{
	const char *d = getenv("BODYDIAG_DATADIR");
	return d && d[0] ? d : BODYDIAG_DATADIR;
}

/* A parser's verdict: file:line:column for a mistake, the errno text otherwise. */
static int parse_result(int r, const char *path, const char *file, unsigned line,
			unsigned column, const char *message)
{
	if (r == -EINVAL)
		fprintf(stderr, "%s:%u:%u: error: %s\n", file, line, column, message);
	else if (r < 0)
		fprintf(stderr, "bodydiag: %s: %s\n", path, strerror(-r));
	return r;
}

static int load_text(const char *path, char **ret_text, size_t *ret_len)
{
	int r = read_file(path, ret_text, ret_len);
	if (r < 0)
		fprintf(stderr, "bodydiag: %s: %s\n", path, strerror(-r));
	return r;
}

int vehicle_load_dbc(const char *path, struct dbc **ret)
{
	struct dbc_error err;
	char *text;
	size_t len;
	int r = load_text(path, &text, &len);
	if (r < 0)
		return r;
	r = dbc_parse(text, len, path, NULL, NULL, &err, ret);
	free(text);
	return parse_result(r, path, err.file, err.line, err.column, err.message);
}

static int load_rules(const char *path, struct rules_set **ret)
{
	struct rules_error err;
	char *text;
	size_t len;
	int r = load_text(path, &text, &len);
	if (r < 0)
		return r;
	r = rules_parse(text, len, path, &err, ret);
	free(text);
	return parse_result(r, path, err.file, err.line, err.column, err.message);
}

static int set_path(char *dst, const char *fmt, const char *a, const char *b)
{
	if (snprintf(dst, PATH_MAX, fmt, a, b) >= PATH_MAX) {
		fprintf(stderr, "bodydiag: path too long: %s/%s\n", a, b);
		return -ENAMETOOLONG;
	}
	return 0;
}

static int find_profile(const struct vehicle_args *a, char *path)
{
	if (a->profile && a->vehicle) {
		fprintf(stderr, "bodydiag: give --profile or --vehicle, not both\n");
		return -EINVAL;
	}
	if (a->profile)
		return set_path(path, "%s%s", a->profile, "");
	if (!a->vehicle) {
		fprintf(stderr,
			"bodydiag: which vehicle? Give --profile FILE (profiles/README.md), or "
			"--vehicle NAME for a profile in %s/profiles (--vehicle sim: the simulated "
			"car)\n",
			vehicle_datadir());
		return -EINVAL;
	}
	const char *name = strcmp(a->vehicle, "sim") == 0 ? "sim-2026" : a->vehicle;
	if (strchr(name, '/')) {
		fprintf(stderr, "bodydiag: --vehicle takes a profile name, not a path (use "
				"--profile FILE)\n");
		return -EINVAL;
	}
	int r = set_path(path, "%s/profiles/%s.profile", vehicle_datadir(), name);
	if (r == 0 && access(path, R_OK) < 0) {
		fprintf(stderr, "bodydiag: no vehicle '%s': %s: %s\n", a->vehicle, path,
			strerror(errno));
		return -ENOENT;
	}
	return r;
}

/* trunk.rules beside the profile's ../rules/, then in the data directory. */
static int find_rules(const struct vehicle_args *a, const char *profile_path, char *path)
{
	char cand[2][PATH_MAX];
	const char *slash = strrchr(profile_path, '/');
	if (a->rules)
		return set_path(path, "%s%s", a->rules, "");
	snprintf(cand[0], PATH_MAX, "%.*s/../rules/trunk.rules",
		 slash ? (int)(slash - profile_path) : 1, slash ? profile_path : ".");
	snprintf(cand[1], PATH_MAX, "%s/rules/trunk.rules", vehicle_datadir());
	for (int i = 0; i < 2; i++)
		if (access(cand[i], R_OK) == 0)
			return set_path(path, "%s%s", cand[i], "");
	fprintf(stderr, "bodydiag: no rule file: give --rules FILE (looked for %s and %s)\n",
		cand[0], cand[1]);
	return -ENOENT;
}

int vehicle_load(const struct vehicle_args *args, bool with_rules, struct vehicle_data *ret)
{
	struct vehicle_data d = {0};
	struct profile_error perr;
	char msg[600];
	int r;

	if ((r = find_profile(args, d.profile_path)) < 0)
		return r;
	r = profile_load(d.profile_path, &d.profile, &perr);
	if (r < 0) {
		/* "file:line:column: message", or "file: strerror" for I/O */
		profile_error_format(&perr, msg, sizeof(msg));
		fprintf(stderr, "%s\n", msg);
		return r;
	}
	if (args->dbc) {
		r = set_path(d.dbc_path, "%s%s", args->dbc, "");
	} else {
		r = profile_dbc_path(d.profile, d.profile_path, vehicle_datadir(), d.dbc_path,
				     sizeof(d.dbc_path));
		if (r == -ENOENT && !profile_dbc(d.profile))
			fprintf(stderr,
				"bodydiag: %s names no DBC (dbc = in [vehicle]): give --dbc FILE\n",
				d.profile_path);
		else if (r == -ENOENT)
			fprintf(stderr, "bodydiag: %s: its DBC '%s' is not in %s\n", d.profile_path,
				profile_dbc(d.profile), d.dbc_path);
		else if (r < 0)
			fprintf(stderr, "bodydiag: %s: %s\n", d.profile_path, strerror(-r));
	}
	if (r >= 0)
		r = vehicle_load_dbc(d.dbc_path, &d.dbc);
	if (r >= 0 && with_rules) {
		r = find_rules(args, d.profile_path, d.rules_path);
		if (r >= 0)
			r = load_rules(d.rules_path, &d.rules);
	}
	if (r < 0) {
		vehicle_data_clear(&d);
		return r;
	}
	*ret = d;
	return 0;
}

void vehicle_data_clear(struct vehicle_data *d)
{
	rules_set_free(d->rules);
	dbc_free(d->dbc);
	profile_free(d->profile);
	d->rules = NULL;
	d->dbc = NULL;
	d->profile = NULL;
}
