package pii

import "unicode/utf8"

// A number written for humans comes in groups: 138 1234 5678, 010-12345678,
// 6222 0212 3456 7890 123. A chain is a run of digit groups joined by single
// spaces or dashes; interpretations are tried on whole chains or on parts of
// a chain split at spaces (a dash binds its groups into one token).

const maxGroups = 8

type group struct {
	start, end int  // [start, end) in the text; includes a trailing X when x
	x          bool // 17 digits followed by the resident-ID check letter X
}

// interpretation modes
const (
	modeNormal    = iota
	modePrefix86  // after '+': only +86 mobile numbers
	modeAfterPlus // after a '+' that was not +86: a foreign phone number
)

// groupAt reads the digit group starting at p.
func (sc *scanner) groupAt(p int) group {
	s := sc.s
	n := len(s)
	e := p
	for e < n && isDigit(s[e]) {
		e++
	}
	if e-p == 17 && e < n && (s[e]|0x20) == 'x' && (e+1 >= n || !isAlnum(s[e+1])) {
		return group{p, e + 1, true}
	}
	return group{p, e, false}
}

// nextGroup returns the group that continues the chain after a group ending
// at end, if any. A group glued to letters, '@' or a decimal point belongs to
// some other token and ends the chain instead.
func (sc *scanner) nextGroup(g group) (group, bool) {
	s := sc.s
	n := len(s)
	end := g.end
	if g.x || end+1 >= n || (s[end] != ' ' && s[end] != '-') || !isDigit(s[end+1]) {
		return group{}, false
	}
	h := sc.groupAt(end + 1)
	if h.x {
		return h, true
	}
	if e := h.end; e < n {
		c := s[e]
		if isAlnum(c) || c == '@' || c == '_' || (c == '.' || c == ',') && e+1 < n && isDigit(s[e+1]) {
			return group{}, false
		}
	}
	return h, true
}

// parseGroups fills gs with up to maxGroups groups of the chain starting at
// p; more reports that the chain goes on beyond them.
func (sc *scanner) parseGroups(p int, gs *[maxGroups]group) (n int, more bool) {
	g := sc.groupAt(p)
	gs[0] = g
	n = 1
	for {
		h, ok := sc.nextGroup(g)
		if !ok {
			return n, false
		}
		if n == maxGroups {
			return n, true
		}
		gs[n] = h
		n++
		g = h
	}
}

// leftOK rejects chains that continue a decimal or thousands-separated
// number (0.13812345678, 12,345) or a dash-joined token.
func (sc *scanner) leftOK(p int) bool {
	s := sc.s
	if p < 2 {
		return true
	}
	c := s[p-1]
	return !((c == '.' || c == ',' || c == '-') && isDigit(s[p-2]))
}

// rightOK is the matching check at the end of a chain.
func (sc *scanner) rightOK(end int) bool {
	s := sc.s
	if end >= len(s) {
		return true
	}
	c := s[end]
	if isAlnum(c) || c == '_' || c == '@' {
		return false
	}
	return !((c == '.' || c == ',') && end+1 < len(s) && isDigit(s[end+1]))
}

