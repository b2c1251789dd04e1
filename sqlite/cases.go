package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/outbox"
)

var _ cases.Store = (*DB)(nil)

const sqlCaseColumns = `SELECT id, customer_id, typology, queue, state, assignee, customer_age, amount_at_risk, opened_at, updated_at,
	sla_due_at, hold_expires_at, next_attempt_at, attempts, escalated, extended, reported, resolution, closed_at,
	amount_saved, amount_lost, labels_pending, version FROM cases`

func scanCase(sc interface{ Scan(...any) error }) (*cases.Case, error) {
	var (
		c                          cases.Case
		opened, updated, sla       int64
		expires, attempt, closedAt sql.NullInt64
		risk, saved, lost          int64
	)
	if err := sc.Scan(&c.ID, &c.CustomerID, &c.Typology, &c.Queue, &c.State, &c.Assignee, &c.CustomerAge, &risk, &opened, &updated,
		&sla, &expires, &attempt, &c.Attempts, &c.Escalated, &c.Extended, &c.Reported, &c.Resolution, &closedAt,
		&saved, &lost, &c.LabelsPending, &c.Version); err != nil {
		return nil, err
	}
	c.AmountAtRisk, c.AmountSaved, c.AmountLost = xiaobao.Money(risk), xiaobao.Money(saved), xiaobao.Money(lost)
	c.OpenedAt, c.UpdatedAt, c.SLADueAt = fromMicro(opened), fromMicro(updated), fromMicro(sla)
	c.HoldExpiresAt, c.NextAttemptAt, c.ClosedAt = fromNullMicro(expires), fromNullMicro(attempt), fromNullMicro(closedAt)
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

// caseRow is the values of a case's columns, in the order of the INSERT.
func caseRow(c *cases.Case) []any {
	return []any{c.ID, c.CustomerID, c.Typology, c.Queue, c.State, c.Assignee, c.CustomerAge, int64(c.AmountAtRisk),
		toMicro(c.OpenedAt), toMicro(c.UpdatedAt), toMicro(c.SLADueAt), nullMicro(c.HoldExpiresAt), nullMicro(c.NextAttemptAt),
		nullMicro(c.NextDeadline()), c.Attempts, c.Escalated, c.Extended, c.Reported, c.Resolution, nullMicro(c.ClosedAt),
		int64(c.AmountSaved), int64(c.AmountLost), c.LabelsPending, c.Version}
}

func insertCaseDecision(ctx context.Context, tx *sql.Tx, caseID string, n int, d *cases.Decision) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO case_decisions (decision_id, case_id, n, event_id, seq, action, amount, currency, occurred_at, expires_at, status)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		d.DecisionID, caseID, n, d.EventID, d.Seq, d.Action.String(), int64(d.Amount), d.Currency, toMicro(d.OccurredAt), nullMicro(d.ExpiresAt), d.Status)
	return err
}

func insertCaseEvent(ctx context.Context, tx *sql.Tx, caseID string, e *cases.Event) error {
	if err := checkText("case event", e.Actor, string(e.Kind), string(e.From), string(e.To), e.Assignee, string(e.Outcome), e.DecisionID, e.Note, e.Key); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO case_events (case_id, n, at, actor, kind, from_state, to_state, assignee, outcome, decision_id, note, request_id)
		VALUES (?, (SELECT COALESCE(MAX(n) + 1, 0) FROM case_events WHERE case_id = ?), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		caseID, caseID, toMicro(e.At), e.Actor, e.Kind, e.From, e.To, e.Assignee, e.Outcome, e.DecisionID, e.Note, e.Key)
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
	err := db.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cases (id, customer_id, typology, queue, state, assignee, customer_age, amount_at_risk,
			opened_at, updated_at, sla_due_at, hold_expires_at, next_attempt_at, next_due_at, attempts, escalated, extended, reported,
			resolution, closed_at, amount_saved, amount_lost, labels_pending, version)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, caseRow(c)...); err != nil {
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
	if isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "case %s, one of its decisions, or an open case of the customer and typology exists", c.ID)
	} else if err != nil {
		return fmt.Errorf("create case %s: %w", c.ID, err)
	}
	return nil
}

