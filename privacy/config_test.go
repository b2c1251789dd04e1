package privacy

import (
	"slices"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

func TestParsePolicy(t *testing.T) {
	src := `
# National Day 2026 as the State Council's notice gives it.
calendar:
  time_zone: Asia/Shanghai
  holidays: ["2026-10-01", "2026-10-02", "2026-10-05", "2026-10-06", "2026-10-07"]
  workdays: ["2026-10-10"]
response_days: 10
retention:
  - category: transactions
    retain_years: 5
    basis: "our regulator's reading: five years"
  - category: risk_events
    otherwise: delete
  - category: conversations
    otherwise: delete
`
	p, err := ParsePolicy([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if p.ResponseDays != 10 {
		t.Errorf("response days %d, want 10", p.ResponseDays)
	}
	if got := p.Calendar.Workdays(); !slices.Equal(got, []string{"2026-10-10"}) {
		t.Errorf("workdays %v", got)
	}
	cst := p.Calendar.Location()
	// Received 30 September, 3 working days: 8, 9 and 10 (调休 Saturday) October.
	got := p.Calendar.Deadline(time.Date(2026, 9, 30, 16, 0, 0, 0, cst), 3)
	if want := time.Date(2026, 10, 11, 0, 0, 0, 0, cst).UTC(); !got.Equal(want) {
		t.Errorf("deadline %v, want %v", got, want)
	}
	rule := func(c Category) Rule {
		i := slices.IndexFunc(p.Rules, func(r Rule) bool { return r.Category == c })
		return p.Rules[i]
	}
	if r := rule(Transactions); r.RetainYears != 5 || r.Otherwise != Delete || r.Basis == "" {
		t.Errorf("transactions rule %+v", r)
	}
	if r := rule(RiskEvents); r.Otherwise != Delete {
		t.Errorf("risk events rule %+v", r)
	}
	if r := rule(Conversations); r.Otherwise != Delete || r.RetainYears != 0 {
		t.Errorf("conversations rule %+v", r)
	}
	if r := rule(Identity); r.RetainYears != AMLRetentionYears {
		t.Errorf("identity rule changed: %+v", r)
	}
	if len(p.Rules) != len(DefaultRules) || DefaultRules[0].RetainYears != AMLRetentionYears {
		t.Error("parsing changed the defaults")
	}

	empty, err := ParsePolicy(nil)
	if err != nil || empty.ResponseDays != DefaultResponseDays || len(empty.Rules) != len(DefaultRules) {
		t.Errorf("empty file: %+v, %v; want the defaults", empty, err)
	}
}

func TestParsePolicyErrors(t *testing.T) {
	for _, tt := range []struct {
		name, src string
		fields    []string
	}{
		{"not yaml", "calendar: [", []string{""}},
		{"unknown field", "respons_days: 3", []string{""}},
		{"bad zone", "calendar: {time_zone: Mars/Olympus}", []string{"calendar.time_zone"}},
		{"bad date", `calendar: {holidays: ["2026-13-01"]}`, []string{"calendar.holidays[0]"}},
		{"holiday and workday", `calendar: {holidays: ["2026-10-01"], workdays: ["2026-10-01"]}`, []string{"calendar.workdays[0]"}},
		{"response days", "response_days: 0", []string{"response_days"}},
		{"unknown category", "retention: [{category: photos}]", []string{"retention[0].category"}},
		{"no category", "retention: [{retain_years: 3}]", []string{"retention[0].category"}},
		{"twice", "retention: [{category: consents}, {category: consents}]", []string{"retention[1].category"}},
		{"years", "retention: [{category: consents, retain_years: -1, basis: x}]", []string{"retention[0].retain_years"}},
		{"no basis", "retention: [{category: behaviour, retain_years: 2}]", []string{"retention[0].basis"}},
		{"disposal", "retention: [{category: contact, otherwise: shred}]", []string{"retention[0].otherwise"}},
		{"anonymise after retention", "retention: [{category: transactions, otherwise: anonymise}]", []string{"retention[0].otherwise"}},
		{"conversations kept", "retention: [{category: conversations, retain_years: 3, basis: complaint handling}]", []string{"retention[0].retain_years"}},
		{"conversations kept, anonymised", "retention: [{category: conversations, retain_years: 3, otherwise: anonymise}]", []string{"retention[0].retain_years"}},
		{"all at once", "response_days: 99\nretention: [{category: contact, otherwise: shred}]", []string{"response_days", "retention[0].otherwise"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tt.src))
			if xiaobao.ErrorCode(err) != xiaobao.EINVALID {
				t.Fatalf("err %v, want invalid", err)
			}
			var got []string
			for _, f := range xiaobao.ErrorFields(err) {
				got = append(got, f.Field)
			}
			if !slices.Equal(got, tt.fields) {
				t.Errorf("fields %q, want %q (%v)", got, tt.fields, err)
			}
		})
	}
}

func FuzzParsePolicy(f *testing.F) {
	f.Add([]byte("calendar: {holidays: [\"2026-10-01\"], workdays: [\"2026-10-10\"]}\nresponse_days: 15\n"))
	f.Add([]byte("retention: [{category: transactions, retain_years: 10, basis: aml}]"))
	f.Add([]byte("calendar: ["))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := ParsePolicy(src)
		if err != nil {
			if xiaobao.ErrorCode(err) != xiaobao.EINVALID {
				t.Fatalf("error %v is not invalid", err)
			}
			return
		}
		if p.Calendar == nil || p.ResponseDays < 1 || len(p.Rules) != len(DefaultRules) {
			t.Fatalf("accepted an unusable policy %+v", p)
		}
		for _, r := range p.Rules {
			if r.RetainYears > 0 && r.Basis == "" {
				t.Fatalf("rule %+v keeps data without a basis", r)
			}
		}
	})
}
