// Package cases is the dissuasion desk: every held payment (and every
// blocked one, by default) opens or joins a case — one customer, one
// suspected scam — which waits in a queue, is assigned to a caller, is
// called about before the hold expires, and closes with an outcome that
// releases or cancels the held payments, teaches Guard a label and counts
// the money saved or lost.
//
// The package holds the logic only: the workflow functions are pure (time
// is passed in), Service runs them against a Store and tells Guard and the
// timers; storage lives in the sqlite and postgres adapters.
package cases

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// State is where a case stands.
type State string

const (
	// StateOpen: in its queue, nobody assigned.
	StateOpen State = "open"
	// StateAssigned: a caller owns it and should call now.
	StateAssigned State = "assigned"
	// StateWaiting: the customer was unreachable; the next attempt is due
	// at NextAttemptAt.
	StateWaiting State = "waiting"
	// StateEscalated: overdue or out of attempts; in the supervisor queue.
	StateEscalated State = "escalated"
	// StateClosed: resolved; Resolution says how.
	StateClosed State = "closed"
)

// States lists every state.
var States = []State{StateOpen, StateAssigned, StateWaiting, StateEscalated, StateClosed}

// Valid reports whether s is a known state.
func (s State) Valid() bool { return slices.Contains(States, s) }

// CallOutcome is what a dissuasion call found.
type CallOutcome string

const (
	// Dissuaded: the customer agreed not to pay; the held payments are
	// cancelled.
	Dissuaded CallOutcome = "dissuaded"
	// Insisted: the customer insists after the warning and consents on
	// record; the held payments are released.
	Insisted CallOutcome = "insisted"
	// Unreachable: nobody answered; another attempt follows the retry
	// policy.
	Unreachable CallOutcome = "unreachable"
	// ConfirmedVictim: the customer is being scammed; the payments are
	// cancelled and the case is reported. On a case released because the
	// customer insisted, it records the loss.
	ConfirmedVictim CallOutcome = "confirmed_victim"
	// FalseAlarm: a genuine payment; released.
	FalseAlarm CallOutcome = "false_alarm"
)

// CallOutcomes lists every call outcome.
var CallOutcomes = []CallOutcome{Dissuaded, Insisted, Unreachable, ConfirmedVictim, FalseAlarm}

// Valid reports whether o is a known outcome.
func (o CallOutcome) Valid() bool { return slices.Contains(CallOutcomes, o) }

// Resolution is how a case closed.
type Resolution string

const (
	ResolvedDissuaded       Resolution = "dissuaded"
	ResolvedInsisted        Resolution = "insisted"
	ResolvedConfirmedVictim Resolution = "confirmed_victim"
	ResolvedFalseAlarm      Resolution = "false_alarm"
	// ResolvedVictimAfterRelease: released because the customer insisted,
	// then proven a scam: the money was lost.
	ResolvedVictimAfterRelease Resolution = "victim_after_release"
	// ResolvedExpiredCancelled and ResolvedExpiredReleased: nobody
	// reached the customer before the (extended) hold expired, and the
	// expiry policy cancelled or released the payments.
	ResolvedExpiredCancelled Resolution = "expired_cancelled"
	ResolvedExpiredReleased  Resolution = "expired_released"
)

// DecisionStatus is where one payment of a case stands.
type DecisionStatus string

const (
	Held      DecisionStatus = "held"      // waiting for the call
	Blocked   DecisionStatus = "blocked"   // Guard blocked it: nothing waits
	Released  DecisionStatus = "released"  // sent on to the payee
	Cancelled DecisionStatus = "cancelled" // returned to the customer
)

// Decision is one Guard decision of a case: the payment it held or
// blocked.
type Decision struct {
	DecisionID string         `json:"decision_id"`
	EventID    string         `json:"event_id"`
	Seq        int64          `json:"seq"`
	Action     guard.Action   `json:"action"`
	Amount     xiaobao.Money  `json:"-"`
	Currency   string         `json:"currency,omitempty"`
	OccurredAt time.Time      `json:"occurred_at"`
	ExpiresAt  *time.Time     `json:"hold_expires_at,omitempty"` // held payments only
	Status     DecisionStatus `json:"status"`
}

