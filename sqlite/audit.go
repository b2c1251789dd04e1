package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
)

var _ audit.Store = (*DB)(nil)

const sqlAuditColumns = `SELECT seq, at, actor, action, target, reason, result, details, coalesce(request_id, ''), prev_hash, hash FROM audit_log`

func scanAudit(sc interface{ Scan(...any) error }) (audit.Record, error) {
	var (
		r       audit.Record
		at      int64
		details string
	)
	err := sc.Scan(&r.Seq, &at, &r.Actor, &r.Action, &r.Target, &r.Reason, &r.Result, &details, &r.RequestID, &r.PrevHash, &r.Hash)
	r.Time, r.Details = fromMicro(at), json.RawMessage(details)
	return r, err
}

// AuditHead returns the seq and hash of the last audit record.
func (db *DB) AuditHead(ctx context.Context) (int64, []byte, error) {
	seq, hash, err := auditHead(ctx, db.r)
	if err != nil {
		return 0, nil, fmt.Errorf("audit head: %w", err)
	}
	return seq, hash, nil
}

func auditHead(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int64, []byte, error) {
	var (
		seq  int64
		hash []byte
	)
	err := q.QueryRowContext(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&seq, &hash)
	if err == sql.ErrNoRows {
		return 0, audit.GenesisHash, nil
	}
	return seq, hash, err
}

// AppendAudit appends records and checkpoints in one transaction, after
// checking, on the one writer, that recs follow the stored head.
func (db *DB) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		if len(recs) > 0 {
			seq, hash, err := auditHead(ctx, tx)
			if err != nil {
				return err
			}
			if recs[0].Seq != seq+1 || !bytes.Equal(recs[0].PrevHash, hash) {
				return xiaobao.Errorf(xiaobao.ECONFLICT, "audit log head moved: record %d does not follow %d", recs[0].Seq, seq)
			}
		}
		for _, r := range recs {
			var reqID sql.NullString
			if r.RequestID != "" {
				reqID = sql.NullString{String: r.RequestID, Valid: true}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log (seq, at, actor, action, target, reason, result, details, request_id, prev_hash, hash)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, r.Seq, toMicro(r.Time), r.Actor, r.Action, r.Target, r.Reason, r.Result,
				string(r.Details), reqID, r.PrevHash, r.Hash); err != nil {
				return err
			}
		}
		for _, c := range cps {
			if _, err := tx.ExecContext(ctx, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?)`,
				c.Seq, c.Hash, toMicro(c.Time), c.KeyID, c.Signature); err != nil {
				return err
			}
		}
		return nil
	})
	if isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "audit record or checkpoint exists (seq or request id taken)")
	} else if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
		return err
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
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return db.auditQuery(ctx, sqlAuditColumns+` WHERE request_id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`)`, args...)
}

// AuditRecords returns up to limit audit records after seq after.
func (db *DB) AuditRecords(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	return db.auditQuery(ctx, sqlAuditColumns+` WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
}

func (db *DB) auditQuery(ctx context.Context, query string, args ...any) ([]audit.Record, error) {
	rows, err := db.r.QueryContext(ctx, query, args...)
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
	rows, err := db.r.QueryContext(ctx, `SELECT seq, hash, at, key_id, signature FROM audit_checkpoints WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	defer rows.Close()
	var cps []audit.Checkpoint
	for rows.Next() {
		var (
			c  audit.Checkpoint
			at int64
		)
		if err := rows.Scan(&c.Seq, &c.Hash, &at, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("audit checkpoints: %w", err)
		}
		c.Time = fromMicro(at)
		cps = append(cps, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit checkpoints: %w", err)
	}
	return cps, nil
}
