package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

func TestWebhookFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		ok   bool
	}{
		{[]string{"--webhook", "payments=https://pay.example.com/hooks"}, true},
		{[]string{"--webhook", "payments=https://a.example/", "--webhook", "sms=https://b.example/"}, true},
		{[]string{"--webhook", "payments=https://a.example/", "--webhook", "payments=https://b.example/"}, false},
		{[]string{"--webhook", "https://pay.example.com/hooks"}, false},
		{[]string{"--webhook", "Payments=https://a.example/"}, false},
		{[]string{"--webhook", "payments="}, false},
	} {
		f, err := parseServeFlags(tc.args, &strings.Builder{})
		if (err == nil) != tc.ok {
			t.Errorf("parseServeFlags(%q) = %v", tc.args, err)
		}
		if err == nil && len(f.webhooks) != len(tc.args)/2 {
			t.Errorf("parseServeFlags(%q): webhooks %v", tc.args, f.webhooks)
		}
	}
}

func TestWebhookSecrets(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("whsec_from_a_file_0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		sink string
		want []string // nil: an error
	}{
		{"shared", map[string]string{"XIAOBAO_WEBHOOK_SECRET": "s1"}, "payments", []string{"s1"}},
		{"per sink wins", map[string]string{"XIAOBAO_WEBHOOK_SECRET": "s1", "XIAOBAO_WEBHOOK_SECRET_PAYMENTS": "s2"}, "payments", []string{"s2"}},
		{"other sink falls back", map[string]string{"XIAOBAO_WEBHOOK_SECRET": "s1", "XIAOBAO_WEBHOOK_SECRET_PAYMENTS": "s2"}, "sms", []string{"s1"}},
		{"rotation", map[string]string{"XIAOBAO_WEBHOOK_SECRET": " new , old "}, "payments", []string{"new", "old"}},
		{"file", map[string]string{"XIAOBAO_WEBHOOK_SECRET_FILE": file}, "payments", []string{"whsec_from_a_file_0123456789"}},
		{"sink with a dash", map[string]string{"XIAOBAO_WEBHOOK_SECRET_APP_PUSH": "s3"}, "app-push", []string{"s3"}},
		{"both value and file", map[string]string{"XIAOBAO_WEBHOOK_SECRET": "s1", "XIAOBAO_WEBHOOK_SECRET_FILE": file}, "payments", nil},
		{"missing file", map[string]string{"XIAOBAO_WEBHOOK_SECRET_FILE": file + ".missing"}, "payments", nil},
		{"none", nil, "payments", nil},
	} {
		got, err := webhookSecrets(func(k string) string { return tc.env[k] }, tc.sink)
		if tc.want == nil {
			if err == nil {
				t.Errorf("%s: %v, want an error", tc.name, got)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// TestServeDeliversOutbox runs serve with --outbox-dir and checks that a
// message committed to its store reaches the file sender: the dispatcher
// is wired to the job queue and the store.
func TestServeDeliversOutbox(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "outbox")
	in := startServe(t, dir, "--outbox-dir", out)
	defer in.stop()

	db, err := sqlite.Open(context.Background(), filepath.Join(dir, "xiaobao.db"))
	if err != nil {
		t.Fatal(err)
	}
	msg := outbox.Message{ID: "msg_e2e", Sink: "sms", Topic: "customer.notify", Key: "case_1",
		Payload: json.RawMessage(`{"text":"您的转账已暂缓，请接听来电"}`), CreatedAt: time.Now().UTC()}
	err = db.AppendOutbox(context.Background(), []outbox.Message{msg})
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if ids := fileIDs(t, filepath.Join(out, "sms.ndjson")); slices.Contains(ids, "msg_e2e") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("message not delivered to %s\nlogs:\n%s", out, in.logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func fileIDs(t *testing.T, path string) []string {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var env outbox.Envelope
		if json.Unmarshal(sc.Bytes(), &env) == nil {
			ids = append(ids, env.ID)
		}
	}
	return ids
}
