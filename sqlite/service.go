package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/service"
)

var _ service.Store = (*DB)(nil)

// svcStmts caches the prepared read statements of the service store, by
// database and query text: a session opening reads the store a few times
// (is the id known, the customer's recent sessions), and parsing the SQL
// each time costs more than running it. The queries are a small fixed set
// (FindServiceSessions builds at most 64 shapes). Entries are keyed by a
// weak pointer and dropped once their DB is garbage, so opening and
// closing many databases (tests) leaks nothing.
var (
	svcStmts   sync.Map // svcStmtKey → *sql.Stmt
	svcCleanup sync.Map // weak.Pointer[DB] → struct{}: cleanup registered
)

type svcStmtKey struct {
	db weak.Pointer[DB]
	q  string
}

func (db *DB) svcStmt(ctx context.Context, q string) (*sql.Stmt, error) {
	wp := weak.Make(db)
	k := svcStmtKey{wp, q}
	if st, ok := svcStmts.Load(k); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.r.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := svcStmts.LoadOrStore(k, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	if _, loaded := svcCleanup.LoadOrStore(wp, struct{}{}); !loaded {
		runtime.AddCleanup(db, func(wp weak.Pointer[DB]) {
			svcStmts.Range(func(key, v any) bool {
				if key.(svcStmtKey).db == wp {
					v.(*sql.Stmt).Close()
					svcStmts.Delete(key)
				}
				return true
			})
			svcCleanup.Delete(wp)
		}, wp)
	}
	return st, nil
}

const sqlServiceSessionColumns = `SELECT id, customer_id, channel, status, opened_at, updated_at, closed_at, turns, queue, priority,
	route_reason, agent_id, handed_off_at, warnings, scam_type, topics, clarifying, resolved, csat, csat_comment, csat_at, closed_by
	FROM service_sessions`

func svcJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}

func svcNullBool(b *bool) sql.NullBool {
	if b == nil {
		return sql.NullBool{}
	}
	return sql.NullBool{Bool: *b, Valid: true}
}

func svcNullInt(p *int) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*p), Valid: true}
}

func scanServiceSession(sc interface{ Scan(...any) error }) (*service.Session, error) {
	var (
		s                      service.Session
		opened, updated        int64
		closed, handed, csatAt sql.NullInt64
		warnings, topics       string
		resolved               sql.NullBool
		csat                   sql.NullInt64
	)
	if err := sc.Scan(&s.ID, &s.CustomerID, &s.Channel, &s.Status, &opened, &updated, &closed, &s.Turns, &s.Queue, &s.Priority,
		&s.RouteReason, &s.AgentID, &handed, &warnings, &s.ScamType, &topics, &s.Clarifying, &resolved, &csat, &s.CSATComment, &csatAt, &s.ClosedBy); err != nil {
		return nil, err
	}
	s.OpenedAt, s.UpdatedAt = fromMicro(opened), fromMicro(updated)
	s.ClosedAt, s.HandedOffAt, s.CSATAt = fromNullMicro(closed), fromNullMicro(handed), fromNullMicro(csatAt)
	if err := json.Unmarshal([]byte(warnings), &s.Warnings); err != nil {
		return nil, fmt.Errorf("decode warnings of session %s: %w", s.ID, err)
	}
	if err := json.Unmarshal([]byte(topics), &s.Topics); err != nil {
		return nil, fmt.Errorf("decode topics of session %s: %w", s.ID, err)
	}
	if resolved.Valid {
		s.Resolved = &resolved.Bool
	}
	if csat.Valid {
		n := int(csat.Int64)
		s.CSAT = &n
	}
	return &s, nil
}

