package sqlite_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/audit/audittest"
)

// rawDB opens a second handle on the database file, as someone with access
// to it would.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

func TestAuditStore(t *testing.T) {
	audittest.Exercise(t, func(t *testing.T) audittest.Harness {
		db := open(t)
		raw := rawDB(t, db.Path())
		return audittest.Harness{Store: db, Exec: func(q string, args ...any) error {
			for _, tr := range []string{"audit_log_no_update", "audit_log_no_delete", "audit_checkpoints_no_update", "audit_checkpoints_no_delete"} {
				if _, err := raw.Exec(`DROP TRIGGER IF EXISTS ` + tr); err != nil {
					return err
				}
			}
			_, err := raw.Exec(q, args...)
			return err
		}}
	})
}

// TestAuditAppendOnly checks that the triggers refuse changes to the log.
func TestAuditAppendOnly(t *testing.T) {
	t.Parallel()
	db := open(t)
	audittest.Fill(t, db, audittest.NewSigner(t, 1), 3)
	raw := rawDB(t, db.Path())
	for _, q := range []string{
		`UPDATE audit_log SET target = 'x' WHERE seq = 1`,
		`DELETE FROM audit_log WHERE seq = 3`,
		`UPDATE audit_checkpoints SET seq = 2`,
		`DELETE FROM audit_checkpoints`,
	} {
		if _, err := raw.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want an append-only error", q, err)
		}
	}
}

// BenchmarkAuditAppend measures appends from concurrent callers, which the
// Log writes several to a transaction.
func BenchmarkAuditAppend(b *testing.B) {
	db := open(b)
	l, err := audit.New(audit.Config{Store: db, Signer: audittest.NewSigner(b, 1)})
	if err != nil {
		b.Fatal(err)
	}
	e := audittest.Entry(1)
	b.ReportAllocs()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), e); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
