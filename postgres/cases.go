package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/outbox"
)

var _ cases.Store = (*DB)(nil)

const sqlCaseColumns = `SELECT id, customer_id, typology, queue, state, assignee, customer_age, amount_at_risk, opened_at, updated_at,
	sla_due_at, hold_expires_at, next_attempt_at, attempts, escalated, extended, reported, resolution, closed_at,
	amount_saved, amount_lost, labels_pending, version FROM cases`

func scanCase(row pgx.Row) (*cases.Case, error) {
	var (
		c                 cases.Case
		risk, saved, lost int64
	)
	if err := row.Scan(&c.ID, &c.CustomerID, &c.Typology, &c.Queue, &c.State, &c.Assignee, &c.CustomerAge, &risk, &c.OpenedAt, &c.UpdatedAt,
		&c.SLADueAt, &c.HoldExpiresAt, &c.NextAttemptAt, &c.Attempts, &c.Escalated, &c.Extended, &c.Reported, &c.Resolution, &c.ClosedAt,
		&saved, &lost, &c.LabelsPending, &c.Version); err != nil {
		return nil, err
	}
	c.AmountAtRisk, c.AmountSaved, c.AmountLost = xiaobao.Money(risk), xiaobao.Money(saved), xiaobao.Money(lost)
	c.OpenedAt, c.UpdatedAt, c.SLADueAt = utc(c.OpenedAt), utc(c.UpdatedAt), utc(c.SLADueAt)
	c.HoldExpiresAt, c.NextAttemptAt, c.ClosedAt = utcPtr(c.HoldExpiresAt), utcPtr(c.NextAttemptAt), utcPtr(c.ClosedAt)
	c.Decisions = []cases.Decision{}
	return &c, nil
}

func caseText(c *cases.Case) error {
	if err := checkText("case", c.ID, c.CustomerID, c.Typology, c.Queue, string(c.State), c.Assignee, string(c.Resolution)); err != nil {
		return err
	}
	for _, d := range c.Decisions {
		if err := checkText("case decision", d.DecisionID, d.EventID, d.Currency, string(d.Status)); err != nil {
			return err
		}
	}
	return nil
}

func insertCaseDecision(ctx context.Context, tx pgx.Tx, caseID string, n int, d *cases.Decision) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_decisions (decision_id, case_id, n, event_id, seq, action, amount, currency, occurred_at, expires_at, status)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		d.DecisionID, caseID, n, d.EventID, d.Seq, d.Action.String(), int64(d.Amount), d.Currency, d.OccurredAt, d.ExpiresAt, string(d.Status))
	return err
}

func insertCaseEvent(ctx context.Context, tx pgx.Tx, caseID string, e *cases.Event) error {
	if err := checkText("case event", e.Actor, string(e.Kind), string(e.From), string(e.To), e.Assignee, string(e.Outcome), e.DecisionID, e.Note, e.Key); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `INSERT INTO case_events (case_id, n, at, actor, kind, from_state, to_state, assignee, outcome, decision_id, note, request_id)
		VALUES ($1, (SELECT COALESCE(MAX(n) + 1, 0) FROM case_events WHERE case_id = $1), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		caseID, e.At, e.Actor, string(e.Kind), string(e.From), string(e.To), e.Assignee, string(e.Outcome), e.DecisionID, e.Note, e.Key)
	return err
}

// outboxMessages are a case's messages as the outbox keeps them: keyed by
// case, so the payment system hears of one case's payments in order.
func outboxMessages(caseID string, ms []cases.Message) []outbox.Message {
	out := make([]outbox.Message, len(ms))
	for i, m := range ms {
		out[i] = outbox.Message{ID: m.ID, Sink: m.Sink, Topic: m.Topic, Key: caseID, Payload: m.Payload, CreatedAt: m.CreatedAt}
	}
	return out
}

// CreateCase stores a new case with its decisions and events.
func (db *DB) CreateCase(ctx context.Context, c *cases.Case) error {
	if err := caseText(c); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO cases (id, customer_id, typology, queue, state, assignee, customer_age, amount_at_risk,
			opened_at, updated_at, sla_due_at, hold_expires_at, next_attempt_at, next_due_at, attempts, escalated, extended, reported,
			resolution, closed_at, amount_saved, amount_lost, labels_pending, version)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24)`,
			c.ID, c.CustomerID, c.Typology, c.Queue, string(c.State), c.Assignee, c.CustomerAge, int64(c.AmountAtRisk),
			c.OpenedAt, c.UpdatedAt, c.SLADueAt, c.HoldExpiresAt, c.NextAttemptAt, c.NextDeadline(), c.Attempts, c.Escalated, c.Extended,
			c.Reported, string(c.Resolution), c.ClosedAt, int64(c.AmountSaved), int64(c.AmountLost), c.LabelsPending, c.Version); err != nil {
			return err
		}
		for i := range c.Decisions {
			if err := insertCaseDecision(ctx, tx, c.ID, i, &c.Decisions[i]); err != nil {
				return err
			}
		}
		for i := range c.Events {
			if err := insertCaseEvent(ctx, tx, c.ID, &c.Events[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "case %s, one of its decisions, or an open case of the customer and typology exists", c.ID)
	} else if err != nil {
		return fmt.Errorf("create case %s: %w", c.ID, err)
	}
	return nil
}

