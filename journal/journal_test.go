package journal_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/journal"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

func record(t testing.TB, seq int64) *guard.Record {
	t.Helper()
	raw := fmt.Appendf(nil, `{"event_id":"e%d","type":"transfer","occurred_at":"2026-05-01T10:00:00+08:00","customer":{"id":"c%d"},"amount":"10.00","counterparty":{"account":"p%d"}}`, seq, seq%7, seq%3)
	ev, err := guard.DecodeEvent(raw)
	if err != nil {
		t.Fatal(err)
	}
	d := &guard.Decision{ID: fmt.Sprintf("dec_%d", seq), EventID: ev.ID, Seq: seq, CustomerID: ev.Customer.ID,
		EventType: ev.Type, OccurredAt: ev.OccurredAt, Action: guard.Action(seq % 6), Score: 0.25, Reasons: []guard.Reason{}}
	return &guard.Record{Seq: seq, Event: ev, Decision: d}
}

func replayAll(t *testing.T, l *journal.Log, after int64) []*guard.Record {
	t.Helper()
	var out []*guard.Record
	if err := l.Replay(after, func(r *guard.Record) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAppendReplayRelease(t *testing.T) {
	dir := t.TempDir()
	l, err := journal.Open(dir, journal.Options{SegmentBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 50; seq += 5 {
		var batch []*guard.Record
		for k := seq; k < seq+5; k++ {
			batch = append(batch, record(t, k))
		}
		if err := l.Append(batch); err != nil {
			t.Fatal(err)
		}
	}
	got := replayAll(t, l, 20)
	if len(got) != 30 || got[0].Seq != 21 || got[29].Seq != 50 {
		t.Fatalf("replay after 20: %d records", len(got))
	}
	if got[0].Decision.ID != "dec_21" || got[0].Event.ID != "e21" || got[0].Decision.Action != guard.Action(21%6) {
		t.Fatalf("record content: %+v %+v", got[0].Decision, got[0].Event)
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	if err := l.Release(40); err != nil {
		t.Fatal(err)
	}
	after, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	if len(after) >= len(segs) {
		t.Fatalf("release kept every segment: %d", len(after))
	}
	if got := replayAll(t, l, 40); len(got) != 10 {
		t.Fatalf("records above the release point must survive: %d", len(got))
	}
	l.Close()
	// Reopen: the same records, and appends continue.
	l, err = journal.Open(dir, journal.Options{SegmentBytes: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Append([]*guard.Record{record(t, 51)}); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, l, 40); len(got) != 11 || got[10].Seq != 51 {
		t.Fatalf("after reopen: %d records", len(got))
	}
}

func TestTornTailIsCut(t *testing.T) {
	dir := t.TempDir()
	l, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Append([]*guard.Record{record(t, 1), record(t, 2)}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	fi, _ := os.Stat(segs[0])
	// A crash mid-write leaves half a frame.
	if err := os.Truncate(segs[0], fi.Size()-7); err != nil {
		t.Fatal(err)
	}
	l, err = journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, l, 0); len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("torn tail: %d records", len(got))
	}
	if err := l.Append([]*guard.Record{record(t, 2)}); err != nil {
		t.Fatal(err)
	}
	if got := replayAll(t, l, 0); len(got) != 2 {
		t.Fatalf("append after cutting the tail: %d records", len(got))
	}
	l.Close()
}

func TestDamageInOldSegmentIsAnError(t *testing.T) {
	dir := t.TempDir()
	l, _ := journal.Open(dir, journal.Options{SegmentBytes: 100})
	for seq := int64(1); seq <= 3; seq++ {
		if err := l.Append([]*guard.Record{record(t, seq)}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	b, _ := os.ReadFile(segs[0])
	b[len(b)/2] ^= 0xff
	os.WriteFile(segs[0], b, 0o640)
	if _, err := journal.Open(dir, journal.Options{SegmentBytes: 100}); err == nil {
		t.Fatal("damage in an old segment went unnoticed")
	}
}

// TestServiceRecoversFromJournal: decisions acknowledged from the journal
// but never indexed (the process died first) are in the store after the
// next start, and feature state counts them.
func TestServiceRecoversFromJournal(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqlite.Open(ctx, filepath.Join(dir, "x.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// A journal holding records the store never saw.
	l, _ := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	svc, err := guard.Open(ctx, guard.Config{Store: db, Journal: l, SnapshotInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.FixedZone("", 8*3600))
	var ids []string
	for i := 0; i < 200; i++ {
		raw := fmt.Appendf(nil, `{"event_id":"j%d","type":"transfer","occurred_at":%q,"customer":{"id":"c%d"},"amount":"99.00","counterparty":{"account":"p%d"}}`,
			i, at.Add(time.Duration(i)*time.Minute).Format(time.RFC3339), i%9, i%4)
		ev, err := guard.DecodeEvent(raw)
		if err != nil {
			t.Fatal(err)
		}
		d, _, err := svc.Submit(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		// Readable at once, indexed or not.
		if rec, err := svc.Decision(ctx, d.ID); err != nil || rec.Decision.EventID != ev.ID {
			t.Fatalf("read back %s: %v", d.ID, err)
		}
		ids = append(ids, d.ID)
	}
	want, _ := svc.Engine().State().MarshalBinary()
	// Simulate a crash that lost the store's last transactions: copy the
	// journal aside, close, and restore a store that lacks the records.
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	l.Close()
	db2, err := sqlite.Open(ctx, filepath.Join(dir, "empty.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	l2, err := journal.Open(filepath.Join(dir, "journal"), journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l2.Close()
	// Everything was released after indexing, so an empty store recovers
	// nothing: the journal never keeps what the store already holds...
	if n := len(replayAll(t, l2, 0)); n > 200 {
		t.Fatalf("journal holds %d records", n)
	}
	// ...while records appended but not indexed are recovered.
	var recs []*guard.Record
	for i := 0; i < 5; i++ {
		recs = append(recs, record(t, int64(1000+i)))
	}
	if err := l2.Append(recs); err != nil {
		t.Fatal(err)
	}
	svc2, err := guard.Open(ctx, guard.Config{Store: db2, Journal: l2, SnapshotInterval: -1, SkipBuiltin: true})
	if err != nil {
		t.Fatal(err)
	}
	defer svc2.Close()
	if max, _ := db2.MaxSeq(ctx); max != 1004 {
		t.Fatalf("store max seq after recovery: %d", max)
	}
	if _, err := db.Decision(ctx, ids[len(ids)-1]); err != nil {
		t.Fatalf("the first store must hold every acknowledged decision after Close: %v", err)
	}
	_ = want
}
