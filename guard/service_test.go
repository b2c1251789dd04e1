package guard_test

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/journal"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

func openStore(t *testing.T, dir string) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "xiaobao.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func openService(t *testing.T, db guard.Store) *guard.Service {
	t.Helper()
	s, err := guard.Open(context.Background(), guard.Config{Store: db, SnapshotInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func event(t *testing.T, id, typ, customer string, at time.Time, amount, account, memo string) *guard.Event {
	t.Helper()
	js := fmt.Sprintf(`{"event_id":%q,"type":%q,"occurred_at":%q,"customer":{"id":%q,"age":67},"device":{"id":"dev-%s","ip":"10.1.2.3"}`,
		id, typ, at.Format(time.RFC3339), customer, customer)
	if amount != "" {
		js += fmt.Sprintf(`,"amount":%q`, amount)
	}
	if account != "" {
		js += fmt.Sprintf(`,"counterparty":{"account":%q,"name":"张三"}`, account)
	}
	if memo != "" {
		js += fmt.Sprintf(`,"memo":%q`, memo)
	}
	js += `}`
	ev, err := guard.DecodeEvent([]byte(js))
	if err != nil {
		t.Fatalf("decode %s: %v", js, err)
	}
	return ev
}

var base = time.Date(2026, 5, 6, 9, 30, 0, 0, time.FixedZone("CST", 8*3600))

func TestServiceIdempotentDurableAndRestartable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	s := openService(t, db)

	var firstID string
	for i := 0; i < 300; i++ {
		ev := event(t, fmt.Sprintf("e%d", i), "transfer", fmt.Sprintf("c%d", i%20), base.Add(time.Duration(i)*time.Minute),
			"880.00", fmt.Sprintf("6222%012d", i%7), "")
		d, replay, err := s.Submit(ctx, ev)
		if err != nil || replay {
			t.Fatalf("submit %d: %v replay=%v", i, err, replay)
		}
		if i == 0 {
			firstID = d.ID
		}
	}
	// The same event_id again returns the first decision and counts nothing.
	before, _ := s.Engine().State().MarshalBinary()
	d, replay, err := s.Submit(ctx, event(t, "e0", "transfer", "c0", base, "880.00", "62220000000000000", ""))
	if err != nil || !replay || d.ID != firstID {
		t.Fatalf("retry: id=%s replay=%v err=%v, want %s", d.ID, replay, err, firstID)
	}
	after, _ := s.Engine().State().MarshalBinary()
	if !bytes.Equal(before, after) {
		t.Fatal("a retried event changed feature state")
	}
	rec, err := s.Decision(ctx, firstID)
	if err != nil || rec.Decision.EventID != "e0" {
		t.Fatalf("read back: %v %+v", err, rec)
	}

	// A crash (no Close, no snapshot): a new service on the same store
	// rebuilds exactly the same state by replay.
	s2 := openService(t, db)
	replayed, _ := s2.Engine().State().MarshalBinary()
	if !bytes.Equal(before, replayed) {
		t.Fatal("state after replay differs from state before the crash")
	}
	d, replay, err = s2.Submit(ctx, event(t, "e5", "transfer", "c5", base, "1.00", "x", ""))
	if err != nil || !replay || d.EventID != "e5" {
		t.Fatalf("retry after restart: replay=%v err=%v", replay, err)
	}
	// Close snapshots; a third service starts from the snapshot.
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if seq, data, err := db.LoadSnapshot(ctx); err != nil || seq != 300 || len(data) == 0 {
		t.Fatalf("snapshot: seq=%d len=%d err=%v", seq, len(data), err)
	}
	s3 := openService(t, db)
	fromSnap, _ := s3.Engine().State().MarshalBinary()
	if !bytes.Equal(before, fromSnap) {
		t.Fatal("state from snapshot differs")
	}
	// New events continue the sequence.
	d, _, err = s3.Submit(ctx, event(t, "new", "transfer", "c1", base.Add(time.Hour*10), "5.00", "y", ""))
	if err != nil || d.Seq != 301 {
		t.Fatalf("seq after restart: %d %v", d.Seq, err)
	}
	s3.Close()
	s.Close()
}

func TestServiceConcurrentDuplicates(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) { testConcurrentDuplicates(t, inline) })
	}
}

