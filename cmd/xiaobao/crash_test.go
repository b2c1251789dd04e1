package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// process is a xiaobao binary running `serve`.
type process struct {
	cmd    *exec.Cmd
	base   string
	stderr *lockedBuffer
}

func startBinary(t *testing.T, bin, dir string) *process {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-level", "warn", "--snapshot-interval", "200ms")
	cmd.Env = append(os.Environ(), "XIAOBAO_BOOTSTRAP_KEY="+testBootstrapKey)
	p := &process{cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("unexpected first line %q", line)
		}
		p.base = "http://" + addr
	case <-time.After(60 * time.Second):
		t.Fatalf("xiaobao did not start; stderr:\n%s", p.stderr.String())
	}
	return p
}

// TestCrashRecovery kills the server with SIGKILL in the middle of a stream
// of events and checks the promise of the contract: every decision
// acknowledged with 200 can be read back after a restart, with the same id
// and action, and resending its event returns it.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and crashes the binary")
	}
	tmp := t.TempDir()
	bin := filepath.Join(tmp, "xiaobao")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	dir := filepath.Join(tmp, "data")
	p := startBinary(t, bin, dir)

	const (
		events  = 2000
		workers = 8
		killAt  = 700 // acknowledgements before the kill
	)
	client := &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: workers},
	}
	post := func(base string, i int) (decision, *http.Response, error) {
		req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader(testEvent("crash", i)))
		req.Header.Set("Authorization", "Bearer "+testBootstrapKey)
		resp, err := client.Do(req)
		if err != nil {
			return decision{}, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return decision{}, resp, err
		}
		var d decision
		if resp.StatusCode == 200 {
			if err := json.Unmarshal(b, &d); err != nil {
				return decision{}, resp, err
			}
		}
		return d, resp, nil
	}

	var (
		mu     sync.Mutex
		acked  = map[int]decision{}
		nAcked atomic.Int64
		kill   sync.Once
		work   = make(chan int)
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				d, resp, err := post(p.base, i)
				if err != nil || resp.StatusCode != 200 {
					continue // not acknowledged: the client would retry
				}
				mu.Lock()
				acked[i] = d
				mu.Unlock()
				if nAcked.Add(1) == killAt {
					kill.Do(func() { _ = p.cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		}()
	}
	for i := range events {
		work <- i
	}
	close(work)
	wg.Wait()
	_ = p.cmd.Wait()
	if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
		t.Fatalf("the server was not killed: %v", p.cmd.ProcessState)
	}
	t.Logf("%d of %d events acknowledged before the kill", len(acked), events)
	if len(acked) < killAt || len(acked) >= events {
		t.Fatalf("%d acknowledged: the kill did not land mid-stream", len(acked))
	}

	p = startBinary(t, bin, dir)
	// Every acknowledged decision is readable, unchanged.
	for i, want := range acked {
		var got decision
		resp := call(t, "GET", p.base+"/v1/decisions/"+want.DecisionID, "", &got)
		if resp.StatusCode != 200 || got.DecisionID != want.DecisionID || got.Action != want.Action || got.EventID != want.EventID {
			t.Errorf("event %d after the crash: %d %+v, want %+v", i, resp.StatusCode, got, want)
		}
	}
	// Resending an acknowledged event returns the original decision.
	for i, want := range acked {
		got, resp, err := post(p.base, i)
		if err != nil || resp.StatusCode != 200 || resp.Header.Get("Idempotent-Replayed") != "true" ||
			got.DecisionID != want.DecisionID || got.Action != want.Action {
			t.Errorf("resending event %d: %v %v %+v, want %+v", i, err, resp, got, want)
		}
	}
	// Resending the rest works: each is decided now, or was made durable
	// just before the kill and is replayed.
	replayed := 0
	for i := range events {
		if _, ok := acked[i]; ok {
			continue
		}
		got, resp, err := post(p.base, i)
		if err != nil || resp.StatusCode != 200 || got.DecisionID == "" {
			t.Fatalf("resending unacknowledged event %d: %v %v", i, err, resp)
		}
		if resp.Header.Get("Idempotent-Replayed") == "true" {
			replayed++
		}
	}
	t.Logf("%d unacknowledged events had been stored before the kill", replayed)
	// Exactly one decision per event. Search reads the store, which indexes
	// acknowledged decisions in the background within a fraction of a
	// second: wait for it to catch up.
	var seen map[string]bool
	for deadline := time.Now().Add(10 * time.Second); ; {
		seen = map[string]bool{}
		before := ""
		for {
			var page struct {
				Decisions     []decision `json:"decisions"`
				NextBeforeSeq int64      `json:"next_before_seq"`
			}
			call(t, "GET", p.base+"/v1/decisions?limit=1000"+before, "", &page)
			for _, d := range page.Decisions {
				if seen[d.EventID] {
					t.Fatalf("event %s decided twice", d.EventID)
				}
				seen[d.EventID] = true
			}
			if page.NextBeforeSeq == 0 {
				break
			}
			before = fmt.Sprintf("&before_seq=%d", page.NextBeforeSeq)
		}
		if len(seen) == events || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(seen) != events {
		t.Errorf("%d events stored, want %d", len(seen), events)
	}

	// A graceful stop exits 0.
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\nstderr:\n%s", err, p.stderr.String())
	}

	t.Run("service", func(t *testing.T) { serviceCrash(t, bin, filepath.Join(tmp, "service-data")) })
}

