package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/xiaobao-org/xiaobao/loadgen"
	"github.com/xiaobao-org/xiaobao/sim"
)

var cst = time.FixedZone("CST", 8*3600)

// simFlags are the simulator flags shared by simulate, bench and demo.
type simFlags struct {
	cfg   sim.Config
	start string
}

func (f *simFlags) register(fs *flag.FlagSet, customers, days int) {
	fs.Uint64Var(&f.cfg.Seed, "seed", 1, "random seed: the same seed gives the same events")
	fs.IntVar(&f.cfg.Customers, "customers", customers, "customers in the simulated population")
	fs.IntVar(&f.cfg.Days, "days", days, "days to simulate")
	fs.StringVar(&f.start, "start", "", "first simulated day, YYYY-MM-DD in +08:00 (default: depends on the command)")
	fs.Float64Var(&f.cfg.ScamRate, "scam-rate", 1, "scale of scam campaign rates (negative: none)")
	fs.Float64Var(&f.cfg.LookalikeRate, "lookalike-rate", 1, "scale of legitimate look-alike rates (negative: none)")
	fs.IntVar(&f.cfg.QuietDays, "quiet-days", 0, "days of ordinary life before the first campaign")
}

func (f *simFlags) config(defaultStart time.Time) (sim.Config, error) {
	cfg := f.cfg
	cfg.Start = defaultStart
	if f.start != "" {
		t, err := time.ParseInLocation("2006-01-02", f.start, cst)
		if err != nil {
			return cfg, fmt.Errorf("--start: %w", err)
		}
		cfg.Start = t
	}
	if cfg.Customers < 1 {
		return cfg, errors.New("--customers must be at least 1")
	}
	if cfg.Days < 1 {
		return cfg, errors.New("--days must be at least 1")
	}
	return cfg, nil
}

