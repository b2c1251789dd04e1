// Package loadgen drives a running Guard server (or any HTTP endpoint
// taking one JSON document per POST) over HTTP and measures it: requests,
// status codes, throughput and the latency distribution.
//
// It runs closed-loop (each connection sends its next request as soon as
// the previous one is answered: the most the server can do) or open-loop at
// a fixed rate, where latency is measured from when each request was due,
// not from when it was sent, so a server that falls behind is charged for
// the queue it causes (no coordinated omission).
//
// The generator is kept cheap because it shares the machine with the
// server: one http.Transport with keep-alive connections, one reused body
// reader and header per connection, RoundTrip without the http.Client
// layer, and per-connection histograms merged at the end.
package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"
)

// Config says what to send where.
type Config struct {
	URL         string // base URL of the server, e.g. http://127.0.0.1:8080
	Key         string // API key, sent as "Authorization: Bearer <Key>" if not empty
	Connections int    // concurrent connections; default 8
	Duration    time.Duration
	// Rate is the open-loop request rate per second; 0 sends as fast as
	// the connections allow (closed loop).
	Rate float64
	// Source returns the next request body. Calls are serialised, so it
	// need not be safe for concurrent use. A nil body ends the run early.
	// The run never modifies a body; Source must not change one it has
	// returned either (the transport may still be reading it briefly
	// after the answer came).
	Source func() []byte
	Path   string // default /v1/events
	// Timeout bounds one request; default 10s. A timeout counts as an
	// error.
	Timeout time.Duration
}

// Result is what a run measured.
type Result struct {
	// Requests counts requests that ended (answered or failed); Errors
	// those without a 2xx answer (failures and non-2xx statuses).
	Requests, Errors int
	// Status counts answers by HTTP status; failures without an answer
	// (connection refused, timeout) count under 0.
	Status map[int]int
	// Duration is from the first request to the end of the last.
	Duration time.Duration
	// Throughput is 2xx answers per second of Duration.
	Throughput float64
	// Latency quantiles of answered requests (any status). Open loop, they
	// are measured from when a request was due.
	P50, P95, P99, Max time.Duration
	Mean               time.Duration
	// Missed counts open-loop requests that were due before the end but
	// were never sent because every connection was busy: the server could
	// not keep up with Rate.
	Missed int
	// Histogram holds every latency recorded.
	Histogram *Histogram
}

// Run sends requests until cfg.Duration has passed, ctx is done or the
// source runs dry, then waits for the requests in flight and returns what
// it measured. It returns an error only for a bad Config.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Source == nil {
		return Result{}, errors.New("loadgen: Config.Source is nil")
	}
	if cfg.Duration <= 0 {
		return Result{}, errors.New("loadgen: Config.Duration must be positive")
	}
	if cfg.Rate < 0 || math.IsNaN(cfg.Rate) || math.IsInf(cfg.Rate, 0) {
		return Result{}, errors.New("loadgen: Config.Rate must be 0 (closed loop) or a positive rate")
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 8
	}
	if cfg.Path == "" {
		cfg.Path = "/v1/events"
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	target := strings.TrimSuffix(cfg.URL, "/") + cfg.Path
	probe, err := http.NewRequest(http.MethodPost, target, nil)
	if err != nil {
		return Result{}, fmt.Errorf("loadgen: bad URL: %w", err)
	}
	if probe.URL.Scheme != "http" && probe.URL.Scheme != "https" {
		return Result{}, fmt.Errorf("loadgen: URL %q is not http or https", cfg.URL)
	}

	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: the targets are local
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        cfg.Connections,
		MaxIdleConnsPerHost: cfg.Connections,
		MaxConnsPerHost:     cfg.Connections,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	defer tr.CloseIdleConnections()

	var srcMu sync.Mutex
	next := func() []byte {
		srcMu.Lock()
		defer srcMu.Unlock()
		return cfg.Source()
	}

	// dry is closed when the source runs dry: connections stop taking new
	// work, and the requests in flight finish and count.
	dry := make(chan struct{})
	var dryOnce sync.Once
	stopped := func() bool {
		select {
		case <-dry:
			return true
		default:
			return ctx.Err() != nil
		}
	}
	start := time.Now()
	deadline := start.Add(cfg.Duration)
	var tickets atomic.Int64
	var interval time.Duration
	if cfg.Rate > 0 {
		interval = time.Duration(float64(time.Second) / cfg.Rate)
	}

	workers := make([]*worker, cfg.Connections)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{
			tr:     tr,
			url:    probe.URL,
			status: map[int]int{},
			body:   newBody(),
			hdr:    http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}},
		}
		if cfg.Key != "" {
			w.hdr.Set("Authorization", "Bearer "+cfg.Key)
		}
		workers[i] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stopped() {
				due := time.Now()
				if interval > 0 {
					n := tickets.Add(1) - 1
					due = start.Add(time.Duration(n) * interval)
					if !due.Before(deadline) {
						return
					}
					if d := time.Until(due); d > 0 {
						t := time.NewTimer(d)
						select {
						case <-t.C:
						case <-ctx.Done():
							t.Stop()
							return
						case <-dry:
							t.Stop()
							return
						}
					}
				}
				if !time.Now().Before(deadline) {
					return
				}
				body := next()
				if body == nil {
					dryOnce.Do(func() { close(dry) })
					return
				}
				if interval == 0 {
					due = time.Now()
				}
				w.do(ctx, body, due, cfg.Timeout)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	res := Result{Status: map[int]int{}, Duration: elapsed, Histogram: &Histogram{}}
	for _, w := range workers {
		res.Requests += w.requests
		res.Errors += w.errors
		for k, v := range w.status {
			res.Status[k] += v
		}
		res.Histogram.Merge(&w.hist)
	}
	h := res.Histogram
	res.P50, res.P95, res.P99 = h.Quantile(0.50), h.Quantile(0.95), h.Quantile(0.99)
	res.Max, res.Mean = h.Max(), h.Mean()
	if elapsed > 0 {
		res.Throughput = float64(res.Requests-res.Errors) / elapsed.Seconds()
	}
	if cfg.Rate > 0 {
		due := int(math.Ceil(cfg.Rate * min(elapsed, cfg.Duration).Seconds()))
		res.Missed = max(0, due-res.Requests)
	}
	return res, nil
}

