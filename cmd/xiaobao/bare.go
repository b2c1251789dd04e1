package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/xiaobao-org/xiaobao/loadgen"
)

// bare serves the comparison baseline (loadgen.BareHandler) until ctx ends.
// bench --compare-bare runs it as a child process, so that the baseline and
// xiaobao are each a server process of their own under the same generator:
// a handler inside the generator's process shares its Go scheduler and
// skips the cross-process wake-ups every real server pays, which flatters
// it by about 1.7× here.
//
// It stops on SIGINT or SIGTERM, or when its standard input closes: a
// parent that dies without stopping it closes the pipe, so no orphan keeps
// the port.
func bare(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen `address`")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	u, stop, err := loadgen.ServeBare(*addr)
	if err != nil {
		return fmt.Errorf("bare: %w", err)
	}
	defer stop()
	ctx, cancel := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer cancel()
	go func() {
		io.Copy(io.Discard, stdin)
		cancel()
	}()
	fmt.Fprintln(stdout, u)
	<-ctx.Done()
	return nil
}

// bareChild is the bare handler running as a child process.
type bareChild struct {
	url   string
	cmd   *exec.Cmd
	stdin io.Closer
}

func startBareChild() (*bareChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	cmd := exec.Command(exe, "bare", "--addr", "127.0.0.1:0")
	cmd.Stderr = os.Stderr
	// Held open until stop: its end tells the child to go.
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start bare handler: %w", err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("bare handler did not say its address: %w", err)
	}
	return &bareChild{url: strings.TrimSpace(line), cmd: cmd, stdin: in}, nil
}

func (c *bareChild) stop() {
	c.stdin.Close()
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// cpuSeconds is the CPU time (user + system) a process has used so far.
func (c *bareChild) cpuSeconds() (float64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(c.cmd.Process.Pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// Fields after the parenthesised command name; utime and stime are the
	// 14th and 15th fields of the line, in clock ticks (100 a second on
	// every Linux Go runs on).
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	ut, err1 := strconv.ParseFloat(f[11], 64)
	st, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return (ut + st) / 100, true
}

// scrapeCPUSeconds reads process_cpu_seconds_total from a server's
// /metrics, the standard Prometheus process collector's counter.
func scrapeCPUSeconds(ctx context.Context, base string) (float64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