// serviceCrash kills the server in the middle of a stream of customer
// utterances, each the first message of a chat (no session id, a
// message id): every answer acknowledged with 200 must come back as a
// replay of the same session and turn after the restart, and no message
// may be stored twice.
func serviceCrash(t *testing.T, bin, dir string) {
	p := startBinary(t, bin, dir)
	const (
		asks    = 1200
		workers = 8
		killAt  = 400
	)
	texts := []string{"怎么提前还款", "额度怎么提高", "对方让我把钱转到安全账户", "我要投诉你们乱扣费", "还款失败了怎么办", "借款利率是多少"}
	type askResult struct {
		SessionID string `json:"session_id"`
		Turn      int    `json:"turn"`
		Replayed  bool   `json:"replayed"`
	}
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	ask := func(base string, i int) (askResult, int, error) {
		body := fmt.Sprintf(`{"text":%q,"customer_id":"crash-c%d","channel":"app","message_id":"m-%d"}`, texts[i%len(texts)], i%300, i)
		req, _ := http.NewRequest("POST", base+"/v1/service/ask", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testBootstrapKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return askResult{}, 0, err
		}
		defer resp.Body.Close()
		var r askResult
		if resp.StatusCode == 200 {
			err = json.NewDecoder(resp.Body).Decode(&r)
		}
		return r, resp.StatusCode, err
	}
	var (
		mu     sync.Mutex
		acked  = map[int]askResult{}
		nAcked atomic.Int64
		kill   sync.Once
		work   = make(chan int)
		wg     sync.WaitGroup
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				r, code, err := ask(p.base, i)
				if err != nil || code != 200 {
					continue
				}
				mu.Lock()
				acked[i] = r
				mu.Unlock()
				if nAcked.Add(1) == killAt {
					kill.Do(func() { _ = p.cmd.Process.Signal(syscall.SIGKILL) })
				}
			}
		}()
	}
	for i := range asks {
		work <- i
	}
	close(work)
	wg.Wait()
	_ = p.cmd.Wait()
	if len(acked) < killAt || len(acked) >= asks {
		t.Fatalf("%d of %d acknowledged: the kill did not land mid-stream", len(acked), asks)
	}
	t.Logf("%d of %d asks acknowledged before the kill", len(acked), asks)

	p = startBinary(t, bin, dir)
	sessions := map[string]bool{}
	for i := range asks {
		r, code, err := ask(p.base, i)
		if err != nil || code != 200 {
			t.Fatalf("resending ask %d: %d %v", i, code, err)
		}
		if sessions[r.SessionID] {
			t.Fatalf("ask %d answered in session %s, which another message opened", i, r.SessionID)
		}
		sessions[r.SessionID] = true
		if want, ok := acked[i]; ok && (!r.Replayed || r.SessionID != want.SessionID || r.Turn != want.Turn) {
			t.Errorf("acknowledged ask %d after the crash = %+v, want a replay of %+v", i, r, want)
		}
	}
	// Each message is stored once: its session holds its turn and the
	// bot's, nothing more.
	for id := range sessions {
		var v struct {
			Transcript []struct{ Role string } `json:"transcript"`
		}
		if resp := call(t, "GET", p.base+"/v1/service/sessions/"+id, "", &v); resp.StatusCode != 200 || len(v.Transcript) != 2 {
			t.Fatalf("session %s: %d, %d turns, want 2", id, resp.StatusCode, len(v.Transcript))
		}
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v\nstderr:\n%s", err, p.stderr.String())
	}
}