// simulate writes simulated events as NDJSON in the Guard contract, with
// the ground truth beside them.
func simulate(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf simFlags
	sf.register(fs, 10000, 30)
	out := fs.String("out", "-", "events `FILE` (NDJSON; - for standard output)")
	labels := fs.String("labels", "", "ground-truth labels `FILE` (NDJSON), one line per event")
	n := fs.Int("events", 0, "stop after this many events (0: the whole period)")
	quiet := fs.Bool("quiet", false, "no progress bar or summary")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	cfg, err := sf.config(time.Date(2026, 3, 1, 0, 0, 0, 0, cst))
	if err != nil {
		fmt.Fprintln(stderr, "simulate:", err)
		return errUsage
	}
	s := sim.New(cfg)
	var ew *bufio.Writer
	if *out == "-" {
		ew = bufio.NewWriterSize(stdout, 1<<20)
	} else {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		ew = bufio.NewWriterSize(f, 1<<20)
	}
	var lw *bufio.Writer
	if *labels != "" {
		f, err := os.Create(*labels)
		if err != nil {
			return err
		}
		defer f.Close()
		lw = bufio.NewWriterSize(f, 1<<20)
	}
	var bar *progressbar.ProgressBar
	if !*quiet && *out != "-" {
		// The simulation runs in event time: progress is simulated days.
		bar = progressbar.NewOptions64(int64(cfg.Days)*24*3600,
			progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("simulating"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish())
	}
	began := time.Now()
	byTypology := map[string]int{}
	count := 0
	start := cfg.Start.Unix()
	for *n <= 0 || count < *n {
		it, ok := s.Next()
		if !ok {
			break
		}
		ew.Write(it.Event)
		ew.WriteByte('\n')
		if lw != nil {
			b, _ := it.Label.MarshalJSON()
			lw.Write(b)
			lw.WriteByte('\n')
		}
		if it.Label.Typology != "" {
			byTypology[it.Label.Typology]++
		}
		count++
		if bar != nil && count%4096 == 0 {
			if t, ok := eventTime(it.Event); ok {
				_ = bar.Set64(t - start)
			}
		}
	}
	if err := ew.Flush(); err != nil {
		return fmt.Errorf("write events: %w", err)
	}
	if lw != nil {
		if err := lw.Flush(); err != nil {
			return fmt.Errorf("write labels: %w", err)
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	if !*quiet {
		el := time.Since(began)
		fmt.Fprintf(stderr, "%d events in %s (%.0f events/s)\n", count, el.Round(time.Millisecond), float64(count)/el.Seconds())
		names := make([]string, 0, len(byTypology))
		for k := range byTypology {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(stderr, "  %-32s %8d events\n", k, byTypology[k])
		}
	}
	return nil
}

// eventTime reads occurred_at from a simulated event cheaply (the simulator
// writes it in a fixed position and format).
func eventTime(ev []byte) (int64, bool) {
	const key = `"occurred_at":"`
	for i := 0; i+len(key)+25 <= len(ev); i++ {
		if string(ev[i:i+len(key)]) == key {
			t, err := time.Parse(time.RFC3339, string(ev[i+len(key):i+len(key)+25]))
			if err != nil {
				return 0, false
			}
			return t.Unix(), true
		}
	}
	return 0, false
}

// bench drives a running server with simulated traffic and prints the
// throughput and latency percentiles; with --compare-bare it first measures
// a bare net/http handler under the same generator, so the two figures come
// from one run on one machine.
func bench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var sf simFlags
	sf.register(fs, 50000, 90)
	url := fs.String("url", "http://127.0.0.1:8080", "base `URL` of the running server")
	key := fs.String("key", "", "API key with events:write (default: $XIAOBAO_BOOTSTRAP_KEY)")
	conns := fs.Int("connections", 8, "concurrent connections")
	dur := fs.Duration("duration", 20*time.Second, "how long to send")
	rate := fs.Float64("rate", 0, "open-loop requests per second (0: as fast as the connections allow)")
	warm := fs.Duration("warmup", 3*time.Second, "unmeasured warm-up before each measurement")
	bare := fs.Bool("compare-bare", false, "also measure a bare net/http handler that only decodes the event and encodes a fixed answer")
	batch := fs.Int("batch", 0, "send NDJSON batches of this many events to /v1/events:batch instead of single events")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if *key == "" {
		*key = getenv("XIAOBAO_BOOTSTRAP_KEY")
	}
	cfg, err := sf.config(time.Date(2026, 1, 1, 0, 0, 0, 0, cst))
	if err != nil {
		fmt.Fprintln(stderr, "bench:", err)
		return errUsage
	}
	s := sim.New(cfg)
	source := loadgen.SimSource(s)
	path := ""
	if *batch > 1 {
		if *bare {
			fmt.Fprintln(stderr, "bench: --batch and --compare-bare do not go together")
			return errUsage
		}
		one, n := source, *batch
		path = "/v1/events:batch"
		source = func() []byte {
			var b []byte
			for range n {
				ev := one()
				if ev == nil {
					break
				}
				b = append(append(b, ev...), '\n')
			}
			return b
		}
	}
	// measure runs the generator against base; cpu, when it can, says how
	// many CPU seconds the server process has used so far, so that the
	// server's CPU per request can be printed beside its throughput.
	measure := func(name, base string, cpu func() (float64, bool)) (loadgen.Result, error) {
		c := loadgen.Config{URL: base, Key: *key, Connections: *conns, Rate: *rate, Source: source, Path: path}
		if *warm > 0 {
			c.Duration = *warm
			if _, err := loadgen.Run(ctx, c); err != nil {
				return loadgen.Result{}, err
			}
		}
		c.Duration = *dur
		cpu0, ok0 := cpu()
		r, err := loadgen.Run(ctx, c)
		if err != nil {
			return r, err
		}
		fmt.Fprintf(stdout, "== %s (%s, %d connections, %s)\n%s\n", name, base, *conns, *dur, r)
		if cpu1, ok1 := cpu(); ok0 && ok1 && r.Requests > 0 {
			fmt.Fprintf(stdout, "server CPU: %.2f cores, %.1f µs per request\n",
				(cpu1-cpu0)/r.Duration.Seconds(), (cpu1-cpu0)*1e6/float64(r.Requests))
		}
		return r, nil
	}
	var bareRes loadgen.Result
	if *bare {
		child, err := startBareChild()
		if err != nil {
			return err
		}
		bareRes, err = measure("bare net/http handler, own process", child.url, child.cpuSeconds)
		child.stop()
		if err != nil {
			return err
		}
	}
	res, err := measure("xiaobao", *url, func() (float64, bool) { return scrapeCPUSeconds(ctx, *url) })
	if err != nil {
		return err
	}
	if res.Errors > 0 {
		fmt.Fprintf(stdout, "warning: %d requests failed: %v\n", res.Errors, res.Status)
	}
	if *batch > 1 {
		fmt.Fprintf(stdout, "events/s through the batch endpoint: %.0f\n", res.Throughput*float64(*batch))
	}
	if *bare && bareRes.Throughput > 0 {
		fmt.Fprintf(stdout, "xiaobao / bare throughput: %.1f%%\n", 100*res.Throughput/bareRes.Throughput)
	}
	return nil
}
