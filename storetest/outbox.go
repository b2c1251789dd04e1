package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/outbox"
)

// OutboxStore is what an engine's outbox implements, plus a hook into its
// business transactions.
type OutboxStore interface {
	outbox.Store
	// InsertInTx writes msgs with the engine's insertOutbox inside one of
	// its write transactions, then commits it, or rolls it back if fail.
	InsertInTx(ctx context.Context, msgs []outbox.Message, fail bool) error
}

// errRollback is what InsertInTx's transaction fails with when told to.
var errRollback = errors.New("storetest: rolled back")

// ErrRollback returns the error an engine's InsertInTx returns from its
// transaction function when fail is set.
func ErrRollback() error { return errRollback }

// outboxT0 is a time with microseconds, as both engines keep.
var outboxT0 = time.Date(2026, 5, 1, 9, 0, 0, 123456000, time.UTC)

// NewOutboxMessage returns message n of sink "payments", written n seconds after
// outboxT0.
func NewOutboxMessage(n int, key string) outbox.Message {
	return outbox.Message{
		ID:        fmt.Sprintf("msg_%04d", n),
		Sink:      "payments",
		Topic:     "hold.released",
		Key:       key,
		Payload:   json.RawMessage(fmt.Sprintf(`{"hold_id":"hld_%04d","amount":"5000.00","note":"放行"}`, n)),
		CreatedAt: outboxT0.Add(time.Duration(n) * time.Second),
	}
}

