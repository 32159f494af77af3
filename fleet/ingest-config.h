/* SPDX-License-Identifier: MIT */
/*
 * bodydiag-ingest's configuration (/etc/bodydiag/ingest.conf): "key = value" lines in
 * [mqtt], [database] and [ingest] sections, '#' comments on their own lines. The value is
 * the rest of the line, blanks trimmed (so a libpq conninfo keeps its spaces). Unknown
 * sections and keys, repeated keys and bad values are errors with line and column.
 * Pure: ingest_config_parse() reads memory only (the fuzz target drives it as is).
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INGEST_CONFIG_DEFAULT_PATH "/etc/bodydiag/ingest.conf"
#define INGEST_CONFIG_MAX_LINE 4096
#define INGEST_CONFIG_MAX_STRING 1024

struct ingest_config {
	struct {
		char host[256];
		uint32_t port;            /* default 1883, 8883 with tls */
		char client_id[65];       /* unique per instance; default bodydiag-ingest-<name> */
		char group[65];           /* shared-subscription group */
		char prefix[65];          /* first topic level */
		bool tls;
		char ca_file[INGEST_CONFIG_MAX_STRING];   /* "" = system store */
		char cert_file[INGEST_CONFIG_MAX_STRING]; /* client certificate, with key_file */
		char key_file[INGEST_CONFIG_MAX_STRING];
		char username[257];
		char password_file[INGEST_CONFIG_MAX_STRING]; /* first line is the password */
		uint32_t keepalive_s;
		uint32_t session_expiry_s; /* the broker keeps our session this long offline */
	} mqtt;
	struct {
		char conninfo[INGEST_CONFIG_MAX_STRING]; /* libpq connection string */
	} database;
	struct {
		char name[65];       /* this instance; in receipts and the records' ingest column */
		uint32_t queue_max;  /* payloads held in memory; reading stops when full */
		uint32_t batch_max;  /* payloads per transaction */
		uint32_t retry_max_s; /* database reconnect back-off ceiling */
	} ingest;
};

struct ingest_config_error {
	unsigned line, column; /* 1-based; column in bytes */
	char message[200];
};

void ingest_config_defaults(struct ingest_config *cfg);
/*
 * Parses buf over the values already in *cfg (call ingest_config_defaults first). Returns
 * 0, or -EINVAL with *ret_error filled (cfg then partly written: discard it).
 */
int ingest_config_parse(const char *buf, size_t len, struct ingest_config *cfg,
			struct ingest_config_error *ret_error);
/* Cross-key rules (cert and key together, a client id, a conninfo); -EINVAL and message. */
int ingest_config_check(const struct ingest_config *cfg, char *err, size_t err_size);
