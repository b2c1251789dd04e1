package privacy

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Carrying out a deletion request (PIPL art. 47).
//
// A deletion request is carried out when staff complete it (in_progress →
// completed): the completion is stored only once the erasure succeeded,
// so a completed deletion request is one whose data was dealt with. The
// erasure follows the retention plan (Policy.PlanDeletion) as of the day
// it runs:
//
//   - Behaviour: the customer's feature state is dropped from memory and
//     from the snapshot (guard.Service.Forget).
//   - RiskEvents (logins, device, phone and profile changes, payees added,
//     loan applications, cards bound): the records are anonymised in
//     place. The raw event and the decision keep the type, the times, the
//     amount, the action, the typology, the score and the rules that fired,
//     so reports still count them; the customer id becomes a random token
//     (AnonymousToken) kept nowhere else; names, phones, ID numbers,
//     devices, IPs, counterparties, memos and the event and decision ids
//     the business systems know go; so do their lookup keys.
//   - Transactions and Identity (events that move money, which carry the
//     customer's identity data): while the anti-money-laundering
//     retention runs they are restricted: moved out of the decision store
//     into a restricted store, so that no search, timeline, replay or
//     model sees them, and recorded, under a blind index of the customer
//     id, with the time they become deletable. Only privacy:admin staff
//     can read them, with a reason, audited (the regulator path).
//   - The sweep (SweepErasures) deletes restricted data once its
//     retention ended: the records with their outcomes, the consent
//     history and the subject requests.
//   - The customer's outcomes keep their label, amounts and typology (the
//     counts) and lose their note and account.
//   - Conversations (customer-service sessions): anonymised by default.
//     The session rows keep what the service statistics count (times,
//     status, queue, route reason, warning kinds, scam type, topics,
//     resolution, satisfaction score); the customer id becomes the token
//     (one per run, so first-contact resolution still sees the customer's
//     sessions together), the session id a new random id (the channel
//     holds the old one next to the customer), the rating's comment goes,
//     and so do the turns: the customer's words, the replies and the
//     channel's message ids. A firm may delete them instead; they cannot
//     be restricted (ParsePolicy refuses a retention for them). A session
//     still open is closed by the erasure.
//
// Erasing again changes nothing: what was anonymised no longer carries the
// customer id and what was restricted is no longer among the decisions.

// EventCategory returns the category of a Guard event's record:
// Transactions for the events that move money, RiskEvents for the rest of
// the journey.
func EventCategory(t guard.EventType) Category {
	switch t {
	case guard.Transfer, guard.Withdrawal, guard.Payment, guard.LoanPayout, guard.Repayment:
		return Transactions
	}
	return RiskEvents
}

// RecordCategories are the categories whose data is Guard's records.
var RecordCategories = []Category{Transactions, RiskEvents}

// Erasure is one run of a deletion request's erasure, for a store to
// carry out.
type Erasure struct {
	RequestID  string
	CustomerID string
	At         time.Time
	By         string
	// UpToSeq bounds the records erased: those decided before the
	// customer's feature state was forgotten (guard.Service.Forget). A
	// later event is a new processing, like a new customer's.
	UpToSeq int64
	// Token replaces the customer id in anonymised records: random, made
	// for this run and stored nowhere with the customer.
	Token string
	// Records says what becomes of the records of each category in
	// RecordCategories: Anonymise, Restrict or Delete.
	Records map[Category]Disposal
	// Conversations says what becomes of the customer's service sessions
	// and their turns: Anonymise or Delete.
	Conversations Disposal
	// Restrictions are the plan's restricted items, recorded with the time
	// their retention ends.
	Restrictions []Item
}

