package service

import (
	"context"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// writer batches session snapshots and turns for the store: an ask
// answers from memory and its turn is written with the others of the
// next FlushInterval in one transaction, so the store's per-commit cost
// is shared and never on the ask's path. Reads that must see everything
// (a search, statistics) call Flush first. A crash loses at most the
// last interval's turns; the conversation is a record, not money.
type writer struct {
	mu       sync.Mutex
	sessions map[string]*Session
	order    []string
	turns    []*Turn
	kick     chan struct{}
	flushReq chan chan error
}

func (w *writer) init() {
	w.sessions = map[string]*Session{}
	w.kick = make(chan struct{}, 1)
	w.flushReq = make(chan chan error)
}

// room refuses new turns while too many wait.
func (w *writer) room(max int) error {
	w.mu.Lock()
	n := len(w.turns)
	w.mu.Unlock()
	if n >= max {
		return xiaobao.Errorf(xiaobao.EOVERLOADED, "service sessions are not being stored fast enough; retry later")
	}
	return nil
}

// add queues a session snapshot (the latest wins) and its new turns.
func (w *writer) add(s *Session, ts ...*Turn) {
	w.mu.Lock()
	if _, ok := w.sessions[s.ID]; !ok {
		w.order = append(w.order, s.ID)
	}
	w.sessions[s.ID] = s
	w.turns = append(w.turns, ts...)
	n := len(w.turns)
	w.mu.Unlock()
	if n >= 1024 {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

func (w *writer) take() ([]*Session, []*Turn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.order) == 0 && len(w.turns) == 0 {
		return nil, nil
	}
	ss := make([]*Session, len(w.order))
	for i, id := range w.order {
		ss[i] = w.sessions[id]
	}
	ts := w.turns
	w.sessions, w.order, w.turns = map[string]*Session{}, nil, nil
	return ss, ts
}

// putBack returns a batch that could not be stored to the front of the
// queue, unless newer snapshots of its sessions came meanwhile.
func (w *writer) putBack(ss []*Session, ts []*Turn) {
	w.mu.Lock()
	defer w.mu.Unlock()
	var order []string
	for _, s := range ss {
		if _, newer := w.sessions[s.ID]; !newer {
			w.sessions[s.ID] = s
			order = append(order, s.ID)
		}
	}
	w.order = append(order, w.order...)
	w.turns = append(ts, w.turns...)
}

func (s *Service) flushLoop() {
	defer s.wg.Done()
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
	ss, ts := s.w.take()
	if len(ss) == 0 && len(ts) == 0 {
		return nil
	}
	var err error
	for attempt := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = s.store.SaveServiceSessions(ctx, ss, ts)
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	s.log.Error("service: storing sessions failed; will retry", "sessions", len(ss), "turns", len(ts), "err", err.Error())
	s.w.putBack(ss, ts)
	return xiaobao.Errorf(xiaobao.EUNAVAILABLE, "service sessions could not be stored; retry")
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
