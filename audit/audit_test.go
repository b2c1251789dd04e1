package audit_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/audit/audittest"
)

func TestMemStore(t *testing.T) {
	audittest.Exercise(t, func(t *testing.T) audittest.Harness {
		return audittest.Harness{Store: &audittest.MemStore{}}
	})
}

// TestTamperMem covers the tampering that SQL cannot express as easily.
func TestTamperMem(t *testing.T) {
	t.Parallel()
	signer := audittest.NewSigner(t, 1)
	for _, c := range []struct {
		name   string
		tamper func(m *audittest.MemStore)
		seq    int64
		kind   string
	}{
		{"ChangeTime", func(m *audittest.MemStore) { m.Records[4].Time = m.Records[4].Time.Add(time.Second) }, 5, audit.BreakHash},
		{"ChangeRequestID", func(m *audittest.MemStore) { m.Records[2].RequestID = "x" }, 3, audit.BreakHash},
		{"ChangeCheckpointTime", func(m *audittest.MemStore) { m.Checkpoints[0].Time = m.Checkpoints[0].Time.Add(-time.Hour) }, 10, audit.BreakSignature},
		{"CheckpointHash", func(m *audittest.MemStore) { m.Checkpoints[1].Hash = m.Records[18].Hash }, 20, audit.BreakSignature},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := &audittest.MemStore{}
			audittest.Fill(t, m, signer, 25)
			c.tamper(m)
			rep, err := audit.Verify(t.Context(), m, signer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil || rep.Broken.Seq != c.seq || rep.Broken.Kind != c.kind {
				t.Fatalf("got %+v %v, want record %d %s", rep, rep.Broken, c.seq, c.kind)
			}
			if !strings.Contains(rep.Broken.String(), "record ") {
				t.Fatalf("Break.String = %q", rep.Broken)
			}
		})
	}
}

// TestHashVector pins the canonical encoding: auditors reimplement it, so
// it must never change silently. The value was computed independently
// (Python hashlib over the documented layout).
func TestHashVector(t *testing.T) {
	r := audit.Record{Seq: 1, Entry: audit.Entry{
		Time: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Actor: "user:u-1", Action: "unmask",
		Target: "customer:c-1", Reason: "complaint", Result: "ok", Details: []byte(`{}`), RequestID: "r-1",
	}}
	got := hex.EncodeToString(audit.HashRecord(audit.GenesisHash, &r))
	const want = "84edd4a61f9e6668edc3c5712ce20666d8c1aa47c4ed5cb0563db4552d9f58e7"
	if got != want {
		t.Fatalf("HashRecord = %s, want %s", got, want)
	}
}

func TestPublicKeyRoundTrip(t *testing.T) {
	s := audittest.NewSigner(t, 3)
	enc := audit.EncodePublicKey(s.PublicKey())
	pub, err := audit.ParsePublicKey(enc)
	if err != nil || !bytes.Equal(pub, s.PublicKey()) || audit.KeyID(pub) != s.KeyID() {
		t.Fatalf("ParsePublicKey(%q) = %x, %v", enc, pub, err)
	}
	if _, err := audit.ParsePublicKey("ed25519:abc"); err == nil {
		t.Fatal("a short key parsed")
	}
	if _, err := audit.NewSigner([]byte("short")); err == nil {
		t.Fatal("a short seed made a signer")
	}
}

func BenchmarkAppendMem(b *testing.B) {
	l, _ := audit.New(audit.Config{Store: &audittest.MemStore{}, Signer: audittest.NewSigner(b, 1)})
	e := audittest.Entry(1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := l.Append(context.Background(), e); err != nil {
			b.Fatal(err)
		}
	}
}