// NewErasure returns the erasure of a deletion request that staff carry
// out at now, following the plan p makes as of now.
func NewErasure(req *Request, p *Policy, upToSeq int64, actor string, now time.Time) (*Erasure, Plan, error) {
	if req.Kind != KindDeletion {
		return nil, Plan{}, xiaobao.Errorf(xiaobao.ECONFLICT, "subject request %s is a %s request: only a deletion request is erased", req.ID, req.Kind)
	}
	if req.Status != StatusInProgress && req.Status != StatusCompleted {
		return nil, Plan{}, xiaobao.Errorf(xiaobao.ECONFLICT, "subject request %s is %s: a deletion is carried out once in progress", req.ID, req.Status)
	}
	plan := p.PlanDeletion(req.CustomerID, req.RelationshipEndedAt, now)
	e := &Erasure{RequestID: req.ID, CustomerID: req.CustomerID, At: microsecond(now), By: actor, UpToSeq: upToSeq,
		Token: AnonymousToken(), Records: map[Category]Disposal{}, Conversations: Anonymise}
	for _, it := range plan.Items {
		if slices.Contains(RecordCategories, it.Category) {
			e.Records[it.Category] = it.Disposal
		}
		if it.Category == Conversations {
			if it.Disposal != Anonymise && it.Disposal != Delete {
				// ParsePolicy refuses it; a Policy built in code may not.
				return nil, plan, xiaobao.Errorf(xiaobao.EINVALID, "retention rule of %s: conversations are anonymised or deleted, never kept under restriction", it.Category)
			}
			e.Conversations = it.Disposal
			continue
		}
		if it.Disposal == Restrict {
			if it.Then != Delete {
				return nil, plan, xiaobao.Errorf(xiaobao.EINVALID, "retention rule of %s: only delete is supported once the retention ends", it.Category)
			}
			e.Restrictions = append(e.Restrictions, it)
		}
	}
	// Identity data travels inside the money events' records: those stay
	// as long as either category must be kept.
	if _, ok := e.Records[Transactions]; !ok {
		e.Records[Transactions] = Delete
	}
	if _, ok := e.Records[RiskEvents]; !ok {
		e.Records[RiskEvents] = Anonymise
	}
	if e.Records[Transactions] != Restrict && slices.ContainsFunc(e.Restrictions, func(it Item) bool { return it.Category == Identity }) {
		e.Records[Transactions] = Restrict
	}
	return e, plan, nil
}

// AnonymousToken returns a new random token to replace a customer id.
func AnonymousToken() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return guard.AnonymousPrefix + hex.EncodeToString(b[:])
}

// anonymousID returns a new random event or decision id.
func anonymousID(kind string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return guard.AnonymousPrefix + kind + hex.EncodeToString(b[:])
}

// AnonymousSessionID returns a new random id for an anonymised service
// session: the channel holds the old one next to the customer.
func AnonymousSessionID() string { return anonymousID("s") }

// AnonymisedRecord is a record without the person.
type AnonymisedRecord struct {
	EventID, DecisionID string
	Raw                 []byte // the event, plaintext JSON
	Decision            []byte // the decision, JSON
}

// AnonymiseRecord rewrites a record's raw event and decision JSON without
// the person: new event and decision ids (the business systems hold the
// old ones next to the customer), token for the customer id; the type,
// times, amount, action, typology, score, rules fired and message stay.
func AnonymiseRecord(raw, decision []byte, token string) (*AnonymisedRecord, error) {
	var ev map[string]json.RawMessage
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("anonymise event: %w", err)
	}
	var d guard.Decision
	if err := json.Unmarshal(decision, &d); err != nil {
		return nil, fmt.Errorf("anonymise decision: %w", err)
	}
	out := &AnonymisedRecord{EventID: anonymousID("e"), DecisionID: anonymousID("d")}
	tok, _ := json.Marshal(token)
	eid, _ := json.Marshal(out.EventID)
	anon := map[string]json.RawMessage{
		"event_id": eid,
		"customer": json.RawMessage(`{"id":` + string(tok) + `}`),
	}
	for _, k := range []string{"type", "occurred_at", "amount", "currency"} {
		if v, ok := ev[k]; ok {
			anon[k] = v
		}
	}
	if guard.EventType(d.EventType).NeedsCounterparty() {
		// The contract requires an account on these events: the token
		// stands in for it, so the record still reads back as an event.
		anon["counterparty"] = json.RawMessage(`{"account":` + string(tok) + `}`)
	}
	var err error
	if out.Raw, err = json.Marshal(anon); err != nil {
		return nil, fmt.Errorf("anonymise event: %w", err)
	}
	d.ID, d.EventID, d.CustomerID = out.DecisionID, out.EventID, token
	strip := func(rs []guard.Reason) {
		for i := range rs {
			// The values and the detail hold the features of the event:
			// masked accounts, payee names, memo text.
			rs[i].Values, rs[i].Detail = nil, ""
		}
	}
	strip(d.Reasons)
	strip(d.Shadow)
	if x := d.Explanation; x != nil {
		x.Escalation, x.Cap = "", ""
		x.Steps = nil
		for i := range x.Contributions {
			x.Contributions[i].Value = 0
		}
	}
	out.Decision = guard.AppendDecisionJSON(nil, &d)
	return out, nil
}

