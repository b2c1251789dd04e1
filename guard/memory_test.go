package guard

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// BenchmarkStateMemory measures feature state per active customer: each
// customer has a realistic month (logins, transfers to a few payees,
// merchant payments on shared terminals, one or two devices). Run with
// -benchtime=1x; XIAOBAO_MEM_CUSTOMERS overrides the population.
func BenchmarkStateMemory(b *testing.B) {
	customers := 1_000_000
	if testing.Short() {
		customers = 100_000
	}
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		e := NewEngine(nil)
		r := rand.New(rand.NewPCG(1, 2))
		start := t0
		ev := &Event{Offset: 8 * 3600, Currency: "CNY"}
		// Events are generated in time order across the population: 10 per
		// customer over 30 days.
		const perCustomer = 10
		n := customers * perCustomer
		step := 30 * 24 * time.Hour / time.Duration(n)
		for k := 0; k < n; k++ {
			c := r.IntN(customers)
			*ev = Event{ID: "x", OccurredAt: start.Add(time.Duration(k) * step), Offset: 8 * 3600, Currency: "CNY",
				Customer: Customer{ID: fmt.Sprintf("cust-%08d", c), Age: 20 + c%60}}
			ev.Device.ID = fmt.Sprintf("dev-%08d-%d", c, r.IntN(2))
			ev.Device.IP = fmt.Sprintf("10.%d.%d.%d", c%200, c%250, r.IntN(4))
			switch x := r.IntN(10); {
			case x < 3:
				ev.Type = Login
			case x < 6:
				ev.Type = Payment
				ev.Amount, ev.HasAmount = xiaobao.Money(100*(1+r.IntN(300))), true
				ev.Counterparty.Account = fmt.Sprintf("term-%06d", r.IntN(customers/5))
			case x < 9:
				ev.Type = Transfer
				ev.Amount, ev.HasAmount = xiaobao.Money(100*(1+r.IntN(3000))), true
				// Family and landlords: a few payees each, some shared.
				ev.Counterparty.Account = fmt.Sprintf("6222%012d", (c+r.IntN(3))/2*3+r.IntN(3))
			default:
				ev.Type = Repayment
				ev.Amount, ev.HasAmount = 50000, true
			}
			e.state.observe(ev, &e.env)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		// Attribute everything (devices, IPs, payees too) to customers: the
		// conservative reading of "per active customer".
		per := float64(after.HeapAlloc-before.HeapAlloc) / float64(e.state.Customers())
		b.ReportMetric(per, "bytes/customer")
		b.ReportMetric(float64(e.state.Customers()), "customers")
		b.ReportMetric(float64(len(e.state.payees)), "payees")
		b.ReportMetric(float64(len(e.state.devices)), "devices")
		// Customer state alone: drop it and see what the heap gives back.
		nc := e.state.Customers()
		e.state.customers = nil
		var without runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&without)
		b.ReportMetric(float64(after.HeapAlloc-without.HeapAlloc)/float64(nc), "customer-only-bytes/customer")
		runtime.KeepAlive(e)
	}
}
