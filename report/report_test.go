package report

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// at returns a time on 2026-11-<day> at hh:00 China time.
func at(day, hh int) time.Time { return time.Date(2026, 11, day, hh, 0, 0, 0, CST) }

func dec(t time.Time, node guard.EventType, a guard.Action, typ string, yuan int64, cust string) Decision {
	return Decision{OccurredAt: t, Node: node, Action: a, Typology: typ, Amount: xiaobao.Money(yuan * 100), CustomerID: cust}
}

func TestSummarize(t *testing.T) {
	r := New(Options{})
	r.AddDecisions(
		dec(at(2, 10), guard.Login, guard.Allow, "", 0, "c1"),
		dec(at(2, 11), guard.Transfer, guard.Remind, "refund_scam", 100, "c1"),
		dec(at(3, 9), guard.Transfer, guard.Friction, "refund_scam", 200, "c2"),
		dec(at(3, 23), guard.Payment, guard.CoolingOff, "fake_investment", 300, "c3"),
		dec(at(4, 1), guard.Withdrawal, guard.Hold, "gambling", 400, "g1"),
		dec(at(4, 2), guard.Withdrawal, guard.Hold, "gambling", 500, "g1"), // same gambler, same day
		dec(at(5, 2), guard.Transfer, guard.Block, "gambling", 600, "g1"),  // same gambler, next day
		dec(at(5, 3), guard.Transfer, guard.Remind, "gambling", 50, "g2"),
		dec(at(10, 12), guard.Transfer, guard.Hold, "impersonated_police", 9000, "c4"), // outside
		dec(at(1, 23), guard.Transfer, guard.Hold, "gambling", 70, "g3"),               // the period before
		// 23:30 UTC on the 4th is the 5th in China.
		dec(time.Date(2026, 11, 4, 23, 30, 0, 0, time.UTC), guard.Login, guard.Allow, "", 0, "c5"),
	)
	r.AddOutcome(Outcome{DecisionID: "d1", Kind: guard.OutcomeDissuaded, Typology: "gambling", Saved: 400_00, DecidedAt: at(4, 1), Node: guard.Withdrawal})
	r.AddOutcome(Outcome{DecisionID: "d2", Kind: guard.OutcomeFalseAlarm, Typology: "gambling", DecidedAt: at(4, 2), Node: guard.Withdrawal})
	// Replaced: the first counts no more.
	r.AddOutcome(Outcome{DecisionID: "d3", Kind: guard.OutcomeConfirmedFraud, Typology: "gambling", Lost: 600_00, DecidedAt: at(5, 2), Node: guard.Transfer})
	r.AddOutcome(Outcome{DecisionID: "d3", Kind: guard.OutcomeDissuaded, Typology: "gambling", Saved: 600_00, DecidedAt: at(5, 2), Node: guard.Transfer})
	r.AddOutcome(Outcome{DecisionID: "d3", Kind: guard.OutcomeDissuaded, Typology: "gambling", Saved: 600_00, DecidedAt: at(5, 2), Node: guard.Transfer})
	// Unknown decision: counted on the day recorded, at node unknown.
	r.AddOutcome(Outcome{DecisionID: "d4", Kind: guard.OutcomeProceeded, Typology: "fake_investment", Lost: 300_00, RecordedAt: at(3, 23)})
	r.ObserveLatency(at(3, 1), 2*time.Millisecond)
	r.ObserveLatency(at(3, 1), 2*time.Millisecond)
	r.ObserveLatency(at(4, 1), 40*time.Millisecond)

	s, err := r.Summarize(Query{From: at(2, 0), To: at(6, 0), Bucket: Day})
	if err != nil {
		t.Fatal(err)
	}
	want := Figures{
		Decisions: 9, Reminders: 2, Friction: 1, CoolingOff: 1, Holds: 2, Blocks: 1, Interventions: 7,
		MoneyStopped: Yuan(1800_00), Outcomes: 4, ConfirmedFraud: 0, FalseAlarms: 1, Dissuaded: 2, DissuasionCalls: 3,
		FalseAlarmRate: 0.25, LossesAvoided: Yuan(1000_00), LossesIncurred: Yuan(300_00),
		SuspectedGamblers: 2, GamblingFundsStopped: Yuan(1500_00),
	}
	if s.Totals != want {
		t.Errorf("totals\n got %+v\nwant %+v", s.Totals, want)
	}
	if s.Previous.Holds != 1 || s.Previous.SuspectedGamblers != 1 || s.Previous.Decisions != 1 {
		t.Errorf("previous period = %+v, want the one hold of g3", s.Previous)
	}
	if s.Days != 4 || len(s.Series) != 4 || !s.Series[0].Start.Equal(at(2, 0)) {
		t.Fatalf("series: days %d, %d points, first %v", s.Days, len(s.Series), s.Series[0].Start)
	}
	perDay := []struct{ decisions, gamblers, latency int64 }{{2, 0, 0}, {2, 0, 2}, {2, 1, 1}, {3, 2, 0}}
	for i, w := range perDay {
		p := s.Series[i]
		if p.Decisions != w.decisions || p.SuspectedGamblers != w.gamblers || p.Latency.Count != w.latency {
			t.Errorf("day %d: decisions %d gamblers %d latency %d, want %+v", i, p.Decisions, p.SuspectedGamblers, p.Latency.Count, w)
		}
	}
	if s.Latency.Count != 3 || s.Latency.P50Ms < 2 || s.Latency.P50Ms > 2.4 || s.Latency.P99Ms < 40 || s.Latency.P99Ms > 48 {
		t.Errorf("latency = %+v", s.Latency)
	}
	if s.ByTypology[0].Key != "gambling" || s.ByTypology[0].SuspectedGamblers != 2 || s.ByTypology[0].LossesAvoided != Yuan(1000_00) {
		t.Errorf("by typology: first %+v", s.ByTypology[0])
	}
	nodes := map[string]Figures{}
	for _, g := range s.ByNode {
		nodes[g.Key] = g.Figures
	}
	if nodes["withdrawal"].Holds != 2 || nodes["unknown"].DissuasionCalls != 1 || nodes["login"].Decisions != 2 {
		t.Errorf("by node: %+v", nodes)
	}
	b, _ := json.Marshal(s.Totals)
	if !strings.Contains(string(b), `"losses_avoided":"1000.00"`) {
		t.Errorf("money is not a decimal string: %s", b)
	}
}

