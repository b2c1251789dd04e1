package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/pii"
)

// TestNoPIIAfterDemo runs the demo (a simulated population with names,
// phones, cards, IPs and memos, scams and staff outcomes), sends hostile
// requests that carry personal data in bad fields, and then scans what
// leaves the platform for people and machines other than the caller —
// the server log, the metrics and the problem answers — for personal data.
// Only the server's own loopback address may appear.
func TestNoPIIAfterDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo for several seconds")
	}
	dir := t.TempDir()
	const key = "xb_test-demo-key-0123456789"
	getenv := func(k string) string {
		if k == "XIAOBAO_BOOTSTRAP_KEY" {
			return key
		}
		return ""
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stdout := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"xiaobao", "demo", "--addr", "127.0.0.1:0", "--data", dir,
			"--customers", "400", "--history-days", "4", "--speed", "20000", "--scam-rate", "40", "--seed", "3"},
			getenv, strings.NewReader(""), stdout, io.Discard)
	}()
	base := ""
	deadline := time.Now().Add(2 * time.Minute)
	for base == "" || !strings.Contains(stdout.String(), "live now") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo did not go live:\n%s", stdout.String())
		}
		select {
		case err := <-done:
			t.Fatalf("demo stopped: %v\n%s", err, stdout.String())
		case <-time.After(100 * time.Millisecond):
		}
		if base == "" {
			for _, line := range strings.Split(stdout.String(), "\n") {
				if f := strings.Fields(line); len(f) >= 2 && f[0] == "API" && strings.HasPrefix(f[1], "http") {
					base = f[1]
				}
			}
		}
	}
	time.Sleep(2 * time.Second) // live traffic and outcomes

	var answers bytes.Buffer
	var mu sync.Mutex
	post := func(path, body string) {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode < 400 {
			t.Errorf("POST %s %s: status %d, want a problem", path, body, resp.StatusCode)
		}
		mu.Lock()
		answers.Write(b)
		answers.WriteByte('\n')
		mu.Unlock()
	}
	// Personal data in places it does not belong: the answers must name the
	// field and the reason without echoing the value.
	post("/v1/events", `{"event_id":"pii-1","type":"13812345678","occurred_at":"2026-05-01T10:00:00+08:00","customer":{"id":"c1"}}`)
	post("/v1/events", `{"event_id":"pii-2","type":"transfer","occurred_at":"2026-05-01T10:00:00+08:00","customer":{"id":"c1"},"amount":"6222021234567890123","counterparty":{"account":"6222021234567890128"}}`)
	post("/v1/events", `{"event_id":"pii-3","type":"transfer","occurred_at":"2026-05-01 10:00 110101199003074514","customer":{"id":"c1"},"amount":"1.00","counterparty":{"account":"x"}}`)
	post("/v1/events", `{"event_id":"pii-4","type":"transfer","occurred_at":"2026-05-01T10:00:00+08:00","customer":{"id":"c1","age":"张伟 13912345678"},"amount":"1.00","counterparty":{"account":"x"}}`)
	post("/v1/lists", `{"list":"block","kind":"phone","value":"13812345678","reason":"","expires_at":"110101199003074514"}`)
	post("/v1/decisions/dec_13812345678/outcome", `{"outcome":"confirmed_fraud"}`)

	req, _ := http.NewRequest("GET", base+"/metrics", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !bytes.Contains(metrics, []byte("xiaobao_decisions_total")) {
		t.Fatalf("metrics lack decisions:\n%.2000s", metrics)
	}

	cancel()
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the demo did not stop")
	}
	logs, err := os.ReadFile(filepath.Join(dir, "xiaobao.log"))
	if err != nil {
		t.Fatal(err)
	}
	if len(logs) == 0 {
		t.Fatal("the server logged nothing")
	}
	for name, text := range map[string][]byte{"server log": logs, "metrics": metrics, "problem answers": answers.Bytes()} {
		for i, line := range strings.Split(string(text), "\n") {
			for _, f := range pii.Scan(line) {
				if raw := line[f.Start:f.End]; f.Type == pii.IP && strings.HasPrefix(raw, "127.0.0.1") {
					continue
				}
				t.Errorf("%s line %d holds %s %s: %.300s", name, i+1, f.Type, f.Masked, line)
			}
		}
	}
}
