package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/service"
)

var _ service.Store = (*DB)(nil)

const sqlServiceSessionColumns = `SELECT id, customer_id, channel, status, opened_at, updated_at, closed_at, turns, queue, priority,
	route_reason, agent_id, handed_off_at, warnings, scam_type, topics, clarifying, resolved, csat, csat_comment, csat_at, closed_by
	FROM service_sessions`

func svcStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func scanServiceSession(row pgx.Row) (*service.Session, error) {
	var (
		s    service.Session
		csat *int32
	)
	if err := row.Scan(&s.ID, &s.CustomerID, &s.Channel, &s.Status, &s.OpenedAt, &s.UpdatedAt, &s.ClosedAt, &s.Turns, &s.Queue, &s.Priority,
		&s.RouteReason, &s.AgentID, &s.HandedOffAt, &s.Warnings, &s.ScamType, &s.Topics, &s.Clarifying, &s.Resolved, &csat, &s.CSATComment, &s.CSATAt, &s.ClosedBy); err != nil {
		return nil, err
	}
	s.OpenedAt, s.UpdatedAt = utc(s.OpenedAt), utc(s.UpdatedAt)
	s.ClosedAt, s.HandedOffAt, s.CSATAt = utcPtr(s.ClosedAt), utcPtr(s.HandedOffAt), utcPtr(s.CSATAt)
	if len(s.Warnings) == 0 {
		s.Warnings = nil
	}
	if len(s.Topics) == 0 {
		s.Topics = nil
	}
	if csat != nil {
		n := int(*csat)
		s.CSAT = &n
	}
	return &s, nil
}

// SaveServiceSessions upserts sessions and inserts turns in one
// transaction; a turn already stored is kept.
func (db *DB) SaveServiceSessions(ctx context.Context, sessions []*service.Session, turns []*service.Turn) error {
	for _, s := range sessions {
		if err := checkText("service session", s.ID, s.CustomerID, s.Channel, s.Queue, s.RouteReason, s.AgentID, s.ScamType, s.CSATComment, s.ClosedBy); err != nil {
			return err
		}
	}
	for _, t := range turns {
		if err := checkText("service turn", t.SessionID, t.Text, t.MessageID, t.FAQID, t.AgentID, t.Role); err != nil {
			return err
		}
	}
	if len(sessions) == 0 && len(turns) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, s := range sessions {
		b.Queue(`INSERT INTO service_sessions (id, customer_id, channel, status, opened_at, updated_at, closed_at, turns,
			queue, priority, route_reason, agent_id, handed_off_at, warnings, scam_type, topics, clarifying, resolved, csat, csat_comment, csat_at, closed_by)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)
			ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, channel = excluded.channel, status = excluded.status,
			updated_at = excluded.updated_at, closed_at = excluded.closed_at, turns = excluded.turns, queue = excluded.queue,
			priority = excluded.priority, route_reason = excluded.route_reason, agent_id = excluded.agent_id,
			handed_off_at = excluded.handed_off_at, warnings = excluded.warnings, scam_type = excluded.scam_type,
			topics = excluded.topics, clarifying = excluded.clarifying, resolved = excluded.resolved, csat = excluded.csat,
			csat_comment = excluded.csat_comment, csat_at = excluded.csat_at, closed_by = excluded.closed_by`,
			s.ID, s.CustomerID, s.Channel, s.Status, s.OpenedAt, s.UpdatedAt, s.ClosedAt, s.Turns, s.Queue, s.Priority, s.RouteReason,
			s.AgentID, s.HandedOffAt, svcStrings(s.Warnings), s.ScamType, svcStrings(s.Topics), s.Clarifying, s.Resolved, s.CSAT,
			s.CSATComment, s.CSATAt, s.ClosedBy)
	}
	for _, t := range turns {
		ws := t.Warnings
		if ws == nil {
			ws = []service.Warning{}
		}
		w, err := json.Marshal(ws)
		if err != nil {
			return err
		}
		var reply *string
		if t.Reply != nil {
			r, err := json.Marshal(t.Reply)
			if err != nil {
				return err
			}
			rs := string(r)
			reply = &rs
		}
		b.Queue(`INSERT INTO service_turns (session_id, seq, at, role, text, message_id, faq_id, score, warnings, agent_id, reply)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (session_id, seq) DO NOTHING`,
			t.SessionID, t.Seq, t.At, t.Role, t.Text, t.MessageID, t.FAQID, t.Score, string(w), t.AgentID, reply)
	}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return tx.SendBatch(ctx, b).Close() })
	if te := textError(err); te != nil {
		return te
	} else if err != nil {
		return fmt.Errorf("save service sessions: %w", err)
	}
	return nil
}

