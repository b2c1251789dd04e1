package vault_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/vault"
	"github.com/xiaobao-org/xiaobao/vault/vaulttest"
)

func TestMemStore(t *testing.T) {
	vaulttest.Exercise(t, func(t *testing.T) vault.KeyStore { return &vaulttest.MemStore{} })
}

func newVault(tb testing.TB) (*vault.Vault, *vaulttest.MemStore, *vault.MasterKey) {
	tb.Helper()
	s := &vaulttest.MemStore{}
	m, _ := vault.GenerateMasterKey()
	v, err := vault.Open(context.Background(), vault.Config{Store: s, Master: m})
	if err != nil {
		tb.Fatal(err)
	}
	return v, s, m
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	v, _, _ := newVault(t)
	ad := vault.AD("records", "raw", "42")
	for _, pt := range []string{"", "王强", "6222020012345678", strings.Repeat("转入安全账户", 100)} {
		ct, err := v.Encrypt([]byte(pt), ad)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) != len(pt)+vault.Overhead {
			t.Errorf("len(ciphertext) = %d, want %d", len(ct), len(pt)+vault.Overhead)
		}
		if pt != "" && bytes.Contains(ct, []byte(pt)) {
			t.Error("ciphertext contains the plaintext")
		}
		if !vault.IsCiphertext(ct) {
			t.Error("IsCiphertext = false for a ciphertext")
		}
		got, err := v.Decrypt(ct, ad)
		if err != nil || string(got) != pt {
			t.Fatalf("Decrypt = %q, %v; want %q", got, err, pt)
		}
	}
	// Encrypting twice gives different ciphertexts (fresh nonces).
	a, _ := v.Encrypt([]byte("x"), ad)
	b, _ := v.Encrypt([]byte("x"), ad)
	if bytes.Equal(a, b) {
		t.Error("two encryptions of one value are equal")
	}
	// Append forms keep dst's prefix.
	out, _ := v.AppendEncrypt([]byte("pre"), []byte("v"), ad)
	if string(out[:3]) != "pre" {
		t.Fatal("AppendEncrypt lost dst")
	}
	if pt, err := v.AppendDecrypt([]byte("p:"), out[3:], ad); err != nil || string(pt) != "p:v" {
		t.Fatalf("AppendDecrypt = %q, %v", pt, err)
	}
	if vault.IsCiphertext([]byte("13800138000")) {
		t.Error("IsCiphertext = true for plaintext")
	}
}

func TestWrongAD(t *testing.T) {
	t.Parallel()
	v, _, _ := newVault(t)
	ct, _ := v.Encrypt([]byte("110101199003077777"), vault.AD("customers", "id_number", "c-1"))
	for _, ad := range [][]byte{
		vault.AD("customers", "id_number", "c-2"), // another row
		vault.AD("customers", "phone", "c-1"),     // another column
		vault.AD("payees", "id_number", "c-1"),    // another table
		vault.AD("customers", "id_numberc", "-1"), // same bytes, other split
		nil,
	} {
		if _, err := v.Decrypt(ct, ad); !errors.Is(err, vault.ErrAuth) {
			t.Errorf("Decrypt with AD %q = %v, want ErrAuth", ad, err)
		}
	}
}