// worker is one connection's loop state.
type worker struct {
	tr     *http.Transport
	url    *url.URL
	hdr    http.Header
	body   *body
	hist   Histogram
	status map[int]int

	requests, errors int
}

// body is a request body reused from one request to the next. The
// transport may close a request's body after RoundTrip returns (it writes
// the body from another goroutine), so the next request waits for the
// Close of the previous one before reusing the reader.
type body struct {
	bytes.Reader
	closed chan struct{}
	inUse  bool
}

func newBody() *body { return &body{closed: make(chan struct{}, 1)} }

func (b *body) Close() error {
	select {
	case b.closed <- struct{}{}:
	default:
	}
	return nil
}

// reuse returns a body holding p: this one once the transport is done with
// it, or a new one if it does not let go within a second.
func (b *body) reuse(p []byte) *body {
	if b.inUse {
		select {
		case <-b.closed:
		default:
			t := time.NewTimer(time.Second)
			select {
			case <-b.closed:
			case <-t.C:
				b = newBody()
			}
			t.Stop()
		}
	}
	b.inUse = true
	b.Reset(p)
	return b
}

// do sends one request and records it. Latency runs from due (the time the
// request was scheduled for; now, closed loop) to the end of the body.
func (w *worker) do(ctx context.Context, body []byte, due time.Time, timeout time.Duration) {
	w.body = w.body.reuse(body)
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req := (&http.Request{
		Method:        http.MethodPost,
		URL:           w.url,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        w.hdr,
		Body:          w.body,
		ContentLength: int64(len(body)),
		Host:          w.url.Host,
	}).WithContext(rctx)
	resp, err := w.tr.RoundTrip(req)
	if err != nil {
		if ctx.Err() != nil {
			return // the run was stopped: not the server's failure
		}
		w.requests++
		w.errors++
		w.status[0]++
		return
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil && ctx.Err() != nil {
		return
	}
	w.hist.Record(time.Since(due))
	w.requests++
	w.status[resp.StatusCode]++
	if err != nil || resp.StatusCode < 200 || resp.StatusCode > 299 {
		w.errors++
	}
}

// String prints the result as a small table.
func (r Result) String() string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "requests\terrors\tduration\tthroughput\t\n")
	fmt.Fprintf(tw, "%d\t%d\t%s\t%.1f/s\t\n", r.Requests, r.Errors, r.Duration.Round(time.Millisecond), r.Throughput)
	tw.Flush()
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "p50\tp95\tp99\tmax\tmean\t\n")
	fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t\n", fmtDur(r.P50), fmtDur(r.P95), fmtDur(r.P99), fmtDur(r.Max), fmtDur(r.Mean))
	tw.Flush()
	codes := make([]int, 0, len(r.Status))
	for c := range r.Status {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	b.WriteString("status")
	for _, c := range codes {
		if c == 0 {
			fmt.Fprintf(&b, "  failed=%d", r.Status[c])
		} else {
			fmt.Fprintf(&b, "  %d=%d", c, r.Status[c])
		}
	}
	b.WriteByte('\n')
	if r.Missed > 0 {
		fmt.Fprintf(&b, "missed %d requests due before the end (the server fell behind the rate)\n", r.Missed)
	}
	return b.String()
}

// fmtDur rounds a duration to 3 significant digits.
func fmtDur(d time.Duration) string {
	switch {
	case d >= 10*time.Second:
		return d.Round(10 * time.Millisecond).String()
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= 100*time.Millisecond:
		return d.Round(100 * time.Microsecond).String()
	case d >= 10*time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	case d >= time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d >= 100*time.Microsecond:
		return d.Round(100 * time.Nanosecond).String()
	case d >= 10*time.Microsecond:
		return d.Round(10 * time.Nanosecond).String()
	}
	return d.String()
}
