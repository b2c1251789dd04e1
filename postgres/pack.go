package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

const sqlPackColumns = `SELECT name, version, source, active, created_at, created_by, comment FROM pack_versions`

func scanPack(row pgx.Row) (*guard.PackVersion, error) {
	var p guard.PackVersion
	if err := row.Scan(&p.Name, &p.Version, &p.Source, &p.Active, &p.CreatedAt, &p.CreatedBy, &p.Comment); err != nil {
		return nil, err
	}
	p.CreatedAt = utc(p.CreatedAt)
	return &p, nil
}

func (db *DB) queryPacks(ctx context.Context, q string, args ...any) ([]*guard.PackVersion, error) {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ps := []*guard.PackVersion{}
	for rows.Next() {
		p, err := scanPack(rows)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, rows.Err()
}

// sqlSavePack bumps the pack's last version (the upsert locks its row until
// commit, so concurrent saves of one pack queue up and each gets its own
// number) and inserts the new version with that number.
const sqlSavePack = `WITH v AS (
	INSERT INTO pack_names (name, last_version) VALUES ($1, 1)
	ON CONFLICT (name) DO UPDATE SET last_version = pack_names.last_version + 1
	RETURNING last_version
)
INSERT INTO pack_versions (name, version, source, active, created_at, created_by, comment)
SELECT $1, last_version, $2, false, $3, $4, $5 FROM v
RETURNING version`

// SavePack stores p as a new, inactive version of its pack: the last
// version plus one, which it sets in p.Version.
func (db *DB) SavePack(ctx context.Context, p *guard.PackVersion) error {
	if p == nil || p.Name == "" {
		return xiaobao.Errorf(xiaobao.EINVALID, "pack needs a name")
	}
	if err := checkText("pack", p.Name, p.Source, p.CreatedBy, p.Comment); err != nil {
		return err
	}
	var version int
	err := db.pool.QueryRow(ctx, sqlSavePack, p.Name, p.Source, p.CreatedAt, p.CreatedBy, p.Comment).Scan(&version)
	if terr := textError(err); terr != nil {
		return fmt.Errorf("save pack: %w", terr)
	} else if err != nil {
		return fmt.Errorf("save pack %s: %w", p.Name, err)
	}
	p.Version, p.Active = version, false
	return nil
}

// PackVersions returns every version of a pack, newest first (none if the
// pack is unknown).
func (db *DB) PackVersions(ctx context.Context, name string) ([]*guard.PackVersion, error) {
	ps, err := db.queryPacks(ctx, sqlPackColumns+` WHERE name = $1 ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("pack versions of %s: %w", name, err)
	}
	return ps, nil
}

// PackVersion returns one version of a pack.
func (db *DB) PackVersion(ctx context.Context, name string, version int) (*guard.PackVersion, error) {
	p, err := scanPack(db.pool.QueryRow(ctx, sqlPackColumns+` WHERE name = $1 AND version = $2`, name, version))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("pack %q has no version %d", name, version)
	} else if err != nil {
		return nil, fmt.Errorf("pack %s version %d: %w", name, version, err)
	}
	return p, nil
}

// lockPack locks the pack's row in pack_names for the transaction, so that
// changes to which version is active happen one at a time; ENOTFOUND if the
// pack was never saved.
func lockPack(ctx context.Context, tx pgx.Tx, name string) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM pack_names WHERE name = $1 FOR UPDATE`, name).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("pack %q not found", name)
	}
	return err
}

// ActivatePack makes version the one active version of the pack.
func (db *DB) ActivatePack(ctx context.Context, name string, version int) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockPack(ctx, tx, name); err != nil {
			return err
		}
		var one int
		err := tx.QueryRow(ctx, `SELECT 1 FROM pack_versions WHERE name = $1 AND version = $2`, name, version).Scan(&one)
		if errors.Is(err, pgx.ErrNoRows) {
			return notFound("pack %q has no version %d", name, version)
		} else if err != nil {
			return err
		}
		// Deactivate first: at most one version may be active (unique index,
		// checked row by row).
		if _, err := tx.Exec(ctx, `UPDATE pack_versions SET active = false WHERE name = $1 AND active AND version <> $2`, name, version); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE pack_versions SET active = true WHERE name = $1 AND version = $2 AND NOT active`, name, version)
		return err
	})
	if err != nil {
		return fmt.Errorf("activate pack %s version %d: %w", name, version, err)
	}
	return nil
}

// DeactivatePack leaves the pack with no active version. It is ENOTFOUND
// for a pack that was never saved.
func (db *DB) DeactivatePack(ctx context.Context, name string) error {
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if err := lockPack(ctx, tx, name); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE pack_versions SET active = false WHERE name = $1 AND active`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("deactivate pack %s: %w", name, err)
	}
	return nil
}

// ActivePacks returns the active version of every pack that has one, by name.
func (db *DB) ActivePacks(ctx context.Context) ([]*guard.PackVersion, error) {
	ps, err := db.queryPacks(ctx, sqlPackColumns+` WHERE active ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("active packs: %w", err)
	}
	return ps, nil
}

// PackNames returns the name of every pack, sorted (byte order).
func (db *DB) PackNames(ctx context.Context) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT name FROM pack_names ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("pack names: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("pack names: %w", err)
	}
	if names == nil {
		names = []string{}
	}
	return names, nil
}