// CustomerKey returns the blind index under which erasures record a
// customer: index (the store's keyed blind index, guard.Sealer.TextIndex)
// of the id, or, on a store without keys, its SHA-256.
func CustomerKey(index func(string) string, customerID string) string {
	if index != nil {
		return "bi:" + index("erasure customer\x00"+customerID)
	}
	h := sha256.Sum256([]byte("xiaobao erasure customer\x00" + customerID))
	return "h:" + hex.EncodeToString(h[:])
}

// ErasureCounts counts what an erasure did.
type ErasureCounts struct {
	Anonymised int `json:"anonymised"` // records
	Restricted int `json:"restricted"` // records
	Deleted    int `json:"deleted"`    // records
	// Outcomes is the outcomes that lost their note and account.
	Outcomes int `json:"outcomes"`
	// Conversations is the service sessions anonymised or deleted (as
	// Erasure.Conversations says), Turns the turns of them deleted.
	Conversations int `json:"conversations"`
	Turns         int `json:"turns"`
}

// Zero reports whether nothing was done.
func (c ErasureCounts) Zero() bool { return c == ErasureCounts{} }

// Add returns c plus d.
func (c ErasureCounts) Add(d ErasureCounts) ErasureCounts {
	return ErasureCounts{
		Anonymised:    c.Anonymised + d.Anonymised,
		Restricted:    c.Restricted + d.Restricted,
		Deleted:       c.Deleted + d.Deleted,
		Outcomes:      c.Outcomes + d.Outcomes,
		Conversations: c.Conversations + d.Conversations,
		Turns:         c.Turns + d.Turns,
	}
}

// Restriction is a category kept under restriction, as recorded.
type Restriction struct {
	Category    Category   `json:"category"`
	Basis       string     `json:"basis,omitempty"`
	DeletableAt *time.Time `json:"deletable_at,omitempty"` // nil while the relationship goes on
	Then        Disposal   `json:"then"`
	DeletedAt   *time.Time `json:"deleted_at,omitempty"` // when the sweep deleted it
	Deleted     int        `json:"deleted,omitempty"`    // rows the sweep deleted
}

// ErasureReport is what an erasure did: its last run and in all.
type ErasureReport struct {
	RequestID  string    `json:"request_id"`
	ExecutedAt time.Time `json:"executed_at"` // the first run
	ExecutedBy string    `json:"executed_by"`
	// LastRunAt is the latest run that changed something.
	LastRunAt    time.Time     `json:"last_run_at"`
	Run          ErasureCounts `json:"run"` // this run; zero on a retry
	Total        ErasureCounts `json:"total"`
	Restrictions []Restriction `json:"restrictions"`
}

// SweepReport is what one sweep deleted.
type SweepReport struct {
	// Requests whose restrictions came due, by request id.
	Requests []string `json:"requests"`
	Records  int      `json:"records"`
	Outcomes int      `json:"outcomes"`
	Consents int      `json:"consents"`
	// SubjectRequests is the customers' subject requests deleted.
	SubjectRequests int `json:"subject_requests"`
}

// Empty reports whether the sweep deleted nothing.
func (r SweepReport) Empty() bool { return len(r.Requests) == 0 }

// RestrictedFilter selects restricted records of a customer.
type RestrictedFilter struct {
	CustomerID string
	BeforeSeq  int64 // for paging, newest first
	Limit      int   // default 100, at most 1000
}

// ErasureStore carries out erasures: the store that holds Guard's records
// (both of the platform's stores implement it next to Store).
type ErasureStore interface {
	// Erase carries out e in one transaction: the customer's records up to
	// e.UpToSeq are anonymised, restricted or deleted as e.Records says,
	// their outcomes lose note and account, their service sessions (all
	// those stored) are anonymised or deleted as e.Conversations says and
	// their turns deleted, e.Restrictions are recorded
	// (a deletable_at recorded as nil is set once known; one recorded is
	// kept). Running it again changes no data: the report's Run is zero.
	Erase(ctx context.Context, e *Erasure) (*ErasureReport, error)
	// Erasure returns the report of a request's erasure, ENOTFOUND if it
	// never ran.
	Erasure(ctx context.Context, requestID string) (*ErasureReport, error)
	// RestrictedRecords returns a customer's restricted records, newest
	// first.
	RestrictedRecords(ctx context.Context, f RestrictedFilter) ([]*guard.Record, error)
	// SweepErasures deletes what restrictions hold once their retention
	// ended (deletable_at at or before now): the records of Transactions
	// and Identity (once both are due) with their outcomes, the consent
	// history, the subject requests. Once all of a request's restrictions
	// are deleted, the erasure forgets the customer's blind index.
	SweepErasures(ctx context.Context, now time.Time) (*SweepReport, error)
}

