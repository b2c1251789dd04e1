package service

import "time"

// Observer is told what the service does, for metrics. Calls come from
// request goroutines and the store writer concurrently and must be fast.
// Nothing passed carries personal data: no text, no customer id.
type Observer interface {
	// Asked is called for each ask answered (not for replays), with the
	// time it took, store included.
	Asked(r *AskResult, elapsed time.Duration)
	// Stored is called for each batch written to the store (err nil) or
	// given up on for now.
	Stored(sessions, turns int, elapsed time.Duration, err error)
	// HandedOff is called when a session is handed to a queue.
	HandedOff(queue string, assigned bool)
	// Closed is called when a session closes: by whom ("timeout" for the
	// idle sweep) and whether the need was met (nil: not said).
	Closed(resolved *bool, by string)
	// Rated is called for each satisfaction score (1-5).
	Rated(score int)
}

type noObserver struct{}

func (noObserver) Asked(*AskResult, time.Duration)       {}
func (noObserver) Stored(int, int, time.Duration, error) {}
func (noObserver) HandedOff(string, bool)                {}
func (noObserver) Closed(*bool, string)                  {}
func (noObserver) Rated(int)                             {}

// LiveSessions is the number of sessions held in memory.
func (s *Service) LiveSessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}
