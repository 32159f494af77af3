-- bodydiag fleet database, version 2: the operator's views (bodydiag fleet, and any SQL
-- client such as a dashboard).

-- The newest status of every DTC of every unit.
CREATE VIEW fleet_dtc_latest AS
SELECT DISTINCT ON (unit, ecu, dtc)
	unit, vin, ecu, dtc, code, status, old_status, t
FROM records
WHERE kind = 'dtc'
ORDER BY unit, ecu, dtc, t DESC, epoch DESC, seq DESC;

-- Open body faults: body DTCs (B...) whose newest status has testFailed (bit 0) or
-- confirmedDTC (bit 3) set, i.e. failing now or stored and not cleared.
CREATE VIEW fleet_open_faults AS
SELECT * FROM fleet_dtc_latest
WHERE code LIKE 'B%' AND (status & 9) <> 0;

-- The newest session summary of every unit.
CREATE VIEW fleet_last_session AS
SELECT DISTINCT ON (unit)
	unit, vin, session, start_t, t AS end_t, verdict, top_cause, findings, dtcs
FROM records
WHERE kind = 'session'
ORDER BY unit, t DESC, epoch DESC, seq DESC;

-- One row per unit: open faults, the last verdict, when it was last heard of.
CREATE VIEW fleet_vans AS
SELECT u.unit, u.vin, u.last_seen, u.last_record, u.state, u.state_reason, u.state_time,
	coalesce(f.open_faults, 0) AS open_faults, f.codes,
	s.verdict AS last_verdict, s.top_cause AS last_top_cause, s.end_t AS last_session_end
FROM units u
LEFT JOIN (SELECT unit, count(*) AS open_faults, string_agg(code, ' ' ORDER BY code) AS codes
	   FROM fleet_open_faults GROUP BY unit) f ON f.unit = u.unit
LEFT JOIN fleet_last_session s ON s.unit = u.unit;

-- Causes that held, across the fleet.
CREATE VIEW fleet_causes AS
SELECT cause, count(*) AS findings, count(DISTINCT unit) AS vans, max(t) AS last_t
FROM records
WHERE kind = 'finding' AND state = 'holds'
GROUP BY cause;