func testConcurrentDuplicates(t *testing.T, inline bool) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	cfg := guard.Config{Store: db, SnapshotInterval: -1}
	if inline {
		j, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Journal, cfg.InlineCommit = j, true
	}
	s, err := guard.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	const n = 400
	ids := make([][]string, 8)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				// Every goroutine sends the same ids: each must be decided once.
				ev := event(t, fmt.Sprintf("dup-%d", i), "payment", fmt.Sprintf("c%d", i%13), base.Add(time.Duration(i)*time.Second), "12.50", "term-1", "")
				d, _, err := s.Submit(ctx, ev)
				if err != nil {
					t.Error(err)
					return
				}
				ids[g] = append(ids[g], d.ID)
			}
		}(g)
	}
	wg.Wait()
	for g := 1; g < 8; g++ {
		for i := range ids[g] {
			if ids[g][i] != ids[0][i] {
				t.Fatalf("event dup-%d got two decisions: %s and %s", i, ids[0][i], ids[g][i])
			}
		}
	}
	if err := s.Close(); err != nil { // indexes what the journal holds
		t.Fatal(err)
	}
	if max, _ := db.MaxSeq(ctx); max != n {
		t.Fatalf("stored %d decisions, want %d", max, n)
	}
}

func TestServiceOutcomesPacksAndLists(t *testing.T) {
	ctx := context.Background()
	db := openStore(t, t.TempDir())
	s := openService(t, db)
	defer s.Close()

	d, _, err := s.Submit(ctx, event(t, "v1", "transfer", "victim", base, "3000.00", "mule-acct", ""))
	if err != nil {
		t.Fatal(err)
	}
	o := &guard.Outcome{DecisionID: d.ID, Kind: guard.OutcomeConfirmedFraud, AmountLost: 300000}
	if created, err := s.RecordOutcome(ctx, o); err != nil || !created {
		t.Fatalf("outcome: %v %v", created, err)
	}
	again := &guard.Outcome{DecisionID: d.ID, Kind: guard.OutcomeConfirmedFraud, AmountLost: 300000}
	if created, err := s.RecordOutcome(ctx, again); err != nil || created {
		t.Fatalf("retried outcome must not be created again: %v %v", created, err)
	}
	if _, err := s.RecordOutcome(ctx, &guard.Outcome{DecisionID: "nope", Kind: guard.OutcomeFalseAlarm}); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Fatalf("unknown decision: %v", err)
	}
	if _, err := s.RecordOutcome(ctx, &guard.Outcome{DecisionID: d.ID, Kind: "maybe"}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Fatalf("bad kind: %v", err)
	}
	env := s.Engine().Features(event(t, "v2", "transfer", "other", base.Add(time.Hour), "10.00", "mule-acct", ""))
	if !env.Payee.IsReported {
		t.Fatal("confirmed fraud did not mark the payee as reported")
	}

	// A bad pack is refused and stores nothing; a good one activates; rollback works.
	if _, err := s.LoadPack(ctx, []byte("pack: custom\nrules: [{id: X, when: 'nope >'}]\n"), "alice", "", true); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Fatalf("bad pack: %v", err)
	}
	if vs, _ := db.PackVersions(ctx, "custom"); len(vs) != 0 {
		t.Fatal("a bad pack was stored")
	}
	good := `pack: custom
description: {zh: 自定义, en: custom}
rules:
  - id: CUSTOM_TINY
    name: {zh: 小额, en: tiny}
    description: {zh: 测试用, en: for tests}
    nodes: [payment]
    when: event.amount < 1
    score: 0.2
    action: friction
    typology: test_tiny
    code: TINY
`
	pv, err := s.LoadPack(ctx, []byte(good), "alice", "first", true)
	if err != nil || pv.Version != 1 {
		t.Fatalf("good pack: %v %+v", err, pv)
	}
	d, _, _ = s.Submit(ctx, event(t, "tiny1", "payment", "c9", base, "0.50", "term-9", ""))
	if d.Action < guard.Friction || d.Typology != "test_tiny" {
		t.Fatalf("custom rule not applied: %s %q", d.Action, d.Typology)
	}
	pv2, err := s.LoadPack(ctx, []byte(bytes.ReplaceAll([]byte(good), []byte("action: friction"), []byte("action: remind"))), "alice", "milder", true)
	if err != nil || pv2.Version != 2 {
		t.Fatalf("second version: %v", err)
	}
	if err := s.ActivatePack(ctx, "custom", 1); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	d, _, _ = s.Submit(ctx, event(t, "tiny2", "payment", "c10", base, "0.50", "term-9", ""))
	if d.Action < guard.Friction {
		t.Fatalf("rollback not in effect: %s", d.Action)
	}

	// Lists: a block-listed payee is blocked by the built-in pack.
	if err := s.PutListEntries(ctx, []*guard.ListEntry{{List: guard.BlockList, Kind: guard.KindAccount, Value: "blocked-acct", Reason: "police notice", Source: "test"}}); err != nil {
		t.Fatal(err)
	}
	d, _, _ = s.Submit(ctx, event(t, "b1", "transfer", "c11", base, "10.00", "blocked-acct", ""))
	if d.Action != guard.Block {
		t.Fatalf("block-listed payee: %s", d.Action)
	}
	if err := s.PutListEntries(ctx, []*guard.ListEntry{{List: "grey", Kind: guard.KindAccount, Value: "x"}}); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Fatalf("bad list: %v", err)
	}
	if err := s.DeleteListEntry(ctx, guard.BlockList, guard.KindAccount, "blocked-acct"); err != nil {
		t.Fatal(err)
	}
	d, _, _ = s.Submit(ctx, event(t, "b2", "transfer", "c11", base.Add(time.Minute), "10.00", "blocked-acct", ""))
	if d.Action == guard.Block {
		t.Fatal("deleted list entry still blocks")
	}
}

