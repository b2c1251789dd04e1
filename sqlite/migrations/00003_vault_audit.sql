-- +goose Up

-- vault_keys is the keyring of package vault: data keys and the blind index
-- key, each wrapped (encrypted) by the master key whose id is kek_id; the
-- master key itself is never stored. At most one key of a kind is primary.
-- Times are unix microseconds, UTC.
CREATE TABLE vault_keys (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL,
    kek_id     TEXT    NOT NULL,
    wrapped    BLOB    NOT NULL,
    is_primary INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
) STRICT;

CREATE UNIQUE INDEX vault_keys_primary ON vault_keys (kind) WHERE is_primary = 1;

-- audit_log is the hash-chained audit log of package audit; seq is the
-- rowid. request_id is NULL when the caller gave none.
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL, -- unix microseconds
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    result     TEXT    NOT NULL,
    details    TEXT    NOT NULL, -- compact JSON object, hashed byte for byte
    request_id TEXT,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
) STRICT;

CREATE UNIQUE INDEX audit_log_request ON audit_log (request_id) WHERE request_id IS NOT NULL;

-- audit_checkpoints holds the signed checkpoints of the chain.
CREATE TABLE audit_checkpoints (
    seq       INTEGER PRIMARY KEY,
    hash      BLOB    NOT NULL,
    at        INTEGER NOT NULL, -- unix microseconds
    key_id    TEXT    NOT NULL,
    signature BLOB    NOT NULL
) STRICT;

-- The log is append-only. These triggers stop a bug or a careless
-- statement from changing it; they do not stop someone who can drop them,
-- which is what the hash chain and the signed checkpoints are for.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit_checkpoints is append-only'); END;

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_log;
DROP TABLE vault_keys;
