-- +goose Up

-- The result given to a customer turn, JSON ('' for other turns), so that
-- a retry of its message id gets the same answer after a restart; the
-- partial index finds it by message id without touching other turns.
ALTER TABLE service_turns ADD COLUMN reply TEXT NOT NULL DEFAULT '';
CREATE INDEX service_turns_message ON service_turns (message_id, session_id) WHERE message_id <> '';

-- +goose Down
DROP INDEX service_turns_message;
ALTER TABLE service_turns DROP COLUMN reply;
