// Package audittest holds an in-memory audit.Store and the conformance
// suite that every audit.Store implementation passes, tamper tests
// included.
package audittest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
)

// MemStore is an audit.Store in memory. Its fields are exported so that
// tests can tamper with them; hold Mu while doing so.
type MemStore struct {
	Mu          sync.Mutex
	Records     []audit.Record
	Checkpoints []audit.Checkpoint
}

var _ audit.Store = (*MemStore)(nil)

func (m *MemStore) AuditHead(ctx context.Context) (int64, []byte, error) {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if len(m.Records) == 0 {
		return 0, audit.GenesisHash, nil
	}
	last := m.Records[len(m.Records)-1]
	return last.Seq, last.Hash, nil
}

func (m *MemStore) AppendAudit(ctx context.Context, recs []audit.Record, cps []audit.Checkpoint) error {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	if len(recs) > 0 {
		seq, hash := int64(0), audit.GenesisHash
		if n := len(m.Records); n > 0 {
			seq, hash = m.Records[n-1].Seq, m.Records[n-1].Hash
		}
		if recs[0].Seq != seq+1 || !bytes.Equal(recs[0].PrevHash, hash) {
			return xiaobao.Errorf(xiaobao.ECONFLICT, "audit log head moved")
		}
		for _, r := range recs {
			if r.RequestID != "" && slices.ContainsFunc(m.Records, func(o audit.Record) bool { return o.RequestID == r.RequestID }) {
				return xiaobao.Errorf(xiaobao.ECONFLICT, "request id taken")
			}
		}
	}
	for _, c := range cps {
		if slices.ContainsFunc(m.Checkpoints, func(o audit.Checkpoint) bool { return o.Seq == c.Seq }) {
			return xiaobao.Errorf(xiaobao.ECONFLICT, "checkpoint exists")
		}
	}
	m.Records = append(m.Records, recs...)
	m.Checkpoints = append(m.Checkpoints, cps...)
	slices.SortFunc(m.Checkpoints, func(a, b audit.Checkpoint) int { return int(a.Seq - b.Seq) })
	return nil
}