func TestBuckets(t *testing.T) {
	r := New(Options{})
	for d := 1; d <= 30; d++ {
		r.AddDecisions(dec(at(d, 12), guard.Transfer, guard.Remind, "x", 1, "c"))
	}
	tests := []struct {
		bucket Bucket
		from   time.Time
		to     time.Time
		starts []string
		first  int64
	}{
		// 2026-11-01 is a Sunday: the first week is one day.
		{Week, at(1, 0), at(16, 0), []string{"2026-11-01", "2026-11-02", "2026-11-09"}, 1},
		{Month, at(1, 0), time.Date(2027, 1, 1, 0, 0, 0, 0, CST), []string{"2026-11-01", "2026-12-01"}, 30},
		{Day, at(29, 5), at(30, 5), []string{"2026-11-29", "2026-11-30"}, 1},
	}
	for _, tt := range tests {
		t.Run(string(tt.bucket), func(t *testing.T) {
			s, err := r.Summarize(Query{From: tt.from, To: tt.to, Bucket: tt.bucket})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range s.Series {
				got = append(got, p.Start.Format("2006-01-02"))
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.starts) || s.Series[0].Reminders != tt.first {
				t.Errorf("starts %v first %d, want %v %d", got, s.Series[0].Reminders, tt.starts, tt.first)
			}
		})
	}
}

func TestSummarizeInvalid(t *testing.T) {
	r := New(Options{})
	tests := []struct {
		name  string
		q     Query
		field string
	}{
		{"bucket", Query{From: at(1, 0), To: at(2, 0), Bucket: "hour"}, "bucket"},
		{"reversed", Query{From: at(2, 0), To: at(1, 0)}, "to"},
		{"zero", Query{}, "to"},
		{"too long", Query{From: at(1, 0), To: at(1, 0).AddDate(4, 0, 0)}, "to"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Summarize(tt.q)
			fe := xiaobao.ErrorFields(err)
			if xiaobao.ErrorCode(err) != xiaobao.EINVALID || len(fe) != 1 || fe[0].Field != tt.field {
				t.Errorf("err = %v, want invalid %s", err, tt.field)
			}
		})
	}
}

func TestLatencyBuckets(t *testing.T) {
	for _, d := range []time.Duration{time.Microsecond, 10 * time.Microsecond, 11 * time.Microsecond, time.Millisecond, 3 * time.Second, time.Hour} {
		b := latBucket(d)
		if d > latMin && b < latBuckets-1 && (latBound(b) < d || latBound(b-1) >= d) {
			t.Errorf("%v in bucket %d (%v, %v]", d, b, latBound(b-1), latBound(b))
		}
	}
	if latBucket(time.Hour) != latBuckets-1 {
		t.Error("an hour is not in the last bucket")
	}
}

func TestRecords(t *testing.T) {
	r := New(Options{})
	ev := &guard.Event{ID: "e1", Type: guard.Payment, OccurredAt: at(7, 8).UTC(), Amount: 12345}
	r.AddRecords([]*guard.Record{
		{Seq: 1, Event: ev, Decision: &guard.Decision{CustomerID: "c", EventType: guard.Payment, OccurredAt: ev.OccurredAt, Action: guard.Hold, Typology: "t"}},
		{Seq: 2, Event: ev}, // no decision: skipped
	})
	s, err := r.Summarize(Query{From: at(7, 0), To: at(8, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Totals.Holds != 1 || s.Totals.MoneyStopped != 12345 || s.ByNode[0].Key != "payment" {
		t.Errorf("totals %+v by node %+v", s.Totals, s.ByNode)
	}
}
