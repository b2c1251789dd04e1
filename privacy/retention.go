package privacy

import (
	"time"
)

// Category is a kind of personal data the platform holds of a customer.
type Category string

const (
	// Transactions: events that move money (transfers, payments,
	// withdrawals, loan payouts, repayments) and Guard's decisions on them.
	Transactions Category = "transactions"
	// Identity: customer identification data (身份资料) sent with events:
	// ID numbers, names, phones.
	Identity Category = "identity"
	// RiskEvents: the other journey events (logins, device and phone
	// changes, profile changes) and their decisions.
	RiskEvents Category = "risk_events"
	// Behaviour: derived feature state and model scores.
	Behaviour Category = "behaviour"
	// Contact: marketing and education contact history.
	Contact Category = "contact"
	// Consents: the consent history, the proof that processing was lawful.
	Consents Category = "consents"
	// SubjectRequests: the data-subject requests and how they were handled.
	SubjectRequests Category = "subject_requests"
	// Conversations: customer-service sessions, their transcripts (the
	// customer's words, the replies, the channel's message ids) and their
	// ratings.
	Conversations Category = "conversations"
)

// Disposal is what happens to a category on deletion.
type Disposal string

const (
	Delete    Disposal = "delete"
	Anonymise Disposal = "anonymise" // keep the counts, lose the person
	// Restrict: keep, but exclude from all processing except the legal
	// obligation that requires keeping it (PIPL art. 47 para. 2), and
	// delete when the retention ends.
	Restrict Disposal = "restrict"
)

// Rule says how long a law requires keeping a category, and what to do
// with it when no law does.
type Rule struct {
	Category Category `json:"category"`
	// RetainYears after the business relationship ends; 0 means nothing
	// requires keeping it.
	RetainYears int `json:"retain_years"`
	// Basis names the obligation, for the customer's answer and the audit.
	Basis string `json:"basis,omitempty"`
	// Otherwise is what to do when nothing (or nothing any more) requires
	// keeping it: Delete or Anonymise.
	Otherwise Disposal `json:"otherwise"`
}

// AMLRetentionYears is how long anti-money-laundering rules require
// customer identity data and transaction records to be kept after the
// business relationship ends: at least ten years under the Anti-Money
// Laundering Law as revised in 2024 (in force 2025-01-01; the 2007 rules
// said five). Firms set Policy.Rules from their compliance department's
// reading, which is why this is configuration, not code.
const AMLRetentionYears = 10

// LimitationYears is the general limitation period of civil claims
// (民法典 art. 188): records that prove lawful handling are kept as long
// as a claim about it could be brought.
const LimitationYears = 3

// DefaultRules is the platform's default retention table.
var DefaultRules = []Rule{
	{Transactions, AMLRetentionYears, "anti-money-laundering: transaction records (反洗钱 交易记录保存)", Delete},
	{Identity, AMLRetentionYears, "anti-money-laundering: customer identity data (反洗钱 客户身份资料保存)", Delete},
	{RiskEvents, 0, "", Anonymise},
	{Behaviour, 0, "", Delete},
	{Contact, 0, "", Delete},
	{Consents, LimitationYears, "proof of lawful processing for the civil limitation period (民法典 第188条)", Delete},
	{SubjectRequests, LimitationYears, "proof of how the request was handled for the civil limitation period (民法典 第188条)", Delete},
	{Conversations, 0, "", Anonymise},
}

// Policy is a firm's privacy configuration.
type Policy struct {
	Calendar     *Calendar
	ResponseDays int    // working days to answer a request
	Rules        []Rule // retention, one rule per category
}

// DefaultPolicy returns 15 working days on the plain Monday-to-Friday
// calendar of China Standard Time, and DefaultRules. Firms add the year's
// holidays and 调休 working days with NewCalendar.
func DefaultPolicy() *Policy {
	cal, _ := NewCalendar(nil, nil, nil)
	return &Policy{Calendar: cal, ResponseDays: DefaultResponseDays, Rules: DefaultRules}
}

// Configured is a Store with the Policy it is used under, so one value
// carries both to the HTTP layer.
type Configured struct {
	Store
	Policy *Policy
}

// PolicyOf returns the policy carried by s (a Configured), or the default.
func PolicyOf(s Store) *Policy {
	if c, ok := s.(Configured); ok && c.Policy != nil {
		return c.Policy
	}
	if c, ok := s.(*Configured); ok && c.Policy != nil {
		return c.Policy
	}
	return DefaultPolicy()
}

// Item is what a deletion does to one category.
type Item struct {
	Category Category `json:"category"`
	Disposal Disposal `json:"disposal"`
	Basis    string   `json:"basis,omitempty"`
	// DeletableAt, for restricted data, is when the retention ends and the
	// data is to be deleted or anonymised (Rule.Otherwise); nil while the
	// relationship goes on, since the retention has not started.
	DeletableAt *time.Time `json:"deletable_at,omitempty"`
	// Then is what happens at DeletableAt.
	Then Disposal `json:"then,omitempty"`
}

// Plan is what a deletion request does: what goes now, what is restricted
// and until when. The platform's stores carry it out; this only decides.
type Plan struct {
	CustomerID string    `json:"customer_id"`
	At         time.Time `json:"at"`
	Items      []Item    `json:"items"`
	// Complete says whether everything is gone or anonymised now: false
	// while any category is restricted.
	Complete bool `json:"complete"`
	// NextDeletionAt is the earliest DeletableAt, when the plan must be
	// looked at again; nil when nothing waits or the relationship goes on.
	NextDeletionAt *time.Time `json:"next_deletion_at,omitempty"`
}

// PlanDeletion decides, for a customer whose relationship ended at ended
// (nil: still going on) and a deletion requested at at, what to do with
// each category of their data.
func (p *Policy) PlanDeletion(customerID string, ended *time.Time, at time.Time) Plan {
	plan := Plan{CustomerID: customerID, At: microsecond(at), Complete: true, Items: make([]Item, 0, len(p.Rules))}
	for _, r := range p.Rules {
		it := Item{Category: r.Category, Disposal: r.Otherwise}
		if r.RetainYears > 0 {
			switch {
			case ended == nil:
				// The retention starts only when the relationship ends.
				it.Disposal, it.Basis, it.Then = Restrict, r.Basis, r.Otherwise
			case at.Before(ended.AddDate(r.RetainYears, 0, 0)):
				until := microsecond(ended.AddDate(r.RetainYears, 0, 0))
				it.Disposal, it.Basis, it.Then, it.DeletableAt = Restrict, r.Basis, r.Otherwise, &until
				if plan.NextDeletionAt == nil || until.Before(*plan.NextDeletionAt) {
					plan.NextDeletionAt = &until
				}
			}
		}
		if it.Disposal == Restrict {
			plan.Complete = false
		}
		plan.Items = append(plan.Items, it)
	}
	return plan
}
