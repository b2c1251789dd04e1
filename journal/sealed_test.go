package journal_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/journal"
	"github.com/xiaobao-org/xiaobao/vault"
	"github.com/xiaobao-org/xiaobao/vault/vaulttest"
)

// TestSealedJournal checks that a sealed journal keeps no raw event in its
// segment files, replays the events as they came, and that a journal
// opened without the key refuses to replay rather than pass ciphertext on.
func TestSealedJournal(t *testing.T) {
	dir := t.TempDir()
	m, _ := vault.GenerateMasterKey()
	v, err := vault.Open(context.Background(), vault.Config{Store: &vaulttest.MemStore{}, Master: m})
	if err != nil {
		t.Fatal(err)
	}
	l, err := journal.Open(dir, journal.Options{Sealer: v})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*guard.Record
	for seq := int64(1); seq <= 5; seq++ {
		recs = append(recs, record(t, seq))
	}
	if err := l.Append(recs); err != nil {
		t.Fatal(err)
	}
	got := replayAll(t, l, 0)
	if len(got) != 5 {
		t.Fatalf("replayed %d records", len(got))
	}
	for i, r := range got {
		if !bytes.Equal(r.Event.Raw, recs[i].Event.Raw) {
			t.Errorf("record %d: raw %s, want %s", i+1, r.Event.Raw, recs[i].Event.Raw)
		}
	}
	l.Close()
	segs, _ := filepath.Glob(filepath.Join(dir, "*.journal"))
	for _, s := range segs {
		b, _ := os.ReadFile(s)
		for _, secret := range []string{`"counterparty"`, `"account":"p1"`, `"customer"`} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("segment %s holds %s in the clear", s, secret)
			}
		}
	}
	plain, err := journal.Open(dir, journal.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if err := plain.Replay(0, func(*guard.Record) error { return nil }); err == nil {
		t.Error("a journal without the key replayed sealed records")
	}
}

// BenchmarkAppend measures one record per append, as the server's inline
// commit does, with and without sealing the raw event: the cost of
// encryption on the decision path.
func BenchmarkAppend(b *testing.B) {
	m, _ := vault.GenerateMasterKey()
	v, err := vault.Open(context.Background(), vault.Config{Store: &vaulttest.MemStore{}, Master: m})
	if err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		sealer guard.Sealer
	}{{"plain", nil}, {"sealed", v}} {
		b.Run(tc.name, func(b *testing.B) {
			l, err := journal.Open(b.TempDir(), journal.Options{Sealer: tc.sealer})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			rec := record(b, 1)
			recs := []*guard.Record{rec}
			var seq int64
			b.ReportAllocs()
			for b.Loop() {
				seq++
				rec.Seq = seq
				if err := l.Append(recs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
