package service

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// writer stores session snapshots and turns with group commit: a change
// joins the batch being gathered, the flush loop writes a batch as soon
// as the previous one has committed, and the caller waits for its batch
// before answering. An acknowledged turn is therefore in the store (a
// crash loses nothing that was answered), while the store's per-commit
// cost is shared by every change that arrived during the previous
// commit, so it stays off the critical path at a thousand asks a
// second.
type writer struct {
	mu       sync.Mutex
	cur      *batch
	kick     chan struct{}
	flushReq chan chan error
	// gone are the sessions Forget dropped: their changes are refused,
	// so that nothing stores them again after the erasure.
	gone      map[string]struct{}
	goneOrder []string
}

// batch is one transaction's worth of changes. done is closed when it
// has been written (err nil) or given up on for now (err set: its
// changes were put back into a later batch).
type batch struct {
	sessions map[string]*Session
	order    []string
	turns    []*Turn
	done     chan struct{}
	err      error
}

func newBatch() *batch {
	return &batch{sessions: map[string]*Session{}, done: make(chan struct{})}
}

func (w *writer) init() {
	w.cur = newBatch()
	w.kick = make(chan struct{}, 1)
	w.flushReq = make(chan chan error)
}

// room refuses new turns while too many wait.
func (w *writer) room(max int) error {
	w.mu.Lock()
	n := len(w.cur.turns)
	w.mu.Unlock()
	if n >= max {
		return xiaobao.Errorf(xiaobao.EOVERLOADED, "service sessions are not being stored fast enough; retry later")
	}
	return nil
}

// add queues a session snapshot (the latest wins) and its new turns,
// and returns the batch that will hold them.
func (w *writer) add(s *Session, ts ...*Turn) *batch {
	w.mu.Lock()
	if _, ok := w.gone[s.ID]; ok {
		w.mu.Unlock()
		return refusedBatch(s.ID)
	}
	b := w.cur
	if _, ok := b.sessions[s.ID]; !ok {
		b.order = append(b.order, s.ID)
	}
	b.sessions[s.ID] = s
	b.turns = append(b.turns, ts...)
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
	return b
}

// wait returns when b has been stored, or with the reason it was not.
func (b *batch) wait(ctx context.Context) error {
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the service session was not stored in time; retry with the same message_id")
	}
}

// take swaps out the batch being gathered.
func (w *writer) take() *batch {
	w.mu.Lock()
	defer w.mu.Unlock()
	b := w.cur
	if len(b.order) == 0 && len(b.turns) == 0 {
		return nil
	}
	w.cur = newBatch()
	return b
}

// putBack moves a batch that could not be stored to the front of the
// one being gathered, unless newer snapshots of its sessions came
// meanwhile.
func (w *writer) putBack(b *batch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.cur
	var order []string
	for _, id := range b.order {
		if _, gone := w.gone[id]; gone {
			continue
		}
		if _, newer := c.sessions[id]; !newer {
			c.sessions[id] = b.sessions[id]
			order = append(order, id)
		}
	}
	c.order = append(order, c.order...)
	c.turns = append(slices.DeleteFunc(b.turns, func(t *Turn) bool { _, gone := w.gone[t.SessionID]; return gone }), c.turns...)
}

func (s *Service) flushLoop() {
	defer s.wg.Done()
	// The ticker only retries batches put back after a failure; new
	// changes kick the loop at once.
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	for {
		var waiters []chan error
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.w.kick:
		case ch := <-s.w.flushReq:
			waiters = append(waiters, ch)
		}
		err := s.flushNow()
		for _, ch := range waiters {
			ch <- err
		}
	}
}

// flushNow writes what is pending, retrying a failed transaction a few
// times before putting the batch back for the next round.
func (s *Service) flushNow() error {
	b := s.w.take()
	if b == nil {
		return nil
	}
	ss := make([]*Session, len(b.order))
	for i, id := range b.order {
		ss[i] = b.sessions[id]
	}
	var err error
	for attempt := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err = s.store.SaveServiceSessions(ctx, ss, b.turns)
		cancel()
		s.cfg.Observer.Stored(len(ss), len(b.turns), time.Since(start), err)
		if err == nil {
			close(b.done)
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	s.log.Error("service: storing sessions failed; will retry", "sessions", len(ss), "turns", len(b.turns), "err", err.Error())
	s.w.putBack(b)
	b.err = xiaobao.Errorf(xiaobao.EUNAVAILABLE, "service sessions could not be stored; retry")
	close(b.done)
	return b.err
}

// Flush writes every session and turn acknowledged so far.
func (s *Service) Flush(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case s.w.flushReq <- ch:
	case <-s.stop:
		return s.flushNow()
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}
