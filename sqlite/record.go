package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

const recordCols = 13

// maxInsertRows is the most rows one INSERT statement writes. SaveRecords
// splits a batch into statements of 64, 32, 16, … 1 rows (at most 7 of them
// plus full ones of 64), all prepared once at Open: a multi-row INSERT costs
// one statement step for many rows, which matters with a transpiled driver.
const maxInsertRows = 64

func insertRecordSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO records (seq, decision_id, event_id, customer_id, account, device_id, event_type, occurred_at, action, score, typology, decision, raw) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	}
	return b.String()
}

func insertKeySQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO record_keys (k, seq) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?)`)
	}
	return b.String()
}

// Prefixes of record_keys.k.
const (
	keyCustomer = "c:"
	keyAccount  = "a:"
	keyDevice   = "d:"
)

// recordKey is one row of record_keys.
type recordKey struct {
	k   string
	seq int64
}

// appendRecordKeys appends the lookup keys of rec.
func (db *DB) appendRecordKeys(keys []recordKey, rec *guard.Record) []recordKey {
	e := rec.Event
	keys = append(keys, recordKey{keyCustomer + e.Customer.ID, rec.Seq})
	if a := guard.AccountKey(db.sealer, e.Counterparty.Account); a != "" {
		keys = append(keys, recordKey{keyAccount + a, rec.Seq})
	}
	if e.Device.ID != "" {
		keys = append(keys, recordKey{keyDevice + e.Device.ID, rec.Seq})
	}
	return keys
}

// nullString returns s, or NULL when s is empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// appendRecordArgs appends the column values of rec to args.
func (db *DB) appendRecordArgs(args []any, rec *guard.Record) ([]any, error) {
	if rec == nil || rec.Event == nil || rec.Decision == nil {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "record needs an event and a decision")
	}
	e, d := rec.Event, rec.Decision
	if e.ID == "" || d.ID == "" {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "record needs an event id and a decision id")
	}
	if err := checkText("record", d.ID, e.ID, e.Customer.ID, e.Counterparty.Account, e.Device.ID, string(e.Type), d.Typology); err != nil {
		return nil, err
	}
	// Encoded once by the service (or here, by the hand-written encoder,
	// which writes exactly what encoding/json would at a fraction of the
	// cost): this runs for every decision.
	dj := rec.EncodedDecision()
	raw := e.Raw
	if raw == nil {
		raw = []byte{} // NOT NULL: store an empty blob, not NULL
	}
	raw, account, err := guard.SealRaw(db.sealer, e.ID, raw, e.Counterparty.Account)
	if err != nil {
		return nil, err
	}
	return append(args,
		rec.Seq, d.ID, e.ID, e.Customer.ID,
		nullString(account), nullString(e.Device.ID),
		string(e.Type), e.OccurredAt.UnixMilli(),
		int64(d.Action), d.Score, nullString(d.Typology),
		string(dj), raw,
	), nil
}

// SaveRecords stores recs in one transaction, all or none. A seq, event_id
// or decision_id that is already stored (or repeated within recs) is an
// ECONFLICT error and nothing is saved.
func (db *DB) SaveRecords(ctx context.Context, recs []*guard.Record) error {
	if len(recs) == 0 {
		return nil
	}
	// Encode before taking the write lock: the writer is the bottleneck.
	args := make([]any, 0, len(recs)*recordCols)
	keys := make([]recordKey, 0, len(recs)*3)
	for _, rec := range recs {
		var err error
		if args, err = db.appendRecordArgs(args, rec); err != nil {
			return fmt.Errorf("save records: %w", err)
		}
		keys = db.appendRecordKeys(keys, rec)
	}
	// In key order, consecutive inserts into record_keys share pages.
	slices.SortFunc(keys, func(a, b recordKey) int {
		if c := strings.Compare(a.k, b.k); c != 0 {
			return c
		}
		return cmp.Compare(a.seq, b.seq)
	})
	keyArgs := make([]any, 0, 2*len(keys))
	for _, k := range keys {
		keyArgs = append(keyArgs, k.k, k.seq)
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		if err := insertRows(ctx, tx, args, recordCols, db.insertRecord[:]); err != nil {
			return err
		}
		return insertRows(ctx, tx, keyArgs, 2, db.insertKey[:])
	})
	if isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "save records: a record with the same seq, event_id or decision_id is already stored")
	} else if err != nil {
		return fmt.Errorf("save records: %w", err)
	}
	return nil
}

// insertRows runs the multi-row INSERTs stmts (indexed by row count, a power
// of two up to maxInsertRows) over args, cols values a row.
func insertRows(ctx context.Context, tx *sql.Tx, args []any, cols int, stmts []*sql.Stmt) error {
	for len(args) > 0 {
		n := min(len(args)/cols, maxInsertRows)
		for n&(n-1) != 0 { // round down to a power of two
			n &= n - 1
		}
		if _, err := tx.StmtContext(ctx, stmts[n]).ExecContext(ctx, args[:n*cols]...); err != nil {
			return err
		}
		args = args[n*cols:]
	}
	return nil
}

const (
	sqlRecordColumnsFrom = `SELECT seq, event_id, decision, raw FROM `
	sqlRecordColumns     = sqlRecordColumnsFrom + `records`
)

func (db *DB) scanRecord(sc interface{ Scan(...any) error }) (*guard.Record, error) {
	var (
		rec     guard.Record
		eventID string
		dj      []byte
		raw     []byte
	)
	if err := sc.Scan(&rec.Seq, &eventID, &dj, &raw); err != nil {
		return nil, err
	}
	rec.Decision = new(guard.Decision)
	if err := json.Unmarshal(dj, rec.Decision); err != nil {
		return nil, fmt.Errorf("decode decision of seq %d: %w", rec.Seq, err)
	}
	raw, err := guard.OpenRaw(db.sealer, eventID, raw)
	if err != nil {
		return nil, err
	}
	rec.Event = &guard.Event{ID: eventID, Raw: raw}
	return &rec, nil
}

// Decision returns the record of a decision id.
func (db *DB) Decision(ctx context.Context, decisionID string) (*guard.Record, error) {
	rec, err := db.scanRecord(db.decisionByID.QueryRowContext(ctx, decisionID))
	if err == sql.ErrNoRows {
		return nil, notFound("decision %q not found", decisionID)
	} else if err != nil {
		return nil, fmt.Errorf("decision %s: %w", decisionID, err)
	}
	return rec, nil
}

// DecisionByEvent returns the record of an event id.
func (db *DB) DecisionByEvent(ctx context.Context, eventID string) (*guard.Record, error) {
	rec, err := db.scanRecord(db.decisionByEvt.QueryRowContext(ctx, eventID))
	if err == sql.ErrNoRows {
		return nil, notFound("no decision for event %q", eventID)
	} else if err != nil {
		return nil, fmt.Errorf("decision by event %s: %w", eventID, err)
	}
	return rec, nil
}

// filterLimit returns the number of rows FindDecisions returns for limit.
func filterLimit(limit int) int {
	switch {
	case limit <= 0:
		return 50
	case limit > 1000:
		return 1000
	}
	return limit
}

// ceilMilli returns t in unix milliseconds, rounded up: occurred_at is
// stored in whole milliseconds, so for an event time e with millisecond
// precision, e >= t exactly when ms(e) >= ceilMilli(t).
func ceilMilli(t time.Time) int64 {
	us := t.UnixMicro()
	ms := us / 1000
	if us%1000 > 0 {
		ms++
	}
	return ms
}

// FindDecisions returns the records matching f, newest (highest seq) first.
func (db *DB) FindDecisions(ctx context.Context, f guard.DecisionFilter) ([]*guard.Record, error) {
	f.Account = guard.AccountKey(db.sealer, f.Account)
	q, args := findQuery(f)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find decisions: %w", err)
	}
	defer rows.Close()
	recs := []*guard.Record{}
	for rows.Next() {
		rec, err := db.scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("find decisions: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find decisions: %w", err)
	}
	return recs, nil
}

// findQuery returns the query of FindDecisions and its arguments.
func findQuery(f guard.DecisionFilter) (string, []any) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) {
		where = append(where, cond)
		args = append(args, arg)
	}
	// One entity filter is served by record_keys, walked newest first; any
	// other is checked on the joined row.
	from := `records`
	for _, e := range []struct{ key, col, v string }{
		{keyCustomer, "customer_id", f.CustomerID},
		{keyAccount, "account", f.Account},
		{keyDevice, "device_id", f.DeviceID},
	} {
		switch {
		case e.v == "":
		case from == `records`:
			from = `record_keys JOIN records USING (seq)`
			add(`k = ?`, e.key+e.v)
		default:
			add(e.col+` = ?`, e.v)
		}
	}
	// "action > 0" spelled out lets the planner use the partial index of
	// alerts, which it cannot prove usable from a bound parameter.
	if f.Action != nil {
		if *f.Action > 0 {
			where = append(where, `action > 0`)
		}
		add(`action = ?`, int64(*f.Action))
	}
	if f.MinAction != nil && *f.MinAction > 0 {
		where = append(where, `action > 0`)
		add(`action >= ?`, int64(*f.MinAction))
	}
	if f.Typology != "" {
		add(`typology = ?`, f.Typology)
	}
	if f.EventType != "" {
		add(`event_type = ?`, string(f.EventType))
	}
	if !f.From.IsZero() {
		add(`occurred_at >= ?`, ceilMilli(f.From))
	}
	if !f.To.IsZero() {
		add(`occurred_at < ?`, ceilMilli(f.To))
	}
	if f.BeforeSeq > 0 {
		add(`seq < ?`, f.BeforeSeq)
	}
	q := sqlRecordColumnsFrom + from
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY seq DESC LIMIT ?`
	return q, append(args, filterLimit(f.Limit))
}