// UpdateCase applies u if the case is still at the version before it. The
// UPDATE locks the row, so concurrent updates of one version are
// serialised and all but the first find the version moved.
func (db *DB) UpdateCase(ctx context.Context, u cases.Update) error {
	c := u.Case
	if err := caseText(c); err != nil {
		return err
	}
	var n int64
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE cases SET queue = $1, state = $2, assignee = $3, amount_at_risk = $4, updated_at = $5,
			sla_due_at = $6, hold_expires_at = $7, next_attempt_at = $8, next_due_at = $9, attempts = $10, escalated = $11, extended = $12,
			reported = $13, resolution = $14, closed_at = $15, amount_saved = $16, amount_lost = $17, labels_pending = $18, version = $19
			WHERE id = $20 AND version = $21`,
			c.Queue, string(c.State), c.Assignee, int64(c.AmountAtRisk), c.UpdatedAt, c.SLADueAt, c.HoldExpiresAt, c.NextAttemptAt,
			c.NextDeadline(), c.Attempts, c.Escalated, c.Extended, c.Reported, string(c.Resolution), c.ClosedAt,
			int64(c.AmountSaved), int64(c.AmountLost), c.LabelsPending, c.Version, c.ID, c.Version-1)
		if err != nil {
			return err
		}
		if n = tag.RowsAffected(); n == 0 {
			return nil
		}
		for i := range c.Decisions {
			d := &c.Decisions[i]
			if isAdded(u.Added, d.DecisionID) {
				if err := insertCaseDecision(ctx, tx, c.ID, i, d); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE case_decisions SET status = $1, expires_at = $2 WHERE decision_id = $3 AND case_id = $4`,
				string(d.Status), d.ExpiresAt, d.DecisionID, c.ID); err != nil {
				return err
			}
		}
		for i := range u.Events {
			if err := insertCaseEvent(ctx, tx, c.ID, &u.Events[i]); err != nil {
				return err
			}
		}
		if len(u.Messages) > 0 {
			return db.insertOutbox(ctx, tx, outboxMessages(c.ID, u.Messages))
		}
		return nil
	})
	if pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "case %s: the request was already applied, or a decision is in another case", c.ID)
	} else if err != nil {
		return fmt.Errorf("update case %s: %w", c.ID, err)
	}
	if n == 0 {
		if _, err := db.Case(ctx, c.ID); err != nil {
			return err
		}
		return xiaobao.Errorf(xiaobao.ECONFLICT, "case %s changed meanwhile; retry", c.ID)
	}
	return nil
}

func isAdded(ds []cases.Decision, id string) bool {
	for _, d := range ds {
		if d.DecisionID == id {
			return true
		}
	}
	return false
}

