package service

import (
	"context"
	"time"
)

// Session statuses.
const (
	StatusOpen      = "open"       // the bot serves the customer
	StatusQueued    = "queued"     // handed off, waiting for an agent with room
	StatusHandedOff = "handed_off" // an agent holds the session
	StatusClosed    = "closed"
)

// Turn roles.
const (
	RoleCustomer = "customer"
	RoleBot      = "bot"
	RoleAgent    = "agent"
	RoleSystem   = "system"
)

// Session is one conversation with a customer.
type Session struct {
	ID         string     `json:"id"`
	CustomerID string     `json:"customer_id,omitempty"`
	Channel    string     `json:"channel,omitempty"`
	Status     string     `json:"status"`
	OpenedAt   time.Time  `json:"opened_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
	Turns      int        `json:"turns"`
	// Route is the latest routing decision.
	Queue       string     `json:"queue,omitempty"`
	Priority    int        `json:"priority,omitempty"`
	RouteReason string     `json:"route_reason,omitempty"`
	AgentID     string     `json:"agent_id,omitempty"`
	HandedOffAt *time.Time `json:"handed_off_at,omitempty"`
	// Warnings are the warning kinds raised in the session; ScamType the
	// scam typology if one was.
	Warnings []string `json:"warnings,omitempty"`
	ScamType string   `json:"scam_type,omitempty"`
	// Topics are the contact reasons predicted when it opened.
	Topics []string `json:"topics,omitempty"`
	// Clarifying is true while the bot waits for the answer to a
	// clarifying question.
	Clarifying bool `json:"clarifying,omitempty"`
	// Resolved is set at close: whether the customer's need was met.
	Resolved    *bool      `json:"resolved,omitempty"`
	CSAT        *int       `json:"csat,omitempty"`
	CSATComment string     `json:"csat_comment,omitempty"`
	CSATAt      *time.Time `json:"csat_at,omitempty"`
	ClosedBy    string     `json:"closed_by,omitempty"`
}

// Turn is one message of a session. Text is stored redacted: personal
// data (phone, ID and card numbers, …) never reaches the store.
type Turn struct {
	SessionID string    `json:"session_id"`
	Seq       int       `json:"seq"`
	At        time.Time `json:"at"`
	Role      string    `json:"role"`
	Text      string    `json:"text"`
	// MessageID is the channel's id of the customer's message, the
	// idempotency key of ask.
	MessageID string    `json:"message_id,omitempty"`
	FAQID     string    `json:"faq_id,omitempty"`
	Score     float64   `json:"score,omitempty"`
	Warnings  []Warning `json:"warnings,omitempty"`
	AgentID   string    `json:"agent_id,omitempty"`
	// Reply is the result given to a customer turn, kept so that a retry
	// of its message id gets the same answer; it is not shown in
	// transcripts.
	Reply *AskResult `json:"-"`
}

// ReplyQuery finds the result given to a message id: in a session, or
// (SessionID empty) in any session of the customer on the channel.
type ReplyQuery struct {
	SessionID  string
	CustomerID string
	Channel    string
	MessageID  string
}

// SessionFilter selects sessions, newest first.
type SessionFilter struct {
	CustomerID string
	AgentID    string
	Status     string
	From, To   time.Time // opened_at in [From, To)
	// Before pages: only sessions opened before it.
	Before time.Time
	// Limit bounds the result; 0 means no limit (for statistics).
	Limit int
}

// Store keeps sessions, turns, agents, queues and guides.
type Store interface {
	// SaveServiceSessions upserts sessions and inserts turns, in one
	// transaction. A turn already stored (same session and seq) is kept
	// as it is.
	SaveServiceSessions(ctx context.Context, sessions []*Session, turns []*Turn) error
	// ServiceSession returns one session, ENOTFOUND if none.
	ServiceSession(ctx context.Context, id string) (*Session, error)
	// ServiceTurns returns a session's turns in order.
	ServiceTurns(ctx context.Context, sessionID string) ([]*Turn, error)
	FindServiceSessions(ctx context.Context, f SessionFilter) ([]*Session, error)
	// ServiceReply returns the result stored with a customer turn of the
	// message id q names (the latest if several), ENOTFOUND if none.
	ServiceReply(ctx context.Context, q ReplyQuery) (*AskResult, error)
	// PutServiceFeedback stores the verdict on a turn's answer, replacing
	// an earlier one on the same turn.
	PutServiceFeedback(ctx context.Context, f *Feedback) error
	// ServiceFeedback returns the verdict on a turn, ENOTFOUND if none.
	ServiceFeedback(ctx context.Context, sessionID string, turn int) (*Feedback, error)
	// ServiceFeedbackBetween returns the verdicts given in [from, to).
	ServiceFeedbackBetween(ctx context.Context, from, to time.Time) ([]*Feedback, error)

	PutServiceAgent(ctx context.Context, a *Agent) error
	ServiceAgents(ctx context.Context) ([]*Agent, error)
	PutServiceQueue(ctx context.Context, q *Queue) error
	ServiceQueues(ctx context.Context) ([]*Queue, error)

	// SaveServiceGuide stores g as a new version, which must be the latest
	// version plus one (1 for a new guide); otherwise ECONFLICT.
	SaveServiceGuide(ctx context.Context, g *Guide) error
	// ServiceGuide returns one version of a guide (0: the latest), ENOTFOUND if
	// none.
	ServiceGuide(ctx context.Context, id string, version int) (*Guide, error)
	// ServiceGuideVersions returns every version of a guide, newest first.
	ServiceGuideVersions(ctx context.Context, id string) ([]*Guide, error)
	// ServiceGuides returns the latest version of every guide, by id.
	ServiceGuides(ctx context.Context) ([]*Guide, error)
}
