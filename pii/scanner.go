package pii

import (
	"net/netip"
	"unicode/utf8"
)

// scanner is the state of one pass over a text. Findings are emitted left
// to right and never revisited, so lastEnd is a hard floor for every
// look-behind: nothing can start inside something already reported.
type scanner struct {
	s   string
	out []Finding

	lastEnd int // end of the last finding
	// emailEnd is where the last e-mail local-part scan stopped. A later
	// start before it would stop at the same place with the same outcome,
	// so it is skipped; this is what keeps runs like a.b.c.d… linear.
	emailEnd int

	// anchor is a byte offset whose rune offset (anchorRunes) is known.
	anchor, anchorRunes int
}

// ASCII byte classes. Zero means "cannot start anything", which is most
// bytes, so the hot loop skips them with one table load.
const (
	kNone uint8 = iota
	kDigit
	kUpper
	kLower
	kPlus
	kParen
	kColon
)

var asciiKind = func() (t [128]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = kDigit
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = kUpper
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = kLower
	}
	t['+'] = kPlus
	t['('] = kParen
	t[':'] = kColon
	return
}()

// byteBits classifies every byte value for the inner loops, so a test is
// one load without a bounds check.
const (
	bAlnum uint8 = 1 << iota
	bLocal       // allowed in an e-mail local part
	bHex
)

var byteBits = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		b := byte(c)
		if isDigit(b) || isUpper(b) || isLower(b) {
			t[c] |= bAlnum | bLocal
		}
		if isDigit(b) || (b|0x20)-'a' < 6 {
			t[c] |= bHex
		}
	}
	for _, c := range "._%+-" {
		t[c] |= bLocal
	}
	return
}()

func isDigit(c byte) bool { return c-'0' < 10 }
func isUpper(c byte) bool { return c-'A' < 26 }
func isLower(c byte) bool { return c-'a' < 26 }
func isAlnum(c byte) bool { return byteBits[c]&bAlnum != 0 }
func isHex(c byte) bool   { return byteBits[c]&bHex != 0 }

