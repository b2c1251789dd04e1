//go:build linux

package pii

import (
	"syscall"
	"time"
)

// threadCPU returns the CPU time used by the calling OS thread. Benchmarks
// on a shared machine report wall-clock MB/s that mostly measure the
// neighbours; CPU time per byte is what sizing decisions need.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
