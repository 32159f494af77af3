/* SPDX-License-Identifier: MIT */
#include "vehicle.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bodydiag/dbc.h"
#include "bodydiag/linux/can_raw.h"
#include "bodydiag/profile.h"
#include "bodydiag/rolemap.h"
#include "bodydiag/route.h"
#include "bodydiag/rules.h"
#include "config.h"
#include "daemon-build.h"
#include "log.h"
#include "macro.h"
#include "uds_broker.h"

#define MAX_KERNEL_FILTERS 512
#define MAX_RULE_FILES 256 /* *.rules files of a [data] rules directory */

struct vehicle {
	unsigned refs;
	struct dbc *dbc;
	struct profile *profile;
	struct rules_set *rules;
	struct rolemap *roles; /* the profile's roles bound to the DBC; NULL without profile */
	struct route_table *routes;
	size_t max_samples;
	struct can_raw_filter *filters; /* NULL: receive everything */
	size_t n_filters;
	char *profile_path; /* the file the profile came from, NULL: none or from memory */
};

static struct vehicle *vehicle_free(struct vehicle *v)
{
	route_table_free(v->routes);
	rolemap_free(v->roles);
	rules_set_free(v->rules);
	dbc_free(v->dbc);
	profile_free(v->profile);
	free(v->filters);
	free(v->profile_path);
	free(v);
	return NULL;
}

static int build_filters(struct vehicle *v)
{
	size_t n = 0, cap = 0;
	struct can_raw_filter *f;

	if (v->dbc)
		cap += dbc_message_count(v->dbc);
	cap += 3 * vehicle_ecu_count(v);
	if (cap == 0)
		return 0;
	if (cap > MAX_KERNEL_FILTERS) {
		log_notice("%zu identifiers: more than the kernel's %d filters, receiving every frame",
			   cap, MAX_KERNEL_FILTERS);
		return 0;
	}
	f = calloc(cap, sizeof(*f));
	if (!f)
		return -ENOMEM;
	for (size_t i = 0; v->dbc && i < dbc_message_count(v->dbc); i++) {
		const struct dbc_message *m = dbc_message_at(v->dbc, i);
		bool ext = dbc_message_is_extended(m);
		f[n++] = (struct can_raw_filter){.id = dbc_message_id(m), .ext = ext,
						 .mask = ext ? 0x1fffffff : 0x7ff};
	}
	for (size_t i = 0; i < vehicle_ecu_count(v); i++) {
		const struct profile_ecu *e = vehicle_ecu_at(v, i);
		const uint32_t ids[] = {e->addr.tx_id, e->addr.rx_id, e->addr.functional_id};
		for (size_t k = 0; k < 3; k++) {
			bool ext = k < 2 ? e->addr.ext_ids : ids[k] > 0x7ff;
			if (k == 2 && !ids[k])
				continue;
			f[n++] = (struct can_raw_filter){.id = ids[k], .ext = ext,
							 .mask = ext ? 0x1fffffff : 0x7ff};
		}
	}
	v->filters = f;
	v->n_filters = n;
	return 0;
}

int vehicle_new(struct dbc *db, struct profile *p, struct rules_set *rules, struct vehicle **ret)
{
	struct vehicle *v = calloc(1, sizeof(*v));
	int r;

	if (!v) {
		rules_set_free(rules);
		dbc_free(db);
		profile_free(p);
		return -ENOMEM;
	}
	*v = (struct vehicle){.refs = 1, .dbc = db, .profile = p, .rules = rules};
	for (size_t i = 0; db && i < dbc_message_count(db); i++) {
		size_t k = dbc_message_max_samples(dbc_message_at(db, i));
		if (k > v->max_samples)
			v->max_samples = k;
	}
	/* The profile's roles against the DBC: a signal or label it names that the DBC lacks
	 * is the profile's mistake, at its line (the engine binds the same way). */
	if (p) {
		struct profile_error perr = {0};
		r = rolemap_new(p, db, &perr, &v->roles);
		if (r == -EINVAL) {
			char text[512];
			profile_error_format(&perr, text, sizeof(text));
			log_error("%s", text);
		}
		if (r < 0) {
			vehicle_free(v);
			return r;
		}
	}
	r = route_table_new(db, p, &v->routes);
	if (r >= 0)
		r = build_filters(v);
	if (r < 0) {
		vehicle_free(v);
		return r;
	}
	*ret = v;
	return 0;
}

