package main

import (
	"bytes"
	"crypto/ed25519"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/audit/audittest"
	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/vault"
)

func TestAuditCmd(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	master, masterText := vault.GenerateMasterKey()
	signer, err := audit.NewSigner(master.Derive(audit.SigningKeyPurpose, ed25519.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "xiaobao.db"))
	if err != nil {
		t.Fatal(err)
	}
	audittest.Fill(t, db, signer, 25)
	l, _ := audit.New(audit.Config{Store: db, Signer: signer, CheckpointEvery: 10})
	if _, err := l.Append(ctx, audittest.Entry(26)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	env := func(k string) string {
		if k == vault.EnvMasterKey {
			return masterText
		}
		return ""
	}
	noEnv := func(string) string { return "" }
	run := func(getenv func(string) string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := auditCmd(ctx, args, getenv, &out, &errOut)
		return out.String() + errOut.String(), err
	}

	out, err := run(env, "pubkey")
	if err != nil || strings.TrimSpace(out) != audit.EncodePublicKey(signer.PublicKey()) {
		t.Fatalf("pubkey = %q, %v", out, err)
	}
	pub := strings.TrimSpace(out)
	if _, err := run(noEnv, "pubkey"); err == nil || !strings.Contains(err.Error(), vault.EnvMasterKey) {
		t.Fatalf("pubkey without a master key: %v", err)
	}

	out, err = run(env, "verify", "--data", dir)
	if err != nil || !strings.Contains(out, "audit log OK: 26 records, 3 checkpoints, signatures verified") || !strings.Contains(out, "records 26 to 26") {
		t.Fatalf("verify = %q, %v", out, err)
	}
	// An auditor without the master key uses the exported public key.
	if out, err := run(noEnv, "verify", "--data", dir, "--pubkey", pub); err != nil || !strings.Contains(out, "OK") {
		t.Fatalf("verify --pubkey = %q, %v", out, err)
	}
	if _, err := run(noEnv, "verify", "--data", dir); err == nil || !strings.Contains(err.Error(), "--pubkey") {
		t.Fatalf("verify without any key: %v", err)
	}
	if out, err := run(noEnv, "verify", "--data", dir, "--unsigned"); err != nil || !strings.Contains(out, "NOT verified") {
		t.Fatalf("verify --unsigned = %q, %v", out, err)
	}
	if _, err := run(noEnv, "verify", "--data", t.TempDir(), "--unsigned"); err == nil || !strings.Contains(err.Error(), "no database") {
		t.Fatalf("verify of an empty directory: %v", err)
	}
	if _, err := run(env, "verify", "--pubkey", "nope"); !errors.Is(err, errUsage) {
		t.Fatalf("bad --pubkey: %v", err)
	}
	if _, err := run(env, "frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("unknown subcommand: %v", err)
	}

	raw, err := sql.Open("sqlite", filepath.Join(dir, "xiaobao.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{`DROP TRIGGER audit_log_no_update`, `UPDATE audit_log SET reason = 'routine' WHERE seq = 13`} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	out, err = run(env, "verify", "--data", dir)
	if err == nil || !strings.Contains(err.Error(), "record 13") || !strings.Contains(out, "BROKEN at record 13: hash_mismatch") {
		t.Fatalf("verify of a tampered log = %q, %v", out, err)
	}
}
