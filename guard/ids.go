package guard

import (
	crand "crypto/rand"
	"math/rand/v2"
	"sync"
	"time"
)

// idGen makes sortable ids: a 48-bit millisecond time and 80 random bits in
// Crockford base32 (the ULID layout), so decision ids sort by time and
// cannot be guessed.
type idGen struct {
	mu  sync.Mutex
	rng *rand.ChaCha8
}

func newIDGen() *idGen {
	var seed [32]byte
	_, _ = crand.Read(seed[:])
	return &idGen{rng: rand.NewChaCha8(seed)}
}

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

func (g *idGen) next(prefix string, t time.Time) string {
	g.mu.Lock()
	hi, lo := g.rng.Uint64(), g.rng.Uint64()
	g.mu.Unlock()
	ms := uint64(t.UnixMilli())
	var b [26]byte
	// 10 chars of time (50 bits, top 2 zero), 16 chars of randomness (80 bits).
	for i := 9; i >= 0; i-- {
		b[i] = crockford[ms&31]
		ms >>= 5
	}
	r := hi
	for i := 10; i < 26; i++ {
		if i == 22 {
			r = lo
		}
		b[i] = crockford[r&31]
		r >>= 5
	}
	return prefix + string(b[:])
}

// bloom is a Bloom filter of seen event ids: an event id that is certainly
// new (the common case) needs no store lookup before it is decided.
type bloom struct {
	bits []uint64
	m    uint64
}

func newBloom(n uint64) *bloom {
	m := n * 10 // ~1% false positives with 7 probes
	if m < 1<<16 {
		m = 1 << 16
	}
	return &bloom{bits: make([]uint64, (m+63)/64), m: m}
}

func (b *bloom) probes(s string) (uint64, uint64) {
	h := fnv64(s)
	return h, h>>33 | h<<31 | 1
}

func (b *bloom) add(s string) {
	h1, h2 := b.probes(s)
	for i := uint64(0); i < 7; i++ {
		k := (h1 + i*h2) % b.m
		b.bits[k/64] |= 1 << (k % 64)
	}
}

func (b *bloom) has(s string) bool {
	h1, h2 := b.probes(s)
	for i := uint64(0); i < 7; i++ {
		k := (h1 + i*h2) % b.m
		if b.bits[k/64]&(1<<(k%64)) == 0 {
			return false
		}
	}
	return true
}
