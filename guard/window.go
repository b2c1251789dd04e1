package guard

// Feature state keeps bucketed windows, never raw events, so memory per
// entity is bounded whatever its traffic. A series keeps three levels of
// sparse buckets: minutes for the last hour, hours for the last two days and
// days for the last 91 days. A window query reads the finest level that
// covers it, so a 10-minute count is exact to the minute and a 30-day sum to
// the day. Buckets are kept sorted by index; events arrive almost in order,
// so updates touch the last bucket.

// Times in state are seconds since 2000-01-01 UTC in a uint32 (good until
// 2136): half the size of int64 Unix times, and every stored timestamp is
// after 2000.
const epoch2000 = 946684800

func stamp(unix int64) uint32 {
	s := unix - epoch2000
	if s < 0 {
		return 0
	}
	if s > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(s)
}

const (
	unitMinute = 60
	unitHour   = 3600
	unitDay    = 86400

	keepDays = 92 // 90 days and the partial days at both ends
)

type bucket struct {
	i   uint32 // time / unit
	n   uint32
	sum int64
	max int64
}

// level is one resolution of a series: bucket width and how many buckets
// to keep.
type level struct{ unit, keep uint32 }

// levels says which resolutions a kind of entity keeps. Customers need
// minute-exact short windows and 90 days of history; payees, devices and IPs
// are counted over at most a week, at coarser resolution, which halves
// their state.
type levels [3]level

var (
	customerLevels = levels{{unitMinute, 61}, {unitHour, 49}, {unitDay, keepDays}}
	payeeLevels    = levels{{unitHour, 25}, {unitDay, 8}, {}} // 1h windows read the current hour
)

// hourRing counts events per hour for the last 24 hours in a fixed array:
// devices and IPs are many and need only 1h and 24h counts, so a ring with
// no pointers (nothing for the GC to scan) replaces a bucketed series.
type hourRing struct {
	last uint32 // hour index of the latest event
	c    [24]uint16
}

func (r *hourRing) add(t uint32) {
	h := t / unitHour
	switch {
	case r.last == 0 || h >= r.last+24:
		r.c = [24]uint16{}
		r.last = h
	case h > r.last:
		for k := r.last + 1; k <= h; k++ {
			r.c[k%24] = 0
		}
		r.last = h
	case r.last-h >= 24:
		return // older than the ring holds
	}
	if r.c[h%24] < 1<<16-1 {
		r.c[h%24]++
	}
}

// counts returns the events in t's hour and in the 24 hours up to t.
func (r *hourRing) counts(t uint32) (hour, day int) {
	h := t / unitHour
	if r.last == 0 || h >= r.last+24 {
		return 0, 0
	}
	for k := uint32(0); k < 24; k++ {
		slot := r.last - k
		if slot > h || h-slot >= 24 {
			continue
		}
		n := int(r.c[slot%24])
		day += n
		if slot == h {
			hour = n
		}
		if slot == 0 {
			break
		}
	}
	return hour, day
}

type series struct {
	l [3][]bucket
}

func addBucket(bs []bucket, i uint32, amt int64, keep uint32) []bucket {
	// Find the bucket from the end: almost always the last one.
	k := len(bs) - 1
	for k >= 0 && bs[k].i > i {
		k--
	}
	if k >= 0 && bs[k].i == i {
		b := &bs[k]
		b.n++
		b.sum += amt
		if amt > b.max {
			b.max = amt
		}
	} else {
		if len(bs) > 0 && bs[len(bs)-1].i >= keep && i <= bs[len(bs)-1].i-keep {
			return bs // older than anything kept: ignore
		}
		bs = append(bs, bucket{})
		copy(bs[k+2:], bs[k+1:])
		bs[k+1] = bucket{i: i, n: 1, sum: amt, max: amt}
	}
	// Prune buckets that fell out of the level's span.
	last := bs[len(bs)-1].i
	if last >= keep {
		cut := last - keep
		j := 0
		for j < len(bs) && bs[j].i <= cut {
			j++
		}
		if j > 0 {
			n := copy(bs, bs[j:])
			clear(bs[n:])
			bs = bs[:n]
		}
	}
	return bs
}

func (s *series) add(t uint32, amt int64, lv *levels) {
	for k := range lv {
		if lv[k].unit != 0 {
			s.l[k] = addBucket(s.l[k], t/lv[k].unit, amt, lv[k].keep)
		}
	}
}

