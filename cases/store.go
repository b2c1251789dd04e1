package cases

import (
	"context"
	"slices"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Filter selects cases. Zero fields match everything.
type Filter struct {
	State      State
	Queue      string
	Assignee   string
	Unassigned bool
	CustomerID string
	Typology   string
	// OpenOnly keeps cases that are not closed.
	OpenOnly bool
	// Overdue, if set, keeps open cases whose SLA passed at Now (true) or
	// has not (false).
	Overdue *bool
	Now     time.Time
	// Cases come by SLA due time, then id; AfterDue and AfterID page
	// after the last case of the previous page.
	AfterDue time.Time
	AfterID  string
	Limit    int // default 50, at most 1000
}

// Update is one change of a case, written atomically: the case row (if
// its version is still Case.Version-1), the new events, the payments that
// joined, the status of every payment, and the outbox messages.
type Update struct {
	Case     *Case
	Events   []Event
	Added    []Decision
	Messages []Message
}

// QueueStat is where one queue stands.
type QueueStat struct {
	Queue      string        `json:"queue"`
	Open       int           `json:"open"`
	Unassigned int           `json:"unassigned"`
	Overdue    int           `json:"overdue"`
	AtRisk     xiaobao.Money `json:"-"`
	NextDueAt  *time.Time    `json:"next_due_at,omitempty"`
}

// FigureRow is a count of closed cases with one resolution and typology.
type FigureRow struct {
	Resolution Resolution
	Typology   string
	Cases      int
	Saved      xiaobao.Money
	Lost       xiaobao.Money
}

// Store keeps cases, their timelines and the agents who work them.
type Store interface {
	// CreateCase stores a new case with its decisions and events. An
	// existing id, a decision already in a case, or another open case of
	// the same customer and typology is ECONFLICT.
	CreateCase(ctx context.Context, c *Case) error
	// UpdateCase applies u; a version that moved on, or an event key the
	// case already has, is ECONFLICT and changes nothing.
	UpdateCase(ctx context.Context, u Update) error
	// Case returns a case with its decisions and events (ENOTFOUND).
	Case(ctx context.Context, id string) (*Case, error)
	// CaseOfDecision returns the case holding a decision (ENOTFOUND).
	CaseOfDecision(ctx context.Context, decisionID string) (*Case, error)
	// OpenCaseOf returns the open case of a customer and typology
	// (ENOTFOUND).
	OpenCaseOf(ctx context.Context, customerID, typology string) (*Case, error)
	// FindCases returns the cases f selects, with their decisions but not
	// their events.
	FindCases(ctx context.Context, f Filter) ([]*Case, error)
	// DueCases returns the ids of cases whose next deadline is at or
	// before now, earliest first.
	DueCases(ctx context.Context, now time.Time, limit int) ([]string, error)
	// QueueStats returns the open cases per queue at now.
	QueueStats(ctx context.Context, now time.Time) ([]QueueStat, error)
	// Load returns the number of open cases per assignee.
	Load(ctx context.Context) (map[string]int, error)
	// PutAgent inserts or replaces an agent by username.
	PutAgent(ctx context.Context, a *Agent) error
	// Agents returns every agent by username.
	Agents(ctx context.Context) ([]*Agent, error)
	// Figures counts the cases closed in [from, to) by resolution and
	// typology.
	Figures(ctx context.Context, from, to time.Time) ([]FigureRow, error)
	// CaseCursor returns the highest decision seq that catching up has
	// looked at (0 if none); SetCaseCursor stores it.
	CaseCursor(ctx context.Context) (int64, error)
	SetCaseCursor(ctx context.Context, seq int64) error
}

// Figures is what the dissuasion desk achieved over a period: the numbers
// firms report ("43K potential victims dissuaded, ¥550M of losses
// avoided").
type Figures struct {
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Closed int       `json:"closed"`
	// Protected counts customers kept from paying a scammer: dissuaded
	// plus confirmed victims whose payments were stopped.
	Protected           int            `json:"protected"`
	Dissuaded           int            `json:"dissuaded"`
	ConfirmedVictims    int            `json:"confirmed_victims"`
	Insisted            int            `json:"insisted"`
	VictimsAfterRelease int            `json:"victims_after_release"`
	FalseAlarms         int            `json:"false_alarms"`
	Expired             int            `json:"expired"`
	AmountSaved         xiaobao.Money  `json:"-"`
	AmountLost          xiaobao.Money  `json:"-"`
	ByTypology          []TypologyFigs `json:"by_typology"`
}

// TypologyFigs are the figures of one typology.
type TypologyFigs struct {
	Typology    string        `json:"typology"`
	Closed      int           `json:"closed"`
	Protected   int           `json:"protected"`
	AmountSaved xiaobao.Money `json:"-"`
	AmountLost  xiaobao.Money `json:"-"`
}

// Summarize adds up figure rows.
func Summarize(rows []FigureRow, from, to time.Time) Figures {
	f := Figures{From: from, To: to, ByTypology: []TypologyFigs{}}
	by := map[string]*TypologyFigs{}
	for _, r := range rows {
		t := by[r.Typology]
		if t == nil {
			t = &TypologyFigs{Typology: r.Typology}
			by[r.Typology] = t
		}
		f.Closed += r.Cases
		t.Closed += r.Cases
		f.AmountSaved += r.Saved
		f.AmountLost += r.Lost
		t.AmountSaved += r.Saved
		t.AmountLost += r.Lost
		switch r.Resolution {
		case ResolvedDissuaded:
			f.Dissuaded += r.Cases
			f.Protected += r.Cases
			t.Protected += r.Cases
		case ResolvedConfirmedVictim:
			f.ConfirmedVictims += r.Cases
			f.Protected += r.Cases
			t.Protected += r.Cases
		case ResolvedInsisted:
			f.Insisted += r.Cases
		case ResolvedVictimAfterRelease:
			f.VictimsAfterRelease += r.Cases
		case ResolvedFalseAlarm:
			f.FalseAlarms += r.Cases
		case ResolvedExpiredCancelled, ResolvedExpiredReleased:
			f.Expired += r.Cases
		}
	}
	for _, t := range by {
		f.ByTypology = append(f.ByTypology, *t)
	}
	slices.SortFunc(f.ByTypology, func(a, b TypologyFigs) int {
		if a.AmountSaved != b.AmountSaved {
			if a.AmountSaved > b.AmountSaved {
				return -1
			}
			return 1
		}
		if a.Typology < b.Typology {
			return -1
		} else if a.Typology > b.Typology {
			return 1
		}
		return 0
	})
	return f
}
