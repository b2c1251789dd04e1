package sqlite_test

import (
	"testing"

	"github.com/xiaobao-org/xiaobao/vault"
	"github.com/xiaobao-org/xiaobao/vault/vaulttest"
)

func TestVaultKeyStore(t *testing.T) {
	vaulttest.Exercise(t, func(t *testing.T) vault.KeyStore { return open(t) })
}