func (sc *scanner) run() {
	s := sc.s
	n := len(s)
	i := 0
	rc := 0 // runes before i
	for i < n {
		c := s[i]
		if c < utf8.RuneSelf {
			k := asciiKind[c]
			if k == kNone {
				i++
				rc++
				continue
			}
			sc.anchor, sc.anchorRunes = i, rc
			var next int
			switch k {
			case kPlus:
				next = sc.plus(i)
			case kParen:
				next = sc.paren(i, 1)
			case kColon:
				next = sc.colon(i)
			default:
				next = sc.alnum(i)
			}
			if next <= i {
				next = i + 1
			}
			rc += utf8.RuneCountInString(s[i:next])
			i = next
			continue
		}
		// CJK text is almost all three-byte sequences (ideographs, full-width
		// punctuation). Decoding them by hand, rejecting the overlong (E0)
		// and surrogate (ED) ranges exactly as the standard decoder does, is
		// much cheaper than the general decoder.
		if c&0xF0 == 0xE0 && i+2 < n && s[i+1]&0xC0 == 0x80 && s[i+2]&0xC0 == 0x80 &&
			(c != 0xE0 || s[i+1] >= 0xA0) && (c != 0xED || s[i+1] < 0xA0) {
			// Most 64-character blocks hold no trigger at all; only decode
			// in those that do.
			if hotBlock[int(c&0x0F)<<6|int(s[i+1]&0x3F)] {
				r := rune(c&0x0F)<<12 | rune(s[i+1]&0x3F)<<6 | rune(s[i+2]&0x3F)
				if uint32(r-hanLo) < hanHi-hanLo {
					if f := hanTab[r-hanLo]; f&fTrigger != 0 {
						sc.anchor, sc.anchorRunes = i, rc
						if next := sc.han(i, r, 3, f); next > i+3 {
							rc += utf8.RuneCountInString(s[i:next])
							i = next
							continue
						}
					}
				} else if r == '（' {
					sc.anchor, sc.anchorRunes = i, rc
					if next := sc.paren(i, 3); next > i+3 {
						rc += utf8.RuneCountInString(s[i:next])
						i = next
						continue
					}
				}
			}
			i += 3
			rc++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
		rc++
	}
}

// emit records a finding unless it would overlap the previous one; callers
// only advance past the span when it was accepted.
func (sc *scanner) emit(t Type, start, end int) bool {
	return sc.emitMasked(t, start, end, "")
}

func (sc *scanner) emitMasked(t Type, start, end int, masked string) bool {
	if start < sc.lastEnd || end <= start || end > len(sc.s) {
		return false
	}
	v := sc.s[start:end]
	if masked == "" {
		masked = maskAs(t, v)
	}
	// Rune offsets are counted from the nearest known point: the position
	// the main loop handed to the handler, or the end of the last finding.
	// Both are at most a candidate's length away.
	var rs int
	if start >= sc.anchor {
		rs = sc.anchorRunes + utf8.RuneCountInString(sc.s[sc.anchor:start])
	} else {
		rs = sc.anchorRunes - utf8.RuneCountInString(sc.s[start:sc.anchor])
	}
	re := rs + utf8.RuneCountInString(v)
	sc.out = append(sc.out, Finding{Type: t, Start: start, End: end, RuneStart: rs, RuneEnd: re, Masked: masked})
	sc.lastEnd = end
	sc.anchor, sc.anchorRunes = end, re
	return true
}

// alnum handles an ASCII letter or digit. Everything ASCII-shaped (numbers,
// codes, e-mail, IP) starts at the beginning of such a run; positions inside
// a run that nothing claimed are skipped wholesale, which is what makes
// "not inside a longer run" hold for every type.
func (sc *scanner) alnum(i int) int {
	s := sc.s
	n := len(s)
	e := i
	for e < n && isAlnum(s[e]) {
		e++
	}
	if i > 0 && isAlnum(s[i-1]) {
		return e
	}
	if i >= sc.emailEnd {
		if end := sc.email(i, e); end > 0 && sc.emit(Email, i, end) {
			return end
		}
	}
	if isHex(s[i]) && (i == 0 || s[i-1] != ':' && s[i-1] != '.') {
		j := i
		for j < n && j-i < 5 && isHex(s[j]) {
			j++
		}
		if j < n && s[j] == ':' {
			if end := sc.ipv6(i); end > 0 && sc.emit(IP, i, end) {
				return end
			}
		}
	}
	d := i
	for d < n && isDigit(s[d]) {
		d++
	}
	if d > i {
		if e-i == 18 && d < e && isUSCC(s[i:e]) && sc.emit(USCC, i, e) {
			return e
		}
		pure := d == e || (d-i == 17 && e == d+1 && (s[d]|0x20) == 'x')
		if !pure {
			return e
		}
		if d < n && s[d] == '.' && d-i <= 3 {
			if end := sc.ipv4(i); end > 0 && sc.emit(IP, i, end) {
				return end
			}
		}
		return sc.digits(i)
	}
	// Letter-led run.
	if isUpper(s[i]) {
		if t := passportType(s[i:e]); t != "" && sc.emit(t, i, e) {
			return e
		}
		if e-i == 18 && isUSCC(s[i:e]) && sc.emit(USCC, i, e) {
			return e
		}
	}
	// "ID110101…": a resident ID glued to a label. Only the ID, with its
	// check digit, is strong enough to be taken out of a letter run.
	j := e
	if j > i && (s[j-1]|0x20) == 'x' {
		j--
	}
	k := j
	for k > i && isDigit(s[k-1]) {
		k--
	}
	if k > i && (j-k == 18 && j == e || j-k == 17 && j == e-1 || j-k == 15 && j == e) {
		if validID(s[k:e]) && sc.emit(IDCN, k, e) {
			return e
		}
	}
	return e
}

// email matches local@domain.tld starting at i, where the alphanumeric run
// at i ends at e; it returns the end or -1.
func (sc *scanner) email(i, e int) int {
	s := sc.s
	n := len(s)
	j := e
	dots := false
	if j < n && isLocal(s[j]) {
		limit := min(n, i+65)
		for j < limit && isLocal(s[j]) {
			if s[j] == '.' && s[j-1] == '.' {
				dots = true
			}
			j++
		}
		if j == limit && j < n && isLocal(s[j]) {
			return -1 // longer than 64: not a local part, but don't mark the run
		}
	}
	if j >= n || s[j] != '@' {
		sc.emailEnd = j
		return -1
	}
	sc.emailEnd = j
	if dots || s[j-1] == '.' || j-i > 64 {
		return -1
	}
	// domain: labels of [A-Za-z0-9-], at least two, ending in an alphabetic TLD.
	k := j + 1
	end := -1
	labels := 0
	for k-(j+1) <= 253 {
		ls := k
		for k < n && k-ls <= 63 && (isAlnum(s[k]) || s[k] == '-') {
			k++
		}
		if k == ls || k-ls > 63 || s[ls] == '-' || s[k-1] == '-' {
			break
		}
		labels++
		if labels >= 2 && isTLD(s[ls:k]) {
			end = k
		}
		if k+1 < n && s[k] == '.' && isAlnum(s[k+1]) {
			k++
			continue
		}
		break
	}
	if end < 0 || (end < n && (isAlnum(s[end]) || s[end] == '-' || s[end] == '_')) {
		return -1
	}
	return end
}

func isLocal(c byte) bool { return byteBits[c]&bLocal != 0 }

func isTLD(l string) bool {
	if len(l) < 2 || len(l) > 24 {
		return false
	}
	for i := 0; i < len(l); i++ {
		if !isUpper(l[i]) && !isLower(l[i]) {
			return false
		}
	}
	return true
}

// ipv4 matches a dotted quad at i. A quad that is part of a longer dotted
// run (1.2.3.4.5, a version string) is not an address.
func (sc *scanner) ipv4(i int) int {
	s := sc.s
	n := len(s)
	if i > 0 && (s[i-1] == '.' || s[i-1] == '_' || s[i-1] == '-' && i > 1 && isDigit(s[i-2])) {
		return -1
	}
	p := i
	for part := 0; part < 4; part++ {
		q := p
		v := 0
		for q < n && q-p < 4 && isDigit(s[q]) {
			v = v*10 + int(s[q]-'0')
			q++
		}
		if q == p || q-p > 3 || v > 255 {
			return -1
		}
		p = q
		if part < 3 {
			if p >= n || s[p] != '.' {
				return -1
			}
			p++
		}
	}
	if p < n {
		c := s[p]
		if isAlnum(c) || c == '_' || (c == '.' || c == '-') && p+1 < n && isAlnum(s[p+1]) {
			return -1
		}
	}
	return p
}

// ipv6 matches an IPv6 address starting at i (a hex digit or "::").
// Candidates are pre-checked by hand so that the common failures (clock
// times, MAC addresses) cost no allocation; net/netip has the last word.
func (sc *scanner) ipv6(i int) int {
	s := sc.s
	n := len(s)
	j := i
	for j < n && (isHex(s[j]) || s[j] == ':' || s[j] == '.') {
		j++
		if j-i > 45 {
			return -1
		}
	}
	if j < n && (isAlnum(s[j]) || s[j] == '_') {
		return -1
	}
	for j > i && s[j-1] == '.' {
		j--
	}
	if j-i >= 2 && s[j-1] == ':' && s[j-2] != ':' {
		j--
	}
	c := s[i:j]
	if !plausibleIPv6(c) {
		return -1
	}
	a, err := netip.ParseAddr(c)
	if err != nil || !a.Is6() {
		return -1
	}
	return j
}

// plausibleIPv6 checks the group structure of an IPv6 literal and demands at
// least two non-empty groups and one decimal digit: "::1" and "dead::beef"
// are valid addresses but far more often something else in chat text.
func plausibleIPv6(c string) bool {
	n := len(c)
	if n < 3 {
		return false
	}
	i := 0
	groups, nonEmpty := 0, 0
	dbl, digit := false, false
	if c[0] == ':' {
		if c[1] != ':' {
			return false
		}
		dbl = true
		i = 2
	}
	for i < n {
		j := i
		dot := false
		for j < n && c[j] != ':' {
			if c[j] == '.' {
				dot = true
			}
			if isDigit(c[j]) {
				digit = true
			}
			j++
		}
		g := c[i:j]
		switch {
		case dot:
			if j != n || !isDottedQuad(g) {
				return false
			}
			groups += 2
		case len(g) >= 1 && len(g) <= 4:
			groups++
		default:
			return false
		}
		nonEmpty++
		if j == n {
			break
		}
		if j+1 < n && c[j+1] == ':' {
			if dbl {
				return false
			}
			dbl = true
			i = j + 2
			continue
		}
		if j+1 == n {
			return false
		}
		i = j + 1
	}
	if nonEmpty < 2 || !digit {
		return false
	}
	if dbl {
		return groups <= 7
	}
	return groups == 8
}

func isDottedQuad(g string) bool {
	parts, v, digits := 0, 0, 0
	for i := 0; i <= len(g); i++ {
		if i == len(g) || g[i] == '.' {
			if digits == 0 || digits > 3 || v > 255 {
				return false
			}
			parts++
			v, digits = 0, 0
			continue
		}
		if !isDigit(g[i]) {
			return false
		}
		v = v*10 + int(g[i]-'0')
		digits++
	}
	return parts == 4
}

// colon starts IPv6 literals written with a leading "::".
func (sc *scanner) colon(i int) int {
	s := sc.s
	if i+2 < len(s) && s[i+1] == ':' && (i == 0 || !isHex(s[i-1]) && s[i-1] != ':' && s[i-1] != '.') {
		if end := sc.ipv6(i); end > 0 && sc.emit(IP, i, end) {
			return end
		}
	}
	return i + 1
}

// passportType recognises PRC passports and the HK/Macau travel permits,
// which share a letter-plus-digits shape and differ only by the letter.
func passportType(w string) Type {
	switch len(w) {
	case 9:
		if allDigits(w[1:]) {
			switch w[0] {
			case 'E', 'G', 'D', 'S', 'P':
				return Passport
			case 'C', 'H', 'M':
				return HKMacauPermit
			}
			return ""
		}
		if isUpper(w[1]) && w[1] != 'I' && w[1] != 'O' && allDigits(w[2:]) {
			switch w[0] {
			case 'E':
				return Passport
			case 'C':
				return HKMacauPermit
			}
		}
	case 11:
		if (w[0] == 'H' || w[0] == 'M') && allDigits(w[1:]) {
			return HKMacauPermit
		}
	}
	return ""
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return len(s) > 0
}
