// Package storetest is the conformance suite that every store engine runs
// (sqlite, postgres), in the manner of River's riverdrivertest: the engines
// share one definition of what the guard.Store and auth.KeyStore methods
// mean, so they cannot drift apart.
//
// An engine's test calls Exercise with a function that opens a fresh, empty
// store for one (sub)test, and BenchSaveRecords for its benchmark.
package storetest

import (
	"fmt"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Store is what an engine implements.
type Store interface {
	guard.Store
	auth.KeyStore
}

// BaseTime is the occurred_at of the record with seq 0 in NewRecord.
var BaseTime = time.Date(2025, 3, 1, 2, 0, 0, 0, time.UTC)

// NewRecord returns a realistic record for seq: a transfer event of about
// 400 bytes and a remind decision with two reasons, as the service would
// store them. Its ids derive from seq (evt_…, dec_…), it occurs seq seconds
// after BaseTime (plus a few milliseconds), and its customer, device and
// counterparty cycle through small sets so filters have something to match.
// Tests change its fields to shape the data they need.
func NewRecord(seq int64) *guard.Record {
	s := fmt.Sprintf("%012d", seq)
	cust := "cus_" + strconv.FormatInt(seq%7, 10)
	dev := "dev_" + strconv.FormatInt(seq%5, 10)
	acct := "62220202001122" + fmt.Sprintf("%05d", seq%3)
	at := BaseTime.Add(time.Duration(seq)*time.Second + time.Duration(seq%1000)*time.Millisecond)
	raw := fmt.Appendf(nil, `{"event_id":"evt_%s","type":"transfer","occurred_at":%q,`+
		`"customer":{"id":%q,"age":67,"registered_at":"2019-05-01T00:00:00+08:00","phone":"13800138000"},`+
		`"device":{"id":%q,"ip":"203.0.113.7"},"amount":"5000.00","currency":"CNY",`+
		`"counterparty":{"account":%q,"name":"张三"},"memo":"投资理财 保证金 第%d笔","channel":"mobile_app","session_id":"ses_%s"}`,
		s, at.In(time.FixedZone("", 8*3600)).Format("2006-01-02T15:04:05.000Z07:00"), cust, dev, acct, seq, s)
	ev := &guard.Event{
		ID:           "evt_" + s,
		Type:         guard.Transfer,
		OccurredAt:   at,
		Offset:       8 * 3600,
		Customer:     guard.Customer{ID: cust, Age: 67, Phone: "13800138000"},
		Device:       guard.Device{ID: dev, IP: "203.0.113.7"},
		Amount:       500000,
		HasAmount:    true,
		Currency:     "CNY",
		Counterparty: guard.Counterparty{Account: acct, Name: "张三"},
		Memo:         "投资理财 保证金",
		Raw:          raw,
	}
	model := 0.42
	d := &guard.Decision{
		ID:         "dec_" + s,
		EventID:    ev.ID,
		Seq:        seq,
		CustomerID: cust,
		EventType:  guard.Transfer,
		OccurredAt: at,
		Action:     guard.Remind,
		Score:      0.61,
		Typology:   "investment_scam",
		Reasons: []guard.Reason{
			{Rule: "elderly_large_transfer", Code: "R101", Detail: "客户 67 岁，单笔转账 5000.00 元", Typology: "investment_scam",
				Action: guard.Remind, Score: 0.35, Values: map[string]any{"age": 67.0, "amount": 5000.0}},
			{Rule: "new_payee", Code: "R204", Detail: "首次向该账户转账", Action: guard.Remind, Score: 0.26,
				Values: map[string]any{"payee_age_days": 0.0, "first_transfer": true}},
		},
		Message: &guard.Message{ZH: "请警惕投资理财类诈骗。", EN: "Beware of investment scams."},
		Explanation: &guard.Explanation{
			PackVersions: map[string]int{"core": 3},
			RuleScore:    0.61, ModelScore: &model, Model: "gbm-2025-02",
			RuleAction: guard.Remind, ScoreAction: guard.Remind,
		},
		DecidedAt: at.Add(3 * time.Millisecond),
	}
	return &guard.Record{Seq: seq, Event: ev, Decision: d}
}

// NewRecords returns n records from NewRecord with seq first, first+1, ….
func NewRecords(first int64, n int) []*guard.Record {
	recs := make([]*guard.Record, n)
	for i := range recs {
		recs[i] = NewRecord(first + int64(i))
	}
	return recs
}

// setEvent sets the event id of rec, in both event and decision.
func setEvent(rec *guard.Record, id string) {
	rec.Event.ID = id
	rec.Decision.EventID = id
}