// Case returns a case with its decisions and events, read in one
// repeatable-read transaction so they belong to the same version.
func (db *DB) Case(ctx context.Context, id string) (*cases.Case, error) {
	var c *cases.Case
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var err error
		if c, err = scanCase(tx.QueryRow(ctx, sqlCaseColumns+` WHERE id = $1`, id)); err != nil {
			return err
		}
		if err := loadCaseDecisions(ctx, tx, map[string]*cases.Case{c.ID: c}); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT at, actor, kind, from_state, to_state, assignee, outcome, decision_id, note, request_id
			FROM case_events WHERE case_id = $1 ORDER BY n`, id)
		if err != nil {
			return err
		}
		defer rows.Close()
		c.Events = []cases.Event{}
		for rows.Next() {
			var e cases.Event
			if err := rows.Scan(&e.At, &e.Actor, &e.Kind, &e.From, &e.To, &e.Assignee, &e.Outcome, &e.DecisionID, &e.Note, &e.Key); err != nil {
				return err
			}
			e.At = utc(e.At)
			c.Events = append(c.Events, e)
		}
		return rows.Err()
	})
	if errors.Is(err, pgx.ErrNoRows) || textError(err) != nil {
		return nil, notFound("case %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	return c, nil
}

type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

// loadCaseDecisions fills in the decisions of cs (by id).
func loadCaseDecisions(ctx context.Context, q querier, cs map[string]*cases.Case) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]string, 0, len(cs))
	for id := range cs {
		ids = append(ids, id)
	}
	rows, err := q.Query(ctx, `SELECT case_id, decision_id, event_id, seq, action, amount, currency, occurred_at, expires_at, status
		FROM case_decisions WHERE case_id = ANY($1) ORDER BY case_id, n`, ids)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			caseID, action string
			d              cases.Decision
			amount         int64
		)
		if err := rows.Scan(&caseID, &d.DecisionID, &d.EventID, &d.Seq, &action, &amount, &d.Currency, &d.OccurredAt, &d.ExpiresAt, &d.Status); err != nil {
			return err
		}
		if d.Action, err = guard.ParseAction(action); err != nil {
			return err
		}
		d.Amount, d.OccurredAt, d.ExpiresAt = xiaobao.Money(amount), utc(d.OccurredAt), utcPtr(d.ExpiresAt)
		c := cs[caseID]
		c.Decisions = append(c.Decisions, d)
	}
	return rows.Err()
}

// CaseOfDecision returns the case that holds a decision.
func (db *DB) CaseOfDecision(ctx context.Context, decisionID string) (*cases.Case, error) {
	var id string
	err := db.pool.QueryRow(ctx, `SELECT case_id FROM case_decisions WHERE decision_id = $1`, decisionID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) || textError(err) != nil {
		return nil, notFound("decision %q is in no case", decisionID)
	} else if err != nil {
		return nil, fmt.Errorf("case of decision %s: %w", decisionID, err)
	}
	return db.Case(ctx, id)
}

// OpenCaseOf returns the open case of a customer and typology.
func (db *DB) OpenCaseOf(ctx context.Context, customerID, typology string) (*cases.Case, error) {
	var id string
	err := db.pool.QueryRow(ctx, `SELECT id FROM cases WHERE customer_id = $1 AND typology = $2 AND state <> 'closed'`, customerID, typology).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) || textError(err) != nil {
		return nil, notFound("customer %q has no open %s case", customerID, typology)
	} else if err != nil {
		return nil, fmt.Errorf("open case of %s: %w", customerID, err)
	}
	return db.Case(ctx, id)
}

// FindCases returns the cases f selects, by SLA due time then id.
func (db *DB) FindCases(ctx context.Context, f cases.Filter) ([]*cases.Case, error) {
	var (
		where []string
		args  []any
	)
	arg := func(a any) string { args = append(args, a); return "$" + strconv.Itoa(len(args)) }
	if f.State != "" {
		where = append(where, `state = `+arg(string(f.State)))
	}
	if f.Queue != "" {
		where = append(where, `queue = `+arg(f.Queue))
	}
	if f.Assignee != "" {
		where = append(where, `assignee = `+arg(f.Assignee))
	}
	if f.Unassigned {
		where = append(where, `assignee = ''`)
	}
	if f.CustomerID != "" {
		where = append(where, `customer_id = `+arg(f.CustomerID))
	}
	if f.Typology != "" {
		where = append(where, `typology = `+arg(f.Typology))
	}
	if f.OpenOnly {
		where = append(where, `state <> 'closed'`)
	}
	if f.Overdue != nil {
		if *f.Overdue {
			where = append(where, `state <> 'closed' AND sla_due_at <= `+arg(f.Now))
		} else {
			where = append(where, `(state = 'closed' OR sla_due_at > `+arg(f.Now)+`)`)
		}
	}
	if f.AfterID != "" {
		where = append(where, `(sla_due_at, id COLLATE "C") > (`+arg(f.AfterDue)+`, `+arg(f.AfterID)+` COLLATE "C")`)
	}
	for _, s := range []string{f.Queue, f.Assignee, f.CustomerID, f.Typology, f.AfterID} {
		if checkText("case filter", s) != nil {
			return []*cases.Case{}, nil // nothing stored can match
		}
	}
	q := sqlCaseColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += ` ORDER BY sla_due_at, id COLLATE "C" LIMIT ` + arg(min(limit, 1000))
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find cases: %w", err)
	}
	out := []*cases.Case{}
	byID := map[string]*cases.Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("find cases: %w", err)
		}
		out = append(out, c)
		byID[c.ID] = c
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find cases: %w", err)
	}
	if err := loadCaseDecisions(ctx, db.pool, byID); err != nil {
		return nil, fmt.Errorf("find cases: %w", err)
	}
	return out, nil
}

// DueCases returns the ids of cases whose next deadline has come.
func (db *DB) DueCases(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM cases WHERE next_due_at <= $1 ORDER BY next_due_at, id LIMIT $2`, now, max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("due cases: %w", err)
	}
	out, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("due cases: %w", err)
	}
	return out, nil
}

