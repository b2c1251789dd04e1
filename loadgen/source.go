package loadgen

import "github.com/xiaobao-org/xiaobao/sim"

// Cycle returns a Source that sends bodies in turn, starting over at the
// end (a replayed event answers with its first decision: a server that
// stores events sees repeats as idempotent retries).
func Cycle(bodies [][]byte) func() []byte {
	i := 0
	return func() []byte {
		if len(bodies) == 0 {
			return nil
		}
		b := bodies[i]
		i = (i + 1) % len(bodies)
		return b
	}
}

// SimSource returns a Source streaming the events of s, in event time,
// ending the run when the simulation ends.
func SimSource(s *sim.Sim) func() []byte {
	return func() []byte {
		it, ok := s.Next()
		if !ok {
			return nil
		}
		return it.Event
	}
}
