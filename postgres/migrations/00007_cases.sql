-- +goose Up

-- Dissuasion cases: one customer and one suspected scam, with its held
-- payments (case_decisions) and its timeline (case_events). next_due_at
-- is the next deadline (SLA, hold expiry, retry, pending labels): what
-- the sweep looks for.
CREATE TABLE cases (
    id              text        PRIMARY KEY,
    customer_id     text        NOT NULL,
    typology        text        NOT NULL,
    queue           text        NOT NULL,
    state           text        NOT NULL,
    assignee        text        NOT NULL,
    customer_age    integer     NOT NULL,
    amount_at_risk  bigint      NOT NULL,
    opened_at       timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    sla_due_at      timestamptz NOT NULL,
    hold_expires_at timestamptz,
    next_attempt_at timestamptz,
    next_due_at     timestamptz,
    attempts        integer     NOT NULL,
    escalated       boolean     NOT NULL,
    extended        boolean     NOT NULL,
    reported        boolean     NOT NULL,
    resolution      text        NOT NULL,
    closed_at       timestamptz,
    amount_saved    bigint      NOT NULL,
    amount_lost     bigint      NOT NULL,
    labels_pending  boolean     NOT NULL,
    version         bigint      NOT NULL
);

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
    decision_id text        PRIMARY KEY, -- a decision is in one case at most
    case_id     text        NOT NULL REFERENCES cases (id),
    n           integer     NOT NULL,
    event_id    text        NOT NULL,
    seq         bigint      NOT NULL,
    action      text        NOT NULL,
    amount      bigint      NOT NULL,
    currency    text        NOT NULL,
    occurred_at timestamptz NOT NULL,
    expires_at  timestamptz,
    status      text        NOT NULL
);

CREATE INDEX case_decisions_case ON case_decisions (case_id, n);

CREATE TABLE case_events (
    case_id     text        NOT NULL REFERENCES cases (id),
    n           integer     NOT NULL,
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    kind        text        NOT NULL,
    from_state  text        NOT NULL,
    to_state    text        NOT NULL,
    assignee    text        NOT NULL,
    outcome     text        NOT NULL,
    decision_id text        NOT NULL,
    note        text        NOT NULL,
    request_id  text        NOT NULL, -- idempotency key of the request; '' for none
    PRIMARY KEY (case_id, n)
);

-- A retried request finds its key and changes nothing.
CREATE UNIQUE INDEX case_events_request ON case_events (case_id, request_id) WHERE request_id <> '';

CREATE TABLE case_agents (
    username   text        PRIMARY KEY,
    skills     text        NOT NULL, -- queue names, comma-separated
    capacity   integer     NOT NULL,
    active     boolean     NOT NULL,
    updated_at timestamptz NOT NULL
);

-- How far catching up on held decisions has looked (one row).
CREATE TABLE case_cursor (
    id  integer     PRIMARY KEY CHECK (id = 1),
    seq bigint      NOT NULL
);

-- +goose Down
DROP TABLE case_cursor;
DROP TABLE case_agents;
DROP TABLE case_events;
DROP TABLE case_decisions;
DROP TABLE cases;
