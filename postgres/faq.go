package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao/faq"
)

var _ faq.Store = (*DB)(nil)

// FAQs returns every live FAQ entry, sorted by id.
func (db *DB) FAQs(ctx context.Context) ([]faq.Entry, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, questions, answer, category FROM faq_entries ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("list faq entries: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (faq.Entry, error) {
		var e faq.Entry
		err := r.Scan(&e.ID, &e.Questions, &e.Answer, &e.Category)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list faq entries: %w", err)
	}
	return out, nil
}

// PutFAQs adds or replaces entries in one transaction, each changed one
// a new revision. Writers of the FAQ tables are serialised by a table
// lock: imports are rare and versions must not collide.
func (db *DB) PutFAQs(ctx context.Context, entries []faq.Entry, by string, at time.Time) (int, error) {
	ids := make([]string, len(entries))
	for i, e := range entries {
		if err := checkText("faq entry", append([]string{e.ID, e.Answer, e.Category, by}, e.Questions...)...); err != nil {
			return 0, err
		}
		ids[i] = e.ID
	}
	changed := 0
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		changed = 0
		if _, err := tx.Exec(ctx, `LOCK TABLE faq_revisions IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		cur := map[string]faq.Entry{}
		rows, err := tx.Query(ctx, `SELECT id, questions, answer, category FROM faq_entries WHERE id = ANY($1)`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var e faq.Entry
			if err := rows.Scan(&e.ID, &e.Questions, &e.Answer, &e.Category); err != nil {
				rows.Close()
				return err
			}
			cur[e.ID] = e
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		last := map[string]int{}
		rows, err = tx.Query(ctx, `SELECT id, MAX(version) FROM faq_revisions WHERE id = ANY($1) GROUP BY id`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id string
			var v int
			if err := rows.Scan(&id, &v); err != nil {
				rows.Close()
				return err
			}
			last[id] = v
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		b := &pgx.Batch{}
		for _, e := range entries {
			if c, ok := cur[e.ID]; ok && slices.Equal(c.Questions, e.Questions) && c.Answer == e.Answer && c.Category == e.Category {
				continue
			}
			last[e.ID]++
			v := last[e.ID]
			cur[e.ID] = e
			b.Queue(`INSERT INTO faq_revisions (id, version, deleted, questions, answer, category, by, at) VALUES ($1, $2, false, $3, $4, $5, $6, $7)`,
				e.ID, v, e.Questions, e.Answer, e.Category, by, at)
			b.Queue(`INSERT INTO faq_entries (id, version, questions, answer, category, updated_by, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (id) DO UPDATE SET version = excluded.version, questions = excluded.questions, answer = excluded.answer,
				category = excluded.category, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
				e.ID, v, e.Questions, e.Answer, e.Category, by, at)
			changed++
		}
		if b.Len() == 0 {
			return nil
		}
		return tx.SendBatch(ctx, b).Close()
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
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE faq_revisions IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM faq_entries WHERE id = $1`, id)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		found = true
		_, err = tx.Exec(ctx, `INSERT INTO faq_revisions (id, version, deleted, by, at)
			SELECT $1, COALESCE(MAX(version), 0) + 1, true, $2, $3 FROM faq_revisions WHERE id = $1`, id, by, at)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("delete faq entry %s: %w", id, err)
	}
	return found, nil
}

// FAQHistory returns an entry's revisions, oldest first.
func (db *DB) FAQHistory(ctx context.Context, id string) ([]faq.Revision, error) {
	rows, err := db.pool.Query(ctx, `SELECT version, deleted, questions, answer, category, by, at FROM faq_revisions WHERE id = $1 ORDER BY version`, id)
	if err != nil {
		return nil, fmt.Errorf("faq history of %s: %w", id, err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (faq.Revision, error) {
		r := faq.Revision{ID: id}
		var qs []string
		var answer, category *string
		if err := row.Scan(&r.Version, &r.Deleted, &qs, &answer, &category, &r.By, &r.At); err != nil {
			return r, err
		}
		r.At = utc(r.At)
		if !r.Deleted {
			e := faq.Entry{ID: id, Questions: qs}
			if answer != nil {
				e.Answer = *answer
			}
			if category != nil {
				e.Category = *category
			}
			r.Entry = &e
		}
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("faq history of %s: %w", id, err)
	}
	return out, nil
}

// FAQSynonyms returns the current synonym list.
func (db *DB) FAQSynonyms(ctx context.Context) ([]faq.Synonym, error) {
	var js []byte
	err := db.pool.QueryRow(ctx, `SELECT synonyms FROM faq_synonym_versions ORDER BY version DESC LIMIT 1`).Scan(&js)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("faq synonyms: %w", err)
	}
	var out []faq.Synonym
	if err := json.Unmarshal(js, &out); err != nil {
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
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE faq_synonym_versions IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO faq_synonym_versions (version, synonyms, by, at)
			SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3 FROM faq_synonym_versions`, js, by, at)
		return err
	})
	if err != nil {
		return fmt.Errorf("put faq synonyms: %w", err)
	}
	return nil
}

// FAQSynonymHistory returns every version of the synonym list.
func (db *DB) FAQSynonymHistory(ctx context.Context) ([]faq.SynonymRevision, error) {
	rows, err := db.pool.Query(ctx, `SELECT version, synonyms, by, at FROM faq_synonym_versions ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("faq synonym history: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (faq.SynonymRevision, error) {
		var r faq.SynonymRevision
		var js []byte
		if err := row.Scan(&r.Version, &js, &r.By, &r.At); err != nil {
			return r, err
		}
		if err := json.Unmarshal(js, &r.Synonyms); err != nil {
			return r, fmt.Errorf("decode faq synonyms v%d: %w", r.Version, err)
		}
		if len(r.Synonyms) == 0 {
			r.Synonyms = nil
		}
		r.At = utc(r.At)
		return r, nil
	})
	if err != nil {
		return nil, fmt.Errorf("faq synonym history: %w", err)
	}
	return out, nil
}
