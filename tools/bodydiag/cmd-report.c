/* SPDX-License-Identifier: MIT */
/*
 * bodydiag report [--db PATH] [--session ID] [-o FILE.html] [--pdf FILE.pdf]
 *                 [--paper a4|letter]
 *
 * One diagnosis session from the history store as a page for the customer and the
 * technician (report.h: the answer, the chain, the causes, the DTCs, the timeline), as
 * HTML and, through headless Chromium's print-to-PDF, as PDF. The session's stored
 * result (the guided test's reply, daemon/engine_json.c's shape) gives the chain, the
 * verdict and the DTCs' texts; a session recorded before results were stored is drawn
 * from its findings and DTC rows, and says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bodydiag.h"
#include "bodydiag/dtc.h"
#include "daemon/config.h"
#include "daemon/history.h"
#include "report.h"

#define MAX_ROWS 65536

extern char **environ;

static const char USAGE[] =
    "Usage: bodydiag report [--db PATH] [--session ID] [-o FILE.html] [--pdf FILE.pdf]\n"
    "                       [--paper a4|letter]\n";

/* ---- the session from the history ---- */

struct load {
	struct report *r;
	json_t *findings; /* rebuilt result: from the finding rows */
	json_t *dtcs;	  /* from the DTC rows: the last status of each */
};

static int on_timeline(int64_t t_us, const char *series, double value, const char *label,
		       void *userdata)
{
	return report_add_point(userdata, series, t_us, value, label);
}

static int on_row(const struct history_row *row, void *userdata)
{
	struct load *l = userdata;
	struct report *r = l->r;
	char code[DTC_TEXT_MAX], text[256];
	json_t *d;
	size_t i;

	switch (row->kind) {
	case HISTORY_KIND_SESSION:
		r->start_us = row->t_us;
		r->end_us = row->end_us;
		snprintf(r->vin, sizeof(r->vin), "%s", row->vin ? row->vin : "");
		snprintf(r->label, sizeof(r->label), "%s", row->detail ? row->detail : "");
		return 0;
	case HISTORY_KIND_DTC:
		/* the last read of each ECU and code wins */
		if (dtc_format((uint32_t)row->code, code, sizeof(code)) < 0)
			return 0;
		json_array_foreach(
		    l->dtcs, i,
		    d) if (json_integer_value(json_object_get(d, "dtc")) == row->code &&
			   !strcmp(json_string_value(json_object_get(d, "ecu")),
				   row->ecu)) return json_object_set_new(d, "status",
									 json_integer(row->status));
		const char *ftb = dtc_ftb_name((uint8_t)(row->code & 0xff));
		return json_array_append_new(
		    l->dtcs, json_pack("{s:s, s:s, s:I, s:i, s:n, s:s?}", "ecu", row->ecu, "code",
				       code, "dtc", (json_int_t)row->code, "status", row->status,
				       "text", "failure_type", ftb));
	case HISTORY_KIND_FINDING: {
		json_t *ev = row->evidence ? json_loads(row->evidence, 0, NULL) : NULL;
		/* an older session: the id stands for the title */
		/* the evidence of an older session is not the engine's: not shown */
		json_decref(ev);
		return json_array_append_new(
		    l->findings,
		    json_pack("{s:s, s:s, s:s, s:s, s:s, s:f, s:[]}", "id", row->cause, "title",
			      row->cause, "kind", "cause", "state",
			      row->state ? row->state : "holds", "advice",
			      row->advice ? row->advice : "", "score",
			      isnan(row->confidence) ? 0.0 : row->confidence, "evidence"));
	}
	case HISTORY_KIND_BUS:
		snprintf(text, sizeof(text), "%s %s%s%s", row->interface, row->event,
			 row->detail ? ": " : "", row->detail ? row->detail : "");
		return json_array_append_new(r->bus_events,
					     json_pack("{s:f, s:s}", "t",
						       (double)(row->t_us - r->start_us) / 1e6,
						       "text", text));
	case HISTORY_KIND_TRANSITION:
	case HISTORY_KIND_MAX:
		break;
	}
	return 0;
}

