package sqlite

// SetPageSize sets how many rows the paged reads (Replay, EventIDs,
// Outcomes) fetch per query, so tests cross page boundaries with few rows.
func SetPageSize(db *DB, n int) { db.pageSize = n }
