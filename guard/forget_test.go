package guard

import (
	"testing"
	"time"
)

// TestForget checks that forgetting a customer drops their profile, the
// labels on them and their place in the device, IP and payee profiles,
// and nothing of anybody else; replay skips anonymised events.
func TestForget(t *testing.T) {
	at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	ev := func(customer string, typ EventType, age int, offset time.Duration) *Event {
		return &Event{ID: customer + string(typ), Type: typ, OccurredAt: at.Add(offset), Customer: Customer{ID: customer, Age: age},
			Device: Device{ID: "dev-shared", IP: "203.0.113.9"}, Amount: 500000, HasAmount: true,
			Counterparty: Counterparty{Account: "6222000011112222"}}
	}
	e := NewEngine(nil)
	for i, c := range []string{"cus-a", "cus-b"} {
		e.Apply(ev(c, Login, 70, time.Duration(i)*time.Minute), Allow, "")
		e.Apply(ev(c, Transfer, 70, time.Duration(i)*time.Minute+time.Second), Remind, "investment_scam")
	}
	e.State().Flag("cus-a", "romance", at.Unix())
	e.State().Label(LabelSubject{CustomerID: "cus-a", At: at.Unix()}, OutcomeConfirmedFraud, +1)
	e.Apply(ev(AnonymousPrefix+"0123", Login, 70, time.Hour), Allow, "") // skipped

	st := e.State()
	ha, hb := fnv64("cus-a"), fnv64("cus-b")
	d, ip, p := st.devices[fnv64("dev-shared")], st.ips[fnv64("203.0.113.9")], st.payees[fnv64("6222000011112222")]
	for _, c := range []struct {
		name string
		set  *seenSet
	}{{"device customers", &d.customers}, {"IP customers", &ip.customers}, {"payee payers", &p.payers}, {"payee elderly payers", &p.rare.elderly}} {
		if c.set.find(ha) < 0 || c.set.find(hb) < 0 {
			t.Fatalf("%s before: both customers should be there", c.name)
		}
	}
	if st.Customers() != 2 || e.Knows(AnonymousPrefix+"0123") {
		t.Fatalf("%d customers: the anonymised event was applied", st.Customers())
	}

	if !e.Forget("cus-a") {
		t.Error("Forget of a known customer reported nothing known")
	}
	if e.Forget("cus-a") {
		t.Error("a second Forget found the customer again")
	}
	if e.Knows("cus-a") || !e.Knows("cus-b") || st.Customers() != 1 {
		t.Errorf("after Forget: knows a %v, b %v", e.Knows("cus-a"), e.Knows("cus-b"))
	}
	if _, ok := st.labels.victims[ha]; ok {
		t.Error("victim label kept")
	}
	if _, ok := st.labels.flags[ha]; ok {
		t.Error("flag kept")
	}
	for _, c := range []struct {
		name string
		set  *seenSet
	}{{"device customers", &d.customers}, {"IP customers", &ip.customers}, {"payee payers", &p.payers}, {"payee elderly payers", &p.rare.elderly}} {
		if c.set.find(ha) >= 0 || c.set.find(hb) < 0 {
			t.Errorf("%s after: a %d, b %d", c.name, c.set.find(ha), c.set.find(hb))
		}
	}
	// The snapshot no longer holds them either.
	data, err := st.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back := NewState()
	if err := back.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if back.knows("cus-a") || !back.knows("cus-b") {
		t.Error("snapshot after Forget")
	}
}
