package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/xiaobao-org/xiaobao/sim"
)

// demo runs the platform with life in it: the server on the embedded
// store, a simulated population whose recent history is back-filled, then
// live traffic in (accelerated) real time, and staff recording the outcome
// of every held payment, so every figure moves.
func demo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8080", "listen on `HOST:PORT`")
	data := fs.String("data", "./xiaobao-data", "data `DIR` (SQLite and the server log)")
	customers := fs.Int("customers", 3000, "customers in the simulated population")
	history := fs.Int("history-days", 30, "days of history to back-fill before going live")
	speed := fs.Float64("speed", 60, "simulated seconds per real second once live")
	seed := fs.Uint64("seed", 0, "simulation seed (default: today's date, so a rerun the same day replays)")
	scamRate := fs.Float64("scam-rate", 20, "scale of scam campaigns: higher than real life, so there is something to see")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	// One generated password for the demo's staff users, printed below:
	// the demo is for looking around, not for production.
	var pb [9]byte
	_, _ = crand.Read(pb[:])
	staffPassword := "demo-" + hex.EncodeToString(pb[:])
	key := getenv("XIAOBAO_BOOTSTRAP_KEY")
	if key == "" {
		var b [12]byte
		_, _ = crand.Read(b[:])
		key = "xb_demo_" + hex.EncodeToString(b[:])
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return fmt.Errorf("create data directory: %w", err)
	}
	logPath := filepath.Join(*data, "xiaobao.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open server log: %w", err)
	}
	defer logFile.Close()

	// Ctrl-C stops the simulated clients and the server together, so the
	// clients do not go on knocking at a server that has shut down.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr, pw := io.Pipe()
	served := make(chan error, 1)
	go func() {
		env := func(k string) string {
			switch k {
			case "XIAOBAO_BOOTSTRAP_KEY":
				return key
			case "XIAOBAO_BOOTSTRAP_ADMIN":
				return "admin:" + staffPassword
			}
			return getenv(k)
		}
		// Payment callbacks, SMS and push go to files: DATA/outbox/SINK.ndjson.
		served <- serve(ctx, []string{"--addr", *addr, "--data", *data, "--graph", "--outbox-dir", filepath.Join(*data, "outbox")}, env, pw, logFile)
		pw.Close()
	}()
	base, err := waitListening(pr, served)
	if err != nil {
		return err
	}
	go io.Copy(io.Discard, pr)

	staffUsers, err := seedDemoStaff(ctx, base, staffPassword)
	if err != nil {
		return err
	}
	now := time.Now().In(cst)
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, cst)
	if *seed == 0 {
		*seed = uint64(day.Unix() / 86400)
	}
	cfg := sim.Config{Seed: *seed, Customers: *customers, Start: day.AddDate(0, 0, -*history), Days: *history + 366, ScamRate: *scamRate}
	s := sim.New(cfg)
	c := &demoClient{base: base, key: key, http: &http.Client{Timeout: time.Minute}, rng: rand.New(rand.NewPCG(*seed, 7))}
	// The dissuasion desk works the cases that held payments open.
	c.team = newDemoTeam(ctx, base, key, staffPassword, *seed, []string{"caller", "caller2", "supervisor"})
	c.team.run(ctx)

	fmt.Fprintf(stdout, `
xiaobao demo — 消保平台演示
  console       %s/   (控制台: sign in as a staff user below)
  API           %s   (Authorization: Bearer %s)
  metrics       %s/metrics
  API document  %s/openapi.json
  server log    %s
  staff         %s (password %s)

Back-filling %d days of a simulated population of %d customers, then streaming live
at %.0fx real time. Try:
  curl -s -H 'Authorization: Bearer %s' '%s/v1/decisions?min_action=hold&limit=5'
  curl -s %s/metrics | grep xiaobao_decisions_total
  curl -s -d '{"username":"caller","password":"%s"}' %s/v1/staff/login
  curl -s -H 'Authorization: Bearer %s' -d '{"text":"对方让我把钱转到安全账户"}' %s/v1/service/ask
Press Ctrl-C to stop.

`, base, base, key, base, base, logPath, strings.Join(staffUsers, ", "), staffPassword, *history, *customers, *speed, key, base, base, staffPassword, base, key, base)

	// Back-fill: everything before now, in batches.
	began := time.Now()
	var batch []sim.Item
	sent := 0
	var pending sim.Item
	for {
		it, ok := s.Next()
		if !ok {
			return nil
		}
		t, _ := eventTime(it.Event)
		if t >= now.Unix() {
			pending = it
			break
		}
		batch = append(batch, it)
		if len(batch) == 1000 {
			if err := c.sendBatch(ctx, batch); err != nil {
				return err
			}
			sent += len(batch)
			batch = batch[:0]
			if sent%20000 == 0 {
				fmt.Fprintf(stdout, "  back-filled %d events (%.0f/s)\n", sent, float64(sent)/time.Since(began).Seconds())
			}
		}
	}
	if len(batch) > 0 {
		if err := c.sendBatch(ctx, batch); err != nil {
			return err
		}
		sent += len(batch)
	}
	fmt.Fprintf(stdout, "  back-filled %d events in %s; %s; live now.\n", sent, time.Since(began).Round(time.Second), c.summary())
	if err := c.demoChats(ctx, stdout); err != nil {
		fmt.Fprintf(stderr, "demo: service chats: %v\n", err)
	}

	// Live: simulated time runs at speed × wall time from now on.
	wallStart, simStart := time.Now(), now
	next := pending
	report := time.NewTicker(30 * time.Second)
	defer report.Stop()
	for {
		t, _ := eventTime(next.Event)
		due := wallStart.Add(time.Duration(float64(time.Unix(t, 0).Sub(simStart)) / *speed))
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case err := <-served:
				return err
			case <-report.C:
				fmt.Fprintf(stdout, "  %s live: %s\n", time.Now().Format("15:04:05"), c.summary())
				continue
			case <-time.After(wait):
			}
		}
		if err := c.sendOne(ctx, next); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fmt.Fprintf(stderr, "demo: %v\n", err)
		}
		it, ok := s.Next()
		if !ok {
			return nil
		}
		next = it
	}
}

