package postgres_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/audit/audittest"
	"github.com/xiaobao-org/xiaobao/postgres"
)

// dollars rewrites the suite's ? placeholders as $1, $2, ….
func dollars(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// exec runs q on db directly with the append-only triggers disabled, as
// someone with the owner's access could.
func exec(t *testing.T, db *postgres.DB) func(q string, args ...any) error {
	return func(q string, args ...any) error {
		ctx := t.Context()
		for _, table := range []string{"audit_log", "audit_checkpoints"} {
			if _, err := db.Pool().Exec(ctx, `ALTER TABLE `+table+` DISABLE TRIGGER USER`); err != nil {
				return err
			}
		}
		_, err := db.Pool().Exec(ctx, dollars(q), args...)
		return err
	}
}

// TestAuditStore skips, naming XIAOBAO_TEST_POSTGRES, without a server.
func TestAuditStore(t *testing.T) {
	audittest.Exercise(t, func(t *testing.T) audittest.Harness {
		db := open(t)
		return audittest.Harness{Store: db, Exec: exec(t, db)}
	})
}

// TestAuditAppendOnly checks that the trigger refuses changes to the log.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	db := open(t)
	audittest.Fill(t, db, audittest.NewSigner(t, 1), 3)
	for _, q := range []string{
		`UPDATE audit_log SET target = 'x' WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 3`,
		`TRUNCATE audit_log`,
		`UPDATE audit_checkpoints SET seq = 2`,
		`DELETE FROM audit_checkpoints`,
	} {
		if _, err := db.Pool().Exec(t.Context(), q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want an append-only error", q, err)
		}
	}
}
