package service

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// writer makes session snapshots and turns durable with group commit: a
// change joins the batch being gathered, the flush loop takes a batch as
// soon as the previous one is done, and the caller waits for its batch
// before answering, so a crash loses nothing that was answered. With a
// Journal, a batch is done once appended to it (one write) and the store
// is written every FlushInterval with everything journaled since; without
// one, a batch is done once committed to the store.
type writer struct {
	mu       sync.Mutex
	cur      *batch
	kick     chan struct{}
	flushReq chan chan error
	// unstored is what was made durable but is not in the store yet (the
	// flush loop's own); backlog is its number of turns, for room.
	unstored  *batch
	backlog   atomic.Int64
	lastStore time.Time
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
	w.unstored = newBatch()
	w.kick = make(chan struct{}, 1)
	w.flushReq = make(chan chan error)
}

// room refuses new turns while too many wait.
func (w *writer) room(max int) error {
	w.mu.Lock()
	n := len(w.cur.turns) + int(w.backlog.Load())
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
	if b.empty() {
		return nil
	}
	w.cur = newBatch()
	return b
}

// merge adds b's changes to dst, in order: the later snapshot of a
// session wins and turns are appended.
func merge(dst, b *batch) {
	for _, id := range b.order {
		if _, ok := dst.sessions[id]; !ok {
			dst.order = append(dst.order, id)
		}
		dst.sessions[id] = b.sessions[id]
	}
	dst.turns = append(dst.turns, b.turns...)
}

func (b *batch) empty() bool { return len(b.order) == 0 && len(b.turns) == 0 }

// list returns b's session snapshots in order.
func (b *batch) list() []*Session {
	ss := make([]*Session, len(b.order))
	for i, id := range b.order {
		ss[i] = b.sessions[id]
	}
	return ss
}

// dropGone removes from b the changes of sessions Forget dropped: after a
// failed store, they must not be written after the erasure.
func (w *writer) dropGone(b *batch) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.gone) == 0 {
		return
	}
	b.order = slices.DeleteFunc(b.order, func(id string) bool {
		if _, gone := w.gone[id]; gone {
			delete(b.sessions, id)
			return true
		}
		return false
	})
	b.turns = slices.DeleteFunc(b.turns, func(t *Turn) bool { _, gone := w.gone[t.SessionID]; return gone })
}

func (s *Service) flushLoop() {
	defer s.wg.Done()
	// New changes kick the loop at once; the ticker writes the store
	// behind the journal, and retries after a failure.
	t := time.NewTicker(s.cfg.FlushInterval)
	defer t.Stop()
	if s.cfg.Journal == nil {
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
	s.journalLoop(t.C)
}

// storeResult is the end of a store write behind the journal.
type storeResult struct {
	b       *batch
	mark    int64
	err     error
	waiters []chan error
}

// journalLoop journals each batch as soon as it is gathered (answering
// its callers) and hands what was journaled to a store writer goroutine
// every FlushInterval, one write at a time, so an answer never waits for
// the store. A Flush is answered once a store write that started after
// it has ended.
func (s *Service) journalLoop(tick <-chan time.Time) {
	var (
		inflight bool
		waiters  []chan error // for the next store write
		results  = make(chan storeResult, 1)
	)
	start := func() {
		u := s.w.unstored
		mark, err := s.cfg.Journal.Cut()
		if err != nil {
			s.log.Error("service: journal cut failed", "err", err.Error())
			mark = -1
		}
		s.w.unstored = newBatch()
		ws := waiters
		waiters = nil
		inflight = true
		s.w.lastStore = time.Now()
		go func() {
			results <- storeResult{b: u, mark: mark, err: s.store1(u), waiters: ws}
		}()
	}
	due := func() bool {
		u := s.w.unstored
		return !u.empty() &&
			(time.Since(s.w.lastStore) >= s.cfg.FlushInterval || len(u.turns) >= 1024)
	}
	for {
		select {
		case <-s.stop:
			if inflight {
				r := <-results
				s.stored(r)
			}
			return
		case <-tick:
		case <-s.w.kick:
		case ch := <-s.w.flushReq:
			waiters = append(waiters, ch)
		case r := <-results:
			inflight = false
			s.stored(r)
		}
		if b := s.w.take(); b != nil {
			if err := s.cfg.Journal.Append(b.list(), b.turns); err != nil {
				// Not journaled: the callers are told to retry (with their
				// message ids); the change is stored with the rest.
				s.log.Error("service: journal append failed", "err", err.Error())
				b.err = xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the service session could not be logged; retry")
			}
			merge(s.w.unstored, b)
			close(b.done)
		}
		s.w.backlog.Store(int64(len(s.w.unstored.turns)))
		if !inflight && (len(waiters) > 0 || due()) {
			if s.w.unstored.empty() {
				for _, ch := range waiters {
					ch <- nil
				}
				waiters = nil
				continue
			}
			start()
		}
	}
}

// stored ends a store write behind the journal: the journal forgets what
// it wrote, or, if it failed, its changes go back in front of what came
// since (so the order of snapshots holds) to be written again.
func (s *Service) stored(r storeResult) {
	if r.err == nil {
		if r.mark >= 0 {
			if err := s.cfg.Journal.Stored(r.mark); err != nil {
				s.log.Error("service: journal could not forget what is stored", "err", err.Error())
			}
		}
	} else {
		merge(r.b, s.w.unstored)
		s.w.unstored = r.b
		s.w.dropGone(s.w.unstored)
	}
	s.w.backlog.Store(int64(len(s.w.unstored.turns)))
	for _, ch := range r.waiters {
		ch <- r.err
	}
}

// flushNow, without a journal, makes the batch being gathered durable by
// storing it (with anything a failed write left) and answers its
// callers; after the loop stopped, it also writes what the journal loop
// left.
func (s *Service) flushNow() error {
	b := s.w.take()
	if b != nil {
		merge(s.w.unstored, b)
	}
	u := s.w.unstored
	if u.empty() {
		return nil
	}
	err := s.store1(u)
	if err == nil {
		s.w.unstored = newBatch()
		if s.cfg.Journal != nil {
			if mark, cerr := s.cfg.Journal.Cut(); cerr == nil {
				_ = s.cfg.Journal.Stored(mark)
			}
		}
	} else {
		s.w.dropGone(u)
	}
	s.w.backlog.Store(int64(len(s.w.unstored.turns)))
	if b != nil {
		b.err = err
		close(b.done)
	}
	return err
}

// store1 writes a batch, retrying a failed transaction a few times.
func (s *Service) store1(u *batch) error {
	ss := u.list()
	var err error
	for attempt := range 3 {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		err = s.store.SaveServiceSessions(ctx, ss, u.turns)
		cancel()
		s.cfg.Observer.Stored(len(ss), len(u.turns), time.Since(start), err)
		if err == nil {
			return nil
		}
		time.Sleep(time.Duration(attempt+1) * 20 * time.Millisecond)
	}
	s.log.Error("service: storing sessions failed; will retry", "sessions", len(ss), "turns", len(u.turns), "err", err.Error())
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
