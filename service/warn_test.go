package service

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"
)

// labelled reads a testdata file of "label<TAB>text" lines (or bare text
// lines, labelled ""), skipping comments.
func labelled(t testing.TB, name string) [][2]string {
	t.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if l, text, ok := strings.Cut(line, "\t"); ok {
			out = append(out, [2]string{l, text})
		} else {
			out = append(out, [2]string{"", line})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func kindOf(ws []Warning, kind string) *Warning {
	for i := range ws {
		if ws[i].Kind == kind {
			return &ws[i]
		}
	}
	return nil
}

// TestWarnHandWritten measures precision and recall of each warning kind
// on the hand-written sets: positives of each kind, and look-alike
// ordinary questions that must raise no scam warning. The sets were
// written with the lexicon, so these figures are an upper bound; the
// telecom-fraud smoke test (warn_shared_test.go) is the independent one.
func TestWarnHandWritten(t *testing.T) {
	scam := labelled(t, "warn_scam.txt")
	benign := labelled(t, "warn_lookalike.txt")
	complaint := labelled(t, "warn_complaint.txt")
	vulnerable := labelled(t, "warn_vulnerable.txt")
	type set struct {
		items [][2]string
		pos   bool
	}
	sets := map[string][]set{
		// A scam victim may also be vulnerable or ready to complain, but
		// a complaint or a vulnerable customer's words are no scam.
		ScamVictim:    {{scam, true}, {benign, false}, {complaint, false}, {vulnerable, false}},
		ComplaintRisk: {{complaint, true}, {benign, false}},
		Vulnerable:    {{vulnerable, true}, {benign, false}},
	}
	for _, kind := range []string{ScamVictim, ComplaintRisk, Vulnerable} {
		tp, fp, fn := 0, 0, 0
		for _, st := range sets[kind] {
			for _, it := range st.items {
				w := kindOf(Warn(it[1], WarnContext{}), kind)
				switch {
				case st.pos && w != nil:
					tp++
				case st.pos:
					fn++
					t.Logf("%s missed: %s", kind, it[1])
				case w != nil:
					fp++
					t.Logf("%s false alarm (%.2f %s): %s", kind, w.Score, w.Detail, it[1])
				}
			}
		}
		p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
		t.Logf("%s: precision %.3f recall %.3f (tp %d fp %d fn %d)", kind, p, r, tp, fp, fn)
		if p < 0.9 || r < 0.85 {
			t.Errorf("%s: precision %.3f recall %.3f, want at least 0.9 and 0.85", kind, p, r)
		}
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// TestWarnLookalikes pins the look-alikes the issue names: ordinary
// questions sharing words with scams never raise a scam warning.
func TestWarnLookalikes(t *testing.T) {
	for _, it := range labelled(t, "warn_lookalike.txt") {
		if w := kindOf(Warn(it[1], WarnContext{}), ScamVictim); w != nil {
			t.Errorf("Warn(%q) = %+v, want no scam warning", it[1], *w)
		}
	}
}

func TestWarnTypology(t *testing.T) {
	for _, it := range labelled(t, "warn_scam.txt") {
		w := kindOf(Warn(it[1], WarnContext{}), ScamVictim)
		if w == nil {
			continue // counted by TestWarnHandWritten
		}
		if it[0] != "generic" && w.Type != it[0] {
			t.Errorf("Warn(%q) typology %q, want %q (%s)", it[1], w.Type, it[0], w.Detail)
		}
	}
}

func TestWarnCases(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		wc    WarnContext
		kinds []string
		typ   string
	}{
		{"ordinary question", "怎么还款", WarnContext{}, nil, ""},
		{"empty", "", WarnContext{}, nil, ""},
		{"safe account", "对方让我把钱转到安全账户", WarnContext{}, []string{ScamVictim}, ""},
		{"full width and spaces", "他让我下载 ＴｏＤｅｓｋ 开 远程 控制", WarnContext{}, []string{ScamVictim}, ""},
		{"regulator hotline", "我要打12378", WarnContext{}, []string{ComplaintRisk}, "regulator"},
		{"hotline digits inside a number", "我的订单号是5123789", WarnContext{}, nil, ""},
		{"315 yuan is not 3·15", "这个月还315元对吗", WarnContext{}, nil, ""},
		{"repeat contacts", "我的问题怎么样了", WarnContext{Contacts: 5}, nil, ""},
		{"repeat contacts and unresolved", "还是没解决，我的问题怎么样了", WarnContext{Contacts: 4}, []string{ComplaintRisk}, "repeat"},
		{"stated age", "我68岁了怎么操作", WarnContext{}, []string{Vulnerable}, "elderly"},
		{"known age", "怎么还款", WarnContext{Age: 75}, []string{Vulnerable}, "elderly"},
		{"self harm first", "还不起了，不想活了", WarnContext{}, []string{Vulnerable}, "self_harm"},
		{"scam and police report", "我被骗了转了两万给对方，我要报警", WarnContext{}, []string{ScamVictim, ComplaintRisk}, ""},
		{"anti-fraud question", "怎么防止被骗", WarnContext{}, nil, ""},
		{"angry at the firm is not a scam", "你们就是骗子公司，乱扣费", WarnContext{}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ws := Warn(tt.text, tt.wc)
			var kinds []string
			for _, w := range ws {
				kinds = append(kinds, w.Kind)
				if w.Score < WarnThreshold || w.Score > 1 || w.Detail == "" || len(w.Signals) == 0 {
					t.Errorf("bad warning %+v", w)
				}
			}
			slices.Sort(kinds)
			want := slices.Clone(tt.kinds)
			slices.Sort(want)
			if !slices.Equal(kinds, want) {
				t.Fatalf("Warn(%q) kinds = %v (%+v), want %v", tt.text, kinds, ws, want)
			}
			if tt.typ != "" && ws[0].Type != tt.typ {
				t.Errorf("type = %q, want %q", ws[0].Type, tt.typ)
			}
		})
	}
}

func FuzzWarn(f *testing.F) {
	f.Add("对方让我把钱转到安全账户", 0, 0)
	f.Add("我68岁了", 3, 70)
	f.Add("12378 315元 3·15", 0, 0)
	f.Add("\xff\xfe岁岁岁60", 1, 0)
	f.Fuzz(func(t *testing.T, text string, contacts, age int) {
		ws := Warn(text, WarnContext{Contacts: contacts, Age: age})
		seen := map[string]bool{}
		for _, w := range ws {
			if seen[w.Kind] || w.Score < WarnThreshold || w.Score > 1 {
				t.Fatalf("bad warnings %+v", ws)
			}
			seen[w.Kind] = true
		}
	})
}

func BenchmarkWarn(b *testing.B) {
	texts := []string{"怎么注销账户", "有个警官打电话说我涉嫌洗钱，要把钱转到安全账户接受资金核查", "我要去银保监会举报你们乱收费"}
	for i := 0; b.Loop(); i++ {
		Warn(texts[i%len(texts)], WarnContext{})
	}
}

// TestWarnHoldout reports the scam detector on a set written after the
// lexicon and never used to tune it: the honest figure of the two.
func TestWarnHoldout(t *testing.T) {
	tp, fp, fn, tn := 0, 0, 0, 0
	for _, it := range labelled(t, "warn_holdout.txt") {
		w := kindOf(Warn(it[1], WarnContext{}), ScamVictim)
		switch {
		case it[0] == "scam" && w != nil:
			tp++
		case it[0] == "scam":
			fn++
			t.Logf("missed: %s", it[1])
		case w != nil:
			fp++
			t.Logf("false alarm (%.2f %s): %s", w.Score, w.Detail, it[1])
		default:
			tn++
		}
	}
	p, r := ratio(tp, tp+fp), ratio(tp, tp+fn)
	t.Logf("holdout: precision %.3f recall %.3f (tp %d fp %d fn %d tn %d)", p, r, tp, fp, fn, tn)
	if p < 0.85 || r < 0.5 {
		t.Errorf("holdout precision %.3f recall %.3f, want at least 0.85 and 0.5", p, r)
	}
}
