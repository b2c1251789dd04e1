package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/staff"
)

const sqlUserColumns = `SELECT id, username, display_name, roles, disabled, password_hash, created_at, updated_at, last_login_at FROM staff_users`

func scanUser(sc interface{ Scan(...any) error }) (*staff.User, error) {
	var (
		u                staff.User
		roles            string
		created, updated int64
		last             sql.NullInt64
	)
	if err := sc.Scan(&u.ID, &u.Username, &u.DisplayName, &roles, &u.Disabled, &u.PasswordHash, &created, &updated, &last); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return nil, fmt.Errorf("decode roles of user %s: %w", u.ID, err)
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = fromMicro(created), fromMicro(updated), fromNullMicro(last)
	return &u, nil
}

func userArgs(u *staff.User) ([]any, error) {
	if err := checkText("staff user", u.ID, u.Username, u.DisplayName, u.PasswordHash); err != nil {
		return nil, err
	}
	roles := u.Roles
	if roles == nil {
		roles = []staff.Role{}
	}
	rj, err := json.Marshal(roles)
	if err != nil {
		return nil, err
	}
	return []any{u.ID, u.Username, u.DisplayName, string(rj), u.Disabled, u.PasswordHash,
		toMicro(u.CreatedAt), toMicro(u.UpdatedAt), nullMicro(u.LastLoginAt)}, nil
}

// CreateUser stores u; an existing id or username is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *staff.User) error {
	args, err := userArgs(u)
	if err != nil {
		return err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_users (id, username, display_name, roles, disabled, password_hash, created_at, updated_at, last_login_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, args...)
		return err
	})
	if isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "a staff user named %q already exists", u.Username)
	} else if err != nil {
		return fmt.Errorf("create staff user: %w", err)
	}
	return nil
}

// UpdateUser replaces everything but the id, username and creation time.
func (db *DB) UpdateUser(ctx context.Context, u *staff.User) error {
	args, err := userArgs(u)
	if err != nil {
		return err
	}
	var n int64
	err = db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff_users SET display_name = ?, roles = ?, disabled = ?, password_hash = ?, updated_at = ?, last_login_at = ?
			WHERE id = ?`, args[2], args[3], args[4], args[5], args[7], args[8], args[0])
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return fmt.Errorf("update staff user %s: %w", u.ID, err)
	}
	if n == 0 {
		return xiaobao.Errorf(xiaobao.ENOTFOUND, "staff user %q not found", u.Username)
	}
	return nil
}

func (db *DB) oneUser(ctx context.Context, where string, arg any) (*staff.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, sqlUserColumns+` WHERE `+where, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "staff user not found")
	} else if err != nil {
		return nil, fmt.Errorf("staff user: %w", err)
	}
	return u, nil
}

// UserByName returns the user, ENOTFOUND if none.
func (db *DB) UserByName(ctx context.Context, username string) (*staff.User, error) {
	return db.oneUser(ctx, `username = ?`, username)
}

// UserByID returns the user, ENOTFOUND if none.
func (db *DB) UserByID(ctx context.Context, id string) (*staff.User, error) {
	return db.oneUser(ctx, `id = ?`, id)
}

// Users returns every user by username.
func (db *DB) Users(ctx context.Context) ([]*staff.User, error) {
	rows, err := db.r.QueryContext(ctx, sqlUserColumns+` ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("staff users: %w", err)
	}
	defer rows.Close()
	us := []*staff.User{}
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("staff users: %w", err)
		}
		us = append(us, u)
	}
	return us, rows.Err()
}

// CreateSession stores s.
func (db *DB) CreateSession(ctx context.Context, s *staff.Session) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO staff_sessions (hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			s.Hash, s.UserID, toMicro(s.CreatedAt), toMicro(s.ExpiresAt))
		return err
	})
	var e *sqlite.Error
	if isConstraint(err) || errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "session exists or its user does not")
	} else if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session, ENOTFOUND if none.
func (db *DB) SessionByHash(ctx context.Context, hash string) (*staff.Session, error) {
	var (
		s                staff.Session
		created, expires int64
	)
	err := db.r.QueryRowContext(ctx, `SELECT hash, user_id, created_at, expires_at FROM staff_sessions WHERE hash = ?`, hash).
		Scan(&s.Hash, &s.UserID, &created, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "session not found")
	} else if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = fromMicro(created), fromMicro(expires)
	return &s, nil
}

// DeleteSession removes a session; a missing one is a no-op.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM staff_sessions WHERE hash = ?`, hash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user and returns their hashes.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) ([]string, error) {
	hashes := []string{}
	err := db.write(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `DELETE FROM staff_sessions WHERE user_id = ? RETURNING hash`, userID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			if err := rows.Scan(&h); err != nil {
				return err
			}
			hashes = append(hashes, h)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	return hashes, nil
}
