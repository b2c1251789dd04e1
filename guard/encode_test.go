package guard

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"
)

// encTypicalDecision is a typical answer: a friction with two reasons, a
// message and an explanation.
func encTypicalDecision() *Decision {
	ms := 0.8123
	return &Decision{
		ID:         "dec-01JH8Z5K3W9QF2V7XN4M6P0RTA",
		EventID:    "evt-20260102-000123456",
		Seq:        123456789,
		CustomerID: "cust-00012345",
		EventType:  Transfer,
		OccurredAt: time.Date(2026, 1, 1, 19, 4, 5, 123000000, time.UTC),
		Action:     CoolingOff,
		Score:      0.8734,
		Typology:   "impersonation_police",
		Reasons: []Reason{
			{Rule: "new_payee_large_amount", Code: "R101", Detail: "first transfer to a new payee above 5000.00 CNY",
				Typology: "impersonation_police", Action: Friction, Score: 0.6,
				Values: map[string]any{"amount": 5000.0, "payee_age_hours": int64(2), "night": true, "channel": "app"}},
			{Rule: "elderly_night", Code: "R207", Detail: "customer aged 67 transferring at night <22:00-06:00>", Action: CoolingOff, Score: 0.3,
				Values: map[string]any{"age": 67, "local_hour": 3}},
		},
		Message: &Message{
			ZH: "警惕！公检法机关不会通过电话要求转账到“安全账户”。如有疑问请拨打 110。",
			EN: "Warning: the police never ask you to move money to a \"safe account\" by phone. If in doubt, call 110.",
		},
		Explanation: &Explanation{
			PackVersions:  map[string]int{"core": 12, "scam": 7},
			RuleScore:     0.72,
			ModelScore:    &ms,
			Model:         "gbdt-2026-01",
			Contributions: []Contribution{{Feature: "payee_age_hours", Value: 2, Effect: 0.21}, {Feature: "amount_z", Value: 3.4, Effect: 0.12}},
			RuleAction:    CoolingOff,
			ScoreAction:   Friction,
			Steps:         []string{"rules: cooling_off", "score 0.87: friction", "max: cooling_off"},
		},
		CoolingOffMinutes: 30,
		DecidedAt:         time.Date(2026, 1, 1, 19, 4, 5, 987654321, time.UTC),
	}
}

func encCheck(t *testing.T, d *Decision) {
	t.Helper()
	want, err := json.Marshal(d)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	got := AppendDecisionJSON(nil, d)
	if !bytes.Equal(got, want) {
		t.Fatalf("AppendDecisionJSON:\n%s\njson.Marshal:\n%s", got, want)
	}
	prefix := []byte("prefix:")
	got = AppendDecisionJSON(prefix, d)
	if !bytes.Equal(got[:len(prefix)], prefix) || !bytes.Equal(got[len(prefix):], want) {
		t.Fatalf("appending to a prefix gave %s", got)
	}
}

