-- +goose Up

-- Phones, accounts and IPs on the block and allow lists are personal data:
-- value then holds their blind index and value_sealed the sealed value.
ALTER TABLE list_entries ADD COLUMN value_sealed text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE list_entries DROP COLUMN value_sealed;