func TestTampered(t *testing.T) {
	t.Parallel()
	v, _, _ := newVault(t)
	ad := vault.AD("t", "c", "r")
	ct, _ := v.Encrypt([]byte("secret value"), ad)
	for i := range ct {
		bad := bytes.Clone(ct)
		bad[i] ^= 0x01
		pt, err := v.Decrypt(bad, ad)
		if err == nil {
			t.Fatalf("flipping a bit of byte %d went unnoticed: %q", i, pt)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Fatalf("error leaks the value: %v", err)
		}
	}
	for _, n := range []int{0, 1, vault.Overhead - 1, len(ct) - 1} {
		if _, err := v.Decrypt(ct[:n], ad); err == nil {
			t.Fatalf("a ciphertext cut to %d bytes decrypted", n)
		}
	}
	// Another deployment's ciphertext names a key this one lacks or fails.
	other, _, _ := newVault(t)
	if _, err := other.Decrypt(ct, ad); !errors.Is(err, vault.ErrAuth) && !errors.Is(err, vault.ErrUnknownKey) {
		t.Fatalf("another keyring decrypted: %v", err)
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v, _, _ := newVault(t)
	ad := vault.AD("t", "c", "1")
	old, _ := v.Encrypt([]byte("before"), ad)
	oldID, _ := vault.KeyID(old)
	newID, err := v.Rotate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if newID == oldID || v.PrimaryID() != newID {
		t.Fatalf("Rotate = %d, PrimaryID %d, old key %d", newID, v.PrimaryID(), oldID)
	}
	fresh, _ := v.Encrypt([]byte("after"), ad)
	if id, _ := vault.KeyID(fresh); id != newID {
		t.Fatalf("new value under key %d, want %d", id, newID)
	}
	if pt, err := v.Decrypt(old, ad); err != nil || string(pt) != "before" {
		t.Fatalf("old value after rotation: %q, %v", pt, err)
	}
	moved, changed, err := v.ReEncrypt(old, ad)
	if err != nil || !changed {
		t.Fatalf("ReEncrypt(old) changed=%v, %v", changed, err)
	}
	if id, _ := vault.KeyID(moved); id != newID {
		t.Fatalf("re-encrypted under key %d, want %d", id, newID)
	}
	if pt, err := v.Decrypt(moved, ad); err != nil || string(pt) != "before" {
		t.Fatalf("re-encrypted value: %q, %v", pt, err)
	}
	same, changed, err := v.ReEncrypt(fresh, ad)
	if err != nil || changed || !bytes.Equal(same, fresh) {
		t.Fatalf("ReEncrypt of a current value: changed=%v, %v", changed, err)
	}
	// ReEncrypt authenticates with the value's own AD.
	if _, _, err := v.ReEncrypt(old, vault.AD("t", "c", "2")); !errors.Is(err, vault.ErrAuth) {
		t.Fatalf("ReEncrypt with another row's AD = %v", err)
	}
	keys := v.Keys()
	var primaries, retired int
	for _, k := range keys {
		if k.Wrapped != nil {
			t.Error("Keys returns wrapped key material")
		}
		if k.Kind == vault.KindData && k.Primary {
			primaries++
		}
		if k.RetiredAt != nil {
			retired++
		}
	}
	if primaries != 1 || retired != 1 {
		t.Fatalf("keyring after one rotation: %+v", keys)
	}
	// Blind indexes survive data key rotation.
	a, _ := v.BlindIndex(vault.Phone, "13800138000")
	if _, err := v.Rotate(ctx); err != nil {
		t.Fatal(err)
	}
	if b, _ := v.BlindIndex(vault.Phone, "13800138000"); a != b {
		t.Fatal("blind index changed with a data key rotation")
	}
}

func TestEpochRollover(t *testing.T) {
	t.Parallel()
	v, _, _ := newVault(t)
	ad := vault.AD("t", "c", "r")
	before, _ := v.Encrypt([]byte("1"), ad)
	vault.ExhaustEpoch(v)
	after, _ := v.Encrypt([]byte("2"), ad)
	// Same key, new salt (bytes 5..21): a new subkey, nonces restart.
	if !bytes.Equal(before[:5], after[:5]) || bytes.Equal(before[5:21], after[5:21]) {
		t.Fatalf("no new epoch: % x / % x", before[:21], after[:21])
	}
	for _, ct := range [][]byte{before, after} {
		if _, err := v.Decrypt(ct, ad); err != nil {
			t.Fatal(err)
		}
	}
	// A fresh instance (no epochs of its own) reads both.
}

func TestMasterKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	v, s, m1 := newVault(t)
	ad := vault.AD("t", "c", "r")
	ct, _ := v.Encrypt([]byte("v"), ad)
	x1, _ := v.BlindIndex(vault.IDNumber, "11010119900307777x")

	m2, _ := vault.GenerateMasterKey()
	// Without the previous key the keyring cannot be read, and the error
	// says what to configure.
	_, err := vault.Open(ctx, vault.Config{Store: s, Master: m2})
	if err == nil || !strings.Contains(err.Error(), vault.EnvMasterKeyPrevious) || !strings.Contains(err.Error(), m1.ID()) {
		t.Fatalf("open with an unknown master key: %v", err)
	}
	v2, err := vault.Open(ctx, vault.Config{Store: s, Master: m2, Previous: []*vault.MasterKey{m1}})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := s.VaultKeys(ctx)
	if n, err := v2.RewrapKeys(ctx); err != nil || n != 2 {
		t.Fatalf("RewrapKeys = %d, %v", n, err)
	}
	if n, err := v2.RewrapKeys(ctx); err != nil || n != 0 {
		t.Fatalf("second RewrapKeys = %d, %v; want 0", n, err)
	}
	after, _ := s.VaultKeys(ctx)
	for i := range after {
		if after[i].KEKID != m2.ID() || bytes.Equal(after[i].Wrapped, before[i].Wrapped) {
			t.Fatalf("key %d not rewrapped", after[i].ID)
		}
	}
	// The old master key alone no longer opens the keyring; the new alone does.
	if _, err := vault.Open(ctx, vault.Config{Store: s, Master: m1}); err == nil {
		t.Fatal("old master key still opens the rewrapped keyring")
	}
	v3, err := vault.Open(ctx, vault.Config{Store: s, Master: m2})
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := v3.Decrypt(ct, ad); err != nil || string(pt) != "v" {
		t.Fatalf("value after master key rotation: %q, %v", pt, err)
	}
	if x3, _ := v3.BlindIndex(vault.IDNumber, "11010119900307777X"); x3 != x1 {
		t.Fatal("blind index changed with the master key")
	}
}