static int keep_id(const struct history_row *row, void *userdata)
{
	*(int64_t *)userdata = row->id;
	return 0;
}

/* The newest session (the query returns them oldest first). */
static int latest_session(struct history *h, int64_t *ret)
{
	int64_t last = 0;
	int r = history_query(h, &(struct history_filter){.kinds = 1u << HISTORY_KIND_SESSION},
			      keep_id, &last);

	if (r < 0)
		return r;
	if (r == 0)
		return -ENOENT;
	*ret = last;
	return 0;
}

static int load(struct history *h, int64_t session, struct report *r)
{
	struct load l = {.r = r, .findings = json_array(), .dtcs = json_array()};
	char *text = NULL;
	int k;

	r->session = session;
	r->bus_events = json_array();
	if (!l.findings || !l.dtcs || !r->bus_events) {
		k = -ENOMEM;
		goto out;
	}
	k = history_query(h, &(struct history_filter){.session = session, .limit = MAX_ROWS},
			  on_row, &l);
	if (k >= 0 && r->start_us == 0)
		k = -ENOENT;
	if (k >= 0)
		k = history_timeline(h, session, on_timeline, r);
	if (k < 0)
		goto out;
	k = history_session_result(h, session, &text);
	if (k == 0) {
		json_error_t e;
		r->result = json_loads(text, 0, &e);
		r->stored = json_is_object(r->result);
	} else if (k != -ENOENT) {
		goto out;
	}
	if (!r->stored) {
		/* most likely first, as the engine ranks */
		size_t n = json_array_size(l.findings);
		for (size_t i = 1; i < n; i++)
			for (size_t j = i; j > 0; j--) {
				json_t *a = json_array_get(l.findings, j - 1),
				       *b = json_array_get(l.findings, j);
				if (json_real_value(json_object_get(a, "score")) >=
				    json_real_value(json_object_get(b, "score")))
					break;
				json_incref(a);
				json_array_set(l.findings, j - 1, b);
				json_array_set_new(l.findings, j, a);
			}
		json_decref(r->result);
		r->result = json_pack("{s:s, s:[], s:O, s:O}", "verdict",
				      json_array_size(l.findings) ? "fault" : "inconclusive",
				      "chain", "findings", l.findings, "dtcs", l.dtcs);
	} else if (!json_is_array(json_object_get(r->result, "dtcs"))) {
		json_object_set(r->result, "dtcs", l.dtcs);
	}
	k = r->result ? 0 : -ENOMEM;
out:
	free(text);
	json_decref(l.findings);
	json_decref(l.dtcs);
	return k;
}

/* ---- writing ---- */

static int write_html(const char *path, struct report *r, const struct report_options *opt)
{
	FILE *o = strcmp(path, "-") == 0 ? stdout : fopen(path, "we");
	int k;

	if (!o) {
		fprintf(stderr, "bodydiag report: %s: %s\n", path, strerror(errno));
		return -errno;
	}
	k = report_write_html(o, r, opt);
	if ((o == stdout ? fflush(o) : fclose(o)) != 0 && k == 0)
		k = -errno;
	if (k < 0)
		fprintf(stderr, "bodydiag report: writing %s: %s\n", path, strerror(-k));
	return k;
}

/* Chromium's name on Debian, Ubuntu and Google's packages; $BODYDIAG_CHROMIUM first. */
static int find_chromium(char *buf, size_t size)
{
	static const char *const names[] = {"chromium", "chromium-browser", "google-chrome",
					    "google-chrome-stable"};
	const char *env = getenv("BODYDIAG_CHROMIUM"), *path = getenv("PATH");

	if (env && *env) {
		snprintf(buf, size, "%s", env);
		return access(buf, X_OK) == 0 ? 0 : -ENOENT;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const char *p = path && *path ? path : "/usr/bin:/bin";
		while (*p) {
			size_t n = strcspn(p, ":");
			if (n &&
			    (size_t)snprintf(buf, size, "%.*s/%s", (int)n, p, names[i]) < size &&
			    access(buf, X_OK) == 0)
				return 0;
			p += n + (p[n] == ':');
		}
	}
	return -ENOENT;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	remove(path);
	return 0;
}

