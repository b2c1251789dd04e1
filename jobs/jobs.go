// Package jobs runs xiaobao's durable timers (hold expiry, SLA escalation,
// delivery sweeps) on River, a job queue kept in the database: on SQLite
// (riversqlite) or PostgreSQL (riverpgxv5). A timer scheduled before a
// crash or restart fires after it; a handler that fails is retried with
// back-off.
//
// Timers are named by Kind and Key (one hold's expiry, say). River's own
// unique jobs cannot express "replace the pending timer of this key": a
// unique job blocks a new one while it runs, and a handler often reschedules
// its own key. So the queue keeps, beside River's tables, one row per
// Kind+Key naming the River job that currently stands for it (table
// xiaobao_timer), updated in the same transaction as the River insert; a
// job that no longer stands for its key does nothing when it runs.
package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/xiaobao-org/xiaobao"
)

// Timer is a durable timer. Kind selects the handler; Key is unique per
// Kind: scheduling the same Kind and Key again replaces the pending timer,
// or does nothing if At and Payload are the same.
type Timer struct {
	Kind    string          `json:"kind"`
	Key     string          `json:"key"`
	At      time.Time       `json:"at"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// Options configure a Queue. The zero value is usable.
type Options struct {
	// Workers is how many handlers run at once (default 10).
	Workers int
	// MaxAttempts is how many times a timer's handler runs before River
	// discards it (default 25; River's back-off then spans about three
	// weeks).
	MaxAttempts int
	// PollInterval is how often the queue looks for due jobs it was not
	// told about (default 1s). SQLite has no LISTEN/NOTIFY, so a timer
	// fires up to this late; jobs inserted by this process are picked up
	// at once.
	PollInterval time.Duration
	// JobTimeout bounds one run of a handler (default 1 minute).
	JobTimeout time.Duration
	// Logger receives River's warnings and errors (default: slog's default
	// logger).
	Logger *slog.Logger
}

func (o *Options) defaults() {
	if o.Workers <= 0 {
		o.Workers = 10
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 25
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.JobTimeout <= 0 {
		o.JobTimeout = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// River job kinds. Every timer is one River kind whose args carry the timer
// kind: River registers workers by Go type, and timer kinds are strings
// chosen by the callers of Handle.
const (
	timerJobKind = "xiaobao_timer"
	sweepJobKind = "xiaobao_sweep"
)

// timerArgs are a timer's River job args. The payload travels as a
// string: PostgreSQL keeps args as jsonb, which would reorder and respace
// it, and handlers get exactly the bytes they scheduled.
type timerArgs struct {
	TimerKind string    `json:"kind"`
	Key       string    `json:"key"`
	At        time.Time `json:"at"`
	Payload   string    `json:"payload"`
}

func (a timerArgs) Kind() string { return timerJobKind }

type sweepArgs struct {
	Name string `json:"name"`
}

func (sweepArgs) Kind() string { return sweepJobKind }

// Queue is a durable timer queue. Register handlers with Handle and Every,
// then Start it; Schedule and Cancel work before Start too (the timers fire
// once started).
type Queue struct {
	opts Options
	eng  engine

	mu       sync.RWMutex
	handlers map[string]func(context.Context, Timer) error
	sweeps   map[string]func(context.Context) error
	started  bool
}

// engine is what Queue needs of a River client on one database; engineOf
// implements it for both drivers' transaction types.
type engine interface {
	schedule(ctx context.Context, t Timer, maxAttempts int) error
	cancel(ctx context.Context, kind, key string) error
	current(ctx context.Context, kind, key string) (jobID int64, ok bool, err error)
	done(ctx context.Context, kind, key string, jobID int64) error
	addPeriodic(pj *river.PeriodicJob) error
	start(ctx context.Context) error
	stop(ctx context.Context) error
}

func newQueue(opts Options) *Queue {
	opts.defaults()
	return &Queue{
		opts:     opts,
		handlers: map[string]func(context.Context, Timer) error{},
		sweeps:   map[string]func(context.Context) error{},
	}
}

// riverConfig returns the River configuration the queue runs with.
func (q *Queue) riverConfig() *river.Config {
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(q.workTimer))
	river.AddWorker(workers, river.WorkFunc(q.workSweep))
	return &river.Config{
		Queues:            map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: q.opts.Workers}},
		Workers:           workers,
		FetchPollInterval: q.opts.PollInterval,
		JobTimeout:        q.opts.JobTimeout,
		MaxAttempts:       q.opts.MaxAttempts,
		// River reports its producers' job counts at info level every five
		// seconds: keep its warnings and errors only.
		Logger: slog.New(warnOnly{q.opts.Logger.Handler()}),
		// Keep finished jobs a week: enough for an operator to see what
		// fired and why it failed, small enough to stay out of the way.
		CompletedJobRetentionPeriod: 7 * 24 * time.Hour,
		DiscardedJobRetentionPeriod: 30 * 24 * time.Hour,
	}
}

// Handle registers fn as the handler of timers of kind. A handler that
// returns an error is retried with back-off (River's: about attempt⁴
// seconds, with jitter) up to Options.MaxAttempts times; one that panics
// is treated the same way. It may run more than once for one timer (a
// crash after it finished but before that was recorded), so it must be
// idempotent. Register every kind before Start; a timer whose kind has no
// handler (an older binary during a deploy, say) fails and is retried.
func (q *Queue) Handle(kind string, fn func(ctx context.Context, t Timer) error) {
	if kind == "" || fn == nil {
		panic("jobs: Handle needs a kind and a function")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.handlers[kind]; ok {
		panic(fmt.Sprintf("jobs: handler of %q registered twice", kind))
	}
	q.handlers[kind] = fn
}

// Every runs fn every interval (at least one second), and once when the
// queue starts. Among instances sharing a database only the elected leader
// schedules sweeps, so each runs once per interval in total, and a sweep
// is not scheduled again while the previous one is still waiting or
// running. A failed sweep is not retried: the next one does its work.
// Register sweeps before Start.
func (q *Queue) Every(kind string, interval time.Duration, fn func(ctx context.Context) error) {
	if kind == "" || fn == nil || interval < time.Second {
		panic("jobs: Every needs a kind, a function and an interval of at least a second")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if _, ok := q.sweeps[kind]; ok {
		panic(fmt.Sprintf("jobs: sweep %q registered twice", kind))
	}
	if q.started {
		panic("jobs: Every after Start")
	}
	q.sweeps[kind] = fn
	pj := river.NewPeriodicJob(river.PeriodicInterval(interval), func() (river.JobArgs, *river.InsertOpts) {
		return sweepArgs{Name: kind}, &river.InsertOpts{
			MaxAttempts: 1,
			UniqueOpts: river.UniqueOpts{
				ByArgs: true,
				// Not completed (River's default includes it): a finished
				// sweep must not block the next one.
				ByState: []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
					rivertype.JobStateRunning, rivertype.JobStateScheduled, rivertype.JobStateRetryable},
			},
		}
	}, &river.PeriodicJobOpts{ID: "sweep:" + kind, RunOnStart: true})
	if err := q.eng.addPeriodic(pj); err != nil {
		panic(fmt.Sprintf("jobs: sweep %q: %v", kind, err))
	}
}

// Schedule makes t fire at t.At (at once if that is past), replacing any
// pending timer of the same Kind and Key; it does nothing if that timer has
// the same At and Payload. A timer whose handler is running is not
// replaced: the new one fires after it.
func (q *Queue) Schedule(ctx context.Context, t Timer) error {
	if t.Kind == "" || t.Key == "" || t.At.IsZero() {
		return xiaobao.Errorf(xiaobao.EINVALID, "timer needs a kind, a key and a time")
	}
	if len(t.Payload) == 0 {
		t.Payload = json.RawMessage("null")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, t.Payload); err != nil {
		return xiaobao.Errorf(xiaobao.EINVALID, "timer %s/%s: payload is not JSON", t.Kind, t.Key)
	}
	t.Payload = buf.Bytes()
	// Both databases keep microseconds; comparing with what was stored
	// needs the same precision.
	t.At = t.At.UTC().Truncate(time.Microsecond)
	if err := q.eng.schedule(ctx, t, q.opts.MaxAttempts); err != nil {
		return fmt.Errorf("jobs: schedule %s/%s: %w", t.Kind, t.Key, err)
	}
	return nil
}

// Cancel removes the pending timer of kind and key, if any. A handler that
// is already running finishes.
func (q *Queue) Cancel(ctx context.Context, kind, key string) error {
	if err := q.eng.cancel(ctx, kind, key); err != nil {
		return fmt.Errorf("jobs: cancel %s/%s: %w", kind, key, err)
	}
	return nil
}

// Start starts working timers and sweeps. It returns once started; the
// work goes on in the background until Stop.
func (q *Queue) Start(ctx context.Context) error {
	q.mu.Lock()
	q.started = true
	q.mu.Unlock()
	if err := q.eng.start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching work, waits for running handlers until ctx is done
// (then cancels their contexts) and closes what the queue opened. A timer
// whose handler was cut short runs again after the next start.
func (q *Queue) Stop(ctx context.Context) error {
	if err := q.eng.stop(ctx); err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

func (q *Queue) workTimer(ctx context.Context, job *river.Job[timerArgs]) error {
	a := job.Args
	t := Timer{Kind: a.TimerKind, Key: a.Key, At: a.At.UTC(), Payload: json.RawMessage(a.Payload)}
	id, ok, err := q.eng.current(ctx, t.Kind, t.Key)
	if err != nil {
		return err
	}
	if !ok || id != job.ID {
		// Replaced or cancelled after this job was fetched, or while it
		// was running and failing.
		return nil
	}
	q.mu.RLock()
	fn := q.handlers[t.Kind]
	q.mu.RUnlock()
	if fn == nil {
		return fmt.Errorf("no handler for timer kind %q", t.Kind)
	}
	if err := fn(ctx, t); err != nil {
		return fmt.Errorf("timer %s/%s: %w", t.Kind, t.Key, err)
	}
	// A crash here leaves the row naming a completed job: harmless, the
	// next Schedule of the key replaces it.
	return q.eng.done(context.WithoutCancel(ctx), t.Kind, t.Key, job.ID)
}

func (q *Queue) workSweep(ctx context.Context, job *river.Job[sweepArgs]) error {
	q.mu.RLock()
	fn := q.sweeps[job.Args.Name]
	q.mu.RUnlock()
	if fn == nil {
		return fmt.Errorf("no sweep %q", job.Args.Name)
	}
	if err := fn(ctx); err != nil {
		return fmt.Errorf("sweep %s: %w", job.Args.Name, err)
	}
	return nil
}

// warnOnly passes on records of level warn and above.
type warnOnly struct{ slog.Handler }

func (h warnOnly) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

func (h warnOnly) WithAttrs(as []slog.Attr) slog.Handler { return warnOnly{h.Handler.WithAttrs(as)} }

func (h warnOnly) WithGroup(name string) slog.Handler { return warnOnly{h.Handler.WithGroup(name)} }

// deletable reports whether a job in state s has not started and can be
// replaced by deleting it.
func deletable(s rivertype.JobState) bool {
	switch s {
	case rivertype.JobStateAvailable, rivertype.JobStateScheduled, rivertype.JobStateRetryable, rivertype.JobStatePending:
		return true
	}
	return false
}

func ignoreGone(err error) error {
	if errors.Is(err, rivertype.ErrNotFound) || errors.Is(err, rivertype.ErrJobRunning) {
		return nil
	}
	return err
}
