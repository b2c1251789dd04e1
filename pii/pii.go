// Package pii finds and masks personal data in the free text the platform
// receives: transfer memos, chat messages, complaint narratives, call notes.
//
// Every message passes through here before it is stored, logged or shown to
// an agent, so the scanner is a hand-written single pass over the bytes: no
// regular expressions, an ASCII fast path, and candidates anchored on digit
// and letter runs and a handful of CJK cue characters. Every attempt looks at
// a bounded window, which keeps the running time linear on hostile input.
//
// Detection is deliberately conservative. Identifiers count only in their
// validated form (a resident ID with a bad check digit, a card number that
// fails Luhn, a phone number glued into a longer digit run are not reported),
// and names are only taken where a cue such as 姓名 or 先生 makes them
// likely. A false positive mangles a memo a customer may need to read back;
// a validated form is what a leaked record would actually be.
package pii

import "strings"

// Type names a kind of personal data. The values are stable strings because
// they end up in audit records and API responses.
type Type string

// The kinds of personal data the scanner reports.
const (
	IDCN          Type = "id_cn"           // 居民身份证, 18-digit or old 15-digit
	MobileCN      Type = "mobile_cn"       // mainland mobile number
	LandlineCN    Type = "landline_cn"     // fixed line with area code, and 400/800 numbers
	BankCard      Type = "bank_card"       // payment card number passing Luhn
	USCC          Type = "uscc"            // 统一社会信用代码
	Passport      Type = "passport"        // PRC passport
	HKMacauPermit Type = "hk_macau_permit" // 港澳通行证 and 回乡证
	Email         Type = "email"
	IP            Type = "ip" // IPv4 or IPv6 address
	PlateCN       Type = "plate_cn"
	Name          Type = "name"    // Chinese person name, only next to a cue
	Address       Type = "address" // Chinese street address
)

// Finding is one piece of personal data found in a text.
//
// Byte offsets are what Go code slices with; rune offsets are what
// JavaScript and Java clients index with, so both are carried.
type Finding struct {
	Type               Type
	Start, End         int // byte offsets into the text, [Start, End)
	RuneStart, RuneEnd int // the same span in runes (characters)
	// Masked is what replaces the text in Redact: enough left to let a human
	// recognise which phone or card is meant, not enough to use it.
	Masked string
}

// Scan returns the personal data in text, in order and without overlaps.
// Where two readings compete, the longer or more specific one wins (an
// 18-digit number that is a valid resident ID is never also a card).
//
// A text with nothing in it costs no allocation.
func Scan(text string) []Finding {
	sc := scanner{s: text}
	sc.run()
	return sc.out
}

// Redact returns text with every finding replaced by its masked form, and
// the findings themselves so callers can log what was removed.
//
// Most messages contain no personal data, so that case returns the input
// string itself without allocating.
func Redact(text string) (string, []Finding) {
	fs := Scan(text)
	if len(fs) == 0 {
		return text, nil
	}
	var b strings.Builder
	b.Grow(len(text))
	prev := 0
	for _, f := range fs {
		b.WriteString(text[prev:f.Start])
		b.WriteString(f.Masked)
		prev = f.End
	}
	b.WriteString(text[prev:])
	return b.String(), fs
}