void vehicle_set(struct vehicle **slot, struct vehicle *v)
{
	struct vehicle *old = *slot;

	*slot = vehicle_ref(v);
	vehicle_unref(old);
}

struct vehicle *vehicle_ref(struct vehicle *v)
{
	if (v)
		v->refs++;
	return v;
}

struct vehicle *vehicle_unref(struct vehicle *v)
{
	if (v && --v->refs == 0)
		vehicle_free(v);
	return NULL;
}

/* ---- loading ---- */

static int read_whole(const char *path, char **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == cap) {
			char *nb;
			if (cap >= DBC_MAX_SOURCE) {
				free(buf);
				return -EFBIG;
			}
			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;
			free(buf);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

static void dbc_warn(void *userdata, const char *file, unsigned line, unsigned column,
		     const char *message)
{
	log_debug("%s:%u:%u: %s", file, line, column, message);
}

/* A DBC or a rule set: the parsers differ, the file, the errors' shape do not. */
static int parse_dbc(const char *buf, size_t len, const char *path, void *ret, char *where,
		     size_t size)
{
	struct dbc_error err = {0};
	int r = dbc_parse(buf, len, path, dbc_warn, NULL, &err, ret);

	snprintf(where, size, "%s:%u:%u: %s", err.file, err.line, err.column, err.message);
	return r;
}

static int parse_rules(const char *buf, size_t len, const char *path, void *ret, char *where,
		       size_t size)
{
	struct rules_error err = {0};
	int r = rules_parse(buf, len, path, &err, ret);

	snprintf(where, size, "%s:%u:%u: %s", err.file, err.line, err.column, err.message);
	return r;
}

static int load_file(const char *path,
		     int (*parse)(const char *, size_t, const char *, void *, char *, size_t),
		     void *ret)
{
	_cleanup_free_ char *buf = NULL;
	char where[512];
	size_t len = 0;
	int r = read_whole(path, &buf, &len);

	if (r < 0) {
		log_error_errno(-r, "%s", path);
		return r;
	}
	r = parse(buf, len, path, ret, where, sizeof(where));
	if (r < 0)
		log_error("%s", where);
	return r;
}

/* ---- a directory of rule files ---- */

struct rule_file {
	char *name;	 /* path */
	char *text;
	size_t len;
	unsigned line;	 /* its first line in the joined text */
	size_t fmt_off, fmt_len; /* its first statement, "format N" */
};

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names of the *.rules files in dir (no hidden ones), sorted bytewise. */
static int rule_file_names(const char *dir, char ***ret, size_t *ret_n)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	char **names = NULL;
	size_t n = 0;
	struct dirent *e;
	int r = -ENOMEM;

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		char path[PATH_MAX];
		struct stat st;

		if (e->d_name[0] == '.' || len < 7 || strcmp(e->d_name + len - 6, ".rules") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (n == MAX_RULE_FILES) {
			r = -E2BIG;
			goto fail;
		}
		if (n % 16 == 0) {
			char **nn = realloc(names, (n + 16) * sizeof(*names));
			if (!nn)
				goto fail;
			names = nn;
		}
		if (!(names[n] = strdup(path)))
			goto fail;
		n++;
	}
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	*ret = names;
	*ret_n = n;
	return 0;
fail:
	while (n-- > 0)
		free(names[n]);
	free(names);
	return r;
}

/* Where the first statement of a rule file is (what the parser requires to be "format N"):
 * the first line with anything but blanks and a comment. */
static void find_format(struct rule_file *f)
{
	size_t i = 0;

	while (i < f->len) {
		size_t eol = i;

		while (eol < f->len && f->text[eol] != '\n')
			eol++;
		size_t b = i;
		while (b < eol && (f->text[b] == ' ' || f->text[b] == '\t' || f->text[b] == '\r'))
			b++;
		if (b < eol && f->text[b] != '#') {
			size_t e = b;
			while (e < eol && f->text[e] != '#')
				e++;
			while (e > b && (f->text[e - 1] == ' ' || f->text[e - 1] == '\t' ||
					 f->text[e - 1] == '\r'))
				e--;
			f->fmt_off = b;
			f->fmt_len = e - b;
			return;
		}
		i = eol + 1;
	}
	f->fmt_off = f->fmt_len = 0;
}

