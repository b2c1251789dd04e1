package report

import (
	"math"
	"sync"
	"time"
)

// latBuckets log-spaced latency buckets: bucket i holds latencies up to
// latMin·2^(i/4), a quarter-octave (19%) apart, from 10µs to about 10s;
// the last one holds everything longer.
const latBuckets = 81

const latMin = 10 * time.Microsecond

// latBound returns the upper bound of bucket i.
func latBound(i int) time.Duration {
	return time.Duration(float64(latMin) * math.Exp2(float64(i)/4))
}

func latBucket(d time.Duration) int {
	if d <= latMin {
		return 0
	}
	i := int(math.Ceil(4 * math.Log2(float64(d)/float64(latMin))))
	return min(i, latBuckets-1)
}

// latencies is a daily histogram of decision latencies, apart from the
// rollups' lock so that the decision path never waits for a summary.
type latencies struct {
	mu   sync.Mutex
	days map[int32]*[latBuckets]int64
}

func (l *latencies) observe(day int32, d time.Duration) {
	b := latBucket(d)
	l.mu.Lock()
	h := l.days[day]
	if h == nil {
		h = new([latBuckets]int64)
		l.days[day] = h
	}
	h[b]++
	l.mu.Unlock()
}

// sum adds the histograms of days [from, to) into dst.
func (l *latencies) sum(dst *[latBuckets]int64, from, to int32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if int(to-from) > len(l.days) {
		for d, h := range l.days {
			if d >= from && d < to {
				addHist(dst, h)
			}
		}
		return
	}
	for d := from; d < to; d++ {
		if h := l.days[d]; h != nil {
			addHist(dst, h)
		}
	}
}

func addHist(dst, h *[latBuckets]int64) {
	for i, n := range h {
		dst[i] += n
	}
}

// Latency summarises decision latencies: how many were measured and the
// quantiles, in milliseconds, as the upper bound of the histogram bucket
// the quantile falls in (at most 19% above the true value).
type Latency struct {
	Count int64   `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P95Ms float64 `json:"p95_ms"`
	P99Ms float64 `json:"p99_ms"`
}

func latencyOf(h *[latBuckets]int64) Latency {
	var n int64
	for _, c := range h {
		n += c
	}
	l := Latency{Count: n}
	if n == 0 {
		return l
	}
	q := func(p float64) float64 {
		want := int64(math.Ceil(p * float64(n)))
		var cum int64
		for i, c := range h {
			cum += c
			if cum >= want {
				return math.Round(float64(latBound(i))/float64(time.Millisecond)*1000) / 1000
			}
		}
		return math.Inf(1)
	}
	l.P50Ms, l.P95Ms, l.P99Ms = q(0.50), q(0.95), q(0.99)
	return l
}
