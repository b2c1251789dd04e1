package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// sqlUpsertList upserts a chunk of entries given as one array per column.
// DISTINCT ON keeps the last of entries named twice in one chunk, which
// ON CONFLICT DO UPDATE could not otherwise take.
const sqlUpsertList = `INSERT INTO list_entries (list, kind, value, reason, source, expires_at, created_at, created_by, value_sealed)
	SELECT DISTINCT ON (list, kind, value) list, kind, value, reason, source, expires_at, created_at, created_by, value_sealed
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::timestamptz[], $8::text[], $9::text[])
		WITH ORDINALITY AS u (list, kind, value, reason, source, expires_at, created_at, created_by, value_sealed, ord)
	ORDER BY list, kind, value, ord DESC
	ON CONFLICT (list, kind, value) DO UPDATE SET
		reason = excluded.reason, source = excluded.source, expires_at = excluded.expires_at,
		created_at = excluded.created_at, created_by = excluded.created_by, value_sealed = excluded.value_sealed`

// listChunk bounds the entries sent in one statement.
const listChunk = 20_000

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
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for len(es) > 0 {
			chunk := es[:min(len(es), listChunk)]
			es = es[len(chunk):]
			n := len(chunk)
			var (
				list, kind, value, reason = make([]string, n), make([]string, n), make([]string, n), make([]string, n)
				source, createdBy, sealed = make([]string, n), make([]string, n), make([]string, n)
				expires, created          = make([]pgtype.Timestamptz, n), make([]time.Time, n)
			)
			for i, e := range chunk {
				key, s, err := guard.SealListValue(db.sealer, e)
				if err != nil {
					return xiaobao.Errorf(xiaobao.EINVALID, "list entry value: %v", err)
				}
				sealed[i] = s
				list[i], kind[i], value[i], reason[i] = string(e.List), string(e.Kind), key, e.Reason
				source[i], createdBy[i], created[i] = e.Source, e.CreatedBy, e.CreatedAt
				if e.ExpiresAt != nil {
					expires[i] = pgtype.Timestamptz{Time: *e.ExpiresAt, Valid: true}
				}
			}
			if _, err := tx.Exec(ctx, sqlUpsertList, list, kind, value, reason, source, expires, created, createdBy, sealed); err != nil {
				return err
			}
		}
		return nil
	})
	if terr := textError(err); terr != nil {
		return fmt.Errorf("put list entries: %w", terr)
	} else if err != nil {
		return fmt.Errorf("put list entries: %w", err)
	}
	return nil
}

// DeleteListEntry removes one entry; ENOTFOUND if there is none.
func (db *DB) DeleteListEntry(ctx context.Context, list guard.ListName, kind guard.EntityKind, value string) error {
	// The plain value too: entries stored before sealing was set up.
	tag, err := db.pool.Exec(ctx, `DELETE FROM list_entries WHERE list = $1 AND kind = $2 AND value IN ($3, $4)`,
		string(list), string(kind), guard.ListValueKey(db.sealer, kind, value), value)
	if err != nil {
		return fmt.Errorf("delete list entry: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("%s list has no %s %q", list, kind, value)
	}
	return nil
}

// ListEntries returns the entries matching f, by (list, kind, value) in
// byte order, expired ones included; f.Limit 0 means all.
func (db *DB) ListEntries(ctx context.Context, f guard.ListFilter) ([]*guard.ListEntry, error) {
	var (
		where []string
		args  []any
	)
	add := func(col string, v string) {
		args = append(args, v)
		where = append(where, col+` = $`+strconv.Itoa(len(args)))
	}
	if f.List != "" {
		add(`list`, string(f.List))
	}
	if f.Kind != "" {
		add(`kind`, string(f.Kind))
	}
	if f.Value != "" {
		key := f.Value
		if f.Kind != "" {
			key = guard.ListValueKey(db.sealer, f.Kind, f.Value)
		}
		args = append(args, key, f.Value)
		where = append(where, `value IN ($`+strconv.Itoa(len(args)-1)+`, $`+strconv.Itoa(len(args))+`)`)
	}
	q := `SELECT list, kind, value, reason, source, expires_at, created_at, created_by, value_sealed FROM list_entries`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY list, kind, value`
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += ` LIMIT $` + strconv.Itoa(len(args))
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list entries: %w", err)
	}
	defer rows.Close()
	es := []*guard.ListEntry{}
	for rows.Next() {
		var (
			e                  guard.ListEntry
			list, kind, sealed string
		)
		if err := rows.Scan(&list, &kind, &e.Value, &e.Reason, &e.Source, &e.ExpiresAt, &e.CreatedAt, &e.CreatedBy, &sealed); err != nil {
			return nil, fmt.Errorf("list entries: %w", err)
		}
		e.List, e.Kind = guard.ListName(list), guard.EntityKind(kind)
		e.ExpiresAt, e.CreatedAt = utcPtr(e.ExpiresAt), utc(e.CreatedAt)
		v, err := guard.OpenListValue(db.sealer, e.List, e.Kind, e.Value, sealed)
		if err != nil {
			return nil, fmt.Errorf("list entries: %w", err)
		}
		e.Value = v
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