// digits handles a chain starting at p (a pure digit run) and returns where
// scanning resumes.
func (sc *scanner) digits(p int) int {
	s := sc.s
	mode := modeNormal
	if p > 0 && s[p-1] == '+' {
		mode = modeAfterPlus
	}
	var gs [maxGroups]group
	first := true
	q := p
	if !sc.leftOK(p) {
		// The first token continues a decimal or dash-joined number; only
		// the space-separated tokens after it can stand on their own.
		next, ok, end := sc.nextToken(sc.groupAt(p))
		if !ok {
			return end
		}
		q, first, mode = next, false, modeNormal
	}
	for {
		n, more := sc.parseGroups(q, &gs)
		if first && !more {
			if t, ok := sc.interpret(gs[:n], true, mode); ok && sc.rightOK(gs[n-1].end) {
				if sc.emit(t, gs[0].start, gs[n-1].end) {
					return gs[n-1].end
				}
			}
			// 010-12345678-123: a fixed line with an extension.
			if n == 3 && s[gs[1].end] == '-' && gs[2].end-gs[2].start <= 4 && sc.rightOK(gs[2].end) {
				if t, ok := sc.interpret(gs[:2], false, mode); ok && t == LandlineCN && sc.emit(t, gs[0].start, gs[1].end) {
					return gs[2].end
				}
			}
			// A failed card-shaped chain (groups of four) is one number;
			// picking a valid-looking piece out of it would be a guess.
			if n >= 3 && cardShaped(gs[:n]) {
				return gs[n-1].end
			}
		}
		maxB := n - 1
		if maxB > 4 {
			maxB = 4
		}
		matched := -1
		for b := maxB; b >= 0; b-- {
			whole := b == n-1 && !more
			if first && whole {
				continue
			}
			end := gs[b].end
			if whole {
				if !sc.rightOK(end) {
					continue
				}
			} else if s[end] != ' ' {
				continue
			}
			if t, ok := sc.interpret(gs[:b+1], false, mode); ok && sc.emit(t, gs[0].start, end) {
				matched = b
				break
			}
		}
		first = false
		mode = modeNormal
		if matched >= 0 {
			if matched < n-1 {
				q = gs[matched+1].start
				continue
			}
			if more {
				h, _ := sc.nextGroup(gs[n-1])
				q = h.start
				continue
			}
			return gs[n-1].end
		}
		// Move to the next space-separated token of the chain.
		k := 1
		for k < n && s[gs[k].start-1] != ' ' {
			k++
		}
		if k < n {
			q = gs[k].start
			continue
		}
		if !more {
			return gs[n-1].end
		}
		next, ok, end := sc.nextToken(gs[n-1])
		if !ok {
			return end
		}
		q = next
	}
}

// nextToken walks the chain from g to the first group that follows a space,
// returning its start, or the end of the chain when there is none.
func (sc *scanner) nextToken(g group) (start int, ok bool, end int) {
	for {
		h, more := sc.nextGroup(g)
		if !more {
			return 0, false, g.end
		}
		if sc.s[h.start-1] == ' ' {
			return h.start, true, 0
		}
		g = h
	}
}

func cardShaped(gs []group) bool {
	for i, g := range gs {
		l := g.end - g.start
		if g.x || l > 4 || (i < len(gs)-1 && l != 4) {
			return false
		}
	}
	return true
}

