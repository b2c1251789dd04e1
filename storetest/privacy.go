package storetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/privacy"
)

// ExercisePrivacy runs the privacy-store conformance suite; open is as for
// Exercise.
func ExercisePrivacy(t *testing.T, open func(t *testing.T) privacy.Store) {
	t.Parallel()
	s := open(t)
	ctx := context.Background()
	at := time.Date(2026, 5, 8, 2, 0, 0, 123456000, time.UTC)

	// Consents: history kept, current state is the latest, retries are
	// no-ops, a reused key with other content is refused.
	consent := func(key string, p privacy.Purpose, granted bool, when time.Time) *privacy.Consent {
		return &privacy.Consent{CustomerID: "c-1", Purpose: p, Granted: granted, Channel: privacy.ChannelApp,
			PolicyVersion: "2026.1", At: when, Evidence: "app-log-" + key, IdempotencyKey: key, RecordedAt: at, RecordedBy: "key:k1"}
	}
	first, created, err := s.RecordConsent(ctx, consent("k-1", privacy.Marketing, true, at))
	if err != nil || !created || first.Seq == 0 {
		t.Fatalf("RecordConsent = %+v, %v, %v", first, created, err)
	}
	retry := consent("k-1", privacy.Marketing, true, at)
	retry.RecordedAt = at.Add(time.Minute)
	again, created, err := s.RecordConsent(ctx, retry)
	if err != nil || created || again.Seq != first.Seq || !again.RecordedAt.Equal(at) {
		t.Errorf("retried RecordConsent = %+v, %v, %v; want the first record", again, created, err)
	}
	if _, _, err := s.RecordConsent(ctx, consent("k-1", privacy.Marketing, false, at)); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("reused key for another change: %v, want conflict", err)
	}
	// Recorded later but given earlier: history orders by when it was given.
	if _, _, err := s.RecordConsent(ctx, consent("k-2", privacy.Marketing, false, at.Add(2*time.Hour))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.RecordConsent(ctx, consent("k-3", privacy.Profiling, true, at.Add(-time.Hour))); err != nil {
		t.Fatal(err)
	}
	other := consent("k-4", privacy.Marketing, true, at)
	other.CustomerID = "c-2"
	if _, _, err := s.RecordConsent(ctx, other); err != nil {
		t.Fatal(err)
	}
	hist, err := s.Consents(ctx, "c-1")
	if err != nil || len(hist) != 3 {
		t.Fatalf("Consents = %v, %v", hist, err)
	}
	if hist[0].IdempotencyKey != "k-3" || hist[1].IdempotencyKey != "k-1" || hist[2].IdempotencyKey != "k-2" {
		t.Errorf("history order %s %s %s, want k-3 k-1 k-2", hist[0].IdempotencyKey, hist[1].IdempotencyKey, hist[2].IdempotencyKey)
	}
	if diff := cmp.Diff(first, hist[1]); diff != "" {
		t.Errorf("consent read back (-want +got):\n%s", diff)
	}
	if privacy.Allowed(hist, privacy.Marketing) || !privacy.Allowed(hist, privacy.Profiling) {
		t.Error("current state is not the latest change")
	}
	if none, err := s.Consents(ctx, "nobody"); err != nil || len(none) != 0 || none == nil {
		t.Errorf("Consents of nobody = %#v, %v; want empty", none, err)
	}

	// Concurrent retries of one change store it once.
	var wg sync.WaitGroup
	seqs := make([]int64, 8)
	for i := range seqs {
		wg.Go(func() {
			c, _, err := s.RecordConsent(ctx, consent("k-race", privacy.EducationOutreach, true, at))
			if err != nil {
				t.Error(err)
				return
			}
			seqs[i] = c.Seq
		})
	}
	wg.Wait()
	for _, q := range seqs {
		if q != seqs[0] {
			t.Errorf("concurrent retries stored several records: %v", seqs)
			break
		}
	}

	// Requests.
	policy := privacy.DefaultPolicy()
	ended := at.AddDate(-2, 0, 0)
	newReq := func(key, customer string, kind privacy.Kind, received time.Time) *privacy.Request {
		r := &privacy.Request{CustomerID: customer, Kind: kind, Channel: privacy.ChannelCounter, Details: "全部数据",
			IdempotencyKey: key, ReceivedAt: received}
		if kind == privacy.KindDeletion {
			r.RelationshipEndedAt = &ended
		}
		if err := privacy.NewRequest(r, policy, "user:u1", received); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r1 := newReq("r-1", "c-1", privacy.KindDeletion, at)
	got, created, err := s.CreateRequest(ctx, r1)
	if err != nil || !created {
		t.Fatalf("CreateRequest = %v, %v", created, err)
	}
	if diff := cmp.Diff(r1, got); diff != "" {
		t.Errorf("request read back (-want +got):\n%s", diff)
	}
	dup := newReq("r-1", "c-1", privacy.KindDeletion, at)
	got, created, err = s.CreateRequest(ctx, dup)
	if err != nil || created || got.ID != r1.ID {
		t.Errorf("retried CreateRequest = %+v, %v, %v; want the first request", got, created, err)
	}
	if _, _, err := s.CreateRequest(ctx, newReq("r-1", "c-1", privacy.KindAccess, at)); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("reused key for another request: %v", err)
	}
	same := newReq("r-other", "c-1", privacy.KindAccess, at)
	same.ID = r1.ID
	if _, _, err := s.CreateRequest(ctx, same); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("duplicate id: %v", err)
	}
	if _, err := s.Request(ctx, "dsr_none"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("missing request: %v", err)
	}

	// Transitions compare and swap.
	stale := *r1
	stale.Events = append([]privacy.Event(nil), r1.Events...)
	ev, err := r1.Transition(privacy.ActionVerify, "user:u2", "身份证核验", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateRequest(ctx, r1, privacy.StatusReceived, ev); err != nil {
		t.Fatal(err)
	}
	ev2, _ := stale.Transition(privacy.ActionReject, "user:u3", "cannot reach the customer", at.Add(2*time.Hour))
	if err := s.UpdateRequest(ctx, &stale, privacy.StatusReceived, ev2); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("stale transition: %v, want conflict", err)
	}
	got, err = s.Request(ctx, r1.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r1, got); diff != "" {
		t.Errorf("verified request (-want +got):\n%s", diff)
	}
	ghost := *r1
	ghost.ID = "dsr_ghost"
	if err := s.UpdateRequest(ctx, &ghost, privacy.StatusVerified, ev); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("update of a missing request: %v", err)
	}
	for _, step := range []privacy.Action{privacy.ActionStart, privacy.ActionComplete} {
		from := r1.Status
		ev, err := r1.Transition(step, "user:u2", "", at.Add(3*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateRequest(ctx, r1, from, ev); err != nil {
			t.Fatal(err)
		}
	}

	// The work queue: by due time; overdue as of a time.
	r2 := newReq("r-2", "c-2", privacy.KindAccess, at.AddDate(0, 0, -40))   // long overdue
	r3 := newReq("r-3", "c-1", privacy.KindCorrection, at.AddDate(0, 0, 3)) // Monday: due a working day after r1
	for _, r := range []*privacy.Request{r2, r3} {
		if _, _, err := s.CreateRequest(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(f privacy.RequestFilter) []string {
		t.Helper()
		rs, err := s.Requests(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		out := []string{}
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	yes, no := true, false
	for _, tt := range []struct {
		name string
		f    privacy.RequestFilter
		want []string
	}{
		{"all by due time", privacy.RequestFilter{}, []string{r2.ID, r1.ID, r3.ID}},
		{"status", privacy.RequestFilter{Status: privacy.StatusReceived}, []string{r2.ID, r3.ID}},
		{"customer", privacy.RequestFilter{CustomerID: "c-1"}, []string{r1.ID, r3.ID}},
		{"kind", privacy.RequestFilter{Kind: privacy.KindCorrection}, []string{r3.ID}},
		{"overdue", privacy.RequestFilter{Overdue: &yes, Now: at}, []string{r2.ID}},
		{"not overdue", privacy.RequestFilter{Overdue: &no, Now: at}, []string{r1.ID, r3.ID}},
		{"overdue later", privacy.RequestFilter{Overdue: &yes, Now: at.AddDate(1, 0, 0)}, []string{r2.ID, r3.ID}},
		{"limit", privacy.RequestFilter{Limit: 1}, []string{r2.ID}},
		{"nothing", privacy.RequestFilter{CustomerID: "c-9"}, []string{}},
	} {
		if got := ids(tt.f); !cmp.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	rs, _ := s.Requests(ctx, privacy.RequestFilter{CustomerID: "c-2"})
	if len(rs) != 1 || rs[0].DueAt.IsZero() || rs[0].Kind != privacy.KindAccess {
		t.Errorf("listed request = %+v", rs)
	}

	// Text neither engine can hold is refused alike.
	bad := consent("k-nul", privacy.Marketing, true, at)
	bad.Evidence = "a\x00b"
	if _, _, err := s.RecordConsent(ctx, bad); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("NUL in evidence: %v", err)
	}
}
