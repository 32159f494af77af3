/* SPDX-License-Identifier: MIT */
/*
 * bodydiag fleet: the operator's view of the fleet database. The work is done by
 * bodydiag-fleet (fleet/fleet-view.c), a separate program: it links libpq, which the CLI on
 * a van does not need and should not carry. This command only finds and runs it: beside
 * this binary (installed), in the build tree (fleet/), or on PATH.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bodydiag.h"

int cmd_fleet(int argc, char **argv)
{
	static const char *const beside[] = {"/bodydiag-fleet", "/../../fleet/bodydiag-fleet"};
	char self[PATH_MAX], path[PATH_MAX + 64];
	const char *env = getenv("BODYDIAG_FLEET");
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	argv[0] = (char *)"bodydiag-fleet";
	if (env && *env) {
		execv(env, argv);
		fprintf(stderr, "bodydiag fleet: %s: %s\n", env, strerror(errno));
		return 1;
	}
	if (n > 0) {
		self[n] = '\0';
		char *slash = strrchr(self, '/');
		if (slash)
			*slash = '\0';
		for (size_t i = 0; i < sizeof(beside) / sizeof(beside[0]); i++) {
			snprintf(path, sizeof(path), "%s%s", self, beside[i]);
			if (access(path, X_OK) == 0)
				execv(path, argv);
		}
	}
	execvp("bodydiag-fleet", argv);
	fprintf(stderr, "bodydiag fleet: bodydiag-fleet not found (%s): it is built with "
			"PostgreSQL's libpq (meson option fleet) and installed with the ingest\n",
		strerror(errno));
	return 1;
}