// interpret decides what a sequence of groups is. Single groups are checked
// most specific first (a valid resident ID beats a Luhn-valid card of the
// same digits); grouped forms are checked against their customary layout.
func (sc *scanner) interpret(gs []group, whole bool, mode int) (Type, bool) {
	s := sc.s
	if len(gs) == 1 {
		g := gs[0]
		d := s[g.start:g.end]
		if g.x {
			if mode != modePrefix86 && validID18(d) {
				return IDCN, true
			}
			return "", false
		}
		if mode == modePrefix86 {
			if prefixedMobile(d) {
				return MobileCN, true
			}
			return "", false
		}
		phone := mode == modeNormal
		switch len(d) {
		case 18:
			if validID18(d) {
				return IDCN, true
			}
			if validCard(d) {
				return BankCard, true
			}
			if isUSCC(d) {
				return USCC, true
			}
			return "", false
		case 15:
			if validID15(d) {
				return IDCN, true
			}
			if phone && prefixedMobile(d) {
				return MobileCN, true
			}
		case 13:
			if phone && prefixedMobile(d) {
				return MobileCN, true
			}
		case 12:
			if phone && len(areaCode(d)) == 4 && d[4] != '0' {
				return LandlineCN, true
			}
			return "", false
		case 11:
			if phone && isMobile(d) {
				return MobileCN, true
			}
			if phone && d[0] == '0' {
				if a := areaCode(d); a != "" && d[len(a)] != '0' {
					return LandlineCN, true
				}
			}
			return "", false
		case 10:
			if phone && isServiceNumber(d[:3]) {
				return LandlineCN, true
			}
			return "", false
		}
		if validCard(d) {
			return BankCard, true
		}
		return "", false
	}

	if len(gs) > 5 {
		return "", false
	}
	var lens [maxGroups]int
	for i, g := range gs {
		if g.x {
			return "", false
		}
		lens[i] = g.end - g.start
	}
	ng := len(gs)
	first := s[gs[0].start:gs[0].end]
	if mode == modePrefix86 {
		if first == "86" && sc.mobileGroups(gs[1:]) {
			return MobileCN, true
		}
		return "", false
	}
	if mode == modeNormal {
		if sc.mobileGroups(gs) {
			return MobileCN, true
		}
		if (first == "86" || first == "0086") && sc.mobileGroups(gs[1:]) {
			return MobileCN, true
		}
		// 010-12345678, 0755 234 5678
		if a := areaCode(first); a == first {
			sub := lens[1]
			if ng == 3 {
				sub += lens[2]
			}
			split := ng == 2 || ng == 3 && lens[1] >= 3 && lens[1] <= 4 && lens[2] >= 3 && lens[2] <= 4
			if split && sub >= 7 && sub <= 8 && s[gs[1].start] != '0' {
				return LandlineCN, true
			}
		}
		// 400-123-4567, 400 1234567, 4008-123-456
		switch {
		case ng == 3 && lens[0] == 3 && lens[1] == 3 && lens[2] == 4 && isServiceNumber(first),
			ng == 2 && lens[0] == 3 && lens[1] == 7 && isServiceNumber(first),
			ng == 3 && lens[0] == 4 && lens[1] == 3 && lens[2] == 3 && isServiceNumber(first[:3]):
			return LandlineCN, true
		}
	}
	// 110101 19900307 1234
	if ng == 3 && lens[0] == 6 && lens[1] == 8 && lens[2] == 4 {
		var buf [18]byte
		if validID18(sc.concat(gs, buf[:0])) {
			return IDCN, true
		}
	}
	if whole && cardGrouping(lens[:ng]) {
		var buf [24]byte
		if d := sc.concat(gs, buf[:0]); len(d) >= 13 && len(d) <= 19 && validCard(d) && sameSeparators(s, gs) {
			return BankCard, true
		}
	}
	return "", false
}

// mobileGroups accepts 13812345678 and 138 1234 5678 as a group list.
func (sc *scanner) mobileGroups(gs []group) bool {
	s := sc.s
	switch len(gs) {
	case 1:
		return !gs[0].x && isMobile(s[gs[0].start:gs[0].end])
	case 3:
		if gs[0].end-gs[0].start != 3 || gs[1].end-gs[1].start != 4 || gs[2].end-gs[2].start != 4 || gs[2].x {
			return false
		}
		return s[gs[0].start] == '1' && s[gs[0].start+1] >= '3'
	}
	return false
}

func (sc *scanner) concat(gs []group, buf []byte) []byte {
	for _, g := range gs {
		buf = append(buf, sc.s[g.start:g.end]...)
	}
	return buf
}

func sameSeparators(s string, gs []group) bool {
	sep := s[gs[0].end]
	for _, g := range gs[:len(gs)-1] {
		if s[g.end] != sep {
			return false
		}
	}
	return true
}

// cardGrouping accepts the layouts cards are printed in: fours with a short
// last group, and the 4-6-5 / 4-6-4 of Amex and Diners.
func cardGrouping(l []int) bool {
	if len(l) == 3 && l[0] == 4 && l[1] == 6 && (l[2] == 5 || l[2] == 4) {
		return true
	}
	if len(l) < 4 {
		return false
	}
	for _, x := range l[:len(l)-1] {
		if x != 4 {
			return false
		}
	}
	last := l[len(l)-1]
	return last >= 1 && last <= 4
}

