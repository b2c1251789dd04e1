// Command xiaobao runs the xiaobao platform: `xiaobao serve` starts the HTTP
// API on a SQLite file (or PostgreSQL); `xiaobao rules` checks rule packs
// offline. This package only wires the other packages together.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/guard"
	xhttp "github.com/xiaobao-org/xiaobao/http"
	"github.com/xiaobao-org/xiaobao/journal"
	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/postgres"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/sessionlog"
	"github.com/xiaobao-org/xiaobao/sqlite"
	"github.com/xiaobao-org/xiaobao/staff"
	"github.com/xiaobao-org/xiaobao/vault"
)

func main() {
	err := run(context.Background(), os.Args, os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	case errors.Is(err, errFound):
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "xiaobao:", err)
		os.Exit(1)
	}
}

// errUsage means the command line was wrong; the usage has been printed.
var errUsage = errors.New("usage")

const usage = `xiaobao: consumer protection for fintechs

Usage:
  xiaobao demo [flags]           run the platform with a simulated population and live traffic
  xiaobao serve [flags]          run the HTTP API (xiaobao serve -h for flags)
  xiaobao simulate [flags]       write simulated events (NDJSON) and their ground truth
  xiaobao bench [flags]          drive a running server with simulated traffic; print throughput and latency
  xiaobao eval [flags]           replay a labelled history through Guard: detection, losses avoided, friction, AUC/AP, pack comparison
  xiaobao train [flags]          learn a fraud model from a labelled history with Guard's features; write the model file
  xiaobao audit verify [flags]   check the audit log's hash chain and signed checkpoints (audit pubkey prints the keys)
  xiaobao pii scan FILE...       find personal data in text files (--redact, --json, --fail)
  xiaobao bare [--addr A]        serve the bare net/http baseline that bench --compare-bare measures
  xiaobao version                print the version
  xiaobao rules validate FILE... check rule packs offline
  xiaobao rules builtin          print the built-in rule pack

Environment:
  XIAOBAO_BOOTSTRAP_KEY    at serve start, store this secret (hashed) as an
                           admin API key named "bootstrap" unless present
  XIAOBAO_BOOTSTRAP_ADMIN  username:password of a staff administrator to
                           create at serve start unless present
  XIAOBAO_MASTER_KEY       base64 of 32 random bytes: the master key that
                           signs audit checkpoints and wraps data keys
                           (or XIAOBAO_MASTER_KEY_FILE; without either,
                           serve generates DATA/master.key)
`

// run is the whole program; main only supplies the process's environment,
// so tests can run it in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch cmd, rest := args[1], args[2:]; cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "demo":
		return demo(ctx, rest, getenv, stdout, stderr)
	case "simulate":
		return simulate(rest, stdout, stderr)
	case "bench":
		return bench(ctx, rest, getenv, stdout, stderr)
	case "bare":
		return bare(ctx, rest, stdin, stdout, stderr)
	case "audit":
		return auditCmd(ctx, rest, getenv, stdout, stderr)
	case "eval":
		return eval(ctx, rest, getenv, stdout, stderr)
	case "train":
		return train(ctx, rest, getenv, stdout, stderr)
	case "pii":
		return piiCmd(rest, stdin, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "xiaobao %s (%s %s/%s)\n", xiaobao.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return nil
	case "rules":
		return rules(rest, stdout, stderr)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprintf(stderr, "xiaobao: unknown command %q\n\n%s", cmd, usage)
		return errUsage
	}
}

// store is what serve needs of a storage engine.
type store interface {
	guard.Store
	auth.KeyStore
	staff.Store
	audit.Store
	privacy.Store
	vault.KeyStore
	cases.Store
	outbox.Store
	faq.Store
	service.Store
	// SetSealer makes the store encrypt raw events and keep accounts as
	// blind indexes.
	SetSealer(guard.Sealer)
	resealStore
	Close() error
}

// serveFlags are the flags of `xiaobao serve`.
type serveFlags struct {
	addr             string
	data             string
	db               string
	dbSchema         string
	maxInflight      int
	snapshotInterval time.Duration
	logLevel         slog.Level
	pprofAddr        string
	gcPercent        int
	model            string
	graph            bool
	privacyConfig    string
	webhooks         webhookFlags
	outboxDir        string
}

