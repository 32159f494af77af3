-- bodydiag fleet database, version 1: what the units sent.
-- Applied by bodydiag-ingest (fleet/store.c) in one transaction together with its row in
-- schema_migrations. Never edit a released migration; add the next file.

-- One row per unit: what it last said and when we last heard from it.
CREATE TABLE units (
	unit text PRIMARY KEY,
	vin text,                 -- of its newest record
	epoch bigint,             -- outbox epoch and highest seq stored (of the newest epoch)
	last_seq bigint,
	first_seen timestamptz NOT NULL,
	last_seen timestamptz NOT NULL,     -- receive time of its last message of any kind
	last_record timestamptz,            -- record time of its newest record
	state text,                         -- online / offline (status topic)
	state_reason text,                  -- connect / stop / will
	state_time timestamptz,
	conn bigint,                        -- connection the state belongs to
	software text
);

-- Every record (finding, DTC transition, bus event, session summary), stored once:
-- the key is the unit, its outbox epoch and the sequence number. PostgreSQL wants the
-- partition key in every unique key of a partitioned table, so t is in it too; a
-- repeated delivery carries the same t, so a repeat is still the same key.
CREATE TABLE records (
	unit text NOT NULL,
	epoch bigint NOT NULL,
	seq bigint NOT NULL,
	t timestamptz NOT NULL,
	t_us bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('finding', 'dtc', 'bus', 'session')),
	vin text,
	session bigint,
	unit_record_id bigint NOT NULL,
	-- finding
	cause text,
	confidence double precision,
	state text,
	advice text,
	evidence jsonb,
	-- dtc
	ecu text,
	dtc integer,
	code text,
	status smallint,
	old_status smallint,
	-- bus
	interface text,
	event text,
	detail text,
	-- session
	start_t timestamptz,
	label text,
	verdict text,
	top_cause text,
	findings integer,
	dtcs integer,
	received_at timestamptz NOT NULL DEFAULT now(),
	ingest text NOT NULL,
	PRIMARY KEY (unit, epoch, seq, t)
) PARTITION BY RANGE (t);
CREATE INDEX records_unit_t ON records (unit, t);
CREATE INDEX records_kind_t ON records (kind, t);

-- Monthly partitions records_yYYYYmMM, created on demand (bodydiag-ingest calls this in
-- its own short transaction before a batch that needs a new month). The advisory lock
-- makes two ingest instances agree on who creates it.
CREATE FUNCTION fleet_ensure_partition(at timestamptz) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	m timestamp := date_trunc('month', at AT TIME ZONE 'UTC');
	name text := 'records_y' || to_char(m, 'YYYY') || 'm' || to_char(m, 'MM');
BEGIN
	IF to_regclass(name) IS NULL THEN
		PERFORM pg_advisory_xact_lock(hashtext('bodydiag.records.partition'));
		IF to_regclass(name) IS NULL THEN
			EXECUTE format('CREATE TABLE %I PARTITION OF records FOR VALUES FROM (%L) TO (%L)',
				name, m AT TIME ZONE 'UTC', (m + interval '1 month') AT TIME ZONE 'UTC');
		END IF;
	END IF;
	RETURN name;
END $$;

-- Unit status messages (online, offline, the will), once per unit, connection and state.
CREATE TABLE status_events (
	unit text NOT NULL,
	conn bigint NOT NULL,
	state text NOT NULL,
	reason text NOT NULL,
	t timestamptz NOT NULL,
	vin text,
	software text,
	received_at timestamptz NOT NULL DEFAULT now(),
	ingest text NOT NULL,
	PRIMARY KEY (unit, conn, state)
);

-- Payloads refused for good (not the wire format): kept for the operator, receipted as
-- rejected when unit, epoch and seq could be read, so the unit stops resending them.
CREATE TABLE rejects (
	id bigserial PRIMARY KEY,
	received_at timestamptz NOT NULL DEFAULT now(),
	topic text NOT NULL,
	unit text,
	epoch bigint,
	seq bigint,
	reason text NOT NULL,
	payload bytea NOT NULL,
	ingest text NOT NULL
);
