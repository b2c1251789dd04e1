package pii

import (
	"strings"
	"unicode/utf8"
)

// han handles an ideograph carrying a trigger flag and returns where
// scanning resumes (i+size when nothing was found at or after i).
func (sc *scanner) han(i int, r rune, size int, f uint32) int {
	s := sc.s
	if f&fProvince != 0 && i+size < len(s) && isUpper(s[i+size]) {
		if end := sc.plate(i, size); end > 0 && sc.emit(PlateCN, i, end) {
			return end
		}
	}
	if f&(fTitle|fCue) != 0 {
		ws := &wordSets[f>>wordShift]
		if ws.title != "" && strings.HasPrefix(s[i:], ws.title) {
			sc.nameBeforeTitle(i)
		}
		if end := sc.nameAfterCue(i, ws.cues); end > 0 {
			return end
		}
	}
	if f&fAddrTrig != 0 {
		if end := sc.address(i); end > 0 {
			return end
		}
	}
	return i + size
}

// decodeHan decodes the rune at p if it is a CJK ideograph.
func decodeHan(s string, p int) (rune, int) {
	if p+2 >= len(s) || s[p] < 0xE4 || s[p] > 0xE9 || s[p+1]&0xC0 != 0x80 || s[p+2]&0xC0 != 0x80 {
		return 0, 0
	}
	r := rune(s[p]&0x0F)<<12 | rune(s[p+1]&0x3F)<<6 | rune(s[p+2]&0x3F)
	if r < hanLo {
		return 0, 0
	}
	return r, 3
}

// lastHan decodes the ideograph ending at p.
func lastHan(s string, p int) (rune, int) {
	if p < 3 {
		return 0, 0
	}
	return decodeHan(s, p-3)
}

// --- licence plates -----------------------------------------------------

// plate matches 京A12345, 粤B·D12345 (new energy), 京A1234学 at i, where the
// province abbreviation is size bytes long.
func (sc *scanner) plate(i, size int) int {
	s := sc.s
	n := len(s)
	p := i + size
	if p >= n || !isUpper(s[p]) || s[p] == 'I' || s[p] == 'O' {
		return -1
	}
	p++
	if p < n {
		switch {
		case s[p] == ' ' || s[p] == '-':
			p++
		case strings.HasPrefix(s[p:], "·"):
			p += len("·")
		case strings.HasPrefix(s[p:], "•"):
			p += len("•")
		}
	}
	q := p
	digits := 0
	for q < n && q-p < 7 && (isDigit(s[q]) || isUpper(s[q])) {
		if s[q] == 'I' || s[q] == 'O' {
			return -1
		}
		if isDigit(s[q]) {
			digits++
		}
		q++
	}
	if q < n && isAlnum(s[q]) {
		return -1
	}
	body := s[p:q]
	switch len(body) {
	case 5:
		if digits >= 3 {
			return q
		}
	case 6:
		// New-energy plates: D/F then a letter or digit then four digits
		// (small cars), or five digits then D/F (large vehicles).
		if (body[0] == 'D' || body[0] == 'F') && allDigits(body[2:]) ||
			allDigits(body[:5]) && (body[5] == 'D' || body[5] == 'F') {
			return q
		}
	case 4:
		if r, sz := decodeHan(s, q); sz > 0 && strings.ContainsRune(plateSpecials, r) && digits >= 3 {
			return q + sz
		}
	}
	return -1
}

// --- names --------------------------------------------------------------

// nameAfterCue looks for "姓名：张三", "我叫李四", "收款人 王五" at i.
func (sc *scanner) nameAfterCue(i int, cues []string) int {
	s := sc.s
	for _, cue := range cues {
		if len(s)-i < len(cue) || s[i:i+len(cue)] != cue {
			continue
		}
		p := skipCueSep(s, i+len(cue))
		if cue != "我叫" && cue != "我是" {
			if c, n := decodeHan(s, p); c == '是' || c == '叫' || c == '为' {
				p = skipCueSep(s, p+n)
			}
		}
		if end, ok := sc.parseName(p); ok && sc.emit(Name, p, end) {
			return end
		}
		return -1
	}
	return -1
}

func skipCueSep(s string, p int) int {
	for k := 0; k < 3 && p < len(s); k++ {
		switch {
		case s[p] == ' ' || s[p] == ':' || s[p] == '\t':
			p++
		case strings.HasPrefix(s[p:], "："):
			p += len("：")
		default:
			return p
		}
	}
	return p
}

// parseName reads a surname and one or two given-name characters at p.
func (sc *scanner) parseName(p int) (int, bool) {
	s := sc.s
	r1, n1 := decodeHan(s, p)
	if n1 == 0 {
		return 0, false
	}
	q := p
	if r2, n2 := decodeHan(s, p+n1); n2 > 0 && isCompound(r1, r2) {
		q = p + n1 + n2
	} else if isSurname(r1) {
		q = p + n1
	} else {
		return 0, false
	}
	if hasBlockedPrefix(s[p:]) {
		return 0, false
	}
	given := 0
	for given < 2 {
		r, n := decodeHan(s, q)
		if n == 0 || hanFlag(r)&fNameStop != 0 || startsStopWord(s[q:], r) {
			break
		}
		q += n
		given++
	}
	return q, given > 0
}

