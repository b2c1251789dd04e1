package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/jobs"
)

// Config configures a Dispatcher. Store and Senders are required.
type Config struct {
	Store Store
	// Senders by sink. A message of a sink without one fails as
	// retryable (a sender may be configured at the next start) and dies
	// after MaxAttempts like any other.
	Senders map[string]Sender
	// Default, if set, sends messages of the sinks not in Senders.
	Default Sender
	Clock   xiaobao.Clock // default: the system clock
	Metrics *Metrics      // optional
	Logger  *slog.Logger  // default: slog.Default()

	// Lease is how long a claimed message is left to its dispatcher
	// before another may send it again (default 5 minutes): a
	// dispatcher that dies mid-send is replaced after this long. It must
	// exceed the time a batch takes (Batch / Parallel × the senders'
	// timeout).
	Lease time.Duration
	// Batch is how many messages one claim takes (default 32), Parallel
	// how many are sent at once (default 8).
	Batch, Parallel int
	// MaxAttempts is how many attempts a message gets before it is dead
	// (default 24: with the default delays, about a day and a half).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the back-off: the n-th retry waits
	// BaseDelay·2ⁿ⁻¹, at most MaxDelay, of which a random half (default
	// 10 s and 2 h).
	BaseDelay, MaxDelay time.Duration
	// Retention is how long a delivered message is kept (default 30 days):
	// payloads may hold personal data.
	Retention time.Duration
	// PassTime bounds one Dispatch (default 40 s, under the job queue's
	// one-minute job timeout); what is left waits for the next.
	PassTime time.Duration
}

// Dispatcher delivers due outbox messages through their sinks' Senders.
type Dispatcher struct {
	c    Config
	mu   sync.Mutex // guards rand
	rand *rand.Rand
}

// NewDispatcher checks c and fills in its defaults.
func NewDispatcher(c Config) (*Dispatcher, error) {
	if c.Store == nil {
		return nil, errors.New("outbox: dispatcher needs a store")
	}
	if c.Clock == nil {
		c.Clock = xiaobao.SystemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&c.Lease, 5*time.Minute)
	def(&c.BaseDelay, 10*time.Second)
	def(&c.MaxDelay, 2*time.Hour)
	def(&c.Retention, 30*24*time.Hour)
	def(&c.PassTime, 40*time.Second)
	if c.Batch <= 0 {
		c.Batch = 32
	}
	if c.Parallel <= 0 {
		c.Parallel = 8
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 24
	}
	return &Dispatcher{c: c, rand: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}, nil
}

// DispatchKind is the job queue sweep that runs Dispatch.
const DispatchKind = "outbox.dispatch"

// Register runs Dispatch on q every interval (at least a second), and a
// daily purge of delivered messages older than Config.Retention. Delivery
// is thus driven by River's durable periodic jobs: after a restart the
// first sweep picks up whatever was left.
func (d *Dispatcher) Register(q *jobs.Queue, every time.Duration) {
	q.Every(DispatchKind, every, func(ctx context.Context) error {
		_, err := d.Dispatch(ctx)
		return err
	})
	q.Every("outbox.purge", 24*time.Hour, func(ctx context.Context) error {
		n, err := d.c.Store.PurgeOutbox(ctx, d.c.Clock.Now().Add(-d.c.Retention))
		if n > 0 {
			d.c.Logger.Info("outbox: purged delivered messages", "count", n)
		}
		return err
	})
}

// Dispatch claims due messages and sends them until none is due, or
// PassTime has passed, and returns how many were delivered.
func (d *Dispatcher) Dispatch(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, d.c.PassTime)
	defer cancel()
	delivered := 0
	for ctx.Err() == nil {
		batch, err := d.c.Store.ClaimOutbox(ctx, d.c.Clock.Now(), d.c.Lease, d.c.Batch)
		if err != nil {
			return delivered, err
		}
		n, err := d.sendAll(ctx, batch)
		delivered += n
		if err != nil {
			return delivered, err
		}
		// A short batch means nothing else is due, unless a delivered
		// message of a line let the next one of the line through.
		if len(batch) < d.c.Batch && !slices.ContainsFunc(batch, func(e Entry) bool { return e.Key != "" }) {
			break
		}
	}
	if d.c.Metrics != nil {
		counts, err := d.c.Store.OutboxCounts(context.WithoutCancel(ctx))
		if err != nil {
			return delivered, err
		}
		d.c.Metrics.setCounts(counts)
	}
	return delivered, nil
}

