package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

const listCols = 9

// maxListRows is the most entries one upsert statement writes; like records,
// a batch goes in statements of 64, 32, … 1 rows, prepared once at Open.
const maxListRows = 64

// upsertListSQL returns the upsert of n entries. SQLite inserts the rows of
// one statement in order, so an entry named twice ends as the last one.
func upsertListSQL(n int) string {
	var b strings.Builder
	b.WriteString(`INSERT INTO list_entries (list, kind, value, reason, source, expires_at, created_at, created_by, value_sealed) VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`(?,?,?,?,?,?,?,?,?)`)
	}
	b.WriteString(` ON CONFLICT (list, kind, value) DO UPDATE SET
		reason = excluded.reason, source = excluded.source, expires_at = excluded.expires_at,
		created_at = excluded.created_at, created_by = excluded.created_by, value_sealed = excluded.value_sealed`)
	return b.String()
}

// PutListEntries inserts or replaces es by (list, kind, value), in one
// transaction. When es names an entry twice, the last one wins.
func (db *DB) PutListEntries(ctx context.Context, es []*guard.ListEntry) error {
	for _, e := range es {
		if e == nil || e.List == "" || e.Kind == "" || e.Value == "" {
			return xiaobao.Errorf(xiaobao.EINVALID, "list entry needs a list, a kind and a value")
		}
		if err := checkText("list entry", string(e.List), string(e.Kind), e.Value, e.Reason, e.Source, e.CreatedBy); err != nil {
			return err
		}
	}
	if len(es) == 0 {
		return nil
	}
	args := make([]any, 0, min(len(es), 1024)*listCols)
	err := db.write(ctx, func(tx *sql.Tx) error {
		for len(es) > 0 {
			n := min(len(es), maxListRows)
			for n&(n-1) != 0 { // round down to a power of two
				n &= n - 1
			}
			args = args[:0]
			for _, e := range es[:n] {
				key, sealed, err := guard.SealListValue(db.sealer, e)
				if err != nil {
					return xiaobao.Errorf(xiaobao.EINVALID, "list entry value: %v", err)
				}
				args = append(args, string(e.List), string(e.Kind), key, e.Reason, e.Source,
					nullMicro(e.ExpiresAt), toMicro(e.CreatedAt), e.CreatedBy, sealed)
			}
			if _, err := tx.StmtContext(ctx, db.upsertList[n]).ExecContext(ctx, args...); err != nil {
				return err
			}
			es = es[n:]
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("put list entries: %w", err)
	}
	return nil
}

// DeleteListEntry removes one entry; ENOTFOUND if there is none.
func (db *DB) DeleteListEntry(ctx context.Context, list guard.ListName, kind guard.EntityKind, value string) error {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		// The plain value too: entries stored before sealing was set up.
		res, err := tx.ExecContext(ctx, `DELETE FROM list_entries WHERE list = ? AND kind = ? AND value IN (?, ?)`,
			string(list), string(kind), guard.ListValueKey(db.sealer, kind, value), value)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("delete list entry: %w", err)
	}
	if n == 0 {
		return notFound("%s list has no %s %q", list, kind, value)
	}
	return nil
}

// ListEntries returns the entries matching f, by (list, kind, value),
// expired ones included; f.Limit 0 means all.
func (db *DB) ListEntries(ctx context.Context, f guard.ListFilter) ([]*guard.ListEntry, error) {
	var (
		where []string
		args  []any
	)
	if f.List != "" {
		where, args = append(where, `list = ?`), append(args, string(f.List))
	}
	if f.Kind != "" {
		where, args = append(where, `kind = ?`), append(args, string(f.Kind))
	}
	if f.Value != "" {
		key := f.Value
		if f.Kind != "" {
			key = guard.ListValueKey(db.sealer, f.Kind, f.Value)
		}
		where, args = append(where, `value IN (?, ?)`), append(args, key, f.Value)
	}
	q := `SELECT list, kind, value, reason, source, expires_at, created_at, created_by, value_sealed FROM list_entries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY list, kind, value`
	if f.Limit > 0 {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	defer rows.Close()
	es := []*guard.ListEntry{}
	for rows.Next() {
		var (
			e          guard.ListEntry
			list, kind string
			expires    sql.NullInt64
			created    int64
			sealed     string
		)
		if err := rows.Scan(&list, &kind, &e.Value, &e.Reason, &e.Source, &expires, &created, &e.CreatedBy, &sealed); err != nil {
			return nil, fmt.Errorf("list entries: %w", err)
		}
		e.List, e.Kind = guard.ListName(list), guard.EntityKind(kind)
		v, err := guard.OpenListValue(db.sealer, e.List, e.Kind, e.Value, sealed)
		if err != nil {
			return nil, fmt.Errorf("list entries: %w", err)
		}
		e.Value = v
		e.ExpiresAt, e.CreatedAt = fromNullMicro(expires), fromMicro(created)
		es = append(es, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	if db.sealer != nil {
		// Sealed values are stored by their blind index, which orders
		// nothing: restore the (list, kind, value) order.
		guard.SortListEntries(es)
	}
	return es, nil
}
