package main

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xiaobao-org/xiaobao/guard"
)

func TestSimulateCommand(t *testing.T) {
	dir := t.TempDir()
	out, labels := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "labels.ndjson")
	var stdout, stderr bytes.Buffer
	args := []string{"xiaobao", "simulate", "--customers", "200", "--days", "3", "--scam-rate", "50", "--out", out, "--labels", labels}
	if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("simulate: %v\n%s", err, stderr.String())
	}
	ev, _ := os.ReadFile(out)
	lb, _ := os.ReadFile(labels)
	events := bytes.Split(bytes.TrimSpace(ev), []byte("\n"))
	if len(events) < 100 || len(events) != len(bytes.Split(bytes.TrimSpace(lb), []byte("\n"))) {
		t.Fatalf("%d events and a different number of labels", len(events))
	}
	for i, line := range events {
		if _, err := guard.DecodeEvent(bytes.Clone(line)); err != nil {
			t.Fatalf("event %d is not a valid Guard event: %v\n%s", i, err, line)
		}
	}
	if !strings.Contains(stderr.String(), "events in") {
		t.Errorf("no summary on stderr: %q", stderr.String())
	}
	// The same seed gives the same bytes.
	out2 := filepath.Join(dir, "again.ndjson")
	args[len(args)-3] = out2
	args = append(args[:len(args)-2], "--quiet")
	if err := run(context.Background(), args, func(string) string { return "" }, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	ev2, _ := os.ReadFile(out2)
	if !bytes.Equal(ev, ev2) {
		t.Error("simulate is not deterministic for a seed")
	}
}

func TestBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("drives a server for a few seconds")
	}
	in := startServe(t, t.TempDir(), "--log-level", "warn")
	defer in.stop()
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "XIAOBAO_BOOTSTRAP_KEY" {
			return testBootstrapKey
		}
		return ""
	}
	args := []string{"xiaobao", "bench", "--url", in.base, "--duration", "1s", "--warmup", "0s",
		"--customers", "500", "--connections", "2", "--compare-bare"}
	if err := run(context.Background(), args, getenv, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\n%s", err, stderr.String())
	}
	got := stdout.String()
	for _, want := range []string{"== bare net/http handler, own process", "== xiaobao", "p99", "xiaobao / bare throughput", "µs per request"} {
		if !strings.Contains(got, want) {
			t.Errorf("bench output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "requests failed") {
		t.Errorf("bench saw failures:\n%s", got)
	}
	// The batch endpoint too.
	stdout.Reset()
	args = []string{"xiaobao", "bench", "--url", in.base, "--duration", "1s", "--warmup", "0s",
		"--customers", "500", "--connections", "1", "--batch", "200", "--seed", "2"}
	if err := run(context.Background(), args, getenv, strings.NewReader(""), &stdout, &stderr); err != nil {
		t.Fatalf("bench --batch: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(&stdout)
	found := false
	for sc.Scan() {
		found = found || strings.HasPrefix(sc.Text(), "events/s through the batch endpoint")
	}
	if !found {
		t.Error("bench --batch printed no events/s")
	}
}
