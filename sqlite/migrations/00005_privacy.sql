-- +goose Up

-- Consents per customer and purpose. Every change is a new row: the
-- history is the evidence of lawful processing. idempotency_key makes a
-- retried change a no-op.
CREATE TABLE privacy_consents (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id     TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    granted         INTEGER NOT NULL,
    channel         TEXT    NOT NULL,
    policy_version  TEXT    NOT NULL,
    at              INTEGER NOT NULL, -- unix microseconds, UTC
    evidence        TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    recorded_at     INTEGER NOT NULL,
    recorded_by     TEXT    NOT NULL
) STRICT;

CREATE INDEX privacy_consents_customer ON privacy_consents (customer_id, at, seq);

-- Data-subject requests (access, export, correction, deletion) and the
-- steps of their handling.
CREATE TABLE privacy_requests (
    id                    TEXT    PRIMARY KEY,
    customer_id           TEXT    NOT NULL,
    kind                  TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    channel               TEXT    NOT NULL,
    details               TEXT    NOT NULL,
    relationship_ended_at INTEGER,
    received_at           INTEGER NOT NULL,
    due_at                INTEGER NOT NULL,
    verified_at           INTEGER,
    verified_by           TEXT    NOT NULL,
    closed_at             INTEGER,
    resolution            TEXT    NOT NULL,
    idempotency_key       TEXT    NOT NULL UNIQUE,
    created_by            TEXT    NOT NULL,
    updated_at            INTEGER NOT NULL
) STRICT;

CREATE INDEX privacy_requests_due ON privacy_requests (due_at, id);
CREATE INDEX privacy_requests_customer ON privacy_requests (customer_id, due_at);

CREATE TABLE privacy_request_events (
    request_id  TEXT    NOT NULL REFERENCES privacy_requests (id),
    n           INTEGER NOT NULL, -- 0 is the receipt
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    from_status TEXT    NOT NULL,
    to_status   TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    PRIMARY KEY (request_id, n)
) STRICT;

-- +goose Down
DROP TABLE privacy_request_events;
DROP TABLE privacy_requests;
DROP TABLE privacy_consents;