func (d *Dispatcher) sendAll(ctx context.Context, batch []Entry) (int, error) {
	var (
		wg        sync.WaitGroup
		mu        sync.Mutex
		delivered int
		errs      []error
	)
	sem := make(chan struct{}, d.c.Parallel)
	for i := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, err := d.send(ctx, &batch[i])
			mu.Lock()
			defer mu.Unlock()
			if ok {
				delivered++
			}
			if err != nil {
				errs = append(errs, err)
			}
		})
	}
	wg.Wait()
	return delivered, errors.Join(errs...)
}

// send makes one attempt at e and records its outcome. The error is the
// store's: a failed attempt is an outcome, not an error.
func (d *Dispatcher) send(ctx context.Context, e *Entry) (bool, error) {
	m := d.c.Metrics
	if m != nil {
		m.attempts.WithLabelValues(e.Sink, e.Topic).Inc()
	}
	var err error
	s := d.c.Senders[e.Sink]
	if s == nil {
		s = d.c.Default
	}
	start := time.Now()
	if s == nil {
		err = fmt.Errorf("no sender for sink %q", e.Sink)
	} else {
		err = safeSend(ctx, s, Delivery{Message: e.Message, Attempt: e.Attempts})
	}
	if m != nil && s != nil {
		m.send.WithLabelValues(e.Sink).Observe(time.Since(start).Seconds())
	}
	// The outcome is recorded even if the pass's context ran out: the
	// attempt happened.
	rec := context.WithoutCancel(ctx)
	now := d.c.Clock.Now()
	if err == nil {
		if err := d.c.Store.MarkOutboxDelivered(rec, e.ID, now); err != nil {
			return false, err
		}
		if m != nil {
			m.delivered.WithLabelValues(e.Sink, e.Topic).Inc()
			m.latency.WithLabelValues(e.Sink, e.Topic).Observe(now.Sub(e.CreatedAt).Seconds())
		}
		return true, nil
	}
	f := Failure{Claim: e.Claim, Err: truncate(err.Error(), 500)}
	f.Dead = IsPermanent(err) || e.Attempts >= d.c.MaxAttempts
	if !f.Dead {
		f.NextAttemptAt = now.Add(max(d.Backoff(e.Attempts), RetryDelay(err)))
	}
	outcome := "retry"
	if f.Dead {
		outcome = "dead"
		d.c.Logger.Warn("outbox: message is dead", "id", e.ID, "sink", e.Sink, "topic", e.Topic, "attempts", e.Attempts, "error", f.Err)
	}
	if m != nil {
		m.failed.WithLabelValues(e.Sink, e.Topic, outcome).Inc()
	}
	return false, d.c.Store.MarkOutboxFailed(rec, e.ID, f)
}

// safeSend turns a Sender's panic into a retryable error: one bad message
// must not take the dispatcher down with it.
func safeSend(ctx context.Context, s Sender, dl Delivery) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sender panicked: %v", r)
		}
	}()
	return s.Send(ctx, dl)
}

// Backoff returns the delay before the retry that follows attempt n (from
// 1): BaseDelay·2ⁿ⁻¹ capped at MaxDelay, of which the upper half is drawn
// at random so that messages failed together do not return together.
func (d *Dispatcher) Backoff(n int) time.Duration {
	full := d.c.MaxDelay
	if n < 1 {
		n = 1
	}
	if n <= 40 {
		if b := d.c.BaseDelay << (n - 1); b > 0 && b < full {
			full = b
		}
	}
	d.mu.Lock()
	j := d.rand.Int64N(int64(full/2) + 1)
	d.mu.Unlock()
	return full/2 + time.Duration(j)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}
