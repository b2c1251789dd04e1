-- +goose Up

-- note_fp is a fingerprint of the note (a keyed blind index when notes are
-- sealed, whose ciphertexts differ every time): SaveOutcome compares it to
-- tell a retry from a changed note without opening either.
ALTER TABLE outcomes ADD COLUMN note_fp text NOT NULL DEFAULT '';
ALTER TABLE outcome_history ADD COLUMN note_fp text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE outcome_history DROP COLUMN note_fp;
ALTER TABLE outcomes DROP COLUMN note_fp;
