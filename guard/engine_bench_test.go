package guard

import (
	"fmt"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

const smokePack = `
pack: smoke
description: {zh: 测试, en: test}
rules:
  - id: NEW_PAYEE_BIG
    name: {zh: 新收款人大额, en: big to new payee}
    description: {zh: 新收款人且金额大, en: new payee and a large amount}
    nodes: [transfer]
    when: payee.is_new && event.amount >= 5000 && customer.amount_to_avg > 3
    score: 0.5
    action: remind
    typology: fake_investment
    code: NEW_PAYEE_BIG
`

func benchEvents(n int) []*Event {
	base := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
	evs := make([]*Event, n)
	for i := range evs {
		evs[i] = &Event{
			ID: fmt.Sprintf("e%d", i), Type: Transfer, OccurredAt: base.Add(time.Duration(i) * time.Second),
			Offset: 8 * 3600, Customer: Customer{ID: fmt.Sprintf("c%d", i%50000), Age: 30},
			Device: Device{ID: fmt.Sprintf("d%d", i%60000), IP: fmt.Sprintf("10.0.%d.%d", i%200, i%250)},
			Amount: xiaobao.Money(100 * (i%9000 + 100)), HasAmount: true, Currency: "CNY",
			Counterparty: Counterparty{Account: fmt.Sprintf("62220%011d", i%20000)},
		}
	}
	return evs
}

func BenchmarkDecideSmoke(b *testing.B) {
	p, err := ParsePack([]byte(smokePack))
	if err != nil {
		b.Fatal(err)
	}
	rs, _ := NewRuleset(p)
	e := NewEngine(rs)
	evs := benchEvents(1 << 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Decide(evs[i&(1<<16-1)])
	}
}

func BenchmarkDecide40Rules(b *testing.B) {
	src := "pack: smoke\ndescription: {zh: 测试, en: test}\nrules:\n"
	conds := []string{
		"payee.is_new && event.amount >= 5000 && customer.amount_to_avg > 3",
		"customer.out_count_1h >= 5 && customer.payees_1h >= 3",
		"payee.payers_24h >= 8 && payee.seen_days < 7",
		"customer.elderly && payee.is_new && event.amount >= 20000",
		"customer.hours_since_device_change < 24 && event.amount >= 3000 && payee.is_new",
		"event.night && event.round && customer.night_round_payees_7d >= 3",
		"memo.safe_account || memo.police",
		"lists.block_account",
	}
	for i := 0; i < 40; i++ {
		src += fmt.Sprintf("  - {id: R%d, name: {zh: a, en: a}, description: {zh: a, en: a}, nodes: [transfer], when: '%s', score: 0.1, action: remind, typology: t%d, code: C%d}\n", i, conds[i%len(conds)], i%5, i)
	}
	p, err := ParsePack([]byte(src))
	if err != nil {
		b.Fatal(err)
	}
	rs, _ := NewRuleset(p)
	e := NewEngine(rs)
	evs := benchEvents(1 << 16)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.Decide(evs[i&(1<<16-1)])
	}
}
