package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/vault"
)

var _ vault.KeyStore = (*DB)(nil)

// VaultKeys returns the vault keyring, in id order.
func (db *DB) VaultKeys(ctx context.Context) ([]vault.Key, error) {
	// Read on the writer: a key just added by AddVaultKey must be seen by
	// the reload that follows it, and this runs rarely.
	rows, err := db.w.QueryContext(ctx, `SELECT id, kind, kek_id, wrapped, is_primary, created_at, retired_at FROM vault_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("vault keys: %w", err)
	}
	defer rows.Close()
	keys := []vault.Key{}
	for rows.Next() {
		var (
			k       vault.Key
			id      int64
			created int64
			retired sql.NullInt64
		)
		if err := rows.Scan(&id, &k.Kind, &k.KEKID, &k.Wrapped, &k.Primary, &created, &retired); err != nil {
			return nil, fmt.Errorf("vault keys: %w", err)
		}
		k.ID, k.CreatedAt, k.RetiredAt = uint32(id), fromMicro(created), fromNullMicro(retired)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("vault keys: %w", err)
	}
	return keys, nil
}

// AddVaultKey stores k; a primary k retires the previous primary of its
// kind in the same transaction. A taken id is ECONFLICT.
func (db *DB) AddVaultKey(ctx context.Context, k vault.Key) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		if k.Primary {
			if _, err := tx.ExecContext(ctx, `UPDATE vault_keys SET is_primary = 0, retired_at = ? WHERE kind = ? AND is_primary = 1`,
				toMicro(k.CreatedAt), k.Kind); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO vault_keys (id, kind, kek_id, wrapped, is_primary, created_at, retired_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, int64(k.ID), k.Kind, k.KEKID, k.Wrapped, k.Primary, toMicro(k.CreatedAt), nullMicro(k.RetiredAt))
		return err
	})
	if isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "vault key %d exists, or another primary %s key was added", k.ID, k.Kind)
	} else if err != nil {
		return fmt.Errorf("add vault key %d: %w", k.ID, err)
	}
	return nil
}

// RewrapVaultKeys replaces the wrapping of keys, all or none.
func (db *DB) RewrapVaultKeys(ctx context.Context, keys []vault.Key) error {
	return db.write(ctx, func(tx *sql.Tx) error {
		for _, k := range keys {
			res, err := tx.ExecContext(ctx, `UPDATE vault_keys SET kek_id = ?, wrapped = ? WHERE id = ?`, k.KEKID, k.Wrapped, int64(k.ID))
			if err != nil {
				return fmt.Errorf("rewrap vault key %d: %w", k.ID, err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return fmt.Errorf("rewrap vault key %d: %w", k.ID, err)
			} else if n == 0 {
				return notFound("vault key %d not found", k.ID)
			}
		}
		return nil
	})
}