// Case is one customer and one suspected scam, with all its held payments.
type Case struct {
	ID         string `json:"id"`
	CustomerID string `json:"customer_id"`
	Typology   string `json:"typology"`
	Queue      string `json:"queue"`
	State      State  `json:"state"`
	// Assignee is the username of the staff user who owns the case.
	Assignee string `json:"assignee,omitempty"`
	// CustomerAge is from the opening event; -1 when unknown.
	CustomerAge int `json:"customer_age"`
	// AmountAtRisk is the sum of the case's held and blocked payments.
	AmountAtRisk xiaobao.Money `json:"-"`
	OpenedAt     time.Time     `json:"opened_at"`
	UpdatedAt    time.Time     `json:"updated_at"`
	// SLADueAt is when the customer must have been called; past it the
	// case escalates.
	SLADueAt time.Time `json:"sla_due_at"`
	// HoldExpiresAt is the earliest expiry of a payment still held.
	HoldExpiresAt *time.Time `json:"hold_expires_at,omitempty"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	Attempts      int        `json:"attempts"`
	Escalated     bool       `json:"escalated"`
	Extended      bool       `json:"extended"`
	Reported      bool       `json:"reported"`
	Resolution    Resolution `json:"resolution,omitempty"`
	ClosedAt      *time.Time `json:"closed_at,omitempty"`
	// AmountSaved and AmountLost are what the outcome saved or lost
	// (docs/cases.md has the rules).
	AmountSaved xiaobao.Money `json:"-"`
	AmountLost  xiaobao.Money `json:"-"`
	// LabelsPending says Guard has not yet been told the outcome of every
	// decision of a closed case; Service retries until it has.
	LabelsPending bool `json:"-"`
	// Version increases with every change, for optimistic concurrency.
	Version   int64      `json:"version"`
	Decisions []Decision `json:"decisions"`
	Events    []Event    `json:"events,omitempty"` // not filled in lists
}

// Open reports whether the case still waits for an outcome.
func (c *Case) Open() bool { return c.State != StateClosed }

// NextDeadline is the next instant at which time alone changes the case,
// nil if none: the sweep and the timers look for cases whose deadline has
// passed. A closed case whose labels are not all recorded is due at once.
func (c *Case) NextDeadline() *time.Time {
	if !c.Open() {
		if c.LabelsPending && c.ClosedAt != nil {
			t := *c.ClosedAt
			return &t
		}
		return nil
	}
	var d *time.Time
	earliest := func(t *time.Time) {
		if t != nil && (d == nil || t.Before(*d)) {
			v := *t
			d = &v
		}
	}
	if !c.Escalated {
		earliest(&c.SLADueAt)
	}
	earliest(c.HoldExpiresAt)
	if c.State == StateWaiting {
		earliest(c.NextAttemptAt)
	}
	return d
}

// Overdue reports whether an open case missed its SLA at now.
func (c *Case) Overdue(now time.Time) bool { return c.Open() && !now.Before(c.SLADueAt) }

// HasKey reports whether a request with idempotency key k already changed
// the case.
func (c *Case) HasKey(k string) bool {
	return k != "" && slices.ContainsFunc(c.Events, func(e Event) bool { return e.Key == k })
}

// EventByKey returns the event a request with idempotency key k made,
// nil if none.
func (c *Case) EventByKey(k string) *Event {
	if k == "" {
		return nil
	}
	for i := range c.Events {
		if c.Events[i].Key == k {
			return &c.Events[i]
		}
	}
	return nil
}

// EventKind is what happened to a case.
type EventKind string

const (
	EventOpened     EventKind = "opened"
	EventJoined     EventKind = "joined" // another held payment joined
	EventAssigned   EventKind = "assigned"
	EventUnassigned EventKind = "unassigned"
	EventNote       EventKind = "note"
	EventCall       EventKind = "call"
	EventRetryDue   EventKind = "retry_due"
	EventEscalated  EventKind = "escalated"
	EventExtended   EventKind = "extended"
	EventClosed     EventKind = "closed"
	EventRelabelled EventKind = "relabelled"
	EventLabelled   EventKind = "labelled" // Guard was told the outcomes
	// EventWarned: another module (customer service) saw the customer
	// being scammed right now.
	EventWarned EventKind = "warned"
)

// Event is one step of a case's timeline.
type Event struct {
	At         time.Time   `json:"at"`
	Actor      string      `json:"actor"`
	Kind       EventKind   `json:"kind"`
	From       State       `json:"from,omitempty"`
	To         State       `json:"to,omitempty"`
	Assignee   string      `json:"assignee,omitempty"`
	Outcome    CallOutcome `json:"outcome,omitempty"`
	DecisionID string      `json:"decision_id,omitempty"`
	Note       string      `json:"note,omitempty"`
	// Key is the idempotency key of the request that made the step.
	Key string `json:"request_id,omitempty"`
}

// Message is a callback to the firm's payment system or a notice to the
// customer, written to the outbox in the same transaction as the case
// change that causes it. ID is derived from the case, the step and the
// payment, so the same step never sends twice.
type Message struct {
	ID        string          `json:"id"`
	Sink      string          `json:"sink"`  // "payments", "sms"
	Topic     string          `json:"topic"` // "hold.released", "hold.cancelled", "hold.extended", "customer.notify"
	Payload   json.RawMessage `json:"payload"`
	CreatedAt time.Time       `json:"created_at"`
}

// Sinks and topics of the messages cases send.
const (
	SinkPayments   = "payments"
	SinkSMS        = "sms"
	TopicReleased  = "hold.released"
	TopicCancelled = "hold.cancelled"
	TopicExtended  = "hold.extended"
	TopicNotify    = "customer.notify"
)

// SystemActor names xiaobao itself in timelines (timers, the sweep).
const SystemActor = "xiaobao"
