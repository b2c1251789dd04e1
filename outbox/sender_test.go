package outbox_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/outbox"
)

func TestWebhookStatus(t *testing.T) {
	t.Parallel()
	clock := xiaobao.NewManualClock(t0)
	for _, tc := range []struct {
		code       int
		retryAfter string
		permanent  bool // else retried, or delivered if ok
		ok         bool
		wait       time.Duration
	}{
		{code: 200, ok: true},
		{code: 202, ok: true},
		{code: 204, ok: true},
		{code: 301},
		{code: 400, permanent: true},
		{code: 401},
		{code: 403},
		{code: 404, permanent: true},
		{code: 408},
		{code: 409, permanent: true},
		{code: 410, permanent: true},
		{code: 422, permanent: true},
		{code: 429},
		{code: 429, retryAfter: "30", wait: 30 * time.Second},
		{code: 429, retryAfter: "Wed, 21 Oct 2015 07:28:00 GMT"},
		{code: 500},
		{code: 502},
		{code: 503, retryAfter: "5", wait: 5 * time.Second},
	} {
		t.Run(strconv.Itoa(tc.code)+tc.retryAfter, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				if tc.code == 301 {
					w.Header().Set("Location", "https://elsewhere.example/")
				}
				w.WriteHeader(tc.code)
			}))
			defer srv.Close()
			s, err := outbox.NewWebhookSender(srv.URL, []string{secretNew}, clock)
			if err != nil {
				t.Fatal(err)
			}
			err = s.Send(t.Context(), outbox.Delivery{Message: message(1, ""), Attempt: 1})
			switch {
			case tc.ok:
				if err != nil {
					t.Errorf("Send = %v, want delivered", err)
				}
			case err == nil:
				t.Errorf("Send delivered")
			case outbox.IsPermanent(err) != tc.permanent:
				t.Errorf("Send = %v, permanent %v; want permanent %v", err, outbox.IsPermanent(err), tc.permanent)
			}
			if got := outbox.RetryDelay(err); got != tc.wait {
				t.Errorf("RetryDelay = %v, want %v", got, tc.wait)
			}
		})
	}
}

