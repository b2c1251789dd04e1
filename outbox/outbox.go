// Package outbox delivers messages written in the same transaction as the
// business change that caused them (the transactional outbox pattern):
// callbacks to a firm's payment system when a held payment is released or
// cancelled, and customer notifications (SMS, app push).
//
// A message row is committed with the change or not at all. A Dispatcher
// then claims due rows from the Store, hands each to its sink's Sender and
// records the outcome: delivered, retried later with exponential back-off
// and jitter, or dead after too many attempts. Delivery is at least once: a
// dispatcher that crashes after sending but before recording the outcome
// sends the message again, with the same ID, when its lease runs out. A
// receiver that verifies the signature (Verify) and acts once per message ID
// (Dedup) therefore acts exactly once. Messages that share a Sink and a
// non-empty Key are delivered one at a time, in the order they were written.
//
// The package does no I/O of its own beyond its Senders: the stores live in
// the sqlite and postgres packages and time is passed in.
package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// Message is one callback or notification to deliver.
type Message struct {
	// ID is the idempotency key: unique, sent with every attempt, and the
	// key receivers deduplicate on. Writing a message whose ID exists
	// already is a no-op, so a retried business transaction writes it once.
	ID string `json:"id"`
	// Sink names the destination and so the Sender: "payments", "sms",
	// "push".
	Sink string `json:"sink"`
	// Topic says what happened: "hold.released", "hold.cancelled",
	// "customer.notify".
	Topic string `json:"topic"`
	// Key, when set, orders delivery: of the messages with the same Sink
	// and Key (a case ID, say), one is in flight at a time, oldest first,
	// and a later one waits while an earlier one is retried. A dead message
	// no longer holds the line.
	Key string `json:"key,omitempty"`
	// Payload is the JSON document delivered, as the receiver will see it
	// under "data".
	Payload json.RawMessage `json:"payload"`
	// CreatedAt is when the business change happened.
	CreatedAt time.Time `json:"created_at"`
}

// Validate checks what a store requires of m.
func (m *Message) Validate() error {
	switch {
	case m.ID == "" || len(m.ID) > 200:
		return xiaobao.Errorf(xiaobao.EINVALID, "outbox message id must be 1 to 200 characters")
	case m.Sink == "" || len(m.Sink) > 64:
		return xiaobao.Errorf(xiaobao.EINVALID, "outbox message %s: sink must be 1 to 64 characters", m.ID)
	case m.Topic == "" || len(m.Topic) > 128:
		return xiaobao.Errorf(xiaobao.EINVALID, "outbox message %s: topic must be 1 to 128 characters", m.ID)
	case len(m.Key) > 200:
		return xiaobao.Errorf(xiaobao.EINVALID, "outbox message %s: key must be at most 200 characters", m.ID)
	case !json.Valid(m.Payload):
		return xiaobao.Errorf(xiaobao.EINVALID, "outbox message %s: payload must be valid JSON", m.ID)
	case m.CreatedAt.IsZero():
		return xiaobao.Errorf(xiaobao.EINVALID, "outbox message %s: created_at must be set", m.ID)
	}
	for _, s := range []string{m.ID, m.Sink, m.Topic, m.Key, string(m.Payload)} {
		// PostgreSQL's text refuses these and SQLite's would keep them:
		// refuse them on both.
		if strings.IndexByte(s, 0) >= 0 || !utf8.ValidString(s) {
			return xiaobao.Errorf(xiaobao.EINVALID, "outbox message: text must be valid UTF-8 without NUL characters")
		}
	}
	return nil
}

// State is where a message is in its life.
type State string

const (
	// Pending messages are waiting for their first or next attempt, or
	// are being sent (Entry.LeaseUntil is in the future).
	Pending State = "pending"
	// Delivered messages were acknowledged by their receiver.
	Delivered State = "delivered"
	// Dead messages failed permanently or ran out of attempts; only a
	// redrive sends them again.
	Dead State = "dead"
)

// Valid reports whether s is one of the states.
func (s State) Valid() bool { return s == Pending || s == Delivered || s == Dead }

