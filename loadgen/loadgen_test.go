package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/sim"
)

func simBodies(t *testing.T, n int) [][]byte {
	t.Helper()
	s := sim.New(sim.Config{Seed: 1, Customers: 500, Days: 30})
	var out [][]byte
	for range n {
		it, ok := s.Next()
		if !ok {
			t.Fatal("simulation ended")
		}
		out = append(out, it.Event)
	}
	return out
}

func checkSane(t *testing.T, r Result, d time.Duration) {
	t.Helper()
	t.Logf("\n%s", r)
	if r.Requests == 0 || r.Errors != 0 || r.Status[200] != r.Requests {
		t.Fatalf("requests %d, errors %d, status %v", r.Requests, r.Errors, r.Status)
	}
	// Open loop, the run ends with the last request due before the end.
	if r.Duration < d-50*time.Millisecond || r.Duration > d+3*time.Second {
		t.Fatalf("duration %v for a %v run", r.Duration, d)
	}
	if !(0 < r.P50 && r.P50 <= r.P95 && r.P95 <= r.P99 && r.P99 <= r.Max) {
		t.Fatalf("percentiles out of order: %v %v %v %v", r.P50, r.P95, r.P99, r.Max)
	}
	if r.P50 > time.Second {
		t.Fatalf("p50 %v against a local bare handler", r.P50)
	}
	if r.Histogram.Count() != int64(r.Requests) {
		t.Fatalf("histogram has %d values for %d requests", r.Histogram.Count(), r.Requests)
	}
	want := float64(r.Requests) / r.Duration.Seconds()
	if math.Abs(r.Throughput-want) > 1e-6*want {
		t.Fatalf("throughput %f, want %f", r.Throughput, want)
	}
	if !strings.Contains(r.String(), "p99") || !strings.Contains(r.String(), "200=") {
		t.Fatalf("String:\n%s", r)
	}
}

func TestClosedLoopAgainstBare(t *testing.T) {
	url, stop, err := ServeBare("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	r, err := Run(context.Background(), Config{URL: url, Connections: 4, Duration: time.Second, Source: Cycle(simBodies(t, 2000))})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, r, time.Second)
	if r.Requests < 20 {
		t.Fatalf("only %d requests in a second", r.Requests)
	}
}

func TestOpenLoopRate(t *testing.T) {
	url, stop, err := ServeBare("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	const rate = 400.0
	r, err := Run(context.Background(), Config{URL: url, Connections: 8, Duration: time.Second, Rate: rate, Source: Cycle(simBodies(t, 100))})
	if err != nil {
		t.Fatal(err)
	}
	checkSane(t, r, time.Second)
	if r.Requests+r.Missed < int(rate*0.95) || r.Requests > int(rate)+1 {
		t.Fatalf("%d requests (%d missed) at %v/s for 1s", r.Requests, r.Missed, rate)
	}
}

// An open-loop run against a slow server charges the queueing delay: the
// latency is measured from when each request was due.
func TestOpenLoopCoordinatedOmission(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	// One connection can do 50/s; ask for 100/s for a second.
	r, err := Run(context.Background(), Config{URL: srv.URL, Connections: 1, Duration: time.Second, Rate: 100, Source: Cycle([][]byte{[]byte(`{}`)})})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r)
	if r.Missed < 20 {
		t.Fatalf("missed %d, want about 50", r.Missed)
	}
	if r.P99 < 200*time.Millisecond {
		t.Fatalf("p99 %v: the queueing delay was not charged", r.P99)
	}
}

func TestErrorsAndKey(t *testing.T) {
	var auth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		if r.URL.Path != "/custom" || r.Method != http.MethodPost {
			w.WriteHeader(http.StatusNotFound)
			return
		}
		var v map[string]any
		if json.NewDecoder(r.Body).Decode(&v) != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	bodies := [][]byte{[]byte(`{"ok":1}`), []byte(`not json`)}
	r, err := Run(context.Background(), Config{URL: srv.URL + "/", Key: "xb_secret", Path: "/custom", Connections: 2,
		Duration: 300 * time.Millisecond, Source: Cycle(bodies)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", r)
	if got := auth.Load(); got != "Bearer xb_secret" {
		t.Fatalf("Authorization %q", got)
	}
	if r.Status[200] == 0 || r.Status[400] == 0 || r.Errors != r.Status[400] || r.Requests != r.Status[200]+r.Status[400] {
		t.Fatalf("status %v, errors %d, requests %d", r.Status, r.Errors, r.Requests)
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	r, err := Run(context.Background(), Config{URL: url, Connections: 2, Duration: 200 * time.Millisecond, Rate: 50,
		Source: Cycle([][]byte{[]byte(`{}`)})})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests == 0 || r.Errors != r.Requests || r.Status[0] != r.Requests {
		t.Fatalf("%+v", r)
	}
}

func TestSourceRunsDry(t *testing.T) {
	url, stop, err := ServeBare("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	s := sim.New(sim.Config{Seed: 2, Customers: 50, Days: 2})
	n := 0
	src := SimSource(s)
	count := func() []byte {
		b := src()
		if b != nil {
			n++
		}
		return b
	}
	began := time.Now()
	r, err := Run(context.Background(), Config{URL: url, Connections: 3, Duration: time.Minute, Source: count})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(began) > 30*time.Second {
		t.Fatal("the run did not stop when the source ran dry")
	}
	if r.Requests != n || r.Errors != 0 || n < 100 {
		t.Fatalf("sent %d, requests %d, errors %d", n, r.Requests, r.Errors)
	}
}

func TestBadConfig(t *testing.T) {
	src := Cycle([][]byte{[]byte(`{}`)})
	for _, cfg := range []Config{
		{URL: "http://127.0.0.1:1", Duration: time.Second},
		{URL: "http://127.0.0.1:1", Source: src},
		{URL: "ftp://x", Duration: time.Second, Source: src},
		{URL: "http://127.0.0.1:1", Duration: time.Second, Source: src, Rate: -1},
	} {
		if _, err := Run(context.Background(), cfg); err == nil {
			t.Errorf("no error for %+v", cfg)
		}
	}
}

func TestBareHandler(t *testing.T) {
	h := BareHandler()
	body := simBodies(t, 1)[0]
	var ev map[string]any
	json.Unmarshal(body, &ev)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(body)))
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var d map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"decision_id", "event_id", "action", "score", "typology", "reasons"} {
		if _, ok := d[k]; !ok {
			t.Errorf("decision has no %s: %s", k, rec.Body)
		}
	}
	if d["event_id"] != ev["event_id"] || d["action"] != "allow" {
		t.Errorf("decision %s for event %s", rec.Body, body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(`{"event_id":`)))
	if rec.Code != 400 || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
		t.Errorf("bad JSON: %d %s", rec.Code, rec.Header())
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/v1/events", bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20))))
	if rec.Code != 413 {
		t.Errorf("oversized body: %d", rec.Code)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/v1/events", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", rec.Code)
	}
}
