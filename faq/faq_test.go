package faq

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"  ，。！？  ", ""},
		{"ＡＰＰ登录不上", "app登录不上"}, // full-width Latin, case
		{"１２３４５", "12345"},     // full-width digits
		{"還款日是哪天", "还款日是哪天"},   // traditional
		{"額度怎麼提高", "额度怎么提高"},   // traditional, no synonym rule across 怎么
		{"花贝怎么还", "花呗怎么还"},     // misspelt product name
		{"借吧能借多少", "借呗能借多少"},   // 借吧 → 借呗
		{"微粒袋逾期了", "微粒贷逾期"},    // 逾期了 → 逾期
		{"我想提高额度", "我想提额"},     // synonym of the trade
		{"可以一次性还清吗", "可以结清"},   // 一次性还清 → 结清; 吗 dropped
		{"帳號登陸不了", "账户登录不"},    // 帳號 → 账号 → 账户; 登陆 → 登录; 了 dropped
		{"你好，请问怎么还钱？", "怎么还款"}, // greetings dropped, 还钱 → 还款
		{"Hello World", "helloworld"},
		{"分期付款", "分期"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in); got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// checkNormal checks the invariants of a normalised text.
func checkNormal(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Normalize(%q) = %q: not valid UTF-8", in, out)
	}
	for _, r := range out {
		if unicode.IsSpace(r) || unicode.IsPunct(r) || (r >= 0xFF01 && r <= 0xFF5E) || ('A' <= r && r <= 'Z') || r == utf8.RuneError {
			t.Fatalf("Normalize(%q) = %q: holds %q", in, out, r)
		}
	}
	if again := Normalize(out); again != out {
		t.Fatalf("Normalize not idempotent: %q → %q → %q", in, out, again)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"花贝怎么还款", "額度", "ＡＢＣ　１２３", "提高额度提高额度", "借吧借贝借呗", "\xff\xfe", "提前还钱提前还款", "你好你好吗"} {
		f.Add(s)
	}
	for _, e := range Starter() {
		f.Add(e.Questions[0])
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkNormal(t, s, Normalize(s))
	})
}

func TestParseNDJSON(t *testing.T) {
	in := "\ufeff" + `{"id":"a","questions":["怎么还款"],"answer":"在 App 还款","category":"repayment"}` + "\r\n" +
		"\n" +
		`{"id":"b","questions":[],"answer":"x"}` + "\n" +
		`{"id":"c","questions":["q"],"answer":"x","colour":"red"}` + "\n" +
		`{"id":"d","questions":"q","answer":"x"}` + "\n" +
		`{"id":"e","questions":["q"]}` + "\n" +
		`not json` + "\n" +
		`{"id":"f","questions":["q", "  "],"answer":"x"}` + "\n" +
		`{"id":" ","questions":["q"],"answer":"x"}` + "\n" +
		`{"id":"a","questions":["怎么还钱"],"answer":"新答案"}` + "\n" +
		`{"id":"g","questions":["q"],"answer":"x"} {"id":"h"}` + "\n" +
		`{"id":"i","questions":["q2"],"answer":"y"}`
	entries, errs := ParseNDJSON(strings.NewReader(in))
	wantIDs := []string{"a", "i"}
	var ids []string
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	if !slices.Equal(ids, wantIDs) {
		t.Errorf("ids = %v, want %v", ids, wantIDs)
	}
	if entries[0].Answer != "新答案" || entries[0].Category != "" {
		t.Errorf("a repeated id keeps the later line: %+v", entries[0])
	}
	want := []LineError{
		{Line: 3, Field: "questions", Reason: "at least one question is required"},
		{Line: 4, Field: "colour", Reason: "unknown field"},
		{Line: 5, Field: "questions", Reason: "wrong type: want []string"},
		{Line: 6, Field: "answer", Reason: "required"},
		{Line: 7, Reason: "invalid JSON: invalid character 'o' in literal null (expecting 'u')"},
		{Line: 8, Field: "questions[1]", Reason: "blank question"},
		{Line: 9, Field: "id", Reason: "required"},
		{Line: 11, Reason: "more than one JSON value on the line"},
	}
	if !slices.Equal(errs, want) {
		t.Errorf("errors:\n got %v\nwant %v", errs, want)
	}
	if got := want[0].Error(); got != "line 3: questions: at least one question is required" {
		t.Errorf("LineError.Error() = %q", got)
	}
}

func TestParseNDJSONLongLine(t *testing.T) {
	long := `{"id":"x","questions":["` + strings.Repeat("长", MaxLineBytes/3+10) + `"],"answer":"y"}`
	in := long + "\n" + `{"id":"ok","questions":["q"],"answer":"a"}` + "\n"
	entries, errs := ParseNDJSON(strings.NewReader(in))
	if len(entries) != 1 || entries[0].ID != "ok" {
		t.Errorf("entries = %+v, want only ok", entries)
	}
	if len(errs) != 1 || errs[0].Line != 1 || !strings.Contains(errs[0].Reason, "longer than") {
		t.Errorf("errs = %v, want line 1 too long", errs)
	}
}