func (m *MemStore) AuditByRequestID(ctx context.Context, ids []string) ([]audit.Record, error) {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	var out []audit.Record
	for _, r := range m.Records {
		if r.RequestID != "" && slices.Contains(ids, r.RequestID) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (m *MemStore) AuditRecords(ctx context.Context, after int64, limit int) ([]audit.Record, error) {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	var out []audit.Record
	for _, r := range m.Records {
		if r.Seq > after && len(out) < limit {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b audit.Record) int { return int(a.Seq - b.Seq) })
	return out, nil
}

func (m *MemStore) AuditCheckpoints(ctx context.Context, after int64, limit int) ([]audit.Checkpoint, error) {
	m.Mu.Lock()
	defer m.Mu.Unlock()
	var out []audit.Checkpoint
	for _, c := range m.Checkpoints {
		if c.Seq > after && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

// Harness is what the suite needs of an engine.
type Harness struct {
	Store audit.Store
	// Exec runs a statement on the database directly, as an attacker
	// with database access would, past any append-only safeguard of the
	// store. Placeholders are ?. Nil skips the tamper tests.
	Exec func(query string, args ...any) error
}

// NewSigner returns a signer with a fixed test key.
func NewSigner(tb testing.TB, b byte) *audit.Signer {
	s, err := audit.NewSigner(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// T0 is the time of the first fixture record.
var T0 = time.Date(2026, 11, 27, 9, 30, 0, 123456000, time.UTC)

// Entry returns the i-th fixture entry.
func Entry(i int) audit.Entry {
	return audit.Entry{
		Time: T0.Add(time.Duration(i) * time.Second), Actor: audit.ActorUser(fmt.Sprintf("u-%d", i%3)),
		Action: audit.ActionUnmask, Target: fmt.Sprintf("customer:c-%d", i), Reason: "投诉核实 complaint #" + fmt.Sprint(i),
		Result: audit.ResultOK, Details: json.RawMessage(fmt.Sprintf(`{"field": "phone", "masked": "138****%04d"}`, i)),
	}
}

// Fill appends n fixture entries with a checkpoint every 10 records, then
// a checkpoint of the head.
func Fill(tb testing.TB, s audit.Store, signer *audit.Signer, n int) *audit.Log {
	tb.Helper()
	l, err := audit.New(audit.Config{Store: s, Signer: signer, CheckpointEvery: 10})
	if err != nil {
		tb.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		if _, err := l.Append(context.Background(), Entry(i)); err != nil {
			tb.Fatal(err)
		}
	}
	if _, err := l.Checkpoint(context.Background(), T0.Add(time.Hour)); err != nil {
		tb.Fatal(err)
	}
	return l
}

// Exercise runs the conformance suite on harnesses from open, each fresh.
func Exercise(t *testing.T, open func(t *testing.T) Harness) {
	run := func(name string, f func(t *testing.T, h Harness)) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, open(t))
		})
	}
	run("AppendVerify", testAppendVerify)
	run("Idempotent", testIdempotent)
	run("Concurrent", testConcurrent)
	run("HeadConflict", testHeadConflict)
	run("Invalid", testInvalid)
	for _, c := range tamperCases {
		run("Tamper/"+c.name, func(t *testing.T, h Harness) {
			if h.Exec == nil {
				t.Skip("no direct database access")
			}
			signer := NewSigner(t, 1)
			Fill(t, h.Store, signer, 25)
			c.tamper(t, h)
			rep, err := audit.Verify(t.Context(), h.Store, signer.PublicKey())
			if err != nil {
				t.Fatal(err)
			}
			if rep.Broken == nil || rep.Broken.Seq != c.seq || rep.Broken.Kind != c.kind {
				t.Fatalf("Verify after tampering = %+v, broken %v; want record %d %s", rep, rep.Broken, c.seq, c.kind)
			}
		})
	}
}

func testAppendVerify(t *testing.T, h Harness) {
	ctx := t.Context()
	signer := NewSigner(t, 1)
	rep, err := audit.Verify(ctx, h.Store, signer.PublicKey())
	if err != nil || !rep.OK() || rep.Records != 0 {
		t.Fatalf("Verify of an empty log = %+v, %v", rep, err)
	}
	l := Fill(t, h.Store, signer, 25)
	rep, err = audit.Verify(ctx, h.Store, signer.PublicKey())
	if err != nil {
		t.Fatal(err)
	}
	// Checkpoints at 10 and 20 on the way, and 25 by Checkpoint.
	if !rep.OK() || rep.Records != 25 || rep.LastSeq != 25 || rep.Checkpoints != 3 || rep.LastCheckpoint != 25 || rep.Unsigned != 0 {
		t.Fatalf("Verify = %+v, broken %v", rep, rep.Broken)
	}
	if cp, err := l.Checkpoint(ctx, T0.Add(2*time.Hour)); err != nil || cp != nil {
		t.Fatalf("second Checkpoint of the same head = %v, %v; want nothing", cp, err)
	}
	// Stored records read back as appended.
	recs, err := h.Store.AuditRecords(ctx, 3, 2)
	if err != nil || len(recs) != 2 || recs[0].Seq != 4 || recs[1].Seq != 5 {
		t.Fatalf("AuditRecords(3, 2) = %+v, %v", recs, err)
	}
	want := Entry(4)
	want.Details = json.RawMessage(`{"field":"phone","masked":"138****0004"}`)
	if diff := cmp.Diff(want, recs[0].Entry); diff != "" {
		t.Fatalf("record 4 (-want +got):\n%s", diff)
	}
	if !bytes.Equal(recs[1].PrevHash, recs[0].Hash) || !bytes.Equal(audit.HashRecord(recs[0].PrevHash, &recs[0]), recs[0].Hash) {
		t.Fatal("stored hashes do not chain")
	}
	seq, hash, err := h.Store.AuditHead(ctx)
	if err != nil || seq != 25 || len(hash) != 32 {
		t.Fatalf("AuditHead = %d, %x, %v", seq, hash, err)
	}
	// Paging: Verify reads in pages smaller than the log.
	if rep, err := audit.VerifyPaged(ctx, h.Store, 4, signer.PublicKey()); err != nil || !rep.OK() || rep.Records != 25 || rep.Checkpoints != 3 {
		t.Fatalf("paged Verify = %+v, %v", rep, err)
	}
	// Without keys the chain is checked and checkpoints counted unsigned;
	// with the wrong key every checkpoint is untrusted.
	if rep, _ := audit.Verify(ctx, h.Store); !rep.OK() || rep.Unsigned != 3 {
		t.Fatalf("Verify without keys = %+v", rep)
	}
	if rep, _ := audit.Verify(ctx, h.Store, NewSigner(t, 2).PublicKey()); rep.OK() || rep.Broken.Kind != audit.BreakUnknownKey || rep.Broken.Seq != 10 {
		t.Fatalf("Verify with another key = %+v %v", rep, rep.Broken)
	}
}

func testIdempotent(t *testing.T, h Harness) {
	ctx := t.Context()
	l, _ := audit.New(audit.Config{Store: h.Store, Signer: NewSigner(t, 1)})
	e := Entry(1)
	e.RequestID = "req-1"
	first, err := l.Append(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Append(ctx, Entry(2)); err != nil {
		t.Fatal(err)
	}
	// A retry, stamped later: the stored record again.
	e.Time = e.Time.Add(time.Minute)
	again, err := l.Append(ctx, e)
	if err != nil || again.Seq != first.Seq || !bytes.Equal(again.Hash, first.Hash) {
		t.Fatalf("retry = seq %d, %v; want seq %d", again.Seq, err, first.Seq)
	}
	// A second Log (another process) sees it too.
	l2, _ := audit.New(audit.Config{Store: h.Store, Signer: NewSigner(t, 1)})
	if again, err := l2.Append(ctx, e); err != nil || again.Seq != first.Seq {
		t.Fatalf("retry through another Log = seq %d, %v", again.Seq, err)
	}
	other := Entry(3)
	other.RequestID = "req-1"
	if _, err := l.Append(ctx, other); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Fatalf("request id reused for another entry: %v, want ECONFLICT", err)
	}
	if seq, _, _ := h.Store.AuditHead(ctx); seq != 2 {
		t.Fatalf("head = %d after idempotent appends, want 2", seq)
	}
}

func testConcurrent(t *testing.T, h Harness) {
	ctx := t.Context()
	signer := NewSigner(t, 1)
	// Two Logs on one store stand for two processes on one database.
	var logs [2]*audit.Log
	for i := range logs {
		logs[i], _ = audit.New(audit.Config{Store: h.Store, Signer: signer, CheckpointEvery: 7})
	}
	const workers, each = 12, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	seqs := make(chan int64, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				e := Entry(w*each + i)
				if i%5 == 0 {
					e.RequestID = fmt.Sprintf("req-%d-%d", w, i)
				}
				r, err := logs[w%2].Append(ctx, e)
				if err != nil {
					errs <- err
					continue
				}
				seqs <- r.Seq
			}
		})
	}
	wg.Wait()
	close(errs)
	close(seqs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[int64]bool{}
	for s := range seqs {
		if seen[s] {
			t.Fatalf("seq %d returned twice", s)
		}
		seen[s] = true
	}
	rep, err := audit.Verify(ctx, h.Store, signer.PublicKey())
	if err != nil || !rep.OK() || rep.Records != workers*each {
		t.Fatalf("Verify after concurrent appends = %+v, %v, broken %v", rep, err, rep.Broken)
	}
}

