-- +goose Up

-- The transactional outbox (package outbox): callbacks and notifications
-- written in the same transaction as the change that caused them, then
-- delivered by the dispatcher. Times are unix microseconds.
CREATE TABLE outbox (
	seq INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: pages and per-key order rely on it
	id TEXT NOT NULL UNIQUE,               -- the idempotency key
	sink TEXT NOT NULL,
	topic TEXT NOT NULL,
	order_key TEXT NOT NULL DEFAULT '',
	payload TEXT NOT NULL,                 -- JSON, sealed when the store has a key
	created_at INTEGER NOT NULL,
	state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
	attempts INTEGER NOT NULL DEFAULT 0,
	claim INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0,
	last_error TEXT NOT NULL DEFAULT '',
	delivered_at INTEGER
);
-- What the dispatcher claims: due pending messages.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
-- The earlier pending message of the same line, for per-key order.
CREATE INDEX outbox_line ON outbox (sink, order_key, seq) WHERE state = 'pending' AND order_key <> '';
-- Operators' listings by state, and purging delivered messages.
CREATE INDEX outbox_state ON outbox (state, seq);

-- +goose Down
DROP TABLE outbox;
