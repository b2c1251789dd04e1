-- +goose Up

-- The FAQ knowledge base (the Answer ability): live entries, every
-- revision of each entry with who made it, and the firm's synonym list
-- in versions. Questions and synonyms are JSON arrays.
CREATE TABLE faq_entries (
    id         TEXT    PRIMARY KEY,
    version    INTEGER NOT NULL,
    questions  TEXT    NOT NULL,
    answer     TEXT    NOT NULL,
    category   TEXT    NOT NULL,
    updated_by TEXT    NOT NULL,
    updated_at INTEGER NOT NULL -- unix microseconds, UTC
) STRICT;

CREATE TABLE faq_revisions (
    id        TEXT    NOT NULL,
    version   INTEGER NOT NULL,
    deleted   INTEGER NOT NULL,
    questions TEXT,
    answer    TEXT,
    category  TEXT,
    by        TEXT    NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (id, version)
) STRICT;

CREATE TABLE faq_synonym_versions (
    version  INTEGER PRIMARY KEY,
    synonyms TEXT    NOT NULL,
    by       TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT;

-- +goose Down
DROP TABLE faq_synonym_versions;
DROP TABLE faq_revisions;
DROP TABLE faq_entries;
