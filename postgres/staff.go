package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/staff"
)

const foreignKeyViolation = "23503"

const sqlUserColumns = `SELECT id, username, display_name, roles, disabled, password_hash, created_at, updated_at, last_login_at FROM staff_users`

func scanUser(row pgx.Row) (*staff.User, error) {
	var (
		u     staff.User
		roles []string
	)
	if err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &roles, &u.Disabled, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt); err != nil {
		return nil, err
	}
	u.Roles = make([]staff.Role, len(roles))
	for i, r := range roles {
		u.Roles[i] = staff.Role(r)
	}
	u.CreatedAt, u.UpdatedAt, u.LastLoginAt = utc(u.CreatedAt), utc(u.UpdatedAt), utcPtr(u.LastLoginAt)
	return &u, nil
}

func roleStrings(rs []staff.Role) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = string(r)
	}
	return out
}

// CreateUser stores u; an existing id or username is ECONFLICT.
func (db *DB) CreateUser(ctx context.Context, u *staff.User) error {
	if err := checkText("staff user", u.ID, u.Username, u.DisplayName, u.PasswordHash); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO staff_users (id, username, display_name, roles, disabled, password_hash, created_at, updated_at, last_login_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Username, u.DisplayName, roleStrings(u.Roles), u.Disabled, u.PasswordHash, u.CreatedAt, u.UpdatedAt, u.LastLoginAt)
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "a staff user named %q already exists", u.Username)
	} else if err != nil {
		return fmt.Errorf("create staff user: %w", err)
	}
	return nil
}

// UpdateUser replaces everything but the id, username and creation time.
func (db *DB) UpdateUser(ctx context.Context, u *staff.User) error {
	if err := checkText("staff user", u.DisplayName, u.PasswordHash); err != nil {
		return err
	}
	tag, err := db.pool.Exec(ctx, `UPDATE staff_users SET display_name = $2, roles = $3, disabled = $4, password_hash = $5, updated_at = $6, last_login_at = $7
		WHERE id = $1`, u.ID, u.DisplayName, roleStrings(u.Roles), u.Disabled, u.PasswordHash, u.UpdatedAt, u.LastLoginAt)
	if err != nil {
		return fmt.Errorf("update staff user %s: %w", u.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return xiaobao.Errorf(xiaobao.ENOTFOUND, "staff user %q not found", u.Username)
	}
	return nil
}

func (db *DB) oneUser(ctx context.Context, where string, arg any) (*staff.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, sqlUserColumns+` WHERE `+where, arg))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("staff user not found")
	} else if err != nil {
		return nil, fmt.Errorf("staff user: %w", err)
	}
	return u, nil
}

// UserByName returns the user, ENOTFOUND if none.
func (db *DB) UserByName(ctx context.Context, username string) (*staff.User, error) {
	if checkText("username", username) != nil {
		return nil, notFound("staff user not found")
	}
	return db.oneUser(ctx, `username = $1`, username)
}

// UserByID returns the user, ENOTFOUND if none.
func (db *DB) UserByID(ctx context.Context, id string) (*staff.User, error) {
	return db.oneUser(ctx, `id = $1`, id)
}

// Users returns every user by username.
func (db *DB) Users(ctx context.Context) ([]*staff.User, error) {
	rows, err := db.pool.Query(ctx, sqlUserColumns+` ORDER BY username`)
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
	_, err := db.pool.Exec(ctx, `INSERT INTO staff_sessions (hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
		s.Hash, s.UserID, s.CreatedAt, s.ExpiresAt)
	if c := pgCode(err); c == uniqueViolation || c == foreignKeyViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "session exists or its user does not")
	} else if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// SessionByHash returns the session, ENOTFOUND if none.
func (db *DB) SessionByHash(ctx context.Context, hash string) (*staff.Session, error) {
	var s staff.Session
	err := db.pool.QueryRow(ctx, `SELECT hash, user_id, created_at, expires_at FROM staff_sessions WHERE hash = $1`, hash).
		Scan(&s.Hash, &s.UserID, &s.CreatedAt, &s.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("session not found")
	} else if err != nil {
		return nil, fmt.Errorf("session: %w", err)
	}
	s.CreatedAt, s.ExpiresAt = utc(s.CreatedAt), utc(s.ExpiresAt)
	return &s, nil
}

// DeleteSession removes a session; a missing one is a no-op.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := db.pool.Exec(ctx, `DELETE FROM staff_sessions WHERE hash = $1`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user and returns their hashes.
func (db *DB) DeleteUserSessions(ctx context.Context, userID string) ([]string, error) {
	rows, err := db.pool.Query(ctx, `DELETE FROM staff_sessions WHERE user_id = $1 RETURNING hash`, userID)
	if err != nil {
		return nil, fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	hashes, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("delete sessions of %s: %w", userID, err)
	}
	if hashes == nil {
		hashes = []string{}
	}
	return hashes, nil
}
