package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

const sqlPackColumns = `SELECT name, version, source, active, created_at, created_by, comment FROM pack_versions`

func scanPack(sc interface{ Scan(...any) error }) (*guard.PackVersion, error) {
	var (
		p       guard.PackVersion
		created int64
	)
	if err := sc.Scan(&p.Name, &p.Version, &p.Source, &p.Active, &created, &p.CreatedBy, &p.Comment); err != nil {
		return nil, err
	}
	p.CreatedAt = fromMicro(created)
	return &p, nil
}

func (db *DB) queryPacks(ctx context.Context, q string, args ...any) ([]*guard.PackVersion, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
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
	err := db.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO pack_names (name, last_version) VALUES (?, 1)
			ON CONFLICT (name) DO UPDATE SET last_version = last_version + 1
			RETURNING last_version`, p.Name).Scan(&version)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO pack_versions (name, version, source, active, created_at, created_by, comment)
			VALUES (?, ?, ?, 0, ?, ?, ?)`, p.Name, version, p.Source, toMicro(p.CreatedAt), p.CreatedBy, p.Comment)
		return err
	})
	if err != nil {
		return fmt.Errorf("save pack %s: %w", p.Name, err)
	}
	p.Version, p.Active = version, false
	return nil
}

// PackVersions returns every version of a pack, newest first (none if the
// pack is unknown).
func (db *DB) PackVersions(ctx context.Context, name string) ([]*guard.PackVersion, error) {
	ps, err := db.queryPacks(ctx, sqlPackColumns+` WHERE name = ? ORDER BY version DESC`, name)
	if err != nil {
		return nil, fmt.Errorf("pack versions of %s: %w", name, err)
	}
	return ps, nil
}

// PackVersion returns one version of a pack.
func (db *DB) PackVersion(ctx context.Context, name string, version int) (*guard.PackVersion, error) {
	p, err := scanPack(db.r.QueryRowContext(ctx, sqlPackColumns+` WHERE name = ? AND version = ?`, name, version))
	if err == sql.ErrNoRows {
		return nil, notFound("pack %q has no version %d", name, version)
	} else if err != nil {
		return nil, fmt.Errorf("pack %s version %d: %w", name, version, err)
	}
	return p, nil
}

// ActivatePack makes version the one active version of the pack.
func (db *DB) ActivatePack(ctx context.Context, name string, version int) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM pack_versions WHERE name = ? AND version = ?`, name, version).Scan(&one)
		if err == sql.ErrNoRows {
			return notFound("pack %q has no version %d", name, version)
		} else if err != nil {
			return err
		}
		// Deactivate first: at most one version may be active (unique index).
		if _, err := tx.ExecContext(ctx, `UPDATE pack_versions SET active = 0 WHERE name = ? AND active = 1 AND version <> ?`, name, version); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE pack_versions SET active = 1 WHERE name = ? AND version = ?`, name, version)
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
	err := db.write(ctx, func(tx *sql.Tx) error {
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM pack_names WHERE name = ?`, name).Scan(&one)
		if err == sql.ErrNoRows {
			return notFound("pack %q not found", name)
		} else if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE pack_versions SET active = 0 WHERE name = ? AND active = 1`, name)
		return err
	})
	if err != nil {
		return fmt.Errorf("deactivate pack %s: %w", name, err)
	}
	return nil
}

// ActivePacks returns the active version of every pack that has one, by name.
func (db *DB) ActivePacks(ctx context.Context) ([]*guard.PackVersion, error) {
	ps, err := db.queryPacks(ctx, sqlPackColumns+` WHERE active = 1 ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("active packs: %w", err)
	}
	return ps, nil
}

// PackNames returns the name of every pack, sorted.
func (db *DB) PackNames(ctx context.Context) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name FROM pack_names ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("pack names: %w", err)
	}
	defer rows.Close()
	names := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("pack names: %w", err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pack names: %w", err)
	}
	return names, nil
}