// SaveServiceSessions upserts sessions and inserts turns in one transaction;
// a turn already stored is kept.
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
	// Prepared once on the writer connection (before the transaction
	// holds it): a batch of a few turns commits hundreds of times a
	// second, and parsing these statements was most of its cost.
	upsertSession, err := db.wstmt(ctx, `INSERT INTO service_sessions (id, customer_id, channel, status, opened_at, updated_at, closed_at, turns,
				queue, priority, route_reason, agent_id, handed_off_at, warnings, scam_type, topics, clarifying, resolved, csat, csat_comment, csat_at, closed_by)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET customer_id = excluded.customer_id, channel = excluded.channel, status = excluded.status,
				updated_at = excluded.updated_at, closed_at = excluded.closed_at, turns = excluded.turns, queue = excluded.queue,
				priority = excluded.priority, route_reason = excluded.route_reason, agent_id = excluded.agent_id,
				handed_off_at = excluded.handed_off_at, warnings = excluded.warnings, scam_type = excluded.scam_type,
				topics = excluded.topics, clarifying = excluded.clarifying, resolved = excluded.resolved, csat = excluded.csat,
				csat_comment = excluded.csat_comment, csat_at = excluded.csat_at, closed_by = excluded.closed_by`)
	if err != nil {
		return fmt.Errorf("save service sessions: %w", err)
	}
	insertTurn, err := db.wstmt(ctx, `INSERT INTO service_turns (session_id, seq, at, role, text, message_id, faq_id, score, warnings, agent_id, reply)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (session_id, seq) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("save service sessions: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		if len(sessions) > 0 {
			st := tx.StmtContext(ctx, upsertSession)
			defer st.Close()
			for _, s := range sessions {
				w, err := svcJSON(svcStrings(s.Warnings))
				if err != nil {
					return err
				}
				tp, err := svcJSON(svcStrings(s.Topics))
				if err != nil {
					return err
				}
				if _, err := st.ExecContext(ctx, s.ID, s.CustomerID, s.Channel, s.Status, toMicro(s.OpenedAt), toMicro(s.UpdatedAt), nullMicro(s.ClosedAt),
					s.Turns, s.Queue, s.Priority, s.RouteReason, s.AgentID, nullMicro(s.HandedOffAt), w, s.ScamType, tp, s.Clarifying,
					svcNullBool(s.Resolved), svcNullInt(s.CSAT), s.CSATComment, nullMicro(s.CSATAt), s.ClosedBy); err != nil {
					return fmt.Errorf("session %s: %w", s.ID, err)
				}
			}
		}
		if len(turns) > 0 {
			st := tx.StmtContext(ctx, insertTurn)
			defer st.Close()
			for _, t := range turns {
				w, err := svcJSON(svcWarnings(t.Warnings))
				if err != nil {
					return err
				}
				reply := ""
				if t.Reply != nil {
					if reply, err = svcJSON(t.Reply); err != nil {
						return err
					}
				}
				if _, err := st.ExecContext(ctx, t.SessionID, t.Seq, toMicro(t.At), t.Role, t.Text, t.MessageID, t.FAQID, t.Score, w, t.AgentID, reply); err != nil {
					return fmt.Errorf("turn %s/%d: %w", t.SessionID, t.Seq, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save service sessions: %w", err)
	}
	return nil
}

func svcStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func svcWarnings(s []service.Warning) []service.Warning {
	if s == nil {
		return []service.Warning{}
	}
	return s
}

// ServiceReply returns the result stored with the customer turn of a
// message id.
func (db *DB) ServiceReply(ctx context.Context, q service.ReplyQuery) (*service.AskResult, error) {
	var (
		st   *sql.Stmt
		err  error
		args []any
	)
	if q.SessionID != "" {
		st, err = db.svcStmt(ctx, `SELECT reply FROM service_turns WHERE message_id = ? AND session_id = ? AND reply <> ''
			ORDER BY seq DESC LIMIT 1`)
		args = []any{q.MessageID, q.SessionID}
	} else {
		st, err = db.svcStmt(ctx, `SELECT t.reply FROM service_turns t JOIN service_sessions s ON s.id = t.session_id
			WHERE t.message_id = ? AND t.message_id <> '' AND t.reply <> '' AND s.customer_id = ? AND s.channel = ?
			ORDER BY t.at DESC LIMIT 1`)
		args = []any{q.MessageID, q.CustomerID, q.Channel}
	}
	if err != nil {
		return nil, fmt.Errorf("service reply: %w", err)
	}
	var raw string
	if err := st.QueryRowContext(ctx, args...).Scan(&raw); errors.Is(err, sql.ErrNoRows) {
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
	st, err := db.svcStmt(ctx, sqlServiceSessionColumns+` WHERE id = ?`)
	if err != nil {
		return nil, fmt.Errorf("service session: %w", err)
	}
	s, err := scanServiceSession(st.QueryRowContext(ctx, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("service session %q not found", id)
	} else if err != nil {
		return nil, fmt.Errorf("service session: %w", err)
	}
	return s, nil
}

// ServiceTurns returns a session's turns in order.
func (db *DB) ServiceTurns(ctx context.Context, sessionID string) ([]*service.Turn, error) {
	st, err := db.svcStmt(ctx, `SELECT session_id, seq, at, role, text, message_id, faq_id, score, warnings, agent_id, reply
		FROM service_turns WHERE session_id = ? ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("service turns: %w", err)
	}
	rows, err := st.QueryContext(ctx, sessionID)
	if err != nil {
		return nil, fmt.Errorf("service turns: %w", err)
	}
	defer rows.Close()
	var out []*service.Turn
	for rows.Next() {
		var (
			t     service.Turn
			at    int64
			w     string
			reply string
		)
		if err := rows.Scan(&t.SessionID, &t.Seq, &at, &t.Role, &t.Text, &t.MessageID, &t.FAQID, &t.Score, &w, &t.AgentID, &reply); err != nil {
			return nil, fmt.Errorf("service turns: %w", err)
		}
		t.At = fromMicro(at)
		if reply != "" {
			t.Reply = new(service.AskResult)
			if err := json.Unmarshal([]byte(reply), t.Reply); err != nil {
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
	var (
		where []string
		args  []any
	)
	add := func(cond string, arg any) { where = append(where, cond); args = append(args, arg) }
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
		add("opened_at >= ?", toMicro(f.From))
	}
	if !f.To.IsZero() {
		add("opened_at < ?", toMicro(f.To))
	}
	if !f.Before.IsZero() {
		add("opened_at < ?", toMicro(f.Before))
	}
	q := sqlServiceSessionColumns
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY opened_at DESC, id DESC"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	st, err := db.svcStmt(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("find service sessions: %w", err)
	}
	rows, err := st.QueryContext(ctx, args...)
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
	if err := checkText("service agent", a.ID, a.Name, a.Presence); err != nil {
		return err
	}
	sk, err := svcJSON(svcStrings(a.Skills))
	if err != nil {
		return err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO service_agents (id, name, skills, presence, capacity, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, skills = excluded.skills, presence = excluded.presence,
			capacity = excluded.capacity, updated_at = excluded.updated_at`, a.ID, a.Name, sk, a.Presence, a.Capacity, toMicro(a.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put service agent: %w", err)
	}
	return nil
}

// ServiceAgents returns every agent by id.
func (db *DB) ServiceAgents(ctx context.Context) ([]*service.Agent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, name, skills, presence, capacity, updated_at FROM service_agents ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("service agents: %w", err)
	}
	defer rows.Close()
	var out []*service.Agent
	for rows.Next() {
		var (
			a  service.Agent
			sk string
			at int64
		)
		if err := rows.Scan(&a.ID, &a.Name, &sk, &a.Presence, &a.Capacity, &at); err != nil {
			return nil, fmt.Errorf("service agents: %w", err)
		}
		a.UpdatedAt = fromMicro(at)
		if err := json.Unmarshal([]byte(sk), &a.Skills); err != nil {
			return nil, fmt.Errorf("decode skills of agent %s: %w", a.ID, err)
		}
		out = append(out, &a)
	}
	return out, rows.Err()
}

// PutServiceQueue adds or replaces a queue.
func (db *DB) PutServiceQueue(ctx context.Context, q *service.Queue) error {
	if err := checkText("service queue", q.Name, q.Description, q.Strategy, q.Overflow); err != nil {
		return err
	}
	sk, err := svcJSON(svcStrings(q.Skills))
	if err != nil {
		return err
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO service_queues (name, description, skills, strategy, overflow, updated_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET description = excluded.description, skills = excluded.skills, strategy = excluded.strategy,
			overflow = excluded.overflow, updated_at = excluded.updated_at`, q.Name, q.Description, sk, q.Strategy, q.Overflow, toMicro(q.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put service queue: %w", err)
	}
	return nil
}

// ServiceQueues returns every queue by name.
func (db *DB) ServiceQueues(ctx context.Context) ([]*service.Queue, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT name, description, skills, strategy, overflow, updated_at FROM service_queues ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("service queues: %w", err)
	}
	defer rows.Close()
	var out []*service.Queue
	for rows.Next() {
		var (
			q  service.Queue
			sk string
			at int64
		)
		if err := rows.Scan(&q.Name, &q.Description, &sk, &q.Strategy, &q.Overflow, &at); err != nil {
			return nil, fmt.Errorf("service queues: %w", err)
		}
		q.UpdatedAt = fromMicro(at)
		if err := json.Unmarshal([]byte(sk), &q.Skills); err != nil {
			return nil, fmt.Errorf("decode skills of queue %s: %w", q.Name, err)
		}
		out = append(out, &q)
	}
	return out, rows.Err()
}

const sqlServiceGuideColumns = `SELECT id, version, title, category, faq_ids, steps, deleted, created_at, created_by, comment FROM service_guides`

func scanServiceGuide(sc interface{ Scan(...any) error }) (*service.Guide, error) {
	var (
		g           service.Guide
		faqs, steps string
		at          int64
	)
	if err := sc.Scan(&g.ID, &g.Version, &g.Title, &g.Category, &faqs, &steps, &g.Deleted, &at, &g.CreatedBy, &g.Comment); err != nil {
		return nil, err
	}
	g.CreatedAt = fromMicro(at)
	if err := json.Unmarshal([]byte(faqs), &g.FAQIDs); err != nil {
		return nil, fmt.Errorf("decode faq ids of guide %s: %w", g.ID, err)
	}
	if err := json.Unmarshal([]byte(steps), &g.Steps); err != nil {
		return nil, fmt.Errorf("decode steps of guide %s: %w", g.ID, err)
	}
	return &g, nil
}

// SaveServiceGuide stores a new version: the latest plus one, else ECONFLICT.
func (db *DB) SaveServiceGuide(ctx context.Context, g *service.Guide) error {
	if err := checkText("service guide", g.ID, g.Title, g.Category, g.CreatedBy, g.Comment); err != nil {
		return err
	}
	faqs, err := svcJSON(svcStrings(g.FAQIDs))
	if err != nil {
		return err
	}
	steps, err := svcJSON(g.Steps)
	if err != nil {
		return err
	}
	if err := checkText("service guide", faqs, steps); err != nil {
		return err
	}
	conflict := false
	err = db.write(ctx, func(tx *sql.Tx) error {
		var latest int
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM service_guides WHERE id = ?`, g.ID).Scan(&latest); err != nil {
			return err
		}
		if g.Version != latest+1 {
			conflict = true
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO service_guides (id, version, title, category, faq_ids, steps, deleted, created_at, created_by, comment)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, g.ID, g.Version, g.Title, g.Category, faqs, steps, g.Deleted, toMicro(g.CreatedAt), g.CreatedBy, g.Comment)
		return err
	})
	if conflict || isConstraint(err) {
		return xiaobao.Errorf(xiaobao.ECONFLICT, "guide %s version %d was already written; reload and edit the latest", g.ID, g.Version)
	} else if err != nil {
		return fmt.Errorf("save service guide: %w", err)
	}
	return nil
}

// ServiceGuide returns one version of a guide (0: the latest).
func (db *DB) ServiceGuide(ctx context.Context, id string, version int) (*service.Guide, error) {
	var row *sql.Row
	if version == 0 {
		row = db.r.QueryRowContext(ctx, sqlServiceGuideColumns+` WHERE id = ? ORDER BY version DESC LIMIT 1`, id)
	} else {
		row = db.r.QueryRowContext(ctx, sqlServiceGuideColumns+` WHERE id = ? AND version = ?`, id, version)
	}
	g, err := scanServiceGuide(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("guide %q version %d not found", id, version)
	} else if err != nil {
		return nil, fmt.Errorf("service guide: %w", err)
	}
	return g, nil
}

func (db *DB) serviceGuides(ctx context.Context, q string, args ...any) ([]*service.Guide, error) {
	rows, err := db.r.QueryContext(ctx, q, args...)
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
	return db.serviceGuides(ctx, sqlServiceGuideColumns+` WHERE id = ? ORDER BY version DESC`, id)
}

// ServiceGuides returns the latest version of every guide, by id.
func (db *DB) ServiceGuides(ctx context.Context) ([]*service.Guide, error) {
	return db.serviceGuides(ctx, sqlServiceGuideColumns+` g WHERE version = (SELECT max(version) FROM service_guides WHERE id = g.id) ORDER BY id`)
}

// PutServiceFeedback stores the verdict on a turn's answer.
func (db *DB) PutServiceFeedback(ctx context.Context, f *service.Feedback) error {
	if err := checkText("service feedback", f.SessionID, f.FAQID); err != nil {
		return err
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO service_feedback (session_id, turn, faq_id, helpful, at) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (session_id, turn) DO UPDATE SET faq_id = excluded.faq_id, helpful = excluded.helpful, at = excluded.at`,
			f.SessionID, f.Turn, f.FAQID, f.Helpful, toMicro(f.At))
		return err
	})
	if err != nil {
		return fmt.Errorf("store service feedback: %w", err)
	}
	return nil
}