func waitListening(r io.Reader, served <-chan error) (string, error) {
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
				lines <- a
				return
			}
		}
		close(lines)
	}()
	select {
	case a, ok := <-lines:
		if !ok {
			return "", errors.New("the server stopped before listening")
		}
		return "http://" + a, nil
	case err := <-served:
		if err == nil {
			err = errors.New("the server stopped before listening")
		}
		return "", err
	case <-time.After(5 * time.Minute):
		return "", errors.New("the server did not start listening within 5 minutes")
	}
}

// demoClient sends simulated events and plays the dissuasion team: every
// held payment gets an outcome from the simulation's ground truth.
type demoClient struct {
	base, key string
	http      *http.Client
	rng       *rand.Rand
	counts    [6]int
	outcomes  int
	team      *demoTeam
}

type demoDecision struct {
	DecisionID string `json:"decision_id"`
	Action     string `json:"action"`
}

func (c *demoClient) post(ctx context.Context, path, ctype string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Content-Type", ctype)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return b, fmt.Errorf("POST %s: %s: %s", path, resp.Status, bytes.TrimSpace(b))
	}
	return b, nil
}

func (c *demoClient) sendBatch(ctx context.Context, items []sim.Item) error {
	var body bytes.Buffer
	for _, it := range items {
		body.Write(it.Event)
		body.WriteByte('\n')
	}
	resp, err := c.post(ctx, "/v1/events:batch", "application/x-ndjson", body.Bytes())
	if err != nil {
		return err
	}
	sc := bufio.NewScanner(bytes.NewReader(resp))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for i := 0; sc.Scan() && i < len(items); i++ {
		var d demoDecision
		if json.Unmarshal(sc.Bytes(), &d) == nil && d.DecisionID != "" {
			c.staffWork(ctx, d, items[i].Label)
		}
	}
	return nil
}

