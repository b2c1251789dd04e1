-- +goose Up

-- Staff users and their sign-in sessions. Roles are a JSON array; a
-- session row holds only the SHA-256 of its token.
CREATE TABLE staff_users (
    id            TEXT    PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    display_name  TEXT    NOT NULL,
    roles         TEXT    NOT NULL,
    disabled      INTEGER NOT NULL,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL, -- unix microseconds, UTC
    updated_at    INTEGER NOT NULL,
    last_login_at INTEGER
) STRICT;

CREATE TABLE staff_sessions (
    hash       TEXT    PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES staff_users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

-- +goose Down
DROP TABLE staff_sessions;
DROP TABLE staff_users;
