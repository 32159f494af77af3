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

/* [can] listen_only */
enum config_listen_only {
	CONFIG_LISTEN_ONLY_NO,	 /* transmit when a client asks (or [scan], [data] profile = auto) */
	CONFIG_LISTEN_ONLY_YES,	 /* never transmit; the controller's mode left as configured */
	CONFIG_LISTEN_ONLY_HARD, /* never transmit, the controller in listen-only mode for good */
	CONFIG_LISTEN_ONLY_MAX,
};

/* [can] bitrate = auto: found by listening at attach (daemon/bus.h). */
#define CONFIG_BITRATE_AUTO UINT32_MAX
/* [data] profile = auto: chosen by the VIN's WMI among [data] profile_dir. */
#define CONFIG_PROFILE_AUTO "auto"

/* Plain data, no pointers: copy it by assignment (SIGHUP keeps the old copy on failure). */
struct config {
	struct {
		enum config_log_level level;
	} log;
	struct {
		char interface[IF_NAMESIZE]; /* "" never: default "can0" */
		/* bit/s; 0 = leave the link as configured; CONFIG_BITRATE_AUTO = detect */
		uint32_t bitrate;
		uint32_t restart_ms;         /* bus-off auto restart; 0 = leave as configured */
		enum config_listen_only listen_only;
		/* the controller in listen-only mode while the daemon only listens (default
		 * true), taken out of it for a transmission and put back idle_after_ms after
		 * the last one */
		bool idle_listen_only;
		uint64_t idle_after_ms;
		bool fd;                     /* receive CAN FD frames too */
	} can;
	struct {
		char dbc[CONFIG_MAX_STRING];     /* "" = none */
		/* "" = none, CONFIG_PROFILE_AUTO = by the VIN read at attach */
		char profile[CONFIG_MAX_STRING];
		char profile_dir[CONFIG_MAX_STRING]; /* what auto chooses from; "" = datadir */
		char rules[CONFIG_MAX_STRING];   /* "" = none */
	} data;
	struct {
		/* ECU discovery (the `discover` method): at most this many requests per second,
		 * for at most this long */
		uint32_t rate;
		uint64_t max_time_ms;
	} discover;
	struct {
		/* This unit (the MQTT client id, the records); "" = /etc/machine-id */
		char unit_id[64];
	} fleet;
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
		char client_id[65]; /* "" = the unit id ([fleet] unit_id, config_unit_id) */
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
/* "no", "yes", "hard"; NULL out of range. */
const char *config_listen_only_name(enum config_listen_only v);
/* True unless listen_only is "no": nothing may be sent. */
static inline bool config_never_transmit(const struct config *cfg)
{
	return cfg->can.listen_only != CONFIG_LISTEN_ONLY_NO;
}

/*
 * This unit's id: [fleet] unit_id, else the machine id read from machine_id_path (NULL:
 * /etc/machine-id). Returns 0, or -errno when there is neither (ret_buf untouched: the
 * caller chooses what to call a unit without an id).
 */
int config_unit_id(const struct config *cfg, const char *machine_id_path, char *ret_buf,
		   size_t size);

/* The MQTT client id: [mqtt] client_id, else "bd-" and the first 20 characters of the unit
 * id (at most 23 bytes, unique per unit). Returns as config_unit_id(). */
int config_mqtt_client_id(const struct config *cfg, const char *machine_id_path, char *ret_buf,
			  size_t size);

/*
 * Writes the effective configuration in the file's own syntax (for --dump-config and
 * tests): the output parses back to the same struct.
 */
int config_format(const struct config *cfg, char *buf, size_t size);
