package http

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/xiaobao-org/xiaobao/auth"
)

// benchEvent is a typical event of about 450 bytes; the zeros after
// "bench-" and "cust-" are overwritten with each iteration's numbers.
const benchEvent = `{"event_id":"bench-000000000000","type":"transfer","occurred_at":"2026-01-02T03:04:05.123+08:00",` +
	`"customer":{"id":"cust-0000","age":67,"registered_at":"2019-05-06T10:00:00+08:00","phone":"13800138000"},` +
	`"device":{"id":"dev-9f8e7d6c5b4a3f2e","ip":"203.0.113.45"},` +
	`"amount":"5000.00","currency":"CNY",` +
	`"counterparty":{"account":"6222020200112233445","name":"张三"},` +
	`"memo":"货款 for order 88231","channel":"app"}`

// benchBody is a reusable request body holding benchEvent.
type benchBody struct {
	b  []byte
	rd bytes.Reader
	id int // offset of the event id digits
	cu int // offset of the customer id digits
}

func newBenchBody() *benchBody {
	b := []byte(benchEvent)
	return &benchBody{b: b, id: bytes.Index(b, []byte("bench-")) + 6, cu: bytes.Index(b, []byte("cust-")) + 5}
}

// set writes event number n (customer n mod 10000) and rewinds the reader.
func (bb *benchBody) set(n int64) {
	putDigits(bb.b[bb.id:bb.id+12], n)
	putDigits(bb.b[bb.cu:bb.cu+4], n%10000)
	bb.rd.Reset(bb.b)
}

func putDigits(dst []byte, n int64) {
	for i := len(dst) - 1; i >= 0; i-- {
		dst[i] = byte('0' + n%10)
		n /= 10
	}
}

func (bb *benchBody) Read(p []byte) (int, error) { return bb.rd.Read(p) }
func (bb *benchBody) Close() error               { return nil }

// benchWriter is the cheapest possible ResponseWriter, so the benchmark
// measures the server and not a recorder.
type benchWriter struct {
	h    http.Header
	code int
	n    int
}

func (w *benchWriter) Header() http.Header { return w.h }
func (w *benchWriter) WriteHeader(c int)   { w.code = c }
func (w *benchWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = 200
	}
	w.n += len(p)
	return len(p), nil
}

func benchSetup(b *testing.B) *fixture {
	f := setup(b)
	// Log requests as production does, to nowhere.
	f.srv.log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	return f
}

// BenchmarkPostEvent serves POST /v1/events in-process, one request at a
// time: auth (cached), read, decode, decide, group commit to SQLite (one
// commit per request, as nothing else is queued), encode, log, metrics.
func BenchmarkPostEvent(b *testing.B) {
	f := benchSetup(b)
	bb := newBenchBody()
	req := httptest.NewRequest("POST", "/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	req.Header.Set("Content-Type", "application/json")
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		bb.set(int64(i))
		req.Body, req.ContentLength = bb, int64(len(bb.b))
		clear(w.h)
		w.code = 0
		f.srv.ServeHTTP(w, req)
		if w.code != 200 {
			b.Fatalf("status %d", w.code)
		}
	}
}

// BenchmarkPostEventParallel is BenchmarkPostEvent from GOMAXPROCS
// goroutines: the group commit makes many decisions durable per SQLite
// transaction.
func BenchmarkPostEventParallel(b *testing.B) {
	f := benchSetup(b)
	var next atomic.Int64
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bb := newBenchBody()
		req := httptest.NewRequest("POST", "/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+f.admin)
		w := &benchWriter{h: http.Header{}}
		for pb.Next() {
			bb.set(next.Add(1))
			req.Body, req.ContentLength = bb, int64(len(bb.b))
			clear(w.h)
			w.code = 0
			f.srv.ServeHTTP(w, req)
			if w.code != 200 {
				b.Errorf("status %d", w.code)
				return
			}
		}
	})
}

// BenchmarkPostEventHTTP goes through a real listener and HTTP/1.1 client
// with keep-alive, from several goroutines.
func BenchmarkPostEventHTTP(b *testing.B) {
	f := benchSetup(b)
	ts := httptest.NewServer(f.srv)
	defer ts.Close()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	var next atomic.Int64
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		bb := newBenchBody()
		for pb.Next() {
			bb.set(next.Add(1))
			req, _ := http.NewRequest("POST", ts.URL+"/v1/events", bytes.NewReader(bb.b))
			req.Header.Set("Authorization", "Bearer "+f.admin)
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
}

// BenchmarkMiddleware measures what the HTTP layer adds to every event
// request, without Guard: load-shedding count, cached key lookup, scope
// check, metrics and the JSON request log line.
func BenchmarkMiddleware(b *testing.B) {
	f := benchSetup(b)
	h := f.srv.wrap(route{Method: "POST", Path: "/bench", Scope: "events:write", Shed: true,
		handle: func(w http.ResponseWriter, r *http.Request, _ *auth.Key) { w.WriteHeader(http.StatusNoContent) }})
	req := httptest.NewRequest("POST", "/bench", nil)
	req.Header.Set("Authorization", "Bearer "+f.admin)
	w := &benchWriter{h: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.code = 0
		h.ServeHTTP(w, req)
		if w.code != http.StatusNoContent {
			b.Fatalf("status %d", w.code)
		}
	}
}
