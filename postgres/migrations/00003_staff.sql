-- +goose Up

-- Staff users and their sign-in sessions; a session row holds only the
-- SHA-256 of its token.
CREATE TABLE staff_users (
    id            text        PRIMARY KEY,
    username      text        NOT NULL UNIQUE,
    display_name  text        NOT NULL,
    roles         text[]      NOT NULL,
    disabled      boolean     NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    last_login_at timestamptz
);

CREATE TABLE staff_sessions (
    hash       text        PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES staff_users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);

CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

-- +goose Down
DROP TABLE staff_sessions;
DROP TABLE staff_users;
