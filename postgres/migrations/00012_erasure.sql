-- +goose Up

-- Data-subject deletion (package privacy, erase.go). An erasure is keyed by
-- its deletion request; the customer appears only as a blind index
-- (customer_key) and, for the sweep to delete their consents and requests
-- when the retention ends, sealed (customer_sealed); both are cleared once
-- everything restricted is deleted.
CREATE TABLE erasures (
    request_id      text COLLATE "C" PRIMARY KEY,
    customer_key    text        NOT NULL,
    customer_sealed text        NOT NULL,
    executed_at     timestamptz NOT NULL,
    executed_by     text        NOT NULL,
    last_run_at     timestamptz NOT NULL,
    anonymised      integer     NOT NULL,
    restricted      integer     NOT NULL,
    deleted         integer     NOT NULL,
    outcomes        integer     NOT NULL
);

CREATE INDEX erasures_customer ON erasures (customer_key);

-- What a deletion keeps under restriction, per category, until
-- deletable_at (NULL while the relationship goes on); the sweep deletes it
-- then and records when.
CREATE TABLE erasure_restrictions (
    request_id    text COLLATE "C" NOT NULL REFERENCES erasures (request_id),
    category      text COLLATE "C" NOT NULL,
    customer_key  text        NOT NULL,
    basis         text        NOT NULL,
    deletable_at  timestamptz,
    then_disposal text        NOT NULL,
    deleted_at    timestamptz,
    deleted       integer     NOT NULL DEFAULT 0,
    PRIMARY KEY (request_id, category)
);

CREATE INDEX erasure_restrictions_due ON erasure_restrictions (deletable_at)
    WHERE deleted_at IS NULL AND deletable_at IS NOT NULL;

-- Restricted records: moved out of records, so that no search, timeline,
-- replay or lookup of decisions sees them, and kept for the legal
-- obligation until the sweep deletes them. The raw event stays sealed to
-- its event id; the decision, which names the customer, is sealed too.
CREATE TABLE restricted_records (
    seq          bigint           PRIMARY KEY,
    request_id   text             NOT NULL,
    customer_key text             NOT NULL,
    decision_id  text             NOT NULL,
    event_id     text             NOT NULL,
    event_type   text             NOT NULL,
    occurred_at  timestamptz      NOT NULL,
    action       smallint         NOT NULL,
    score        double precision NOT NULL,
    typology     text,
    decision     text             NOT NULL, -- the decision's JSON, sealed when the store has a key
    raw          bytea            NOT NULL
);

CREATE INDEX restricted_records_customer ON restricted_records (customer_key, seq);
CREATE INDEX restricted_records_request ON restricted_records (request_id);

-- seq_floor is the highest seq ever stored in records when an erasure
-- took records out of it: MaxSeq never goes below it, so seqs are never
-- reused and the journal never re-indexes what was erased.
CREATE TABLE seq_floor (
    id  integer PRIMARY KEY CHECK (id = 1),
    seq bigint  NOT NULL
);

-- +goose Down
DROP TABLE seq_floor;
DROP TABLE restricted_records;
DROP TABLE erasure_restrictions;
DROP TABLE erasures;
