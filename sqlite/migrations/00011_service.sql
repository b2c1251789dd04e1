-- +goose Up

-- Customer-service sessions, their turns (text redacted before it gets
-- here), agents, queues and versioned service guides. Lists (warnings,
-- topics, skills, steps) are JSON text.
CREATE TABLE service_sessions (
    id            TEXT    PRIMARY KEY,
    customer_id   TEXT    NOT NULL DEFAULT '',
    channel       TEXT    NOT NULL DEFAULT '',
    status        TEXT    NOT NULL,
    opened_at     INTEGER NOT NULL, -- unix microseconds, UTC
    updated_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    turns         INTEGER NOT NULL,
    queue         TEXT    NOT NULL DEFAULT '',
    priority      INTEGER NOT NULL DEFAULT 0,
    route_reason  TEXT    NOT NULL DEFAULT '',
    agent_id      TEXT    NOT NULL DEFAULT '',
    handed_off_at INTEGER,
    warnings      TEXT    NOT NULL DEFAULT '[]',
    scam_type     TEXT    NOT NULL DEFAULT '',
    topics        TEXT    NOT NULL DEFAULT '[]',
    clarifying    INTEGER NOT NULL DEFAULT 0,
    resolved      INTEGER,
    csat          INTEGER,
    csat_comment  TEXT    NOT NULL DEFAULT '',
    csat_at       INTEGER,
    closed_by     TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX service_sessions_opened ON service_sessions (opened_at);
CREATE INDEX service_sessions_customer ON service_sessions (customer_id, opened_at);
CREATE INDEX service_sessions_agent ON service_sessions (agent_id, opened_at) WHERE agent_id <> '';
CREATE INDEX service_sessions_status ON service_sessions (status, opened_at) WHERE status <> 'closed';

CREATE TABLE service_turns (
    session_id TEXT    NOT NULL,
    seq        INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    role       TEXT    NOT NULL,
    text       TEXT    NOT NULL,
    message_id TEXT    NOT NULL DEFAULT '',
    faq_id     TEXT    NOT NULL DEFAULT '',
    score      REAL    NOT NULL DEFAULT 0,
    warnings   TEXT    NOT NULL DEFAULT '[]',
    agent_id   TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE service_agents (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    skills     TEXT    NOT NULL,
    presence   TEXT    NOT NULL,
    capacity   INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE service_queues (
    name        TEXT    PRIMARY KEY,
    description TEXT    NOT NULL,
    skills      TEXT    NOT NULL,
    strategy    TEXT    NOT NULL,
    overflow    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE service_guides (
    id         TEXT    NOT NULL,
    version    INTEGER NOT NULL,
    title      TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    faq_ids    TEXT    NOT NULL,
    steps      TEXT    NOT NULL,
    deleted    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT    NOT NULL,
    comment    TEXT    NOT NULL,
    PRIMARY KEY (id, version)
) STRICT;

-- +goose Down
DROP TABLE service_guides;
DROP TABLE service_queues;
DROP TABLE service_agents;
DROP TABLE service_turns;
DROP TABLE service_sessions;
