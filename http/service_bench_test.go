package http

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/loadgen"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/sessionlog"
	"github.com/xiaobao-org/xiaobao/sqlite"
)

// serviceBenchTexts are the utterances of the load: the starter FAQ's
// questions (most traffic), and the hand-written scam, look-alike,
// complaint and vulnerable sets of package service, so warnings and
// routing run on every kind of text.
func serviceBenchTexts(b *testing.B) (faqs, other []string) {
	for _, e := range faq.Starter() {
		faqs = append(faqs, e.Questions...)
	}
	for _, name := range []string{"warn_scam.txt", "warn_lookalike.txt", "warn_complaint.txt", "warn_vulnerable.txt"} {
		f, err := os.Open(filepath.Join("..", "service", "testdata", name))
		if err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if _, text, ok := strings.Cut(line, "\t"); ok {
				line = text
			}
			other = append(other, line)
		}
		f.Close()
	}
	return faqs, other
}

// BenchmarkServiceAskLoad measures POST /v1/service/ask end to end over
// real HTTP at a fixed open-loop rate (default 1,000 asks/s for 10 s;
// XIAOBAO_BENCH_RATE and XIAOBAO_BENCH_SECONDS change them; rate 0 is
// closed loop, the most the server can do), with the
// starter FAQ, warnings, predictions from Guard history, routing to
// agents and sessions stored in SQLite. Each simulated customer session
// has four turns; a fifth of the texts are scam, look-alike, complaint or
// vulnerable utterances. Latency is measured from when each request was
// due (no coordinated omission). Run it alone:
//
//	go test -run '^$' -bench ServiceAskLoad -benchtime 1x ./http/
func BenchmarkServiceAskLoad(b *testing.B) {
	rate, seconds := 1000.0, 10
	if v := os.Getenv("XIAOBAO_BENCH_RATE"); v != "" {
		fmt.Sscan(v, &rate)
	}
	if v := os.Getenv("XIAOBAO_BENCH_SECONDS"); v != "" {
		fmt.Sscan(v, &seconds)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "x.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	g, err := guard.Open(ctx, guard.Config{Store: db, SnapshotInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	base := faq.NewBase(faq.Options{})
	if err := base.Upsert(faq.Starter()...); err != nil {
		b.Fatal(err)
	}
	jnl, err := sessionlog.Open(filepath.Join(b.TempDir(), "service-log"), sessionlog.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer jnl.Close()
	sv, err := service.Open(ctx, service.Config{Store: db, Answer: service.FAQAnswers(base), Normalize: faq.Normalize,
		History: service.GuardHistory(g), Flag: g.Flag, Journal: jnl})
	if err != nil {
		b.Fatal(err)
	}
	defer sv.Close()
	for i, skills := range [][]string{{"fraud"}, {"fraud", "disputes"}, {"general", "repayment"}, {"general"}, {"elderly_care"}, {"repayment", "disputes"}} {
		if _, err := sv.PutAgent(ctx, &service.Agent{ID: fmt.Sprintf("agent-%d", i), Skills: skills, Presence: service.Online, Capacity: 5}); err != nil {
			b.Fatal(err)
		}
	}
	srv := newServer(Config{Guard: g, Keys: db, Service: sv, FAQ: base})
	f := &fixture{t: b, db: db, svc: g, srv: srv}
	key := f.newKey(auth.ScopeServiceAsk)
	events := f.newKey(auth.ScopeEventsWrite)
	ts := httptest.NewServer(srv)
	defer ts.Close()

	// Guard history for the customers: failed repayments, held
	// transfers, declined loans, limit changes.
	const customers = 2000
	r := rand.New(rand.NewPCG(1, 2))
	now := time.Now().UTC()
	kinds := []string{`"type":"repayment","amount":"300.00","status":"failed"`, `"type":"transfer","amount":"60000.00","counterparty":{"account":"6222020200112233445"}`,
		`"type":"loan_apply","amount":"20000.00","status":"declined"`, `"type":"profile_change","change":"credit_limit"`, `"type":"login"`}
	for c := range customers {
		at := now.Add(-time.Duration(r.IntN(48*60)) * time.Minute).Format(time.RFC3339)
		body := fmt.Sprintf(`{"event_id":"bench-%d","occurred_at":%q,"customer":{"id":"bench-c-%d"},%s}`, c, at, c, kinds[r.IntN(len(kinds))])
		req, _ := http.NewRequest("POST", ts.URL+"/v1/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+events)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("history event: %s", resp.Status)
		}
	}

	faqs, other := serviceBenchTexts(b)
	n := int(max(rate, 3000))*seconds + 1000 // closed loop (rate 0) sends as fast as it can
	bodies := make([][]byte, 0, n)
	for i := range n {
		session := i / 4
		text := faqs[r.IntN(len(faqs))]
		if r.IntN(5) == 0 {
			text = other[r.IntN(len(other))]
		}
		body, _ := json.Marshal(map[string]string{"text": text, "customer_id": fmt.Sprintf("bench-c-%d", session%customers),
			"session_id": fmt.Sprintf("bench-s-%d", session), "channel": "app", "message_id": fmt.Sprintf("m-%d", i)})
		bodies = append(bodies, body)
	}
	b.ResetTimer()
	for range b.N {
		cpu0 := processCPU()
		res, err := loadgen.Run(ctx, loadgen.Config{URL: ts.URL, Key: key, Path: "/v1/service/ask", Rate: rate,
			Duration: time.Duration(seconds) * time.Second, Connections: 64, Source: loadgen.Cycle(bodies)})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.P50.Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(res.P99.Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(res.Max.Microseconds())/1000, "max-ms")
		b.ReportMetric(res.Throughput, "asks/s")
		b.ReportMetric(float64(res.Errors), "errors")
		b.ReportMetric(float64(res.Missed), "missed")
		// CPU per ask of the whole process (server and generator): the
		// steadier figure on a shared machine.
		if res.Requests > 0 {
			b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(res.Requests), "cpu-µs/ask")
		}
		b.Logf("\n%s", res)
		if res.Errors > 0 {
			b.Errorf("%d asks failed: %v", res.Errors, res.Status)
		}
	}
}

// processCPU returns the user and system CPU time of this process.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServiceAsk serves POST /v1/service/ask in process (no
// network), one ask at a time: the service time of an ask with the
// starter FAQ, warnings, routing and sessions on SQLite, four turns a
// session.
func BenchmarkServiceAsk(b *testing.B) {
	f := setup(b, withService(b, nil))
	faqs, other := serviceBenchTexts(b)
	texts := append(faqs, other...)
	bodies := make([]string, 4096)
	for i := range bodies {
		session := i / 4
		bodies[i] = fmt.Sprintf(`{"text":%q,"customer_id":"c-%d","session_id":"s-%d"}`, texts[(i*7919)%len(texts)], session%500, session)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		body := bodies[i%len(bodies)]
		if i >= len(bodies) {
			// Later rounds use new sessions: the first four turns of
			// each session were asked already.
			body = strings.Replace(body, `"session_id":"s-`, fmt.Sprintf(`"session_id":"r%d-`, i/len(bodies)), 1)
		}
		i++
		r := httptest.NewRequest("POST", "/v1/service/ask", strings.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+f.admin)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		f.srv.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}
