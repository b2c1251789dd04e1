package pii

import (
	"runtime"
	"sync"
	"testing"
)

// A megabyte of generated memo and complaint text: one with roughly one
// piece of personal data per 200 bytes, one with none at all (but with the
// amounts, order numbers and timestamps that surround it in real traffic).
var (
	benchPII   = sync.OnceValue(func() string { return corpus(1, 1<<20, true) })
	benchClean = sync.OnceValue(func() string { return corpus(2, 1<<20, false) })
)

// bench runs f over text and reports, besides the usual wall-clock MB/s, the
// throughput per CPU second of the benchmark's own thread (cpu-MB/s), which
// stays meaningful when other processes compete for the cores.
func bench(b *testing.B, text string, f func(string) int) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	n := 0
	c0 := threadCPU()
	for b.Loop() {
		n = f(text)
	}
	if c := threadCPU() - c0; c > 0 {
		b.ReportMetric(float64(len(text))*float64(b.N)/c.Seconds()/1e6, "cpu-MB/s")
	}
	if n > 0 {
		b.ReportMetric(float64(len(text))/float64(n), "bytes/finding")
	}
}

func BenchmarkScan(b *testing.B) {
	bench(b, benchPII(), func(s string) int { return len(Scan(s)) })
}

func BenchmarkScanNoPII(b *testing.B) {
	bench(b, benchClean(), func(s string) int {
		if n := len(Scan(s)); n != 0 {
			b.Fatal("clean corpus has findings")
		}
		return 0
	})
}

func BenchmarkRedact(b *testing.B) {
	bench(b, benchPII(), func(s string) int {
		_, fs := Redact(s)
		return len(fs)
	})
}
