package staff

import (
	"sync"
	"time"
)

// Throttle slows password guessing: after MaxFailures failed sign-ins for
// one username within Window, that username is locked for Window (whoever
// tries), and the lock lifts by itself. Counting per username rather than
// per address is what stops a botnet from spreading guesses across IPs.
type Throttle struct {
	MaxFailures int
	Window      time.Duration

	mu sync.Mutex
	m  map[string]*attempts
}

type attempts struct {
	n           int
	first, last time.Time
}

// NewThrottle returns the default: 5 failures in 15 minutes.
func NewThrottle() *Throttle {
	return &Throttle{MaxFailures: 5, Window: 15 * time.Minute, m: map[string]*attempts{}}
}

// Locked reports whether username may not try now, and until when.
func (t *Throttle) Locked(username string, now time.Time) (bool, time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.m[username]
	if a == nil || a.n < t.MaxFailures {
		return false, time.Time{}
	}
	until := a.last.Add(t.Window)
	if now.Before(until) {
		return true, until
	}
	delete(t.m, username)
	return false, time.Time{}
}

// Failed records a failed sign-in.
func (t *Throttle) Failed(username string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.m) > 100_000 {
		// Guesses at many made-up usernames must not grow memory without
		// bound: forget the stale ones.
		for k, a := range t.m {
			if now.Sub(a.last) > t.Window {
				delete(t.m, k)
			}
		}
	}
	a := t.m[username]
	if a == nil || now.Sub(a.first) > t.Window && a.n < t.MaxFailures {
		a = &attempts{first: now}
		t.m[username] = a
	}
	a.n++
	a.last = now
}

// Succeeded clears a username's failures.
func (t *Throttle) Succeeded(username string) {
	t.mu.Lock()
	delete(t.m, username)
	t.mu.Unlock()
}
