-- +goose Up

-- What erasures did to customer-service conversations: sessions
-- anonymised or deleted, and their turns deleted.
ALTER TABLE erasures ADD COLUMN conversations integer NOT NULL DEFAULT 0,
    ADD COLUMN turns integer NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE erasures DROP COLUMN turns, DROP COLUMN conversations;