func isMobile[T string | []byte](d T) bool {
	return len(d) == 11 && d[0] == '1' && d[1] >= '3' && d[1] <= '9'
}

// prefixedMobile accepts 86/0086 followed by a mobile number.
func prefixedMobile(d string) bool {
	switch len(d) {
	case 13:
		return d[:2] == "86" && isMobile(d[2:])
	case 15:
		return d[:4] == "0086" && isMobile(d[4:])
	}
	return false
}

func isServiceNumber(d string) bool { return d == "400" || d == "800" }

// areaCode returns the area code at the start of d: 010 and 02x are three
// digits, every other area code is four.
func areaCode(d string) string {
	if len(d) < 3 || d[0] != '0' {
		return ""
	}
	switch {
	case d[1] == '1' && d[2] == '0', d[1] == '2':
		return d[:3]
	case d[1] >= '3' && len(d) >= 4:
		return d[:4]
	}
	return ""
}

// plus handles "+86 138…". A '+' followed by anything else marks a foreign
// number, which then must not be read as a mainland phone.
func (sc *scanner) plus(i int) int {
	s := sc.s
	if i+3 < len(s) && s[i+1] == '8' && s[i+2] == '6' && (i == 0 || !isAlnum(s[i-1])) {
		var gs [maxGroups]group
		n, more := sc.parseGroups(i+1, &gs)
		for b := min(n-1, 4); b >= 0; b-- {
			end := gs[b].end
			if b < n-1 || more {
				if s[end] != ' ' {
					continue
				}
			} else if !sc.rightOK(end) {
				continue
			}
			if _, ok := sc.interpret(gs[:b+1], false, modePrefix86); ok && sc.emit(MobileCN, i, end) {
				return end
			}
		}
	}
	return i + 1
}

// paren handles "(021)87654321" and the full-width "（021）87654321"; open
// is the byte length of the opening parenthesis.
func (sc *scanner) paren(i, open int) int {
	s := sc.s
	n := len(s)
	p := i + open
	a := p
	for a < n && a-p < 5 && isDigit(s[a]) {
		a++
	}
	if a-p < 3 || a-p > 4 || areaCode(s[p:a]) != s[p:a] {
		return i + open
	}
	q := a
	switch {
	case q < n && s[q] == ')':
		q++
	default:
		r, size := utf8.DecodeRuneInString(s[q:])
		if r != '）' {
			return i + open
		}
		q += size
	}
	if q < n && (s[q] == ' ' || s[q] == '-') {
		q++
	}
	if q >= n || !isDigit(s[q]) || s[q] == '0' {
		return i + open
	}
	var gs [maxGroups]group
	ng, _ := sc.parseGroups(q, &gs)
	l0 := gs[0].end - gs[0].start
	end := -1
	switch {
	case l0 >= 7 && l0 <= 8:
		end = gs[0].end
	case ng >= 2 && l0 >= 3 && l0 <= 4:
		if l1 := gs[1].end - gs[1].start; l1 >= 3 && l1 <= 4 && l0+l1 >= 7 && l0+l1 <= 8 {
			end = gs[1].end
		}
	}
	if end < 0 || gs[0].x || !sc.rightOK(end) {
		return i + open
	}
	if sc.emit(LandlineCN, i, end) {
		return end
	}
	return i + open
}

// --- validators -------------------------------------------------------

// provinceOK accepts the first two digits of a GB/T 2260 region code.
func provinceOK[T string | []byte](d T) bool {
	if len(d) < 2 || !isDigit(d[0]) || !isDigit(d[1]) {
		return false
	}
	v := int(d[0]-'0')*10 + int(d[1]-'0')
	switch {
	case v >= 11 && v <= 15, v >= 21 && v <= 23, v >= 31 && v <= 37, v >= 41 && v <= 46,
		v >= 50 && v <= 54, v >= 61 && v <= 65, v == 71, v == 81, v == 82, v == 83:
		return true
	}
	return false
}

