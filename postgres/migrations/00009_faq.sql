-- +goose Up

-- The FAQ knowledge base (the Answer ability): live entries, every
-- revision of each entry with who made it, and the firm's synonym list
-- in versions.
CREATE TABLE faq_entries (
    id         text        PRIMARY KEY,
    version    integer     NOT NULL,
    questions  text[]      NOT NULL,
    answer     text        NOT NULL,
    category   text        NOT NULL,
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE faq_revisions (
    id        text        NOT NULL,
    version   integer     NOT NULL,
    deleted   boolean     NOT NULL,
    questions text[],
    answer    text,
    category  text,
    by        text        NOT NULL,
    at        timestamptz NOT NULL,
    PRIMARY KEY (id, version)
);

CREATE TABLE faq_synonym_versions (
    version  integer     PRIMARY KEY,
    synonyms jsonb       NOT NULL,
    by       text        NOT NULL,
    at       timestamptz NOT NULL
);

-- +goose Down
DROP TABLE faq_synonym_versions;
DROP TABLE faq_revisions;
DROP TABLE faq_entries;
