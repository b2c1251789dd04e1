package report

import (
	"fmt"
	"testing"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// pack returns a one-rule pack: transfers above min yuan get action.
func pack(t testing.TB, min int, action, mode string) *guard.Ruleset {
	t.Helper()
	src := fmt.Sprintf(`pack: big
description: {zh: 大额, en: Big}
rules:
  - id: BIG_TRANSFER
    name: {zh: 大额转账, en: Big transfer}
    description: {zh: 大额转账, en: A big transfer}
    nodes: [transfer]
    when: event.amount > %d
    score: 0.99
    action: %s
    typology: big
    code: BIG_TRANSFER
    mode: %s
`, min, action, mode)
	p, err := guard.ParsePack([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	rs, err := guard.NewRuleset(p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestBacktest(t *testing.T) {
	ev := func(i int, yuan int64) *guard.Event {
		return &guard.Event{ID: fmt.Sprintf("e%d", i), Type: guard.Transfer, OccurredAt: at(3, i%24).UTC(),
			Customer: guard.Customer{ID: fmt.Sprintf("c%d", i), Age: -1}, Amount: xiaobao.Money(yuan * 100), HasAmount: true,
			Counterparty: guard.Counterparty{Account: fmt.Sprintf("62220200%08d", i)}}
	}
	items := []BacktestItem{
		{Event: ev(1, 500)},
		{Event: ev(2, 5000), Outcome: guard.OutcomeFalseAlarm},
		{Event: ev(3, 50000), Outcome: guard.OutcomeDissuaded},
		{Event: ev(4, 20000), Outcome: guard.OutcomeConfirmedFraud},
	}
	tests := []struct {
		name                            string
		draft                           *guard.Ruleset
		changed, stronger, weaker       int64
		draftStopped, draftFalseFlagged int64
		draftHits                       int64
	}{
		{"stricter", pack(t, 1000, "hold", "active"), 1, 1, 0, 2, 1, 3},
		{"same", pack(t, 10000, "hold", "active"), 0, 0, 0, 2, 0, 2},
		{"looser", pack(t, 30000, "hold", "active"), 1, 0, 1, 1, 0, 1},
		{"shadow", pack(t, 1000, "hold", "shadow"), 2, 0, 2, 0, 0, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Backtest(items, BacktestConfig{Active: pack(t, 10000, "hold", "active"), Draft: tt.draft})
			if err != nil {
				t.Fatal(err)
			}
			if res.Events != 4 || res.Fraud != 2 || res.FalseAlarms != 1 {
				t.Errorf("events %d fraud %d false alarms %d", res.Events, res.Fraud, res.FalseAlarms)
			}
			if res.Active.FraudStopped != 2 || res.Active.Actions["hold"] != 2 || res.Active.Rules[0].Hits != 2 {
				t.Errorf("active side %+v", res.Active)
			}
			if res.ChangedCount != tt.changed || res.Stronger != tt.stronger || res.Weaker != tt.weaker || len(res.Changed) != int(tt.changed) {
				t.Errorf("changed %d (+%d −%d, %d listed), want %d +%d −%d", res.ChangedCount, res.Stronger, res.Weaker, len(res.Changed), tt.changed, tt.stronger, tt.weaker)
			}
			d := res.Draft
			if d.FraudStopped != tt.draftStopped || d.FalseAlarmsFlagged != tt.draftFalseFlagged || d.Rules[0].Hits != tt.draftHits {
				t.Errorf("draft: stopped %d false flagged %d hits %d, want %d %d %d", d.FraudStopped, d.FalseAlarmsFlagged, d.Rules[0].Hits, tt.draftStopped, tt.draftFalseFlagged, tt.draftHits)
			}
		})
	}
	if _, err := Backtest(items, BacktestConfig{}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("no rulesets: err = %v", err)
	}
}
