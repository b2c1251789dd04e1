package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/privacy"
)

var _ privacy.ErasureStore = (*DB)(nil)

// customerKey is the blind index erasures record a customer under.
func (db *DB) customerKey(customerID string) string {
	if db.sealer != nil {
		return privacy.CustomerKey(db.sealer.TextIndex, customerID)
	}
	return privacy.CustomerKey(nil, customerID)
}

func erasureCustomerAD(requestID string) []byte {
	return guard.AppendFieldAD(nil, "erasures", "customer", requestID)
}

// erasedRecord is what Erase reads of a record.
type erasedRecord struct {
	seq                         int64
	decisionID, eventID, evType string
	decision, raw               []byte
	anonymised                  *privacy.AnonymisedRecord
}

// Erase carries out one run of a deletion request's erasure. The
// request's erasure row is locked first, so concurrent runs of one request
// follow each other; the records are locked as they are read.
func (db *DB) Erase(ctx context.Context, e *privacy.Erasure) (*privacy.ErasureReport, error) {
	if e == nil || e.RequestID == "" || e.CustomerID == "" || !guard.IsAnonymous(e.Token) {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "erasure needs a request, a customer and an anonymous token")
	}
	if e.Conversations != privacy.Anonymise && e.Conversations != privacy.Delete {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "erasure of %s: conversations are anonymised or deleted, not %q", e.RequestID, e.Conversations)
	}
	if err := checkText("erasure", e.RequestID, e.CustomerID, e.By); err != nil {
		return nil, err
	}
	key := db.customerKey(e.CustomerID)
	sealed, err := guard.SealText(db.sealer, e.CustomerID, erasureCustomerAD(e.RequestID))
	if err != nil {
		return nil, fmt.Errorf("erase: %w", err)
	}
	var run privacy.ErasureCounts
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		run = privacy.ErasureCounts{}
		if _, err := tx.Exec(ctx, `INSERT INTO erasures (request_id, customer_key, customer_sealed, executed_at, executed_by, last_run_at,
			anonymised, restricted, deleted, outcomes) VALUES ($1, $2, $3, $4, $5, $4, 0, 0, 0, 0) ON CONFLICT (request_id) DO NOTHING`,
			e.RequestID, key, sealed, e.At, e.By); err != nil {
			return err
		}
		var otherKey string
		if err := tx.QueryRow(ctx, `SELECT customer_key FROM erasures WHERE request_id = $1 FOR UPDATE`, e.RequestID).Scan(&otherKey); err != nil {
			return err
		}
		if otherKey != key && otherKey != "" {
			return xiaobao.Errorf(xiaobao.ECONFLICT, "request %s was erased for another customer", e.RequestID)
		}
		for _, it := range e.Restrictions {
			if _, err := tx.Exec(ctx, `INSERT INTO erasure_restrictions (request_id, category, customer_key, basis, deletable_at, then_disposal)
				VALUES ($1, $2, $3, $4, $5, $6)
				ON CONFLICT (request_id, category) DO UPDATE SET deletable_at = coalesce(erasure_restrictions.deletable_at, excluded.deletable_at)`,
				e.RequestID, string(it.Category), key, it.Basis, it.DeletableAt, string(it.Then)); err != nil {
				return err
			}
		}
		recs, err := db.erasable(ctx, tx, e)
		if err != nil {
			return err
		}
		if len(recs) > 0 {
			// Records leave records: never let MaxSeq go below what was stored.
			if _, err := tx.Exec(ctx, `INSERT INTO seq_floor (id, seq) SELECT 1, coalesce(max(seq), 0) FROM records
				ON CONFLICT (id) DO UPDATE SET seq = greatest(seq_floor.seq, excluded.seq)`); err != nil {
				return err
			}
		}
		for _, r := range recs {
			if err := db.eraseRecord(ctx, tx, e, key, r, &run); err != nil {
				return fmt.Errorf("record %d: %w", r.seq, err)
			}
		}
		if err := eraseConversations(ctx, tx, e, &run); err != nil {
			return fmt.Errorf("conversations: %w", err)
		}
		if run.Zero() {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE erasures SET last_run_at = $1, anonymised = anonymised + $2, restricted = restricted + $3,
			deleted = deleted + $4, outcomes = outcomes + $5, conversations = conversations + $6, turns = turns + $7 WHERE request_id = $8`,
			e.At, run.Anonymised, run.Restricted, run.Deleted, run.Outcomes, run.Conversations, run.Turns, e.RequestID)
		return err
	})
	if err != nil {
		if xiaobao.ErrorCode(err) != xiaobao.EINTERNAL {
			return nil, err
		}
		return nil, fmt.Errorf("erase %s: %w", e.RequestID, textError(err))
	}
	rep, err := db.Erasure(ctx, e.RequestID)
	if err != nil {
		return nil, err
	}
	rep.Run = run
	return rep, nil
}

// erasable reads and locks the customer's records up to e.UpToSeq,
// anonymising in advance those to anonymise (before any write, so a bad
// record changes nothing).
func (db *DB) erasable(ctx context.Context, tx pgx.Tx, e *privacy.Erasure) ([]*erasedRecord, error) {
	rows, err := tx.Query(ctx, `SELECT seq, decision_id, event_id, event_type, decision::text, raw
		FROM records WHERE customer_id = $1 AND seq <= $2 ORDER BY seq FOR UPDATE`, e.CustomerID, e.UpToSeq)
	if err != nil {
		return nil, err
	}
	var recs []*erasedRecord
	for rows.Next() {
		r := &erasedRecord{}
		var dj string
		if err := rows.Scan(&r.seq, &r.decisionID, &r.eventID, &r.evType, &dj, &r.raw); err != nil {
			rows.Close()
			return nil, err
		}
		r.decision = []byte(dj)
		recs = append(recs, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, r := range recs {
		if e.Records[privacy.EventCategory(guard.EventType(r.evType))] != privacy.Anonymise {
			continue
		}
		raw, err := guard.OpenRaw(db.sealer, r.eventID, r.raw)
		if err != nil {
			return nil, err
		}
		if r.anonymised, err = privacy.AnonymiseRecord(raw, r.decision, e.Token); err != nil {
			return nil, fmt.Errorf("record %d: %w", r.seq, err)
		}
	}
	return recs, nil
}

// eraseRecord anonymises, restricts or deletes one record and its
// outcomes. The indexes on records' customer, account and device columns
// are the lookup keys here: clearing or moving the row removes them.
func (db *DB) eraseRecord(ctx context.Context, tx pgx.Tx, e *privacy.Erasure, key string, r *erasedRecord, run *privacy.ErasureCounts) error {
	newDecision := r.decisionID
	switch d := e.Records[privacy.EventCategory(guard.EventType(r.evType))]; d {
	case privacy.Anonymise:
		a := r.anonymised
		raw, _, err := guard.SealRaw(db.sealer, a.EventID, a.Raw, "")
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE records SET decision_id = $1, event_id = $2, customer_id = $3, account = NULL, device_id = NULL,
			decision = $4::json, raw = $5 WHERE seq = $6`, a.DecisionID, a.EventID, e.Token, string(a.Decision), raw, r.seq); err != nil {
			return err
		}
		newDecision = a.DecisionID
		run.Anonymised++
	case privacy.Restrict:
		dj, err := guard.SealText(db.sealer, string(r.decision), privacy.RestrictedDecisionAD(r.decisionID))
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `WITH moved AS (DELETE FROM records WHERE seq = $3 RETURNING *)
			INSERT INTO restricted_records (seq, request_id, customer_key, decision_id, event_id, event_type, occurred_at, action, score, typology, decision, raw)
			SELECT seq, $1, $2, decision_id, event_id, event_type, occurred_at, action, score, typology, $4, raw FROM moved`,
			e.RequestID, key, r.seq, dj); err != nil {
			return err
		}
		run.Restricted++
	case privacy.Delete:
		if _, err := tx.Exec(ctx, `DELETE FROM records WHERE seq = $1`, r.seq); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM outcomes WHERE decision_id = $1`, `DELETE FROM outcome_history WHERE decision_id = $1`} {
			if _, err := tx.Exec(ctx, q, r.decisionID); err != nil {
				return err
			}
		}
		run.Deleted++
		return nil
	default:
		return fmt.Errorf("no disposal for %s records", r.evType)
	}
	// Outcomes keep their label, amounts and typology; the note and the
	// account go, and the customer id becomes the token.
	tag, err := tx.Exec(ctx, `UPDATE outcomes SET decision_id = $1, customer_id = $2, account = '', note = '', note_fp = '' WHERE decision_id = $3`,
		newDecision, e.Token, r.decisionID)
	if err != nil {
		return err
	}
	run.Outcomes += int(tag.RowsAffected())
	_, err = tx.Exec(ctx, `UPDATE outcome_history SET decision_id = $1, customer_id = $2, account = '', note = '', note_fp = '' WHERE decision_id = $3`,
		newDecision, e.Token, r.decisionID)
	return err
}

// eraseConversations anonymises or deletes the customer's service
// sessions (locked as they are read) and deletes their turns. An
// anonymised session gets a new id and is closed if it was not: a session
// with a person would otherwise be given back to an agent at the next
// start.
func eraseConversations(ctx context.Context, tx pgx.Tx, e *privacy.Erasure, run *privacy.ErasureCounts) error {
	rows, err := tx.Query(ctx, `SELECT id FROM service_sessions WHERE customer_id = $1 ORDER BY opened_at, id FOR UPDATE`, e.CustomerID)
	if err != nil {
		return err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return err
	}
	for _, id := range ids {
		tag, err := tx.Exec(ctx, `DELETE FROM service_turns WHERE session_id = $1`, id)
		if err != nil {
			return fmt.Errorf("session %s: %w", id, err)
		}
		run.Turns += int(tag.RowsAffected())
		// A "this helped" verdict waiting for review holds the customer's
		// words; an accepted one is the firm's content, vouched for by staff.
		if _, err := tx.Exec(ctx, `DELETE FROM faq_examples WHERE by = $1 AND status = 'pending'`, "session:"+id); err != nil {
			return fmt.Errorf("session %s: %w", id, err)
		}
		if e.Conversations == privacy.Delete {
			if _, err := tx.Exec(ctx, `DELETE FROM service_feedback WHERE session_id = $1`, id); err != nil {
				return fmt.Errorf("session %s: %w", id, err)
			}
			_, err = tx.Exec(ctx, `DELETE FROM service_sessions WHERE id = $1`, id)
		} else {
			// The verdicts on answers follow the session: the answer
			// statistics still count them.
			anon := privacy.AnonymousSessionID()
			if _, err := tx.Exec(ctx, `UPDATE service_feedback SET session_id = $1 WHERE session_id = $2`, anon, id); err != nil {
				return fmt.Errorf("session %s: %w", id, err)
			}
			_, err = tx.Exec(ctx, `UPDATE service_sessions SET id = $1, customer_id = $2, csat_comment = '', clarifying = false,
				status = 'closed', closed_at = coalesce(closed_at, $3), closed_by = CASE WHEN status = 'closed' THEN closed_by ELSE 'erasure' END
				WHERE id = $4`, anon, e.Token, e.At, id)
		}
		if err != nil {
			return fmt.Errorf("session %s: %w", id, err)
		}
		run.Conversations++
	}
	return nil
}

// Erasure returns the report of a request's erasure.
func (db *DB) Erasure(ctx context.Context, requestID string) (*privacy.ErasureReport, error) {
	var rep privacy.ErasureReport
	err := db.pool.QueryRow(ctx, `SELECT request_id, executed_at, executed_by, last_run_at, anonymised, restricted, deleted, outcomes,
		conversations, turns FROM erasures WHERE request_id = $1`, requestID).Scan(&rep.RequestID, &rep.ExecutedAt, &rep.ExecutedBy, &rep.LastRunAt,
		&rep.Total.Anonymised, &rep.Total.Restricted, &rep.Total.Deleted, &rep.Total.Outcomes, &rep.Total.Conversations, &rep.Total.Turns)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("no erasure of subject request %q", requestID)
	} else if err != nil {
		return nil, fmt.Errorf("erasure %s: %w", requestID, textError(err))
	}
	rep.ExecutedAt, rep.LastRunAt = utc(rep.ExecutedAt), utc(rep.LastRunAt)
	rows, err := db.pool.Query(ctx, `SELECT category, basis, deletable_at, then_disposal, deleted_at, deleted
		FROM erasure_restrictions WHERE request_id = $1 ORDER BY category`, requestID)
	if err != nil {
		return nil, fmt.Errorf("erasure %s: %w", requestID, err)
	}
	defer rows.Close()
	rep.Restrictions = []privacy.Restriction{}
	for rows.Next() {
		var r privacy.Restriction
		if err := rows.Scan(&r.Category, &r.Basis, &r.DeletableAt, &r.Then, &r.DeletedAt, &r.Deleted); err != nil {
			return nil, fmt.Errorf("erasure %s: %w", requestID, err)
		}
		r.DeletableAt, r.DeletedAt = utcPtr(r.DeletableAt), utcPtr(r.DeletedAt)
		rep.Restrictions = append(rep.Restrictions, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("erasure %s: %w", requestID, err)
	}
	return &rep, nil
}

// RestrictedRecords returns a customer's restricted records, newest first.
func (db *DB) RestrictedRecords(ctx context.Context, f privacy.RestrictedFilter) ([]*guard.Record, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	before := f.BeforeSeq
	if before <= 0 {
		before = 1<<63 - 1
	}
	rows, err := db.pool.Query(ctx, `SELECT seq, decision_id, event_id, decision, raw FROM restricted_records
		WHERE customer_key = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3`, db.customerKey(f.CustomerID), before, limit)
	if err != nil {
		return nil, fmt.Errorf("restricted records: %w", textError(err))
	}
	defer rows.Close()
	recs := []*guard.Record{}
	for rows.Next() {
		var (
			seq                 int64
			decisionID, eventID string
			dj                  string
			raw                 []byte
		)
		if err := rows.Scan(&seq, &decisionID, &eventID, &dj, &raw); err != nil {
			return nil, fmt.Errorf("restricted records: %w", err)
		}
		rec, err := privacy.OpenRestricted(db.sealer, seq, decisionID, eventID, dj, raw)
		if err != nil {
			return nil, fmt.Errorf("restricted records: %w", err)
		}
		recs = append(recs, rec)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("restricted records: %w", err)
	}
	return recs, nil
}

// dueRestriction is a restriction whose retention ended.
type dueRestriction struct {
	requestID, category, sealed string
}

// SweepErasures deletes what restrictions hold once their retention
// ended. Due restrictions are locked with SKIP LOCKED, so sweeps of
// several servers share the work.
func (db *DB) SweepErasures(ctx context.Context, now time.Time) (*privacy.SweepReport, error) {
	var rep privacy.SweepReport
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		rep = privacy.SweepReport{Requests: []string{}}
		rows, err := tx.Query(ctx, `SELECT r.request_id, r.category, e.customer_sealed FROM erasure_restrictions r JOIN erasures e USING (request_id)
			WHERE r.deleted_at IS NULL AND r.deletable_at IS NOT NULL AND r.deletable_at <= $1
			ORDER BY r.request_id, r.category FOR UPDATE OF r SKIP LOCKED`, now)
		if err != nil {
			return err
		}
		var due []dueRestriction
		for rows.Next() {
			var d dueRestriction
			if err := rows.Scan(&d.requestID, &d.category, &d.sealed); err != nil {
				rows.Close()
				return err
			}
			due = append(due, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range due {
			n, done, err := db.sweepOne(ctx, tx, d, now, &rep)
			if err != nil {
				return fmt.Errorf("sweep %s of %s: %w", d.category, d.requestID, err)
			}
			if !done {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE erasure_restrictions SET deleted_at = $1, deleted = $2 WHERE request_id = $3 AND category = $4`,
				now, n, d.requestID, d.category); err != nil {
				return err
			}
			if len(rep.Requests) == 0 || rep.Requests[len(rep.Requests)-1] != d.requestID {
				rep.Requests = append(rep.Requests, d.requestID)
			}
		}
		// An erasure with nothing left restricted forgets the customer.
		for _, id := range rep.Requests {
			for _, q := range []string{
				`UPDATE erasures SET customer_key = '', customer_sealed = '' WHERE request_id = $1
					AND NOT EXISTS (SELECT 1 FROM erasure_restrictions WHERE request_id = $1 AND deleted_at IS NULL)`,
				`UPDATE erasure_restrictions SET customer_key = '' WHERE request_id = $1
					AND NOT EXISTS (SELECT 1 FROM erasure_restrictions WHERE request_id = $1 AND deleted_at IS NULL)`,
			} {
				if _, err := tx.Exec(ctx, q, id); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sweep erasures: %w", err)
	}
	return &rep, nil
}

