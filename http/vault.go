package http

import (
	"context"
	"net/http"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/vault"
)

// KeyRing is the vault as the API manages it (vault.Vault).
type KeyRing interface {
	Rotate(ctx context.Context) (uint32, error)
	Keys() []vault.Key
	PrimaryID() uint32
}

// ActionKeyRotate is the audit action of a data key rotation.
const ActionKeyRotate = "vault.rotate"

type vaultKeyJSON struct {
	ID        uint32     `json:"id"`
	Kind      string     `json:"kind"`
	Primary   bool       `json:"primary"`
	MasterKey string     `json:"master_key_id"`
	CreatedAt time.Time  `json:"created_at"`
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

func vaultKeys(v KeyRing) []vaultKeyJSON {
	ks := v.Keys()
	out := make([]vaultKeyJSON, len(ks))
	for i, k := range ks {
		out[i] = vaultKeyJSON{ID: k.ID, Kind: k.Kind, Primary: k.Primary, MasterKey: k.KEKID, CreatedAt: k.CreatedAt, RetiredAt: k.RetiredAt}
	}
	return out
}

// handleVaultKeys lists the keyring: ids, kinds, which is primary, which
// master key wraps each; never key material.
func handleVaultKeys(s *server) handler {
	type response struct {
		Keys []vaultKeyJSON `json:"keys"`
	}
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if s.cfg.Vault == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no vault is configured on this server"))
			return
		}
		writeJSON(w, http.StatusOK, "application/json", response{Keys: vaultKeys(s.cfg.Vault)})
	}
}

// handleVaultRotate makes a new data key primary. New values are sealed
// under it at once; the server re-seals older values in the background
// (OnRotate), and they stay readable meanwhile: no downtime.
func handleVaultRotate(s *server) handler {
	type response struct {
		Primary uint32         `json:"primary"`
		Keys    []vaultKeyJSON `json:"keys"`
	}
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if s.cfg.Vault == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no vault is configured on this server"))
			return
		}
		id, err := s.cfg.Vault.Rotate(r.Context())
		if err != nil {
			s.error(w, r, err)
			return
		}
		s.auditChange(r, k, ActionKeyRotate, "vault:data", map[string]any{"primary": id})
		if s.cfg.OnRotate != nil {
			s.cfg.OnRotate()
		}
		writeJSON(w, http.StatusOK, "application/json", response{Primary: id, Keys: vaultKeys(s.cfg.Vault)})
	}
}
