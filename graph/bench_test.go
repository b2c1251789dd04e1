package graph

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/guard"
)

// synthetic builds a graph of n customers with five links each: their
// device (a tenth on farm devices shared by 20), an IP (shared by a few,
// one customer in a hundred behind a NAT of 2,000), two transfers (mostly
// to friends, some to mule accounts with fan-in 20) and a payment to one of
// 2,000 merchants (about 500 customers each: hubs).
func synthetic(n int) (*Graph, time.Duration, uint64) {
	runtime.GC()
	var m0 runtime.MemStats
	runtime.ReadMemStats(&m0)
	start := time.Now()
	g := New(Options{})
	r := rand.New(rand.NewPCG(1, 2))
	var cb, eb []byte
	name := func(b []byte, p string, i int) []byte { return strconv.AppendInt(append(b[:0], p...), int64(i), 10) }
	add := func(c string, k guard.EntityKind, p string, i int, l Link) {
		eb = name(eb, p, i)
		if err := g.AddLink(c, Ref{k, string(eb)}, l, time.Unix(1772000000+int64(r.IntN(30*86400)), 0), 100); err != nil {
			panic(err)
		}
	}
	for i := range n {
		cb = name(cb, "C", i)
		c := string(cb)
		if r.IntN(10) == 0 {
			add(c, guard.KindDevice, "farm", i/20, LinkDevice)
		} else {
			add(c, guard.KindDevice, "d", i, LinkDevice)
		}
		if r.IntN(100) == 0 {
			add(c, guard.KindIP, "nat", r.IntN(n/2000+1), LinkIP)
		} else {
			add(c, guard.KindIP, "ip", r.IntN(n*2/5), LinkIP)
		}
		for range 2 {
			if r.IntN(50) == 0 {
				add(c, guard.KindAccount, "mule", r.IntN(n/500+1), LinkTransfer)
			} else {
				add(c, guard.KindAccount, "a", r.IntN(n*3/2), LinkTransfer)
			}
		}
		add(c, guard.KindAccount, "T", r.IntN(2000), LinkPayment)
	}
	g.Compact()
	el := time.Since(start)
	runtime.GC()
	var m1 runtime.MemStats
	runtime.ReadMemStats(&m1)
	return g, el, m1.HeapAlloc - m0.HeapAlloc
}

var (
	bigOnce  sync.Once
	big      *Graph
	bigBuild time.Duration
	bigHeap  uint64
)

// BenchmarkNeighbourhood2Hop answers 2-hop queries from random customers
// of a graph of 1M customers and 5M edges (built once, outside the timing)
// and reports the 99th percentile latency and the memory per edge.
func BenchmarkNeighbourhood2Hop(b *testing.B) {
	bigOnce.Do(func() { big, bigBuild, bigHeap = synthetic(1_000_000) })
	g := big
	b.Logf("built %d nodes, %d edges in %v; heap %d MB", g.Nodes(), g.Edges(), bigBuild.Round(time.Millisecond), bigHeap>>20)
	r := rand.New(rand.NewPCG(3, 4))
	lat := make([]time.Duration, 0, b.N)
	reached := 0
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c := Ref{guard.KindCustomer, "C" + strconv.Itoa(r.IntN(1_000_000))}
		t := time.Now()
		nb, err := g.Neighbourhood(c, 2, 1000)
		lat = append(lat, time.Since(t))
		if err != nil {
			b.Fatal(err)
		}
		reached += len(nb.Reached)
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(reached)/float64(b.N), "reached/op")
	b.ReportMetric(float64(bigHeap)/float64(g.Edges()), "heap-B/edge")
	b.ReportMetric(float64(g.MemoryBytes())/float64(g.Edges()), "arrays-B/edge")
	b.ReportMetric(bigBuild.Seconds(), "build-s")
}

// BenchmarkMiningEfficiency mines every ring from one confirmed case of the simulated
// history (see TestMiningEfficiency) and reports the efficiency figures.
func BenchmarkMiningEfficiency(b *testing.B) {
	h := simHistory(b, effConfig)
	b.ResetTimer()
	var ef *efficiency
	for range b.N {
		ef = h.mineEach(b, false)
	}
	b.StopTimer()
	b.Logf("%s", ef)
	b.ReportMetric(float64(ef.accountsFound)/float64(ef.accounts), "account-recall")
	b.ReportMetric(float64(ef.victimsFound)/float64(ef.victims), "victim-recall")
	b.ReportMetric(float64(ef.falseLinks)/float64(max(1, ef.proposed)), "false-link-rate")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N*ef.rings), "ms/ring")
}

// BenchmarkMineAll runs batch mining (Mine: every shared device, phone, ID
// number and IP and every fan-in account starts a search) over the graph of
// 1M customers and 5M edges that BenchmarkNeighbourhood2Hop uses.
func BenchmarkMineAll(b *testing.B) {
	bigOnce.Do(func() { big, bigBuild, bigHeap = synthetic(1_000_000) })
	g := big
	b.ResetTimer()
	var m *Mining
	for range b.N {
		var err error
		if m, err = g.Mine(MineOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	members := 0
	for _, r := range m.Rings {
		members += len(r.Members)
	}
	b.ReportMetric(float64(len(m.Candidates)), "candidates")
	b.ReportMetric(float64(len(m.Rings)), "rings")
	b.ReportMetric(float64(members), "members")
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/mine")
}
