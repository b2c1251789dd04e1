-- +goose Up

-- vault_keys is the keyring of package vault: data keys and the blind index
-- key, each wrapped (encrypted) by the master key whose id is kek_id; the
-- master key itself is never stored. At most one key of a kind is primary.
CREATE TABLE vault_keys (
    id         bigint      PRIMARY KEY,
    kind       text        NOT NULL,
    kek_id     text        NOT NULL,
    wrapped    bytea       NOT NULL,
    is_primary boolean     NOT NULL,
    created_at timestamptz NOT NULL,
    retired_at timestamptz
);

CREATE UNIQUE INDEX vault_keys_primary ON vault_keys (kind) WHERE is_primary;

-- audit_log is the hash-chained audit log of package audit. details is
-- text, not json(b): the hash covers its exact bytes, which jsonb would
-- reorder. request_id is NULL when the caller gave none.
CREATE TABLE audit_log (
    seq        bigint      PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor      text        NOT NULL,
    action     text        NOT NULL,
    target     text        NOT NULL,
    reason     text        NOT NULL,
    result     text        NOT NULL,
    details    text        NOT NULL,
    request_id text,
    prev_hash  bytea       NOT NULL,
    hash       bytea       NOT NULL
);

CREATE UNIQUE INDEX audit_log_request ON audit_log (request_id) WHERE request_id IS NOT NULL;

-- audit_checkpoints holds the signed checkpoints of the chain.
CREATE TABLE audit_checkpoints (
    seq       bigint      PRIMARY KEY,
    hash      bytea       NOT NULL,
    at        timestamptz NOT NULL,
    key_id    text        NOT NULL,
    signature bytea       NOT NULL
);

-- The log is append-only. The trigger stops a bug or a careless statement
-- from changing it; it does not stop someone who can disable it, which is
-- what the hash chain and the signed checkpoints are for.
-- +goose StatementBegin
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();

-- +goose Down
DROP TABLE audit_checkpoints;
DROP TABLE audit_log;
DROP FUNCTION audit_append_only();
DROP TABLE vault_keys;
