package cases

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Guard is what cases need of guard.Service.
type Guard interface {
	Decision(ctx context.Context, id string) (*guard.Record, error)
	FindDecisions(ctx context.Context, f guard.DecisionFilter) ([]*guard.Record, error)
	RecordOutcome(ctx context.Context, o *guard.Outcome) (created bool, err error)
}

// Timers schedule durable timers (a job queue): one timer per case, keyed
// by case id, at its next deadline. Scheduling a key again moves it.
type Timers interface {
	Schedule(ctx context.Context, key string, at time.Time) error
	Cancel(ctx context.Context, key string) error
}

// TimerKind is the kind of the cases' timers.
const TimerKind = "cases.deadline"

// Config configures a Service.
type Config struct {
	Store  Store
	Clock  xiaobao.Clock
	Logger *slog.Logger
	Policy Policy
	// Timers, if set, get an exact timer for every case deadline; the
	// periodic Sweep catches whatever a crash between a commit and its
	// timer would have missed.
	Timers Timers
	// CatchUpWindow bounds how far back catching up looks for decisions
	// without a case (default 48 hours): older holds have long expired.
	CatchUpWindow time.Duration
}

// Service runs the dissuasion desk on a Store.
type Service struct {
	store  Store
	clock  xiaobao.Clock
	log    *slog.Logger
	policy Policy
	timers Timers
	window time.Duration

	guard   atomic.Pointer[guardRef]
	recs    chan *guard.Record
	dropped atomic.Bool
	stop    chan struct{}
	wg      sync.WaitGroup
	started atomic.Bool
	closed  atomic.Bool
	sweepMu sync.Mutex
}

type guardRef struct{ g Guard }

// New returns a service; Start it once Guard runs.
func New(cfg Config) *Service {
	if cfg.Clock == nil {
		cfg.Clock = xiaobao.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.CatchUpWindow <= 0 {
		cfg.CatchUpWindow = 48 * time.Hour
	}
	return &Service{
		store: cfg.Store, clock: cfg.Clock, log: cfg.Logger, policy: cfg.Policy.withDefaults(), timers: cfg.Timers,
		window: cfg.CatchUpWindow, recs: make(chan *guard.Record, 8192), stop: make(chan struct{}),
	}
}

// Policy returns the policy in force.
func (s *Service) Policy() Policy { return s.policy }

// Now returns the service's clock reading.
func (s *Service) Now() time.Time { return s.clock.Now() }

// OnIndexed is guard.Config.OnIndexed: it takes the records that open
// cases and hands them to the worker without waiting. When the worker is
// far behind, records are dropped and the next catch-up finds them.
func (s *Service) OnIndexed(recs []*guard.Record) {
	for _, r := range recs {
		if r.Decision == nil || !s.policy.Opens(r.Decision.Action) {
			continue
		}
		select {
		case s.recs <- r:
		default:
			s.dropped.Store(true)
		}
	}
}

// Start begins opening cases from Guard's decisions: first catching up
// on the decisions stored since the last run, then as they are indexed.
func (s *Service) Start(ctx context.Context, g Guard) error {
	s.guard.Store(&guardRef{g})
	if !s.started.CompareAndSwap(false, true) {
		return nil
	}
	if err := s.CatchUp(ctx); err != nil {
		return err
	}
	s.wg.Add(1)
	go s.work()
	return nil
}

// Close stops the worker; records still queued are found by the next
// catch-up.
func (s *Service) Close() {
	if s.closed.CompareAndSwap(false, true) {
		close(s.stop)
		s.wg.Wait()
	}
}

func (s *Service) g() Guard {
	if r := s.guard.Load(); r != nil {
		return r.g
	}
	return nil
}

func (s *Service) work() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case rec := <-s.recs:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if _, _, err := s.OpenCase(ctx, rec); err != nil {
				s.log.Error("open case failed; catch-up will retry", "decision_id", rec.Decision.ID, "err", err.Error())
				s.dropped.Store(true)
			}
			cancel()
		}
	}
}

