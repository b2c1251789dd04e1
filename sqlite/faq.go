package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/xiaobao-org/xiaobao/faq"
)

var _ faq.Store = (*DB)(nil)

// FAQs returns every live FAQ entry, sorted by id.
func (db *DB) FAQs(ctx context.Context) ([]faq.Entry, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, questions, answer, category FROM faq_entries ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list faq entries: %w", err)
	}
	defer rows.Close()
	var out []faq.Entry
	for rows.Next() {
		var e faq.Entry
		var qs string
		if err := rows.Scan(&e.ID, &qs, &e.Answer, &e.Category); err != nil {
			return nil, fmt.Errorf("list faq entries: %w", err)
		}
		if err := json.Unmarshal([]byte(qs), &e.Questions); err != nil {
			return nil, fmt.Errorf("decode questions of faq entry %s: %w", e.ID, err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list faq entries: %w", err)
	}
	return out, nil
}

// PutFAQs adds or replaces entries in one transaction, each changed one
// a new revision.
func (db *DB) PutFAQs(ctx context.Context, entries []faq.Entry, by string, at time.Time) (int, error) {
	type row struct {
		e  faq.Entry
		qs string
	}
	rows := make([]row, len(entries))
	for i, e := range entries {
		if err := checkText("faq entry", append([]string{e.ID, e.Answer, e.Category, by}, e.Questions...)...); err != nil {
			return 0, err
		}
		qs, err := json.Marshal(e.Questions)
		if err != nil {
			return 0, err
		}
		rows[i] = row{e, string(qs)}
	}
	changed := 0
	err := db.write(ctx, func(tx *sql.Tx) error {
		changed = 0
		for _, r := range rows {
			var qs, answer, category string
			err := tx.QueryRowContext(ctx, `SELECT questions, answer, category FROM faq_entries WHERE id = ?`, r.e.ID).Scan(&qs, &answer, &category)
			switch {
			case err == nil && qs == r.qs && answer == r.e.Answer && category == r.e.Category:
				continue
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return err
			}
			var v int
			if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM faq_revisions WHERE id = ?`, r.e.ID).Scan(&v); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO faq_revisions (id, version, deleted, questions, answer, category, by, at) VALUES (?, ?, 0, ?, ?, ?, ?, ?)`,
				r.e.ID, v, r.qs, r.e.Answer, r.e.Category, by, toMicro(at)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO faq_entries (id, version, questions, answer, category, updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET version = excluded.version, questions = excluded.questions, answer = excluded.answer,
				category = excluded.category, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
				r.e.ID, v, r.qs, r.e.Answer, r.e.Category, by, toMicro(at)); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("put faq entries: %w", err)
	}
	return changed, nil
}

// DeleteFAQ removes an entry, recording a deleted revision.
func (db *DB) DeleteFAQ(ctx context.Context, id, by string, at time.Time) (bool, error) {
	if err := checkText("faq entry", id, by); err != nil {
		return false, err
	}
	var found bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM faq_entries WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 0 {
			return err
		}
		found = true
		_, err = tx.ExecContext(ctx, `INSERT INTO faq_revisions (id, version, deleted, by, at)
			SELECT ?, COALESCE(MAX(version), 0) + 1, 1, ?, ? FROM faq_revisions WHERE id = ?`, id, by, toMicro(at), id)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delete faq entry %s: %w", id, err)
	}
	return found, nil
}

// FAQHistory returns an entry's revisions, oldest first.
func (db *DB) FAQHistory(ctx context.Context, id string) ([]faq.Revision, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT version, deleted, questions, answer, category, by, at FROM faq_revisions WHERE id = ? ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("faq history of %s: %w", id, err)
	}
	defer rows.Close()
	var out []faq.Revision
	for rows.Next() {
		r := faq.Revision{ID: id}
		var qs, answer, category sql.NullString
		var at int64
		if err := rows.Scan(&r.Version, &r.Deleted, &qs, &answer, &category, &r.By, &at); err != nil {
			return nil, fmt.Errorf("faq history of %s: %w", id, err)
		}
		r.At = fromMicro(at)
		if !r.Deleted {
			e := faq.Entry{ID: id, Answer: answer.String, Category: category.String}
			if err := json.Unmarshal([]byte(qs.String), &e.Questions); err != nil {
				return nil, fmt.Errorf("decode questions of faq entry %s v%d: %w", id, r.Version, err)
			}
			r.Entry = &e
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("faq history of %s: %w", id, err)
	}
	return out, nil
}

// FAQSynonyms returns the current synonym list.
func (db *DB) FAQSynonyms(ctx context.Context) ([]faq.Synonym, error) {
	var js string
	err := db.r.QueryRowContext(ctx, `SELECT synonyms FROM faq_synonym_versions ORDER BY version DESC LIMIT 1`).Scan(&js)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("faq synonyms: %w", err)
	}
	var out []faq.Synonym
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		return nil, fmt.Errorf("decode faq synonyms: %w", err)
	}
	return out, nil
}

// PutFAQSynonyms stores a new version of the synonym list.
func (db *DB) PutFAQSynonyms(ctx context.Context, syn []faq.Synonym, by string, at time.Time) error {
	for _, s := range syn {
		if err := checkText("faq synonym", append([]string{s.Term, by}, s.Variants...)...); err != nil {
			return err
		}
	}
	if syn == nil {
		syn = []faq.Synonym{}
	}
	js, err := json.Marshal(syn)
	if err != nil {
		return err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO faq_synonym_versions (version, synonyms, by, at)
			SELECT COALESCE(MAX(version), 0) + 1, ?, ?, ? FROM faq_synonym_versions`, string(js), by, toMicro(at))
		return err
	})
	if err != nil {
		return fmt.Errorf("put faq synonyms: %w", err)
	}
	return nil
}

// FAQSynonymHistory returns every version of the synonym list.
func (db *DB) FAQSynonymHistory(ctx context.Context) ([]faq.SynonymRevision, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT version, synonyms, by, at FROM faq_synonym_versions ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("faq synonym history: %w", err)
	}
	defer rows.Close()
	var out []faq.SynonymRevision
	for rows.Next() {
		var r faq.SynonymRevision
		var js string
		var at int64
		if err := rows.Scan(&r.Version, &js, &r.By, &at); err != nil {
			return nil, fmt.Errorf("faq synonym history: %w", err)
		}
		if err := json.Unmarshal([]byte(js), &r.Synonyms); err != nil {
			return nil, fmt.Errorf("decode faq synonyms v%d: %w", r.Version, err)
		}
		if len(r.Synonyms) == 0 {
			r.Synonyms = nil
		}
		r.At = fromMicro(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("faq synonym history: %w", err)
	}
	return out, nil
}
