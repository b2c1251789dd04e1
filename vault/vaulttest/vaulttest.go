// Package vaulttest holds an in-memory vault.KeyStore and the conformance
// suite that every KeyStore implementation passes.
package vaulttest

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/vault"
)

// MemStore is a vault.KeyStore in memory.
type MemStore struct {
	mu   sync.Mutex
	keys []vault.Key
}

var _ vault.KeyStore = (*MemStore)(nil)

func (m *MemStore) VaultKeys(ctx context.Context) ([]vault.Key, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]vault.Key, len(m.keys))
	for i, k := range m.keys {
		k.Wrapped = bytes.Clone(k.Wrapped)
		out[i] = k
	}
	return out, nil
}

func (m *MemStore) AddVaultKey(ctx context.Context, k vault.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.keys {
		if o.ID == k.ID {
			return xiaobao.Errorf(xiaobao.ECONFLICT, "vault key %d exists", k.ID)
		}
	}
	if k.Primary {
		for i, o := range m.keys {
			if o.Kind == k.Kind && o.Primary {
				t := k.CreatedAt
				m.keys[i].Primary, m.keys[i].RetiredAt = false, &t
			}
		}
	}
	k.Wrapped = bytes.Clone(k.Wrapped)
	m.keys = append(m.keys, k)
	slices.SortFunc(m.keys, func(a, b vault.Key) int { return int(a.ID) - int(b.ID) })
	return nil
}

func (m *MemStore) RewrapVaultKeys(ctx context.Context, keys []vault.Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	idx := make([]int, len(keys))
	for i, k := range keys {
		idx[i] = slices.IndexFunc(m.keys, func(o vault.Key) bool { return o.ID == k.ID })
		if idx[i] < 0 {
			return xiaobao.Errorf(xiaobao.ENOTFOUND, "vault key %d not found", k.ID)
		}
	}
	for i, k := range keys {
		m.keys[idx[i]].KEKID, m.keys[idx[i]].Wrapped = k.KEKID, bytes.Clone(k.Wrapped)
	}
	return nil
}

// Exercise runs the conformance suite on stores from open, each fresh.
func Exercise(t *testing.T, open func(t *testing.T) vault.KeyStore) {
	t.Run("KeyStore", func(t *testing.T) {
		t.Parallel()
		testKeyStore(t, open(t))
	})
	t.Run("Vault", func(t *testing.T) {
		t.Parallel()
		testVault(t, open(t))
	})
	t.Run("ConcurrentOpen", func(t *testing.T) {
		t.Parallel()
		testConcurrentOpen(t, open(t))
	})
}

func testKeyStore(t *testing.T, s vault.KeyStore) {
	ctx := t.Context()
	keys, err := s.VaultKeys(ctx)
	if err != nil || len(keys) != 0 {
		t.Fatalf("VaultKeys of an empty store = %v, %v", keys, err)
	}
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 123456000, time.UTC)
	t1 := t0.Add(time.Hour)
	k1 := vault.Key{ID: 1, Kind: vault.KindData, KEKID: "kek-a", Wrapped: []byte{1, 2, 3}, Primary: true, CreatedAt: t0}
	k2 := vault.Key{ID: 2, Kind: vault.KindIndex, KEKID: "kek-a", Wrapped: []byte{4, 5}, CreatedAt: t0}
	k3 := vault.Key{ID: 3, Kind: vault.KindData, KEKID: "kek-a", Wrapped: []byte{6}, Primary: true, CreatedAt: t1}
	for _, k := range []vault.Key{k1, k2} {
		if err := s.AddVaultKey(ctx, k); err != nil {
			t.Fatalf("AddVaultKey %d: %v", k.ID, err)
		}
	}
	dup := k2
	dup.Kind = vault.KindData
	if err := s.AddVaultKey(ctx, dup); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Fatalf("AddVaultKey with a taken id = %v, want ECONFLICT", err)
	}
	if err := s.AddVaultKey(ctx, k3); err != nil {
		t.Fatal(err)
	}
	retired := k1
	retired.Primary, retired.RetiredAt = false, &t1
	want := []vault.Key{retired, k2, k3}
	if keys, err = s.VaultKeys(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, keys); diff != "" {
		t.Fatalf("after rotation (-want +got):\n%s", diff)
	}

	// All or none: an unknown id leaves the known one as it was.
	if err := s.RewrapVaultKeys(ctx, []vault.Key{{ID: 1, KEKID: "kek-b", Wrapped: []byte{9}}, {ID: 99, KEKID: "kek-b", Wrapped: []byte{9}}}); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Fatalf("RewrapVaultKeys with an unknown id = %v, want ENOTFOUND", err)
	}
	if keys, _ = s.VaultKeys(ctx); keys[0].KEKID != "kek-a" {
		t.Fatalf("a failed RewrapVaultKeys changed key 1: %+v", keys[0])
	}
	if err := s.RewrapVaultKeys(ctx, []vault.Key{{ID: 1, KEKID: "kek-b", Wrapped: []byte{9, 9}}, {ID: 2, KEKID: "kek-b", Wrapped: []byte{8}}}); err != nil {
		t.Fatal(err)
	}
	retired.KEKID, retired.Wrapped = "kek-b", []byte{9, 9}
	k2.KEKID, k2.Wrapped = "kek-b", []byte{8}
	keys, _ = s.VaultKeys(ctx)
	if diff := cmp.Diff([]vault.Key{retired, k2, k3}, keys); diff != "" {
		t.Fatalf("after rewrap (-want +got):\n%s", diff)
	}
}