// ExerciseOutbox runs the outbox-store conformance suite; open is as for
// Exercise.
func ExerciseOutbox(t *testing.T, open func(t *testing.T) OutboxStore) {
	setup := func(t *testing.T) (OutboxStore, context.Context) {
		t.Helper()
		t.Parallel()
		return open(t), t.Context()
	}
	later := outboxT0.Add(time.Hour) // every NewMessage below is due then
	const lease = time.Minute

	t.Run("AppendAndGet", func(t *testing.T) {
		s, ctx := setup(t)
		m := NewOutboxMessage(1, "case_1")
		if err := s.AppendOutbox(ctx, []outbox.Message{m}); err != nil {
			t.Fatal(err)
		}
		changed := m
		changed.Payload = json.RawMessage(`{"other":true}`)
		if err := s.AppendOutbox(ctx, []outbox.Message{changed, NewOutboxMessage(2, "")}); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetOutbox(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := outbox.Entry{Message: m, Seq: got.Seq, State: outbox.Pending, NextAttemptAt: m.CreatedAt, LeaseUntil: got.LeaseUntil}
		if diff := cmp.Diff(want, *got); diff != "" {
			t.Errorf("entry (-want +got):\n%s", diff)
		}
		if _, err := s.GetOutbox(ctx, "msg_missing"); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("GetOutbox of a missing id: %v, want not found", err)
		}
		p, err := s.ListOutbox(ctx, outbox.Filter{})
		if err != nil || len(p.Entries) != 2 {
			t.Fatalf("ListOutbox = %d entries, %v; want 2 (the repeated id skipped)", len(p.Entries), err)
		}
	})

	t.Run("Invalid", func(t *testing.T) {
		s, ctx := setup(t)
		for name, mod := range map[string]func(*outbox.Message){
			"no id":        func(m *outbox.Message) { m.ID = "" },
			"no sink":      func(m *outbox.Message) { m.Sink = "" },
			"no topic":     func(m *outbox.Message) { m.Topic = "" },
			"bad json":     func(m *outbox.Message) { m.Payload = json.RawMessage(`{`) },
			"no time":      func(m *outbox.Message) { m.CreatedAt = time.Time{} },
			"nul in key":   func(m *outbox.Message) { m.Key = "a\x00b" },
			"invalid utf8": func(m *outbox.Message) { m.Topic = "\xff" },
		} {
			m := NewOutboxMessage(1, "")
			mod(&m)
			if err := s.AppendOutbox(ctx, []outbox.Message{NewOutboxMessage(2, ""), m}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
				t.Errorf("%s: %v, want invalid", name, err)
			}
		}
		if p, _ := s.ListOutbox(ctx, outbox.Filter{}); len(p.Entries) != 0 {
			t.Errorf("%d messages written by failed appends", len(p.Entries))
		}
	})

	t.Run("Transaction", func(t *testing.T) {
		s, ctx := setup(t)
		if err := s.InsertInTx(ctx, []outbox.Message{NewOutboxMessage(1, "")}, true); !errors.Is(err, errRollback) {
			t.Fatalf("InsertInTx(fail) = %v", err)
		}
		if _, err := s.GetOutbox(ctx, NewOutboxMessage(1, "").ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Fatalf("message of a rolled-back transaction: %v", err)
		}
		// A client retrying the business change writes the message once.
		for range 2 {
			if err := s.InsertInTx(ctx, []outbox.Message{NewOutboxMessage(1, ""), NewOutboxMessage(2, "")}, false); err != nil {
				t.Fatal(err)
			}
		}
		p, err := s.ListOutbox(ctx, outbox.Filter{})
		if err != nil || len(p.Entries) != 2 {
			t.Fatalf("ListOutbox = %d entries, %v; want 2", len(p.Entries), err)
		}
	})

	t.Run("Claim", func(t *testing.T) {
		s, ctx := setup(t)
		obAppendN(t, s, 1, 5, "")
		// Not due yet: message n is due n seconds after outboxT0.
		got := obClaimIDs(t, s, outboxT0.Add(2*time.Second), 2*time.Hour, 10)
		if want := []string{"msg_0001", "msg_0002"}; !slices.Equal(got, want) {
			t.Fatalf("claimed %v, want %v", got, want)
		}
		// Leased: not claimed again until the lease runs out.
		if got := obClaimIDs(t, s, later, lease, 2); !slices.Equal(got, []string{"msg_0003", "msg_0004"}) {
			t.Fatalf("claimed %v", got)
		}
		if got := obClaimIDs(t, s, later, lease, 10); !slices.Equal(got, []string{"msg_0005"}) {
			t.Fatalf("claimed %v", got)
		}
		if got := obClaimIDs(t, s, later.Add(lease-time.Microsecond), lease, 10); len(got) != 0 {
			t.Fatalf("claimed %v while leased", got)
		}
		again, err := s.ClaimOutbox(ctx, later.Add(lease), lease, 1)
		if err != nil || len(again) != 1 {
			t.Fatalf("claim after the lease: %v, %v", again, err)
		}
		if e := again[0]; e.ID != "msg_0003" || e.Attempts != 2 || e.Claim != 2 || !e.LeaseUntil.Equal(later.Add(2*lease)) {
			t.Errorf("reclaimed %s attempts %d claim %d lease %v", e.ID, e.Attempts, e.Claim, e.LeaseUntil)
		}
		if string(again[0].Payload) != string(NewOutboxMessage(3, "").Payload) {
			t.Errorf("payload %s", again[0].Payload)
		}
	})

	t.Run("Outcomes", func(t *testing.T) {
		s, ctx := setup(t)
		obAppendN(t, s, 1, 3, "")
		c := obClaim(t, s, later, lease, 10)
		// A stale claim records nothing.
		if err := s.MarkOutboxFailed(ctx, c[0].ID, outbox.Failure{Claim: c[0].Claim - 1, NextAttemptAt: later, Err: "stale"}); err != nil {
			t.Fatal(err)
		}
		if e := obGet(t, s, c[0].ID); e.LastError != "" || e.LeaseUntil.IsZero() {
			t.Errorf("stale claim recorded: %+v", e)
		}
		next := later.Add(10 * time.Second)
		obMust(t, s.MarkOutboxFailed(ctx, c[0].ID, outbox.Failure{Claim: c[0].Claim, NextAttemptAt: next, Err: "receiver answered 503"}))
		obMust(t, s.MarkOutboxFailed(ctx, c[1].ID, outbox.Failure{Claim: c[1].Claim, Dead: true, Err: "receiver refused the message: 422"}))
		obMust(t, s.MarkOutboxDelivered(ctx, c[2].ID, later))
		// A late failure of a delivered message changes nothing.
		obMust(t, s.MarkOutboxFailed(ctx, c[2].ID, outbox.Failure{Claim: c[2].Claim, NextAttemptAt: next, Err: "late"}))

		e0, e1, e2 := obGet(t, s, c[0].ID), obGet(t, s, c[1].ID), obGet(t, s, c[2].ID)
		if e0.State != outbox.Pending || !e0.NextAttemptAt.Equal(next) || e0.LastError != "receiver answered 503" || e0.Attempts != 1 {
			t.Errorf("retried: %+v", e0)
		}
		if e1.State != outbox.Dead || e1.LastError == "" {
			t.Errorf("dead: %+v", e1)
		}
		if e2.State != outbox.Delivered || e2.DeliveredAt == nil || !e2.DeliveredAt.Equal(later) || e2.LastError != "" {
			t.Errorf("delivered: %+v", e2)
		}
		if got := obClaimIDs(t, s, next.Add(-time.Microsecond), lease, 10); len(got) != 0 {
			t.Errorf("claimed %v before the retry time", got)
		}
		if got := obClaimIDs(t, s, next, lease, 10); !slices.Equal(got, []string{c[0].ID}) {
			t.Errorf("claimed %v at the retry time", got)
		}

		counts, err := s.OutboxCounts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := []outbox.Count{
			{Sink: "payments", Topic: "hold.released", State: outbox.Dead, N: 1},
			{Sink: "payments", Topic: "hold.released", State: outbox.Pending, N: 1},
		}
		if diff := cmp.Diff(wantCounts, counts); diff != "" {
			t.Errorf("counts (-want +got):\n%s", diff)
		}

		// Redrive: the dead message is due again with its attempts reset.
		obMust(t, s.RedriveOutbox(ctx, c[1].ID, later))
		if e := obGet(t, s, c[1].ID); e.State != outbox.Pending || e.Attempts != 0 || !e.NextAttemptAt.Equal(later) {
			t.Errorf("redriven: %+v", e)
		}
		if err := s.RedriveOutbox(ctx, c[2].ID, later); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
			t.Errorf("redrive of a delivered message: %v, want conflict", err)
		}
		if err := s.RedriveOutbox(ctx, "msg_missing", later); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("redrive of a missing message: %v, want not found", err)
		}

		// Purge keeps what is not delivered, and what was delivered since.
		if n, err := s.PurgeOutbox(ctx, later); err != nil || n != 0 {
			t.Errorf("PurgeOutbox(at delivery) = %d, %v; want 0", n, err)
		}
		if n, err := s.PurgeOutbox(ctx, later.Add(time.Microsecond)); err != nil || n != 1 {
			t.Errorf("PurgeOutbox = %d, %v; want 1", n, err)
		}
		if p, _ := s.ListOutbox(ctx, outbox.Filter{}); len(p.Entries) != 2 {
			t.Errorf("%d messages left after the purge, want 2", len(p.Entries))
		}
	})

	t.Run("OrderPerKey", func(t *testing.T) {
		s, ctx := setup(t)
		msgs := []outbox.Message{NewOutboxMessage(1, "case_a"), NewOutboxMessage(2, "case_a"), NewOutboxMessage(3, "case_b"),
			NewOutboxMessage(4, ""), NewOutboxMessage(5, "case_a"), NewOutboxMessage(6, "case_a")}
		msgs[5].Sink = "sms" // another sink is another line
		obMust(t, s.AppendOutbox(ctx, msgs))
		c := obClaim(t, s, later, lease, 10)
		if got, want := obIDs(c), []string{"msg_0001", "msg_0003", "msg_0004", "msg_0006"}; !slices.Equal(got, want) {
			t.Fatalf("claimed %v, want %v", got, want)
		}
		// A failed message holds its line while it waits for its retry.
		obMust(t, s.MarkOutboxFailed(ctx, "msg_0001", outbox.Failure{Claim: c[0].Claim, NextAttemptAt: later.Add(time.Hour), Err: "x"}))
		if got := obClaimIDs(t, s, later, lease, 10); len(got) != 0 {
			t.Fatalf("claimed %v behind a retrying message", got)
		}
		// At the retry time (the other leases have run out too): the
		// first of the line again, not the ones behind it.
		if got := obClaimIDs(t, s, later.Add(time.Hour), lease, 10); !slices.Equal(got, []string{"msg_0001", "msg_0003", "msg_0004", "msg_0006"}) {
			t.Fatalf("claimed %v at the retry time", got)
		}
		obMust(t, s.MarkOutboxDelivered(ctx, "msg_0001", later))
		if got := obClaimIDs(t, s, later.Add(time.Hour), lease, 10); !slices.Equal(got, []string{"msg_0002"}) {
			t.Fatalf("claimed %v after the first of the line was delivered", got)
		}
		// A dead message no longer holds the line.
		obMust(t, s.MarkOutboxFailed(ctx, "msg_0002", outbox.Failure{Claim: 1, Dead: true, Err: "x"}))
		if got := obClaimIDs(t, s, later.Add(time.Hour), lease, 10); !slices.Equal(got, []string{"msg_0005"}) {
			t.Fatalf("claimed %v after the line's message died", got)
		}
	})

	t.Run("ListPages", func(t *testing.T) {
		s, ctx := setup(t)
		obAppendN(t, s, 1, 7, "")
		sms := NewOutboxMessage(8, "")
		sms.Sink, sms.Topic = "sms", "customer.notify"
		obMust(t, s.AppendOutbox(ctx, []outbox.Message{sms}))
		c := obClaim(t, s, later, lease, 1)
		obMust(t, s.MarkOutboxFailed(ctx, c[0].ID, outbox.Failure{Claim: c[0].Claim, Dead: true, Err: "x"}))

		var got []string
		f := outbox.Filter{Sink: "payments", Limit: 3}
		for {
			p, err := s.ListOutbox(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, obIDs(p.Entries)...)
			if p.Next == 0 {
				break
			}
			f.After = p.Next
		}
		if len(got) != 7 || got[0] != "msg_0001" || got[6] != "msg_0007" {
			t.Errorf("pages of payments: %v", got)
		}
		for _, tc := range []struct {
			f    outbox.Filter
			want []string
		}{
			{outbox.Filter{State: outbox.Dead}, []string{"msg_0001"}},
			{outbox.Filter{Topic: "customer.notify"}, []string{"msg_0008"}},
			{outbox.Filter{Sink: "sms", State: outbox.Pending}, []string{"msg_0008"}},
			{outbox.Filter{Sink: "push"}, nil},
		} {
			p, err := s.ListOutbox(ctx, tc.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := obIDs(p.Entries); !slices.Equal(got, tc.want) {
				t.Errorf("ListOutbox(%+v) = %v, want %v", tc.f, got, tc.want)
			}
		}
	})

	t.Run("ConcurrentClaims", func(t *testing.T) {
		s, ctx := setup(t)
		obAppendN(t, s, 1, 60, "")
		var (
			mu   sync.Mutex
			seen = map[string]int{}
			wg   sync.WaitGroup
		)
		for range 4 {
			wg.Go(func() {
				for {
					c, err := s.ClaimOutbox(ctx, later, lease, 4)
					if err != nil {
						t.Error(err)
						return
					}
					if len(c) == 0 {
						return
					}
					mu.Lock()
					for _, e := range c {
						seen[e.ID]++
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(seen) != 60 {
			t.Errorf("%d messages claimed, want 60", len(seen))
		}
		for id, n := range seen {
			if n != 1 {
				t.Errorf("%s claimed %d times under one lease", id, n)
			}
		}
	})
}

func obAppendN(t *testing.T, s outbox.Store, from, to int, key string) {
	t.Helper()
	var msgs []outbox.Message
	for n := from; n <= to; n++ {
		msgs = append(msgs, NewOutboxMessage(n, key))
	}
	obMust(t, s.AppendOutbox(t.Context(), msgs))
}

func obClaim(t *testing.T, s outbox.Store, now time.Time, lease time.Duration, limit int) []outbox.Entry {
	t.Helper()
	c, err := s.ClaimOutbox(t.Context(), now, lease, limit)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func obClaimIDs(t *testing.T, s outbox.Store, now time.Time, lease time.Duration, limit int) []string {
	t.Helper()
	return obIDs(obClaim(t, s, now, lease, limit))
}

func obIDs(es []outbox.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func obGet(t *testing.T, s outbox.Store, id string) *outbox.Entry {
	t.Helper()
	e, err := s.GetOutbox(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func obMust(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