// QueueStats counts the open cases per queue.
func (db *DB) QueueStats(ctx context.Context, now time.Time) ([]cases.QueueStat, error) {
	rows, err := db.pool.Query(ctx, `SELECT queue, COUNT(*), COUNT(*) FILTER (WHERE assignee = ''), COUNT(*) FILTER (WHERE sla_due_at <= $1),
		SUM(amount_at_risk), MIN(sla_due_at) FROM cases WHERE state <> 'closed' GROUP BY queue ORDER BY queue`, now)
	if err != nil {
		return nil, fmt.Errorf("queue stats: %w", err)
	}
	defer rows.Close()
	out := []cases.QueueStat{}
	for rows.Next() {
		var (
			st   cases.QueueStat
			risk int64
			next time.Time
		)
		if err := rows.Scan(&st.Queue, &st.Open, &st.Unassigned, &st.Overdue, &risk, &next); err != nil {
			return nil, fmt.Errorf("queue stats: %w", err)
		}
		next = utc(next)
		st.AtRisk, st.NextDueAt = xiaobao.Money(risk), &next
		out = append(out, st)
	}
	return out, rows.Err()
}

// Load counts the open cases per assignee.
func (db *DB) Load(ctx context.Context) (map[string]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT assignee, COUNT(*) FROM cases WHERE state <> 'closed' AND assignee <> '' GROUP BY assignee`)
	if err != nil {
		return nil, fmt.Errorf("case load: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var (
			who string
			n   int
		)
		if err := rows.Scan(&who, &n); err != nil {
			return nil, fmt.Errorf("case load: %w", err)
		}
		out[who] = n
	}
	return out, rows.Err()
}

// PutAgent inserts or replaces an agent.
func (db *DB) PutAgent(ctx context.Context, a *cases.Agent) error {
	skills := strings.Join(a.Skills, ",")
	if err := checkText("agent", a.Username, skills); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO case_agents (username, skills, capacity, active, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (username) DO UPDATE SET skills = excluded.skills, capacity = excluded.capacity, active = excluded.active, updated_at = excluded.updated_at`,
		a.Username, skills, a.Capacity, a.Active, a.UpdatedAt)
	if err != nil {
		return fmt.Errorf("put agent %s: %w", a.Username, err)
	}
	return nil
}

// Agents returns every agent by username.
func (db *DB) Agents(ctx context.Context) ([]*cases.Agent, error) {
	rows, err := db.pool.Query(ctx, `SELECT username, skills, capacity, active, updated_at FROM case_agents ORDER BY username COLLATE "C"`)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	defer rows.Close()
	out := []*cases.Agent{}
	for rows.Next() {
		var (
			a      cases.Agent
			skills string
		)
		if err := rows.Scan(&a.Username, &skills, &a.Capacity, &a.Active, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("agents: %w", err)
		}
		a.Skills, a.UpdatedAt = []string{}, utc(a.UpdatedAt)
		if skills != "" {
			a.Skills = strings.Split(skills, ",")
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

// Figures counts the cases closed in [from, to).
func (db *DB) Figures(ctx context.Context, from, to time.Time) ([]cases.FigureRow, error) {
	rows, err := db.pool.Query(ctx, `SELECT resolution, typology, COUNT(*), SUM(amount_saved), SUM(amount_lost) FROM cases
		WHERE closed_at >= $1 AND closed_at < $2 GROUP BY resolution, typology ORDER BY resolution COLLATE "C", typology COLLATE "C"`, from, to)
	if err != nil {
		return nil, fmt.Errorf("case figures: %w", err)
	}
	defer rows.Close()
	out := []cases.FigureRow{}
	for rows.Next() {
		var (
			r           cases.FigureRow
			saved, lost int64
		)
		if err := rows.Scan(&r.Resolution, &r.Typology, &r.Cases, &saved, &lost); err != nil {
			return nil, fmt.Errorf("case figures: %w", err)
		}
		r.Saved, r.Lost = xiaobao.Money(saved), xiaobao.Money(lost)
		out = append(out, r)
	}
	return out, rows.Err()
}

// CaseCursor returns how far catching up has looked.
func (db *DB) CaseCursor(ctx context.Context) (int64, error) {
	var seq int64
	err := db.pool.QueryRow(ctx, `SELECT seq FROM case_cursor WHERE id = 1`).Scan(&seq)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("case cursor: %w", err)
	}
	return seq, nil
}

// SetCaseCursor moves the cursor forward (never back).
func (db *DB) SetCaseCursor(ctx context.Context, seq int64) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO case_cursor (id, seq) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET seq = GREATEST(case_cursor.seq, excluded.seq)`, seq)
	if err != nil {
		return fmt.Errorf("set case cursor: %w", err)
	}
	return nil
}
