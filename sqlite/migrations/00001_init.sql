-- +goose Up

-- records holds every event with its decision, in decision order. seq is the
-- rowid, so the table is stored in seq order and Replay is a range scan.
-- account, device_id and typology are NULL when empty: the partial indexes
-- below then skip them, and SQLite can still use a partial index "WHERE x IS
-- NOT NULL" for a query "x = ?" with a bound parameter.
-- Secondary indexes in SQLite end with the rowid, so "WHERE customer_id = ?
-- ORDER BY seq DESC" walks the index backwards without sorting.
CREATE TABLE records (
    seq         INTEGER PRIMARY KEY,
    decision_id TEXT    NOT NULL UNIQUE,
    event_id    TEXT    NOT NULL UNIQUE,
    customer_id TEXT    NOT NULL,
    account     TEXT,
    device_id   TEXT,
    event_type  TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL, -- unix milliseconds
    action      INTEGER NOT NULL, -- guard.Action
    score       REAL    NOT NULL,
    typology    TEXT,
    decision    TEXT    NOT NULL, -- JSON of guard.Decision
    raw         BLOB    NOT NULL  -- the event exactly as received
) STRICT;

CREATE INDEX records_customer    ON records (customer_id);
CREATE INDEX records_account     ON records (account) WHERE account IS NOT NULL;
CREATE INDEX records_device      ON records (device_id) WHERE device_id IS NOT NULL;
CREATE INDEX records_occurred_at ON records (occurred_at);
-- Most decisions allow: index only the alerts. FindDecisions adds a literal
-- "action > 0" to action filters so that the planner can prove this index
-- applies whatever the bound parameter.
CREATE INDEX records_alerts      ON records (action) WHERE action > 0;
CREATE INDEX records_typology    ON records (typology) WHERE typology IS NOT NULL;

-- snapshot keeps only the latest feature-state snapshot.
CREATE TABLE snapshot (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    data BLOB    NOT NULL
) STRICT;

-- outcomes holds the latest outcome of each decision; outcome_history every
-- version ever recorded. Times are unix microseconds, UTC.
CREATE TABLE outcomes (
    decision_id  TEXT    PRIMARY KEY,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    amount_lost  INTEGER NOT NULL,
    amount_saved INTEGER NOT NULL,
    typology     TEXT    NOT NULL,
    note         TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    recorded_at  INTEGER NOT NULL,
    customer_id  TEXT    NOT NULL,
    account      TEXT    NOT NULL
) STRICT;

CREATE INDEX outcomes_recorded_at ON outcomes (recorded_at, decision_id);

CREATE TABLE outcome_history (
    hid          INTEGER PRIMARY KEY,
    decision_id  TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    amount_lost  INTEGER NOT NULL,
    amount_saved INTEGER NOT NULL,
    typology     TEXT    NOT NULL,
    note         TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    recorded_at  INTEGER NOT NULL,
    customer_id  TEXT    NOT NULL,
    account      TEXT    NOT NULL
) STRICT;

CREATE INDEX outcome_history_decision ON outcome_history (decision_id, hid);

-- pack_names holds one row per pack and its last version number: SavePack
-- bumps it with an upsert, which serialises concurrent saves of one pack.
CREATE TABLE pack_names (
    name         TEXT    PRIMARY KEY,
    last_version INTEGER NOT NULL
) STRICT;

CREATE TABLE pack_versions (
    name       TEXT    NOT NULL REFERENCES pack_names (name),
    version    INTEGER NOT NULL,
    source     TEXT    NOT NULL,
    active     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    comment    TEXT    NOT NULL,
    PRIMARY KEY (name, version)
) STRICT;

-- At most one active version per pack.
CREATE UNIQUE INDEX pack_versions_active ON pack_versions (name) WHERE active = 1;

CREATE TABLE list_entries (
    list       TEXT    NOT NULL,
    kind       TEXT    NOT NULL,
    value      TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    expires_at INTEGER, -- unix microseconds, NULL: never
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    PRIMARY KEY (list, kind, value)
) STRICT, WITHOUT ROWID;

CREATE TABLE api_keys (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    hash       TEXT    NOT NULL UNIQUE,
    prefix     TEXT    NOT NULL,
    scopes     TEXT    NOT NULL, -- JSON array
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE INDEX api_keys_created_at ON api_keys (created_at, id);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE list_entries;
DROP TABLE pack_versions;
DROP TABLE pack_names;
DROP TABLE outcome_history;
DROP TABLE outcomes;
DROP TABLE snapshot;
DROP TABLE records;
