/* SPDX-License-Identifier: MIT */
/*
 * The fleet database (PostgreSQL, libpq): versioned migrations, monthly partitions and
 * idempotent batches. One struct store is one connection, used by one thread.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "wire.h"

struct store_migration {
	int version;
	const char *name;
	const char *sql;
};
extern const struct store_migration STORE_MIGRATIONS[]; /* migrations.c, generated */
extern const size_t STORE_MIGRATIONS_COUNT;

/* One MQTT message on its way into the database. */
struct ingest_msg {
	char *topic;   /* owned */
	void *payload; /* owned */
	size_t len;
	bool valid;                  /* rec holds the validated payload */
	struct fleet_record rec;
	char reason[FLEET_MAX_ERROR]; /* why not valid */
	bool have_ident;             /* unit/epoch/seq of a refused record, for its receipt */
	char unit[FLEET_MAX_UNIT + 1];
	int64_t epoch, seq;
	int64_t received_us; /* CLOCK_REALTIME when it arrived */
};
void ingest_msg_free(struct ingest_msg *m);

struct store;

/* Connects (libpq conninfo). Does not migrate. -ECONNREFUSED with err on failure. */
int store_connect(const char *conninfo, const char *ingest_name, struct store **ret, char *err,
		  size_t err_size);
struct store *store_free(struct store *s);

/*
 * Brings the schema to the newest version, each migration in its own transaction with its
 * schema_migrations row, under an advisory lock (two instances starting together migrate
 * once). A database newer than this build is refused (-EPROTO). Returns the version.
 */
int store_migrate(struct store *s, char *err, size_t err_size);

/*
 * Writes the messages in one transaction: valid records (a repeat of a stored unit+epoch+seq
 * is skipped), status messages, refused payloads, and the units' last-seen rows. Creates
 * the monthly partitions the records need first, in their own transactions.
 * Returns 0 when committed; -EAGAIN for a transient failure (deadlock, serialization: try
 * again), -ECONNRESET when the connection is gone (reconnect, then try again), -EINVAL when
 * the database refused the data itself (retry the messages one by one to find which).
 */
int store_write(struct store *s, struct ingest_msg *const *msgs, size_t n, char *err,
		size_t err_size);

/* True while the connection is usable. */
bool store_ok(const struct store *s);
