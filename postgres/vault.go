package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/vault"
)

var _ vault.KeyStore = (*DB)(nil)

// VaultKeys returns the vault keyring, in id order.
func (db *DB) VaultKeys(ctx context.Context) ([]vault.Key, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, kind, kek_id, wrapped, is_primary, created_at, retired_at FROM vault_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("vault keys: %w", err)
	}
	defer rows.Close()
	keys := []vault.Key{}
	for rows.Next() {
		var (
			k  vault.Key
			id int64
		)
		if err := rows.Scan(&id, &k.Kind, &k.KEKID, &k.Wrapped, &k.Primary, &k.CreatedAt, &k.RetiredAt); err != nil {
			return nil, fmt.Errorf("vault keys: %w", err)
		}
		k.ID, k.CreatedAt, k.RetiredAt = uint32(id), utc(k.CreatedAt), utcPtr(k.RetiredAt)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vault keys: %w", err)
	}
	return keys, nil
}

// AddVaultKey stores k; a primary k retires the previous primary of its
// kind in the same transaction. A taken id, or a primary added by another
// instance meanwhile (the unique index on primaries), is ECONFLICT.
func (db *DB) AddVaultKey(ctx context.Context, k vault.Key) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if k.Primary {
			if _, err := tx.Exec(ctx, `UPDATE vault_keys SET is_primary = false, retired_at = $1 WHERE kind = $2 AND is_primary`,
				k.CreatedAt, k.Kind); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO vault_keys (id, kind, kek_id, wrapped, is_primary, created_at, retired_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, int64(k.ID), k.Kind, k.KEKID, k.Wrapped, k.Primary, k.CreatedAt, k.RetiredAt)
		return err
	})
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "vault key %d exists, or another primary %s key was added", k.ID, k.Kind)
	} else if err != nil {
		return fmt.Errorf("add vault key %d: %w", k.ID, err)
	}
	return nil
}

// RewrapVaultKeys replaces the wrapping of keys, all or none.
func (db *DB) RewrapVaultKeys(ctx context.Context, keys []vault.Key) error {
	return pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		for _, k := range keys {
			tag, err := tx.Exec(ctx, `UPDATE vault_keys SET kek_id = $1, wrapped = $2 WHERE id = $3`, k.KEKID, k.Wrapped, int64(k.ID))
			if err != nil {
				return fmt.Errorf("rewrap vault key %d: %w", k.ID, err)
			}
			if tag.RowsAffected() == 0 {
				return notFound("vault key %d not found", k.ID)
			}
		}
		return nil
	})
}
