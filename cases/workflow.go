package cases

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Limits of what staff type.
const (
	MaxNote    = 2000
	MaxKey     = 128
	minConsent = 4 // runes: a consent record must say something
)

// Step is what a workflow step did: the events to append, the payments
// that joined, and the messages to send with it.
type Step struct {
	Events   []Event
	Added    []Decision
	Messages []Message
}

func (st *Step) event(c *Case, e Event) {
	st.Events = append(st.Events, e)
	c.Events = append(c.Events, e)
}

// Actor is who takes a step.
type Actor struct {
	// ID names the actor in timelines: "user:…" for staff, "key:…" for an
	// API key, SystemActor for xiaobao itself.
	ID string
	// Username is the staff user's username; "" for an API key, which can
	// act on cases but not own them.
	Username string
	// Supervisor may act on any case and assign cases to others.
	Supervisor bool
}

// micro truncates t to what the stores keep.
func micro(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// DecisionOf returns the case decision of a Guard record: the payment, its
// amount, and, for a hold, when the hold expires (counted from when Guard
// answered, which is when the payment system began holding it).
func DecisionOf(rec *guard.Record) (Decision, error) {
	ev := rec.Event
	if ev == nil {
		return Decision{}, fmt.Errorf("decision %s has no event", rec.Decision.ID)
	}
	if ev.Type == "" && len(ev.Raw) > 0 {
		full, err := guard.DecodeEvent(bytes.Clone(ev.Raw))
		if err != nil {
			return Decision{}, fmt.Errorf("decode event of decision %s: %w", rec.Decision.ID, err)
		}
		ev = full
	}
	d := rec.Decision
	out := Decision{
		DecisionID: d.ID, EventID: d.EventID, Seq: cmpOr(d.Seq, rec.Seq), Action: d.Action,
		Amount: ev.Amount, Currency: ev.Currency, OccurredAt: micro(d.OccurredAt), Status: Blocked,
	}
	if d.Action == guard.Hold {
		out.Status = Held
		exp := micro(d.DecidedAt.Add(time.Duration(d.HoldMinutes) * time.Minute))
		out.ExpiresAt = &exp
	}
	return out, nil
}

func cmpOr(a, b int64) int64 {
	if a != 0 {
		return a
	}
	return b
}

// customerAge returns the age of the customer of rec, -1 if unknown.
func customerAge(rec *guard.Record) int {
	if rec.Event != nil && rec.Event.Type != "" {
		return rec.Event.Customer.Age
	}
	if rec.Event != nil && len(rec.Event.Raw) > 0 {
		if ev, err := guard.DecodeEvent(bytes.Clone(rec.Event.Raw)); err == nil {
			return ev.Customer.Age
		}
	}
	return -1
}

// CaseID returns the id of the case a decision opens: derived from the
// decision id, so opening it twice cannot make two cases.
func CaseID(decisionID string) string {
	return "case_" + strings.TrimPrefix(decisionID, "dec_")
}

// NewCase opens a case on a held or blocked payment.
func NewCase(rec *guard.Record, p Policy, now time.Time) (*Case, error) {
	d, err := DecisionOf(rec)
	if err != nil {
		return nil, err
	}
	now = micro(now)
	c := &Case{
		ID: CaseID(d.DecisionID), CustomerID: rec.Decision.CustomerID, Typology: rec.Decision.Typology,
		State: StateOpen, CustomerAge: customerAge(rec), AmountAtRisk: d.Amount,
		OpenedAt: now, UpdatedAt: now, HoldExpiresAt: d.ExpiresAt, Version: 1,
		Decisions: []Decision{d},
	}
	c.SLADueAt = p.SLADue(now, d.ExpiresAt)
	c.Queue = p.QueueOf(c)
	c.Events = []Event{{At: now, Actor: SystemActor, Kind: EventOpened, To: StateOpen, DecisionID: d.DecisionID}}
	return c, nil
}

// Warning is a sign, seen outside Guard, that a customer is being scammed
// right now: in a service chat they mention a "safe account", a screen-
// sharing app, a caller who says they are the police. No payment is held
// yet, so the case is a call to make before the customer's next transfer.
type Warning struct {
	CustomerID string
	// Typology is the suspected scam (Guard's typology names), "" if
	// unknown.
	Typology string
	// Source names where it was seen ("service") and Ref the conversation
	// (a session id): together with the typology they make the warning's
	// identity, so a redelivered warning changes nothing.
	Source, Ref string
	// Detail says what was seen, already redacted.
	Detail string
	At     time.Time
}

// key is the warning's idempotency key.
func (w Warning) key() string { return "warn:" + w.Source + ":" + w.Ref + ":" + w.Typology }

func (w Warning) validate() error {
	var fe []xiaobao.FieldError
	if w.CustomerID == "" {
		fe = append(fe, xiaobao.FieldError{Field: "customer_id", Reason: "is required to open a case"})
	}
	if w.Source == "" || w.Ref == "" {
		fe = append(fe, xiaobao.FieldError{Field: "source", Reason: "source and ref are required"})
	}
	if len(fe) > 0 {
		return xiaobao.Invalid("the warning cannot open a case", fe...)
	}
	return nil
}

// WarningCaseID is the id of the case a warning opens.
func WarningCaseID(w Warning) string {
	h := sha256.Sum256([]byte(w.key()))
	return "case_w" + hex.EncodeToString(h[:10])
}

// NewWarningCase opens a case on a warning: no payment at risk yet, the
// customer to be called within the policy's call time.
func NewWarningCase(w Warning, p Policy, now time.Time) (*Case, error) {
	if err := w.validate(); err != nil {
		return nil, err
	}
	now = micro(now)
	c := &Case{
		ID: WarningCaseID(w), CustomerID: w.CustomerID, Typology: w.Typology,
		State: StateOpen, CustomerAge: -1, OpenedAt: now, UpdatedAt: now, Version: 1,
		Decisions: []Decision{},
	}
	c.SLADueAt = p.SLADue(now, nil)
	c.Queue = p.QueueOf(c)
	c.Events = []Event{
		{At: now, Actor: SystemActor, Kind: EventOpened, To: StateOpen},
		{At: now, Actor: w.Source, Kind: EventWarned, Note: w.Detail, Key: w.key()},
	}
	return c, nil
}

// JoinWarning adds a warning to an open case; a warning already in it
// changes nothing (changed false). A fresh warning brings the call forward
// to the policy's call time if it was later.
func JoinWarning(c *Case, w Warning, p Policy, now time.Time) (st Step, changed bool, err error) {
	if err := w.validate(); err != nil {
		return st, false, err
	}
	if !c.Open() {
		return st, false, xiaobao.Errorf(xiaobao.ECONFLICT, "case %s is closed", c.ID)
	}
	for _, e := range c.Events {
		if e.Kind == EventWarned && e.Key == w.key() {
			return st, false, nil
		}
	}
	now = micro(now)
	if due := p.SLADue(now, nil); due.Before(c.SLADueAt) {
		c.SLADueAt = due
	}
	st.event(c, Event{At: now, Actor: w.Source, Kind: EventWarned, Note: w.Detail, Key: w.key()})
	return st, true, nil
}

// Join adds another held or blocked payment of the same customer and
// suspected scam to an open case.
func Join(c *Case, rec *guard.Record, p Policy, now time.Time) (Step, error) {
	var st Step
	if !c.Open() {
		return st, xiaobao.Errorf(xiaobao.ECONFLICT, "case %s is closed", c.ID)
	}
	d, err := DecisionOf(rec)
	if err != nil {
		return st, err
	}
	now = micro(now)
	c.Decisions = append(c.Decisions, d)
	st.Added = append(st.Added, d)
	c.AmountAtRisk += d.Amount
	c.HoldExpiresAt = earliestHold(c.Decisions)
	if due := p.SLADue(now, d.ExpiresAt); due.Before(c.SLADueAt) {
		c.SLADueAt = due
	}
	c.Queue = p.QueueOf(c)
	st.event(c, Event{At: now, Actor: SystemActor, Kind: EventJoined, DecisionID: d.DecisionID})
	return st, nil
}

func earliestHold(ds []Decision) *time.Time {
	var t *time.Time
	for _, d := range ds {
		if d.Status == Held && d.ExpiresAt != nil && (t == nil || d.ExpiresAt.Before(*t)) {
			v := *d.ExpiresAt
			t = &v
		}
	}
	return t
}

func checkKey(key string) []xiaobao.FieldError {
	if len(key) > MaxKey {
		return []xiaobao.FieldError{{Field: "request_id", Reason: fmt.Sprintf("must be at most %d bytes", MaxKey)}}
	}
	return nil
}

func checkText(field, s string, required bool) []xiaobao.FieldError {
	switch {
	case required && strings.TrimSpace(s) == "":
		return []xiaobao.FieldError{{Field: field, Reason: "is required"}}
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return []xiaobao.FieldError{{Field: field, Reason: "must be valid UTF-8 without NUL characters"}}
	case utf8.RuneCountInString(s) > MaxNote:
		return []xiaobao.FieldError{{Field: field, Reason: fmt.Sprintf("must be at most %d characters", MaxNote)}}
	}
	return nil
}

// Assign gives the case to assignee (a username), or takes it from its
// assignee when assignee is "". A caller may take an unassigned case or
// hand back their own; assigning to someone else, taking a case from
// someone, and anything on an escalated case need a supervisor.
// Assigning a case to whom it already belongs changes nothing.
func Assign(c *Case, assignee string, by Actor, key string, now time.Time) (Step, error) {
	var st Step
	if fe := checkKey(key); fe != nil {
		return st, xiaobao.Invalid("the assignment is invalid", fe...)
	}
	if !c.Open() {
		return st, xiaobao.Errorf(xiaobao.ECONFLICT, "case %s is closed", c.ID)
	}
	if !by.Supervisor && assignee != "" && assignee != by.Username {
		return st, xiaobao.Errorf(xiaobao.EFORBIDDEN, "assigning a case to someone else needs the cases:supervise scope")
	}
	if c.Assignee == assignee {
		return st, nil
	}
	if !by.Supervisor {
		switch {
		case c.State == StateEscalated:
			return st, xiaobao.Errorf(xiaobao.EFORBIDDEN, "case %s is escalated: a supervisor assigns it", c.ID)
		case c.Assignee != "" && c.Assignee != by.Username:
			return st, xiaobao.Errorf(xiaobao.ECONFLICT, "case %s is assigned to %s", c.ID, c.Assignee)
		}
	}
	now = micro(now)
	from := c.State
	if assignee == "" {
		st.event(c, Event{At: now, Actor: by.ID, Kind: EventUnassigned, From: from, To: unassignedState(c), Assignee: c.Assignee, Key: key})
		c.Assignee, c.State = "", unassignedState(c)
		return st, nil
	}
	to := from
	if from != StateWaiting {
		to = StateAssigned
	}
	c.Assignee, c.State = assignee, to
	st.event(c, Event{At: now, Actor: by.ID, Kind: EventAssigned, From: from, To: to, Assignee: assignee, Key: key})
	return st, nil
}

func unassignedState(c *Case) State {
	if c.Escalated {
		return StateEscalated
	}
	return StateOpen
}

// AddNote adds a note to the timeline (also on a closed case: what was
// learnt later belongs with it).
func AddNote(c *Case, note string, by Actor, key string, now time.Time) (Step, error) {
	var st Step
	fe := append(checkText("note", note, true), checkKey(key)...)
	if len(fe) > 0 {
		return st, xiaobao.Invalid("the note is invalid", fe...)
	}
	st.event(c, Event{At: micro(now), Actor: by.ID, Kind: EventNote, Note: strings.TrimSpace(note), Key: key})
	return st, nil
}

// Call is a dissuasion call being recorded.
type Call struct {
	Outcome CallOutcome
	Note    string
	// Consent is how the customer's informed consent to release was
	// recorded (a recording id, what they said); required to release on
	// Insisted.
	Consent string
	Key     string
}

// RecordCall records a call and what follows from its outcome. A caller
// records calls on cases assigned to them; on an unassigned case the call
// assigns it to them first. On a case closed because the customer
// insisted, ConfirmedVictim records the loss (the payment is gone).
func RecordCall(c *Case, call Call, by Actor, p Policy, now time.Time) (Step, error) {
	var st Step
	var fe []xiaobao.FieldError
	if !call.Outcome.Valid() {
		fe = append(fe, xiaobao.FieldError{Field: "outcome", Reason: "must be one of dissuaded, insisted, unreachable, confirmed_victim, false_alarm"})
	}
	fe = append(fe, checkText("note", call.Note, false)...)
	fe = append(fe, checkText("consent", call.Consent, false)...)
	if call.Outcome == Insisted && utf8.RuneCountInString(strings.TrimSpace(call.Consent)) < minConsent {
		fe = append(fe, xiaobao.FieldError{Field: "consent", Reason: "is required to release a payment: how the customer's informed consent was recorded (at least 4 characters)"})
	}
	fe = append(fe, checkKey(call.Key)...)
	if len(fe) > 0 {
		return st, xiaobao.Invalid("the call is invalid", fe...)
	}
	now = micro(now)
	if !c.Open() {
		if c.Resolution == ResolvedInsisted && call.Outcome == ConfirmedVictim {
			return relabel(c, call, by, now)
		}
		return st, xiaobao.Errorf(xiaobao.ECONFLICT, "case %s is closed (%s)", c.ID, c.Resolution)
	}
	if !by.Supervisor {
		switch {
		case c.State == StateEscalated:
			return st, xiaobao.Errorf(xiaobao.EFORBIDDEN, "case %s is escalated: a supervisor assigns it", c.ID)
		case c.Assignee != "" && c.Assignee != by.Username:
			return st, xiaobao.Errorf(xiaobao.ECONFLICT, "case %s is assigned to %s", c.ID, c.Assignee)
		}
	}
	if c.Assignee == "" && by.Username != "" {
		as, err := Assign(c, by.Username, Actor{ID: by.ID, Username: by.Username, Supervisor: true}, "", now)
		if err != nil {
			return st, err
		}
		st.Events = append(st.Events, as.Events...)
	}
	from := c.State
	note := strings.TrimSpace(call.Note)
	if call.Consent != "" {
		note = strings.TrimSpace(note + "\n" + "consent: " + strings.TrimSpace(call.Consent))
	}
	if call.Outcome == Unreachable {
		c.Attempts++
		if c.Attempts >= p.MaxAttempts {
			st.event(c, Event{At: now, Actor: by.ID, Kind: EventCall, Outcome: call.Outcome, From: from, To: from, Note: note, Key: call.Key})
			escalate(c, &st, now, fmt.Sprintf("unreachable after %d attempts", c.Attempts))
			return st, nil
		}
		next := now.Add(p.retryAfter(c.Attempts))
		c.NextAttemptAt, c.State = &next, StateWaiting
		st.event(c, Event{At: now, Actor: by.ID, Kind: EventCall, Outcome: call.Outcome, From: from, To: StateWaiting, Note: note, Key: call.Key})
		return st, nil
	}
	c.Attempts++
	st.event(c, Event{At: now, Actor: by.ID, Kind: EventCall, Outcome: call.Outcome, From: from, To: StateClosed, Note: note, Key: call.Key})
	switch call.Outcome {
	case Dissuaded:
		closeCase(c, &st, ResolvedDissuaded, Cancelled, now)
		c.AmountSaved = c.AmountAtRisk
	case ConfirmedVictim:
		closeCase(c, &st, ResolvedConfirmedVictim, Cancelled, now)
		c.AmountSaved, c.Reported = c.AmountAtRisk, true
	case Insisted:
		closeCase(c, &st, ResolvedInsisted, Released, now)
	case FalseAlarm:
		closeCase(c, &st, ResolvedFalseAlarm, Released, now)
	}
	return st, nil
}

func relabel(c *Case, call Call, by Actor, now time.Time) (Step, error) {
	var st Step
	var lost xiaobao.Money
	for _, d := range c.Decisions {
		if d.Status == Released {
			lost += d.Amount
		}
	}
	c.Resolution, c.AmountLost, c.Reported, c.LabelsPending = ResolvedVictimAfterRelease, lost, true, true
	st.event(c, Event{At: now, Actor: by.ID, Kind: EventRelabelled, Outcome: call.Outcome, From: StateClosed, To: StateClosed,
		Note: strings.TrimSpace(call.Note), Key: call.Key})
	return st, nil
}

func escalate(c *Case, st *Step, now time.Time, why string) {
	if c.Escalated {
		return
	}
	from := c.State
	c.Escalated, c.State, c.Assignee, c.NextAttemptAt = true, StateEscalated, "", nil
	c.Queue = QueueSupervisor
	st.event(c, Event{At: now, Actor: SystemActor, Kind: EventEscalated, From: from, To: StateEscalated, Note: why})
}

// closeCase resolves the case: every held payment becomes to (released or
// cancelled), with a callback to the payment system for each and one
// notice to the customer.
func closeCase(c *Case, st *Step, r Resolution, to DecisionStatus, now time.Time) {
	from := c.State
	topic, template := TopicReleased, "hold_released"
	if to == Cancelled {
		topic, template = TopicCancelled, "hold_cancelled"
	}
	for i := range c.Decisions {
		d := &c.Decisions[i]
		if d.Status != Held {
			continue
		}
		d.Status = to
		st.Messages = append(st.Messages, paymentMessage(c, d, "closed", topic, string(r), now))
	}
	st.Messages = append(st.Messages, notifyMessage(c, "closed", template, now))
	c.State, c.Resolution, c.ClosedAt, c.LabelsPending = StateClosed, r, &now, r != ResolvedExpiredCancelled && r != ResolvedExpiredReleased
	c.HoldExpiresAt, c.NextAttemptAt = nil, nil
	st.event(c, Event{At: now, Actor: SystemActor, Kind: EventClosed, From: from, To: StateClosed, Note: string(r)})
}

func paymentMessage(c *Case, d *Decision, step, topic, reason string, now time.Time) Message {
	body := map[string]any{
		"case_id": c.ID, "decision_id": d.DecisionID, "event_id": d.EventID, "customer_id": c.CustomerID,
		"amount": d.Amount.String(), "currency": d.Currency, "reason": reason,
	}
	if d.ExpiresAt != nil {
		body["hold_expires_at"] = d.ExpiresAt.Format(time.RFC3339Nano)
	}
	b, _ := json.Marshal(body)
	return Message{ID: c.ID + ":" + step + ":" + d.DecisionID, Sink: SinkPayments, Topic: topic, Payload: b, CreatedAt: now}
}

// notices are what the customer is told, by template.
var notices = map[string][2]string{
	"hold_released":  {"您的付款已核实放行。如对方以任何理由要求您继续转账，请立即停止并拨打 96110。", "Your payment has been verified and released. If anyone asks you to send more money for any reason, stop and call 96110."},
	"hold_cancelled": {"为保护您的资金安全，您的付款已取消，资金已退回您的账户。如有疑问请致电客服。", "To protect your money, your payment was cancelled and the funds returned to your account. Call customer service with any questions."},
	"hold_extended":  {"我们暂时未能联系到您，您的付款将继续暂停，请留意我们的来电。", "We have not been able to reach you, so your payment stays on hold. Please watch for our call."},
}

func notifyMessage(c *Case, step, template string, now time.Time) Message {
	n := notices[template]
	b, _ := json.Marshal(map[string]any{"case_id": c.ID, "customer_id": c.CustomerID, "template": template, "zh": n[0], "en": n[1]})
	return Message{ID: c.ID + ":" + step + ":notify", Sink: SinkSMS, Topic: TopicNotify, Payload: b, CreatedAt: now}
}

// Advance applies what time alone does to an open case at now: a retry
// coming due, an SLA breach (escalation to a supervisor), a hold expiring
// (extended once, then cancelled or released as the policy says). It is
// idempotent: advancing again at the same instant does nothing.
func Advance(c *Case, p Policy, now time.Time) Step {
	var st Step
	if !c.Open() {
		return st
	}
	now = micro(now)
	if c.State == StateWaiting && c.NextAttemptAt != nil && !now.Before(*c.NextAttemptAt) {
		to := StateOpen
		if c.Assignee != "" {
			to = StateAssigned
		}
		st.event(c, Event{At: now, Actor: SystemActor, Kind: EventRetryDue, From: c.State, To: to})
		c.State, c.NextAttemptAt = to, nil
	}
	if !c.Escalated && !now.Before(c.SLADueAt) {
		escalate(c, &st, now, "not called within the SLA")
	}
	if c.HoldExpiresAt != nil && !now.Before(*c.HoldExpiresAt) {
		if !c.Extended && p.ExtendBy > 0 {
			c.Extended = true
			for i := range c.Decisions {
				d := &c.Decisions[i]
				if d.Status == Held && d.ExpiresAt != nil && !now.Before(*d.ExpiresAt) {
					t := d.ExpiresAt.Add(p.ExtendBy)
					d.ExpiresAt = &t
					st.Messages = append(st.Messages, paymentMessage(c, d, "extended", TopicExtended, "not yet reached", now))
				}
			}
			st.Messages = append(st.Messages, notifyMessage(c, "extended", "hold_extended", now))
			c.HoldExpiresAt = earliestHold(c.Decisions)
			st.event(c, Event{At: now, Actor: SystemActor, Kind: EventExtended, From: c.State, To: c.State,
				Note: fmt.Sprintf("hold extended by %s", p.ExtendBy)})
			escalate(c, &st, now, "hold expiring")
		} else if p.OnExpiry == ExpireRelease {
			closeCase(c, &st, ResolvedExpiredReleased, Released, now)
		} else {
			closeCase(c, &st, ResolvedExpiredCancelled, Cancelled, now)
		}
	}
	return st
}

// MarkLabelled records that Guard was told every outcome of the case.
func MarkLabelled(c *Case, now time.Time) Step {
	var st Step
	if !c.LabelsPending {
		return st
	}
	c.LabelsPending = false
	st.event(c, Event{At: micro(now), Actor: SystemActor, Kind: EventLabelled, From: c.State, To: c.State})
	return st
}

// Labels returns the outcomes that teach Guard what the case found, one
// per decision: dissuaded and confirmed victims saved the money at risk,
// a victim who insisted lost what was released; an expired case taught
// nothing, since nobody learnt what it was.
func Labels(c *Case) []*guard.Outcome {
	var out []*guard.Outcome
	for _, d := range c.Decisions {
		o := &guard.Outcome{DecisionID: d.DecisionID, Typology: c.Typology, Source: "cases", Note: "case " + c.ID}
		switch c.Resolution {
		case ResolvedDissuaded:
			o.Kind, o.AmountSaved = guard.OutcomeDissuaded, d.Amount
		case ResolvedConfirmedVictim:
			o.Kind, o.AmountSaved = guard.OutcomeConfirmedFraud, d.Amount
		case ResolvedVictimAfterRelease:
			o.Kind = guard.OutcomeConfirmedFraud
			if d.Status == Released {
				o.AmountLost = d.Amount
			}
		case ResolvedInsisted:
			o.Kind = guard.OutcomeProceeded
		case ResolvedFalseAlarm:
			o.Kind = guard.OutcomeFalseAlarm
		default:
			continue
		}
		out = append(out, o)
	}
	return out
}
