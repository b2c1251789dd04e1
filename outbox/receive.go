package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Dedup remembers which messages a receiver has acted upon. A production
// receiver keeps this in its own database, in the same transaction as the
// action (a table with the message id as primary key): see docs/outbox.md.
type Dedup interface {
	// Once runs act unless id was acted upon already, and reports whether
	// it ran. id counts as acted upon only once act returned nil; calls
	// for one id run act one at a time.
	Once(ctx context.Context, id string, act func(context.Context) error) (ran bool, err error)
}

// MemoryDedup is a Dedup in memory, for tests and demos: it forgets on
// restart, which a real receiver must not.
type MemoryDedup struct {
	mu   sync.Mutex
	done map[string]bool
	busy map[string]*sync.Mutex
}

// NewMemoryDedup returns an empty MemoryDedup.
func NewMemoryDedup() *MemoryDedup {
	return &MemoryDedup{done: map[string]bool{}, busy: map[string]*sync.Mutex{}}
}

// Once implements Dedup.
func (d *MemoryDedup) Once(ctx context.Context, id string, act func(context.Context) error) (bool, error) {
	d.mu.Lock()
	l := d.busy[id]
	if l == nil {
		l = new(sync.Mutex)
		d.busy[id] = l
	}
	d.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	d.mu.Lock()
	done := d.done[id]
	d.mu.Unlock()
	if done {
		return false, nil
	}
	if err := act(ctx); err != nil {
		return true, err
	}
	d.mu.Lock()
	d.done[id] = true
	d.mu.Unlock()
	return true, nil
}

// Receiver returns an http.Handler for webhooks: the reference of what
// docs/outbox.md asks of a receiver. It answers
//
//   - 401 if no signature matches (retried: fixing a secret is an
//     operator's work, and the message should then go through);
//   - 408 if the timestamp is outside tolerance (retried with a fresh one);
//   - 400 if the body is not an envelope (permanent: the bytes never change);
//   - 200 if the message was acted upon, now or before (dedup by id);
//   - 500 if act failed (retried).
func Receiver(secrets []string, tolerance time.Duration, clock xiaobao.Clock, dedup Dedup, act func(context.Context, Envelope) error) http.Handler {
	if clock == nil {
		clock = xiaobao.SystemClock{}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		switch err := Verify(secrets, r.Header.Get(SignatureHeader), body, clock.Now(), tolerance); {
		case errors.Is(err, ErrStale):
			http.Error(w, err.Error(), http.StatusRequestTimeout)
			return
		case err != nil:
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var env Envelope
		if err := json.Unmarshal(body, &env); err != nil || env.ID == "" {
			http.Error(w, "not a xiaobao envelope", http.StatusBadRequest)
			return
		}
		if _, err := dedup.Once(r.Context(), env.ID, func(ctx context.Context) error { return act(ctx, env) }); err != nil {
			http.Error(w, "try again later", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
}
