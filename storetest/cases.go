package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/outbox"
)

// CaseStore is what an engine implements for cases: the case store, and
// the outbox that case changes write to in the same transaction.
type CaseStore interface {
	cases.Store
	outbox.Store
}

// caseAt is the decision time of the suite's holds.
var caseAt = time.Date(2026, 6, 1, 2, 0, 0, 123456000, time.UTC)

// HoldRecord returns the record of a held (or blocked) transfer of amount
// by customer, decided at caseAt, as Guard hands it to cases.
func HoldRecord(id, customer, typology string, action guard.Action, amount xiaobao.Money) *guard.Record {
	d := &guard.Decision{ID: "dec_" + id, EventID: "evt_" + id, Seq: 1, CustomerID: customer, EventType: guard.Transfer,
		OccurredAt: caseAt.Add(-time.Second), Action: action, Typology: typology, DecidedAt: caseAt}
	if action == guard.Hold {
		d.HoldMinutes = 24 * 60
	}
	ev := &guard.Event{ID: d.EventID, Type: guard.Transfer, OccurredAt: d.OccurredAt, Amount: amount, HasAmount: true, Currency: "CNY",
		Customer: guard.Customer{ID: customer, Age: 71}}
	return &guard.Record{Seq: 1, Event: ev, Decision: d}
}