// nameBeforeTitle looks back from a title at i ("张三先生") for a surname and
// one or two given-name characters.
func (sc *scanner) nameBeforeTitle(i int) {
	s := sc.s
	var pos [5]int
	var rs [5]rune
	p, k := i, 0
	for k < 4 {
		r, n := lastHan(s, p)
		if n == 0 || p-n < sc.lastEnd || hanFlag(r)&fNameStop != 0 {
			break
		}
		p -= n
		k++
		rs[k], pos[k] = r, p
	}
	// The character right before the title being a very common surname
	// means the title addresses that surname alone ("王先生").
	if k < 2 || hanFlag(rs[1])&fTopSurname != 0 {
		return
	}
	start := -1
	switch {
	case k >= 4 && isCompound(rs[4], rs[3]):
		start = pos[4]
	case k >= 3 && isCompound(rs[3], rs[2]):
		start = pos[3]
	case k >= 3 && isSurname(rs[3]) && (k == 3 || !isSurname(rs[2])):
		start = pos[3]
	case isSurname(rs[2]):
		start = pos[2]
	}
	if start < 0 || hasBlockedPrefix(s[start:]) {
		return
	}
	for q := start; q < i; q += 3 {
		r, _ := decodeHan(s, q)
		if startsStopWord(s[q:], r) {
			return
		}
	}
	sc.emit(Name, start, i)
}

// --- addresses ----------------------------------------------------------

type addrSeg struct {
	end, unitStart int
	u              *unit
	name           int // runes in the component name
	used           int // runes in the component, name and unit
}

type addrParse struct {
	end, keep int
	segs      int
	strong    bool
	first     addrSeg
}

const maxAddrRunes = 60

// address is called at the last character of an address unit (省 市 区 路
// …). It looks back over the component name, then parses the chain of
// components forward from there.
func (sc *scanner) address(i int) int {
	s := sc.s
	p, k := i, 0
	for k < 8 {
		r, n := lastHan(s, p)
		if n == 0 || p-n < sc.lastEnd || hanFlag(r)&fAddrStop != 0 {
			break
		}
		p -= n
		k++
	}
	if k == 0 {
		return -1
	}
	start := p
	a := sc.parseAddress(start)
	if !a.ok() || a.end <= i {
		return -1
	}
	// The look-back may have swallowed words before the address; trim the
	// first component to a known province name or to what its unit allows.
	f := a.first
	newStart := start
	if f.u.class == uAdmin {
		name := s[start:f.unitStart]
		best := ""
		for _, pn := range provinceNames {
			if len(pn) > len(best) && strings.HasSuffix(name, pn) {
				best = pn
			}
		}
		if best != "" {
			newStart = f.unitStart - len(best)
		}
	}
	if newStart == start && f.name > f.u.cap {
		for skip := f.name - f.u.cap; skip > 0; skip-- {
			_, n := utf8.DecodeRuneInString(s[newStart:])
			newStart += n
		}
	}
	if newStart != start {
		if b := sc.parseAddress(newStart); b.ok() && b.end > i {
			start, a = newStart, b
		}
	}
	masked := s[start:a.keep] + "****"
	if sc.emitMasked(Address, start, a.end, masked) {
		return a.end
	}
	return -1
}

func (a *addrParse) ok() bool { return a.segs >= 2 && a.strong }

func (sc *scanner) parseAddress(start int) addrParse {
	a := addrParse{keep: start}
	p, runes := start, 0
	leading := true
	for {
		seg, ok := sc.addrSegment(p, maxAddrRunes-runes)
		if !ok {
			break
		}
		if a.segs == 0 {
			a.first = seg
		}
		a.segs++
		runes += seg.used
		if seg.u.strong {
			a.strong = true
		}
		if leading && seg.u.class == uAdmin {
			a.keep = seg.end
		} else {
			leading = false
		}
		p = seg.end
		a.end = p
		// Real addresses reach a street-level unit within province, city,
		// district and township; giving up after that bounds the work a
		// run of unit characters (市市市…) can cause.
		if !a.strong && a.segs >= 5 {
			a.segs = 0
			return a
		}
	}
	return a
}

// addrSegment parses one component (a name then a unit) at p using at most
// budget runes.
func (sc *scanner) addrSegment(p, budget int) (addrSeg, bool) {
	s := sc.s
	q := p
	name := 0
	hasHan, hasASCII, numeric, allNum := false, false, false, true
	for name <= 8 && name < budget && q < len(s) {
		c := s[q]
		var r rune
		var n int
		if c < utf8.RuneSelf {
			r, n = rune(c), 1
		} else {
			r, n = utf8.DecodeRuneInString(s[q:])
		}
		f := hanFlag(r)
		if name > 0 && f&fUnitStart != 0 {
			for _, u := range unitsByFirst[r] {
				if name+u.runes > budget || !strings.HasPrefix(s[q:], u.s) {
					continue
				}
				var ok bool
				switch u.class {
				case uAdmin, uTown:
					ok = hasHan && !hasASCII && name >= u.min && name <= 8
				case uRoad, uPlace:
					ok = hasHan && name >= u.min && name <= 8
				case uNum:
					ok = allNum && name <= 6 && (numeric || name == 1 && hasASCII)
				}
				if ok {
					return addrSeg{end: q + len(u.s), unitStart: q, u: u, name: name, used: name + u.runes}, true
				}
			}
		}
		switch {
		case c < utf8.RuneSelf:
			if !isAlnum(c) && !(c == '-' && name > 0) {
				return addrSeg{}, false
			}
			hasASCII = true
			if isDigit(c) {
				numeric = true
			}
		case isHanRune(r) && f&fAddrStop == 0:
			hasHan = true
			if f&fNumeral != 0 {
				numeric = true
			} else {
				allNum = false
			}
		default:
			return addrSeg{}, false
		}
		q += n
		name++
	}
	return addrSeg{}, false
}
