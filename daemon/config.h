/* SPDX-License-Identifier: MIT */
/*
 * bodydiagd configuration: /etc/bodydiag/bodydiag.conf, an INI-style file of
 * "key = value" lines grouped in [sections] (format in docs/man/bodydiag.conf.5).
 *
 * The parser is pure and streaming (config_parser_init / _feed / _finish over memory,
 * no file I/O inside), so the fuzz target and the unit tests drive exactly the code the
 * daemon runs. Errors carry line and column (both 1-based, column counted in bytes).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <net/if.h>

#define CONFIG_DEFAULT_PATH "/etc/bodydiag/bodydiag.conf"
#define CONFIG_MAX_LINE 4096   /* longest line the parser accepts, newline excluded */
#define CONFIG_MAX_STRING 1024 /* longest string/path value, NUL excluded */
#define CONFIG_MAX_ERROR 256

enum config_log_level {
	CONFIG_LOG_LEVEL_ERR,
	CONFIG_LOG_LEVEL_WARNING,
	CONFIG_LOG_LEVEL_NOTICE,
	CONFIG_LOG_LEVEL_INFO,
	CONFIG_LOG_LEVEL_DEBUG,
	CONFIG_LOG_LEVEL_MAX,
};

/* Plain data, no pointers: copy it by assignment (SIGHUP keeps the old copy on failure). */
struct config {
	struct {
		enum config_log_level level;
	} log;
	struct {
		char interface[IF_NAMESIZE]; /* "" never: default "can0" */
		uint32_t bitrate;            /* bit/s; 0 = leave the link as configured */
		uint32_t restart_ms;         /* bus-off auto restart; 0 = leave as configured */
		bool listen_only;            /* never transmit, not even for a client */
		bool fd;                     /* receive CAN FD frames too */
	} can;
	struct {
		char dbc[CONFIG_MAX_STRING];     /* "" = none */
		char profile[CONFIG_MAX_STRING]; /* "" = none */
		char rules[CONFIG_MAX_STRING];   /* "" = none */
	} data;
	struct {
		char socket[CONFIG_MAX_STRING];
		uint32_t max_clients;
		double rate_limit; /* requests per second per client; 0 = unlimited */
		char admin_group[64];
		char read_group[64];
	} api;
	struct {
		bool enabled;
		uint64_t interval_ms;
		uint64_t bus_quiet_ms; /* pause scans when the bus was silent this long */
		double battery_low_v;  /* stop scans below this voltage; 0 = no check */
		/* DBC signal of the voltage; "" = the profile's battery_voltage role, else
		 * OBD PID 0x42 */
		char battery_signal[128];
	} scan;
	struct {
		/* The broker's tuning (daemon/uds_broker.h); bodydiagd's options override. */
		uint64_t p2_cap_ms, p2star_cap_ms;
		uint32_t max_pending, max_busy;
		double rate_limit; /* UDS requests per second over all ECUs; 0 = unlimited */
	} uds;
	struct {
		/* DBC signals that override the profile's roles for the actuator test's
		 * interlock and verdict (daemon/role_watch.h); "" = the profile's role. */
		char speed_signal[128];	  /* speed: 0 (fresh) before anything is sent */
		char gear_signal[128];	  /* gear: park (fresh) before anything is sent */
		char current_signal[128]; /* actuator_current: did current flow */
		char ajar_signal[128];	  /* ajar: did the latch release */
	} safety;
	struct {
		char path[CONFIG_MAX_STRING];
		uint64_t retention_ms;
		uint32_t max_size_mb; /* pruning keeps the database under this */
		bool durable;         /* synchronous=FULL: fsync every commit; default true */
	} history;
	struct {
		/* The daemon queues records in the history's outbox; bodydiag-forward
		 * (forward/) publishes them in the fleet wire format v1 (docs/fleet.md). */
		bool enabled;
		char host[256];
		uint32_t port; /* 0 = 1883, or 8883 with TLS */
		bool tls;
		char ca_file[CONFIG_MAX_STRING];   /* TLS trust anchor; "" = system store */
		char cert_file[CONFIG_MAX_STRING]; /* TLS client certificate; both or neither */
		char key_file[CONFIG_MAX_STRING];
		char credentials[CONFIG_MAX_STRING]; /* "" = anonymous */
		char unit[65];      /* the fleet's unit id; "" = the machine id */
		char client_id[65]; /* "" = the unit id */
		char prefix[65];    /* first topic level */
		uint32_t keepalive_s;
		uint32_t session_expiry_s; /* the broker keeps the session this long */
		uint64_t resend_ms; /* a record without receipt is sent again after this */
		char state_file[CONFIG_MAX_STRING]; /* the forwarder's state for status */
		uint32_t queue_max; /* outbox rows kept at most */
	} mqtt;
	struct {
		char textfile[CONFIG_MAX_STRING]; /* node_exporter *.prom file; "" = none */
		uint64_t interval_ms;
	} metrics;
};

struct config_error {
	unsigned line;   /* 1-based; 0 when the error is not tied to a line (I/O) */
	unsigned column; /* 1-based byte column */
	char message[CONFIG_MAX_ERROR];
};

/* Streaming parser state; caller's memory (_init / _finish, nothing to free). */
struct config_parser {
	struct config *cfg;
	char line[CONFIG_MAX_LINE + 1];
	size_t len;
	unsigned lineno;
	bool overlong; /* current line exceeded CONFIG_MAX_LINE */
	bool failed;
	char section[32];
	bool section_valid;
	uint64_t seen[2]; /* bitmap over the key table: duplicate detection */
	struct config_error error;
};

/* Fills every field with its documented default. */
void config_init_defaults(struct config *cfg);

/*
 * Starts parsing into cfg, which should hold the defaults (config_init_defaults);
 * keys in the input overwrite them. cfg is written as parsing proceeds, so on failure
 * discard it (parse into a scratch copy to keep an old configuration).
 */
void config_parser_init(struct config_parser *p, struct config *cfg);

/*
 * Feeds len bytes (any split, no NUL termination needed). Returns 0, or -EINVAL once a
 * syntax or value error was found (p->error describes the first one; later feeds and
 * finish return -EINVAL again).
 */
int config_parser_feed(struct config_parser *p, const char *buf, size_t len);

/* Processes a final line without newline. Returns 0 or -EINVAL (see p->error). */
int config_parser_finish(struct config_parser *p);

/*
 * Applies one "section.key=value" override (the --set option) to cfg. Returns 0 or
 * -EINVAL with ret_error filled (line 0, column into the argument).
 */
int config_apply_override(struct config *cfg, const char *arg, struct config_error *ret_error);

/*
 * Reads and parses the file at path over defaults, then applies the overrides.
 * Returns 0 with *ret_cfg written, or -errno (-ENOENT etc. from opening, -EINVAL for
 * a parse error) with *ret_error filled. ret_error is written on failure only.
 */
int config_load(const char *path, char *const *overrides, size_t n_overrides,
		struct config *ret_cfg, struct config_error *ret_error);

/* "err", "warning", ... as written in the file. */
const char *config_log_level_name(enum config_log_level level);

/*
 * Writes the effective configuration in the file's own syntax (for --dump-config and
 * tests): the output parses back to the same struct.
 */
int config_format(const struct config *cfg, char *buf, size_t size);