func parseServeFlags(args []string, stderr io.Writer) (*serveFlags, error) {
	f := &serveFlags{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.addr, "addr", "127.0.0.1:8080", "listen on `HOST:PORT` (port 0 picks a free one)")
	fs.StringVar(&f.data, "data", "./xiaobao-data", "data `DIR`, created if missing: the journal, and the SQLite file DIR/xiaobao.db unless --db is given")
	fs.StringVar(&f.db, "db", "", "PostgreSQL `DSN` (postgres://...) to use instead of SQLite")
	fs.StringVar(&f.dbSchema, "db-schema", "", "PostgreSQL `SCHEMA` for the tables, created if missing (default: the DSN's search_path)")
	fs.IntVar(&f.maxInflight, "max-inflight", xhttp.DefaultMaxInflight, "concurrent event requests beyond which requests are shed with 429")
	fs.DurationVar(&f.snapshotInterval, "snapshot-interval", 5*time.Minute, "how often feature state is snapshotted (negative: only at shutdown)")
	fs.TextVar(&f.logLevel, "log-level", slog.LevelInfo, "log `LEVEL`: debug, info, warn or error")
	fs.IntVar(&f.gcPercent, "gc-percent", 200, "Go GC target percentage (GOGC); feature state is long-lived, so collecting less often saves CPU; bound memory with GOMEMLIMIT")
	fs.StringVar(&f.pprofAddr, "pprof", "", "serve Go's profiler (/debug/pprof) on this separate `HOST:PORT`; keep it private")
	fs.BoolVar(&f.graph, "graph", false, "keep the entity graph (GET /v1/graph/neighbourhood) in step with the store; costs about 4 µs of CPU per decision, off the decision path")
	fs.StringVar(&f.privacyConfig, "privacy-config", "", "the firm's privacy configuration `FILE` (YAML): working-day calendar with the year's holidays and 调休 days, response days, retention rules (docs/privacy.md)")
	fs.StringVar(&f.model, "model", "", "score every event with the model `FILE` (`xiaobao train --out`); PUT /v1/model swaps it until the next start")
	fs.Var(&f.webhooks, "webhook", "deliver the outbox `SINK=URL` (e.g. payments=https://pay.example.com/hooks/xiaobao) by signed webhook; repeat for each sink; secret from XIAOBAO_WEBHOOK_SECRET[_SINK][_FILE] (docs/outbox.md)")
	fs.StringVar(&f.outboxDir, "outbox-dir", "", "append outbox messages of sinks without --webhook (SMS, push, …) to `DIR`/SINK.ndjson")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "serve: unexpected arguments %q\n", fs.Args())
		return nil, errUsage
	}
	if f.db != "" && !strings.HasPrefix(f.db, "postgres://") && !strings.HasPrefix(f.db, "postgresql://") {
		fmt.Fprintln(stderr, "serve: --db must be a postgres:// URL")
		return nil, errUsage
	}
	if f.dbSchema != "" && f.db == "" {
		fmt.Fprintln(stderr, "serve: --db-schema needs --db")
		return nil, errUsage
	}
	if f.maxInflight < 1 {
		fmt.Fprintln(stderr, "serve: --max-inflight must be at least 1")
		return nil, errUsage
	}
	if f.snapshotInterval == 0 {
		f.snapshotInterval = -1
	}
	return f, nil
}

// shutdownTimeout bounds the wait for in-flight requests at shutdown.
const shutdownTimeout = 30 * time.Second

