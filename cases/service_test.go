package cases_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// holdPack holds transfers of 10000 yuan or more for two hours.
const holdPack = `pack: cases_test
description: {zh: 测试, en: test}
settings:
  hold_minutes: 120
rules:
  - id: BIG
    name: {zh: 大额, en: big}
    description: {zh: 大额, en: big}
    nodes: [transfer]
    when: event.amount >= 10000
    score: 0.95
    action: hold
    typology: fake_investment
    code: BIG
`

// timerLog records what the service scheduled, as a job queue would
// keep it: the latest time per key.
type timerLog struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (l *timerLog) Schedule(_ context.Context, key string, at time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.at[key] = at
	return nil
}

func (l *timerLog) Cancel(_ context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.at, key)
	return nil
}

func (l *timerLog) get(key string) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t, ok := l.at[key]
	return t, ok
}

// flakyGuard is the real Guard whose RecordOutcome fails while broken
// is set, as when the store is briefly unavailable.
type flakyGuard struct {
	*guard.Service
	mu     sync.Mutex
	broken bool
}

func (g *flakyGuard) RecordOutcome(ctx context.Context, o *guard.Outcome) (bool, error) {
	g.mu.Lock()
	broken := g.broken
	g.mu.Unlock()
	if broken {
		return false, errors.New("store unavailable")
	}
	return g.Service.RecordOutcome(ctx, o)
}

type env struct {
	db     *sqlite.DB
	guard  *guard.Service
	fg     *flakyGuard
	clock  *xiaobao.ManualClock
	timers *timerLog
	svc    *cases.Service
}