func num[T string | []byte](d T) int {
	v := 0
	for i := 0; i < len(d); i++ {
		v = v*10 + int(d[i]-'0')
	}
	return v
}

func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	days := [...]int{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m-1]
	if m == 2 && (y%4 == 0 && y%100 != 0 || y%400 == 0) {
		days = 29
	}
	return d <= days
}

var idWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCheck = "10X98765432"

// validID18 checks an 18-character resident ID (GB 11643-1999): region,
// birth date and the mod-11 check character.
func validID18[T string | []byte](d T) bool {
	if len(d) != 18 {
		return false
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if !isDigit(d[i]) {
			return false
		}
		sum += int(d[i]-'0') * idWeights[i]
	}
	c := d[17]
	if c == 'x' {
		c = 'X'
	}
	if c != idCheck[sum%11] || !provinceOK(d) {
		return false
	}
	y := num(d[6:10])
	return y >= 1900 && y <= 2099 && validDate(y, num(d[10:12]), num(d[12:14]))
}

// validID15 checks the pre-1999 15-digit ID, which has no check digit: only
// the region and the birth date (19YYMMDD) can be verified.
func validID15(d string) bool {
	if len(d) != 15 || !allDigits(d) || !provinceOK(d) {
		return false
	}
	return validDate(1900+num(d[6:8]), num(d[8:10]), num(d[10:12]))
}

func validID(d string) bool {
	if len(d) == 15 {
		return validID15(d)
	}
	return validID18(d)
}

// validCard is Luhn plus a plausible issuer: 3 (Amex, JCB, Diners), 4
// (Visa), 5 (Mastercard), 6 (UnionPay 62, Discover).
func validCard[T string | []byte](d T) bool {
	if len(d) < 13 || len(d) > 19 || d[0] < '3' || d[0] > '6' {
		return false
	}
	sum := 0
	double := false
	for i := len(d) - 1; i >= 0; i-- {
		c := d[i]
		if !isDigit(c) {
			return false
		}
		v := int(c - '0')
		if double {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
		double = !double
	}
	return sum%10 == 0
}

// USCC alphabet (GB 32100-2015): digits and capitals without I O S V Z.
const usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"

var usccValue = func() (t [128]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(usccAlphabet); i++ {
		t[usccAlphabet[i]] = int8(i)
	}
	return
}()

var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// isUSCC checks an 18-character unified social credit code: registration
// authority, region code and the mod-31 check character. An all-digit code
// must also carry one of the common authority/type pairs, because one
// random 18-digit order number in 31 would otherwise pass the check.
func isUSCC(d string) bool {
	if len(d) != 18 {
		return false
	}
	sum := 0
	letters := false
	for i := 0; i < 18; i++ {
		c := d[i]
		if c >= 128 || usccValue[c] < 0 {
			return false
		}
		if !isDigit(c) {
			letters = true
		}
		if i < 17 {
			sum += int(usccValue[c]) * usccWeights[i]
		}
	}
	if usccAlphabet[(31-sum%31)%31] != d[17] {
		return false
	}
	switch d[0] {
	case '1', '2', '3', '4', '5', '6', '7', '8', '9', 'A', 'N', 'Y':
	default:
		return false
	}
	if !isDigit(d[1]) || d[1] == '0' || !allDigits(d[2:8]) || !(provinceOK(d[2:8]) || d[2:4] == "10") {
		return false
	}
	if !letters {
		return (d[0] == '1' || d[0] == '5' || d[0] == '9') && (d[1] == '1' || d[1] == '2' || d[1] == '3' || d[1] == '9')
	}
	return true
}