static unsigned count_lines(const char *s, size_t len)
{
	unsigned n = 0;

	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

/*
 * [data] rules naming a directory: every *.rules file in it, in the byte order of their
 * names, as one rule set: parsed as one text (the later files' "format N" line blanked:
 * every file must say the same), so a rule of one file may name those of another
 * (rules_out, covers), and a mistake's position is mapped back to its file and line.
 */
static int load_rules_dir(const char *dir, struct rules_set **ret)
{
	struct rule_file *files = NULL;
	char **names = NULL, *joined = NULL;
	size_t n = 0, total = 0, off = 0;
	struct rules_error err = {0};
	unsigned line = 1;
	int r = rule_file_names(dir, &names, &n);

	if (r < 0) {
		if (r == -E2BIG)
			log_error("%s: more than %d *.rules files", dir, MAX_RULE_FILES);
		else
			log_error_errno(-r, "%s", dir);
		return r;
	}
	if (n == 0) {
		log_error("%s: no *.rules file in the directory", dir);
		free(names);
		return -ENOENT;
	}
	files = calloc(n, sizeof(*files));
	r = files ? 0 : -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		files[i].name = names[i];
		r = read_whole(names[i], &files[i].text, &files[i].len);
		if (r < 0) {
			log_error_errno(-r, "%s", names[i]);
			break;
		}
		find_format(&files[i]);
		if (i > 0 && (files[i].fmt_len != files[0].fmt_len ||
			      memcmp(files[i].text + files[i].fmt_off, files[0].text + files[0].fmt_off,
				     files[0].fmt_len) != 0)) {
			log_error("%s:%u:1: '%.*s' differs from '%.*s' of %s: the files of a rules "
				  "directory must share one format",
				  names[i], count_lines(files[i].text, files[i].fmt_off) + 1,
				  (int)files[i].fmt_len, files[i].text + files[i].fmt_off,
				  (int)files[0].fmt_len, files[0].text + files[0].fmt_off, names[0]);
			r = -EINVAL;
			break;
		}
		total += files[i].len + 1;
	}
	if (r >= 0 && !(joined = malloc(total ? total : 1)))
		r = -ENOMEM;
	for (size_t i = 0; i < n && r >= 0; i++) {
		files[i].line = line;
		memcpy(joined + off, files[i].text, files[i].len);
		if (i > 0) /* blanks keep every line and column where it was */
			memset(joined + off + files[i].fmt_off, ' ', files[i].fmt_len);
		off += files[i].len;
		line += count_lines(files[i].text, files[i].len);
		if (files[i].len && files[i].text[files[i].len - 1] != '\n') {
			joined[off++] = '\n';
			line++;
		}
	}
	if (r >= 0) {
		r = rules_parse(joined, off, dir, &err, ret);
		if (r < 0) {
			size_t k = n - 1;

			while (k > 0 && files[k].line > err.line)
				k--;
			log_error("%s:%u:%u: %s", files[k].name, err.line - files[k].line + 1,
				  err.column, err.message);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(files ? files[i].text : NULL);
		free(names[i]);
	}
	free(files);
	free(names);
	free(joined);
	return r;
}

/* [data] rules: a file, or a directory of them. */
static int load_rules(const char *path, struct rules_set **ret)
{
	struct stat st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return load_rules_dir(path, ret);
	return load_file(path, parse_rules, ret);
}

static int load_profile(const char *path, struct profile **ret)
{
	struct profile_error err;
	int r = profile_load(path, ret, &err);

	if (r < 0) {
		char text[512];
		profile_error_format(&err, text, sizeof(text));
		log_error("%s", text);
	}
	return r;
}

int vehicle_load(const struct config *cfg, struct vehicle **ret)
{
	return vehicle_load_profile(cfg, NULL, ret);
}

int vehicle_load_profile(const struct config *cfg, const char *profile, struct vehicle **ret)
{
	struct profile *p = NULL;
	struct dbc *db = NULL;
	struct rules_set *rules = NULL;
	char dbc_path[PATH_MAX] = "";
	int r = 0;

	/* profile = auto: none until the VIN has chosen one (identity.c) */
	if (!profile && strcmp(cfg->data.profile, CONFIG_PROFILE_AUTO) != 0)
		profile = cfg->data.profile[0] ? cfg->data.profile : NULL;
	if (profile) {
		r = load_profile(profile, &p);
		if (r < 0)
			return r;
		/* The profile's own DBC, found where `bodydiag analyze` finds it (beside the
		 * profile, in ../dbc/ beside profiles/, in the data directory; an absolute
		 * path as it is); an explicit data.dbc wins. */
		if (!cfg->data.dbc[0] && profile_dbc(p)) {
			r = profile_dbc_path(p, profile, BODYDIAG_DATADIR, dbc_path, sizeof(dbc_path));
			if (r < 0) {
				log_error("%s: dbc = %s not found (tried %s)", profile, profile_dbc(p),
					  dbc_path);
				profile_free(p);
				return r;
			}
		}
	}
	if (cfg->data.dbc[0])
		snprintf(dbc_path, sizeof(dbc_path), "%s", cfg->data.dbc);
	if (dbc_path[0])
		r = load_file(dbc_path, parse_dbc, &db);
	if (r >= 0 && cfg->data.rules[0])
		r = load_rules(cfg->data.rules, &rules);
	if (r < 0) {
		dbc_free(db);
		profile_free(p);
		return r;
	}
	r = vehicle_new(db, p, rules, ret);
	if (r < 0)
		return r;
	if (profile && !((*ret)->profile_path = strdup(profile))) {
		*ret = vehicle_unref(*ret);
		return -ENOMEM;
	}
	log_info("vehicle data: profile %s (%zu ECUs), DBC %s (%zu messages), rules %s",
		 profile			   ? profile
		 : strcmp(cfg->data.profile, "auto") ? "none"
						     : "auto (none yet: chosen by the VIN)",
		 vehicle_ecu_count(*ret),
		 dbc_path[0] ? dbc_path : "none", db ? dbc_message_count(db) : 0,
		 cfg->data.rules[0] ? cfg->data.rules : "none");
	return 0;
}

/* ---- accessors ---- */

const struct dbc *vehicle_dbc(const struct vehicle *v)
{
	return v->dbc;
}

const struct profile *vehicle_profile(const struct vehicle *v)
{
	return v->profile;
}

const char *vehicle_profile_path(const struct vehicle *v)
{
	return v->profile_path;
}

const struct rules_set *vehicle_rules(const struct vehicle *v)
{
	return v->rules;
}

const struct rolemap *vehicle_rolemap(const struct vehicle *v)
{
	return v->roles;
}

const struct route_table *vehicle_routes(const struct vehicle *v)
{
	return v->routes;
}

size_t vehicle_max_samples(const struct vehicle *v)
{
	return v->max_samples;
}

int vehicle_find_signal(const struct vehicle *v, const char *name, size_t *ret_msg_index,
			const struct dbc_signal **ret_signal)
{
	for (size_t i = 0; v->dbc && name && i < dbc_message_count(v->dbc); i++) {
		const struct dbc_signal *s = dbc_message_find_signal(dbc_message_at(v->dbc, i), name);

		if (s) {
			*ret_msg_index = i;
			*ret_signal = s;
			return 0;
		}
	}
	return -ENOENT;
}

size_t vehicle_ecu_count(const struct vehicle *v)
{
	size_t n = v->profile ? profile_ecu_count(v->profile) : 0;

	return n < UDS_BROKER_MAX_ECUS ? n : UDS_BROKER_MAX_ECUS;
}

const struct profile_ecu *vehicle_ecu_at(const struct vehicle *v, size_t i)
{
	return i < vehicle_ecu_count(v) ? profile_ecu_at(v->profile, i) : NULL;
}

int vehicle_ecu_find(const struct vehicle *v, const char *name)
{
	for (size_t i = 0; name && i < vehicle_ecu_count(v); i++)
		if (strcmp(vehicle_ecu_at(v, i)->id, name) == 0)
			return (int)i;
	return -ENOENT;
}

bool vehicle_ecu_has_dtcs(const struct vehicle *v, size_t i)
{
	const struct profile_ecu *e = vehicle_ecu_at(v, i);

	for (size_t k = 0; e && k < profile_dtc_count(v->profile); k++)
		if (strcmp(profile_dtc_at(v->profile, k)->ecu, e->id) == 0)
			return true;
	return false;
}

void vehicle_broker_ecu(const struct vehicle *v, size_t i, struct uds_broker_ecu_config *ret)
{
	const struct profile_ecu *e = vehicle_ecu_at(v, i);

	*ret = (struct uds_broker_ecu_config){
		.name = e->id,
		.addr = e->addr,
		.p2_ms = e->p2_ms,
		.p2star_ms = e->p2star_ms,
		.s3_ms = e->s3_ms,
	};
}

void vehicle_filters(const struct vehicle *v, const struct can_raw_filter **ret, size_t *ret_n)
{
	*ret = v->filters;
	*ret_n = v->n_filters;
}