func testVault(t *testing.T, s vault.KeyStore) {
	ctx := t.Context()
	m, _ := vault.GenerateMasterKey()
	a, err := vault.Open(ctx, vault.Config{Store: s, Master: m})
	if err != nil {
		t.Fatal(err)
	}
	ad := vault.AD("customers", "phone", "c-1")
	ct, err := a.Encrypt([]byte("13800138000"), ad)
	if err != nil {
		t.Fatal(err)
	}
	// A second instance on the same store reads what the first wrote,
	// and indexes alike.
	b, err := vault.Open(ctx, vault.Config{Store: s, Master: m})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := b.Decrypt(ct, ad); err != nil || string(pt) != "13800138000" {
		t.Fatalf("second instance Decrypt = %q, %v", pt, err)
	}
	ia, _ := a.BlindIndex(vault.Phone, "+86 138 0013 8000")
	ib, _ := b.BlindIndex(vault.Phone, "13800138000")
	if ia != ib {
		t.Fatal("two instances on one keyring give different blind indexes")
	}
	// b rotates; a learns of the new key on Refresh.
	id, err := b.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ct2, _ := b.Encrypt([]byte("x"), ad)
	if _, err := a.Decrypt(ct2, ad); err == nil {
		t.Fatal("a decrypted under a key it has not loaded")
	}
	if err := a.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if a.PrimaryID() != id {
		t.Fatalf("after Refresh, PrimaryID = %d, want %d", a.PrimaryID(), id)
	}
	if pt, err := a.Decrypt(ct2, ad); err != nil || string(pt) != "x" {
		t.Fatalf("Decrypt after Refresh = %q, %v", pt, err)
	}
	// Master key rotation through the store.
	m2, _ := vault.GenerateMasterKey()
	c, err := vault.Open(ctx, vault.Config{Store: s, Master: m2, Previous: []*vault.MasterKey{m}})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := c.RewrapKeys(ctx); err != nil || n != 3 {
		t.Fatalf("RewrapKeys = %d, %v; want 3", n, err)
	}
	d, err := vault.Open(ctx, vault.Config{Store: s, Master: m2})
	if err != nil {
		t.Fatalf("open with the new master key alone: %v", err)
	}
	if pt, err := d.Decrypt(ct, ad); err != nil || string(pt) != "13800138000" {
		t.Fatalf("Decrypt after master key rotation = %q, %v", pt, err)
	}
}

func testConcurrentOpen(t *testing.T, s vault.KeyStore) {
	m, _ := vault.GenerateMasterKey()
	const n = 4
	vs := make([]*vault.Vault, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { vs[i], errs[i] = vault.Open(t.Context(), vault.Config{Store: s, Master: m}) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	keys, _ := s.VaultKeys(t.Context())
	if len(keys) != 2 {
		t.Errorf("concurrent opens made %d keys, want 2: %+v", len(keys), keys)
	}
	// Whatever the race, all instances settled on one keyring.
	ad := vault.AD("t", "c", "r")
	ct, _ := vs[0].Encrypt([]byte("v"), ad)
	i0, _ := vs[0].BlindIndex(vault.Email, "a@b.cn")
	for i, v := range vs[1:] {
		if _, err := v.Decrypt(ct, ad); err != nil {
			t.Errorf("instance %d: %v", i+1, err)
		}
		if x, _ := v.BlindIndex(vault.Email, "A@B.CN"); x != i0 {
			t.Errorf("instance %d indexes differently", i+1)
		}
	}
}
