package http

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/vault"
)

func TestVaultRotate(t *testing.T) {
	rec := &auditRecorder{}
	var kicked atomic.Int32
	var v *vault.Vault
	f := setup(t, func(c *Config) {
		m, _ := vault.GenerateMasterKey()
		var err error
		if v, err = vault.Open(context.Background(), vault.Config{Store: c.Keys.(vault.KeyStore), Master: m}); err != nil {
			t.Fatal(err)
		}
		c.Vault, c.Audit, c.OnRotate = v, rec, func() { kicked.Add(1) }
	})
	admin := f.newKey(auth.ScopeKeysAdmin)
	type keysJSON struct {
		Primary uint32
		Keys    []struct {
			ID          uint32
			Kind        string
			Primary     bool
			MasterKeyID string `json:"master_key_id"`
		}
	}
	w := f.do(request{method: "GET", path: "/v1/vault/keys", key: admin})
	wantStatus(t, w, 200)
	before := decode[keysJSON](t, w)
	if len(before.Keys) != 2 || before.Keys[0].MasterKeyID == "" {
		t.Fatalf("keys = %+v", before)
	}
	old := v.PrimaryID()
	w = f.do(request{method: "POST", path: "/v1/vault/rotate", key: admin})
	wantStatus(t, w, 200)
	after := decode[keysJSON](t, w)
	if after.Primary == old || after.Primary != v.PrimaryID() || len(after.Keys) != 3 {
		t.Errorf("after rotation = %+v (old primary %d)", after, old)
	}
	primaries := 0
	for _, k := range after.Keys {
		if k.Primary && k.Kind == "data" {
			primaries++
		}
	}
	if primaries != 1 {
		t.Errorf("%d primary data keys", primaries)
	}
	if kicked.Load() != 1 {
		t.Errorf("the re-seal job was kicked %d times", kicked.Load())
	}
	if es := rec.find(ActionKeyRotate, ""); len(es) != 1 || es[0].Target != "vault:data" {
		t.Errorf("rotation audit = %+v", es)
	}
	if body := w.Body.String(); strings.Contains(strings.ToLower(body), "wrapped") {
		t.Errorf("key material in the answer: %s", body)
	}
	reader := f.newKey(auth.ScopeDecisionsRead)
	wantProblem(t, f.do(request{method: "POST", path: "/v1/vault/rotate", key: reader}), 403, "forbidden")
}
