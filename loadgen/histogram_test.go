package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 257, 1000, 1 << 20, 1<<30 + 12345, histMax} {
		i := bucketOf(v)
		lo, hi := bucketRange(i)
		if v < lo || v > hi {
			t.Errorf("%d is in bucket %d [%d, %d]", v, i, lo, hi)
		}
		if i < prev || i >= histBuckets {
			t.Errorf("bucket %d of %d out of order or range", i, v)
		}
		prev = i
		if v >= subN && float64(hi-lo+1)/float64(lo) > 1.0/subN+1e-12 {
			t.Errorf("bucket %d [%d, %d] is wider than 1/%d", i, lo, hi, subN)
		}
	}
	// Buckets tile the range with no gap.
	for i := 1; i < histBuckets; i++ {
		_, hi := bucketRange(i - 1)
		lo, _ := bucketRange(i)
		if lo != hi+1 {
			t.Fatalf("gap between bucket %d and %d: %d, %d", i-1, i, hi, lo)
		}
	}
}

func TestQuantilesMatchExact(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	vals := make([]time.Duration, 100000)
	for i := range vals {
		// Log-normal around 2 ms, as latencies are.
		vals[i] = time.Duration(2e6 * math.Exp(0.8*r.NormFloat64()))
		h.Record(vals[i])
	}
	slices.Sort(vals)
	for _, q := range []float64{0.01, 0.5, 0.9, 0.95, 0.99, 0.999, 1} {
		exact := vals[int(math.Ceil(q*float64(len(vals))))-1]
		got := h.Quantile(q)
		if got < exact || float64(got-exact) > float64(exact)/subN+1 {
			t.Errorf("q%.3f: %v, exact %v", q, got, exact)
		}
	}
	if h.Max() != vals[len(vals)-1] || h.Min() != vals[0] || h.Count() != int64(len(vals)) {
		t.Errorf("max %v min %v count %d", h.Max(), h.Min(), h.Count())
	}
	var sum time.Duration
	for _, v := range vals {
		sum += v
	}
	if m := sum / time.Duration(len(vals)); h.Mean() != m {
		t.Errorf("mean %v, want %v", h.Mean(), m)
	}
}

func TestMergeAndEdges(t *testing.T) {
	var a, b, empty Histogram
	if empty.Quantile(0.5) != 0 || empty.Mean() != 0 || empty.Max() != 0 {
		t.Fatal("empty histogram is not zero")
	}
	for i := 1; i <= 100; i++ {
		a.Record(time.Duration(i) * time.Microsecond)
		b.Record(time.Duration(i+100) * time.Microsecond)
	}
	a.Merge(&b)
	a.Merge(&empty)
	if a.Count() != 200 || a.Min() != time.Microsecond || a.Max() != 200*time.Microsecond {
		t.Fatalf("merged: count %d min %v max %v", a.Count(), a.Min(), a.Max())
	}
	if q := a.Quantile(0.5); q < 100*time.Microsecond || q > 101*time.Microsecond {
		t.Fatalf("median %v", q)
	}
	var c Histogram
	c.Record(-time.Second)
	c.Record(5 * time.Hour)
	if c.Min() != 0 || c.Max() != time.Duration(histMax) || c.overflowed != 1 {
		t.Fatalf("edges: min %v max %v", c.Min(), c.Max())
	}
	c.Reset()
	if c.Count() != 0 {
		t.Fatal("reset")
	}
	var one Histogram
	one.Record(1234567 * time.Nanosecond)
	for _, q := range []float64{0, 0.5, 1} {
		if one.Quantile(q) != 1234567*time.Nanosecond {
			t.Fatalf("single value q%.1f: %v", q, one.Quantile(q))
		}
	}
}

func BenchmarkRecord(b *testing.B) {
	var h Histogram
	for i := range b.N {
		h.Record(time.Duration(i&0xfffff) * 100)
	}
}