// downStore is a store whose writes fail, as if its disk were gone.
type downStore struct{ guard.Store }

func (downStore) SaveRecords(context.Context, []*guard.Record) error {
	return fmt.Errorf("disk gone")
}

// TestServiceJournalCrash: with a journal, decisions are acknowledged once
// journaled. If the store never indexes them (here it cannot write) and the
// process dies, the next start indexes them from the journal, every
// acknowledged decision reads back, and feature state is what it was.
func TestServiceJournalCrash(t *testing.T) {
	for _, inline := range []bool{false, true} {
		t.Run(fmt.Sprintf("inline=%v", inline), func(t *testing.T) { testJournalCrash(t, inline) })
	}
}

func testJournalCrash(t *testing.T, inline bool) {
	ctx := context.Background()
	dir := t.TempDir()
	db := openStore(t, dir)
	jdir := filepath.Join(dir, "journal")
	j1, err := journal.Open(jdir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := guard.Open(ctx, guard.Config{Store: downStore{db}, Journal: j1, InlineCommit: inline, SnapshotInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	acked := map[string]string{}
	// Fewer than the indexer's queue holds: beyond it, with the store down,
	// the service stops acknowledging (and sheds load), as it should.
	for i := 0; i < 50; i++ {
		ev := event(t, fmt.Sprintf("j%d", i), "transfer", fmt.Sprintf("c%d", i%11), base.Add(time.Duration(i)*time.Minute), "450.00", fmt.Sprintf("acct-%d", i%5), "")
		d, _, err := s1.Submit(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		acked[d.ID] = ev.ID
		if rec, err := s1.Decision(ctx, d.ID); err != nil || rec.Decision.ID != d.ID {
			t.Fatalf("an acknowledged decision must read back before it is indexed: %v", err)
		}
	}
	if s1.IndexLag() == 0 {
		t.Fatal("the store cannot write, yet nothing is waiting to be indexed")
	}
	if max, _ := db.MaxSeq(ctx); max != 0 {
		t.Fatalf("the failing store holds %d records", max)
	}
	want, _ := s1.Engine().State().MarshalBinary()

	// The process dies: s1 is abandoned, not closed.
	j2, err := journal.Open(jdir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := guard.Open(ctx, guard.Config{Store: db, Journal: j2, InlineCommit: inline, SnapshotInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if max, _ := db.MaxSeq(ctx); max != 50 {
		t.Fatalf("after recovery the store holds up to seq %d, want 50", max)
	}
	for id, evID := range acked {
		rec, err := db.Decision(ctx, id)
		if err != nil || rec.Decision.EventID != evID {
			t.Fatalf("decision %s lost: %v", id, err)
		}
	}
	got, _ := s2.Engine().State().MarshalBinary()
	if !bytes.Equal(want, got) {
		t.Fatal("feature state after journal recovery differs")
	}
	d, replay, err := s2.Submit(ctx, event(t, "j7", "transfer", "c7", base, "1.00", "x", ""))
	if err != nil || !replay || acked[d.ID] != "j7" {
		t.Fatalf("retry after recovery: replay=%v err=%v", replay, err)
	}
}
