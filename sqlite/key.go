package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
)

const sqlKeyColumns = `SELECT id, name, hash, prefix, scopes, created_at, revoked_at FROM api_keys`

func scanKey(sc interface{ Scan(...any) error }) (*auth.Key, error) {
	var (
		k       auth.Key
		scopes  string
		created int64
		revoked sql.NullInt64
	)
	if err := sc.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &scopes, &created, &revoked); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
		return nil, fmt.Errorf("decode scopes of key %s: %w", k.ID, err)
	}
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	k.CreatedAt, k.RevokedAt = fromMicro(created), fromNullMicro(revoked)
	return &k, nil
}

// CreateKey stores k. A key with the same id or hash is an ECONFLICT error.
func (db *DB) CreateKey(ctx context.Context, k *auth.Key) error {
	if k == nil || k.ID == "" || k.Hash == "" {
		return xiaobao.Errorf(xiaobao.EINVALID, "key needs an id and a hash")
	}
	if err := checkText("key", append([]string{k.ID, k.Name, k.Hash, k.Prefix}, k.Scopes...)...); err != nil {
		return err
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	sj, err := json.Marshal(scopes)
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, name, hash, prefix, scopes, created_at, revoked_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, k.ID, k.Name, k.Hash, k.Prefix, string(sj), toMicro(k.CreatedAt), nullMicro(k.RevokedAt))
		return err
	})
	if isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "a key with the same id or hash already exists")
	} else if err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// KeyByHash returns the key with that hash, revoked or not.
func (db *DB) KeyByHash(ctx context.Context, hash string) (*auth.Key, error) {
	k, err := scanKey(db.r.QueryRowContext(ctx, sqlKeyColumns+` WHERE hash = ?`, hash))
	if err == sql.ErrNoRows {
		return nil, notFound("key not found")
	} else if err != nil {
		return nil, fmt.Errorf("key by hash: %w", err)
	}
	return k, nil
}

// Keys returns every key, revoked ones included, by creation time.
func (db *DB) Keys(ctx context.Context) ([]*auth.Key, error) {
	rows, err := db.r.QueryContext(ctx, sqlKeyColumns+` ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	defer rows.Close()
	ks := []*auth.Key{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, fmt.Errorf("keys: %w", err)
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("keys: %w", err)
	}
	return ks, nil
}

// RevokeKey marks a key revoked at t. Revoking a revoked key keeps the first
// time; an unknown id is ENOTFOUND.
func (db *DB) RevokeKey(ctx context.Context, id string, t time.Time) error {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?`, toMicro(t), id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	if n == 0 {
		return notFound("key %q not found", id)
	}
	return nil
}