// ServiceReply returns the result stored with the customer turn of a
// message id.
func (db *DB) ServiceReply(ctx context.Context, q service.ReplyQuery) (*service.AskResult, error) {
	if checkText("", q.MessageID) != nil || checkText("", q.SessionID) != nil || checkText("", q.CustomerID) != nil || checkText("", q.Channel) != nil {
		return nil, notFound("no reply to message %q", q.MessageID)
	}
	var row pgx.Row
	if q.SessionID != "" {
		row = db.pool.QueryRow(ctx, `SELECT reply::text FROM service_turns WHERE message_id = $1 AND session_id = $2 AND reply IS NOT NULL
			ORDER BY seq DESC LIMIT 1`, q.MessageID, q.SessionID)
	} else {
		row = db.pool.QueryRow(ctx, `SELECT t.reply::text FROM service_turns t JOIN service_sessions s ON s.id = t.session_id
			WHERE t.message_id = $1 AND t.message_id <> '' AND t.reply IS NOT NULL AND s.customer_id = $2 AND s.channel = $3
			ORDER BY t.at DESC LIMIT 1`, q.MessageID, q.CustomerID, q.Channel)
	}
	var raw string
	if err := row.Scan(&raw); errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("no reply to message %q", q.MessageID)
	} else if err != nil {
		return nil, fmt.Errorf("service reply: %w", err)
	}
	var r service.AskResult
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return nil, fmt.Errorf("decode reply to message %s: %w", q.MessageID, err)
	}
	return &r, nil
}