func FuzzParseNDJSON(f *testing.F) {
	f.Add(`{"id":"a","questions":["怎么还款"],"answer":"x"}` + "\n" + `{"id":"b"}`)
	f.Add("\ufeff\n\n{}\n[]\nnull")
	f.Add(`{"id":"a","questions":["q"],"answer":"x","category":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		entries, errs := ParseNDJSON(strings.NewReader(s))
		lines := strings.Count(s, "\n") + 1
		seen := map[string]bool{}
		for _, e := range entries {
			if err := e.Validate(); err != nil {
				t.Fatalf("entry %+v returned despite %v", e, err)
			}
			if seen[e.ID] {
				t.Fatalf("id %q returned twice", e.ID)
			}
			seen[e.ID] = true
		}
		for _, le := range errs {
			if le.Line < 1 || le.Line > lines || le.Reason == "" {
				t.Fatalf("bad LineError %+v for %d lines", le, lines)
			}
		}
		if len(entries)+len(errs) > lines {
			t.Fatalf("%d entries and %d errors from %d lines", len(entries), len(errs), lines)
		}
	})
}

func TestStarter(t *testing.T) {
	es := Starter()
	if len(es) < 60 || len(es) > 100 {
		t.Errorf("starter bank has %d entries, want 60..100", len(es))
	}
	ids := map[string]bool{}
	for _, e := range es {
		if ids[e.ID] {
			t.Errorf("duplicate id %s", e.ID)
		}
		ids[e.ID] = true
		if len(e.Questions) < 3 || e.Category == "" {
			t.Errorf("%s: %d questions, category %q; want ≥3 and a category", e.ID, len(e.Questions), e.Category)
		}
	}
}

// starterBase is a base holding the starter bank.
var starterBase = sync.OnceValue(func() *Base {
	b := NewBase(Options{})
	if err := b.Upsert(Starter()...); err != nil {
		panic(err)
	}
	return b
})

// TestSearchStarter asks the starter bank what customers type: colloquial,
// misspelt, traditional and full-width forms none of which is a stored
// question.
func TestSearchStarter(t *testing.T) {
	b := starterBase()
	tests := []struct{ text, want string }{
		{"額度怎麼提高啊", "limit-raise"},
		{"我想涨点额度", "limit-raise"},
		{"钱啥时候能到卡里", "borrow-arrival"},
		{"能提前还清吗 要不要手续费", "repay-early"},
		{"扣款没成功咋办", "repay-autodebit-failed"},
		{"忘了密码", "account-password"},
		{"ＡＰＰ登陆不上去", "account-login"},
		{"收不到短信验证码", "account-sms-code"},
		{"逾期了会上征信吗", "overdue-consequence"},
		{"对方让我先交解冻费才放款", "scam-fee-before-loan"},
		{"我要投訴", "complaint-how"},
		{"换个卡还款", "repay-change-card"},
		{"能用微信零钱还吗", "repay-wechat-alipay"},
		{"结清证明怎么开", "repay-settled-proof"},
		{"转人工客服", "human-agent"},
	}
	for _, tt := range tests {
		r := b.Search(tt.text, 5)
		if len(r.Hits) == 0 || r.Hits[0].FAQID != tt.want {
			var got []string
			for _, h := range r.Hits {
				got = append(got, fmt.Sprintf("%s(%.2f)", h.FAQID, h.Score))
			}
			t.Errorf("Search(%q) = %v, want %s first", tt.text, got, tt.want)
		}
	}
}

func TestSearchResultShape(t *testing.T) {
	b := starterBase()
	for _, text := range []string{"怎么还款", "今天天气怎么样", "", "。。。", "借"} {
		r := b.Search(text, 3)
		if len(r.Hits) > 3 {
			t.Errorf("Search(%q): %d hits, want ≤ 3", text, len(r.Hits))
		}
		for i, h := range r.Hits {
			if h.Score < 0 || h.Score > 1 || math.IsNaN(h.Score) {
				t.Errorf("Search(%q): score %v out of [0,1]", text, h.Score)
			}
			if i > 0 && h.Score > r.Hits[i-1].Score {
				t.Errorf("Search(%q): hits not best first: %v", text, r.Hits)
			}
			if h.Answer == "" || h.Question == "" {
				t.Errorf("Search(%q): hit without answer or question: %+v", text, h)
			}
		}
		if r.Confident && r.Clarify {
			t.Errorf("Search(%q): both confident and clarify", text)
		}
	}
}

// TestFallback checks the policy: a clear question is answered, an
// unrelated text goes to a human, and a text between two entries asks.
func TestFallback(t *testing.T) {
	b := starterBase()
	if r := b.Search("忘记密码怎么办", 5); !r.Confident {
		t.Errorf("a stored question is not confident: %+v", r)
	}
	for _, text := range []string{"今天天气怎么样", "推荐一部电影", "asdfgh"} {
		if r := b.Search(text, 5); r.Confident || r.Clarify {
			t.Errorf("Search(%q) = confident %v clarify %v, want a hand-off", text, r.Confident, r.Clarify)
		}
	}
	// Two near-identical entries: the base cannot choose.
	c := NewBase(Options{})
	if err := c.Upsert(append(Starter(),
		Entry{ID: "x1", Questions: []string{"黄金会员怎么退订"}, Answer: "A"},
		Entry{ID: "x2", Questions: []string{"黄金会员如何退订"}, Answer: "B"})...); err != nil {
		t.Fatal(err)
	}
	if r := c.Search("黄金会员退订", 5); r.Confident || !r.Clarify {
		t.Errorf("two equal candidates: %+v, want clarify", r)
	}
}

func TestBaseEdits(t *testing.T) {
	b := NewBase(Options{})
	if r := b.Search("怎么还款", 5); len(r.Hits) != 0 || r.Confident {
		t.Errorf("empty base: %+v", r)
	}
	e := Entry{ID: "r", Questions: []string{"怎么还款"}, Answer: "App 里还"}
	if err := b.Upsert(e, Entry{ID: "bad"}); err == nil {
		t.Fatal("Upsert with an invalid entry succeeded")
	}
	if b.Len() != 0 {
		t.Fatal("a failed Upsert changed the base")
	}
	if err := b.Upsert(e); err != nil {
		t.Fatal(err)
	}
	e.Questions[0] = "changed by the caller"
	if got, _ := b.Entry("r"); got.Questions[0] != "怎么还款" {
		t.Errorf("the base shares the caller's slice: %q", got.Questions[0])
	}
	if r := b.Search("如何还钱", 1); len(r.Hits) != 1 || r.Hits[0].FAQID != "r" {
		t.Errorf("Search = %+v", r)
	}
	if !b.Delete("r") || b.Delete("r") || b.Len() != 0 {
		t.Error("Delete")
	}
	if err := b.SetSynonyms([]Synonym{{Term: "白条", Variants: []string{"白跳"}}}); err != nil {
		t.Fatal(err)
	}
	if got := b.Normalize("白跳"); got != "白条" {
		t.Errorf("firm synonym: %q", got)
	}
	if err := b.SetSynonyms([]Synonym{{Term: "x"}}); err == nil {
		t.Error("a synonym without variants was accepted")
	}
}

// TestLearn: a text the base cannot place is answered once a matched
// pair teaches it.
func TestLearn(t *testing.T) {
	b := NewBase(Options{})
	if err := b.Upsert(Starter()...); err != nil {
		t.Fatal(err)
	}
	text := "我被人骗了钱还要还吗"
	if r := b.Search(text, 1); len(r.Hits) > 0 && r.Hits[0].FAQID == "account-stolen" && r.Confident {
		t.Skip("already answered")
	}
	b.Learn([]Pair{{Text: text, FAQID: "account-stolen"}, {Text: "  ", FAQID: "x"}})
	r := b.Search("我被骗了钱还要还吗", 1)
	if len(r.Hits) == 0 || r.Hits[0].FAQID != "account-stolen" {
		t.Errorf("after Learn: %+v", r)
	}
}

// TestConcurrentSearch runs searches while the base changes (run with
// -race).
func TestConcurrentSearch(t *testing.T) {
	b := NewBase(Options{NoLearn: true})
	if err := b.Upsert(Starter()...); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				if r := b.Search("怎么还款", 3); len(r.Hits) == 0 {
					t.Errorf("goroutine %d search %d: no hit", g, i)
					return
				}
			}
		}()
	}
	for i := range 5 {
		if err := b.Upsert(Entry{ID: fmt.Sprint("extra-", i), Questions: []string{"问题"}, Answer: "答"}); err != nil {
			t.Error(err)
		}
	}
	wg.Wait()
}

// TestRefitInBackground: with RefitDelay a change is searchable at once
// with the previous scorer, and the scorer fitted on the new content
// replaces it after the delay.
func TestRefitInBackground(t *testing.T) {
	b := NewBase(Options{RefitDelay: 20 * time.Millisecond})
	if err := b.Upsert(Starter()...); err != nil {
		t.Fatal(err)
	}
	before := b.cur.Load().model.Load()
	if before != defaultScorer() {
		t.Fatal("the first content is not searched with the default scorer while it is fitted")
	}
	waitRefit(t, b)
	fitted := b.cur.Load().model.Load()
	if fitted == before {
		t.Fatal("no scorer fitted in the background")
	}
	if err := b.Upsert(Entry{ID: "white", Questions: []string{"白条怎么开通", "如何开白条"}, Answer: "在首页开通。"}); err != nil {
		t.Fatal(err)
	}
	if r := b.Search("白条咋开通", 1); len(r.Hits) == 0 || r.Hits[0].FAQID != "white" {
		t.Fatalf("a new entry is not searchable at once: %+v", r)
	}
	if b.cur.Load().model.Load() != fitted {
		t.Fatal("a change did not keep the previous scorer until the refit")
	}
	waitRefit(t, b)
	if b.cur.Load().model.Load() == fitted {
		t.Error("the change was not refitted")
	}
}

func waitRefit(t *testing.T, b *Base) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); b.Refitting(); {
		if time.Now().After(deadline) {
			t.Fatal("the background refit did not finish")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
