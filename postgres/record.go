package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// sqlInsertRecords inserts a batch given as one array per column. One
// statement is atomic: a duplicate anywhere fails the whole batch.
const sqlInsertRecords = `INSERT INTO records
	(seq, decision_id, event_id, customer_id, account, device_id, event_type, occurred_at, action, score, typology, decision, raw)
	SELECT seq, decision_id, event_id, customer_id, nullif(account, ''), nullif(device_id, ''), event_type,
		occurred_at, action, score, nullif(typology, ''), decision::json, raw
	FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
		$8::timestamptz[], $9::smallint[], $10::float8[], $11::text[], $12::text[], $13::bytea[])
	AS u (seq, decision_id, event_id, customer_id, account, device_id, event_type, occurred_at, action, score, typology, decision, raw)`

// recordColumns holds a batch of records column by column.
type recordColumns struct {
	seq                                      []int64
	decisionID, eventID, customerID, account []string
	deviceID, eventType, typology, decision  []string
	occurredAt                               []time.Time
	action                                   []int16
	score                                    []float64
	raw                                      [][]byte
}

func newRecordColumns(n int) *recordColumns {
	return &recordColumns{
		seq: make([]int64, 0, n), decisionID: make([]string, 0, n), eventID: make([]string, 0, n),
		customerID: make([]string, 0, n), account: make([]string, 0, n), deviceID: make([]string, 0, n),
		eventType: make([]string, 0, n), typology: make([]string, 0, n), decision: make([]string, 0, n),
		occurredAt: make([]time.Time, 0, n), action: make([]int16, 0, n), score: make([]float64, 0, n),
		raw: make([][]byte, 0, n),
	}
}

func (c *recordColumns) add(rec *guard.Record, sealer guard.Sealer) error {
	if rec == nil || rec.Event == nil || rec.Decision == nil {
		return xiaobao.Errorf(xiaobao.EINVALID, "record needs an event and a decision")
	}
	e, d := rec.Event, rec.Decision
	if e.ID == "" || d.ID == "" {
		return xiaobao.Errorf(xiaobao.EINVALID, "record needs an event id and a decision id")
	}
	if err := checkText("record", d.ID, e.ID, e.Customer.ID, e.Counterparty.Account, e.Device.ID, string(e.Type), d.Typology); err != nil {
		return err
	}
	// Encoded once by the service (or here, by the hand-written encoder,
	// which writes exactly what encoding/json would at a fraction of the
	// cost): this runs for every decision.
	dj := rec.EncodedDecision()
	raw := e.Raw
	if raw == nil {
		raw = []byte{} // NOT NULL: an empty bytea, not NULL
	}
	raw, account, err := guard.SealRaw(sealer, e.ID, raw, e.Counterparty.Account)
	if err != nil {
		return err
	}
	c.seq = append(c.seq, rec.Seq)
	c.decisionID = append(c.decisionID, d.ID)
	c.eventID = append(c.eventID, e.ID)
	c.customerID = append(c.customerID, e.Customer.ID)
	c.account = append(c.account, account)
	c.deviceID = append(c.deviceID, e.Device.ID)
	c.eventType = append(c.eventType, string(e.Type))
	c.occurredAt = append(c.occurredAt, e.OccurredAt)
	c.action = append(c.action, int16(d.Action))
	c.score = append(c.score, d.Score)
	c.typology = append(c.typology, d.Typology)
	c.decision = append(c.decision, string(dj))
	c.raw = append(c.raw, raw)
	return nil
}

// SaveRecords stores recs in one statement, all or none. A seq, event_id or
// decision_id that is already stored (or repeated within recs) is an
// ECONFLICT error and nothing is saved.
func (db *DB) SaveRecords(ctx context.Context, recs []*guard.Record) error {
	if len(recs) == 0 {
		return nil
	}
	c := newRecordColumns(len(recs))
	for _, rec := range recs {
		if err := c.add(rec, db.sealer); err != nil {
			return fmt.Errorf("save records: %w", err)
		}
	}
	_, err := db.pool.Exec(ctx, sqlInsertRecords, c.seq, c.decisionID, c.eventID, c.customerID, c.account,
		c.deviceID, c.eventType, c.occurredAt, c.action, c.score, c.typology, c.decision, c.raw)
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "save records: a record with the same seq, event_id or decision_id is already stored")
	} else if terr := textError(err); terr != nil {
		return fmt.Errorf("save records: %w", terr)
	} else if err != nil {
		return fmt.Errorf("save records: %w", err)
	}
	return nil
}