// Entry is a stored message with its delivery state.
type Entry struct {
	Message
	// Seq orders messages by when they were written.
	Seq   int64 `json:"seq"`
	State State `json:"state"`
	// Attempts counts the sends started since the message was written or
	// last redriven, including one a crashed dispatcher may not have
	// finished.
	Attempts int `json:"attempts"`
	// Claim is the number of times the message was claimed, never reset:
	// outcomes are recorded only by the dispatcher holding the latest
	// claim, so one whose lease ran out cannot overwrite another's.
	Claim         int64      `json:"-"`
	NextAttemptAt time.Time  `json:"next_attempt_at"`
	LeaseUntil    time.Time  `json:"-"`
	LastError     string     `json:"last_error,omitempty"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
}

// Failure is the outcome of a failed attempt.
type Failure struct {
	// Claim is the claim the attempt was made under (Entry.Claim).
	Claim int64
	// Dead ends the message: no more attempts until a redrive.
	Dead bool
	// NextAttemptAt is when to try again, when not Dead.
	NextAttemptAt time.Time
	// Err says what went wrong, for operators. It must not carry PII: the
	// Senders put only status codes and transport errors in it.
	Err string
}

// Filter selects entries for List.
type Filter struct {
	State State  // "": any
	Sink  string // "": any
	Topic string // "": any
	// After continues a listing: entries written after the one with this
	// sequence number (Page.Next).
	After int64
	Limit int // default and maximum 500
}

// Page is a page of entries, oldest first.
type Page struct {
	Entries []Entry `json:"entries"`
	// Next, when non-zero, is Filter.After for the next page.
	Next int64 `json:"next,omitempty"`
}

// Count is how many messages of a sink and topic are in a state.
type Count struct {
	Sink  string
	Topic string
	State State
	N     int64
}

// Store keeps the outbox. The sqlite and postgres DBs implement it; there
// each also has an unexported insertOutbox that writes messages inside a
// business transaction.
type Store interface {
	// AppendOutbox writes messages outside any business transaction. A
	// message whose ID exists already is skipped.
	AppendOutbox(ctx context.Context, msgs []Message) error
	// ClaimOutbox leases up to limit pending messages that are due at now
	// (and not leased), oldest first, at most one per Sink and non-empty
	// Key (the oldest pending one). Each claim counts as an attempt.
	ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Entry, error)
	// MarkOutboxDelivered records that the message was acknowledged. It
	// applies to a pending message whatever its claim: a late
	// acknowledgement is still one.
	MarkOutboxDelivered(ctx context.Context, id string, now time.Time) error
	// MarkOutboxFailed records a failed attempt, if f.Claim is still the
	// message's latest claim and it is pending.
	MarkOutboxFailed(ctx context.Context, id string, f Failure) error
	// ListOutbox lists messages for operators.
	ListOutbox(ctx context.Context, f Filter) (Page, error)
	// GetOutbox returns one message; ENOTFOUND if there is none.
	GetOutbox(ctx context.Context, id string) (*Entry, error)
	// RedriveOutbox makes a dead (or pending) message due at now with its
	// attempts reset; ENOTFOUND if there is none, ECONFLICT if it was
	// delivered.
	RedriveOutbox(ctx context.Context, id string, now time.Time) error
	// OutboxCounts counts pending and dead messages by sink, topic and
	// state (delivered ones are counted as they are delivered, by the
	// Dispatcher's metrics).
	OutboxCounts(ctx context.Context) ([]Count, error)
	// PurgeOutbox deletes messages delivered before t and returns how many:
	// their payloads may hold personal data, kept no longer than needed.
	PurgeOutbox(ctx context.Context, t time.Time) (int64, error)
}

// ClampLimit returns the page size to use for a requested limit.
func ClampLimit(n int) int {
	if n <= 0 || n > 500 {
		return 500
	}
	return n
}

// Validate checks messages before a store writes them.
func Validate(msgs []Message) error {
	for i := range msgs {
		if err := msgs[i].Validate(); err != nil {
			return err
		}
	}
	return nil
}

// SealAD is the associated data a store seals a message's payload with:
// it binds the ciphertext to the message, so a payload cannot be moved to
// another row.
func SealAD(id string) []byte { return fmt.Appendf(nil, "outbox:%s", id) }
