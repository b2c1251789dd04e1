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
	payeeLevels    = levels{{600, 7}, {unitHour, 49}, {unitDay, 8}}
	deviceLevels   = levels{{unitHour, 25}, {}, {}} // 1h windows read the current hour bucket
)

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
	k := 0
	for k < len(lv)-1 && (lv[k].unit == 0 || lv[k].unit*(lv[k].keep-1) < w) && lv[k+1].unit != 0 {
		k++
	}
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

// distinctNew counts keys first seen within the last w seconds before t.
func (s seenSet) distinctNew(t, w uint32) int {
	n := 0
	for i := range s {
		if s[i].first <= t && t-s[i].first < w {
			n++
		}
	}
	return n
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