// serve runs the HTTP API until ctx is done or SIGINT/SIGTERM arrives,
// then stops accepting connections, lets in-flight requests finish, makes
// every decision durable and snapshots feature state before closing the
// store.
func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	f, err := parseServeFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	} else if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: f.logLevel}))
	if getenv("GOGC") == "" {
		debug.SetGCPercent(f.gcPercent)
	}

	policy := privacy.DefaultPolicy()
	if f.privacyConfig != "" {
		if policy, err = loadPrivacyConfig(f.privacyConfig); err != nil {
			return err
		}
	}
	st, err := openStore(ctx, f)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	if err := bootstrapKey(ctx, st, getenv("XIAOBAO_BOOTSTRAP_KEY"), logger); err != nil {
		return err
	}
	if err := bootstrapAdmin(ctx, st, getenv("XIAOBAO_BOOTSTRAP_ADMIN"), logger); err != nil {
		return err
	}
	// The audit log's checkpoints are signed with a key derived from the
	// master key, which the database does not hold.
	getenv, err = withMasterKey(getenv, f.data, true, logger)
	if err != nil {
		return err
	}
	master, previous, err := vault.MasterKeysFromEnv(getenv)
	if err != nil {
		return err
	}
	// Personal data at rest (raw events in the store and the journal,
	// counterparty accounts) is sealed under data keys the master key wraps.
	vlt, err := vault.Open(ctx, vault.Config{Store: st, Master: master, Previous: previous})
	if err != nil {
		return fmt.Errorf("open vault: %w", err)
	}
	if len(previous) > 0 {
		// The master key was rotated: rewrap the data keys under the new
		// one, so the old one can be retired.
		n, err := vlt.RewrapKeys(ctx)
		if err != nil {
			return fmt.Errorf("rewrap data keys: %w", err)
		}
		logger.Info("data keys rewrapped under the new master key", "keys", n)
	}
	st.SetSealer(vlt)
	signer, err := audit.NewSigner(master.Derive(audit.SigningKeyPurpose, 32))
	if err != nil {
		return err
	}
	auditLog, err := audit.New(audit.Config{Store: st, Signer: signer, CheckpointEvery: 1000})
	if err != nil {
		return fmt.Errorf("open audit log: %w", err)
	}
	defer func() {
		// Sign the log's end, so that removing its newest records is seen.
		if _, cerr := auditLog.Checkpoint(context.WithoutCancel(ctx), time.Now()); cerr != nil && err == nil {
			err = fmt.Errorf("audit checkpoint: %w", cerr)
		}
	}()

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := xhttp.NewMetrics(reg)
	// The journal lives in the data directory whatever the store: a
	// decision is acknowledged once journaled there, and the store indexes
	// it moments later.
	jnl, err := journal.Open(filepath.Join(f.data, "journal"), journal.Options{Sealer: vlt})
	if err != nil {
		return fmt.Errorf("open journal: %w", err)
	}
	defer jnl.Close()
	// The journal appends without fsync (a write survives kill -9, as SQLite's
	// WAL with synchronous=NORMAL does), so appending inline beats a group
	// commit.
	gcfg := guard.Config{Store: st, Journal: jnl, InlineCommit: true, Logger: logger, Observer: metrics, SnapshotInterval: f.snapshotInterval}
	var eg *entityGraph
	var entityGraph xhttp.EntityGraph
	if f.graph {
		eg = newEntityGraph(logger)
		gcfg.OnIndexed, gcfg.OnOutcome = eg.onIndexed, eg.onOutcome
		entityGraph = eg.g
	}
	// The report's rollups (the console's dashboard) follow the store too,
	// beside whatever else the hooks feed.
	rf := newReportFeed(logger)
	gcfg.OnIndexed = fanOutIndexed(gcfg.OnIndexed, rf.onIndexed)
	gcfg.OnOutcome = fanOutOutcome(gcfg.OnOutcome, rf.onOutcome)
	gcfg.Observer = reportObserver{Observer: gcfg.Observer, r: rf.r}
	// Held payments open dissuasion cases.
	desk := newCaseDesk(st, logger)
	reg.MustRegister(newCaseCollector(desk.svc))
	gcfg.OnIndexed = fanOutIndexed(gcfg.OnIndexed, desk.onIndexed)
	svc, err := guard.Open(ctx, gcfg)
	if err != nil {
		return fmt.Errorf("start guard: %w", err)
	}
	rf.svc.Store(svc)
	// Durable timers (case deadlines) and periodic sweeps run on River.
	jobQueue, err := openJobs(ctx, st, f.data, logger)
	if err != nil {
		return err
	}
	desk.useQueue(jobQueue)
	// Payment callbacks and customer notifications leave through the
	// outbox, delivered by a sweep on the same queue.
	ob, err := startOutbox(st, jobQueue, f.webhooks, f.outboxDir, getenv, xiaobao.SystemClock{}, reg, logger)
	if err != nil {
		return err
	}
	defer ob.Close()
	if err := desk.start(ctx, svc); err != nil {
		return fmt.Errorf("start the case desk: %w", err)
	}
	defer desk.close()
	if err := jobQueue.Start(ctx); err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if cerr := jobQueue.Stop(sctx); cerr != nil {
			logger.Warn("job queue did not stop cleanly", "err", cerr.Error())
		}
	}()
	go rf.rebuild(ctx, st)
	if eg != nil {
		go eg.rebuild(ctx, st)
	}
	defer func() {
		if cerr := svc.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("stop guard: %w", cerr)
		}
	}()
	if f.model != "" {
		sc, err := loadScorer(f.model)
		if err != nil {
			return err
		}
		xhttp.SetModel(svc.Engine(), sc)
		logger.Info("model loaded", "model", sc.Name(), "file", f.model)
	}

	reseal := startResealer(ctx, st, vlt, logger)
	faqBase, err := openFAQ(ctx, st, logger)
	if err != nil {
		return err
	}
	serviceMetrics := xhttp.NewServiceMetrics(reg)
	// Like Guard's journal: an answer is given once its turn is logged in
	// the data directory, and the store is written behind it.
	sessionLog, err := sessionlog.Open(filepath.Join(f.data, "service-log"), sessionlog.Options{})
	if err != nil {
		return fmt.Errorf("open the service log: %w", err)
	}
	defer sessionLog.Close()
	serviceDesk, err := openService(ctx, st, st, svc, faqBase, logger, serviceMetrics, sessionLog, desk.onScamWarning)
	if err != nil {
		return err
	}
	defer serviceDesk.Close()
	serviceMetrics.Watch(serviceDesk)
	srv := &http.Server{
		Handler: xhttp.NewServer(xhttp.Config{
			Guard: svc, Keys: st, Logger: logger, Registry: reg, Metrics: metrics, MaxInflight: f.maxInflight,
			Staff: st, Audit: auditLog, Vault: vlt, OnRotate: reseal, Privacy: privacy.Configured{Store: st, Policy: policy}, Graph: entityGraph,
			Reports: rf.r, Cases: desk.svc, Outbox: st, FAQ: faqBase, FAQStore: st, Service: serviceDesk,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		// Batches and imports of up to 32 MiB need time to arrive and to
		// be decided; single events take milliseconds.
		ReadTimeout:  5 * time.Minute,
		WriteTimeout: 5 * time.Minute,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// Tests and scripts read the bound address from this line.
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	logger.Info("xiaobao serving", "addr", ln.Addr().String(), "version", xiaobao.Version)

	if f.pprofAddr != "" {
		// A separate listener, so the profiler is never exposed on the API port.
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		go func() {
			if err := http.ListenAndServe(f.pprofAddr, mux); err != nil {
				logger.Warn("pprof listener stopped", "err", err.Error())
			}
		}()
	}
	go func() {
		// Sign the log's end hourly too: records after the last checkpoint
		// are protected by the hash chain alone.
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if _, err := auditLog.Checkpoint(ctx, now); err != nil {
					logger.Warn("audit checkpoint failed", "err", err.Error())
				}
			}
		}
	}()
	go func() {
		// Delete what data-subject deletions restricted once its retention
		// ended (privacy.ErasureStore.SweepErasures); hourly is plenty for
		// deadlines counted in years.
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if rep, err := xhttp.SweepErasures(ctx, st, auditLog, now); err != nil {
					logger.Error("erasure sweep failed", "err", err.Error())
				} else if !rep.Empty() {
					logger.Info("erasure sweep deleted restricted data", "requests", len(rep.Requests), "records", rep.Records)
				}
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way
	logger.Info("shutting down: draining requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Warn("in-flight requests did not finish in time", "err", err.Error())
		_ = srv.Close()
	}
	logger.Info("shut down")
	return nil
}

// openStore opens PostgreSQL when --db is given, else SQLite in --data.
func openStore(ctx context.Context, f *serveFlags) (store, error) {
	if f.db != "" {
		var opts []postgres.Option
		if f.dbSchema != "" {
			opts = append(opts, postgres.WithSchema(f.dbSchema))
		}
		db, err := postgres.Open(ctx, f.db, opts...)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, nil
	}
	if err := os.MkdirAll(f.data, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(f.data, "xiaobao.db"))
	if err != nil {
		return nil, err
	}
	return db, nil
}

// bootstrapKey stores secret as the admin key "bootstrap" unless a key with
// that secret exists (revoked or not: a revoked bootstrap key stays revoked).
func bootstrapKey(ctx context.Context, keys auth.KeyStore, secret string, logger *slog.Logger) error {
	if secret == "" {
		return nil
	}
	if len(secret) < 16 {
		return errors.New("XIAOBAO_BOOTSTRAP_KEY must be at least 16 characters")
	}
	hash := auth.HashSecret(secret)
	_, err := keys.KeyByHash(ctx, hash)
	if err == nil {
		return nil
	} else if xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		return fmt.Errorf("look up bootstrap key: %w", err)
	}
	k := &auth.Key{ID: auth.NewID(), Name: "bootstrap", Hash: hash, Prefix: secret[:7],
		Scopes: []string{auth.ScopeAdmin}, CreatedAt: time.Now().UTC()}
	if err := keys.CreateKey(ctx, k); err != nil && xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		return fmt.Errorf("store bootstrap key: %w", err)
	}
	logger.Info("bootstrap admin key stored", "key_id", k.ID)
	return nil
}