// sweepOne deletes what one due restriction holds and says how many rows
// went, and whether the restriction is done (the records of Transactions
// and Identity go only once both are due).
func (db *DB) sweepOne(ctx context.Context, tx pgx.Tx, d dueRestriction, now time.Time, rep *privacy.SweepReport) (int, bool, error) {
	exec := func(q string, args ...any) (int, error) {
		tag, err := tx.Exec(ctx, q, args...)
		return int(tag.RowsAffected()), err
	}
	customer := func() (string, error) {
		return guard.OpenText(db.sealer, d.sealed, erasureCustomerAD(d.requestID))
	}
	switch privacy.Category(d.category) {
	case privacy.Transactions, privacy.Identity:
		var pending int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM erasure_restrictions WHERE request_id = $1 AND category IN ('transactions', 'identity')
			AND deleted_at IS NULL AND (deletable_at IS NULL OR deletable_at > $2)`, d.requestID, now).Scan(&pending); err != nil {
			return 0, false, err
		}
		if pending > 0 {
			return 0, false, nil
		}
		outcomes, err := exec(`DELETE FROM outcomes WHERE decision_id IN (SELECT decision_id FROM restricted_records WHERE request_id = $1)`, d.requestID)
		if err != nil {
			return 0, false, err
		}
		if _, err := exec(`DELETE FROM outcome_history WHERE decision_id IN (SELECT decision_id FROM restricted_records WHERE request_id = $1)`, d.requestID); err != nil {
			return 0, false, err
		}
		n, err := exec(`DELETE FROM restricted_records WHERE request_id = $1`, d.requestID)
		if err != nil {
			return 0, false, err
		}
		rep.Records += n
		rep.Outcomes += outcomes
		return n, true, nil
	case privacy.Consents:
		id, err := customer()
		if err != nil || id == "" {
			return 0, err == nil, err
		}
		n, err := exec(`DELETE FROM privacy_consents WHERE customer_id = $1`, id)
		rep.Consents += n
		return n, err == nil, err
	case privacy.SubjectRequests:
		id, err := customer()
		if err != nil || id == "" {
			return 0, err == nil, err
		}
		if _, err := exec(`DELETE FROM privacy_request_events WHERE request_id IN (SELECT id FROM privacy_requests WHERE customer_id = $1)`, id); err != nil {
			return 0, false, err
		}
		n, err := exec(`DELETE FROM privacy_requests WHERE customer_id = $1`, id)
		rep.SubjectRequests += n
		return n, err == nil, err
	}
	return 0, true, nil
}