func testHeadConflict(t *testing.T, h Harness) {
	ctx := t.Context()
	signer := NewSigner(t, 1)
	Fill(t, h.Store, signer, 3)
	seq, hash, _ := h.Store.AuditHead(ctx)
	r := audit.Record{Seq: seq, Entry: Entry(9), PrevHash: hash}
	r.Entry.Details = json.RawMessage(`{}`)
	r.Hash = audit.HashRecord(hash, &r)
	if err := h.Store.AppendAudit(ctx, []audit.Record{r}, nil); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Fatalf("append at a taken seq: %v, want ECONFLICT", err)
	}
	r.Seq, r.PrevHash = seq+1, audit.GenesisHash
	if err := h.Store.AppendAudit(ctx, []audit.Record{r}, nil); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Fatalf("append forking the chain: %v, want ECONFLICT", err)
	}
	// All or none: a bad checkpoint voids the records with it.
	r.PrevHash = hash
	r.Hash = audit.HashRecord(hash, &r)
	cp := signer.Sign(3, hash, T0)
	if err := h.Store.AppendAudit(ctx, []audit.Record{r}, []audit.Checkpoint{cp}); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Fatalf("append with a taken checkpoint seq: %v, want ECONFLICT", err)
	}
	if s, _, _ := h.Store.AuditHead(ctx); s != seq {
		t.Fatalf("a failed append left records: head %d, want %d", s, seq)
	}
}

func testInvalid(t *testing.T, h Harness) {
	l, _ := audit.New(audit.Config{Store: h.Store, Signer: NewSigner(t, 1)})
	for _, c := range []struct {
		field string
		edit  func(*audit.Entry)
	}{
		{"actor", func(e *audit.Entry) { e.Actor = "" }},
		{"action", func(e *audit.Entry) { e.Action = "" }},
		{"time", func(e *audit.Entry) { e.Time = time.Time{} }},
		{"details", func(e *audit.Entry) { e.Details = json.RawMessage(`[1]`) }},
		{"details", func(e *audit.Entry) { e.Details = json.RawMessage(`{"a":`) }},
		{"target", func(e *audit.Entry) { e.Target = "a\x00b" }},
		{"reason", func(e *audit.Entry) { e.Reason = "\xff" }},
	} {
		e := Entry(1)
		c.edit(&e)
		_, err := l.Append(t.Context(), e)
		if f := xiaobao.ErrorFields(err); xiaobao.ErrorCode(err) != xiaobao.EINVALID || len(f) != 1 || f[0].Field != c.field {
			t.Errorf("bad %s: %v", c.field, err)
		}
	}
}

