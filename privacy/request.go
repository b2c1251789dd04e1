package privacy

import (
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Kind is what a data-subject request asks for (PIPL arts. 45–47).
type Kind string

const (
	KindAccess     Kind = "access"     // a copy of the data (查阅、复制)
	KindExport     Kind = "export"     // the data, portable and machine-readable (转移)
	KindCorrection Kind = "correction" // correct or complete it (更正、补充)
	KindDeletion   Kind = "deletion"   // delete it (删除)
)

// Kinds lists every kind.
var Kinds = []Kind{KindAccess, KindExport, KindCorrection, KindDeletion}

// Valid reports whether k is a known kind.
func (k Kind) Valid() bool { return slices.Contains(Kinds, k) }

// Status is where a request stands.
type Status string

const (
	StatusReceived   Status = "received"
	StatusVerified   Status = "verified" // staff checked the requester's identity
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	StatusRejected   Status = "rejected"
)

// Statuses lists every status.
var Statuses = []Status{StatusReceived, StatusVerified, StatusInProgress, StatusCompleted, StatusRejected}

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return slices.Contains(Statuses, s) }

// Open reports whether a request in state s still waits for an answer.
func (s Status) Open() bool { return s != StatusCompleted && s != StatusRejected }

// Action moves a request from one state to another.
type Action string

const (
	ActionReceive  Action = "receive" // the request was made (its first event)
	ActionVerify   Action = "verify"
	ActionStart    Action = "start"
	ActionComplete Action = "complete"
	ActionReject   Action = "reject"
)

// Actions lists the actions staff take (all but receive).
var Actions = []Action{ActionVerify, ActionStart, ActionComplete, ActionReject}

// transitions says which state each action leads from and to. Rejection
// is possible until the work is done: identity not proven, a request that
// is manifestly unfounded, data that is not ours.
var transitions = map[Action]struct {
	from []Status
	to   Status
}{
	ActionVerify:   {[]Status{StatusReceived}, StatusVerified},
	ActionStart:    {[]Status{StatusVerified}, StatusInProgress},
	ActionComplete: {[]Status{StatusInProgress}, StatusCompleted},
	ActionReject:   {[]Status{StatusReceived, StatusVerified, StatusInProgress}, StatusRejected},
}

// Request is a data-subject request.
type Request struct {
	ID         string  `json:"id"`
	CustomerID string  `json:"customer_id"`
	Kind       Kind    `json:"kind"`
	Status     Status  `json:"status"`
	Channel    Channel `json:"channel"`
	// Details is what the customer asked, in their words, PII masked
	// (which data to correct, which period to export).
	Details string `json:"details,omitempty"`
	// RelationshipEndedAt is when the customer's business relationship
	// ended, nil while it goes on; the retention of a deletion runs from
	// it.
	RelationshipEndedAt *time.Time `json:"relationship_ended_at,omitempty"`
	ReceivedAt          time.Time  `json:"received_at"`
	DueAt               time.Time  `json:"due_at"` // answer before this instant
	VerifiedAt          *time.Time `json:"verified_at,omitempty"`
	VerifiedBy          string     `json:"verified_by,omitempty"`
	ClosedAt            *time.Time `json:"closed_at,omitempty"` // completed or rejected
	// Resolution is the completion note or the reason for rejection.
	Resolution     string    `json:"resolution,omitempty"`
	IdempotencyKey string    `json:"request_id"`
	CreatedBy      string    `json:"created_by"`
	UpdatedAt      time.Time `json:"updated_at"`
	Events         []Event   `json:"events,omitempty"` // not filled in lists
}

// Event is one step of a request, kept for the audit of how it was
// handled.
type Event struct {
	At     time.Time `json:"at"`
	Actor  string    `json:"actor"`
	Action Action    `json:"action"`
	From   Status    `json:"from,omitempty"`
	To     Status    `json:"to"`
	Note   string    `json:"note,omitempty"`
}

// NewRequestID returns a new random request id.
func NewRequestID() string { return newID("dsr_") }