// UpdateCase applies u if the case is still at the version before it.
func (db *DB) UpdateCase(ctx context.Context, u cases.Update) error {
	c := u.Case
	if err := caseText(c); err != nil {
		return err
	}
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		row := caseRow(c)
		args := append([]any{row[3], row[4], row[5], row[7]}, row[9:]...)
		args = append(args, c.ID, c.Version-1)
		res, err := tx.ExecContext(ctx, `UPDATE cases SET queue = ?, state = ?, assignee = ?, amount_at_risk = ?, updated_at = ?,
			sla_due_at = ?, hold_expires_at = ?, next_attempt_at = ?, next_due_at = ?, attempts = ?, escalated = ?, extended = ?,
			reported = ?, resolution = ?, closed_at = ?, amount_saved = ?, amount_lost = ?, labels_pending = ?, version = ?
			WHERE id = ? AND version = ?`, args...)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil || n == 0 {
			return err
		}
		for i := range c.Decisions {
			d := &c.Decisions[i]
			if isAdded(u.Added, d.DecisionID) {
				if err := insertCaseDecision(ctx, tx, c.ID, i, d); err != nil {
					return err
				}
				continue
			}
			if _, err := tx.ExecContext(ctx, `UPDATE case_decisions SET status = ?, expires_at = ? WHERE decision_id = ? AND case_id = ?`,
				d.Status, nullMicro(d.ExpiresAt), d.DecisionID, c.ID); err != nil {
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
	if isConstraint(err) {
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
// transaction so they belong to the same version.
func (db *DB) Case(ctx context.Context, id string) (*cases.Case, error) {
	tx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	c, err := scanCase(tx.QueryRowContext(ctx, sqlCaseColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("case %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	if err := loadCaseDecisions(ctx, tx, map[string]*cases.Case{c.ID: c}); err != nil {
		return nil, fmt.Errorf("case %s: %w", id, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT at, actor, kind, from_state, to_state, assignee, outcome, decision_id, note, request_id
		FROM case_events WHERE case_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, fmt.Errorf("case %s events: %w", id, err)
	}
	defer rows.Close()
	c.Events = []cases.Event{}
	for rows.Next() {
		var (
			e  cases.Event
			at int64
		)
		if err := rows.Scan(&at, &e.Actor, &e.Kind, &e.From, &e.To, &e.Assignee, &e.Outcome, &e.DecisionID, &e.Note, &e.Key); err != nil {
			return nil, fmt.Errorf("case %s events: %w", id, err)
		}
		e.At = fromMicro(at)
		c.Events = append(c.Events, e)
	}
	return c, rows.Err()
}

type queryer interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// loadCaseDecisions fills in the decisions of cs (by id).
func loadCaseDecisions(ctx context.Context, q queryer, cs map[string]*cases.Case) error {
	if len(cs) == 0 {
		return nil
	}
	ids := make([]any, 0, len(cs))
	for id := range cs {
		ids = append(ids, id)
	}
	rows, err := q.QueryContext(ctx, `SELECT case_id, decision_id, event_id, seq, action, amount, currency, occurred_at, expires_at, status
		FROM case_decisions WHERE case_id IN (?`+strings.Repeat(`, ?`, len(ids)-1)+`) ORDER BY case_id, n`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			caseID, action string
			d              cases.Decision
			amount, at     int64
			expires        sql.NullInt64
		)
		if err := rows.Scan(&caseID, &d.DecisionID, &d.EventID, &d.Seq, &action, &amount, &d.Currency, &at, &expires, &d.Status); err != nil {
			return err
		}
		if d.Action, err = guard.ParseAction(action); err != nil {
			return err
		}
		d.Amount, d.OccurredAt, d.ExpiresAt = xiaobao.Money(amount), fromMicro(at), fromNullMicro(expires)
		c := cs[caseID]
		c.Decisions = append(c.Decisions, d)
	}
	return rows.Err()
}

// CaseOfDecision returns the case that holds a decision.
func (db *DB) CaseOfDecision(ctx context.Context, decisionID string) (*cases.Case, error) {
	var id string
	err := db.r.QueryRowContext(ctx, `SELECT case_id FROM case_decisions WHERE decision_id = ?`, decisionID).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("decision %q is in no case", decisionID)
	} else if err != nil {
		return nil, fmt.Errorf("case of decision %s: %w", decisionID, err)
	}
	return db.Case(ctx, id)
}

// OpenCaseOf returns the open case of a customer and typology.
func (db *DB) OpenCaseOf(ctx context.Context, customerID, typology string) (*cases.Case, error) {
	var id string
	err := db.r.QueryRowContext(ctx, `SELECT id FROM cases WHERE customer_id = ? AND typology = ? AND state <> 'closed'`, customerID, typology).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("customer %q has no open %s case", customerID, typology)
	} else if err != nil {
		return nil, fmt.Errorf("open case of %s: %w", customerID, err)
	}
	return db.Case(ctx, id)
}

// FindCases returns the cases f selects, by SLA due time then id.
func (db *DB) FindCases(ctx context.Context, f cases.Filter) ([]*cases.Case, error) {
	q, args := findCasesQuery(f)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find cases: %w", err)
	}
	defer rows.Close()
	out := []*cases.Case{}
	byID := map[string]*cases.Case{}
	for rows.Next() {
		c, err := scanCase(rows)
		if err != nil {
			return nil, fmt.Errorf("find cases: %w", err)
		}
		out = append(out, c)
		byID[c.ID] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find cases: %w", err)
	}
	if err := loadCaseDecisions(ctx, db.r, byID); err != nil {
		return nil, fmt.Errorf("find cases: %w", err)
	}
	return out, nil
}

// findCasesQuery returns the query of FindCases and its arguments.
func findCasesQuery(f cases.Filter) (string, []any) {
	var (
		where []string
		args  []any
	)
	add := func(cond string, a ...any) { where, args = append(where, cond), append(args, a...) }
	if f.State != "" {
		add(`state = ?`, f.State)
	}
	if f.Queue != "" {
		add(`queue = ?`, f.Queue)
	}
	if f.Assignee != "" {
		add(`assignee = ?`, f.Assignee)
	}
	if f.Unassigned {
		add(`assignee = ''`)
	}
	if f.CustomerID != "" {
		add(`customer_id = ?`, f.CustomerID)
	}
	if f.Typology != "" {
		add(`typology = ?`, f.Typology)
	}
	if f.OpenOnly {
		add(`state <> 'closed'`)
	}
	if f.Overdue != nil {
		if *f.Overdue {
			add(`state <> 'closed' AND sla_due_at <= ?`, toMicro(f.Now))
		} else {
			add(`(state = 'closed' OR sla_due_at > ?)`, toMicro(f.Now))
		}
	}
	if f.AfterID != "" {
		add(`(sla_due_at, id) > (?, ?)`, toMicro(f.AfterDue), f.AfterID)
	}
	q := sqlCaseColumns
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += ` ORDER BY sla_due_at, id LIMIT ?`
	return q, append(args, min(limit, 1000))
}

const sqlDueCases = `SELECT id FROM cases WHERE next_due_at <= ? ORDER BY next_due_at, id LIMIT ?`

// DueCases returns the ids of cases whose next deadline has come.
func (db *DB) DueCases(ctx context.Context, now time.Time, limit int) ([]string, error) {
	rows, err := db.r.QueryContext(ctx, sqlDueCases, toMicro(now), max(limit, 1))
	if err != nil {
		return nil, fmt.Errorf("due cases: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("due cases: %w", err)
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// QueueStats counts the open cases per queue.
func (db *DB) QueueStats(ctx context.Context, now time.Time) ([]cases.QueueStat, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT queue, COUNT(*), SUM(assignee = ''), SUM(sla_due_at <= ?), SUM(amount_at_risk), MIN(sla_due_at)
		FROM cases WHERE state <> 'closed' GROUP BY queue ORDER BY queue`, toMicro(now))
	if err != nil {
		return nil, fmt.Errorf("queue stats: %w", err)
	}
	defer rows.Close()
	out := []cases.QueueStat{}
	for rows.Next() {
		var (
			st       cases.QueueStat
			risk, nx int64
		)
		if err := rows.Scan(&st.Queue, &st.Open, &st.Unassigned, &st.Overdue, &risk, &nx); err != nil {
			return nil, fmt.Errorf("queue stats: %w", err)
		}
		t := fromMicro(nx)
		st.AtRisk, st.NextDueAt = xiaobao.Money(risk), &t
		out = append(out, st)
	}
	return out, rows.Err()
}

// Load counts the open cases per assignee.
func (db *DB) Load(ctx context.Context) (map[string]int, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT assignee, COUNT(*) FROM cases WHERE state <> 'closed' AND assignee <> '' GROUP BY assignee`)
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
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO case_agents (username, skills, capacity, active, updated_at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (username) DO UPDATE SET skills = excluded.skills, capacity = excluded.capacity, active = excluded.active, updated_at = excluded.updated_at`,
			a.Username, skills, a.Capacity, a.Active, toMicro(a.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put agent %s: %w", a.Username, err)
	}
	return nil
}

// Agents returns every agent by username.
func (db *DB) Agents(ctx context.Context) ([]*cases.Agent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT username, skills, capacity, active, updated_at FROM case_agents ORDER BY username`)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	defer rows.Close()
	out := []*cases.Agent{}
	for rows.Next() {
		var (
			a      cases.Agent
			skills string
			at     int64
		)
		if err := rows.Scan(&a.Username, &skills, &a.Capacity, &a.Active, &at); err != nil {
			return nil, fmt.Errorf("agents: %w", err)
		}
		a.Skills, a.UpdatedAt = splitSkills(skills), fromMicro(at)
		out = append(out, &a)
	}
	return out, rows.Err()
}

func splitSkills(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// Figures counts the cases closed in [from, to).
func (db *DB) Figures(ctx context.Context, from, to time.Time) ([]cases.FigureRow, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT resolution, typology, COUNT(*), SUM(amount_saved), SUM(amount_lost) FROM cases
		WHERE closed_at >= ? AND closed_at < ? GROUP BY resolution, typology ORDER BY resolution, typology`, toMicro(from), toMicro(to))
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
	err := db.r.QueryRowContext(ctx, `SELECT seq FROM case_cursor WHERE id = 1`).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("case cursor: %w", err)
	}
	return seq, nil
}

// SetCaseCursor moves the cursor forward (never back).
func (db *DB) SetCaseCursor(ctx context.Context, seq int64) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO case_cursor (id, seq) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET seq = MAX(seq, excluded.seq)`, seq)
		return err
	})
	if err != nil {
		return fmt.Errorf("set case cursor: %w", err)
	}
	return nil
}
