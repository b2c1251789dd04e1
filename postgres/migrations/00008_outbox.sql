-- +goose Up

-- The transactional outbox (package outbox): callbacks and notifications
-- written in the same transaction as the change that caused them, then
-- delivered by the dispatcher.
CREATE TABLE outbox (
	seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	id text NOT NULL UNIQUE, -- the idempotency key
	sink text NOT NULL,
	topic text NOT NULL,
	order_key text NOT NULL DEFAULT '',
	payload text NOT NULL,   -- JSON, sealed when the store has a key
	created_at timestamptz NOT NULL,
	state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
	attempts integer NOT NULL DEFAULT 0,
	claim bigint NOT NULL DEFAULT 0,
	next_attempt_at timestamptz NOT NULL,
	lease_until timestamptz NOT NULL DEFAULT 'epoch',
	last_error text NOT NULL DEFAULT '',
	delivered_at timestamptz
);
-- What the dispatcher claims: due pending messages.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
-- The earlier pending message of the same line, for per-key order.
CREATE INDEX outbox_line ON outbox (sink, order_key, seq) WHERE state = 'pending' AND order_key <> '';
-- Operators' listings by state, and purging delivered messages.
CREATE INDEX outbox_state ON outbox (state, seq);

-- +goose Down
DROP TABLE outbox;
