-- +goose Up

-- What erasures did to customer-service conversations: sessions
-- anonymised or deleted, and their turns deleted.
ALTER TABLE erasures ADD COLUMN conversations INTEGER NOT NULL DEFAULT 0;
ALTER TABLE erasures ADD COLUMN turns INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE erasures DROP COLUMN turns;
ALTER TABLE erasures DROP COLUMN conversations;
