package guard

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// AnonymousPrefix starts the token that replaces a customer id in the
// records a data-subject deletion anonymised (package privacy). Customer
// ids with this prefix are reserved: restart replay skips their events, so
// feature state is never rebuilt from anonymised records.
const AnonymousPrefix = "anon~"

// IsAnonymous reports whether customerID is an anonymisation token.
func IsAnonymous(customerID string) bool { return strings.HasPrefix(customerID, AnonymousPrefix) }

// removeSeen takes h out of s, keeping the order of the rest.
func removeSeen(s *seenSet, h uint64) {
	if i := s.find(h); i >= 0 {
		*s = append((*s)[:i], (*s)[i+1:]...)
	}
}

// forget drops everything state holds of one customer: their profile,
// the labels and flags on them, and their place among the customers of
// devices and IPs and the payers of payees (where they would still count
// towards, and be linkable from, others' features). It reports whether
// state knew the customer. It visits every device, IP and payee: a pause
// of the order of a millisecond per hundred thousand entities, paid once
// per erasure.
func (s *State) forget(customerID string) bool {
	h := fnv64(customerID)
	_, known := s.customers[h]
	delete(s.customers, h)
	delete(s.labels.victims, h)
	delete(s.labels.flags, h)
	for _, d := range s.devices {
		removeSeen(&d.customers, h)
	}
	for _, st := range s.ips {
		removeSeen(&st.customers, h)
	}
	for _, p := range s.payees {
		removeSeen(&p.payers, h)
		if p.rare != nil {
			removeSeen(&p.rare.elderly, h)
		}
	}
	return known
}

// knows reports whether state holds a profile of the customer.
func (s *State) knows(customerID string) bool {
	_, ok := s.customers[fnv64(customerID)]
	return ok
}

// Forget drops what the engine's feature state holds of a customer and
// reports whether it held anything. Like Decide, it must not run
// concurrently with the engine's other state changes.
func (e *Engine) Forget(customerID string) bool { return e.state.forget(customerID) }

// Knows reports whether the engine's feature state holds a profile of the
// customer (for tests and the erasure report).
func (e *Engine) Knows(customerID string) bool { return e.state.knows(customerID) }

// Forget carries out the Behaviour part of a data-subject deletion: under
// the decision lock it drops the customer's feature state and the
// recently decided records of theirs the service keeps in memory. It then
// waits until the store holds every decision made before (so that no
// record indexed later brings back what a store erases next) and saves a
// snapshot without the customer, replacing the one that still held them.
//
// It returns the seq of the last decision made before the customer was
// forgotten: the store's erasure covers the records up to it. A later
// event of the customer starts a new profile, as for a new customer.
func (s *Service) Forget(ctx context.Context, customerID string) (seq int64, err error) {
	s.mu.Lock()
	s.engine.Forget(customerID)
	for id, rec := range s.recent {
		if rec.Decision != nil && rec.Decision.CustomerID == customerID {
			delete(s.recent, id)
		}
	}
	seq = s.seq
	// The snapshot in the store still holds the customer: take a new one
	// even if no decision was made since.
	s.snapSeq.Store(-1)
	s.mu.Unlock()
	stored := func() int64 {
		if s.cfg.Journal != nil {
			return s.indexed.Load()
		}
		return s.committed.Load()
	}
	for stored() < seq {
		if s.broken.Load() != nil {
			return 0, fmt.Errorf("forget customer: decisions up to seq %d were not stored", seq)
		}
		select {
		case <-ctx.Done():
			return 0, fmt.Errorf("forget customer: waiting for decisions to be stored: %w", ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
	if err := s.Snapshot(ctx); err != nil {
		return 0, fmt.Errorf("forget customer: %w", err)
	}
	return seq, nil
}

// KnowsCustomer reports, under the decision lock, whether feature state
// holds a profile of the customer.
func (s *Service) KnowsCustomer(customerID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.engine.Knows(customerID)
}