// window returns the count, sum and max of the buckets within the last w
// seconds before t (inclusive of t's own bucket), read from the finest
// level that spans w.
func (s *series) window(t uint32, w uint32, lv *levels) (n int, sum int64, max int64) {
	k := levelFor(lv, w)
	bs, unit := s.l[k], lv[k].unit
	now := t / unit
	span := w / unit
	for k := len(bs) - 1; k >= 0; k-- {
		b := &bs[k]
		if b.i > now {
			continue // a later event arrived before this one
		}
		if now-b.i >= span {
			break
		}
		n += int(b.n)
		sum += b.sum
		if b.max > max {
			max = b.max
		}
	}
	return
}

// agg is a count and sum over a window.
type agg struct {
	n   int
	sum int64
	max int64
}

// plus adds one amount to an aggregate.
func (a *agg) plus(amt int64) {
	a.n++
	a.sum += amt
	if amt > a.max {
		a.max = amt
	}
}

// windows computes several windows (ascending widths ws) in one backward
// pass per level, into out: the hot path reads six windows of the same
// series for every event.
func (s *series) windows(t uint32, lv *levels, ws []uint32, out []agg) {
	clear(out)
	for k := range lv {
		if lv[k].unit == 0 {
			continue
		}
		unit := lv[k].unit
		now := t / unit
		// The windows this level serves: those the finer levels cannot.
		lo, hi := -1, -1
		for j, w := range ws {
			if levelFor(lv, w) == k {
				if lo < 0 {
					lo = j
				}
				hi = j
			}
		}
		if lo < 0 {
			continue
		}
		maxSpan := ws[hi] / unit
		bs := s.l[k]
		for i := len(bs) - 1; i >= 0; i-- {
			b := &bs[i]
			if b.i > now {
				continue
			}
			age := now - b.i
			if age >= maxSpan {
				break
			}
			for j := lo; j <= hi; j++ {
				if age < ws[j]/unit {
					out[j].n += int(b.n)
					out[j].sum += b.sum
					if b.max > out[j].max {
						out[j].max = b.max
					}
				}
			}
		}
	}
}

// levelFor returns the finest level of lv that spans w.
func levelFor(lv *levels, w uint32) int {
	k := 0
	for k < len(lv)-1 && (lv[k].unit == 0 || lv[k].unit*(lv[k].keep-1) < w) && lv[k+1].unit != 0 {
		k++
	}
	return k
}

// seen remembers one distinct key (a payee, a device, a customer) with the
// first and last time it was seen.
type seen struct {
	h           uint64
	first, last uint32
}

// seenSet is a bounded set of distinct keys. When full, the key seen least
// recently is forgotten: distinct counts saturate at the cap, which is far
// above every threshold a rule uses.
type seenSet []seen

func (s seenSet) find(h uint64) int {
	for i := range s {
		if s[i].h == h {
			return i
		}
	}
	return -1
}

// add records h at t and reports whether it was new, and when it was first seen.
func (s *seenSet) add(h uint64, t uint32, max int) (isNew bool, first uint32) {
	if i := s.find(h); i >= 0 {
		e := &(*s)[i]
		if t > e.last {
			e.last = t
		}
		if t < e.first {
			e.first = t
		}
		return false, e.first
	}
	if len(*s) < max {
		*s = append(*s, seen{h: h, first: t, last: t})
		return true, t
	}
	oldest := 0
	for i := range *s {
		if (*s)[i].last < (*s)[oldest].last {
			oldest = i
		}
	}
	(*s)[oldest] = seen{h: h, first: t, last: t}
	return true, t
}

// distinct counts the keys seen within the last w seconds before t.
func (s seenSet) distinct(t, w uint32) int {
	n := 0
	for i := range s {
		if s[i].last <= t && t-s[i].last < w || s[i].last > t && s[i].first <= t {
			n++
		}
	}
	return n
}

// seenCounts are the distinct counts of a set over the standard windows.
type seenCounts struct {
	h1, d1, d7, d30 int // seen within 1h, 24h, 7d, 30d
	new1, new7      int // first seen within 24h, 7d
}

// counts computes every standard window in one pass over the set.
func (s seenSet) counts(t uint32) (c seenCounts) {
	for i := range s {
		e := &s[i]
		if e.first <= t && t-e.first < 7*unitDay {
			c.new7++
			if t-e.first < unitDay {
				c.new1++
			}
		}
		var age uint32
		switch {
		case e.last <= t:
			age = t - e.last
		case e.first <= t:
			age = 0 // seen before and after t (events out of order)
		default:
			continue
		}
		if age < 30*unitDay {
			c.d30++
			if age < 7*unitDay {
				c.d7++
				if age < unitDay {
					c.d1++
					if age < unitHour {
						c.h1++
					}
				}
			}
		}
	}
	return c
}

// fnv64 hashes entity ids. It is fixed (unlike hash/maphash) so snapshots and
// replays agree across processes.
func fnv64(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	if h == 0 {
		h = 1 // 0 means "none" in state
	}
	return h
}