func TestSwappedWrappedKey(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	_, s, m := newVault(t)
	keys, _ := s.VaultKeys(ctx)
	// Put the index key's wrapping on the data key's row.
	keys[0].Wrapped = keys[1].Wrapped
	if err := s.RewrapVaultKeys(ctx, keys[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := vault.Open(ctx, vault.Config{Store: s, Master: m}); err == nil {
		t.Fatal("a wrapped key moved to another row unwrapped")
	}
}

func TestBlindIndex(t *testing.T) {
	t.Parallel()
	v, _, _ := newVault(t)
	same := func(p vault.Purpose, spellings ...string) {
		t.Helper()
		want, err := v.BlindIndex(p, spellings[0])
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range spellings[1:] {
			if got, _ := v.BlindIndex(p, s); got != want {
				t.Errorf("%s: index of %q differs from %q's", p.Name(), s, spellings[0])
			}
		}
	}
	same(vault.Phone, "13800138000", "+86 138 0013 8000", "+86-138-0013-8000", "0086 13800138000", "8613800138000", "138-0013-8000", "(+86) 138 0013 8000", "１３８００１３８０００")
	same(vault.IDNumber, "11010119900307777X", "11010119900307777x", " 110101 19900307 777x ")
	same(vault.Email, "Zhang.San@Example.CN", "zhang.san@example.cn ")
	same(vault.Account, "6222 0200 1234 5678", "6222020012345678", "6222-0200-1234-5678")
	same(vault.Name, "王强", " 王 强 ", "王　强")

	idx := func(p vault.Purpose, s string) vault.Index {
		x, err := v.BlindIndex(p, s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	if idx(vault.Phone, "13800138000") == idx(vault.Phone, "13800138001") {
		t.Error("different phones, same index")
	}
	// Purposes have separate keys: the same digits differ.
	if idx(vault.Phone, "13800138000") == idx(vault.Account, "13800138000") {
		t.Error("phone and account indexes of the same digits are equal")
	}
	// Another keyring gives another index.
	w, _, _ := newVault(t)
	if x, _ := w.BlindIndex(vault.Phone, "13800138000"); x == idx(vault.Phone, "13800138000") {
		t.Error("two keyrings give the same index")
	}
	// It is HMAC-SHA256 truncated, over the normalised value.
	mac := hmac.New(sha256.New, vault.IndexKeyBytes(v, "phone"))
	mac.Write([]byte("13800138000"))
	if got := idx(vault.Phone, "+86 13800138000"); !bytes.Equal(got[:], mac.Sum(nil)[:vault.IndexSize]) {
		t.Error("index is not HMAC-SHA256 of the normalised value")
	}
	long := strings.Repeat("很长的地址", 100)
	mac = hmac.New(sha256.New, vault.IndexKeyBytes(v, "address"))
	mac.Write([]byte(long))
	if got := idx(vault.NewPurpose("address", nil), long); !bytes.Equal(got[:], mac.Sum(nil)[:vault.IndexSize]) {
		t.Error("index of a long value is not HMAC-SHA256")
	}
	if _, err := v.BlindIndex(vault.Phone, " - "); !errors.Is(err, vault.ErrEmptyIndex) {
		t.Errorf("index of a value that normalises to nothing: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		f       func(string) string
		in, out string
	}{
		{vault.NormalizePhone, "+86 138 0013 8000", "13800138000"},
		{vault.NormalizePhone, "13800138000", "13800138000"},
		{vault.NormalizePhone, "8613800138000", "13800138000"},
		{vault.NormalizePhone, "+44 20 7946 0958", "+442079460958"},
		{vault.NormalizePhone, "010-8888 6666", "01088886666"},
		{vault.NormalizePhone, "86123", "86123"}, // too short to carry a country code
		{vault.NormalizeIDNumber, "11010119900307777x", "11010119900307777X"},
		{vault.NormalizeEmail, " A@B.CN", "a@b.cn"},
		{vault.NormalizeName, "  Li   Wei ", "li wei"},
		{vault.NormalizeName, "王 强", "王强"},
	} {
		if got := c.f(c.in); got != c.out {
			t.Errorf("normalise %q = %q, want %q", c.in, got, c.out)
		}
	}
}

func TestMasterKeyConfig(t *testing.T) {
	t.Parallel()
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1, 2}, 16))
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(good+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	for _, c := range []struct {
		name  string
		env   func(string) string
		field string // "" when valid
	}{
		{"env", env(vault.EnvMasterKey, good), ""},
		{"file", env(vault.EnvMasterKeyFile, file), ""},
		{"unset", env(), vault.EnvMasterKey},
		{"both", env(vault.EnvMasterKey, good, vault.EnvMasterKeyFile, file), vault.EnvMasterKey},
		{"not base64", env(vault.EnvMasterKey, "not*base64!"), vault.EnvMasterKey},
		{"short", env(vault.EnvMasterKey, base64.StdEncoding.EncodeToString(make([]byte, 16))), vault.EnvMasterKey},
		{"all zero", env(vault.EnvMasterKey, base64.StdEncoding.EncodeToString(make([]byte, 32))), vault.EnvMasterKey},
		{"missing file", env(vault.EnvMasterKeyFile, file+".nope"), vault.EnvMasterKeyFile},
		{"bad previous", env(vault.EnvMasterKey, good, vault.EnvMasterKeyPrevious, "abc"), vault.EnvMasterKeyPrevious},
	} {
		m, _, err := vault.MasterKeysFromEnv(c.env)
		if c.field == "" {
			if err != nil || m == nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		if xiaobao.ErrorCode(err) != xiaobao.EINVALID {
			t.Errorf("%s: error %v, want EINVALID", c.name, err)
			continue
		}
		if f := xiaobao.ErrorFields(err); len(f) != 1 || f[0].Field != c.field {
			t.Errorf("%s: fields %v, want %s", c.name, f, c.field)
		}
		if strings.Contains(err.Error(), good) {
			t.Errorf("%s: error repeats the key", c.name)
		}
	}
	_, prev, err := vault.MasterKeysFromEnv(env(vault.EnvMasterKey, good, vault.EnvMasterKeyPrevious, good+", "+base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{3, 4}, 16))))
	if err != nil || len(prev) != 1 {
		t.Fatalf("previous keys: %d, %v; want 1 (the current one skipped)", len(prev), err)
	}
}

func TestMasterKeyNotPrinted(t *testing.T) {
	t.Parallel()
	raw := bytes.Repeat([]byte{0xAB, 0xCD}, 16)
	m, err := vault.NewMasterKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(m), fmt.Sprintf("%v %+v %#v %s %x", m, m, m, m, m)} {
		if strings.Contains(strings.ToLower(s), "abcdabcd") || strings.Contains(s, "171 205") || strings.Contains(s, base64.StdEncoding.EncodeToString(raw)) {
			t.Fatalf("master key printed: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(m), m.ID()) {
		t.Fatal("String does not give the id")
	}
	if d1, d2 := m.Derive("a", 32), m.Derive("b", 32); bytes.Equal(d1, d2) || bytes.Equal(d1, raw) {
		t.Fatal("derived keys are not separated by purpose")
	}
}

func FuzzDecrypt(f *testing.F) {
	v, _, _ := newVault(f)
	ad := vault.AD("t", "c", "r")
	ct, _ := v.Encrypt([]byte("seed value"), ad)
	f.Add(ct)
	f.Add([]byte{})
	f.Add([]byte{0xA1})
	f.Add(ct[:vault.Overhead])
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = vault.IsCiphertext(b)
		_, _ = vault.KeyID(b)
		pt, err := v.Decrypt(b, ad)
		if err == nil && !bytes.Equal(b, ct) {
			t.Fatalf("a forged ciphertext decrypted to %q", pt)
		}
		if err != nil && !errors.Is(err, vault.ErrFormat) && !errors.Is(err, vault.ErrUnknownKey) && !errors.Is(err, vault.ErrAuth) {
			t.Fatalf("unexpected error kind: %v", err)
		}
	})
}

// field300 is a 300-byte sensitive field: a raw event's PII-bearing part.
var field300 = []byte(strings.Repeat("王强 6222020012345678 13800138000 ", 10)[:300])

func BenchmarkEncrypt300(b *testing.B) {
	v, _, _ := newVault(b)
	ad := vault.AD("records", "raw", "1234567")
	dst := make([]byte, 0, 512)
	b.SetBytes(300)
	b.ReportAllocs()
	for b.Loop() {
		dst, _ = v.AppendEncrypt(dst[:0], field300, ad)
	}
}

func BenchmarkEncryptDecrypt300(b *testing.B) {
	v, _, _ := newVault(b)
	ad := vault.AD("records", "raw", "1234567")
	ct := make([]byte, 0, 512)
	pt := make([]byte, 0, 512)
	b.SetBytes(300)
	b.ReportAllocs()
	for b.Loop() {
		ct, _ = v.AppendEncrypt(ct[:0], field300, ad)
		var err error
		if pt, err = v.AppendDecrypt(pt[:0], ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncryptDecrypt300Alloc uses the allocating forms and builds the
// AD each time, as a straightforward caller would.
func BenchmarkEncryptDecrypt300Alloc(b *testing.B) {
	v, _, _ := newVault(b)
	b.ReportAllocs()
	for b.Loop() {
		ad := vault.AD("records", "raw", "1234567")
		ct, _ := v.Encrypt(field300, ad)
		if _, err := v.Decrypt(ct, ad); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBlindIndexPhone(b *testing.B) {
	v, _, _ := newVault(b)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = v.BlindIndex(vault.Phone, "13800138000")
	}
}

func BenchmarkBlindIndexPhoneSpelled(b *testing.B) {
	v, _, _ := newVault(b)
	b.ReportAllocs()
	for b.Loop() {
		_, _ = v.BlindIndex(vault.Phone, "+86 138-0013-8000")
	}
}