const sqlRecordColumns = `SELECT seq, event_id, decision, raw FROM records`

func (db *DB) scanRecord(row pgx.Row) (*guard.Record, error) {
	var (
		rec     guard.Record
		eventID string
		dj      []byte
		raw     []byte
	)
	if err := row.Scan(&rec.Seq, &eventID, &dj, &raw); err != nil {
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
	rec, err := db.scanRecord(db.pool.QueryRow(ctx, sqlRecordColumns+` WHERE decision_id = $1`, decisionID))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("decision %q not found", decisionID)
	} else if err != nil {
		return nil, fmt.Errorf("decision %s: %w", decisionID, err)
	}
	return rec, nil
}

// DecisionByEvent returns the record of an event id.
func (db *DB) DecisionByEvent(ctx context.Context, eventID string) (*guard.Record, error) {
	rec, err := db.scanRecord(db.pool.QueryRow(ctx, sqlRecordColumns+` WHERE event_id = $1`, eventID))
	if errors.Is(err, pgx.ErrNoRows) {
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

// FindDecisions returns the records matching f, newest (highest seq) first.
func (db *DB) FindDecisions(ctx context.Context, f guard.DecisionFilter) ([]*guard.Record, error) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.CustomerID != "" {
		add(`customer_id = ?`, f.CustomerID)
	}
	if f.Account != "" {
		add(`account = ?`, guard.AccountKey(db.sealer, f.Account))
	}
	if f.DeviceID != "" {
		add(`device_id = ?`, f.DeviceID)
	}
	// "action > 0" spelled out lets the planner use the partial index of
	// alerts even in a generic plan, where it cannot see the parameter.
	if f.Action != nil {
		if *f.Action > 0 {
			where = append(where, `action > 0`)
		}
		add(`action = ?`, int16(*f.Action))
	}
	if f.MinAction != nil && *f.MinAction > 0 {
		where = append(where, `action > 0`)
		add(`action >= ?`, int16(*f.MinAction))
	}
	if f.Typology != "" {
		add(`typology = ?`, f.Typology)
	}
	if f.EventType != "" {
		add(`event_type = ?`, string(f.EventType))
	}
	if !f.From.IsZero() {
		add(`occurred_at >= ?`, f.From)
	}
	if !f.To.IsZero() {
		add(`occurred_at < ?`, f.To)
	}
	if f.BeforeSeq > 0 {
		add(`seq < ?`, f.BeforeSeq)
	}
	q := sqlRecordColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	args = append(args, filterLimit(f.Limit))
	q += ` ORDER BY seq DESC LIMIT $` + strconv.Itoa(len(args))

	rows, err := db.pool.Query(ctx, q, args...)
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

// defaultPageSize is how many rows Replay, EventIDs and Outcomes read per query.
// Each page is read in full before fn runs, so no query (and no snapshot
// that holds back vacuum) stays open while fn works, and fn may use the
// store itself.
const defaultPageSize = 10_000

// Replay calls fn for every record with seq > afterSeq, in seq order.
func (db *DB) Replay(ctx context.Context, afterSeq int64, fn func(guard.ReplayItem) error) error {
	page := make([]guard.ReplayItem, 0, db.pageSize)
	for {
		page = page[:0]
		rows, err := db.pool.Query(ctx, `SELECT seq, event_id, raw, action, coalesce(typology, '') FROM records
			WHERE seq > $1 ORDER BY seq LIMIT $2`, afterSeq, db.pageSize)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		for rows.Next() {
			var (
				it      guard.ReplayItem
				action  int16
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
		rows, err := db.pool.Query(ctx, `SELECT seq, event_id FROM records WHERE seq > $1 ORDER BY seq LIMIT $2`, after, db.pageSize)
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
	if err := db.pool.QueryRow(ctx, `SELECT greatest(coalesce((SELECT max(seq) FROM records), 0),
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
	_, err := db.pool.Exec(ctx, `INSERT INTO snapshot (id, seq, data) VALUES (1, $1, $2)
		ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, data = excluded.data`, seq, data)
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
	err := db.pool.QueryRow(ctx, `SELECT seq, data FROM snapshot WHERE id = 1`).Scan(&seq, &data)
	if errors.Is(err, pgx.ErrNoRows) {
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
