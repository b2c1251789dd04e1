package loadgen

import (
	"math/bits"
	"time"
)

// Histogram records durations in log-linear buckets, as HdrHistogram does:
// values below 128 ns are exact, and above that each power of two is split
// into 128 equal buckets, so any recorded value is known to within 1/128
// (0.8 %) whatever its magnitude. Recording is a few instructions and no
// allocation; the counts take 36 KB. The zero value is ready to use.
// A Histogram is not safe for concurrent use: give each goroutine its own
// and Merge them.
type Histogram struct {
	counts     [histBuckets]uint64
	n          uint64
	sum        uint64
	min, max   uint64
	overflowed uint64
}

const (
	subBits = 7
	subN    = 1 << subBits
	// maxGroup bounds the range to 2^(maxGroup+subBits) ns, about 73
	// minutes; longer values are clamped to the largest bucket.
	maxGroup    = 35
	histBuckets = (maxGroup + 1) * subN
	histMax     = uint64(1)<<(maxGroup+subBits) - 1
)

// bucketOf returns the bucket index of v (ns).
func bucketOf(v uint64) int {
	if v < subN {
		return int(v)
	}
	shift := bits.Len64(v) - 1 - subBits // ≥ 0
	return (shift+1)*subN + int(v>>uint(shift)) - subN
}

// bucketRange returns the smallest and largest value of bucket i.
func bucketRange(i int) (lo, hi uint64) {
	g := i / subN
	if g == 0 {
		return uint64(i), uint64(i)
	}
	shift := uint(g - 1)
	m := uint64(i%subN + subN)
	return m << shift, (m+1)<<shift - 1
}

// Record adds one duration (negative ones count as 0).
func (h *Histogram) Record(d time.Duration) {
	v := uint64(max(d, 0))
	if v > histMax {
		v = histMax
		h.overflowed++
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += v
}

// Merge adds the counts of o.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
	h.overflowed += o.overflowed
}

// Count returns the number of values recorded.
func (h *Histogram) Count() int64 { return int64(h.n) }

// Max returns the largest value recorded, exactly.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Min returns the smallest value recorded, exactly.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Mean returns the mean of the values recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / h.n)
}

// Quantile returns the value at quantile q (0–1): the largest value of the
// bucket holding the ⌈q·n⌉-th smallest value, within the recorded min and
// max; so it is never below the true quantile and at most 0.8 % above it.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.999999999)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			_, hi := bucketRange(i)
			return time.Duration(min(max(hi, h.min), h.max))
		}
	}
	return time.Duration(h.max)
}

// Reset clears the histogram.
func (h *Histogram) Reset() { *h = Histogram{} }