func TestAppendDecisionJSON(t *testing.T) {
	ms0 := 0.0
	shanghai := time.FixedZone("CST", 8*3600)
	many := map[string]any{}
	for i := 0; i < 40; i++ {
		many["k"+strconv.Itoa(i*7%40)] = i
	}
	type textual string
	tests := []struct {
		name string
		d    *Decision
	}{
		{"zero", &Decision{}},
		{"typical", encTypicalDecision()},
		{"empty reasons", &Decision{Reasons: []Reason{}, Shadow: []Reason{}}},
		{"empty reason", &Decision{Reasons: []Reason{{}}}},
		{"shadow", &Decision{Reasons: []Reason{{Rule: "a"}}, Shadow: []Reason{{Rule: "s", Values: map[string]any{}}}}},
		{"empty message and explanation", &Decision{Message: &Message{}, Explanation: &Explanation{}}},
		{"explanation with zero model score", &Decision{Explanation: &Explanation{ModelScore: &ms0, PackVersions: map[string]int{},
			Contributions: []Contribution{}, Steps: []string{}, Escalation: "dismissed twice in 7 days", Cap: "allow list"}}},
		{"explanation with empty strings", &Decision{Explanation: &Explanation{Steps: []string{"", "<>"}, PackVersions: map[string]int{"": -1, "z": 1 << 40}}}},
		{"hold", &Decision{Action: Hold, HoldMinutes: 1440, CoolingOffMinutes: -5}},
		{"unknown action", &Decision{Action: Action(9), Reasons: []Reason{{Action: Action(200)}}, Explanation: &Explanation{RuleAction: 6}}},
		{"strings", &Decision{
			ID:         "<script>&\"quote\"\\back\\</script>",
			EventID:    "\x00\x01\x07\b\t\n\v\f\r\x1b\x1f\x7f",
			CustomerID: "bad utf8 \xff\xfe \xc3\x28 \xed\xa0\x80 end\xe4\xb8",
			EventType:  "line\u2028para\u2029 é 中文 😀 \ufffd",
			Typology:   strings.Repeat("abcdefgh", 5) + "<" + strings.Repeat("x", 7) + "&",
			Message:    &Message{ZH: "请勿向“安全账户”转账", EN: "a > b && c < d"},
		}},
		{"times", &Decision{
			OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 0, shanghai),
			DecidedAt:  time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.FixedZone("", -(3*3600+30*60))),
		}},
		{"time fractions", &Decision{
			OccurredAt: time.Date(2026, 1, 2, 3, 4, 5, 100, time.UTC),
			DecidedAt:  time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.Local),
		}},
		{"monotonic time", &Decision{DecidedAt: time.Now()}},
		{"floats", &Decision{Score: 1e-7, Reasons: []Reason{
			{Score: 1e21}, {Score: 1e20}, {Score: 0.000001}, {Score: 0.0000009999}, {Score: math.Copysign(0, -1)},
			{Score: 5e-324}, {Score: math.MaxFloat64}, {Score: -1.5e-10}, {Score: 123456789.123456789}, {Score: 1.0 / 3},
			{Score: 100}, {Score: -2.5e300}, {Score: float64(math.MaxInt64)},
		}}},
		{"values", &Decision{Reasons: []Reason{{Values: map[string]any{
			"nil": nil, "t": true, "f": false, "s": "s<>&\u2028", "i": -42, "i64": int64(math.MinInt64), "f64": 1e-9,
			"f64b": 12.5, "i32": int32(7), "u8": uint8(200), "u64": uint64(math.MaxUint64), "f32": float32(0.1),
			"f32small": float32(1e-7), "slice": []any{1, "a", nil, 2.5}, "ints": []int{1, 2}, "bytes": []byte("hi"),
			"map": map[string]any{"b": 1, "a": []string{"<"}}, "time": time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC),
			"action": Block, "event_type": Login, "textual": textual("x&y"), "ptr": &ms0, "nilptr": (*float64)(nil),
			"num": json.Number("12.50"), "raw": json.RawMessage(` {"a" : 1} `), "struct": struct {
				A int `json:"a"`
				B string
			}{1, "<b>"},
			"": "empty key", "<key>": 1, "ключ": 2, "键": 3, "\xff": 4, "Z": 5, "a": 6,
		}}}}},
		{"many values", &Decision{Reasons: []Reason{{Values: many}}, Explanation: &Explanation{PackVersions: map[string]int{
			"p1": 1, "p2": 2, "p3": 3, "p4": 4, "p5": 5, "p6": 6, "p7": 7, "p8": 8, "p9": 9, "p10": 10, "p11": 11, "p12": 12,
			"p13": 13, "p14": 14, "p15": 15, "p16": 16, "p17": 17, "p18": 18,
		}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { encCheck(t, tt.d) })
	}
}

