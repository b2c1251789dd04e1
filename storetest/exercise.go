package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Exercise runs the conformance suite against an engine. open must return a
// new, empty, migrated store for the test it is given and close it (and
// remove it) when that test ends; the subtests run in parallel, each on its
// own store.
func Exercise(t *testing.T, open func(t *testing.T) Store) {
	setup := func(t *testing.T) (Store, context.Context) {
		t.Helper()
		t.Parallel()
		return open(t), t.Context()
	}

	t.Run("Records", func(t *testing.T) {
		t.Run("SaveAndRead", func(t *testing.T) {
			s, ctx := setup(t)
			recs := NewRecords(1, 5)
			recs[1].Event.Counterparty.Account = "" // a login has no counterparty
			recs[1].Event.Device.ID = ""
			recs[1].Decision.Typology = ""
			recs[2].Event.OccurredAt = recs[2].Event.OccurredAt.In(time.FixedZone("CST", 8*3600))
			mustSave(t, s, recs...)
			for _, want := range recs {
				got, err := s.Decision(ctx, want.Decision.ID)
				if err != nil {
					t.Fatal(err)
				}
				requireRecord(t, want, got)
				got, err = s.DecisionByEvent(ctx, want.Event.ID)
				if err != nil {
					t.Fatal(err)
				}
				requireRecord(t, want, got)
			}
			if seq, err := s.MaxSeq(ctx); err != nil || seq != 5 {
				t.Fatalf("MaxSeq = %d, %v; want 5", seq, err)
			}
		})

		t.Run("NotFound", func(t *testing.T) {
			s, ctx := setup(t)
			mustSave(t, s, NewRecord(1))
			_, err := s.Decision(ctx, "dec_missing")
			requireCode(t, err, xiaobao.ENOTFOUND)
			_, err = s.DecisionByEvent(ctx, "evt_missing")
			requireCode(t, err, xiaobao.ENOTFOUND)
		})

		t.Run("Empty", func(t *testing.T) {
			s, ctx := setup(t)
			if err := s.SaveRecords(ctx, nil); err != nil {
				t.Fatal(err)
			}
			if seq, err := s.MaxSeq(ctx); err != nil || seq != 0 {
				t.Fatalf("MaxSeq = %d, %v; want 0", seq, err)
			}
			err := s.Replay(ctx, 0, func(guard.ReplayItem) error { return errors.New("called") })
			if err != nil {
				t.Fatal(err)
			}
			err = s.EventIDs(ctx, func(string) error { return errors.New("called") })
			if err != nil {
				t.Fatal(err)
			}
			recs, err := s.FindDecisions(ctx, guard.DecisionFilter{})
			if err != nil || len(recs) != 0 {
				t.Fatalf("FindDecisions = %d records, %v; want none", len(recs), err)
			}
		})

		t.Run("RawExact", func(t *testing.T) {
			s, ctx := setup(t)
			raws := [][]byte{
				[]byte(" {\"event_id\" : \"evt_000000000001\",\n \"x\":1.50, \"unknown\":[null]}\t"),
				{0, 1, 2, 0xff, 0xfe, '"', '\\', 0},
				[]byte("不是 JSON 也照存"),
				{},
			}
			recs := NewRecords(1, len(raws))
			for i, r := range raws {
				recs[i].Event.Raw = r
			}
			mustSave(t, s, recs...)
			for i, r := range raws {
				got, err := s.Decision(ctx, recs[i].Decision.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got.Event.Raw, r) {
					t.Errorf("raw %d = %q, want %q", i, got.Event.Raw, r)
				}
			}
			var n int
			err := s.Replay(ctx, 0, func(it guard.ReplayItem) error {
				if !bytes.Equal(it.Raw, raws[n]) {
					t.Errorf("replayed raw %d = %q, want %q", n, it.Raw, raws[n])
				}
				n++
				return nil
			})
			if err != nil || n != len(raws) {
				t.Fatalf("Replay: %d items, %v", n, err)
			}
		})

		t.Run("DuplicateEventAllOrNone", func(t *testing.T) {
			s, ctx := setup(t)
			mustSave(t, s, NewRecords(1, 3)...)
			batch := NewRecords(4, 10)
			setEvent(batch[7], "evt_000000000002") // already stored
			requireCode(t, s.SaveRecords(ctx, batch), xiaobao.ECONFLICT)
			requireNoneSaved(t, s, batch)
			if seq, err := s.MaxSeq(ctx); err != nil || seq != 3 {
				t.Fatalf("MaxSeq = %d, %v; want 3", seq, err)
			}
			// The batch without the duplicate then goes in whole.
			batch = slices.Delete(batch, 7, 8)
			mustSave(t, s, batch...)
			requireCount(t, s, 12)
		})

		t.Run("DuplicateWithinBatch", func(t *testing.T) {
			s, ctx := setup(t)
			batch := NewRecords(1, 40)
			setEvent(batch[39], batch[3].Event.ID)
			requireCode(t, s.SaveRecords(ctx, batch), xiaobao.ECONFLICT)
			requireNoneSaved(t, s, batch)
			requireCount(t, s, 0)
		})

		t.Run("DuplicateSeqOrDecision", func(t *testing.T) {
			s, ctx := setup(t)
			mustSave(t, s, NewRecords(1, 3)...)

			dupSeq := NewRecords(10, 3)
			dupSeq[2].Seq = 2
			requireCode(t, s.SaveRecords(ctx, dupSeq), xiaobao.ECONFLICT)
			requireNoneSaved(t, s, dupSeq[:2])

			dupDec := NewRecords(20, 3)
			dupDec[1].Decision.ID = "dec_000000000001"
			requireCode(t, s.SaveRecords(ctx, dupDec), xiaobao.ECONFLICT)
			requireNoneSaved(t, s, dupDec[:1])
			requireCount(t, s, 3)
		})

		t.Run("Invalid", func(t *testing.T) {
			s, ctx := setup(t)
			noEvent := NewRecords(1, 2)
			noEvent[1].Event = nil
			requireCode(t, s.SaveRecords(ctx, noEvent), xiaobao.EINVALID)
			noDecision := NewRecords(1, 2)
			noDecision[0].Decision = nil
			requireCode(t, s.SaveRecords(ctx, noDecision), xiaobao.EINVALID)
			requireCount(t, s, 0)
		})

		t.Run("InvalidText", func(t *testing.T) {
			// Text that PostgreSQL cannot hold is refused by every engine,
			// before anything is stored.
			s, ctx := setup(t)
			nul := NewRecords(1, 3)
			setEvent(nul[2], "evt_\x00")
			requireCode(t, s.SaveRecords(ctx, nul), xiaobao.EINVALID)
			bad := NewRecords(1, 3)
			bad[0].Event.Customer.ID = "cus_\xff"
			requireCode(t, s.SaveRecords(ctx, bad), xiaobao.EINVALID)
			requireCount(t, s, 0)

			_, err := s.SaveOutcome(ctx, &guard.Outcome{ID: "o", DecisionID: "d", Kind: guard.OutcomeFalseAlarm, Note: "a\x00b"})
			requireCode(t, err, xiaobao.EINVALID)
			requireCode(t, s.SavePack(ctx, &guard.PackVersion{Name: "core", Source: "\xc3\x28"}), xiaobao.EINVALID)
			requireCode(t, s.PutListEntries(ctx, []*guard.ListEntry{{List: guard.BlockList, Kind: guard.KindPhone, Value: "1\x00"}}), xiaobao.EINVALID)
			requireCode(t, s.CreateKey(ctx, &auth.Key{ID: "key_1", Hash: "h", Scopes: []string{"\xff"}}), xiaobao.EINVALID)
			if names, err := s.PackNames(ctx); err != nil || len(names) != 0 {
				t.Fatalf("PackNames after a refused save = %v, %v", names, err)
			}
		})

		t.Run("BatchSizes", func(t *testing.T) {
			// Sizes around the engines' internal chunking (powers of two,
			// page sizes) must all store every record once.
			s, ctx := setup(t)
			var (
				seq  int64
				want []int64
			)
			for _, n := range []int{1, 2, 3, 7, 15, 16, 17, 31, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257} {
				batch := NewRecords(seq+1, n)
				seq += int64(n)
				for _, r := range batch {
					want = append(want, r.Seq)
				}
				if err := s.SaveRecords(ctx, batch); err != nil {
					t.Fatalf("batch of %d: %v", n, err)
				}
			}
			var got []int64
			if err := s.Replay(ctx, 0, func(it guard.ReplayItem) error { got = append(got, it.Seq); return nil }); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("replayed seqs (-want +got):\n%s", diff)
			}
			rec, err := s.Decision(ctx, "dec_000000000999")
			if err != nil {
				t.Fatal(err)
			}
			requireRecord(t, NewRecord(999), rec)
		})

		t.Run("Concurrent", func(t *testing.T) {
			s, ctx := setup(t)
			const writers, batches, size = 4, 25, 8
			var wg sync.WaitGroup
			errc := make(chan error, writers+1)
			for w := range writers {
				wg.Go(func() {
					for b := range batches {
						first := int64((w*batches+b)*size) + 1
						if err := s.SaveRecords(ctx, NewRecords(first, size)); err != nil {
							errc <- err
							return
						}
					}
				})
			}
			stop := make(chan struct{})
			var rg sync.WaitGroup
			rg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := s.FindDecisions(ctx, guard.DecisionFilter{CustomerID: "cus_3", Limit: 10}); err != nil {
						errc <- err
						return
					}
					if _, err := s.MaxSeq(ctx); err != nil {
						errc <- err
						return
					}
				}
			})
			wg.Wait()
			close(stop)
			rg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			requireCount(t, s, writers*batches*size)
		})
	})

	t.Run("FindDecisions", func(t *testing.T) {
		t.Run("Filters", func(t *testing.T) {
			s, ctx := setup(t)
			all := filterData()
			mustSave(t, s, all[:13]...)
			mustSave(t, s, all[13:]...)
			hold, friction := guard.Hold, guard.Friction
			allow := guard.Allow
			from, to := all[10].Event.OccurredAt, all[40].Event.OccurredAt
			filters := map[string]guard.DecisionFilter{
				"zero":               {},
				"customer":           {CustomerID: "cus_3"},
				"account":            {Account: all[5].Event.Counterparty.Account},
				"device":             {DeviceID: "dev_2"},
				"action":             {Action: &hold},
				"action allow":       {Action: &allow},
				"min action":         {MinAction: &friction},
				"min action allow":   {MinAction: &allow},
				"typology":           {Typology: "impersonation"},
				"event type":         {EventType: guard.Login},
				"from":               {From: from},
				"to":                 {To: to},
				"from to":            {From: from, To: to},
				"from to other zone": {From: from.In(time.FixedZone("", -5*3600)), To: to.In(time.FixedZone("", 8*3600))},
				"before seq":         {BeforeSeq: 30},
				"customer min":       {CustomerID: "cus_1", MinAction: &friction},
				"account type from":  {Account: all[1].Event.Counterparty.Account, EventType: guard.Transfer, From: from},
				"everything":         {CustomerID: "cus_2", DeviceID: "dev_4", MinAction: &allow, Typology: "investment_scam", From: from, To: to, BeforeSeq: 50},
				"limit":              {Limit: 3},
				"limit before":       {Limit: 4, BeforeSeq: 20, MinAction: &friction},
				"no match":           {CustomerID: "nobody"},
				"empty account":      {Account: "no-such-account"},
			}
			for name, f := range filters {
				got, err := s.FindDecisions(ctx, f)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				want := findInMemory(all, f)
				if diff := cmp.Diff(seqs(want), seqs(got)); diff != "" {
					t.Errorf("%s: seqs (-want +got):\n%s", name, diff)
				}
				if name == "no match" && (got == nil || len(got) != 0) {
					t.Errorf("no match: got %#v, want an empty slice", got)
				}
				for i := range min(len(want), len(got)) {
					requireRecord(t, want[i], got[i])
				}
			}
		})

		t.Run("Paging", func(t *testing.T) {
			s, ctx := setup(t)
			all := filterData()
			mustSave(t, s, all...)
			var got []int64
			f := guard.DecisionFilter{Limit: 7}
			for {
				page, err := s.FindDecisions(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				if len(page) == 0 {
					break
				}
				got = append(got, seqs(page)...)
				f.BeforeSeq = page[len(page)-1].Seq
			}
			if diff := cmp.Diff(seqs(findInMemory(all, guard.DecisionFilter{Limit: 1000})), got); diff != "" {
				t.Fatalf("paged seqs (-want +got):\n%s", diff)
			}
		})

		t.Run("Limits", func(t *testing.T) {
			s, ctx := setup(t)
			for first := int64(1); first <= 1100; first += 275 {
				mustSave(t, s, NewRecords(first, 275)...)
			}
			for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {1, 1}, {999, 999}, {1000, 1000}, {1001, 1000}, {5000, 1000}} {
				got, err := s.FindDecisions(ctx, guard.DecisionFilter{Limit: c.limit})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != c.want {
					t.Errorf("Limit %d: %d records, want %d", c.limit, len(got), c.want)
				}
				if len(got) > 0 && got[0].Seq != 1100 {
					t.Errorf("Limit %d: first seq %d, want 1100", c.limit, got[0].Seq)
				}
			}
		})
	})

	t.Run("Replay", func(t *testing.T) {
		t.Run("ManyBatches", func(t *testing.T) {
			s, ctx := setup(t)
			// Records with gaps in seq, saved in batches of every size from 1
			// to 256. (Engines' tests set a small page size for their paged
			// reads, so that this crosses many page boundaries.)
			n := 6_000
			if testing.Short() || raceEnabled {
				n = 3_000
			}
			var (
				want []*guard.Record
				seq  int64
			)
			for size := 1; len(want) < n; size = size%256 + 1 {
				batch := make([]*guard.Record, 0, size)
				for range min(size, n-len(want)) {
					seq += 1 + seq%3 // gaps
					r := NewRecord(seq)
					r.Event.Raw = append(r.Event.Raw, strconv.FormatInt(seq, 10)...)
					r.Decision.Action = guard.Actions[seq%int64(len(guard.Actions))]
					if seq%4 == 0 {
						r.Decision.Typology = ""
					}
					batch = append(batch, r)
				}
				mustSave(t, s, batch...)
				want = append(want, batch...)
			}
			if maxSeq, err := s.MaxSeq(ctx); err != nil || maxSeq != seq {
				t.Fatalf("MaxSeq = %d, %v; want %d", maxSeq, err, seq)
			}

			check := func(afterSeq int64) {
				t.Helper()
				i, _ := slices.BinarySearchFunc(want, afterSeq+1, func(r *guard.Record, s int64) int { return int(r.Seq - s) })
				err := s.Replay(ctx, afterSeq, func(it guard.ReplayItem) error {
					if i >= len(want) {
						return fmt.Errorf("extra item seq %d", it.Seq)
					}
					w := want[i]
					if it.Seq != w.Seq || it.Action != w.Decision.Action || it.Typology != w.Decision.Typology || !bytes.Equal(it.Raw, w.Event.Raw) {
						return fmt.Errorf("item %d: got seq %d action %v typology %q, want seq %d action %v typology %q (raw equal: %v)",
							i, it.Seq, it.Action, it.Typology, w.Seq, w.Decision.Action, w.Decision.Typology, bytes.Equal(it.Raw, w.Event.Raw))
					}
					i++
					return nil
				})
				if err != nil {
					t.Fatalf("Replay(%d): %v", afterSeq, err)
				}
				if i != len(want) {
					t.Fatalf("Replay(%d) stopped at item %d of %d", afterSeq, i, len(want))
				}
			}
			check(0)
			check(want[n/2].Seq)
			check(want[n/2].Seq + 1) // may be a gap
			check(seq - 1)
			check(seq)

			// An error from fn stops the replay and comes back as is.
			stop := errors.New("stop")
			calls := 0
			err := s.Replay(ctx, 0, func(guard.ReplayItem) error {
				calls++
				if calls == 3 {
					return stop
				}
				return nil
			})
			if !errors.Is(err, stop) || calls != 3 {
				t.Fatalf("Replay with failing fn: %v after %d calls, want stop after 3", err, calls)
			}

			ids := map[string]bool{}
			err = s.EventIDs(ctx, func(id string) error {
				if ids[id] {
					return fmt.Errorf("event id %s twice", id)
				}
				ids[id] = true
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(ids) != len(want) {
				t.Fatalf("EventIDs gave %d ids, want %d", len(ids), len(want))
			}
			for _, r := range want {
				if !ids[r.Event.ID] {
					t.Fatalf("EventIDs lacks %s", r.Event.ID)
				}
			}
			err = s.EventIDs(ctx, func(string) error { return stop })
			if !errors.Is(err, stop) {
				t.Fatalf("EventIDs with failing fn: %v", err)
			}
		})

		t.Run("StoreUsableFromFn", func(t *testing.T) {
			// fn may call the store: the engines must not hold a connection
			// or a lock that this would need.
			s, ctx := setup(t)
			mustSave(t, s, NewRecords(1, 5)...)
			err := s.Replay(ctx, 0, func(it guard.ReplayItem) error {
				if _, err := s.MaxSeq(ctx); err != nil {
					return err
				}
				_, err := s.SaveOutcome(ctx, &guard.Outcome{ID: "o" + strconv.FormatInt(it.Seq, 10), DecisionID: "d" + strconv.FormatInt(it.Seq, 10), Kind: guard.OutcomeFalseAlarm})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})

	t.Run("Snapshot", func(t *testing.T) {
		t.Run("RoundTrip", func(t *testing.T) {
			s, ctx := setup(t)
			seq, data, err := s.LoadSnapshot(ctx)
			if err != nil || seq != 0 || data != nil {
				t.Fatalf("LoadSnapshot on empty store = %d, %d bytes (nil: %v), %v; want 0, nil", seq, len(data), data == nil, err)
			}
			if err := s.SaveSnapshot(ctx, 10, []byte("first")); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveSnapshot(ctx, 20, []byte("second")); err != nil {
				t.Fatal(err)
			}
			seq, data, err = s.LoadSnapshot(ctx)
			if err != nil || seq != 20 || string(data) != "second" {
				t.Fatalf("LoadSnapshot = %d, %q, %v; want 20, second", seq, data, err)
			}
		})

		t.Run("Large", func(t *testing.T) {
			s, ctx := setup(t)
			size := 48 << 20
			if testing.Short() || raceEnabled {
				size = 8 << 20
			}
			big := make([]byte, size)
			rand.NewChaCha8([32]byte{1}).Read(big)
			if err := s.SaveSnapshot(ctx, 123456, big); err != nil {
				t.Fatal(err)
			}
			seq, data, err := s.LoadSnapshot(ctx)
			if err != nil || seq != 123456 || !bytes.Equal(data, big) {
				t.Fatalf("LoadSnapshot = %d, %d bytes (equal: %v), %v", seq, len(data), bytes.Equal(data, big), err)
			}
		})
	})

	t.Run("Outcomes", func(t *testing.T) {
		t.Run("Idempotent", func(t *testing.T) {
			s, ctx := setup(t)
			at := time.Date(2025, 3, 2, 9, 30, 0, 123_000_000, time.FixedZone("CST", 8*3600))
			o := &guard.Outcome{ID: "out_1", DecisionID: "dec_1", Kind: guard.OutcomeConfirmedFraud,
				AmountLost: 500000, AmountSaved: 0, Typology: "investment_scam", Note: "客户确认被骗",
				Source: "bank_case", RecordedAt: at, CustomerID: "cus_1", Account: "6222"}
			saveOutcome(t, s, o, true)
			requireOutcome(t, s, o)

			// A retry (new id, time and source, same content) changes nothing.
			retry := *o
			retry.ID, retry.RecordedAt, retry.Source = "out_1b", at.Add(time.Minute), "api"
			saveOutcome(t, s, &retry, false)
			requireOutcome(t, s, o)

			// Any of kind, amounts, typology or note makes a new version.
			prev := o
			for i, change := range []func(*guard.Outcome){
				func(o *guard.Outcome) { o.Kind = guard.OutcomeFalseAlarm },
				func(o *guard.Outcome) { o.AmountLost = 1 },
				func(o *guard.Outcome) { o.AmountSaved = 250000 },
				func(o *guard.Outcome) { o.Typology = "impersonation" },
				func(o *guard.Outcome) { o.Note = "" },
				func(n *guard.Outcome) { *n = *o }, // back to the first content: still a change
			} {
				next := *prev
				change(&next)
				next.ID = fmt.Sprintf("out_2_%d", i)
				next.RecordedAt = at.Add(time.Duration(i+2) * time.Hour)
				saveOutcome(t, s, &next, true)
				requireOutcome(t, s, &next)
				saveOutcome(t, s, &next, false)
				prev = &next
			}

			_, err := s.Outcome(ctx, "dec_missing")
			requireCode(t, err, xiaobao.ENOTFOUND)
		})

		t.Run("Order", func(t *testing.T) {
			s, ctx := setup(t)
			base := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
			mk := func(dec string, minutes int, kind guard.OutcomeKind) *guard.Outcome {
				return &guard.Outcome{ID: "out_" + dec + strconv.Itoa(minutes), DecisionID: dec, Kind: kind,
					RecordedAt: base.Add(time.Duration(minutes) * time.Minute), CustomerID: "cus_" + dec}
			}
			saveOutcome(t, s, mk("a", 10, guard.OutcomeConfirmedFraud), true)
			saveOutcome(t, s, mk("b", 5, guard.OutcomeDissuaded), true)
			saveOutcome(t, s, mk("c", 20, guard.OutcomeProceeded), true)
			saveOutcome(t, s, mk("a", 30, guard.OutcomeFalseAlarm), true) // a moves last
			saveOutcome(t, s, mk("d", 20, guard.OutcomeFalseAlarm), true) // same time as c
			want := []string{"b:customer_dissuaded", "c:customer_proceeded", "d:false_alarm", "a:false_alarm"}
			// Many ties, so that page boundaries fall inside them.
			for i := range 24 {
				dec := fmt.Sprintf("t%02d", 23-i)
				saveOutcome(t, s, mk(dec, 40+(i%3), guard.OutcomeConfirmedFraud), true)
			}
			for m := 40; m < 43; m++ {
				var decs []string
				for i := range 24 {
					if 40+(i%3) == m {
						decs = append(decs, fmt.Sprintf("t%02d", 23-i))
					}
				}
				sort.Strings(decs)
				for _, d := range decs {
					want = append(want, d+":confirmed_fraud")
				}
			}
			var got []string
			err := s.Outcomes(ctx, func(o *guard.Outcome) error {
				requireUTC(t, o.RecordedAt)
				got = append(got, o.DecisionID+":"+string(o.Kind))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Fatalf("Outcomes (-want +got):\n%s", diff)
			}
			stop := errors.New("stop")
			if err := s.Outcomes(ctx, func(*guard.Outcome) error { return stop }); !errors.Is(err, stop) {
				t.Fatalf("Outcomes with failing fn: %v", err)
			}
		})
	})

	t.Run("Packs", func(t *testing.T) {
		t.Run("Versions", func(t *testing.T) {
			s, ctx := setup(t)
			names, err := s.PackNames(ctx)
			if err != nil || len(names) != 0 {
				t.Fatalf("PackNames = %v, %v; want none", names, err)
			}
			at := time.Date(2025, 3, 1, 8, 0, 0, 456_000_000, time.FixedZone("CST", 8*3600))
			var saved []*guard.PackVersion
			for i := 1; i <= 3; i++ {
				p := &guard.PackVersion{Name: "core", Source: fmt.Sprintf("rules:\n  - id: r%d\n", i),
					Active:    true, // ignored: new versions are inactive
					CreatedAt: at.Add(time.Duration(i) * time.Minute), CreatedBy: "alice", Comment: "第 " + strconv.Itoa(i) + " 版"}
				if err := s.SavePack(ctx, p); err != nil {
					t.Fatal(err)
				}
				if p.Version != i || p.Active {
					t.Fatalf("saved version %d active %v, want %d inactive", p.Version, p.Active, i)
				}
				saved = append(saved, p)
			}
			other := &guard.PackVersion{Name: "aml", Source: "rules: []"}
			if err := s.SavePack(ctx, other); err != nil || other.Version != 1 {
				t.Fatalf("SavePack(aml) = version %d, %v; want 1", other.Version, err)
			}

			vs, err := s.PackVersions(ctx, "core")
			if err != nil {
				t.Fatal(err)
			}
			requirePacks(t, []*guard.PackVersion{saved[2], saved[1], saved[0]}, vs)
			for _, p := range saved {
				got, err := s.PackVersion(ctx, "core", p.Version)
				if err != nil {
					t.Fatal(err)
				}
				requirePacks(t, []*guard.PackVersion{p}, []*guard.PackVersion{got})
			}
			_, err = s.PackVersion(ctx, "core", 4)
			requireCode(t, err, xiaobao.ENOTFOUND)
			_, err = s.PackVersion(ctx, "missing", 1)
			requireCode(t, err, xiaobao.ENOTFOUND)
			if vs, err := s.PackVersions(ctx, "missing"); err != nil || len(vs) != 0 {
				t.Fatalf("PackVersions(missing) = %d versions, %v; want none", len(vs), err)
			}
			names, err = s.PackNames(ctx)
			if diff := cmp.Diff([]string{"aml", "core"}, names); err != nil || diff != "" {
				t.Fatalf("PackNames: %v %s", err, diff)
			}
			active, err := s.ActivePacks(ctx)
			if err != nil || len(active) != 0 {
				t.Fatalf("ActivePacks = %d, %v; want none", len(active), err)
			}
		})

		t.Run("Activation", func(t *testing.T) {
			s, ctx := setup(t)
			for _, name := range []string{"zeta", "core", "aml", "core", "core", "zeta", "B-upper"} {
				if err := s.SavePack(ctx, &guard.PackVersion{Name: name, Source: "x"}); err != nil {
					t.Fatal(err)
				}
			}
			activate := func(name string, v int) {
				t.Helper()
				if err := s.ActivatePack(ctx, name, v); err != nil {
					t.Fatalf("ActivatePack(%s, %d): %v", name, v, err)
				}
			}
			requireActive := func(want ...string) {
				t.Helper()
				ps, err := s.ActivePacks(ctx)
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, p := range ps {
					if !p.Active {
						t.Errorf("ActivePacks returned inactive %s v%d", p.Name, p.Version)
					}
					got = append(got, fmt.Sprintf("%s@%d", p.Name, p.Version))
				}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Fatalf("ActivePacks (-want +got):\n%s", diff)
				}
				// Exactly the active versions say so in PackVersions too.
				for _, name := range []string{"aml", "core", "zeta"} {
					vs, err := s.PackVersions(ctx, name)
					if err != nil {
						t.Fatal(err)
					}
					for _, v := range vs {
						if v.Active != slices.Contains(want, fmt.Sprintf("%s@%d", v.Name, v.Version)) {
							t.Fatalf("%s v%d active = %v", v.Name, v.Version, v.Active)
						}
					}
				}
			}
			activate("core", 2)
			requireActive("core@2")
			activate("zeta", 1)
			activate("aml", 1)
			activate("B-upper", 1)
			requireActive("B-upper@1", "aml@1", "core@2", "zeta@1")
			activate("core", 3)
			requireActive("B-upper@1", "aml@1", "core@3", "zeta@1")
			activate("core", 1) // roll back
			requireActive("B-upper@1", "aml@1", "core@1", "zeta@1")
			activate("core", 1) // again: no change
			requireActive("B-upper@1", "aml@1", "core@1", "zeta@1")

			requireCode(t, s.ActivatePack(ctx, "core", 9), xiaobao.ENOTFOUND)
			requireCode(t, s.ActivatePack(ctx, "missing", 1), xiaobao.ENOTFOUND)
			requireActive("B-upper@1", "aml@1", "core@1", "zeta@1")

			if err := s.DeactivatePack(ctx, "core"); err != nil {
				t.Fatal(err)
			}
			requireActive("B-upper@1", "aml@1", "zeta@1")
			if err := s.DeactivatePack(ctx, "core"); err != nil { // already inactive
				t.Fatal(err)
			}
			requireCode(t, s.DeactivatePack(ctx, "missing"), xiaobao.ENOTFOUND)

			// A new version does not change which one is active.
			if err := s.SavePack(ctx, &guard.PackVersion{Name: "zeta", Source: "y"}); err != nil {
				t.Fatal(err)
			}
			requireActive("B-upper@1", "aml@1", "zeta@1")
			activate("zeta", 3)
			requireActive("B-upper@1", "aml@1", "zeta@3")
		})

		t.Run("ConcurrentSave", func(t *testing.T) {
			s, ctx := setup(t)
			const workers, each = 8, 10
			var (
				mu       sync.Mutex
				versions []int
				wg       sync.WaitGroup
			)
			errc := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						p := &guard.PackVersion{Name: "core", Source: fmt.Sprintf("w%d i%d", w, i)}
						if err := s.SavePack(ctx, p); err != nil {
							errc <- err
							return
						}
						mu.Lock()
						versions = append(versions, p.Version)
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			close(errc)
			for err := range errc {
				t.Fatal(err)
			}
			sort.Ints(versions)
			for i, v := range versions {
				if v != i+1 {
					t.Fatalf("versions %v: want 1..%d each once", versions, workers*each)
				}
			}
			vs, err := s.PackVersions(ctx, "core")
			if err != nil || len(vs) != workers*each || vs[0].Version != workers*each {
				t.Fatalf("PackVersions = %d versions, %v", len(vs), err)
			}
		})
	})

	t.Run("Lists", func(t *testing.T) {
		t.Run("PutFindDelete", func(t *testing.T) {
			s, ctx := setup(t)
			created := time.Date(2025, 3, 1, 9, 0, 0, 789_000_000, time.FixedZone("CST", 8*3600))
			exp := created.Add(30 * 24 * time.Hour)
			entry := func(list guard.ListName, kind guard.EntityKind, value string) *guard.ListEntry {
				return &guard.ListEntry{List: list, Kind: kind, Value: value, Reason: "reported " + value,
					Source: "police_notice", CreatedAt: created, CreatedBy: "bob"}
			}
			es := []*guard.ListEntry{
				entry(guard.BlockList, guard.KindAccount, "6222020200112233445"),
				entry(guard.BlockList, guard.KindPhone, "13800138000"),
				entry(guard.AllowList, guard.KindCustomer, "cus_1"),
				entry(guard.BlockList, guard.KindDevice, "a"),
				entry(guard.BlockList, guard.KindDevice, "B"),
				entry(guard.BlockList, guard.KindDevice, "Z"),
				entry(guard.BlockList, guard.KindIDHash, guard.HashIDNumber("11010519491231002x")),
			}
			es[1].ExpiresAt = &exp
			if err := s.PutListEntries(ctx, es); err != nil {
				t.Fatal(err)
			}
			requireEntries(t, s, guard.ListFilter{}, sortedEntries(es))
			requireEntries(t, s, guard.ListFilter{List: guard.AllowList}, es[2:3])
			requireEntries(t, s, guard.ListFilter{Kind: guard.KindDevice}, []*guard.ListEntry{es[4], es[5], es[3]}) // byte order
			requireEntries(t, s, guard.ListFilter{List: guard.BlockList, Kind: guard.KindPhone, Value: "13800138000"}, es[1:2])
			requireEntries(t, s, guard.ListFilter{Value: "cus_1"}, es[2:3])
			requireEntries(t, s, guard.ListFilter{List: guard.AllowList, Value: "13800138000"}, nil)
			requireEntries(t, s, guard.ListFilter{Limit: 2}, sortedEntries(es)[:2])
			requireEntries(t, s, guard.ListFilter{List: guard.BlockList, Limit: 3}, sortedEntries(es)[1:4])

			// Upsert: replace fields, set and clear the expiry; when one call
			// names an entry twice the last one wins.
			up := entry(guard.BlockList, guard.KindPhone, "13800138000")
			up.Reason, up.ExpiresAt, up.CreatedBy = "cleared", nil, "carol"
			up2 := entry(guard.BlockList, guard.KindAccount, "6222020200112233445")
			up2.ExpiresAt = &exp
			first := entry(guard.BlockList, guard.KindIP, "203.0.113.7")
			last := entry(guard.BlockList, guard.KindIP, "203.0.113.7")
			last.Reason = "last"
			if err := s.PutListEntries(ctx, []*guard.ListEntry{up, up2, first, last}); err != nil {
				t.Fatal(err)
			}
			requireEntries(t, s, guard.ListFilter{List: guard.BlockList, Kind: guard.KindPhone}, []*guard.ListEntry{up})
			requireEntries(t, s, guard.ListFilter{List: guard.BlockList, Kind: guard.KindAccount}, []*guard.ListEntry{up2})
			requireEntries(t, s, guard.ListFilter{Kind: guard.KindIP}, []*guard.ListEntry{last})

			if err := s.DeleteListEntry(ctx, guard.BlockList, guard.KindDevice, "B"); err != nil {
				t.Fatal(err)
			}
			requireEntries(t, s, guard.ListFilter{Kind: guard.KindDevice}, []*guard.ListEntry{es[5], es[3]})
			requireCode(t, s.DeleteListEntry(ctx, guard.BlockList, guard.KindDevice, "B"), xiaobao.ENOTFOUND)
			requireCode(t, s.DeleteListEntry(ctx, guard.AllowList, guard.KindDevice, "a"), xiaobao.ENOTFOUND)

			if err := s.PutListEntries(ctx, nil); err != nil {
				t.Fatal(err)
			}
			bad := []*guard.ListEntry{entry(guard.BlockList, guard.KindPhone, "1"), entry(guard.BlockList, guard.KindPhone, "")}
			requireCode(t, s.PutListEntries(ctx, bad), xiaobao.EINVALID)
			requireEntries(t, s, guard.ListFilter{Value: "1"}, nil)
		})

		t.Run("Bulk", func(t *testing.T) {
			s, ctx := setup(t)
			n := 100_000
			if testing.Short() || raceEnabled {
				n = 10_000
			}
			es := make([]*guard.ListEntry, n)
			at := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			for i := range es {
				es[i] = &guard.ListEntry{List: guard.BlockList, Kind: guard.KindPhone, Value: fmt.Sprintf("1%010d", i),
					Reason: "bulk", Source: "import", CreatedAt: at}
				if i%2 == 0 {
					exp := at.Add(time.Duration(i) * time.Second)
					es[i].ExpiresAt = &exp
				}
			}
			start := time.Now()
			if err := s.PutListEntries(ctx, es); err != nil {
				t.Fatal(err)
			}
			// Again, as a re-import that replaces every entry.
			if err := s.PutListEntries(ctx, es); err != nil {
				t.Fatal(err)
			}
			t.Logf("2 × PutListEntries of %d entries: %v", n, time.Since(start))
			got, err := s.ListEntries(ctx, guard.ListFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != n {
				t.Fatalf("%d entries, want %d", len(got), n)
			}
			for i := range n {
				if diff := cmp.Diff(es[i], got[i]); diff != "" {
					t.Fatalf("entry %d (-want +got):\n%s", i, diff)
				}
			}
		})
	})

	t.Run("Keys", func(t *testing.T) {
		t.Run("CreateFindRevoke", func(t *testing.T) {
			s, ctx := setup(t)
			at := time.Date(2025, 3, 1, 9, 0, 0, 1_000_000, time.FixedZone("CST", 8*3600))
			mk := func(i int) *auth.Key {
				secret := auth.NewSecret()
				return &auth.Key{ID: auth.NewID(), Name: "key " + strconv.Itoa(i), Hash: auth.HashSecret(secret), Prefix: secret[:8],
					Scopes: []string{auth.ScopeEventsWrite, auth.ScopeDecisionsRead}, CreatedAt: at.Add(time.Duration(-i) * time.Hour)}
			}
			k1, k2, k3 := mk(1), mk(2), mk(3)
			k3.Scopes = []string{auth.ScopeAdmin}
			for _, k := range []*auth.Key{k1, k2, k3} {
				if err := s.CreateKey(ctx, k); err != nil {
					t.Fatal(err)
				}
			}
			got, err := s.KeyByHash(ctx, k1.Hash)
			if err != nil {
				t.Fatal(err)
			}
			requireKey(t, k1, got)
			_, err = s.KeyByHash(ctx, auth.HashSecret("nope"))
			requireCode(t, err, xiaobao.ENOTFOUND)

			dupHash := mk(4)
			dupHash.Hash = k2.Hash
			requireCode(t, s.CreateKey(ctx, dupHash), xiaobao.ECONFLICT)
			dupID := mk(5)
			dupID.ID = k2.ID
			requireCode(t, s.CreateKey(ctx, dupID), xiaobao.ECONFLICT)

			ks, err := s.Keys(ctx)
			if err != nil || len(ks) != 3 {
				t.Fatalf("Keys = %d, %v; want 3", len(ks), err)
			}
			for i, want := range []*auth.Key{k3, k2, k1} { // by CreatedAt
				requireKey(t, want, ks[i])
			}

			revoked := time.Date(2025, 3, 5, 12, 0, 0, 5_000_000, time.FixedZone("", -3*3600))
			if err := s.RevokeKey(ctx, k2.ID, revoked); err != nil {
				t.Fatal(err)
			}
			if err := s.RevokeKey(ctx, k2.ID, revoked.Add(time.Hour)); err != nil { // keeps the first time
				t.Fatal(err)
			}
			requireCode(t, s.RevokeKey(ctx, "key_missing", revoked), xiaobao.ENOTFOUND)
			got, err = s.KeyByHash(ctx, k2.Hash)
			if err != nil {
				t.Fatal(err)
			}
			k2.RevokedAt = &revoked
			requireKey(t, k2, got)
			if got.Allows(auth.ScopeEventsWrite) {
				t.Error("revoked key still allows")
			}
			got, err = s.KeyByHash(ctx, k1.Hash)
			if err != nil || got.RevokedAt != nil {
				t.Fatalf("k1 after revoking k2: %+v, %v", got, err)
			}
		})
	})
}

// filterData returns 60 records whose filterable fields vary independently.
func filterData() []*guard.Record {
	recs := NewRecords(1, 60)
	types := []guard.EventType{guard.Transfer, guard.Login, guard.Payment}
	typologies := []string{"", "investment_scam", "impersonation"}
	for _, r := range recs {
		s := r.Seq
		r.Decision.Action = guard.Actions[s%int64(len(guard.Actions))]
		r.Decision.Typology = typologies[(s/2)%3]
		r.Event.Type = types[(s/3)%3]
		r.Decision.EventType = r.Event.Type
		if s%4 == 0 {
			r.Event.Counterparty.Account = ""
		}
		if s%11 == 0 {
			r.Event.Device.ID = ""
		}
	}
	return recs
}

// findInMemory is the reference FindDecisions.
func findInMemory(all []*guard.Record, f guard.DecisionFilter) []*guard.Record {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	} else if limit > 1000 {
		limit = 1000
	}
	var out []*guard.Record
	for i := len(all) - 1; i >= 0 && len(out) < limit; i-- {
		r := all[i]
		e, d := r.Event, r.Decision
		switch {
		case f.CustomerID != "" && e.Customer.ID != f.CustomerID,
			f.Account != "" && e.Counterparty.Account != f.Account,
			f.DeviceID != "" && e.Device.ID != f.DeviceID,
			f.Action != nil && d.Action != *f.Action,
			f.MinAction != nil && d.Action < *f.MinAction,
			f.Typology != "" && d.Typology != f.Typology,
			f.EventType != "" && e.Type != f.EventType,
			!f.From.IsZero() && e.OccurredAt.Before(f.From),
			!f.To.IsZero() && !e.OccurredAt.Before(f.To),
			f.BeforeSeq > 0 && r.Seq >= f.BeforeSeq:
			continue
		}
		out = append(out, r)
	}
	return out
}

func seqs(recs []*guard.Record) []int64 {
	out := []int64{}
	for _, r := range recs {
		out = append(out, r.Seq)
	}
	return out
}

func mustSave(t *testing.T, s Store, recs ...*guard.Record) {
	t.Helper()
	if err := s.SaveRecords(t.Context(), recs); err != nil {
		t.Fatalf("SaveRecords: %v", err)
	}
}

func requireCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := xiaobao.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func requireUTC(t *testing.T, tm time.Time) {
	t.Helper()
	if tm.Location() != time.UTC {
		t.Errorf("time %v is in %v, want UTC", tm, tm.Location())
	}
}

// requireRecord checks what a read returns: the seq, the whole decision and
// an event holding only its id and raw bytes.
func requireRecord(t *testing.T, want, got *guard.Record) {
	t.Helper()
	if got.Seq != want.Seq {
		t.Fatalf("seq %d, want %d", got.Seq, want.Seq)
	}
	if diff := cmp.Diff(want.Decision, got.Decision); diff != "" {
		t.Fatalf("decision of seq %d (-want +got):\n%s", want.Seq, diff)
	}
	wantEv := &guard.Event{ID: want.Event.ID, Raw: want.Event.Raw}
	if wantEv.Raw == nil {
		wantEv.Raw = []byte{}
	}
	if diff := cmp.Diff(wantEv, got.Event); diff != "" {
		t.Fatalf("event of seq %d (-want +got):\n%s", want.Seq, diff)
	}
}

func requireNoneSaved(t *testing.T, s Store, recs []*guard.Record) {
	t.Helper()
	for _, r := range recs {
		if _, err := s.Decision(t.Context(), r.Decision.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Fatalf("decision %s of a failed batch: %v, want not found", r.Decision.ID, err)
		}
	}
}

func requireCount(t *testing.T, s Store, want int) {
	t.Helper()
	n := 0
	if err := s.Replay(t.Context(), 0, func(guard.ReplayItem) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("%d records stored, want %d", n, want)
	}
}

func saveOutcome(t *testing.T, s Store, o *guard.Outcome, wantCreated bool) {
	t.Helper()
	created, err := s.SaveOutcome(t.Context(), o)
	if err != nil {
		t.Fatal(err)
	}
	if created != wantCreated {
		t.Fatalf("SaveOutcome(%s %s) created = %v, want %v", o.DecisionID, o.ID, created, wantCreated)
	}
}

func requireOutcome(t *testing.T, s Store, want *guard.Outcome) {
	t.Helper()
	got, err := s.Outcome(t.Context(), want.DecisionID)
	if err != nil {
		t.Fatal(err)
	}
	requireUTC(t, got.RecordedAt)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("outcome of %s (-want +got):\n%s", want.DecisionID, diff)
	}
}

func requirePacks(t *testing.T, want, got []*guard.PackVersion) {
	t.Helper()
	for _, p := range got {
		requireUTC(t, p.CreatedAt)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("packs (-want +got):\n%s", diff)
	}
}

func sortedEntries(es []*guard.ListEntry) []*guard.ListEntry {
	out := slices.Clone(es)
	slices.SortFunc(out, func(a, b *guard.ListEntry) int {
		k := func(e *guard.ListEntry) string { return string(e.List) + "\x00" + string(e.Kind) + "\x00" + e.Value }
		if k(a) < k(b) {
			return -1
		} else if k(a) > k(b) {
			return 1
		}
		return 0
	})
	return out
}

func requireEntries(t *testing.T, s Store, f guard.ListFilter, want []*guard.ListEntry) {
	t.Helper()
	got, err := s.ListEntries(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if got == nil {
		t.Fatalf("ListEntries(%+v) = nil, want an empty slice", f)
	}
	for _, e := range got {
		requireUTC(t, e.CreatedAt)
		if e.ExpiresAt != nil {
			requireUTC(t, *e.ExpiresAt)
		}
	}
	if want == nil {
		want = []*guard.ListEntry{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ListEntries(%+v) (-want +got):\n%s", f, diff)
	}
}

func requireKey(t *testing.T, want, got *auth.Key) {
	t.Helper()
	requireUTC(t, got.CreatedAt)
	if got.RevokedAt != nil {
		requireUTC(t, *got.RevokedAt)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("key (-want +got):\n%s", diff)
	}
}