// NewRequest validates a new request received at now (or at r.ReceivedAt,
// when given and not in the future) and fills in its id, state, deadline
// and first event.
func NewRequest(r *Request, p *Policy, actor string, now time.Time) error {
	var fe []xiaobao.FieldError
	bad := func(f, why string) { fe = append(fe, xiaobao.FieldError{Field: f, Reason: why}) }
	if why := checkID(r.CustomerID, true, MaxIDLen); why != "" {
		bad("customer_id", why)
	}
	if !r.Kind.Valid() {
		bad("kind", "must be one of access, export, correction, deletion")
	}
	if !r.Channel.Valid() {
		bad("channel", "must be one of "+channelList())
	}
	if why := checkText(r.Details, MaxDetails); why != "" {
		bad("details", why)
	}
	if why := checkID(r.IdempotencyKey, false, MaxIDLen); why != "" {
		bad("request_id", why)
	}
	if r.ReceivedAt.IsZero() {
		r.ReceivedAt = now
	} else if r.ReceivedAt.After(now.Add(5 * time.Minute)) {
		bad("received_at", "must not be in the future")
	}
	if e := r.RelationshipEndedAt; e != nil && e.After(now.Add(5*time.Minute)) {
		bad("relationship_ended_at", "must not be in the future; leave it out while the relationship goes on")
	}
	if err := invalid("the request is invalid", fe); err != nil {
		return err
	}
	if r.ID == "" {
		r.ID = NewRequestID()
	}
	r.Status = StatusReceived
	r.ReceivedAt = microsecond(r.ReceivedAt)
	if r.RelationshipEndedAt != nil {
		e := microsecond(*r.RelationshipEndedAt)
		r.RelationshipEndedAt = &e
	}
	cal, days := p.Calendar, p.ResponseDays
	if cal == nil {
		cal = DefaultPolicy().Calendar
	}
	if days <= 0 {
		days = DefaultResponseDays
	}
	r.DueAt = cal.Deadline(r.ReceivedAt, days)
	r.CreatedBy, r.UpdatedAt = actor, microsecond(now)
	r.Events = []Event{{At: r.UpdatedAt, Actor: actor, Action: ActionReceive, To: StatusReceived}}
	return nil
}

// SameRequest reports whether a and b are the same request, for an
// idempotent retry (which is stamped anew, and may be given anew its id).
func SameRequest(a, b *Request) bool {
	sameEnd := a.RelationshipEndedAt == nil && b.RelationshipEndedAt == nil ||
		a.RelationshipEndedAt != nil && b.RelationshipEndedAt != nil && a.RelationshipEndedAt.Equal(*b.RelationshipEndedAt)
	return a.CustomerID == b.CustomerID && a.Kind == b.Kind && a.Channel == b.Channel && a.Details == b.Details && sameEnd
}

// Transition applies action to r at now and returns the event to store.
// A step not possible from r's state is ECONFLICT; a rejection without a
// reason is EINVALID.
func (r *Request) Transition(action Action, actor, note string, now time.Time) (Event, error) {
	tr, ok := transitions[action]
	if !ok {
		return Event{}, xiaobao.Invalid("the transition is invalid",
			xiaobao.FieldError{Field: "action", Reason: "must be one of verify, start, complete, reject"})
	}
	note = strings.TrimSpace(note)
	var fe []xiaobao.FieldError
	if action == ActionReject && len([]rune(note)) < 4 {
		fe = append(fe, xiaobao.FieldError{Field: "reason", Reason: "a rejection must say why, in at least 4 characters"})
	} else if why := checkText(note, MaxNote); why != "" {
		fe = append(fe, xiaobao.FieldError{Field: "reason", Reason: why})
	}
	if err := invalid("the transition is invalid", fe); err != nil {
		return Event{}, err
	}
	if !slices.Contains(tr.from, r.Status) {
		return Event{}, xiaobao.Errorf(xiaobao.ECONFLICT, "a request that is %s cannot be given %q", r.Status, action)
	}
	now = microsecond(now)
	ev := Event{At: now, Actor: actor, Action: action, From: r.Status, To: tr.to, Note: note}
	r.Status, r.UpdatedAt = tr.to, now
	switch action {
	case ActionVerify:
		r.VerifiedAt, r.VerifiedBy = &now, actor
	case ActionComplete, ActionReject:
		r.ClosedAt, r.Resolution = &now, note
	}
	r.Events = append(r.Events, ev)
	return ev, nil
}

// Overdue reports whether r missed its deadline as of now: it is open at
// or after DueAt, or was closed at or after it.
func (r *Request) Overdue(now time.Time) bool {
	if r.ClosedAt != nil {
		return !r.ClosedAt.Before(r.DueAt)
	}
	return !now.Before(r.DueAt)
}

// Exportable reports whether r authorises handing the customer's data out:
// an access or export request whose requester's identity was verified and
// that is not closed.
func (r *Request) Exportable() bool {
	return (r.Kind == KindAccess || r.Kind == KindExport) &&
		(r.Status == StatusVerified || r.Status == StatusInProgress)
}
