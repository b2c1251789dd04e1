-- +goose Up

-- Customer-service sessions, their turns (text redacted before it gets
-- here), agents, queues and versioned service guides.
CREATE TABLE service_sessions (
    id            text        PRIMARY KEY,
    customer_id   text        NOT NULL DEFAULT '',
    channel       text        NOT NULL DEFAULT '',
    status        text        NOT NULL,
    opened_at     timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    closed_at     timestamptz,
    turns         integer     NOT NULL,
    queue         text        NOT NULL DEFAULT '',
    priority      integer     NOT NULL DEFAULT 0,
    route_reason  text        NOT NULL DEFAULT '',
    agent_id      text        NOT NULL DEFAULT '',
    handed_off_at timestamptz,
    warnings      text[]      NOT NULL DEFAULT '{}',
    scam_type     text        NOT NULL DEFAULT '',
    topics        text[]      NOT NULL DEFAULT '{}',
    clarifying    boolean     NOT NULL DEFAULT false,
    resolved      boolean,
    csat          integer,
    csat_comment  text        NOT NULL DEFAULT '',
    csat_at       timestamptz,
    closed_by     text        NOT NULL DEFAULT ''
);

CREATE INDEX service_sessions_opened ON service_sessions (opened_at);
CREATE INDEX service_sessions_customer ON service_sessions (customer_id, opened_at);
CREATE INDEX service_sessions_agent ON service_sessions (agent_id, opened_at) WHERE agent_id <> '';
CREATE INDEX service_sessions_status ON service_sessions (status, opened_at) WHERE status <> 'closed';

CREATE TABLE service_turns (
    session_id text             NOT NULL,
    seq        integer          NOT NULL,
    at         timestamptz      NOT NULL,
    role       text             NOT NULL,
    text       text             NOT NULL,
    message_id text             NOT NULL DEFAULT '',
    faq_id     text             NOT NULL DEFAULT '',
    score      double precision NOT NULL DEFAULT 0,
    warnings   jsonb            NOT NULL DEFAULT '[]',
    agent_id   text             NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, seq)
);

CREATE TABLE service_agents (
    id         text        PRIMARY KEY,
    name       text        NOT NULL,
    skills     text[]      NOT NULL,
    presence   text        NOT NULL,
    capacity   integer     NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE service_queues (
    name        text        PRIMARY KEY,
    description text        NOT NULL,
    skills      text[]      NOT NULL,
    strategy    text        NOT NULL,
    overflow    text        NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE service_guides (
    id         text        NOT NULL,
    version    integer     NOT NULL,
    title      text        NOT NULL,
    category   text        NOT NULL,
    faq_ids    text[]      NOT NULL,
    steps      jsonb       NOT NULL,
    deleted    boolean     NOT NULL,
    created_at timestamptz NOT NULL,
    created_by text        NOT NULL,
    comment    text        NOT NULL,
    PRIMARY KEY (id, version)
);

-- +goose Down
DROP TABLE service_guides;
DROP TABLE service_queues;
DROP TABLE service_agents;
DROP TABLE service_turns;
DROP TABLE service_sessions;