// ServiceFeedback returns the verdict on a turn.
func (db *DB) ServiceFeedback(ctx context.Context, sessionID string, turn int) (*service.Feedback, error) {
	f := service.Feedback{SessionID: sessionID, Turn: turn}
	var at int64
	err := db.r.QueryRowContext(ctx, `SELECT faq_id, helpful, at FROM service_feedback WHERE session_id = ? AND turn = ?`, sessionID, turn).
		Scan(&f.FAQID, &f.Helpful, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("no feedback on turn %d of session %q", turn, sessionID)
	} else if err != nil {
		return nil, fmt.Errorf("service feedback: %w", err)
	}
	f.At = fromMicro(at)
	return &f, nil
}

// ServiceFeedbackBetween returns the verdicts given in [from, to).
func (db *DB) ServiceFeedbackBetween(ctx context.Context, from, to time.Time) ([]*service.Feedback, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT session_id, turn, faq_id, helpful, at FROM service_feedback WHERE at >= ? AND at < ? ORDER BY at, session_id, turn`,
		toMicro(from), toMicro(to))
	if err != nil {
		return nil, fmt.Errorf("service feedback: %w", err)
	}
	defer rows.Close()
	var out []*service.Feedback
	for rows.Next() {
		var (
			f  service.Feedback
			at int64
		)
		if err := rows.Scan(&f.SessionID, &f.Turn, &f.FAQID, &f.Helpful, &at); err != nil {
			return nil, fmt.Errorf("service feedback: %w", err)
		}
		f.At = fromMicro(at)
		out = append(out, &f)
	}
	return out, rows.Err()
}
