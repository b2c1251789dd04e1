-- +goose Up

-- Every table lives in the connection's current schema (search_path), so a
-- deployment or a test can keep several xiaobao databases in one PostgreSQL
-- database. Text that is sorted or compared for order uses COLLATE "C":
-- byte order, the same as SQLite, whatever the database's locale.

-- records holds every event with its decision, in decision order. account,
-- device_id and typology are NULL when empty so that the partial indexes skip
-- them; "x = $1" implies "x IS NOT NULL", so the planner still uses them.
CREATE TABLE records (
    seq         bigint           PRIMARY KEY,
    decision_id text             NOT NULL UNIQUE,
    event_id    text             NOT NULL UNIQUE,
    customer_id text             NOT NULL,
    account     text,
    device_id   text,
    event_type  text             NOT NULL,
    occurred_at timestamptz      NOT NULL,
    action      smallint         NOT NULL, -- guard.Action
    score       double precision NOT NULL,
    typology    text,
    decision    json             NOT NULL, -- guard.Decision as encoding/json wrote it
    raw         bytea            NOT NULL  -- the event exactly as received
);

CREATE INDEX records_customer    ON records (customer_id, seq);
CREATE INDEX records_account     ON records (account, seq) WHERE account IS NOT NULL;
CREATE INDEX records_device      ON records (device_id, seq) WHERE device_id IS NOT NULL;
CREATE INDEX records_occurred_at ON records (occurred_at);
CREATE INDEX records_alerts      ON records (action, seq) WHERE action > 0;
CREATE INDEX records_typology    ON records (typology, seq) WHERE typology IS NOT NULL;

-- snapshot keeps only the latest feature-state snapshot.
CREATE TABLE snapshot (
    id   integer PRIMARY KEY CHECK (id = 1),
    seq  bigint  NOT NULL,
    data bytea   NOT NULL
);
-- The snapshot is written whole and read whole: keep it out of compression,
-- which would cost CPU for little on already dense data.
ALTER TABLE snapshot ALTER COLUMN data SET STORAGE EXTERNAL;

-- outcomes holds the latest outcome of each decision; outcome_history every
-- version ever recorded.
CREATE TABLE outcomes (
    decision_id  text COLLATE "C" PRIMARY KEY,
    id           text        NOT NULL,
    kind         text        NOT NULL,
    amount_lost  bigint      NOT NULL,
    amount_saved bigint      NOT NULL,
    typology     text        NOT NULL,
    note         text        NOT NULL,
    source       text        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    customer_id  text        NOT NULL,
    account      text        NOT NULL
);

CREATE INDEX outcomes_recorded_at ON outcomes (recorded_at, decision_id);

CREATE TABLE outcome_history (
    hid          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    decision_id  text        NOT NULL,
    id           text        NOT NULL,
    kind         text        NOT NULL,
    amount_lost  bigint      NOT NULL,
    amount_saved bigint      NOT NULL,
    typology     text        NOT NULL,
    note         text        NOT NULL,
    source       text        NOT NULL,
    recorded_at  timestamptz NOT NULL,
    customer_id  text        NOT NULL,
    account      text        NOT NULL
);

CREATE INDEX outcome_history_decision ON outcome_history (decision_id, hid);

-- pack_names holds one row per pack and its last version number: SavePack
-- bumps it with an upsert, whose row lock serialises concurrent saves of one
-- pack, so two saves never get the same number.
CREATE TABLE pack_names (
    name         text COLLATE "C" PRIMARY KEY,
    last_version integer NOT NULL
);

CREATE TABLE pack_versions (
    name       text COLLATE "C" NOT NULL REFERENCES pack_names (name),
    version    integer     NOT NULL,
    source     text        NOT NULL,
    active     boolean     NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    comment    text        NOT NULL,
    PRIMARY KEY (name, version)
);

-- At most one active version per pack.
CREATE UNIQUE INDEX pack_versions_active ON pack_versions (name) WHERE active;

CREATE TABLE list_entries (
    list       text COLLATE "C" NOT NULL,
    kind       text COLLATE "C" NOT NULL,
    value      text COLLATE "C" NOT NULL,
    reason     text        NOT NULL,
    source     text        NOT NULL,
    expires_at timestamptz,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    PRIMARY KEY (list, kind, value)
);

CREATE TABLE api_keys (
    id         text COLLATE "C" PRIMARY KEY,
    name       text        NOT NULL,
    hash       text        NOT NULL UNIQUE,
    prefix     text        NOT NULL,
    scopes     text[]      NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);

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
