package service

import (
	"context"
	"slices"
	"strings"
	"time"
)

// forgetTimeout bounds the store work of Forget: reading the customer's
// sessions and writing what was pending.
const forgetTimeout = time.Minute

// maxGone bounds the sessions whose changes the writer refuses after
// Forget. The oldest go first: by then the erasure has given their stored
// rows new ids, so a change under the old id stores a new session.
const maxGone = 100_000

// Forget drops a customer from the running module before their
// conversations are erased from the store (a data-subject deletion): every
// session of theirs that is not closed is closed ("erasure"), its agent
// or place in line freed; what was pending is written, so that the
// erasure finds it; then the sessions leave memory, with the customer's
// recent contacts and the message ids of the sessions they opened. From
// then on the writer refuses any change to those sessions (an ask or a
// rating racing with the erasure gets "closed"), so none is stored again
// with the customer after the erasure. A session the customer opens
// afterwards is new processing, like a new customer's.
//
// Failures to read or write the store are logged: the erasure that
// follows still removes what is stored.
func (s *Service) Forget(customerID string) {
	if customerID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), forgetTimeout)
	defer cancel()
	now := s.clock.Now().UTC()

	// Sessions not in memory: closed ones, which a rating may still
	// rewrite, and those restored at start with a person or in line.
	stored, err := s.store.FindServiceSessions(ctx, SessionFilter{CustomerID: customerID})
	if err != nil {
		s.log.Error("service: forget: reading the customer's sessions failed", "err", err.Error())
	}

	s.mu.Lock()
	ls := make([]*live, 0, len(s.live))
	for _, l := range s.live {
		ls = append(ls, l)
	}
	s.mu.Unlock()
	ids := map[string]bool{}
	for _, l := range ls {
		l.mu.Lock()
		if l.s.CustomerID == customerID {
			ids[l.s.ID] = true
			if l.s.Status != StatusClosed {
				s.closeLocked(l, nil, "erasure", now)
			}
		}
		l.mu.Unlock()
	}
	for _, se := range stored {
		if ids[se.ID] {
			continue
		}
		ids[se.ID] = true
		if se.Status != StatusClosed {
			se.Status, se.ClosedAt, se.UpdatedAt, se.ClosedBy, se.Clarifying = StatusClosed, &now, now, "erasure", false
			s.w.add(se)
		}
	}

	s.w.forget(ids)
	for id := range ids {
		s.apply(s.router.Release(id), now)
	}
	if err := s.Flush(ctx); err != nil {
		// A batch that failed is put back without the forgotten sessions.
		s.log.Error("service: forget: writing pending sessions failed", "err", err.Error())
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range ids {
		delete(s.live, id)
	}
	delete(s.contacts, customerID)
	prefix := customerID + "\x00"
	mine := func(key string) bool { return strings.HasPrefix(key, prefix) || ids[s.firstMsgs[key]] }
	s.firstOrder = slices.DeleteFunc(s.firstOrder, mine)
	for key := range s.firstMsgs {
		if mine(key) {
			delete(s.firstMsgs, key)
		}
	}
}

// forget makes the writer refuse changes to the sessions ids.
func (w *writer) forget(ids map[string]bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.gone == nil {
		w.gone = map[string]struct{}{}
	}
	for id := range ids {
		if _, ok := w.gone[id]; !ok {
			w.gone[id] = struct{}{}
			w.goneOrder = append(w.goneOrder, id)
		}
	}
	for len(w.goneOrder) > maxGone {
		delete(w.gone, w.goneOrder[0])
		w.goneOrder = w.goneOrder[1:]
	}
}

// refusedBatch is the batch of a change to a forgotten session: done,
// with the error a closed session gives.
func refusedBatch(id string) *batch {
	b := newBatch()
	b.err = closedError(id)
	close(b.done)
	return b
}