/* The last lines of what Chromium said, for the error message. */
static void tail_of(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	char line[512];
	buf[0] = '\0';
	while (f && fgets(line, sizeof(line), f)) {
		/* it logs its own harmless complaints (D-Bus, GPU): keep errors about us */
		if (strstr(line, "ERROR:dbus") || strstr(line, "gpu"))
			continue;
		snprintf(buf, size, "%s", line);
	}
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

/*
 * The page printed to PDF by headless Chromium: the HTML with every fold open and the
 * paper's @page size, in a temporary directory with its own browser profile; no network
 * is needed (everything is inline). A PDF file that does not begin with %PDF is an error.
 */
static int write_pdf(const char *pdf, struct report *r, enum report_paper paper)
{
	char exe[4096], dir[] = "/tmp/bodydiag-report.XXXXXX", html[4200], profile[4200], log[4200],
			url[4300], out[4300], why[512];
	struct report_options opt = {.paper = paper, .open_details = true};
	int k, status;
	pid_t pid;

	if (find_chromium(exe, sizeof(exe)) < 0) {
		fprintf(
		    stderr,
		    "bodydiag report: --pdf needs Chromium to print the page, and none was found "
		    "(%s); install it (Debian: apt install chromium) or name it in "
		    "$BODYDIAG_CHROMIUM\n",
		    getenv("BODYDIAG_CHROMIUM") ? getenv("BODYDIAG_CHROMIUM")
						: "chromium, chromium-browser, google-chrome");
		return -ENOENT;
	}
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bodydiag report: temporary directory: %s\n", strerror(errno));
		return -errno;
	}
	snprintf(html, sizeof(html), "%s/report.html", dir);
	snprintf(profile, sizeof(profile), "%s/profile", dir);
	snprintf(log, sizeof(log), "%s/chromium.log", dir);
	snprintf(url, sizeof(url), "file://%s", html);
	/* an absolute path: Chromium runs in its own working directory */
	if (pdf[0] == '/') {
		snprintf(out, sizeof(out), "--print-to-pdf=%s", pdf);
	} else {
		char cwd[4096];
		if (!getcwd(cwd, sizeof(cwd)))
			cwd[0] = '\0';
		snprintf(out, sizeof(out), "--print-to-pdf=%s/%s", cwd, pdf);
	}
	k = write_html(html, r, &opt);
	if (k < 0)
		goto out;
	char data_dir[4300];
	snprintf(data_dir, sizeof(data_dir), "--user-data-dir=%s", profile);
	/* the sandbox needs user namespaces, which root (and some containers) cannot have */
	const char *argv[] = {exe,
			      "--headless",
			      "--disable-gpu",
			      "--no-first-run",
			      "--no-default-browser-check",
			      "--disable-extensions",
			      "--no-pdf-header-footer",
			      data_dir,
			      out,
			      geteuid() == 0 ? "--no-sandbox" : "--disable-dev-shm-usage",
			      url,
			      NULL};
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC,
					 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	k = posix_spawn(&pid, exe, &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (k != 0) {
		fprintf(stderr, "bodydiag report: cannot start %s: %s\n", exe, strerror(k));
		k = -k;
		goto out;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	FILE *f = fopen(out + strlen("--print-to-pdf="), "re");
	char magic[5] = "";
	if (f) {
		if (fread(magic, 1, 4, f) != 4)
			magic[0] = '\0';
		fclose(f);
	}
	if (status != 0 || strcmp(magic, "%PDF") != 0) {
		tail_of(log, why, sizeof(why));
		fprintf(stderr, "bodydiag report: %s did not print %s (exit status %d)%s%s\n", exe,
			pdf, WIFEXITED(status) ? WEXITSTATUS(status) : -1, why[0] ? ": " : "", why);
		k = -EIO;
	} else {
		k = 0;
	}
out:
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return k;
}

int cmd_report(int argc, char **argv)
{
	static const struct option options[] = {
	    {"help", no_argument, NULL, 'h'},
	    {"db", required_argument, NULL, 'd'},
	    {"session", required_argument, NULL, 's'},
	    {"output", required_argument, NULL, 'o'},
	    {"pdf", required_argument, NULL, 'p'},
	    {"paper", required_argument, NULL, 'P'},
	    {},
	};
	const char *out_path = NULL, *pdf_path = NULL;
	char dbpath[CONFIG_MAX_STRING] = "", err[512] = "";
	enum report_paper paper = REPORT_PAPER_A4;
	struct history *h = NULL;
	struct report *rep;
	int64_t session = 0;
	char *end;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", options, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf(
			    "%s\n"
			    "A diagnosis session from the history as one page for the customer: "
			    "the\n"
			    "answer and the next check, the release chain link by link with its\n"
			    "evidence, the causes, the DTCs with their texts, the timeline. HTML\n"
			    "with -o (self-contained, no network; - for stdout), PDF with --pdf\n"
			    "(printed by headless Chromium; --paper a4, the default, or letter).\n"
			    "The default session is the newest.\n",
			    USAGE);
			return 0;
		case 'd':
			snprintf(dbpath, sizeof(dbpath), "%s", optarg);
			break;
		case 's':
			errno = 0;
			session = strtoll(optarg, &end, 10);
			if (errno || *end || session <= 0) {
				fprintf(stderr,
					"bodydiag report: --session '%s': expected a positive "
					"integer\n",
					optarg);
				return 1;
			}
			break;
		case 'o':
			out_path = optarg;
			break;
		case 'p':
			pdf_path = optarg;
			break;
		case 'P':
			if (!strcmp(optarg, "a4") || !strcmp(optarg, "A4"))
				paper = REPORT_PAPER_A4;
			else if (!strcmp(optarg, "letter"))
				paper = REPORT_PAPER_LETTER;
			else {
				fprintf(stderr, "bodydiag report: --paper '%s': a4 or letter\n",
					optarg);
				return 1;
			}
			break;
		default:
			return 1;
		}
	}
	if ((!out_path && !pdf_path) || optind < argc) {
		fputs(USAGE, stderr);
		return 1;
	}
	if (!dbpath[0]) {
		struct config cfg;
		struct config_error cerr;
		if (config_load(CONFIG_DEFAULT_PATH, NULL, 0, &cfg, &cerr) < 0)
			config_init_defaults(&cfg);
		snprintf(dbpath, sizeof(dbpath), "%s", cfg.history.path);
	}
	r = history_open(dbpath, &(struct history_options){.read_only = true}, &h, err,
			 sizeof(err));
	if (r < 0) {
		fprintf(stderr, "bodydiag report: %s\n", err[0] ? err : strerror(-r));
		return 1;
	}
	if (!session && (r = latest_session(h, &session)) < 0) {
		fprintf(stderr, "bodydiag report: %s: %s\n", dbpath,
			r == -ENOENT ? "no sessions recorded" : strerror(-r));
		history_free(h);
		return 1;
	}
	rep = calloc(1, sizeof(*rep));
	if (!rep) {
		history_free(h);
		return 1;
	}
	r = load(h, session, rep);
	history_free(h);
	if (r < 0) {
		fprintf(stderr, "bodydiag report: session %" PRId64 ": %s\n", session,
			r == -ENOENT ? "no such session" : strerror(-r));
		report_finish(rep);
		free(rep);
		return 1;
	}
	if (out_path)
		r = write_html(out_path, rep, &(struct report_options){.paper = paper});
	if (r >= 0 && pdf_path)
		r = write_pdf(pdf_path, rep, paper);
	report_finish(rep);
	free(rep);
	return r < 0 ? 1 : 0;
}