func TestWebhookSigned(t *testing.T) {
	t.Parallel()
	clock := xiaobao.NewManualClock(t0)
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}))
	defer srv.Close()
	s, err := outbox.NewWebhookSender(srv.URL, []string{secretNew, secretOld}, clock)
	if err != nil {
		t.Fatal(err)
	}
	m := message(7, "case_7")
	m.Payload = json.RawMessage("{\n  \"hold_id\": \"hld_7\"\n}")
	if err := s.Send(t.Context(), outbox.Delivery{Message: m, Attempt: 3}); err != nil {
		t.Fatal(err)
	}
	for _, secrets := range [][]string{{secretNew}, {secretOld}} {
		if err := outbox.Verify(secrets, got.Header.Get(outbox.SignatureHeader), body, t0, outbox.DefaultTolerance); err != nil {
			t.Errorf("Verify with %v: %v", secrets, err)
		}
	}
	want := `{"id":"msg_7","topic":"hold.released","key":"case_7","created_at":"2026-05-01T09:00:00Z","data":{"hold_id":"hld_7"}}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	if got.Header.Get(outbox.IDHeader) != "msg_7" || got.Header.Get(outbox.AttemptHeader) != "3" {
		t.Errorf("headers %v", got.Header)
	}
}

func TestNewWebhookSender(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url     string
		secrets []string
		ok      bool
	}{
		{"https://pay.example.com/hooks", []string{secretNew}, true},
		{"http://127.0.0.1:8080/hooks", []string{secretNew}, true},
		{"http://[::1]:8080/hooks", []string{secretNew}, true},
		{"http://localhost/hooks", []string{secretNew}, true},
		{"http://pay.example.com/hooks", []string{secretNew}, false}, // personal data in clear
		{"ftp://pay.example.com/", []string{secretNew}, false},
		{"/hooks", []string{secretNew}, false},
		{"https://pay.example.com/hooks", nil, false},
		{"https://pay.example.com/hooks", []string{"short"}, false},
	} {
		_, err := outbox.NewWebhookSender(tc.url, tc.secrets, nil)
		if (err == nil) != tc.ok {
			t.Errorf("NewWebhookSender(%q, %d secrets) = %v", tc.url, len(tc.secrets), err)
		}
	}
}

func TestFileSender(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := outbox.NewFileSender(dir + "/outbox")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for n := 1; n <= 3; n++ {
		m := message(n, "")
		m.Sink, m.Topic = "sms", "customer.notify"
		if err := s.Send(ctx, outbox.Delivery{Message: m, Attempt: 1}); err != nil {
			t.Fatal(err)
		}
	}
	bad := message(4, "")
	bad.Sink = "../etc"
	if err := s.Send(ctx, outbox.Delivery{Message: bad}); !outbox.IsPermanent(err) {
		t.Errorf("sink %q: %v, want a permanent failure", bad.Sink, err)
	}
	f, err := os.Open(s.Path("sms"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var env outbox.Envelope
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		ids = append(ids, env.ID)
	}
	if len(ids) != 3 || ids[0] != "msg_1" || ids[2] != "msg_3" {
		t.Errorf("lines of ids %v", ids)
	}
}

// TestReceiver checks the reference receiver's answers, which the
// webhook sender's retry rules are built around.
func TestReceiver(t *testing.T) {
	t.Parallel()
	clock := xiaobao.NewManualClock(t0)
	acted := 0
	fail := true
	h := outbox.Receiver([]string{secretNew}, outbox.DefaultTolerance, clock, outbox.NewMemoryDedup(),
		func(context.Context, outbox.Envelope) error {
			if fail {
				fail = false
				return errors.New("database down")
			}
			acted++
			return nil
		})
	body, _ := outbox.EncodeEnvelope(&outbox.Message{ID: "msg_1", Topic: "hold.released", CreatedAt: t0, Payload: json.RawMessage(`{}`)})
	post := func(header string, body []byte) int {
		r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		r.Header.Set(outbox.SignatureHeader, header)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code
	}
	for _, tc := range []struct {
		name   string
		header string
		body   []byte
		want   int
		acted  int
	}{
		{"wrong secret", outbox.Sign([]string{secretOld}, t0, body), body, 401, 0},
		{"stale", outbox.Sign([]string{secretNew}, t0.Add(-time.Hour), body), body, 408, 0},
		{"not an envelope", outbox.Sign([]string{secretNew}, t0, []byte(`[1]`)), []byte(`[1]`), 400, 0},
		{"action fails", outbox.Sign([]string{secretNew}, t0, body), body, 500, 0},
		{"acts", outbox.Sign([]string{secretNew}, t0, body), body, 200, 1},
		{"redelivery", outbox.Sign([]string{secretNew}, t0.Add(time.Minute), body), body, 200, 1},
	} {
		if got := post(tc.header, tc.body); got != tc.want || acted != tc.acted {
			t.Errorf("%s: %d, acted %d times; want %d, %d", tc.name, got, acted, tc.want, tc.acted)
		}
	}
}

func TestBackoff(t *testing.T) {
	t.Parallel()
	d, err := outbox.NewDispatcher(outbox.Config{Store: nilStore{}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n        int
		min, max time.Duration
	}{
		{1, 5 * time.Second, 10 * time.Second},
		{2, 10 * time.Second, 20 * time.Second},
		{5, 80 * time.Second, 160 * time.Second},
		{12, time.Hour, 2 * time.Hour},
		{100, time.Hour, 2 * time.Hour},
	} {
		for range 50 {
			if b := d.Backoff(tc.n); b < tc.min || b > tc.max {
				t.Fatalf("Backoff(%d) = %v, want within [%v, %v]", tc.n, b, tc.min, tc.max)
			}
		}
	}
}

// nilStore is a Store for a dispatcher that never dispatches.
type nilStore struct{ outbox.Store }
