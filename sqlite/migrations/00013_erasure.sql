-- +goose Up

-- Data-subject deletion (package privacy, erase.go). An erasure is keyed by
-- its deletion request; the customer appears only as a blind index
-- (customer_key) and, for the sweep to delete their consents and requests
-- when the retention ends, sealed (customer_sealed); both are cleared once
-- everything restricted is deleted. Times are unix microseconds, UTC.
CREATE TABLE erasures (
    request_id      TEXT    PRIMARY KEY,
    customer_key    TEXT    NOT NULL,
    customer_sealed TEXT    NOT NULL,
    executed_at     INTEGER NOT NULL,
    executed_by     TEXT    NOT NULL,
    last_run_at     INTEGER NOT NULL,
    anonymised      INTEGER NOT NULL,
    restricted      INTEGER NOT NULL,
    deleted         INTEGER NOT NULL,
    outcomes        INTEGER NOT NULL
) STRICT;

CREATE INDEX erasures_customer ON erasures (customer_key);

-- What a deletion keeps under restriction, per category, until
-- deletable_at (NULL while the relationship goes on); the sweep deletes it
-- then and records when.
CREATE TABLE erasure_restrictions (
    request_id    TEXT    NOT NULL REFERENCES erasures (request_id),
    category      TEXT    NOT NULL,
    customer_key  TEXT    NOT NULL,
    basis         TEXT    NOT NULL,
    deletable_at  INTEGER,
    then_disposal TEXT    NOT NULL,
    deleted_at    INTEGER,
    deleted       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, category)
) STRICT;

CREATE INDEX erasure_restrictions_due ON erasure_restrictions (deletable_at)
    WHERE deleted_at IS NULL AND deletable_at IS NOT NULL;

-- Restricted records: moved out of records, so that no search, timeline,
-- replay or lookup of decisions sees them, and kept for the legal
-- obligation until the sweep deletes them. The raw event stays sealed to
-- its event id; the decision, which names the customer, is sealed too.
CREATE TABLE restricted_records (
    seq          INTEGER PRIMARY KEY,
    request_id   TEXT    NOT NULL,
    customer_key TEXT    NOT NULL,
    decision_id  TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    occurred_at  INTEGER NOT NULL,
    action       INTEGER NOT NULL,
    score        REAL    NOT NULL,
    typology     TEXT,
    decision     TEXT    NOT NULL, -- the decision's JSON, sealed when the store has a key
    raw          BLOB    NOT NULL
) STRICT;

CREATE INDEX restricted_records_customer ON restricted_records (customer_key, seq);
CREATE INDEX restricted_records_request ON restricted_records (request_id);

-- seq_floor is the highest seq ever stored in records when an erasure
-- took records out of it: MaxSeq never goes below it, so seqs are never
-- reused and the journal never re-indexes what was erased.
CREATE TABLE seq_floor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE seq_floor;
DROP TABLE restricted_records;
DROP TABLE erasure_restrictions;
DROP TABLE erasures;
