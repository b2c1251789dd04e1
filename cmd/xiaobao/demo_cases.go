package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/sim"
)

// demoTeam is the demo's dissuasion desk: callers and a supervisor, each
// signed in, take the next case of their queues and record what the call
// found, from the simulation's ground truth. Without staff sessions (a
// data directory from an earlier run keeps its own passwords) the API key
// works the unassigned cases instead.
type demoTeam struct {
	base, key string
	http      *http.Client
	tokens    []string

	mu     sync.Mutex
	labels map[string]sim.Label // by decision id, for held and blocked payments
	order  []string
	rng    *rand.Rand

	calls, closed, protected atomic.Int64
	saved                    atomic.Int64 // fen
}

// maxDemoLabels bounds the labels remembered for cases not yet worked.
const maxDemoLabels = 200_000

func newDemoTeam(ctx context.Context, base, key, password string, seed uint64, usernames []string) *demoTeam {
	t := &demoTeam{base: base, key: key, http: &http.Client{Timeout: time.Minute}, labels: map[string]sim.Label{}, rng: rand.New(rand.NewPCG(seed, 11))}
	for _, u := range usernames {
		var sess struct{ Token string }
		code, body, err := t.do(ctx, "", "POST", "/v1/staff/login", map[string]string{"username": u, "password": password})
		if err == nil && code == http.StatusCreated && json.Unmarshal(body, &sess) == nil {
			t.tokens = append(t.tokens, sess.Token)
		}
	}
	return t
}

// expect remembers what a held or blocked payment really was.
func (t *demoTeam) expect(decisionID string, l sim.Label) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.labels[decisionID] = l
	t.order = append(t.order, decisionID)
	if len(t.order) > maxDemoLabels {
		delete(t.labels, t.order[0])
		t.order = t.order[1:]
	}
}

func (t *demoTeam) do(ctx context.Context, token, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, t.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token == "" {
		token = t.key
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := t.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

type demoCase struct {
	ID        string `json:"id"`
	State     string `json:"state"`
	Decisions []struct {
		DecisionID string `json:"decision_id"`
	} `json:"decisions"`
	AmountSaved string `json:"amount_saved"`
	Resolution  string `json:"resolution"`
}

// run works cases until ctx is done: one worker per signed-in staff user,
// or one on the API key.
func (t *demoTeam) run(ctx context.Context) {
	workers := t.tokens
	if len(workers) == 0 {
		workers = []string{""}
	}
	for _, tok := range workers {
		go func() {
			for ctx.Err() == nil {
				if !t.workOne(ctx, tok) {
					select {
					case <-ctx.Done():
					case <-time.After(2 * time.Second):
					}
				}
			}
		}()
	}
}

// workOne takes one case (one of mine that is due, else the next one) and
// records a call; false when there was nothing to do.
func (t *demoTeam) workOne(ctx context.Context, token string) bool {
	var c *demoCase
	if token != "" {
		if code, body, err := t.do(ctx, token, "GET", "/v1/cases/mine?limit=20", nil); err == nil && code == http.StatusOK {
			var page struct{ Cases []demoCase }
			_ = json.Unmarshal(body, &page)
			for i := range page.Cases {
				if page.Cases[i].State == "assigned" {
					c = &page.Cases[i]
					break
				}
			}
		}
		if c == nil {
			code, body, err := t.do(ctx, token, "POST", "/v1/cases/next", nil)
			if err != nil || code != http.StatusOK || json.Unmarshal(body, &c) != nil {
				return false
			}
		}
	} else {
		code, body, err := t.do(ctx, "", "GET", "/v1/cases?open=true&unassigned=true&limit=20", nil)
		if err != nil || code != http.StatusOK {
			return false
		}
		var page struct{ Cases []demoCase }
		_ = json.Unmarshal(body, &page)
		for i := range page.Cases {
			if page.Cases[i].State != "waiting" {
				c = &page.Cases[i]
				break
			}
		}
		if c == nil {
			return false
		}
	}
	call := t.outcome(c)
	code, body, err := t.do(ctx, token, "POST", "/v1/cases/"+c.ID+"/calls", call)
	if err != nil || code >= 300 {
		return false
	}
	t.calls.Add(1)
	var after demoCase
	if json.Unmarshal(body, &after) == nil && after.State == "closed" {
		t.closed.Add(1)
		if after.Resolution == "dissuaded" || after.Resolution == "confirmed_victim" {
			t.protected.Add(1)
			if m, err := xiaobao.ParseMoney(after.AmountSaved); err == nil {
				t.saved.Add(int64(m))
			}
		}
	}
	return true
}

// outcome plays the call: honest customers were false alarms; of scam
// victims most are talked out of it, some are confirmed victims, some
// insist (and consent on record), some do not answer at first.
func (t *demoTeam) outcome(c *demoCase) map[string]string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var l sim.Label
	known := false
	for _, d := range c.Decisions {
		if l, known = t.labels[d.DecisionID]; known {
			break
		}
	}
	call := map[string]string{"request_id": fmt.Sprintf("demo-%s-%d", c.ID, t.rng.Uint32())}
	switch r := t.rng.Float64(); {
	case r < 0.1:
		call["outcome"], call["note"] = "unreachable", "无人接听 / no answer"
	case !known || l.ScamID == "":
		call["outcome"], call["note"] = "false_alarm", "客户本人操作，用途正常 / genuine payment"
	case r < 0.75:
		call["outcome"], call["note"] = "dissuaded", "已告知诈骗手法，客户同意取消 / customer agreed to cancel"
	case r < 0.85:
		call["outcome"], call["note"] = "confirmed_victim", "客户确认被骗，已报警 / confirmed victim, reported"
	default:
		call["outcome"] = "insisted"
		call["consent"] = fmt.Sprintf("录音编号 R-%06d：客户知悉风险仍坚持付款 / customer informed, insists", t.rng.IntN(1_000_000))
	}
	return call
}

func (t *demoTeam) summary() string {
	return fmt.Sprintf("cases: %d calls, %d closed, %d customers protected, ¥%s saved",
		t.calls.Load(), t.closed.Load(), t.protected.Load(), xiaobao.Money(t.saved.Load()))
}