// ErasureStoreOf returns the ErasureStore behind s (also inside a
// Configured), or nil.
func ErasureStoreOf(s Store) ErasureStore {
	switch c := s.(type) {
	case Configured:
		s = c.Store
	case *Configured:
		s = c.Store
	}
	es, _ := s.(ErasureStore)
	return es
}

// Statement is one line of what the customer is told: what became of a
// category of their data, and why what is kept is kept.
type Statement struct {
	Category    Category   `json:"category"`
	Disposal    Disposal   `json:"disposal"`
	Done        string     `json:"done"`
	Basis       string     `json:"basis,omitempty"`
	DeletableAt *time.Time `json:"deletable_at,omitempty"`
}

// Describe says, category by category, what the erasure of plan did (with
// the counts of report, if it ran) and what it keeps and why.
func Describe(plan Plan, report *ErasureReport) []Statement {
	var total ErasureCounts
	if report != nil {
		total = report.Total
	}
	out := make([]Statement, 0, len(plan.Items))
	for _, it := range plan.Items {
		st := Statement{Category: it.Category, Disposal: it.Disposal, Basis: it.Basis, DeletableAt: it.DeletableAt}
		until := "until the relationship has ended and the retention after it has run"
		if it.DeletableAt != nil {
			until = "until " + it.DeletableAt.UTC().Format(time.DateOnly)
		}
		switch {
		case it.Disposal == Restrict && it.Category == Transactions:
			st.Done = fmt.Sprintf("%d transaction record(s) kept, restricted to the legal obligation %s, then deleted", total.Restricted, until)
		case it.Disposal == Restrict && it.Category == Identity:
			st.Done = "identity data carried by the transaction records kept, restricted to the legal obligation " + until + ", then deleted; copies in other events anonymised"
		case it.Disposal == Restrict:
			st.Done = "kept " + until + " as proof, then deleted"
		case it.Category == RiskEvents && it.Disposal == Anonymise:
			st.Done = fmt.Sprintf("%d journey event(s) anonymised: the person is removed, only counts remain", total.Anonymised)
		case it.Category == Behaviour:
			st.Done = "behaviour profile and derived features deleted"
		case it.Category == Contact:
			st.Done = "no contact history is held by this platform"
		case it.Category == Conversations && it.Disposal == Anonymise:
			st.Done = fmt.Sprintf("%d customer-service conversation(s) anonymised: your words, the replies and your rating's comment deleted, only counts remain", total.Conversations)
		case it.Category == Conversations && it.Disposal == Delete:
			st.Done = fmt.Sprintf("%d customer-service conversation(s) deleted", total.Conversations)
		case (it.Category == Transactions || it.Category == RiskEvents) && it.Disposal == Delete:
			st.Done = fmt.Sprintf("%d record(s) deleted", total.Deleted)
		case it.Category == Transactions && it.Disposal == Anonymise:
			st.Done = fmt.Sprintf("%d record(s) anonymised", total.Anonymised)
		default:
			st.Done = string(it.Disposal) + "d"
		}
		out = append(out, st)
	}
	return out
}

// RestrictedDecisionAD is the associated data of a restricted record's
// sealed decision: the decision names the customer, so a store with a key
// seals it while it is kept.
func RestrictedDecisionAD(decisionID string) []byte {
	return guard.AppendFieldAD(nil, "restricted_records", "decision", decisionID)
}

// OpenRestricted returns a restricted record as a store read it: the
// decision's JSON (sealed with RestrictedDecisionAD, or plain) and the raw
// event (sealed to its event id, or plain).
func OpenRestricted(s guard.Sealer, seq int64, decisionID, eventID, decision string, raw []byte) (*guard.Record, error) {
	dj, err := guard.OpenText(s, decision, RestrictedDecisionAD(decisionID))
	if err != nil {
		return nil, fmt.Errorf("restricted decision of seq %d: %w", seq, err)
	}
	d := new(guard.Decision)
	if err := json.Unmarshal([]byte(dj), d); err != nil {
		return nil, fmt.Errorf("restricted decision of seq %d: %w", seq, err)
	}
	if raw, err = guard.OpenRaw(s, eventID, raw); err != nil {
		return nil, err
	}
	return &guard.Record{Seq: seq, Event: &guard.Event{ID: eventID, Raw: raw}, Decision: d}, nil
}
