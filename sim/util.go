package sim

import (
	"math"
	"math/bits"
)

// rng is splitmix64: tiny state, fast, good enough for a simulation, and
// fixed forever so a seed means the same output on every Go version
// (math/rand/v2's generators are fixed too, but their helpers may change).
type rng struct{ s uint64 }

func (r *rng) u64() uint64 {
	r.s += 0x9e3779b97f4a7c15
	return mix(r.s)
}

// mix is the splitmix64 finaliser; it also derives stable keys (device ids,
// accounts, names) from numbers without storing them.
func mix(z uint64) uint64 {
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// key derives a stable key from a seed and a few numbers.
func key(seed uint64, parts ...uint64) uint64 {
	h := mix(seed ^ 0x6a09e667f3bcc909)
	for _, p := range parts {
		h = mix(h ^ p + 0x9e3779b97f4a7c15)
	}
	return h
}

// f64 returns a float in [0, 1).
func (r *rng) f64() float64 { return float64(r.u64()>>11) * 0x1p-53 }

// intn returns an int in [0, n); n must be > 0.
func (r *rng) intn(n int) int {
	hi, _ := bits.Mul64(r.u64(), uint64(n))
	return int(hi)
}

// rangeInt returns an int in [lo, hi].
func (r *rng) rangeInt(lo, hi int) int { return lo + r.intn(hi-lo+1) }

// uniform returns a float in [lo, hi).
func (r *rng) uniform(lo, hi float64) float64 { return lo + (hi-lo)*r.f64() }

func (r *rng) chance(p float64) bool { return r.f64() < p }

// exp returns an exponential variate with mean 1.
func (r *rng) exp() float64 { return -math.Log(1 - r.f64()) }

// norm returns a standard normal variate (Box–Muller, one of the pair).
func (r *rng) norm() float64 {
	u := 1 - r.f64()
	v := r.f64()
	return math.Sqrt(-2*math.Log(u)) * math.Cos(2*math.Pi*v)
}

// logn returns a log-normal variate with the given median and sigma.
func (r *rng) logn(median, sigma float64) float64 { return median * math.Exp(sigma*r.norm()) }

func pick[T any](r *rng, xs []T) T { return xs[r.intn(len(xs))] }

// Money is kept in fen (int64).

// yuan converts whole yuan to fen.
func yuan(y float64) int64 { return int64(math.Round(y * 100)) }

// roundTo rounds fen to a multiple of step yuan (at least step).
func roundTo(fen int64, step int64) int64 {
	s := step * 100
	v := (fen + s/2) / s * s
	if v < s {
		v = s
	}
	return v
}

// cents rounds a yuan float to fen, keeping the cents (an amount a person
// did not choose, such as a balance).
func cents(y float64) int64 {
	f := int64(y * 100)
	if f < 1 {
		f = 1
	}
	return f
}

func appendMoney(b []byte, fen int64) []byte {
	if fen < 0 {
		b = append(b, '-')
		fen = -fen
	}
	b = appendUint(b, uint64(fen/100))
	c := fen % 100
	return append(b, '.', byte('0'+c/10), byte('0'+c%10))
}

func moneyString(fen int64) string {
	var a [24]byte
	return string(appendMoney(a[:0], fen))
}

func appendUint(b []byte, v uint64) []byte {
	if v < 10 {
		return append(b, byte('0'+v))
	}
	var a [20]byte
	i := len(a)
	for v >= 10 {
		i--
		a[i] = byte('0' + v%10)
		v /= 10
	}
	i--
	a[i] = byte('0' + v)
	return append(b, a[i:]...)
}

// appendPadded appends v in exactly n decimal digits (zero-padded, and
// truncated to the low n digits).
func appendPadded(b []byte, v uint64, n int) []byte {
	l := len(b)
	for range n {
		b = append(b, '0')
	}
	for i := l + n - 1; i >= l; i-- {
		b[i] = byte('0' + v%10)
		v /= 10
	}
	return b
}

const hexDigits = "0123456789abcdef"

func appendHex(b []byte, v uint64, n int) []byte {
	for i := n - 1; i >= 0; i-- {
		b = append(b, hexDigits[(v>>(uint(i)*4))&15])
	}
	return b
}

// appendJSONString appends s, escaped for a JSON string body (no quotes).
// The simulator's own text never needs escaping; the slow path is a guard.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' {
			return appendJSONSlow(b, s)
		}
	}
	return append(b, s...)
}

func appendJSONSlow(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&15])
		default:
			b = append(b, c)
		}
	}
	return b
}
