package service

// Journal makes changes durable before they reach the store, so that an
// answer waits for one append instead of a store commit (whose latency a
// checkpoint or another writer can stretch to a hundred milliseconds),
// and the store is written in larger batches behind it, by its own
// goroutine. Package sessionlog implements it with segment files.
type Journal interface {
	// Append makes a batch of changes durable against a crash of the
	// process; batches are replayed in the order they were appended.
	Append(sessions []*Session, turns []*Turn) error
	// Cut returns a mark for everything appended so far (starting a new
	// segment), taken when a store write of all of it starts.
	Cut() (mark int64, err error)
	// Stored says the store holds everything up to mark: the journal may
	// forget it.
	Stored(mark int64) error
	// Pending returns the batches appended and not yet known to be
	// stored, oldest first, and the mark that covers them (read at
	// start).
	Pending() ([]JournalBatch, int64, error)
}

// JournalBatch is one appended batch.
type JournalBatch struct {
	Sessions []*Session
	Turns    []*Turn
}
