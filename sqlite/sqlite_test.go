package sqlite_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"

	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/staff"
	"github.com/xiaobao-org/xiaobao/storetest"
)

// open returns a fresh database in a temporary directory, closed when tb ends.
func open(tb testing.TB) *sqlite.DB {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "xiaobao.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func TestStore(t *testing.T) {
	storetest.Exercise(t, func(t *testing.T) storetest.Store {
		db := open(t)
		// Pages of 7 rows: the paged reads cross many page boundaries
		// (and fall inside ties of Outcomes' order) with little data.
		sqlite.SetPageSize(db, 7)
		return db
	})
}

func BenchmarkSaveRecords(b *testing.B) {
	storetest.BenchSaveRecords(b, func(b *testing.B) storetest.Store { return open(b) })
}

// TestReopen checks that data survives Close and that opening a migrated
// file again applies nothing twice.
func TestReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "x.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SaveRecords(ctx, storetest.NewRecords(1, 10)); err != nil {
		t.Fatal(err)
	}
	if err := db.SaveSnapshot(ctx, 10, []byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if seq, err := db.MaxSeq(ctx); err != nil || seq != 10 {
		t.Fatalf("MaxSeq after reopen = %d, %v; want 10", seq, err)
	}
	if seq, data, err := db.LoadSnapshot(ctx); err != nil || seq != 10 || string(data) != "state" {
		t.Fatalf("LoadSnapshot after reopen = %d, %q, %v", seq, data, err)
	}
}

func TestOpenBadPath(t *testing.T) {
	t.Parallel()
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro"} {
		if db, err := sqlite.Open(t.Context(), p); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
	if _, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "missing", "dir", "x.db")); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// envCrashChild makes the test binary the child of TestCrashDurability.
const envCrashChild = "XIAOBAO_SQLITE_CRASH_CHILD"

// TestCrashDurability kills a process (SIGKILL: no Close, no deferred
// function, no checkpoint) right after SaveRecords returned, and checks that
// every acknowledged record is there when the file is opened again: with WAL
// and synchronous=NORMAL a commit has reached the OS before it returns.
func TestCrashDurability(t *testing.T) {
	if path := os.Getenv(envCrashChild); path != "" {
		crashChild(path)
		return
	}
	t.Parallel()
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashDurability$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCrashChild+"="+path)
	out, err := cmd.CombinedOutput()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.Exited() {
		t.Fatalf("child was not killed: %v\n%s", err, out)
	}
	db, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	if err := db.Replay(t.Context(), 0, func(it guard.ReplayItem) error {
		n++
		if it.Seq != int64(n) {
			return fmt.Errorf("seq %d at position %d", it.Seq, n)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != crashRecords {
		t.Fatalf("%d records after the crash, want %d\n%s", n, crashRecords, out)
	}
}

const crashRecords = 50 * 64

func crashChild(path string) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		fmt.Println(err)
		os.Exit(2)
	}
	for first := int64(1); first <= crashRecords; first += 64 {
		if err := db.SaveRecords(ctx, storetest.NewRecords(first, 64)); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
	}
	p, _ := os.FindProcess(os.Getpid())
	_ = p.Kill() // SIGKILL on Unix
	select {}
}

func TestStaffStore(t *testing.T) {
	storetest.ExerciseStaff(t, func(t *testing.T) staff.Store { return open(t) })
}
