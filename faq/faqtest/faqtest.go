// Package faqtest is the conformance suite of faq.Store: every engine
// (sqlite, postgres) runs it against a fresh database.
package faqtest

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/faq"
)

// Exercise runs the suite; open returns an empty store.
func Exercise(t *testing.T, open func(t *testing.T) faq.Store) {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		es, err := st.FAQs(ctx)
		if err != nil || len(es) != 0 {
			t.Fatalf("FAQs = %v, %v; want none", es, err)
		}
		h, err := st.FAQHistory(ctx, "nope")
		if err != nil || len(h) != 0 {
			t.Fatalf("FAQHistory = %v, %v; want none", h, err)
		}
		syn, err := st.FAQSynonyms(ctx)
		if err != nil || len(syn) != 0 {
			t.Fatalf("FAQSynonyms = %v, %v; want none", syn, err)
		}
		if ok, err := st.DeleteFAQ(ctx, "nope", "alice", t0); err != nil || ok {
			t.Fatalf("DeleteFAQ(unknown) = %v, %v; want false, nil", ok, err)
		}
	})

	t.Run("PutReplaceDeleteHistory", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		a := faq.Entry{ID: "a", Questions: []string{"怎么提额", "額度太低"}, Answer: "按时还款。", Category: "limit"}
		b := faq.Entry{ID: "b", Questions: []string{"怎么还款"}, Answer: "在 app 里还款。"}
		n, err := st.PutFAQs(ctx, []faq.Entry{b, a}, "alice", t0)
		if err != nil || n != 2 {
			t.Fatalf("PutFAQs = %d, %v; want 2", n, err)
		}
		got, err := st.FAQs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]faq.Entry{a, b}, got); diff != "" {
			t.Fatalf("FAQs (-want +got):\n%s", diff)
		}
		// The same content again changes nothing.
		if n, err := st.PutFAQs(ctx, []faq.Entry{a}, "bob", t0.Add(time.Minute)); err != nil || n != 0 {
			t.Fatalf("PutFAQs(unchanged) = %d, %v; want 0", n, err)
		}
		a2 := a
		a2.Questions = []string{"怎么提额"}
		a2.Answer = "按时还款，保持良好信用。"
		if n, err := st.PutFAQs(ctx, []faq.Entry{a2}, "bob", t0.Add(2*time.Minute)); err != nil || n != 1 {
			t.Fatalf("PutFAQs(changed) = %d, %v; want 1", n, err)
		}
		if ok, err := st.DeleteFAQ(ctx, "a", "carol", t0.Add(3*time.Minute)); err != nil || !ok {
			t.Fatalf("DeleteFAQ = %v, %v; want true", ok, err)
		}
		if ok, err := st.DeleteFAQ(ctx, "a", "carol", t0.Add(4*time.Minute)); err != nil || ok {
			t.Fatalf("DeleteFAQ again = %v, %v; want false", ok, err)
		}
		// Re-created after deletion: the versions go on.
		if n, err := st.PutFAQs(ctx, []faq.Entry{a}, "dave", t0.Add(5*time.Minute)); err != nil || n != 1 {
			t.Fatalf("PutFAQs(re-create) = %d, %v; want 1", n, err)
		}
		h, err := st.FAQHistory(ctx, "a")
		if err != nil {
			t.Fatal(err)
		}
		want := []faq.Revision{
			{ID: "a", Version: 1, Entry: &a, By: "alice", At: t0},
			{ID: "a", Version: 2, Entry: &a2, By: "bob", At: t0.Add(2 * time.Minute)},
			{ID: "a", Version: 3, Deleted: true, By: "carol", At: t0.Add(3 * time.Minute)},
			{ID: "a", Version: 4, Entry: &a, By: "dave", At: t0.Add(5 * time.Minute)},
		}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Fatalf("FAQHistory (-want +got):\n%s", diff)
		}
		got, err = st.FAQs(ctx)
		if err != nil || len(got) != 2 {
			t.Fatalf("FAQs = %v, %v; want 2 entries", got, err)
		}
	})

	t.Run("InvalidText", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		bad := faq.Entry{ID: "x", Questions: []string{"a\x00b"}, Answer: "y"}
		if _, err := st.PutFAQs(ctx, []faq.Entry{bad}, "alice", t0); err == nil {
			t.Fatal("PutFAQs with a NUL character succeeded")
		}
		if es, _ := st.FAQs(ctx); len(es) != 0 {
			t.Fatalf("a failed PutFAQs left %v", es)
		}
	})

	t.Run("Synonyms", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		s1 := []faq.Synonym{{Term: "白条", Variants: []string{"白跳", "百条"}}}
		s2 := []faq.Synonym{{Term: "提额", Variants: []string{"涨额度"}}, {Term: "白条", Variants: []string{"白跳"}}}
		if err := st.PutFAQSynonyms(ctx, s1, "alice", t0); err != nil {
			t.Fatal(err)
		}
		if err := st.PutFAQSynonyms(ctx, s2, "bob", t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := st.FAQSynonyms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s2, got); diff != "" {
			t.Fatalf("FAQSynonyms (-want +got):\n%s", diff)
		}
		h, err := st.FAQSynonymHistory(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := []faq.SynonymRevision{{Version: 1, Synonyms: s1, By: "alice", At: t0}, {Version: 2, Synonyms: s2, By: "bob", At: t0.Add(time.Hour)}}
		if diff := cmp.Diff(want, h); diff != "" {
			t.Fatalf("FAQSynonymHistory (-want +got):\n%s", diff)
		}
		// An empty list is a version too.
		if err := st.PutFAQSynonyms(ctx, nil, "carol", t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.FAQSynonyms(ctx); err != nil || len(got) != 0 {
			t.Fatalf("FAQSynonyms after clearing = %v, %v", got, err)
		}
	})

	t.Run("Examples", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		mk := func(text, faqID, source, status string, at time.Time) faq.Example {
			return faq.Example{ID: faq.ExampleID(text, faqID), Text: text, FAQID: faqID, Source: source, Status: status, Count: 1, By: "alice", At: at, UpdatedAt: at}
		}
		pair := mk("额度咋提高", "limit-raise", faq.SourcePair, faq.ExampleActive, t0)
		fb := mk("还款失败了咋整", "repay-failed", faq.SourceFeedback, faq.ExamplePending, t0.Add(time.Minute))
		fb.By = "session:ses_1"
		if n, err := st.AddFAQExamples(ctx, []faq.Example{pair, fb}); err != nil || n != 2 {
			t.Fatalf("AddFAQExamples = %d, %v; want 2", n, err)
		}
		// The same feedback again (another turn): counted, still pending.
		again := fb
		again.At, again.UpdatedAt, again.By = t0.Add(time.Hour), t0.Add(time.Hour), "session:ses_2"
		if n, err := st.AddFAQExamples(ctx, []faq.Example{again}); err != nil || n != 0 {
			t.Fatalf("AddFAQExamples(again) = %d, %v; want 0 new", n, err)
		}
		got, err := st.FAQExample(ctx, fb.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := fb
		want.Count, want.UpdatedAt = 2, t0.Add(time.Hour)
		if diff := cmp.Diff(&want, got); diff != "" {
			t.Fatalf("example after a repeat (-want +got):\n%s", diff)
		}
		for _, tt := range []struct {
			status string
			limit  int
			want   []string
		}{
			{"", 0, []string{fb.ID, pair.ID}},
			{faq.ExamplePending, 0, []string{fb.ID}},
			{faq.ExampleActive, 0, []string{pair.ID}},
			{"", 1, []string{fb.ID}},
			{"rejected", 0, nil},
		} {
			es, err := st.FAQExamples(ctx, tt.status, tt.limit)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range es {
				ids = append(ids, e.ID)
			}
			if !cmp.Equal(ids, tt.want) {
				t.Errorf("FAQExamples(%q, %d) = %v, want %v", tt.status, tt.limit, ids, tt.want)
			}
		}
		if ok, err := st.AcceptFAQExample(ctx, fb.ID, "bob", t0.Add(2*time.Hour)); err != nil || !ok {
			t.Fatalf("AcceptFAQExample = %v, %v", ok, err)
		}
		if ok, err := st.AcceptFAQExample(ctx, fb.ID, "bob", t0.Add(3*time.Hour)); err != nil || ok {
			t.Fatalf("AcceptFAQExample(again) = %v, %v; want no change", ok, err)
		}
		got, _ = st.FAQExample(ctx, fb.ID)
		if got.Status != faq.ExampleActive || got.By != "bob" || !got.UpdatedAt.Equal(t0.Add(2*time.Hour)) || got.Source != faq.SourceFeedback {
			t.Errorf("accepted example = %+v", got)
		}
		if _, err := st.AcceptFAQExample(ctx, "ex_none", "bob", t0); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("AcceptFAQExample(unknown) = %v, want ENOTFOUND", err)
		}
		if _, err := st.FAQExample(ctx, "ex_none"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("FAQExample(unknown) = %v, want ENOTFOUND", err)
		}
		// A pending example given again as active (staff import) becomes active.
		p2 := mk("借呗能分几期", "installments", faq.SourceFeedback, faq.ExamplePending, t0)
		if _, err := st.AddFAQExamples(ctx, []faq.Example{p2}); err != nil {
			t.Fatal(err)
		}
		p2.Status, p2.Source = faq.ExampleActive, faq.SourcePair
		if _, err := st.AddFAQExamples(ctx, []faq.Example{p2}); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.FAQExample(ctx, p2.ID); got.Status != faq.ExampleActive || got.Source != faq.SourceFeedback || got.Count != 2 {
			t.Errorf("pending example imported as a pair = %+v", got)
		}
		if ok, err := st.DeleteFAQExample(ctx, p2.ID); err != nil || !ok {
			t.Fatalf("DeleteFAQExample = %v, %v", ok, err)
		}
		if ok, err := st.DeleteFAQExample(ctx, p2.ID); err != nil || ok {
			t.Fatalf("DeleteFAQExample(again) = %v, %v; want false", ok, err)
		}
		if _, err := st.AddFAQExamples(ctx, []faq.Example{mk("x\x00", "a", faq.SourcePair, faq.ExampleActive, t0)}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
			t.Errorf("NUL in a text: %v, want EINVALID", err)
		}
		// Load learns the active ones.
		if _, err := st.PutFAQs(ctx, []faq.Entry{{ID: "limit-raise", Questions: []string{"怎么提升额度"}, Answer: "按时还款。"},
			{ID: "repay-failed", Questions: []string{"扣款失败怎么办"}, Answer: "检查余额。"}}, "alice", t0); err != nil {
			t.Fatal(err)
		}
		b := faq.NewBase(faq.Options{NoLearn: true})
		if _, err := faq.Load(ctx, st, b); err != nil {
			t.Fatal(err)
		}
		if n := b.Learned(); n != 2 {
			t.Errorf("base learned %d examples, want the 2 active ones", n)
		}
	})

	t.Run("LoadIntoBase", func(t *testing.T) {
		t.Parallel()
		st := open(t)
		b := faq.NewBase(faq.Options{NoLearn: true})
		starter, err := faq.Load(ctx, st, b)
		if err != nil || !starter || b.Len() != len(faq.Starter()) {
			t.Fatalf("Load(empty) = %v, %v with %d entries; want the starter bank", starter, err, b.Len())
		}
		e := faq.Entry{ID: "only", Questions: []string{"白条怎么开通"}, Answer: "在首页开通。"}
		if _, err := st.PutFAQs(ctx, []faq.Entry{e}, "alice", t0); err != nil {
			t.Fatal(err)
		}
		if err := st.PutFAQSynonyms(ctx, []faq.Synonym{{Term: "白条", Variants: []string{"白跳"}}}, "alice", t0); err != nil {
			t.Fatal(err)
		}
		starter, err = faq.Load(ctx, st, b)
		if err != nil || starter || b.Len() != 1 {
			t.Fatalf("Load = %v, %v with %d entries; want the stored entry", starter, err, b.Len())
		}
		if got := b.Normalize("白跳怎么开通"); got != "白条怎么开通" {
			t.Fatalf("Normalize with the stored synonyms = %q", got)
		}
		if r := b.Search("白跳怎么开通", 1); len(r.Hits) != 1 || r.Hits[0].FAQID != "only" {
			t.Fatalf("Search with a stored synonym = %+v", r)
		}
	})
}