// OpenCase opens a case on a held or blocked payment, or joins it to the
// open case of the same customer and suspected scam. A decision already
// in a case returns that case (created false): the hook may deliver a
// record twice.
func (s *Service) OpenCase(ctx context.Context, rec *guard.Record) (*Case, bool, error) {
	id := rec.Decision.ID
	for attempt := 0; ; attempt++ {
		if c, err := s.store.CaseOfDecision(ctx, id); err == nil {
			return c, false, nil
		} else if xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			return nil, false, err
		}
		now := s.clock.Now()
		open, err := s.store.OpenCaseOf(ctx, rec.Decision.CustomerID, rec.Decision.Typology)
		switch {
		case xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND:
			c, err := NewCase(rec, s.policy, now)
			if err != nil {
				return nil, false, err
			}
			err = s.store.CreateCase(ctx, c)
			if err == nil {
				s.schedule(ctx, c)
				return c, true, nil
			}
			if xiaobao.ErrorCode(err) != xiaobao.ECONFLICT || attempt >= 4 {
				return nil, false, fmt.Errorf("open case for decision %s: %w", id, err)
			}
		case err != nil:
			return nil, false, err
		default:
			prev := open.Version
			st, err := Join(open, rec, s.policy, now)
			if err != nil {
				return nil, false, err
			}
			open.Version, open.UpdatedAt = prev+1, micro(now)
			err = s.store.UpdateCase(ctx, Update{Case: open, Events: st.Events, Added: st.Added})
			if err == nil {
				s.schedule(ctx, open)
				return open, true, nil
			}
			if xiaobao.ErrorCode(err) != xiaobao.ECONFLICT || attempt >= 4 {
				return nil, false, fmt.Errorf("join decision %s to case %s: %w", id, open.ID, err)
			}
		}
	}
}

// OpenWarningCase opens a case on a warning from another module (a
// customer in a service chat who is being scammed right now), or joins it
// to the customer's open case of the same suspected scam. A warning
// delivered again changes nothing (created false).
func (s *Service) OpenWarningCase(ctx context.Context, w Warning) (*Case, bool, error) {
	id := WarningCaseID(w)
	for attempt := 0; ; attempt++ {
		if c, err := s.store.Case(ctx, id); err == nil {
			return c, false, nil
		} else if xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			return nil, false, err
		}
		now := s.clock.Now()
		open, err := s.store.OpenCaseOf(ctx, w.CustomerID, w.Typology)
		switch {
		case xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND:
			c, err := NewWarningCase(w, s.policy, now)
			if err != nil {
				return nil, false, err
			}
			err = s.store.CreateCase(ctx, c)
			if err == nil {
				s.schedule(ctx, c)
				return c, true, nil
			}
			if xiaobao.ErrorCode(err) != xiaobao.ECONFLICT || attempt >= 4 {
				return nil, false, fmt.Errorf("open case for a warning on customer: %w", err)
			}
		case err != nil:
			return nil, false, err
		default:
			// The open case with its whole timeline: the warning may be in
			// it already.
			full, err := s.store.Case(ctx, open.ID)
			if err != nil {
				return nil, false, err
			}
			prev := full.Version
			st, changed, err := JoinWarning(full, w, s.policy, now)
			if err != nil || !changed {
				return full, false, err
			}
			full.Version, full.UpdatedAt = prev+1, micro(now)
			err = s.store.UpdateCase(ctx, Update{Case: full, Events: st.Events})
			if err == nil {
				s.schedule(ctx, full)
				return full, true, nil
			}
			if xiaobao.ErrorCode(err) != xiaobao.ECONFLICT || attempt >= 4 {
				return nil, false, fmt.Errorf("join a warning to case %s: %w", full.ID, err)
			}
		}
	}
}

// CatchUp opens the cases of decisions stored since the last catch-up
// (within the catch-up window) that the hook did not deliver: those
// indexed while the process was down or the worker was behind.
func (s *Service) CatchUp(ctx context.Context) (err error) {
	g := s.g()
	if g == nil {
		return errors.New("cases: catch-up before Start")
	}
	defer func() {
		if err != nil {
			s.dropped.Store(true) // try again at the next sweep
		}
	}()
	cursor, err := s.store.CaseCursor(ctx)
	if err != nil {
		return err
	}
	lowest := slices.Min(s.policy.OpenOn)
	since := s.clock.Now().Add(-s.window)
	f := guard.DecisionFilter{MinAction: &lowest, Limit: 500}
	var todo []*guard.Record
	var top int64
	s.dropped.Store(false)
scan:
	for {
		recs, err := g.FindDecisions(ctx, f)
		if err != nil {
			return fmt.Errorf("catch up cases: %w", err)
		}
		for _, r := range recs {
			seq := cmpOr(r.Decision.Seq, r.Seq)
			top = max(top, seq)
			if seq <= cursor || r.Decision.DecidedAt.Before(since) {
				break scan
			}
			if s.policy.Opens(r.Decision.Action) {
				todo = append(todo, r)
			}
			f.BeforeSeq = seq
		}
		if len(recs) < f.Limit {
			break
		}
	}
	slices.Reverse(todo)
	for _, r := range todo {
		if _, _, err := s.OpenCase(ctx, r); err != nil {
			return err
		}
	}
	if top > cursor {
		return s.store.SetCaseCursor(ctx, top)
	}
	return nil
}

