package sim

// Times in the simulator are Unix seconds (int64). Every customer lives in
// China Standard Time, so local time is UTC+8 with no daylight saving, and
// events are written with a +08:00 offset.

const (
	offset = 8 * 3600
	minute = int64(60)
	hour   = int64(3600)
	day    = int64(86400)
	never  = int64(1) << 62
)

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// localDay is the number of the local calendar day of t (days since
// 1970-01-01 local).
func localDay(t int64) int64 { return floorDiv(t+offset, day) }

// localHour is the local hour of t, 0–23.
func localHour(t int64) int { return int((t + offset - localDay(t)*day) / hour) }

// dayStart is the Unix time of local midnight of local day d.
func dayStart(d int64) int64 { return d*day - offset }

// civil converts a day number (days since 1970-01-01) to a date
// (Howard Hinnant's algorithm).
func civil(z int64) (y, m, d int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	yy := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		yy++
	}
	return int(yy), m, d
}

// daysFromCivil is the inverse of civil.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := int64(y)
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := int64(y) - era*400
	mm := int64(m)
	if mm > 2 {
		mm -= 3
	} else {
		mm += 9
	}
	doy := (153*mm+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// timeFmt formats times as RFC 3339 with +08:00, caching the date part.
type timeFmt struct {
	day  int64
	date [11]byte // "2006-01-02T"
}

func (f *timeFmt) append(b []byte, t int64) []byte {
	d := localDay(t)
	if d != f.day || f.date[0] == 0 {
		y, m, dd := civil(d)
		x := appendPadded(f.date[:0], uint64(y), 4)
		x = append(x, '-')
		x = appendPadded(x, uint64(m), 2)
		x = append(x, '-')
		x = appendPadded(x, uint64(dd), 2)
		x = append(x, 'T')
		_ = x
		f.day = d
	}
	b = append(b, f.date[:]...)
	s := t + offset - d*day
	h, mi, se := s/3600, s/60%60, s%60
	return append(b, byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':',
		byte('0'+se/10), byte('0'+se%10), '+', '0', '8', ':', '0', '0')
}

func appendTime(b []byte, t int64) []byte {
	var f timeFmt
	return f.append(b, t)
}

// monthly returns the first time after t on local day-of-month dom (clamped
// to the month's length) at local second-of-day sod.
func monthly(t int64, dom int, sod int64) int64 {
	y, m, _ := civil(localDay(t))
	for range 3 {
		dd := min(dom, daysIn(y, m))
		c := dayStart(daysFromCivil(y, m, dd)) + sod
		if c > t {
			return c
		}
		m++
		if m > 12 {
			m, y = 1, y+1
		}
	}
	return never
}

// nextLocal returns the first time at or after t whose local time of day is
// sod seconds after midnight (sod may exceed a day: 26h is 02:00 the next
// day, counted from the day the window opened).
func nextLocal(t int64, sod int64) int64 {
	d := localDay(t) - 1
	for {
		c := dayStart(d) + sod
		if c >= t {
			return c
		}
		d++
	}
}