func (c *demoClient) sendOne(ctx context.Context, it sim.Item) error {
	resp, err := c.post(ctx, "/v1/events", "application/json", it.Event)
	if err != nil {
		return err
	}
	var d demoDecision
	if err := json.Unmarshal(resp, &d); err != nil {
		return fmt.Errorf("decode decision: %w", err)
	}
	c.staffWork(ctx, d, it.Label)
	return nil
}

var demoActions = []string{"allow", "remind", "friction", "cooling_off", "hold", "block"}

// staffWork counts the decision and, for a hold or block, records what the
// dissuasion call found, from the simulation's ground truth: most scam
// victims are talked out of it, some insist, honest customers were false
// alarms.
func (c *demoClient) staffWork(ctx context.Context, d demoDecision, l sim.Label) {
	for i, a := range demoActions {
		if a == d.Action {
			c.counts[i]++
		}
	}
	if d.Action != "hold" && d.Action != "block" {
		return
	}
	if c.team != nil {
		// Held and blocked payments open cases: the desk calls about them.
		c.team.expect(d.DecisionID, l)
		return
	}
	o := map[string]string{"source": "demo dissuasion team"}
	switch {
	case l.ScamID == "":
		o["outcome"] = "false_alarm"
	case c.rng.Float64() < 0.8:
		o["outcome"], o["amount_saved"] = "customer_dissuaded", l.AtRisk
	default:
		o["outcome"], o["amount_lost"] = "confirmed_fraud", l.AtRisk
	}
	if o["amount_saved"] == "" && o["outcome"] == "customer_dissuaded" {
		o["amount_saved"] = "0.00"
	}
	body, _ := json.Marshal(o)
	if _, err := c.post(ctx, "/v1/decisions/"+d.DecisionID+"/outcome", "application/json", body); err == nil {
		c.outcomes++
	}
}

func (c *demoClient) summary() string {
	var b strings.Builder
	for i, a := range demoActions {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", a, c.counts[i])
	}
	fmt.Fprintf(&b, "; %d outcomes recorded", c.outcomes)
	if c.team != nil {
		b.WriteString("; " + c.team.summary())
	}
	return b.String()
}

// demoStaff are the staff users the demo creates besides the bootstrap
// admin, one per kind of daily work.
var demoStaff = []struct{ username, name, role string }{
	{"caller", "劝阻专员 李娜", "caller"},
	{"caller2", "劝阻专员 刘洋", "caller"},
	{"supervisor", "劝阻主管 赵强", "supervisor"},
	{"analyst", "策略分析 王伟", "analyst"},
	{"complaints", "投诉处理 张敏", "complaints"},
	{"auditor", "内审 陈静", "auditor"},
}

// seedDemoStaff signs in as the bootstrap admin and creates the demo's staff
// users (existing ones are left as they are), returning their usernames.
func seedDemoStaff(ctx context.Context, base, password string) ([]string, error) {
	cl := &http.Client{Timeout: time.Minute}
	do := func(path, token string, body any) (*http.Response, []byte, error) {
		b, _ := json.Marshal(body)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, bytes.NewReader(b))
		if err != nil {
			return nil, nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := cl.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		return resp, rb, err
	}
	resp, b, err := do("/v1/staff/login", "", map[string]string{"username": "admin", "password": password})
	if err != nil {
		return nil, fmt.Errorf("demo staff: %w", err)
	}
	if resp.StatusCode != http.StatusCreated {
		// A data directory from an earlier demo run keeps its admin and its
		// password; its staff users are already there.
		return []string{"admin (from the earlier run)"}, nil
	}
	var sess struct{ Token string }
	if err := json.Unmarshal(b, &sess); err != nil {
		return nil, fmt.Errorf("demo staff: %w", err)
	}
	names := []string{"admin"}
	for _, u := range demoStaff {
		resp, b, err := do("/v1/staff/users", sess.Token, map[string]any{
			"username": u.username, "display_name": u.name, "password": password, "roles": []string{u.role}})
		if err != nil {
			return nil, fmt.Errorf("demo staff: %w", err)
		}
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusConflict {
			return nil, fmt.Errorf("demo staff %s: %s: %s", u.username, resp.Status, bytes.TrimSpace(b))
		}
		names = append(names, u.username)
	}
	return names, nil
}