// schedule sets the case's timer to its next deadline.
func (s *Service) schedule(ctx context.Context, c *Case) {
	if s.timers == nil {
		return
	}
	var err error
	if d := c.NextDeadline(); d != nil {
		err = s.timers.Schedule(ctx, c.ID, *d)
	} else {
		err = s.timers.Cancel(ctx, c.ID)
	}
	if err != nil {
		s.log.Warn("case timer not set; the sweep will catch the deadline", "case_id", c.ID, "err", err.Error())
	}
}

// change applies fn to the latest version of case id and stores the
// result, retrying when someone else changed the case meanwhile (fn then
// sees their change). A key the case already has is a retry: the case is
// returned unchanged (changed false), unless same says the key's event is
// not what this request would have done (ECONFLICT).
func (s *Service) change(ctx context.Context, id, key string, same func(*Event) bool, fn func(c *Case, now time.Time) (Step, error)) (*Case, bool, error) {
	for attempt := 0; ; attempt++ {
		c, err := s.store.Case(ctx, id)
		if err != nil {
			return nil, false, err
		}
		if e := c.EventByKey(key); e != nil {
			if same != nil && !same(e) {
				return nil, false, xiaobao.Errorf(xiaobao.ECONFLICT, "request id %q was already used for a different change of case %s", key, id)
			}
			return c, false, nil
		}
		prev := c.Version
		now := micro(s.clock.Now())
		st, err := fn(c, now)
		if err != nil {
			return nil, false, err
		}
		if len(st.Events) == 0 {
			return c, false, nil
		}
		c.Version, c.UpdatedAt = prev+1, now
		err = s.store.UpdateCase(ctx, Update{Case: c, Events: st.Events, Added: st.Added, Messages: st.Messages})
		if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT && attempt < 4 {
			continue
		} else if err != nil {
			return nil, false, err
		}
		s.schedule(ctx, c)
		if c.LabelsPending {
			if lc, err := s.label(ctx, c); err != nil {
				s.log.Warn("guard outcome labels not recorded; the sweep retries", "case_id", c.ID, "err", err.Error())
			} else {
				c = lc
			}
		}
		return c, true, nil
	}
}

// label tells Guard the outcome of every decision of a closed case, then
// marks the case labelled. RecordOutcome is idempotent, so a retry after
// a crash records nothing twice.
func (s *Service) label(ctx context.Context, c *Case) (*Case, error) {
	g := s.g()
	if g == nil {
		return c, errors.New("guard is not started")
	}
	for _, o := range Labels(c) {
		if _, err := g.RecordOutcome(ctx, o); err != nil {
			return c, fmt.Errorf("record outcome of %s: %w", o.DecisionID, err)
		}
	}
	out, _, err := s.change(ctx, c.ID, "", nil, func(c *Case, now time.Time) (Step, error) { return MarkLabelled(c, now), nil })
	return out, err
}

// Case returns a case with its decisions and timeline.
func (s *Service) Case(ctx context.Context, id string) (*Case, error) { return s.store.Case(ctx, id) }

// Find returns the cases f selects.
func (s *Service) Find(ctx context.Context, f Filter) ([]*Case, error) {
	if f.Now.IsZero() {
		f.Now = s.clock.Now()
	}
	return s.store.FindCases(ctx, f)
}

// Assign gives a case to assignee (a username; "" takes it from its
// assignee). See Assign for who may.
func (s *Service) Assign(ctx context.Context, id, assignee string, by Actor, key string) (*Case, bool, error) {
	same := func(e *Event) bool {
		return e.Kind == EventAssigned && e.Assignee == assignee || e.Kind == EventUnassigned && assignee == ""
	}
	return s.change(ctx, id, key, same, func(c *Case, now time.Time) (Step, error) { return Assign(c, assignee, by, key, now) })
}

