package pii

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The maskers keep what lets a customer or an agent recognise which phone,
// card or account is meant (the conventions Chinese banks and apps print on
// statements) and hide what would let someone use it. They preserve the
// layout of the input, separators included, so a masked memo still reads
// like the original.

func maskAs(t Type, v string) string {
	switch t {
	case IDCN:
		return MaskIDNumber(v)
	case MobileCN, LandlineCN:
		return MaskPhone(v)
	case BankCard:
		return MaskCard(v)
	case USCC:
		return keepEnds(v, 2, 2)
	case Passport, HKMacauPermit:
		return keepEnds(v, 1, 2)
	case Email:
		return MaskEmail(v)
	case IP:
		return MaskIP(v)
	case PlateCN:
		return maskPlate(v)
	case Name:
		return MaskName(v)
	}
	return "****"
}

// maskDigits replaces the digits of s whose index among the digits is in
// [from, to) with '*', leaving every other byte alone.
func maskDigits(s string, from, to int) string {
	b := []byte(s)
	k := 0
	for i, c := range b {
		if isDigit(c) {
			if k >= from && k < to {
				b[i] = '*'
			}
			k++
		}
	}
	return string(b)
}

func countDigits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			n++
		}
	}
	return n
}

// MaskPhone masks a phone number the way Chinese apps print it: a mobile
// keeps its operator prefix and last four (138****5678), a fixed line keeps
// its area code and last two (010-******78). A +86/0086 prefix is kept so
// the number still reads as Chinese.
func MaskPhone(s string) string {
	d := make([]byte, 0, 20)
	for i := 0; i < len(s); i++ {
		if isDigit(s[i]) {
			d = append(d, s[i])
		}
	}
	pre := 0
	switch {
	case len(d) == 13 && string(d[:2]) == "86" && isMobile(d[2:]):
		pre = 2
	case len(d) == 15 && string(d[:4]) == "0086" && isMobile(d[4:]):
		pre = 4
	}
	if len(d) == 0 {
		return MaskAccount(s)
	}
	nat := d[pre:]
	switch {
	case isMobile(nat):
		return maskDigits(s, pre+3, pre+7)
	case len(nat) >= 10 && nat[0] == '0':
		area := 4
		if nat[1] == '1' || nat[1] == '2' {
			area = 3
		}
		return maskDigits(s, pre+area, len(d)-2)
	case len(nat) >= 10 && (string(nat[:3]) == "400" || string(nat[:3]) == "800"):
		return maskDigits(s, 3, len(d)-2)
	case len(d) >= 7:
		return maskDigits(s, 3, len(d)-2)
	}
	return maskDigits(s, 0, len(d))
}

// MaskIDNumber keeps the region code and the last four characters (last
// three for the old 15-digit form), as on Chinese bank and court documents.
func MaskIDNumber(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if isAlnum(s[i]) {
			n++
		}
	}
	tail := 4
	if n == 15 {
		tail = 3
	}
	if n < 6+tail+4 {
		return MaskAccount(s)
	}
	b := []byte(s)
	k := 0
	for i, c := range b {
		if isAlnum(c) {
			if k >= 6 && k < n-tail {
				b[i] = '*'
			}
			k++
		}
	}
	return string(b)
}

// MaskCard keeps the issuer prefix (first six, the BIN) and the last four,
// which is what card holders are used to seeing. Short numbers keep less so
// that at least four digits stay hidden.
func MaskCard(s string) string {
	n := countDigits(s)
	switch {
	case n >= 13:
		return maskDigits(s, 6, n-4)
	case n >= 10:
		return maskDigits(s, n-8, n-4)
	case n >= 6:
		return maskDigits(s, 2, n-2)
	case n == 0:
		return keepEnds(s, 2, 2)
	}
	return maskDigits(s, 0, n)
}

// MaskAccount masks an identifier of unknown kind: account numbers, terminal
// IDs, user names. Long digit strings are treated like cards; anything else
// keeps two characters at each end.
func MaskAccount(s string) string {
	n := countDigits(s)
	digitsOnly := n > 0
	for i := 0; i < len(s) && digitsOnly; i++ {
		c := s[i]
		digitsOnly = isDigit(c) || c == ' ' || c == '-'
	}
	if digitsOnly && n >= 10 {
		return MaskCard(s)
	}
	return keepEnds(s, 2, 2)
}

// keepEnds keeps head and tail runes and replaces the rest with '*'. Values
// too short to hide anything that way are masked entirely.
func keepEnds(s string, head, tail int) string {
	n := utf8.RuneCountInString(s)
	if n < head+tail+2 {
		return strings.Repeat("*", n)
	}
	var b strings.Builder
	b.Grow(len(s))
	k := 0
	for _, r := range s {
		if k < head || k >= n-tail {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		k++
	}
	return b.String()
}

// MaskName keeps the surname, which is shared by millions and lets an agent
// address the customer (张*, 欧阳**). Latin names keep their initial.
func MaskName(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	r0, n0 := utf8.DecodeRuneInString(s)
	if r0 < utf8.RuneSelf {
		if isUpper(byte(r0)) || isLower(byte(r0)) {
			return string(r0) + "***"
		}
		return keepEnds(s, 1, 0)
	}
	n := utf8.RuneCountInString(s)
	keep := 1
	if r1, n1 := utf8.DecodeRuneInString(s[n0:]); n > 2 && n1 > 0 && isCompound(r0, r1) {
		keep = 2
	}
	if n <= keep {
		return strings.Repeat("*", n)
	}
	var b strings.Builder
	k := 0
	for _, r := range s {
		if k < keep {
			b.WriteRune(r)
		} else {
			b.WriteByte('*')
		}
		k++
	}
	return b.String()
}

// MaskEmail keeps the first character of the mailbox and the whole domain:
// the domain is rarely personal and tells an agent which provider it is.
func MaskEmail(s string) string {
	at := strings.LastIndexByte(s, '@')
	if at < 0 {
		return MaskAccount(s)
	}
	local := s[:at]
	if utf8.RuneCountInString(local) < 2 {
		return "***" + s[at:]
	}
	_, n := utf8.DecodeRuneInString(local)
	return local[:n] + "***" + s[at:]
}

// MaskIP keeps the network half of an address (10.1.*.*; the first two
// groups of an IPv6 address), enough to tell office from mobile networks.
func MaskIP(s string) string {
	if strings.IndexByte(s, ':') >= 0 {
		a, err := netip.ParseAddr(s)
		if err != nil || !a.Is6() {
			return MaskAccount(s)
		}
		b := a.As16()
		return strconv.FormatUint(uint64(b[0])<<8|uint64(b[1]), 16) + ":" +
			strconv.FormatUint(uint64(b[2])<<8|uint64(b[3]), 16) + ":*:*:*:*:*:*"
	}
	if !isDottedQuad(s) {
		return MaskAccount(s)
	}
	dot := strings.IndexByte(s, '.')
	dot += 1 + strings.IndexByte(s[dot+1:], '.')
	return s[:dot] + ".*.*"
}

// maskPlate keeps the province and the issuing-office letter, which say
// where a car is registered, and the last character.
func maskPlate(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	n := utf8.RuneCountInString(s)
	k := 0
	for _, r := range s {
		switch {
		case k < 2 || k == n-1:
			b.WriteRune(r)
		case r < utf8.RuneSelf && isAlnum(byte(r)):
			b.WriteByte('*')
		default:
			b.WriteRune(r)
		}
		k++
	}
	return b.String()
}
