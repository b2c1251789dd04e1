package sessionlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao/service"
)

func batch(id string, seq int) ([]*service.Session, []*service.Turn) {
	at := time.Date(2026, 11, 27, 9, 0, seq, 0, time.UTC)
	ss := []*service.Session{{ID: id, CustomerID: "c1", Status: service.StatusOpen, OpenedAt: at, UpdatedAt: at, Turns: seq + 1}}
	ts := []*service.Turn{
		{SessionID: id, Seq: seq, At: at, Role: service.RoleCustomer, Text: "怎么提前还款", MessageID: "m1",
			Reply: &service.AskResult{SessionID: id, Turn: seq, Answers: []service.Answer{{FAQID: "repay-early", Score: 0.9, Answer: "可以"}}, Warnings: []service.Warning{}}},
		{SessionID: id, Seq: seq + 1, At: at, Role: service.RoleBot, Text: "可以", FAQID: "repay-early", Score: 0.9},
	}
	return ss, ts
}

func files(t *testing.T, dir string) int {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

// TestCutStoredReplay follows the service's use: append, cut when a
// store write starts, append more meanwhile, forget what was stored; a
// restart finds exactly what was not stored, in order.
func TestCutStoredReplay(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "service.log")
	l, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	var all []service.JournalBatch
	add := func(id string, seq int) {
		ss, ts := batch(id, seq)
		if err := l.Append(ss, ts); err != nil {
			t.Fatal(err)
		}
		all = append(all, service.JournalBatch{Sessions: ss, Turns: ts})
	}
	add("ses_a", 1)
	add("ses_b", 1)
	mark, err := l.Cut() // a store write of ses_a, ses_b starts
	if err != nil {
		t.Fatal(err)
	}
	add("ses_a", 3) // answered meanwhile
	if got, _, _ := l.Pending(); !cmp.Equal(all, got) {
		t.Fatalf("pending = %d batches, want all %d", len(got), len(all))
	}
	if err := l.Stored(mark); err != nil {
		t.Fatal(err)
	}
	got, _, err := l.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all[2:], got); diff != "" {
		t.Fatalf("pending after the store (-want +got):\n%s", diff)
	}
	// A cut with nothing new makes no segment.
	m2, _ := l.Cut()
	if m3, _ := l.Cut(); m3 != m2 {
		t.Errorf("an empty cut moved the mark %d → %d", m2, m3)
	}
	// A crash: reopened, the unstored batch is pending with a mark that
	// covers it; once stored, only the new empty segment is left.
	l.Close()
	if l, err = Open(dir, Options{Sync: true}); err != nil {
		t.Fatal(err)
	}
	got, mark, err = l.Pending()
	if err != nil || !cmp.Equal(all[2:], got) {
		t.Fatalf("pending after a restart = %d batches, %v", len(got), err)
	}
	if err := l.Stored(mark); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := l.Pending(); len(got) != 0 {
		t.Errorf("pending after the replay = %d", len(got))
	}
	if n := files(t, dir); n != 1 {
		t.Errorf("%d segment files after the replay, want 1", n)
	}
	l.Close()
	if err := l.Append(batch("ses_c", 1)); err == nil {
		t.Error("append to a closed log succeeded")
	}
}

// TestTornTail: a crash mid-write leaves part of a frame (or garbage)
// at the end of a segment; the whole frames before it are read, and new
// frames go to a new segment.
func TestTornTail(t *testing.T) {
	for _, tail := range [][]byte{
		{0x10},                                // part of a header
		{0x20, 0, 0, 0, 1, 2, 3, 4, '{', '"'}, // a header and part of its payload
		{0x02, 0, 0, 0, 9, 9, 9, 9, '{', '}'}, // a whole frame with a wrong checksum
		{0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0},  // an impossible length
	} {
		dir := filepath.Join(t.TempDir(), "service.log")
		l, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Append(batch("ses_a", 1)); err != nil {
			t.Fatal(err)
		}
		l.Close()
		f, _ := os.OpenFile(filepath.Join(dir, "0000000000000001.log"), os.O_APPEND|os.O_WRONLY, 0)
		f.Write(tail)
		f.Close()
		if l, err = Open(dir, Options{}); err != nil {
			t.Fatal(err)
		}
		if err := l.Append(batch("ses_b", 3)); err != nil {
			t.Fatal(err)
		}
		got, _, err := l.Pending()
		if err != nil || len(got) != 2 || got[0].Sessions[0].ID != "ses_a" || got[1].Sessions[0].ID != "ses_b" {
			t.Errorf("tail %x: pending = %+v, %v; want ses_a then ses_b", tail, got, err)
		}
		l.Close()
	}
}

func FuzzSegment(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x02, 0, 0, 0, 0x81, 0x5b, 0x7d, 0x0f, '{', '}'})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := filepath.Join(t.TempDir(), "service.log")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "0000000000000001.log"), data, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := Open(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		before, _, err := l.Pending()
		if err != nil {
			return // a whole frame that is not a batch: refused, named
		}
		if err := l.Append(batch("ses_z", 1)); err != nil {
			t.Fatal(err)
		}
		after, _, err := l.Pending()
		if err != nil || len(after) != len(before)+1 || after[len(after)-1].Sessions[0].ID != "ses_z" {
			t.Fatalf("after an append: %d batches (was %d), %v", len(after), len(before), err)
		}
	})
}