func TestAppendDecisionJSONNil(t *testing.T) {
	want, _ := json.Marshal((*Decision)(nil))
	if got := AppendDecisionJSON(nil, nil); !bytes.Equal(got, want) {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestAppendDecisionJSONUnsupported checks that values json.Marshal
// rejects still give valid JSON.
func TestAppendDecisionJSONUnsupported(t *testing.T) {
	inf := math.Inf(1)
	d := &Decision{
		Score:       math.NaN(),
		Reasons:     []Reason{{Score: math.Inf(-1), Values: map[string]any{"ch": make(chan int), "nan": math.NaN(), "f": func() {}}}},
		Explanation: &Explanation{ModelScore: &inf},
		OccurredAt:  time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		DecidedAt:   time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if _, err := json.Marshal(d); err == nil {
		t.Fatal("json.Marshal accepted the decision")
	}
	got := AppendDecisionJSON(nil, d)
	if !json.Valid(got) {
		t.Fatalf("invalid JSON %s", got)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatal(err)
	}
	if m["score"] != nil || m["occurred_at"] != "-0001-01-01T00:00:00Z" || m["decided_at"] != "10000-01-01T00:00:00Z" {
		t.Errorf("got %s", got)
	}
}

func TestAppendDecisionJSONAllocs(t *testing.T) {
	d := encTypicalDecision()
	buf := make([]byte, 0, 4096)
	n := testing.AllocsPerRun(100, func() {
		buf = AppendDecisionJSON(buf[:0], d)
	})
	if n != 0 {
		t.Errorf("AppendDecisionJSON allocates %v times into a large enough buffer, want 0", n)
	}
}

// FuzzAppendDecisionJSON builds decisions from the fuzzer's strings and
// numbers and checks the output against json.Marshal.
func FuzzAppendDecisionJSON(f *testing.F) {
	f.Add("dec-1", "<script>&amp;", "请勿转账\u2028", "\xff\x00\x1f\"\\", 0.8734, 1e-7, int64(123), int64(1767323045), int64(123000000), int32(28800), uint16(0xffff))
	f.Add("", "", "", "", 0.0, math.Copysign(0, -1), int64(-1), int64(0), int64(0), int32(0), uint16(0))
	f.Add("a", "b", "c", "d", 1e21, 5e-324, int64(math.MaxInt64), int64(253402300799), int64(999999999), int32(-12600), uint16(0x5555))
	f.Add("é", "😀", "\u2029", "&", 123456789.125, -2.5e-300, int64(math.MinInt64), int64(-62135596800), int64(1), int32(50400), uint16(0xaaaa))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4 string, f1, f2 float64, i1, sec, nsec int64, off int32, flags uint16) {
		loc := time.UTC
		if flags&1 != 0 {
			loc = time.FixedZone(s4, int(off%(24*3600)))
		}
		at := time.Unix(sec%(400*365*86400), nsec%1e9).In(loc)
		bit := func(n uint) bool { return flags&(1<<n) != 0 }
		d := &Decision{ID: s1, EventID: s2, Seq: i1, CustomerID: s3, EventType: EventType(s4), OccurredAt: at,
			Action: Action(flags >> 8), Score: f1, Typology: s4, DecidedAt: at.Add(time.Duration(i1))}
		if bit(1) {
			values := map[string]any{s1: s2, s2: f1, s3: i1, s4: int(off), "b": bit(2), "nil": nil, "f2": f2}
			if bit(3) {
				values["other"] = []any{s1, f2, uint32(off)}
			}
			d.Reasons = []Reason{{Rule: s1, Code: s2, Detail: s3, Typology: s4, Action: Action(flags & 7), Score: f2, Values: values}, {}}
		} else if bit(2) {
			d.Reasons = []Reason{}
		}
		if bit(4) {
			d.Message = &Message{ZH: s3, EN: s4}
		}
		if bit(5) {
			d.Shadow = []Reason{{Rule: s4, Detail: s1, Score: f1}}
		}
		if bit(6) {
			e := &Explanation{RuleScore: f1, Model: s2, RuleAction: Action(off & 7), ScoreAction: Action(i1 & 7),
				Escalation: s3, Cap: s4, PackVersions: map[string]int{s1: int(off), s2: int(i1)}}
			if bit(7) {
				e.ModelScore = &f2
				e.Contributions = []Contribution{{Feature: s1, Value: f1, Effect: f2}}
				e.Steps = []string{s1, s2, s3}
			}
			d.Explanation = e
		}
		if bit(8) {
			d.CoolingOffMinutes = int(off)
			d.HoldMinutes = int(i1 % 10000)
		}
		got := AppendDecisionJSON(nil, d)
		want, err := json.Marshal(d)
		if err != nil {
			if !json.Valid(got) {
				t.Fatalf("json.Marshal fails (%v) and the output is not valid JSON: %s", err, got)
			}
			return
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendDecisionJSON:\n%s\njson.Marshal:\n%s", got, want)
		}
	})
}

func BenchmarkAppendDecisionJSON(b *testing.B) {
	d := encTypicalDecision()
	buf := make([]byte, 0, 4096)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendDecisionJSON(buf[:0], d)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkAppendDecisionJSONNew is AppendDecisionJSON into a new buffer
// each time, as a handler that does not pool buffers would use it.
func BenchmarkAppendDecisionJSONNew(b *testing.B) {
	d := encTypicalDecision()
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		out = AppendDecisionJSON(make([]byte, 0, 2048), d)
	}
	b.SetBytes(int64(len(out)))
}

func BenchmarkAppendDecisionJSONStdlib(b *testing.B) {
	d := encTypicalDecision()
	b.ReportAllocs()
	var out []byte
	for b.Loop() {
		var err error
		if out, err = json.Marshal(d); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(out)))
}