func setup(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "xiaobao.db"))
	if err != nil {
		t.Fatal(err)
	}
	clock := xiaobao.NewManualClock(time.Now().UTC().Truncate(time.Second))
	g, err := guard.Open(ctx, guard.Config{Store: db, Clock: clock, SnapshotInterval: -1, SkipBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.LoadPack(ctx, []byte(holdPack), "test", "", true); err != nil {
		t.Fatal(err)
	}
	e := &env{db: db, guard: g, fg: &flakyGuard{Service: g}, clock: clock, timers: &timerLog{at: map[string]time.Time{}}}
	e.svc = cases.New(cases.Config{Store: db, Clock: clock, Timers: e.timers})
	t.Cleanup(func() {
		e.svc.Close()
		if err := g.Close(); err != nil {
			t.Error(err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// submit decides a transfer and returns its stored record.
func (e *env) submit(t *testing.T, id, customer, amount string) *guard.Record {
	t.Helper()
	ctx := context.Background()
	ev, err := guard.DecodeEvent(fmt.Appendf(nil, `{"event_id":%q,"type":"transfer","occurred_at":"2026-01-02T03:04:05+08:00",`+
		`"customer":{"id":%q,"age":41},"amount":%q,"counterparty":{"account":"6222020200112233445"}}`, id, customer, amount))
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := e.guard.Submit(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.guard.Decision(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestServiceOpensFromHookAndCatchUp(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	small := e.submit(t, "e0", "c1", "100.00")
	r1 := e.submit(t, "e1", "c1", "20000.00")
	// Decided before the service started: catching up at start opens it.
	if err := e.svc.Start(ctx, e.fg); err != nil {
		t.Fatal(err)
	}
	c, err := e.db.CaseOfDecision(ctx, r1.Decision.ID)
	if err != nil {
		t.Fatalf("catch-up did not open the case: %v", err)
	}
	if _, err := e.db.CaseOfDecision(ctx, small.Decision.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("an allowed payment opened a case: %v", err)
	}
	if at, ok := e.timers.get(c.ID); !ok || !at.Equal(c.SLADueAt) {
		t.Errorf("timer %v %v, want the SLA %v", at, ok, c.SLADueAt)
	}
	// Then through the hook, twice (a redelivery): one join.
	r2 := e.submit(t, "e2", "c1", "30000.00")
	r3 := e.submit(t, "e3", "c2", "10000.00")
	e.svc.OnIndexed([]*guard.Record{small, r2, r3, r2})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c2, err1 := e.db.CaseOfDecision(ctx, r2.Decision.ID)
		_, err2 := e.db.CaseOfDecision(ctx, r3.Decision.ID)
		if err1 == nil && err2 == nil {
			if c2.ID != c.ID || len(c2.Decisions) != 2 || c2.AmountAtRisk != 50_000_00 {
				t.Errorf("joined case %+v", c2)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hook did not open cases: %v, %v", err1, err2)
		}
		time.Sleep(10 * time.Millisecond)
	}
	all, err := e.svc.Find(ctx, cases.Filter{})
	if err != nil || len(all) != 2 {
		t.Fatalf("cases = %d, %v; want 2", len(all), err)
	}
	// Catching up again changes nothing.
	if err := e.svc.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if again, _ := e.svc.Case(ctx, c.ID); len(again.Events) != 2 {
		t.Errorf("events after a second catch-up: %d", len(again.Events))
	}
}

func TestServiceLabelsRetried(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if err := e.svc.Start(ctx, e.fg); err != nil {
		t.Fatal(err)
	}
	r := e.submit(t, "e1", "c1", "20000.00")
	if err := e.svc.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	id := cases.CaseID(r.Decision.ID)
	amy := cases.Actor{ID: "user:usr_amy", Username: "amy"}
	// Guard's store fails as the call closes the case: the case is closed
	// all the same, and the labels wait for the sweep.
	e.fg.mu.Lock()
	e.fg.broken = true
	e.fg.mu.Unlock()
	c, changed, err := e.svc.RecordCall(ctx, id, cases.Call{Outcome: cases.ConfirmedVictim, Key: "k1"}, amy)
	if err != nil || !changed || c.State != cases.StateClosed || !c.LabelsPending {
		t.Fatalf("call = %+v, %v, %v", c, changed, err)
	}
	if _, ok := e.timers.get(id); !ok {
		t.Error("no timer for the pending labels")
	}
	if _, err := e.db.Outcome(ctx, r.Decision.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Fatalf("outcome recorded while Guard was down: %v", err)
	}
	if _, err := e.svc.Sweep(ctx); err == nil {
		t.Error("a sweep with Guard down reported no error")
	}
	e.fg.mu.Lock()
	e.fg.broken = false
	e.fg.mu.Unlock()
	if n, err := e.svc.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep = %d, %v", n, err)
	}
	o, err := e.db.Outcome(ctx, r.Decision.ID)
	if err != nil || o.Kind != guard.OutcomeConfirmedFraud || o.AmountSaved != 20_000_00 || o.Source != "cases" {
		t.Fatalf("guard outcome %+v, %v", o, err)
	}
	c, _ = e.svc.Case(ctx, id)
	if c.LabelsPending || c.Events[len(c.Events)-1].Kind != cases.EventLabelled {
		t.Errorf("after the sweep: pending %v, last event %s", c.LabelsPending, c.Events[len(c.Events)-1].Kind)
	}
	if _, ok := e.timers.get(id); ok {
		t.Error("the timer of a finished case was not cancelled")
	}
	if n, err := e.svc.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second sweep = %d, %v", n, err)
	}
}

func TestServiceConcurrentClaims(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if err := e.svc.Start(ctx, e.fg); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		e.submit(t, fmt.Sprintf("e%d", i), fmt.Sprintf("c%d", i), "20000.00")
	}
	if err := e.svc.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	// Five callers ask for the next case at once: each case goes to one.
	var (
		mu  sync.Mutex
		got = map[string]string{}
		wg  sync.WaitGroup
	)
	for i := range 5 {
		wg.Go(func() {
			who := fmt.Sprintf("caller%d", i)
			c, err := e.svc.Next(ctx, cases.Actor{ID: "user:" + who, Username: who})
			if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
				return
			} else if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if prev, ok := got[c.ID]; ok {
				t.Errorf("case %s given to %s and %s", c.ID, prev, who)
			}
			got[c.ID] = who
		})
	}
	wg.Wait()
	if len(got) != 3 {
		t.Errorf("%d cases given out, want 3: %v", len(got), got)
	}
	load, err := e.svc.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var owners []string
	for who, n := range load {
		if n != 1 {
			t.Errorf("%s holds %d cases", who, n)
		}
		owners = append(owners, who)
	}
	if slices.Sort(owners); len(owners) != 3 {
		t.Errorf("owners %v", owners)
	}
}

func TestServiceNextBySkill(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if err := e.svc.Start(ctx, e.fg); err != nil {
		t.Fatal(err)
	}
	r := e.submit(t, "e1", "c1", "20000.00") // fake_investment: the investment queue
	if err := e.svc.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	for _, a := range []*cases.Agent{
		{Username: "lou", Skills: []string{cases.QueueLoan}, Capacity: 5, Active: true},
		{Username: "nil", Skills: []string{}, Capacity: 5, Active: true},
		{Username: "ivy", Skills: []string{cases.QueueInvestment}, Capacity: 5, Active: true},
	} {
		if err := e.svc.PutAgent(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	for _, who := range []string{"lou", "nil"} {
		if c, err := e.svc.Next(ctx, cases.Actor{ID: "user:" + who, Username: who}); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("%s took %v, %v; want none", who, c, err)
		}
	}
	if _, err := e.svc.Next(ctx, cases.Actor{ID: "key:k"}); xiaobao.ErrorCode(err) != xiaobao.EFORBIDDEN {
		t.Errorf("an API key took a case: %v", err)
	}
	c, err := e.svc.Next(ctx, cases.Actor{ID: "user:ivy", Username: "ivy"})
	if err != nil || c.ID != cases.CaseID(r.Decision.ID) || c.Assignee != "ivy" {
		t.Errorf("ivy took %+v, %v", c, err)
	}
	if err := e.svc.PutAgent(ctx, &cases.Agent{Username: "ivy", Skills: []string{"nowhere"}}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("unknown skill: %v", err)
	}
}

// TestServiceWarningCases: a scam warning from a service chat opens a case
// (no payment held yet) or joins the customer's open case of the same scam;
// a redelivered warning changes nothing.
func TestServiceWarningCases(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	if err := e.svc.Start(ctx, e.fg); err != nil {
		t.Fatal(err)
	}
	w := cases.Warning{CustomerID: "c9", Typology: "impersonated_police", Source: "service", Ref: "sess-1",
		Detail: "客户称公安要求转账到安全账户", At: e.clock.Now()}
	c, created, err := e.svc.OpenWarningCase(ctx, w)
	if err != nil || !created {
		t.Fatalf("open: %v, created %v", err, created)
	}
	if c.ID != cases.WarningCaseID(w) || c.CustomerID != "c9" || len(c.Decisions) != 0 || c.State != cases.StateOpen {
		t.Errorf("case %+v", c)
	}
	if want := e.clock.Now().Add(cases.DefaultPolicy().CallWithin); !c.SLADueAt.Equal(want.Truncate(time.Microsecond)) {
		t.Errorf("SLA %v, want %v", c.SLADueAt, want)
	}
	if at, ok := e.timers.get(c.ID); !ok || !at.Equal(c.SLADueAt) {
		t.Errorf("timer %v %v, want the SLA", at, ok)
	}
	again, created, err := e.svc.OpenWarningCase(ctx, w)
	if err != nil || created || len(again.Events) != len(c.Events) {
		t.Errorf("redelivery: created %v, %d events (was %d), %v", created, len(again.Events), len(c.Events), err)
	}

	// A held payment's case takes the warning of the same scam as an event.
	rec := e.submit(t, "h1", "c1", "20000.00")
	held, _, err := e.svc.OpenCase(ctx, rec)
	if err != nil {
		t.Fatal(err)
	}
	w2 := cases.Warning{CustomerID: "c1", Typology: "fake_investment", Source: "service", Ref: "sess-2", Detail: "老师带单", At: e.clock.Now()}
	joined, created, err := e.svc.OpenWarningCase(ctx, w2)
	if err != nil || !created || joined.ID != held.ID {
		t.Fatalf("join: %v, created %v, case %s want %s", err, created, joined.ID, held.ID)
	}
	warned := 0
	for _, ev := range joined.Events {
		if ev.Kind == cases.EventWarned {
			warned++
		}
	}
	if warned != 1 {
		t.Errorf("warned events %d, want 1", warned)
	}
	if _, created, err := e.svc.OpenWarningCase(ctx, w2); err != nil || created {
		t.Errorf("redelivered join: created %v, %v", created, err)
	}
	full, _ := e.svc.Case(ctx, held.ID)
	if len(full.Events) != len(joined.Events) {
		t.Errorf("redelivered join added events: %d, want %d", len(full.Events), len(joined.Events))
	}

	if _, _, err := e.svc.OpenWarningCase(ctx, cases.Warning{Source: "service", Ref: "s"}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("no customer: %v, want invalid", err)
	}
}
