-- +goose Up

-- Consents per customer and purpose. Every change is a new row: the
-- history is the evidence of lawful processing. idempotency_key makes a
-- retried change a no-op.
CREATE TABLE privacy_consents (
    seq             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    customer_id     text        NOT NULL,
    purpose         text        NOT NULL,
    granted         boolean     NOT NULL,
    channel         text        NOT NULL,
    policy_version  text        NOT NULL,
    at              timestamptz NOT NULL,
    evidence        text        NOT NULL,
    idempotency_key text        NOT NULL UNIQUE,
    recorded_at     timestamptz NOT NULL,
    recorded_by     text        NOT NULL
);

CREATE INDEX privacy_consents_customer ON privacy_consents (customer_id, at, seq);

-- Data-subject requests (access, export, correction, deletion) and the
-- steps of their handling.
CREATE TABLE privacy_requests (
    id                    text        PRIMARY KEY,
    customer_id           text        NOT NULL,
    kind                  text        NOT NULL,
    status                text        NOT NULL,
    channel               text        NOT NULL,
    details               text        NOT NULL,
    relationship_ended_at timestamptz,
    received_at           timestamptz NOT NULL,
    due_at                timestamptz NOT NULL,
    verified_at           timestamptz,
    verified_by           text        NOT NULL,
    closed_at             timestamptz,
    resolution            text        NOT NULL,
    idempotency_key       text        NOT NULL UNIQUE,
    created_by            text        NOT NULL,
    updated_at            timestamptz NOT NULL
);

CREATE INDEX privacy_requests_due ON privacy_requests (due_at, id);
CREATE INDEX privacy_requests_customer ON privacy_requests (customer_id, due_at);

CREATE TABLE privacy_request_events (
    request_id  text        NOT NULL REFERENCES privacy_requests (id),
    n           integer     NOT NULL, -- 0 is the receipt
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    from_status text        NOT NULL,
    to_status   text        NOT NULL,
    note        text        NOT NULL,
    PRIMARY KEY (request_id, n)
);

-- +goose Down
DROP TABLE privacy_request_events;
DROP TABLE privacy_requests;
DROP TABLE privacy_consents;