// defaultPageSize is how many rows Replay and EventIDs read per query. Each page is
// read in full and its rows closed before fn runs, so no read transaction
// stays open while fn works (a long one would keep the WAL from being
// checkpointed) and fn may use the store itself.
const defaultPageSize = 10_000

// Replay calls fn for every record with seq > afterSeq, in seq order.
func (db *DB) Replay(ctx context.Context, afterSeq int64, fn func(guard.ReplayItem) error) error {
	page := make([]guard.ReplayItem, 0, db.pageSize)
	for {
		page = page[:0]
		rows, err := db.replayPage.QueryContext(ctx, afterSeq, db.pageSize)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for rows.Next() {
			var (
				it      guard.ReplayItem
				action  int64
				eventID string
			)
			if err := rows.Scan(&it.Seq, &eventID, &it.Raw, &action, &it.Typology); err != nil {
				rows.Close()
				return fmt.Errorf("replay: %w", err)
			}
			if it.Raw, err = guard.OpenRaw(db.sealer, eventID, it.Raw); err != nil {
				rows.Close()
				return fmt.Errorf("replay: %w", err)
			}
			it.Action = guard.Action(action)
			page = append(page, it)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for _, it := range page {
			if err := fn(it); err != nil {
				return err
			}
		}
		if len(page) < db.pageSize {
			return nil
		}
		afterSeq = page[len(page)-1].Seq
	}
}

// EventIDs calls fn with every stored event id, in seq order.
func (db *DB) EventIDs(ctx context.Context, fn func(id string) error) error {
	var (
		after int64
		ids   = make([]string, 0, db.pageSize)
	)
	for {
		ids = ids[:0]
		rows, err := db.eventIDsPage.QueryContext(ctx, after, db.pageSize)
		if err != nil {
			return fmt.Errorf("event ids: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&after, &id); err != nil {
				rows.Close()
				return fmt.Errorf("event ids: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("event ids: %w", err)
		}
		for _, id := range ids {
			if err := fn(id); err != nil {
				return err
			}
		}
		if len(ids) < db.pageSize {
			return nil
		}
	}
}

// MaxSeq returns the highest stored seq, 0 if none. Records an erasure
// took out of records still count (seq_floor): seqs are never reused.
func (db *DB) MaxSeq(ctx context.Context) (int64, error) {
	var seq int64
	if err := db.r.QueryRowContext(ctx, `SELECT max(coalesce((SELECT max(seq) FROM records), 0),
		coalesce((SELECT seq FROM seq_floor WHERE id = 1), 0))`).Scan(&seq); err != nil {
		return 0, fmt.Errorf("max seq: %w", err)
	}
	return seq, nil
}

// SaveSnapshot replaces the snapshot with data taken after record seq.
func (db *DB) SaveSnapshot(ctx context.Context, seq int64, data []byte) error {
	if data == nil {
		data = []byte{}
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO snapshot (id, seq, data) VALUES (1, ?, ?)
			ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, data = excluded.data`, seq, data)
		return err
	})
	if err != nil {
		return fmt.Errorf("save snapshot: %w", err)
	}
	return nil
}

// LoadSnapshot returns the latest snapshot; seq 0 and nil data if none.
func (db *DB) LoadSnapshot(ctx context.Context) (int64, []byte, error) {
	var (
		seq  int64
		data []byte
	)
	err := db.r.QueryRowContext(ctx, `SELECT seq, data FROM snapshot WHERE id = 1`).Scan(&seq, &data)
	if err == sql.ErrNoRows {
		return 0, nil, nil
	} else if err != nil {
		return 0, nil, fmt.Errorf("load snapshot: %w", err)
	}
	if data == nil {
		data = []byte{}
	}
	return seq, data, nil
}

// SetSealer makes the store seal raw events and keep counterparty accounts
// as blind indexes. Call it before the store is used.
func (db *DB) SetSealer(s guard.Sealer) { db.sealer = s }
