-- +goose Up

-- Dissuasion cases: one customer and one suspected scam, with its held
-- payments (case_decisions) and its timeline (case_events). next_due_at
-- is the next deadline (SLA, hold expiry, retry, pending labels): what
-- the sweep looks for.
CREATE TABLE cases (
    id              TEXT    PRIMARY KEY,
    customer_id     TEXT    NOT NULL,
    typology        TEXT    NOT NULL,
    queue           TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    assignee        TEXT    NOT NULL,
    customer_age    INTEGER NOT NULL,
    amount_at_risk  INTEGER NOT NULL,
    opened_at       INTEGER NOT NULL, -- unix microseconds, UTC
    updated_at      INTEGER NOT NULL,
    sla_due_at      INTEGER NOT NULL,
    hold_expires_at INTEGER,
    next_attempt_at INTEGER,
    next_due_at     INTEGER,
    attempts        INTEGER NOT NULL,
    escalated       INTEGER NOT NULL,
    extended        INTEGER NOT NULL,
    reported        INTEGER NOT NULL,
    resolution      TEXT    NOT NULL,
    closed_at       INTEGER,
    amount_saved    INTEGER NOT NULL,
    amount_lost     INTEGER NOT NULL,
    labels_pending  INTEGER NOT NULL,
    version         INTEGER NOT NULL
) STRICT;

-- One open case per customer and suspected scam: a second hold joins it.
CREATE UNIQUE INDEX cases_open_scam ON cases (customer_id, typology) WHERE state <> 'closed';
CREATE INDEX cases_due ON cases (next_due_at, id) WHERE next_due_at IS NOT NULL;
CREATE INDEX cases_sla ON cases (sla_due_at, id);
-- The desk's work lists: open cases by urgency, without walking the
-- closed ones that accumulate before them.
CREATE INDEX cases_open_sla ON cases (sla_due_at, id) WHERE state <> 'closed';
CREATE INDEX cases_open_queue ON cases (queue, sla_due_at, id) WHERE state <> 'closed';
CREATE INDEX cases_open_assignee ON cases (assignee, sla_due_at, id) WHERE state <> 'closed';
CREATE INDEX cases_assignee ON cases (assignee, sla_due_at);
CREATE INDEX cases_customer ON cases (customer_id, sla_due_at);
CREATE INDEX cases_closed ON cases (closed_at) WHERE closed_at IS NOT NULL;

CREATE TABLE case_decisions (
    decision_id TEXT    PRIMARY KEY, -- a decision is in one case at most
    case_id     TEXT    NOT NULL REFERENCES cases (id),
    n           INTEGER NOT NULL,
    event_id    TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT    NOT NULL,
    occurred_at INTEGER NOT NULL,
    expires_at  INTEGER,
    status      TEXT    NOT NULL
) STRICT;

CREATE INDEX case_decisions_case ON case_decisions (case_id, n);

CREATE TABLE case_events (
    case_id     TEXT    NOT NULL REFERENCES cases (id),
    n           INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    actor       TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    from_state  TEXT    NOT NULL,
    to_state    TEXT    NOT NULL,
    assignee    TEXT    NOT NULL,
    outcome     TEXT    NOT NULL,
    decision_id TEXT    NOT NULL,
    note        TEXT    NOT NULL,
    request_id  TEXT    NOT NULL, -- idempotency key of the request; '' for none
    PRIMARY KEY (case_id, n)
) STRICT;

-- A retried request finds its key and changes nothing.
CREATE UNIQUE INDEX case_events_request ON case_events (case_id, request_id) WHERE request_id <> '';

CREATE TABLE case_agents (
    username   TEXT    PRIMARY KEY,
    skills     TEXT    NOT NULL, -- queue names, comma-separated
    capacity   INTEGER NOT NULL,
    active     INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- How far catching up on held decisions has looked (one row).
CREATE TABLE case_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE case_cursor;
DROP TABLE case_agents;
DROP TABLE case_events;
DROP TABLE case_decisions;
DROP TABLE cases;
