/* SPDX-License-Identifier: MIT */
#pragma once

/*
 * vehicle: the data an offline command runs on (a vehicle profile, its DBC, the rules),
 * found the way the daemon finds them and loaded with file:line:column errors on stderr.
 *
 * Nothing is taken silently: the profile is `--profile FILE` or `--vehicle NAME` (a
 * profile installed in the data directory, `sim` for the simulated car); its DBC is the
 * profile's own `dbc =` (beside the profile, then ../dbc/, then DATADIR/dbc/) unless
 * `--dbc` overrides it; the rules are `--rules FILE` or trunk.rules beside the profile's
 * ../rules/, then DATADIR/rules/. The data directory is $BODYDIAG_DATADIR, else the one
 * bodydiag was installed with.
 */

#include <limits.h>
#include <stdbool.h>

struct dbc;
struct profile;
struct rules_set;

struct vehicle_args {
	const char *vehicle; /* --vehicle NAME, or NULL */
	const char *profile; /* --profile FILE, or NULL */
	const char *dbc;     /* --dbc FILE, or NULL: the profile's */
	const char *rules;   /* --rules FILE, or NULL: the default rule file */
};

struct vehicle_data {
	struct profile *profile;
	struct dbc *dbc;
	struct rules_set *rules; /* NULL unless asked for */
	char profile_path[PATH_MAX];
	char dbc_path[PATH_MAX];
	char rules_path[PATH_MAX];
};

/* The data directory ($BODYDIAG_DATADIR, else the installed one). */
const char *vehicle_datadir(void);

/*
 * Loads what args name; with_rules also the rule file. Returns 0 and *ret (free it with
 * vehicle_data_clear()); a negative errno with the reason printed.
 */
int vehicle_load(const struct vehicle_args *args, bool with_rules, struct vehicle_data *ret);
void vehicle_data_clear(struct vehicle_data *d);
/* One DBC file alone (`changes --dbc`); the reason is printed on failure. */
int vehicle_load_dbc(const char *path, struct dbc **ret);

/* The usage lines of the options above, for the commands' --help. */
extern const char vehicle_usage[];
