-- +goose Up

-- Examples the FAQ base learns from (faq/example.go): the firm's matched
-- pairs and customers' texts whose answer helped, pending until a person
-- accepts them. Texts are redacted. Times are unix microseconds, UTC.
CREATE TABLE faq_examples (
    id         TEXT    PRIMARY KEY,
    text       TEXT    NOT NULL,
    faq_id     TEXT    NOT NULL,
    source     TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    count      INTEGER NOT NULL,
    by         TEXT    NOT NULL,
    at         INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX faq_examples_status ON faq_examples (status, updated_at);

-- Customers' verdicts on answers (service/feedback.go): one per customer
-- turn, the latest wins.
CREATE TABLE service_feedback (
    session_id TEXT    NOT NULL,
    turn       INTEGER NOT NULL,
    faq_id     TEXT    NOT NULL,
    helpful    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (session_id, turn)
) STRICT, WITHOUT ROWID;

CREATE INDEX service_feedback_at ON service_feedback (at);

-- +goose Down
DROP TABLE service_feedback;
DROP TABLE faq_examples;
