package faq

import (
	"strings"
	"testing"
)

func TestParsePairsNDJSON(t *testing.T) {
	in := "\ufeff" + `{"text":"额度咋提高","faq_id":"limit-raise"}` + "\r\n" +
		"\n" +
		`{"text":"  ","faq_id":"a"}` + "\n" +
		`{"text":"还款失败","faq_id":""}` + "\n" +
		`{"text":"还款失败"}` + "\n" +
		`{"text":1,"faq_id":"a"}` + "\n" +
		`{"text":"x","faq_id":"a","colour":"red"}` + "\n" +
		`{"text":"！！。。","faq_id":"a"}` + "\n" +
		`{"text":"` + strings.Repeat("长", 501) + `","faq_id":"a"}` + "\n" +
		`{"text":"分期","faq_id":"installments"} {}` + "\n" +
		`{"text":"借呗能分几期","faq_id":"installments"}`
	pairs, lines, errs := ParsePairsNDJSON(strings.NewReader(in))
	if len(lines) != 2 || lines[0] != 1 || lines[1] != 11 {
		t.Errorf("lines = %v, want [1 11]", lines)
	}
	want := []Pair{{"额度咋提高", "limit-raise"}, {"借呗能分几期", "installments"}}
	if len(pairs) != len(want) || pairs[0] != want[0] || pairs[1] != want[1] {
		t.Errorf("pairs = %+v, want %+v", pairs, want)
	}
	wantErrs := []LineError{
		{Line: 3, Field: "text", Reason: "required"},
		{Line: 4, Field: "faq_id", Reason: "required"},
		{Line: 5, Field: "faq_id", Reason: "required"},
		{Line: 6, Field: "text", Reason: "wrong type: want string"},
		{Line: 7, Field: "colour", Reason: "unknown field"},
		{Line: 8, Field: "text", Reason: "has no words (only punctuation, spaces or politeness)"},
		{Line: 9, Field: "text", Reason: "longer than 500 characters"},
		{Line: 10, Reason: "more than one JSON value on the line"},
	}
	if len(errs) != len(wantErrs) {
		t.Fatalf("errors = %+v", errs)
	}
	for i, e := range errs {
		if e != wantErrs[i] {
			t.Errorf("error %d = %+v, want %+v", i, e, wantErrs[i])
		}
	}
}

func TestExampleID(t *testing.T) {
	// Texts that normalise alike are one example; another entry is another.
	if ExampleID("額度咋提高？", "limit") != ExampleID("额度咋提高", "limit") {
		t.Error("traditional/punctuation variants give different ids")
	}
	if ExampleID("额度咋提高", "limit") == ExampleID("额度咋提高", "other") {
		t.Error("the entry is not part of the id")
	}
}

func FuzzParsePairsNDJSON(f *testing.F) {
	f.Add(`{"text":"怎么还款","faq_id":"a"}` + "\n" + `{"text":""}`)
	f.Add("\ufeff\n\n{}\n[]\nnull")
	f.Add(`{"text":"q","faq_id":2}`)
	f.Fuzz(func(t *testing.T, s string) {
		pairs, ls, errs := ParsePairsNDJSON(strings.NewReader(s))
		if len(ls) != len(pairs) {
			t.Fatalf("%d pairs, %d line numbers", len(pairs), len(ls))
		}
		lines := strings.Count(s, "\n") + 1
		for _, p := range pairs {
			if fe := ValidateExample(p.Text, p.FAQID); fe != nil {
				t.Fatalf("pair %+v returned despite %v", p, fe)
			}
		}
		for _, le := range errs {
			if le.Line < 1 || le.Line > lines || le.Reason == "" {
				t.Fatalf("bad LineError %+v for %d lines", le, lines)
			}
		}
		if len(pairs)+len(errs) > lines {
			t.Fatalf("%d pairs and %d errors from %d lines", len(pairs), len(errs), lines)
		}
	})
}
