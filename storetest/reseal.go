package storetest

import (
	"bytes"
	"context"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/vault"
)

// ResealStore is a store that seals personal data and re-seals it after a
// data key rotation.
type ResealStore interface {
	Store
	vault.KeyStore
	SetSealer(guard.Sealer)
	ResealRaw(ctx context.Context, afterSeq int64, limit int, fn func(eventID string, raw []byte) ([]byte, bool, error)) (last int64, changed int, err error)
	ResealFields(ctx context.Context, fn func(table, column, rowKey, stored string) (string, bool, error)) (changed int, err error)
}

// ExerciseReseal checks a key rotation end to end: values sealed under the
// old key stay readable, the re-seal job moves every one of them to the
// new key, reads give the same data after, and a second pass changes
// nothing.
func ExerciseReseal(t *testing.T, open func(t *testing.T) ResealStore) {
	t.Parallel()
	ctx := context.Background()
	s := open(t)
	m, _ := vault.GenerateMasterKey()
	v, err := vault.Open(ctx, vault.Config{Store: s, Master: m})
	if err != nil {
		t.Fatal(err)
	}
	s.SetSealer(v)
	recs := NewRecords(1, 25)
	if err := s.SaveRecords(ctx, recs); err != nil {
		t.Fatal(err)
	}
	o := &guard.Outcome{DecisionID: recs[0].Decision.ID, ID: "o1", Kind: guard.OutcomeConfirmedFraud, Note: "劝阻成功",
		Source: "caller", RecordedAt: BaseTime, CustomerID: recs[0].Event.Customer.ID, Account: recs[0].Event.Counterparty.Account}
	if _, err := s.SaveOutcome(ctx, o); err != nil {
		t.Fatal(err)
	}
	phone := &guard.ListEntry{List: guard.BlockList, Kind: guard.KindPhone, Value: "13912345678", Reason: "mule", CreatedAt: BaseTime}
	if err := s.PutListEntries(ctx, []*guard.ListEntry{phone}); err != nil {
		t.Fatal(err)
	}
	old := v.PrimaryID()
	if _, err := v.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if v.PrimaryID() == old {
		t.Fatal("rotation kept the primary key")
	}
	// Readable before re-sealing.
	if got, err := s.Decision(ctx, recs[3].Decision.ID); err != nil || !bytes.Equal(got.Event.Raw, recs[3].Event.Raw) {
		t.Fatalf("read under the old key: %v", err)
	}
	reseal := func() (n int) {
		var after int64
		for {
			last, c, err := s.ResealRaw(ctx, after, 7, guard.ResealRawFunc(v))
			if err != nil {
				t.Fatal(err)
			}
			n += c
			if last == 0 {
				break
			}
			after = last
		}
		c, err := s.ResealFields(ctx, guard.ResealTextFunc(v))
		if err != nil {
			t.Fatal(err)
		}
		return n + c
	}
	if n := reseal(); n != 25+2+1 { // 25 events, the outcome and its history row, the listed phone
		t.Errorf("first pass re-sealed %d values, want 28", n)
	}
	if n := reseal(); n != 0 {
		t.Errorf("second pass re-sealed %d values, want 0", n)
	}
	for _, want := range recs {
		got, err := s.Decision(ctx, want.Decision.ID)
		if err != nil || !bytes.Equal(got.Event.Raw, want.Event.Raw) {
			t.Fatalf("record %d after re-sealing: %v", want.Seq, err)
		}
	}
	if got, err := s.Outcome(ctx, o.DecisionID); err != nil || got.Note != o.Note || got.Account != o.Account {
		t.Fatalf("outcome after re-sealing = %+v, %v", got, err)
	}
	if les, err := s.ListEntries(ctx, guard.ListFilter{Kind: guard.KindPhone, Value: phone.Value}); err != nil || len(les) != 1 || les[0].Value != phone.Value {
		t.Fatalf("listed phone after re-sealing = %+v, %v", les, err)
	}
}