// ServiceSession returns one service session.
func (db *DB) ServiceSession(ctx context.Context, id string) (*service.Session, error) {
	if checkText("", id) != nil {
		return nil, notFound("service session not found")
	}
	s, err := scanServiceSession(db.pool.QueryRow(ctx, sqlServiceSessionColumns+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("service session %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("service session: %w", err)
	}
	return s, nil
}

// ServiceTurns returns a session's turns in order.
func (db *DB) ServiceTurns(ctx context.Context, sessionID string) ([]*service.Turn, error) {
	if checkText("", sessionID) != nil {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT session_id, seq, at, role, text, message_id, faq_id, score, warnings::text, agent_id, reply::text
		FROM service_turns WHERE session_id = $1 ORDER BY seq`, sessionID)
	if err != nil {
		return nil, fmt.Errorf("service turns: %w", err)
	}
	defer rows.Close()
	var out []*service.Turn
	for rows.Next() {
		var (
			t     service.Turn
			w     string
			reply *string
		)
		if err := rows.Scan(&t.SessionID, &t.Seq, &t.At, &t.Role, &t.Text, &t.MessageID, &t.FAQID, &t.Score, &w, &t.AgentID, &reply); err != nil {
			return nil, fmt.Errorf("service turns: %w", err)
		}
		t.At = utc(t.At)
		if reply != nil {
			t.Reply = new(service.AskResult)
			if err := json.Unmarshal([]byte(*reply), t.Reply); err != nil {
				return nil, fmt.Errorf("decode reply of turn %s/%d: %w", t.SessionID, t.Seq, err)
			}
		}
		if err := json.Unmarshal([]byte(w), &t.Warnings); err != nil {
			return nil, fmt.Errorf("decode warnings of turn %s/%d: %w", t.SessionID, t.Seq, err)
		}
		if len(t.Warnings) == 0 {
			t.Warnings = nil
		}
		out = append(out, &t)
	}
	return out, rows.Err()
}

// FindServiceSessions searches sessions, newest first.
func (db *DB) FindServiceSessions(ctx context.Context, f service.SessionFilter) ([]*service.Session, error) {
	if checkText("", f.CustomerID, f.AgentID, f.Status) != nil {
		return nil, nil
	}
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", "$"+strconv.Itoa(len(args))))
	}
	if f.CustomerID != "" {
		add("customer_id = ?", f.CustomerID)
	}
	if f.AgentID != "" {
		add("agent_id = ?", f.AgentID)
	}
	if f.Status != "" {
		add("status = ?", f.Status)
		if f.Status != service.StatusClosed {
			// Lets the planner use the partial index of sessions not
			// closed (a parameter alone does not prove it applies).
			where = append(where, "status <> 'closed'")
		}
	}
	if !f.From.IsZero() {
		add("opened_at >= ?", f.From)
	}
	if !f.To.IsZero() {
		add("opened_at < ?", f.To)
	}
	if !f.Before.IsZero() {
		add("opened_at < ?", f.Before)
	}
	q := sqlServiceSessionColumns
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find service sessions: %w", err)
	}
	defer rows.Close()
	var out []*service.Session
	for rows.Next() {
		s, err := scanServiceSession(rows)
		if err != nil {
			return nil, fmt.Errorf("find service sessions: %w", err)
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// PutServiceAgent adds or replaces an agent.
func (db *DB) PutServiceAgent(ctx context.Context, a *service.Agent) error {
	if err := checkText("service agent", append([]string{a.ID, a.Name, a.Presence}, a.Skills...)...); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO service_agents (id, name, skills, presence, capacity, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, skills = excluded.skills, presence = excluded.presence,
		capacity = excluded.capacity, updated_at = excluded.updated_at`, a.ID, a.Name, svcStrings(a.Skills), a.Presence, a.Capacity, a.UpdatedAt)
	if err != nil {
		return fmt.Errorf("put service agent: %w", err)
	}
	return nil
}

// ServiceAgents returns every agent by id.
func (db *DB) ServiceAgents(ctx context.Context) ([]*service.Agent, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, name, skills, presence, capacity, updated_at FROM service_agents ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("service agents: %w", err)
	}
	defer rows.Close()
	var out []*service.Agent
	for rows.Next() {
		var a service.Agent
		if err := rows.Scan(&a.ID, &a.Name, &a.Skills, &a.Presence, &a.Capacity, &a.UpdatedAt); err != nil {
			return nil, fmt.Errorf("service agents: %w", err)
		}
		a.UpdatedAt = utc(a.UpdatedAt)
		a.Skills = svcStrings(a.Skills)
		out = append(out, &a)
	}
	return out, rows.Err()
}

// PutServiceQueue adds or replaces a queue.
func (db *DB) PutServiceQueue(ctx context.Context, q *service.Queue) error {
	if err := checkText("service queue", append([]string{q.Name, q.Description, q.Strategy, q.Overflow}, q.Skills...)...); err != nil {
		return err
	}
	_, err := db.pool.Exec(ctx, `INSERT INTO service_queues (name, description, skills, strategy, overflow, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (name) DO UPDATE SET description = excluded.description, skills = excluded.skills, strategy = excluded.strategy,
		overflow = excluded.overflow, updated_at = excluded.updated_at`, q.Name, q.Description, svcStrings(q.Skills), q.Strategy, q.Overflow, q.UpdatedAt)
	if err != nil {
		return fmt.Errorf("put service queue: %w", err)
	}
	return nil
}

// ServiceQueues returns every queue by name.
func (db *DB) ServiceQueues(ctx context.Context) ([]*service.Queue, error) {
	rows, err := db.pool.Query(ctx, `SELECT name, description, skills, strategy, overflow, updated_at FROM service_queues ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("service queues: %w", err)
	}
	defer rows.Close()
	var out []*service.Queue
	for rows.Next() {
		var q service.Queue
		if err := rows.Scan(&q.Name, &q.Description, &q.Skills, &q.Strategy, &q.Overflow, &q.UpdatedAt); err != nil {
			return nil, fmt.Errorf("service queues: %w", err)
		}
		q.UpdatedAt = utc(q.UpdatedAt)
		q.Skills = svcStrings(q.Skills)
		out = append(out, &q)
	}
	return out, rows.Err()
}

const sqlServiceGuideColumns = `SELECT id, version, title, category, faq_ids, steps::text, deleted, created_at, created_by, comment FROM service_guides`

func scanServiceGuide(row pgx.Row) (*service.Guide, error) {
	var (
		g     service.Guide
		steps string
		at    time.Time
	)
	if err := row.Scan(&g.ID, &g.Version, &g.Title, &g.Category, &g.FAQIDs, &steps, &g.Deleted, &at, &g.CreatedBy, &g.Comment); err != nil {
		return nil, err
	}
	g.CreatedAt = utc(at)
	g.FAQIDs = svcStrings(g.FAQIDs)
	if err := json.Unmarshal([]byte(steps), &g.Steps); err != nil {
		return nil, fmt.Errorf("decode steps of guide %s: %w", g.ID, err)
	}
	return &g, nil
}

// SaveServiceGuide stores a new version: the latest plus one, else
// ECONFLICT.
func (db *DB) SaveServiceGuide(ctx context.Context, g *service.Guide) error {
	if err := checkText("service guide", append([]string{g.ID, g.Title, g.Category, g.CreatedBy, g.Comment}, g.FAQIDs...)...); err != nil {
		return err
	}
	for _, s := range g.Steps {
		if err := checkText("service guide", s.Title, s.Body, s.Action); err != nil {
			return err
		}
	}
	steps, err := json.Marshal(g.Steps)
	if err != nil {
		return err
	}
	conflict := false
	err = pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		var latest int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM service_guides WHERE id = $1`, g.ID).Scan(&latest); err != nil {
			return err
		}
		if g.Version != latest+1 {
			conflict = true
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO service_guides (id, version, title, category, faq_ids, steps, deleted, created_at, created_by, comment)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, g.ID, g.Version, g.Title, g.Category, svcStrings(g.FAQIDs), string(steps),
			g.Deleted, g.CreatedAt, g.CreatedBy, g.Comment)
		return err
	})
	if conflict || pgCode(err) == uniqueViolation {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "guide %s version %d was already written; reload and edit the latest", g.ID, g.Version)
	} else if te := textError(err); te != nil {
		return te
	} else if err != nil {
		return fmt.Errorf("save service guide: %w", err)
	}
	return nil
}