// Note adds a note to a case's timeline.
func (s *Service) Note(ctx context.Context, id, note string, by Actor, key string) (*Case, bool, error) {
	same := func(e *Event) bool { return e.Kind == EventNote && e.Note == strings.TrimSpace(note) }
	return s.change(ctx, id, key, same, func(c *Case, now time.Time) (Step, error) { return AddNote(c, note, by, key, now) })
}

// RecordCall records a dissuasion call on a case.
func (s *Service) RecordCall(ctx context.Context, id string, call Call, by Actor) (*Case, bool, error) {
	same := func(e *Event) bool {
		return (e.Kind == EventCall || e.Kind == EventRelabelled) && e.Outcome == call.Outcome
	}
	return s.change(ctx, id, call.Key, same, func(c *Case, now time.Time) (Step, error) { return RecordCall(c, call, by, s.policy, now) })
}

// Tick applies what time alone does to one case (its timer fired).
func (s *Service) Tick(ctx context.Context, id string) error {
	c, _, err := s.change(ctx, id, "", nil, func(c *Case, now time.Time) (Step, error) { return Advance(c, s.policy, now), nil })
	if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
		return nil // erased: nothing left to advance, and no timer to retry
	} else if err != nil {
		return err
	}
	if c.LabelsPending && c.ClosedAt != nil {
		_, err = s.label(ctx, c)
	}
	return err
}

// Next assigns to by the most urgent open case of a queue they are
// skilled for (every queue but the supervisor's if they are no agent);
// ENOTFOUND when there is none.
func (s *Service) Next(ctx context.Context, by Actor) (*Case, error) {
	if by.Username == "" {
		return nil, xiaobao.Errorf(xiaobao.EFORBIDDEN, "only staff users take cases")
	}
	agents, err := s.store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	me := &Agent{Username: by.Username, Skills: []string{"*"}, Active: true}
	for _, a := range agents {
		if a.Username == by.Username {
			me = a
		}
	}
	// An agent of a few queues asks for each: the most urgent cases of
	// other queues must not crowd theirs out of one page.
	var queues []string
	if !slices.Contains(me.Skills, "*") {
		queues = slices.Clone(me.Skills)
		if by.Supervisor && !slices.Contains(queues, QueueSupervisor) {
			queues = append(queues, QueueSupervisor)
		}
	}
	for range 5 {
		var cs []*Case
		fs := []Filter{{}}
		if queues != nil {
			fs = fs[:0]
			for _, q := range queues {
				fs = append(fs, Filter{Queue: q})
			}
		}
		for _, f := range fs {
			f.OpenOnly, f.Unassigned, f.Now, f.Limit = true, true, s.clock.Now(), 200
			page, err := s.store.FindCases(ctx, f)
			if err != nil {
				return nil, err
			}
			cs = append(cs, page...)
		}
		slices.SortFunc(cs, func(a, b *Case) int {
			if c := a.SLADueAt.Compare(b.SLADueAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		raced := false
		for _, c := range cs {
			skilled := me.Skilled(c.Queue) || by.Supervisor && c.Queue == QueueSupervisor
			if c.State == StateWaiting || !skilled || c.State == StateEscalated && !by.Supervisor {
				continue
			}
			got, _, err := s.Assign(ctx, c.ID, by.Username, by, "")
			if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
				raced = true // someone took it first: try the next
				continue
			} else if err != nil {
				return nil, err
			}
			return got, nil
		}
		if !raced {
			break
		}
	}
	return nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "no open case waits in your queues")
}

// Assignment is one case given out by AutoAssign.
type Assignment struct {
	CaseID   string `json:"case_id"`
	Queue    string `json:"queue"`
	Assignee string `json:"assignee"`
}

// AutoAssign gives every unassigned open case (most urgent first) to the
// active agent skilled for its queue with the lowest load, until agents
// are full.
func (s *Service) AutoAssign(ctx context.Context, by Actor) ([]Assignment, error) {
	agents, err := s.store.Agents(ctx)
	if err != nil {
		return nil, err
	}
	load, err := s.store.Load(ctx)
	if err != nil {
		return nil, err
	}
	by.Supervisor = true
	out := []Assignment{}
	f := Filter{OpenOnly: true, Unassigned: true, Now: s.clock.Now(), Limit: 1000}
	cs, err := s.store.FindCases(ctx, f)
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		if c.State == StateWaiting {
			continue
		}
		who, ok := PickAgent(c.Queue, agents, load)
		if !ok {
			continue
		}
		got, changed, err := s.Assign(ctx, c.ID, who, by, "")
		if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
			continue
		} else if err != nil {
			return out, err
		}
		if changed && got.Assignee == who {
			load[who]++
			out = append(out, Assignment{CaseID: c.ID, Queue: c.Queue, Assignee: who})
		}
	}
	return out, nil
}

