package sim

import (
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkSim measures generation for a 100,000-customer population, one
// event per iteration. It reports events per wall-clock second and per
// CPU-second of the process (garbage collection included): on a shared
// machine the second is the one to compare.
func BenchmarkSim(b *testing.B) {
	s := New(Config{Seed: 1, Customers: 100000, Days: 3650})
	b.ReportAllocs()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var bytes int
	for range b.N {
		it, ok := s.Next()
		if !ok {
			b.Fatal("the simulation ended early")
		}
		bytes += len(it.Event)
	}
	el, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/cpu.Seconds(), "events/cpu-s")
	b.ReportMetric(float64(bytes)/float64(b.N), "bytes/event")
}