// ServiceGuide returns one version of a guide (0: the latest).
func (db *DB) ServiceGuide(ctx context.Context, id string, version int) (*service.Guide, error) {
	if checkText("", id) != nil {
		return nil, notFound("guide not found")
	}
	var row pgx.Row
	if version == 0 {
		row = db.pool.QueryRow(ctx, sqlServiceGuideColumns+` WHERE id = $1 ORDER BY version DESC LIMIT 1`, id)
	} else {
		row = db.pool.QueryRow(ctx, sqlServiceGuideColumns+` WHERE id = $1 AND version = $2`, id, version)
	}
	g, err := scanServiceGuide(row)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("guide %q version %d not found", id, version)
	} else if err != nil {
		return nil, fmt.Errorf("service guide: %w", err)
	}
	return g, nil
}

func (db *DB) serviceGuides(ctx context.Context, q string, args ...any) ([]*service.Guide, error) {
	rows, err := db.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("service guides: %w", err)
	}
	defer rows.Close()
	var out []*service.Guide
	for rows.Next() {
		g, err := scanServiceGuide(rows)
		if err != nil {
			return nil, fmt.Errorf("service guides: %w", err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// ServiceGuideVersions returns every version of a guide, newest first.
func (db *DB) ServiceGuideVersions(ctx context.Context, id string) ([]*service.Guide, error) {
	if checkText("", id) != nil {
		return nil, nil
	}
	return db.serviceGuides(ctx, sqlServiceGuideColumns+` WHERE id = $1 ORDER BY version DESC`, id)
}

// ServiceGuides returns the latest version of every guide, by id.
func (db *DB) ServiceGuides(ctx context.Context) ([]*service.Guide, error) {
	return db.serviceGuides(ctx, `SELECT DISTINCT ON (id) id, version, title, category, faq_ids, steps::text, deleted, created_at, created_by, comment
		FROM service_guides ORDER BY id, version DESC`)
}

// PutServiceFeedback stores the verdict on a turn's answer.
func (db *DB) PutServiceFeedback(ctx context.Context, f *service.Feedback) error {
	if err := checkText("service feedback", f.SessionID, f.FAQID); err != nil {
		return err
	}
	if _, err := db.pool.Exec(ctx, `INSERT INTO service_feedback (session_id, turn, faq_id, helpful, at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (session_id, turn) DO UPDATE SET faq_id = excluded.faq_id, helpful = excluded.helpful, at = excluded.at`,
		f.SessionID, f.Turn, f.FAQID, f.Helpful, f.At); err != nil {
		return fmt.Errorf("store service feedback: %w", err)
	}
	return nil
}

// ServiceFeedback returns the verdict on a turn.
func (db *DB) ServiceFeedback(ctx context.Context, sessionID string, turn int) (*service.Feedback, error) {
	if checkText("", sessionID) != nil {
		return nil, notFound("no feedback on turn %d", turn)
	}
	f := service.Feedback{SessionID: sessionID, Turn: turn}
	err := db.pool.QueryRow(ctx, `SELECT faq_id, helpful, at FROM service_feedback WHERE session_id = $1 AND turn = $2`, sessionID, turn).
		Scan(&f.FAQID, &f.Helpful, &f.At)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("no feedback on turn %d of session %q", turn, sessionID)
	} else if err != nil {
		return nil, fmt.Errorf("service feedback: %w", err)
	}
	f.At = utc(f.At)
	return &f, nil
}

// ServiceFeedbackBetween returns the verdicts given in [from, to).
func (db *DB) ServiceFeedbackBetween(ctx context.Context, from, to time.Time) ([]*service.Feedback, error) {
	rows, err := db.pool.Query(ctx, `SELECT session_id, turn, faq_id, helpful, at FROM service_feedback WHERE at >= $1 AND at < $2
		ORDER BY at, session_id COLLATE "C", turn`, from, to)
	if err != nil {
		return nil, fmt.Errorf("service feedback: %w", err)
	}
	defer rows.Close()
	var out []*service.Feedback
	for rows.Next() {
		var f service.Feedback
		if err := rows.Scan(&f.SessionID, &f.Turn, &f.FAQID, &f.Helpful, &f.At); err != nil {
			return nil, fmt.Errorf("service feedback: %w", err)
		}
		f.At = utc(f.At)
		out = append(out, &f)
	}
	return out, rows.Err()
}