// ExerciseCases runs the case-store conformance suite; open is as for
// Exercise.
func ExerciseCases(t *testing.T, open func(t *testing.T) CaseStore) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	p := cases.DefaultPolicy()
	newCase := func(id, customer, typology string, action guard.Action, amount xiaobao.Money) *cases.Case {
		t.Helper()
		c, err := cases.NewCase(HoldRecord(id, customer, typology, action, amount), p, caseAt)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// update applies a workflow step to the stored case and stores it.
	update := func(id string, fn func(c *cases.Case) (cases.Step, error)) *cases.Case {
		t.Helper()
		c, err := s.Case(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		st, err := fn(c)
		if err != nil {
			t.Fatal(err)
		}
		c.Version++
		if err := s.UpdateCase(ctx, cases.Update{Case: c, Events: st.Events, Added: st.Added, Messages: st.Messages}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	amy := cases.Actor{ID: "user:usr_amy", Username: "amy"}

	// Create and read back.
	c1 := newCase("1", "cus_1", "fake_investment", guard.Hold, 500_000)
	if err := s.CreateCase(ctx, c1); err != nil {
		t.Fatal(err)
	}
	got, err := s.Case(ctx, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c1, got); diff != "" {
		t.Errorf("case read back (-want +got):\n%s", diff)
	}
	if _, err := s.Case(ctx, "case_nope"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("missing case: %v", err)
	}
	if byDec, err := s.CaseOfDecision(ctx, "dec_1"); err != nil || byDec.ID != c1.ID {
		t.Errorf("CaseOfDecision = %v, %v", byDec, err)
	}
	if _, err := s.CaseOfDecision(ctx, "dec_nope"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("CaseOfDecision of a decision in no case: %v", err)
	}
	if open, err := s.OpenCaseOf(ctx, "cus_1", "fake_investment"); err != nil || open.ID != c1.ID {
		t.Errorf("OpenCaseOf = %v, %v", open, err)
	}
	if _, err := s.OpenCaseOf(ctx, "cus_1", "fake_loan"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("OpenCaseOf another typology: %v", err)
	}

	// One open case per customer and scam; a decision is in one case.
	if err := s.CreateCase(ctx, newCase("2", "cus_1", "fake_investment", guard.Hold, 1)); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("second open case of a customer and typology: %v", err)
	}
	if err := s.CreateCase(ctx, c1); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("same case again: %v", err)
	}
	dup := newCase("1", "cus_9", "fake_loan", guard.Hold, 1)
	dup.ID = "case_other"
	if err := s.CreateCase(ctx, dup); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("a decision in two cases: %v", err)
	}
	if _, err := s.Case(ctx, "case_other"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("a refused case was partly stored: %v", err)
	}

	// Join a second payment, claim, then close: statuses, events and the
	// outbox messages land together.
	c1 = update(c1.ID, func(c *cases.Case) (cases.Step, error) {
		return cases.Join(c, HoldRecord("2", "cus_1", "fake_investment", guard.Hold, 200_000), p, caseAt.Add(time.Minute))
	})
	c1 = update(c1.ID, func(c *cases.Case) (cases.Step, error) {
		return cases.Assign(c, "amy", amy, "claim-1", caseAt.Add(2*time.Minute))
	})
	got, err = s.Case(ctx, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c1, got); diff != "" {
		t.Errorf("joined and assigned case read back (-want +got):\n%s", diff)
	}
	// A stale version changes nothing.
	stale := *got
	stale.Assignee = "bob"
	if err := s.UpdateCase(ctx, cases.Update{Case: &stale, Events: []cases.Event{{At: caseAt, Actor: "x", Kind: cases.EventNote, Note: "stale"}}}); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("stale version: %v", err)
	}
	// A used request key changes nothing either.
	again := *got
	again.Version++
	if err := s.UpdateCase(ctx, cases.Update{Case: &again, Events: []cases.Event{{At: caseAt, Actor: "x", Kind: cases.EventNote, Key: "claim-1"}}}); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("reused key: %v", err)
	}
	if now, _ := s.Case(ctx, c1.ID); now.Version != got.Version || len(now.Events) != len(got.Events) {
		t.Errorf("a refused update changed the case: version %d, %d events", now.Version, len(now.Events))
	}
	missing := *got
	missing.ID, missing.Version = "case_nope", 2
	if err := s.UpdateCase(ctx, cases.Update{Case: &missing}); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("update of a missing case: %v", err)
	}

	// Concurrent updates of one version: exactly one wins.
	var wg sync.WaitGroup
	wins := make(chan int, 8)
	for i := range 8 {
		wg.Go(func() {
			c, err := s.Case(ctx, c1.ID)
			if err != nil {
				t.Error(err)
				return
			}
			c.Version = got.Version + 1
			err = s.UpdateCase(ctx, cases.Update{Case: c, Events: []cases.Event{{At: caseAt, Actor: "x", Kind: cases.EventNote, Note: "race"}}})
			if err == nil {
				wins <- i
			} else if xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	close(wins)
	if n := len(wins); n != 1 {
		t.Errorf("%d concurrent updates of one version won, want 1", n)
	}

	c1 = update(c1.ID, func(c *cases.Case) (cases.Step, error) {
		return cases.RecordCall(c, cases.Call{Outcome: cases.Dissuaded, Note: "客户同意取消", Key: "call-1"}, amy, p, caseAt.Add(10*time.Minute))
	})
	got, err = s.Case(ctx, c1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c1, got); diff != "" {
		t.Errorf("closed case read back (-want +got):\n%s", diff)
	}
	for _, d := range got.Decisions {
		if d.Status != cases.Cancelled {
			t.Errorf("decision %s is %s, want cancelled", d.DecisionID, d.Status)
		}
		m, err := s.GetOutbox(ctx, c1.ID+":closed:"+d.DecisionID)
		if err != nil {
			t.Fatalf("outbox message of %s: %v", d.DecisionID, err)
		}
		var body map[string]any
		if m.Sink != cases.SinkPayments || m.Topic != cases.TopicCancelled || m.Key != c1.ID || json.Unmarshal(m.Payload, &body) != nil || body["decision_id"] != d.DecisionID {
			t.Errorf("outbox message %+v", m)
		}
	}
	if m, err := s.GetOutbox(ctx, c1.ID+":closed:notify"); err != nil || m.Topic != cases.TopicNotify {
		t.Errorf("customer notice: %+v, %v", m, err)
	}
	// Closed: the customer's next hold of the same scam opens a new case.
	if _, err := s.OpenCaseOf(ctx, "cus_1", "fake_investment"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("OpenCaseOf after closing: %v", err)
	}
	c3 := newCase("3", "cus_1", "fake_investment", guard.Hold, 300_000)
	if err := s.CreateCase(ctx, c3); err != nil {
		t.Errorf("new case after closing: %v", err)
	}

	// More cases for the queries.
	c4 := newCase("4", "cus_4", "listed_entity", guard.Block, 80_000_00)
	c5 := newCase("5", "cus_5", "fake_loan", guard.Hold, 1_000_00)
	c5.CustomerAge = 30
	c5.Queue = p.QueueOf(c5)
	for _, c := range []*cases.Case{c4, c5} {
		if err := s.CreateCase(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	c5 = update(c5.ID, func(c *cases.Case) (cases.Step, error) { return cases.Assign(c, "amy", amy, "", caseAt) })
	ids := func(cs []*cases.Case) []string {
		out := []string{}
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	slaLater := caseAt.Add(time.Hour)
	yes, no := true, false
	for _, tt := range []struct {
		name string
		f    cases.Filter
		want []string
	}{
		{"all, by SLA then id", cases.Filter{}, []string{c1.ID, c3.ID, c4.ID, c5.ID}},
		{"open", cases.Filter{OpenOnly: true}, []string{c3.ID, c4.ID, c5.ID}},
		{"closed", cases.Filter{State: cases.StateClosed}, []string{c1.ID}},
		{"queue", cases.Filter{Queue: cases.QueueLoan}, []string{c5.ID}},
		{"assignee", cases.Filter{Assignee: "amy"}, []string{c1.ID, c5.ID}},
		{"unassigned open", cases.Filter{Unassigned: true, OpenOnly: true}, []string{c3.ID, c4.ID}},
		{"customer", cases.Filter{CustomerID: "cus_1"}, []string{c1.ID, c3.ID}},
		{"typology", cases.Filter{Typology: "listed_entity"}, []string{c4.ID}},
		{"overdue", cases.Filter{Overdue: &yes, Now: slaLater}, []string{c3.ID, c4.ID, c5.ID}},
		{"not overdue", cases.Filter{Overdue: &no, Now: slaLater}, []string{c1.ID}},
		{"not yet overdue", cases.Filter{Overdue: &yes, Now: caseAt}, []string{}},
		{"limit", cases.Filter{Limit: 2}, []string{c1.ID, c3.ID}},
		{"page after", cases.Filter{AfterDue: c3.SLADueAt, AfterID: c3.ID, Limit: 2}, []string{c4.ID, c5.ID}},
	} {
		cs, err := s.FindCases(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if diff := cmp.Diff(tt.want, ids(cs)); diff != "" {
			t.Errorf("FindCases %s (-want +got):\n%s", tt.name, diff)
		}
		for _, c := range cs {
			if len(c.Decisions) == 0 || c.Events != nil {
				t.Errorf("FindCases %s: case %s has %d decisions, events %v", tt.name, c.ID, len(c.Decisions), c.Events)
			}
		}
	}

	// Deadlines: the closed case waits for its labels; the open ones for
	// their SLA.
	due, err := s.DueCases(ctx, caseAt.Add(11*time.Minute), 10)
	if err != nil || len(due) != 1 || due[0] != c1.ID {
		t.Errorf("DueCases before any SLA = %v, %v; want the case awaiting labels", due, err)
	}
	due, err = s.DueCases(ctx, slaLater, 10)
	if err != nil || len(due) != 4 {
		t.Errorf("DueCases after the SLA = %v, %v", due, err)
	}
	if due, _ := s.DueCases(ctx, slaLater, 2); len(due) != 2 {
		t.Errorf("DueCases limit: %v", due)
	}

	qs, err := s.QueueStats(ctx, slaLater)
	if err != nil {
		t.Fatal(err)
	}
	byQueue := map[string]cases.QueueStat{}
	for _, q := range qs {
		byQueue[q.Queue] = q
	}
	if v := byQueue[cases.QueueVulnerable]; v.Open != 2 || v.Unassigned != 2 || v.Overdue != 2 || v.AtRisk != 80_000_00+300_000 || v.NextDueAt == nil {
		t.Errorf("vulnerable queue %+v", v)
	}
	if l := byQueue[cases.QueueLoan]; l.Open != 1 || l.Unassigned != 0 || l.AtRisk != 1_000_00 {
		t.Errorf("loan queue %+v", l)
	}
	if load, err := s.Load(ctx); err != nil || len(load) != 1 || load["amy"] != 1 {
		t.Errorf("Load = %v, %v", load, err)
	}

	rows, err := s.Figures(ctx, caseAt, caseAt.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]cases.FigureRow{{Resolution: cases.ResolvedDissuaded, Typology: "fake_investment", Cases: 1, Saved: 700_000}}, rows); diff != "" {
		t.Errorf("Figures (-want +got):\n%s", diff)
	}
	if rows, err := s.Figures(ctx, caseAt.Add(time.Hour), caseAt.Add(2*time.Hour)); err != nil || len(rows) != 0 {
		t.Errorf("Figures of an empty period = %v, %v", rows, err)
	}

	// Agents.
	if as, err := s.Agents(ctx); err != nil || len(as) != 0 {
		t.Errorf("Agents of a new store = %v, %v", as, err)
	}
	a := &cases.Agent{Username: "amy", Skills: []string{"investment", "vulnerable"}, Capacity: 5, Active: true, UpdatedAt: caseAt}
	if err := s.PutAgent(ctx, a); err != nil {
		t.Fatal(err)
	}
	b := &cases.Agent{Username: "bob", Skills: []string{}, Capacity: 0, Active: false, UpdatedAt: caseAt}
	if err := s.PutAgent(ctx, b); err != nil {
		t.Fatal(err)
	}
	a2 := &cases.Agent{Username: "amy", Skills: []string{"*"}, Capacity: 9, Active: true, UpdatedAt: caseAt.Add(time.Hour)}
	if err := s.PutAgent(ctx, a2); err != nil {
		t.Fatal(err)
	}
	as, err := s.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]*cases.Agent{a2, b}, as); diff != "" {
		t.Errorf("Agents (-want +got):\n%s", diff)
	}

	// The catch-up cursor only moves forward.
	if seq, err := s.CaseCursor(ctx); err != nil || seq != 0 {
		t.Errorf("new cursor = %d, %v", seq, err)
	}
	for _, set := range []int64{10, 7, 12} {
		if err := s.SetCaseCursor(ctx, set); err != nil {
			t.Fatal(err)
		}
	}
	if seq, err := s.CaseCursor(ctx); err != nil || seq != 12 {
		t.Errorf("cursor = %d, %v; want 12", seq, err)
	}
}