type tamperCase struct {
	name   string
	tamper func(t *testing.T, h Harness)
	seq    int64
	kind   string
}

func exec(t *testing.T, h Harness, q string, args ...any) {
	t.Helper()
	if err := h.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

var tamperCases = []tamperCase{
	{"ModifyField", func(t *testing.T, h Harness) {
		exec(t, h, `UPDATE audit_log SET target = ? WHERE seq = 7`, "customer:c-999")
	}, 7, audit.BreakHash},
	{"ModifyDetails", func(t *testing.T, h Harness) {
		exec(t, h, `UPDATE audit_log SET details = ? WHERE seq = 12`, `{"field":"phone","masked":"13800138000"}`)
	}, 12, audit.BreakHash},
	{"Delete", func(t *testing.T, h Harness) {
		exec(t, h, `DELETE FROM audit_log WHERE seq = 7`)
	}, 7, audit.BreakMissing},
	{"DeleteFirst", func(t *testing.T, h Harness) {
		exec(t, h, `DELETE FROM audit_log WHERE seq = 1`)
	}, 1, audit.BreakMissing},
	{"Reorder", func(t *testing.T, h Harness) {
		exec(t, h, `UPDATE audit_log SET seq = -1 WHERE seq = 7`)
		exec(t, h, `UPDATE audit_log SET seq = 7 WHERE seq = 8`)
		exec(t, h, `UPDATE audit_log SET seq = 8 WHERE seq = -1`)
	}, 7, audit.BreakReordered},
	{"DeleteAndRenumber", func(t *testing.T, h Harness) {
		exec(t, h, `DELETE FROM audit_log WHERE seq = 7`)
		for s := 8; s <= 25; s++ {
			exec(t, h, `UPDATE audit_log SET seq = ? WHERE seq = ?`, s-1, s)
		}
	}, 7, audit.BreakReordered},
	{"Truncate", func(t *testing.T, h Harness) {
		exec(t, h, `DELETE FROM audit_log WHERE seq > 22`)
	}, 23, audit.BreakTruncated},
	{"ForgeCheckpointSignature", func(t *testing.T, h Harness) {
		// A checkpoint over a real record, with the trusted key's id but
		// a signature the attacker made with a key of their own.
		recs, _ := h.Store.AuditRecords(t.Context(), 14, 1)
		sig := ed25519.Sign(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32)), []byte("anything"))
		exec(t, h, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature)
			SELECT 15, ?, at, key_id, ? FROM audit_checkpoints WHERE seq = 10`, recs[0].Hash, sig)
	}, 15, audit.BreakSignature},
	{"AlterCheckpoint", func(t *testing.T, h Harness) {
		recs, _ := h.Store.AuditRecords(t.Context(), 11, 1)
		exec(t, h, `UPDATE audit_checkpoints SET seq = 12, hash = ? WHERE seq = 20`, recs[0].Hash)
	}, 12, audit.BreakSignature},
	{"ForgeCheckpointKey", func(t *testing.T, h Harness) {
		attacker := NewSigner(t, 9)
		recs, _ := h.Store.AuditRecords(t.Context(), 14, 1)
		cp := attacker.Sign(15, recs[0].Hash, T0)
		exec(t, h, `INSERT INTO audit_checkpoints (seq, hash, at, key_id, signature)
			SELECT 15, ?, at, ?, ? FROM audit_checkpoints WHERE seq = 10`, cp.Hash, cp.KeyID, cp.Signature)
	}, 15, audit.BreakUnknownKey},
	{"RewriteChain", func(t *testing.T, h Harness) {
		// Change record 12 and recompute every hash after it, as an
		// attacker who knows the format would: only the checkpoint at 20
		// gives it away.
		recs, _ := h.Store.AuditRecords(t.Context(), 0, 100)
		recs[11].Target = "customer:c-999"
		for i := 11; i < len(recs); i++ {
			recs[i].PrevHash = recs[i-1].Hash
			recs[i].Hash = audit.HashRecord(recs[i].PrevHash, &recs[i])
			exec(t, h, `UPDATE audit_log SET target = ?, prev_hash = ?, hash = ? WHERE seq = ?`,
				recs[i].Target, recs[i].PrevHash, recs[i].Hash, recs[i].Seq)
		}
	}, 20, audit.BreakCheckpoint},
	{"ReplaceRecord", func(t *testing.T, h Harness) {
		// Record 9 replaced by a self-consistent one: 10 no longer chains.
		recs, _ := h.Store.AuditRecords(t.Context(), 8, 1)
		r := recs[0]
		r.Reason = "routine check"
		r.Hash = audit.HashRecord(r.PrevHash, &r)
		exec(t, h, `UPDATE audit_log SET reason = ?, hash = ? WHERE seq = 9`, r.Reason, r.Hash)
	}, 10, audit.BreakChain},
}
