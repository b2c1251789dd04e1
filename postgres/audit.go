package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
)

var _ audit.Store = (*DB)(nil)

const sqlAuditColumns = `SELECT seq, at, actor, action, target, reason, result, details, coalesce(request_id, ''), prev_hash, hash FROM audit_log`

func scanAudit(row pgx.Row) (audit.Record, error) {
	var (
		r       audit.Record
		details string
	)
	err := row.Scan(&r.Seq, &r.Time, &r.Actor, &r.Action, &r.Target, &r.Reason, &r.Result, &details, &r.RequestID, &r.PrevHash, &r.Hash)
	r.Time, r.Details = utc(r.Time), json.RawMessage(details)
	return r, err
}

type queryRower interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}

func auditHead(ctx context.Context, q queryRower) (int64, []byte, error) {
	var (
		seq  int64
		hash []byte
	)
	err := q.QueryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, audit.GenesisHash, nil
	}
	return seq, hash, err
}

// AuditHead returns the seq and hash of the last audit record.
func (db *DB) AuditHead(ctx context.Context) (int64, []byte, error) {
	seq, hash, err := auditHead(ctx, db.pool)
	if err != nil {
		return 0, nil, fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

// AppendAudit appends records and checkpoints in one transaction. Two
// instances appending at once both see the same head; the second insert
// of the same seq waits for the first to commit and then fails on the
// primary key: ECONFLICT, and the loser reloads.
func (db *DB) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if len(recs) > 0 {
			seq, hash, err := auditHead(ctx, tx)
			if err != nil {
				return err
			}
			if recs[0].Seq != seq+1 || !bytes.Equal(recs[0].PrevHash, hash) {
				return xiaobao.Errorf(xiaobao.ECONFLICT, "audit log head moved: record %d does not follow %d", recs[0].Seq, seq)
			}
		}
		b := &pgx.Batch{}
		for _, r := range recs {
			var reqID *string
			if r.RequestID != "" {
				reqID = &r.RequestID
			}
			b.Queue(`INSERT INTO audit_log (seq, at, actor, action, target, reason, result, details, request_id, prev_hash, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, r.Seq, r.Time, r.Actor, r.Action, r.Target, r.Reason, r.Result,
				string(r.Details), reqID, r.PrevHash, r.Hash)
		}
		for _, c := range cps {
			b.Queue(`INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES ($1, $2, $3, $4, $5)`,
				c.Seq, c.Hash, c.Time, c.KeyID, c.Signature)
		}
		return tx.SendBatch(ctx, b).Close()
	})
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "audit record or checkpoint exists (seq or request id taken)")
	} else if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
		return err
	} else if terr := textError(err); terr != nil {
		return fmt.Errorf("append audit: %w", terr)
	} else if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// AuditByRequestID returns the audit records with any of ids.
func (db *DB) AuditByRequestID(ctx context.Context, ids []string) ([]audit.Record, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return db.auditQuery(ctx, sqlAuditColumns+` WHERE request_id = ANY($1)`, ids)
}

// AuditRecords returns up to limit audit records after seq after.
func (db *DB) AuditRecords(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	return db.auditQuery(ctx, sqlAuditColumns+` WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
}

func (db *DB) auditQuery(ctx context.Context, query string, args ...any) ([]audit.Record, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("audit records: %w", err)
	}
	defer rows.Close()
	var recs []audit.Record
	for rows.Next() {
		r, err := scanAudit(rows)
		if err != nil {
			return nil, fmt.Errorf("audit records: %w", err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit records: %w", err)
	}
	return recs, nil
}

// AuditCheckpoints returns up to limit checkpoints after seq after.
func (db *DB) AuditCheckpoints(ctx context.Context, after int64, limit int) ([]audit.Checkpoint, error) {
	rows, err := db.pool.Query(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []audit.Checkpoint
	for rows.Next() {
		var c audit.Checkpoint
		if err := rows.Scan(&c.Seq, &c.Hash, &c.Time, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("audit checkpoints: %w", err)
		}
		c.Time = utc(c.Time)
		cps = append(cps, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	return cps, nil
}
