package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
)

const sqlKeyColumns = `SELECT id, name, hash, prefix, scopes, created_at, revoked_at FROM api_keys`

func scanKey(row pgx.Row) (*auth.Key, error) {
	var k auth.Key
	if err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Prefix, &k.Scopes, &k.CreatedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	if k.Scopes == nil {
		k.Scopes = []string{}
	}
	k.CreatedAt, k.RevokedAt = utc(k.CreatedAt), utcPtr(k.RevokedAt)
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
	_, err := db.pool.Exec(ctx, `INSERT INTO api_keys (id, name, hash, prefix, scopes, created_at, revoked_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, k.ID, k.Name, k.Hash, k.Prefix, scopes, k.CreatedAt, k.RevokedAt)
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "a key with the same id or hash already exists")
	} else if terr := textError(err); terr != nil {
		return fmt.Errorf("create key: %w", terr)
	} else if err != nil {
		return fmt.Errorf("create key %s: %w", k.ID, err)
	}
	return nil
}

// KeyByHash returns the key with that hash, revoked or not.
func (db *DB) KeyByHash(ctx context.Context, hash string) (*auth.Key, error) {
	k, err := scanKey(db.pool.QueryRow(ctx, sqlKeyColumns+` WHERE hash = $1`, hash))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("key not found")
	} else if err != nil {
		return nil, fmt.Errorf("key by hash: %w", err)
	}
	return k, nil
}

// Keys returns every key, revoked ones included, by creation time.
func (db *DB) Keys(ctx context.Context) ([]*auth.Key, error) {
	rows, err := db.pool.Query(ctx, sqlKeyColumns+` ORDER BY created_at, id`)
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
	tag, err := db.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1`, id, t)
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("key %q not found", id)
	}
	return nil
}
