package cases

import (
	"cmp"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// ExpiryAction is what happens to held payments whose (extended) hold
// expires before anyone reached the customer.
type ExpiryAction string

const (
	// ExpireCancel returns the money to the customer, who may pay again:
	// the safe default, since an unreached customer may be in the middle
	// of a scam and a wrongly cancelled payment can be repeated while a
	// wrongly released one cannot be recalled.
	ExpireCancel ExpiryAction = "cancel"
	// ExpireRelease sends the payments on.
	ExpireRelease ExpiryAction = "release"
)

// QueueRule puts a case in Queue when it matches; the first rule that
// matches wins. Zero fields match everything.
type QueueRule struct {
	Queue      string
	MinAge     int           // customer age at least this (0: any)
	MinAmount  xiaobao.Money // amount at risk at least this (0: any)
	Typologies []string      // one of these typologies (none: any)
}

func (r QueueRule) matches(c *Case) bool {
	if r.MinAge > 0 && c.CustomerAge < r.MinAge {
		return false
	}
	if r.MinAmount > 0 && c.AmountAtRisk < r.MinAmount {
		return false
	}
	return len(r.Typologies) == 0 || slices.Contains(r.Typologies, c.Typology)
}

// Queue names of the default policy.
const (
	QueueSupervisor    = "supervisor"
	QueueVulnerable    = "vulnerable"
	QueueHighValue     = "high_value"
	QueueImpersonation = "impersonation"
	QueueInvestment    = "investment"
	QueueLoan          = "loan"
	QueueAccount       = "account"
	QueueGeneral       = "general"
)

// Policy is how the desk works. DefaultPolicy gives every field; a zero
// field of a Policy passed to Service takes the default.
type Policy struct {
	// OpenOn lists the Guard actions that open a case.
	OpenOn []guard.Action
	// Queues select a case's queue, in order; no match is QueueGeneral.
	// Escalated cases are in QueueSupervisor whatever the rules say.
	Queues []QueueRule
	// CallWithin is the SLA: the customer is to be called this soon
	// after the hold, and never later than EscalateBefore the hold
	// expires (nor sooner than half-way through a short hold).
	CallWithin     time.Duration
	EscalateBefore time.Duration
	// RetryAfter are the waits after each unreachable attempt; after
	// MaxAttempts unreachable attempts the case escalates.
	RetryAfter  []time.Duration
	MaxAttempts int
	// ExtendBy extends an expiring hold once (negative: never); then
	// OnExpiry.
	ExtendBy time.Duration
	OnExpiry ExpiryAction
	// AutoAssign makes the sweep assign open cases by skill and load.
	AutoAssign bool
}

// DefaultPolicy is the desk as most firms run it.
func DefaultPolicy() Policy {
	return Policy{
		OpenOn: []guard.Action{guard.Hold, guard.Block},
		Queues: []QueueRule{
			{Queue: QueueVulnerable, MinAge: 60},
			{Queue: QueueVulnerable, Typologies: []string{"vulnerable_customer"}},
			{Queue: QueueHighValue, MinAmount: 5_000_000}, // ¥50,000
			{Queue: QueueImpersonation, Typologies: []string{"impersonated_police", "impersonated_customer_service", "refund_scam"}},
			{Queue: QueueInvestment, Typologies: []string{"fake_investment", "brushing_part_time", "gambling"}},
			{Queue: QueueLoan, Typologies: []string{"fake_loan", "credit_repair", "complaint_agent_fraud"}},
			{Queue: QueueAccount, Typologies: []string{"account_takeover", "mule_account", "device_farm", "fake_account", "listed_entity"}},
		},
		CallWithin:     30 * time.Minute,
		EscalateBefore: time.Hour,
		RetryAfter:     []time.Duration{15 * time.Minute, 30 * time.Minute, time.Hour},
		MaxAttempts:    3,
		ExtendBy:       12 * time.Hour,
		OnExpiry:       ExpireCancel,
	}
}

// withDefaults fills zero fields from DefaultPolicy.
func (p Policy) withDefaults() Policy {
	d := DefaultPolicy()
	if p.OpenOn == nil {
		p.OpenOn = d.OpenOn
	}
	if p.Queues == nil {
		p.Queues = d.Queues
	}
	p.CallWithin = cmp.Or(p.CallWithin, d.CallWithin)
	p.EscalateBefore = cmp.Or(p.EscalateBefore, d.EscalateBefore)
	if p.RetryAfter == nil {
		p.RetryAfter = d.RetryAfter
	}
	p.MaxAttempts = cmp.Or(p.MaxAttempts, d.MaxAttempts)
	p.ExtendBy = cmp.Or(p.ExtendBy, d.ExtendBy)
	p.OnExpiry = cmp.Or(p.OnExpiry, d.OnExpiry)
	return p
}

// Opens reports whether a decision with action a opens a case.
func (p Policy) Opens(a guard.Action) bool { return slices.Contains(p.OpenOn, a) }

// QueueOf returns the queue of c.
func (p Policy) QueueOf(c *Case) string {
	if c.Escalated {
		return QueueSupervisor
	}
	for _, r := range p.Queues {
		if r.matches(c) {
			return r.Queue
		}
	}
	return QueueGeneral
}

// QueueNames lists the queues the policy can put a case in, supervisor
// first, then in rule order.
func (p Policy) QueueNames() []string {
	out := []string{QueueSupervisor}
	for _, r := range p.Queues {
		if !slices.Contains(out, r.Queue) {
			out = append(out, r.Queue)
		}
	}
	if !slices.Contains(out, QueueGeneral) {
		out = append(out, QueueGeneral)
	}
	return out
}

// SLADue returns when a case opened at opened must have been called:
// CallWithin after, but no later than EscalateBefore the hold expires
// (half-way through a hold too short for that).
func (p Policy) SLADue(opened time.Time, expires *time.Time) time.Time {
	due := opened.Add(p.CallWithin)
	if expires == nil {
		return due
	}
	latest := expires.Add(-p.EscalateBefore)
	if half := opened.Add(expires.Sub(opened) / 2); latest.Before(half) {
		latest = half
	}
	if latest.Before(due) {
		return latest
	}
	return due
}

// retryAfter returns the wait after the n-th unreachable attempt (1-based).
func (p Policy) retryAfter(n int) time.Duration {
	if len(p.RetryAfter) == 0 {
		return 30 * time.Minute
	}
	return p.RetryAfter[min(n, len(p.RetryAfter))-1]
}

// Agent is a staff user who takes cases: the queues they are skilled for
// and how many open cases they can hold at once.
type Agent struct {
	Username string `json:"username"`
	// Skills are queue names; "*" is every queue but the supervisor's.
	Skills    []string  `json:"skills"`
	Capacity  int       `json:"capacity"`
	Active    bool      `json:"active"`
	UpdatedAt time.Time `json:"updated_at"`
}

// MaxCapacity bounds an agent's capacity.
const MaxCapacity = 200

// Skilled reports whether a works queue.
func (a *Agent) Skilled(queue string) bool {
	return slices.Contains(a.Skills, queue) || queue != QueueSupervisor && slices.Contains(a.Skills, "*")
}

// PickAgent chooses who gets a case of queue: among the active agents
// skilled for it with room left, the one with the lowest load relative to
// capacity; ties go to the fewer open cases, then by username, so the
// choice is deterministic. ok is false when nobody can take it.
func PickAgent(queue string, agents []*Agent, load map[string]int) (username string, ok bool) {
	var best *Agent
	for _, a := range agents {
		if !a.Active || a.Capacity <= 0 || !a.Skilled(queue) || load[a.Username] >= a.Capacity {
			continue
		}
		if best == nil || better(a, best, load) {
			best = a
		}
	}
	if best == nil {
		return "", false
	}
	return best.Username, true
}

// better reports whether a should get the next case rather than b:
// load/capacity compared exactly as cross products.
func better(a, b *Agent, load map[string]int) bool {
	la, lb := load[a.Username]*b.Capacity, load[b.Username]*a.Capacity
	if la != lb {
		return la < lb
	}
	if load[a.Username] != load[b.Username] {
		return load[a.Username] < load[b.Username]
	}
	return a.Username < b.Username
}
