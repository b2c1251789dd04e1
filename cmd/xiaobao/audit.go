package main

import (
	"context"
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/postgres"
	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/vault"
)

const auditUsage = `usage:
  xiaobao audit verify [--data DIR | --db DSN [--db-schema SCHEMA]] [--pubkey KEY]... [--unsigned]
      walk the audit log's hash chain and signed checkpoints; exit 1 naming
      the first broken record
  xiaobao audit pubkey
      print the checkpoint public key derived from XIAOBAO_MASTER_KEY, to
      give auditors (with XIAOBAO_MASTER_KEY_PREVIOUS set, the earlier keys too)

Checkpoint signatures are verified with the --pubkey keys and, when
XIAOBAO_MASTER_KEY (or _FILE) is set, the keys derived from it.
`

// auditCmd runs `xiaobao audit verify` and `xiaobao audit pubkey`.
func auditCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, auditUsage)
		return errUsage
	}
	switch args[0] {
	case "verify":
		return auditVerify(ctx, args[1:], getenv, stdout, stderr)
	case "pubkey":
		keys, err := auditMasterPublicKeys(getenv, true)
		if err != nil {
			return err
		}
		for _, k := range keys {
			fmt.Fprintln(stdout, audit.EncodePublicKey(k))
		}
		return nil
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, auditUsage)
		return nil
	default:
		fmt.Fprintf(stderr, "xiaobao audit: unknown command %q\n\n%s", args[0], auditUsage)
		return errUsage
	}
}

// auditMasterPublicKeys derives the checkpoint public keys from the
// configured master keys, current first. Without a master key configured
// it returns none, or an error when required.
func auditMasterPublicKeys(getenv func(string) string, required bool) ([]ed25519.PublicKey, error) {
	if !required && getenv(vault.EnvMasterKey) == "" && getenv(vault.EnvMasterKeyFile) == "" {
		return nil, nil
	}
	current, previous, err := vault.MasterKeysFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	var keys []ed25519.PublicKey
	for _, m := range append([]*vault.MasterKey{current}, previous...) {
		s, err := audit.NewSigner(m.Derive(audit.SigningKeyPurpose, ed25519.SeedSize))
		if err != nil {
			return nil, err
		}
		keys = append(keys, s.PublicKey())
	}
	return keys, nil
}

func auditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var (
		data, dsn, schema string
		unsigned          bool
		keys              []ed25519.PublicKey
	)
	fs := flag.NewFlagSet("audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&data, "data", "./xiaobao-data", "data `DIR` holding xiaobao.db, as given to serve")
	fs.StringVar(&dsn, "db", "", "PostgreSQL `DSN` (postgres://...) instead of SQLite")
	fs.StringVar(&schema, "db-schema", "", "PostgreSQL `SCHEMA` of the tables (default: the DSN's search_path)")
	fs.Func("pubkey", "trusted checkpoint public `KEY` (ed25519:BASE64, as `xiaobao audit pubkey` prints); repeatable", func(s string) error {
		k, err := audit.ParsePublicKey(s)
		if err != nil {
			return errors.New("want ed25519: and the base64 of 32 bytes")
		}
		keys = append(keys, k)
		return nil
	})
	fs.BoolVar(&unsigned, "unsigned", false, "with no key at hand, check the hash chain alone (signatures unchecked: a rewritten log can pass)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "audit verify: unexpected arguments %q\n", fs.Args())
		return errUsage
	}
	if dsn != "" && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		fmt.Fprintln(stderr, "audit verify: --db must be a postgres:// URL")
		return errUsage
	}
	if schema != "" && dsn == "" {
		fmt.Fprintln(stderr, "audit verify: --db-schema needs --db")
		return errUsage
	}
	// A server with no master key configured keeps a generated one in its
	// data directory; verify finds it there too.
	getenv, err := withMasterKey(getenv, data, false, nil)
	if err != nil {
		return err
	}
	derived, err := auditMasterPublicKeys(getenv, false)
	if err != nil {
		return err
	}
	keys = append(keys, derived...)
	if len(keys) == 0 && !unsigned {
		return errors.New("audit verify: no checkpoint public key: pass --pubkey (from `xiaobao audit pubkey`) or set XIAOBAO_MASTER_KEY; --unsigned checks the hash chain alone")
	}

	st, closeStore, err := openAuditStore(ctx, data, dsn, schema)
	if err != nil {
		return err
	}
	defer closeStore()
	rep, err := audit.Verify(ctx, st, keys...)
	if err != nil {
		return err
	}
	if b := rep.Broken; b != nil {
		fmt.Fprintf(stdout, "audit log BROKEN at record %d: %s: %s\n", b.Seq, b.Kind, b.Detail)
		fmt.Fprintf(stdout, "intact before it: %d records, %d checkpoints (the last good one at record %d)\n",
			rep.Records, rep.Checkpoints, rep.LastCheckpoint)
		return fmt.Errorf("audit log broken at record %d (%s)", b.Seq, b.Kind)
	}
	signed := "verified"
	if len(keys) == 0 {
		signed = "NOT verified (--unsigned)"
	}
	fmt.Fprintf(stdout, "audit log OK: %d records, %d checkpoints, signatures %s\n", rep.Records, rep.Checkpoints, signed)
	if rep.LastSeq > rep.LastCheckpoint {
		fmt.Fprintf(stdout, "records %d to %d are not yet covered by a signed checkpoint: the hash chain alone protects them\n",
			rep.LastCheckpoint+1, rep.LastSeq)
	}
	return nil
}

// openAuditStore opens the store as serve does, but never creates a SQLite
// database: verifying a directory without one is a mistake worth saying.
func openAuditStore(ctx context.Context, data, dsn, schema string) (audit.Store, func(), error) {
	if dsn != "" {
		var opts []postgres.Option
		if schema != "" {
			opts = append(opts, postgres.WithSchema(schema))
		}
		db, err := postgres.Open(ctx, dsn, opts...)
		if err != nil {
			return nil, nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, func() { db.Close() }, nil
	}
	path := filepath.Join(data, "xiaobao.db")
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("audit verify: no database at %s (give the --data DIR that serve uses): %w", path, err)
	}
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		return nil, nil, err
	}
	return db, func() { db.Close() }, nil
}