// Sweep does what timers may have missed: it advances every case whose
// deadline has passed, records pending labels, catches up on decisions
// the hook dropped and, if the policy says so, assigns open cases. It
// returns the number of cases advanced.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	var errs []error
	// The hook sees every indexed record while the process runs; only
	// what it dropped or failed to open needs the store scanned again
	// (and what was indexed while the process was down, which Start
	// catches up on).
	if s.g() != nil && s.dropped.Load() {
		errs = append(errs, s.CatchUp(ctx))
	}
	n := 0
	for {
		ids, err := s.store.DueCases(ctx, s.clock.Now(), 500)
		if err != nil {
			return n, err
		}
		progressed := false
		for _, id := range ids {
			if err := s.Tick(ctx, id); err != nil {
				errs = append(errs, fmt.Errorf("case %s: %w", id, err))
				continue
			}
			n++
			progressed = true
		}
		if len(ids) < 500 || !progressed {
			break
		}
	}
	if s.policy.AutoAssign {
		if _, err := s.AutoAssign(ctx, Actor{ID: SystemActor}); err != nil {
			errs = append(errs, err)
		}
	}
	return n, errors.Join(errs...)
}

// Queues returns every queue of the policy and any other holding cases,
// with their counts at now.
func (s *Service) Queues(ctx context.Context) ([]QueueStat, error) {
	stats, err := s.store.QueueStats(ctx, s.clock.Now())
	if err != nil {
		return nil, err
	}
	out := []QueueStat{}
	for _, q := range s.policy.QueueNames() {
		i := slices.IndexFunc(stats, func(st QueueStat) bool { return st.Queue == q })
		if i < 0 {
			out = append(out, QueueStat{Queue: q})
			continue
		}
		out = append(out, stats[i])
		stats = slices.Delete(stats, i, i+1)
	}
	return append(out, stats...), nil
}

// Figures returns what the desk achieved in [from, to).
func (s *Service) Figures(ctx context.Context, from, to time.Time) (Figures, error) {
	rows, err := s.store.Figures(ctx, from, to)
	if err != nil {
		return Figures{}, err
	}
	return Summarize(rows, from, to), nil
}

// Load returns the number of open cases per assignee.
func (s *Service) Load(ctx context.Context) (map[string]int, error) { return s.store.Load(ctx) }

// Agents returns the agents.
func (s *Service) Agents(ctx context.Context) ([]*Agent, error) { return s.store.Agents(ctx) }

// PutAgent validates and stores an agent's skills and capacity.
func (s *Service) PutAgent(ctx context.Context, a *Agent) error {
	var fe []xiaobao.FieldError
	if a.Capacity < 0 || a.Capacity > MaxCapacity {
		fe = append(fe, xiaobao.FieldError{Field: "capacity", Reason: fmt.Sprintf("must be from 0 to %d", MaxCapacity)})
	}
	queues := s.policy.QueueNames()
	if len(a.Skills) > len(queues)+1 {
		fe = append(fe, xiaobao.FieldError{Field: "skills", Reason: "has too many entries"})
	}
	for i, sk := range a.Skills {
		if sk != "*" && !slices.Contains(queues, sk) {
			fe = append(fe, xiaobao.FieldError{Field: fmt.Sprintf("skills[%d]", i), Reason: fmt.Sprintf("unknown queue %q; queues are %v or \"*\"", sk, queues)})
		}
	}
	if len(fe) > 0 {
		return xiaobao.Invalid("the agent is invalid", fe...)
	}
	slices.Sort(a.Skills)
	a.Skills = slices.Compact(a.Skills)
	a.UpdatedAt = micro(s.clock.Now())
	return s.store.PutAgent(ctx, a)
}