// rules runs `xiaobao rules validate FILE...` and `xiaobao rules builtin`.
func rules(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage: xiaobao rules validate FILE... | xiaobao rules builtin\n")
		return errUsage
	}
	switch args[0] {
	case "builtin":
		_, err := stdout.Write(guard.BuiltinPack())
		return err
	case "validate":
		if len(args) < 2 {
			fmt.Fprint(stderr, "usage: xiaobao rules validate FILE...\n")
			return errUsage
		}
		return validatePacks(args[1:], stdout)
	default:
		fmt.Fprintf(stderr, "xiaobao rules: unknown command %q\n", args[0])
		return errUsage
	}
}

// validatePacks compiles each pack file and then all of them together (rule
// ids must be unique across packs), printing every error with its rule id
// and position.
func validatePacks(files []string, stdout io.Writer) error {
	var (
		packs []*guard.Pack
		bad   int
	)
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			fmt.Fprintf(stdout, "%s: %v\n", file, err)
			bad++
			continue
		}
		p, err := guard.ParsePack(src)
		if err != nil {
			printErrors(stdout, file, err)
			bad++
			continue
		}
		fmt.Fprintf(stdout, "%s: ok: pack %s, %d rules\n", file, p.Spec.Pack, len(p.Rules))
		packs = append(packs, p)
	}
	if bad == 0 && len(packs) > 1 {
		if _, err := guard.NewRuleset(packs...); err != nil {
			printErrors(stdout, "packs together", err)
			return errors.New("the rule packs conflict")
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d rule pack files are invalid", bad, len(files))
	}
	return nil
}

func printErrors(w io.Writer, where string, err error) {
	fields := xiaobao.ErrorFields(err)
	if len(fields) == 0 {
		fmt.Fprintf(w, "%s: %v\n", where, xiaobao.ErrorMessage(err))
		return
	}
	for _, fe := range fields {
		fmt.Fprintf(w, "%s: %s: %s\n", where, fe.Field, fe.Reason)
	}
}

// loadPrivacyConfig reads --privacy-config.
func loadPrivacyConfig(path string) (*privacy.Policy, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("privacy configuration: %w", err)
	}
	p, err := privacy.ParsePolicy(src)
	if err != nil {
		return nil, fmt.Errorf("privacy configuration %s: %w", path, err)
	}
	return p, nil
}
