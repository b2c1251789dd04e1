package guard

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// This file holds DecodeEvent, the hand-written decoder of one Guard event.
// It runs for every request, so it makes a single pass over the bytes, uses
// no reflection and allocates only the Event, the strings it returns and,
// when there are unknown top-level members, the Extra map.

// decMaxDepth is the deepest nesting of objects and arrays accepted; the
// event object itself is level 1.
const decMaxDepth = 32

// decMaxFieldErrors bounds the field errors collected for one document, so
// that a hostile document cannot make the error itself huge.
const decMaxFieldErrors = 100

// The messages of the invalid-event error.
const (
	decMessage      = "the event is invalid"
	decRequired     = "is required"
	decNotString    = "must be a string"
	decNotObject    = "must be an object"
	decNotInteger   = "must be an integer"
	decDuplicate    = "duplicate member"
	decBadTime      = "must be an RFC 3339 time with an offset"
	decAmountNumber = `must be a decimal string such as "5000.00", not a number`
	decBadCurrency  = "must be 3 upper-case letters (ISO 4217)"
	decBadIP        = "must be an IPv4 or IPv6 address"
	decBadAge       = "must be between 0 and 150"
	decControl      = "must not contain control characters"
	decTooDeep      = "nesting deeper than 32 levels"
)

// DecodeEvent decodes and validates one event of the Guard contract.
//
// b must hold exactly one JSON object (surrounding whitespace aside), valid
// JSON as RFC 8259 defines it and valid UTF-8 throughout. Any problem gives
// an *xiaobao.Error with code EINVALID and one FieldError per bad field,
// named by its dotted contract path ("customer.id"); a document that cannot
// be parsed at all gives a single FieldError with an empty Field. A JSON
// null counts as an absent member. Unknown members are accepted: the
// top-level ones are returned in Event.Extra, the ones inside customer,
// device and counterparty are ignored (they stay in Raw).
//
// Member names are matched exactly (case-sensitively), after unescaping.
// Duplicate member names are rejected at the top level and inside customer,
// device and counterparty. Strings holding an unpaired UTF-16 surrogate
// escape ("\ud800") are rejected like invalid UTF-8, rather than decoded to
// U+FFFD as encoding/json does, so that two different ids never decode to
// the same string. Times want an upper-case T and Z, as time.Parse does. At
// most 100 field errors are reported.
//
// The returned Event keeps b as Raw, and its Extra values are sub-slices of
// b: b is not copied, so the caller must not modify or reuse b after the
// call. The strings of the Event do not share memory with b.
func DecodeEvent(b []byte) (*Event, error) {
	ev := &Event{Raw: b}
	ev.Customer.Age = -1
	d := eventDecoder{b: b, badOff: -1}
	if !d.event(ev) {
		return nil, xiaobao.Invalid(decMessage, xiaobao.FieldError{Field: "", Reason: d.fatal})
	}
	if len(d.errs) > 0 {
		return nil, xiaobao.Invalid(decMessage, d.errs...)
	}
	return ev, nil
}

// eventDecoder is the state of one DecodeEvent call. Its methods that
// return a bool return false on a fatal (syntax) error, recorded in fatal.
type eventDecoder struct {
	b     []byte
	i     int // the next byte to read
	errs  []xiaobao.FieldError
	fatal string

	// badOff is the offset of the first invalid UTF-8 byte or unpaired
	// surrogate escape met since it was last reset to -1; badWhat says which.
	badOff  int
	badWhat string

	buf  []byte // scratch for unescaped string values
	nbuf []byte // scratch for unescaped member names

	// names and nameSet remember the unknown member names of the known
	// sub-object being decoded, to find duplicates.
	names   []string
	nameSet map[string]struct{}
}

// Bits of the members seen, for duplicates and required members.
const (
	decEventID uint32 = 1 << iota
	decType
	decOccurredAt
	decCustomer
	decDevice
	decAmount
	decCurrency
	decCounterparty
	decMemo
)

const (
	decCustID uint32 = 1 << iota
	decCustAge
	decCustRegisteredAt
	decCustPhone
	decCustIDNumber
)

const (
	decDevID uint32 = 1 << iota
	decDevIP
)

const (
	decCpAccount uint32 = 1 << iota
	decCpName
)

// The states of a member value.
const (
	decAbsent = iota // null
	decGood          // present and valid
	decBad           // present and invalid; the error is recorded
)

// event decodes the whole document into ev.
func (d *eventDecoder) event(ev *Event) bool {
	d.ws()
	if d.i >= len(d.b) {
		return d.syntax("the document is empty")
	}
	if d.b[d.i] != '{' {
		if !d.skipValue(0) {
			return false
		}
		d.fatal = "the event must be a JSON object"
		return false
	}
	d.i++
	var seen, present, bad uint32
	var custState, cpState int = decAbsent, decAbsent
	var cpSeen uint32 // counterparty members present
	var custSeen uint32
	for first := true; ; first = false {
		name, badName, done, ok := d.member(first, "")
		if !ok {
			return false
		}
		if done {
			break
		}
		if badName {
			if !d.skipValue(1) {
				return false
			}
			continue
		}
		var bit uint32
		switch string(name) {
		case "event_id":
			bit = decEventID
		case "type":
			bit = decType
		case "occurred_at":
			bit = decOccurredAt
		case "customer":
			bit = decCustomer
		case "device":
			bit = decDevice
		case "amount":
			bit = decAmount
		case "currency":
			bit = decCurrency
		case "counterparty":
			bit = decCounterparty
		case "memo":
			bit = decMemo
		default:
			if !d.extra(ev, name) {
				return false
			}
			continue
		}
		if seen&bit != 0 {
			d.addDuplicate(decTopPath(bit))
			if !d.skipValue(1) {
				return false
			}
			continue
		}
		seen |= bit
		st := decAbsent
		ok = true
		switch bit {
		case decEventID:
			var v []byte
			if v, st, ok = d.str("event_id", 1); st == decGood {
				if d.checkLen("event_id", v, 1, 128) && decHasControl(v) {
					d.addErr("event_id", decControl)
				}
				ev.ID = string(v)
			}
		case decType:
			var v []byte
			if v, st, ok = d.str("type", 1); st == decGood {
				if t, found := decEventType(v); found {
					ev.Type = t
				} else {
					st = decBad
					d.addErr("type", "unknown event type "+decQuote(v))
				}
			}
		case decOccurredAt:
			var v []byte
			if v, st, ok = d.str("occurred_at", 1); st == decGood {
				if t, off, good := decParseTime(v); good {
					ev.OccurredAt, ev.Offset = t, off
				} else {
					st = decBad
					d.addErr("occurred_at", decBadTime)
				}
			}
		case decCustomer:
			if st, ok = d.openObject("customer"); st == decGood {
				custSeen, ok = d.customer(&ev.Customer)
			}
			custState = st
		case decDevice:
			if st, ok = d.openObject("device"); st == decGood {
				ok = d.device(&ev.Device)
			}
		case decAmount:
			st, ok = d.amount(ev)
		case decCurrency:
			var v []byte
			if v, st, ok = d.str("currency", 1); st == decGood {
				switch {
				case string(v) == "CNY":
					ev.Currency = "CNY"
				case len(v) == 3 && decUpper(v[0]) && decUpper(v[1]) && decUpper(v[2]):
					ev.Currency = string(v)
				default:
					d.addErr("currency", decBadCurrency)
				}
			}
		case decCounterparty:
			if st, ok = d.openObject("counterparty"); st == decGood {
				cpSeen, ok = d.counterparty(&ev.Counterparty)
			}
			cpState = st
		case decMemo:
			var v []byte
			if v, st, ok = d.str("memo", 1); st == decGood {
				d.checkLen("memo", v, 0, 2000)
				ev.Memo = string(v)
			}
		}
		if !ok {
			return false
		}
		switch st {
		case decGood:
			present |= bit
		case decBad:
			bad |= bit
		}
	}
	d.ws()
	if d.i != len(d.b) {
		return d.syntax("unexpected data after the event object")
	}

	// Required members.
	given := present | bad
	if given&decEventID == 0 {
		d.addErr("event_id", decRequired)
	}
	if given&decType == 0 {
		d.addErr("type", decRequired)
	}
	if given&decOccurredAt == 0 {
		d.addErr("occurred_at", decRequired)
	}
	switch custState {
	case decAbsent:
		d.addErr("customer", decRequired)
	case decGood:
		if custSeen&decCustID == 0 {
			d.addErr("customer.id", decRequired)
		}
	}
	if present&decType != 0 {
		if ev.Type.NeedsAmount() && given&decAmount == 0 {
			d.addErr("amount", decRequired)
		}
		if ev.Type.NeedsCounterparty() && cpState != decBad && cpSeen&decCpAccount == 0 {
			d.addErr("counterparty.account", decRequired)
		}
	}
	if ev.Currency == "" {
		ev.Currency = "CNY"
	}
	return true
}

// extra decodes an unknown top-level member into ev.Extra.
func (d *eventDecoder) extra(ev *Event, name []byte) bool {
	start := d.i
	d.badOff = -1
	if !d.skipValue(1) {
		return false
	}
	if d.badOff >= 0 {
		d.addBadText(string(name))
	}
	if _, dup := ev.Extra[string(name)]; dup {
		d.addDuplicate(string(name))
		return true
	}
	if ev.Extra == nil {
		ev.Extra = make(map[string][]byte, 4)
	}
	ev.Extra[string(name)] = d.b[start:d.i:d.i]
	return true
}

// openObject starts a known sub-object at path (a member of the event).
// When it returns decGood, d.i is just past the opening brace and the
// caller decodes the members.
func (d *eventDecoder) openObject(path string) (int, bool) {
	if d.i >= len(d.b) {
		return decAbsent, d.syntax("unexpected end of input")
	}
	switch d.b[d.i] {
	case '{':
		d.i++
		d.names = d.names[:0]
		d.nameSet = nil
		return decGood, true
	case 'n':
		return decAbsent, d.literal("null")
	}
	if !d.skipValue(1) {
		return decBad, false
	}
	d.addErr(path, decNotObject)
	return decBad, true
}

// subMember reads the next member of a known sub-object (level 2) at path.
// It returns
// the member's bit, or 0 when the member was an unknown or a duplicate one
// and has been skipped already.
func (d *eventDecoder) subMember(path string, first bool, seen *uint32) (bit uint32, done, ok bool) {
	name, badName, done, ok := d.member(first, path)
	if !ok || done {
		return 0, done, ok
	}
	if badName {
		return 0, false, d.skipValue(2)
	}
	bit = decSubBit(path, name)
	if bit == 0 {
		d.badOff = -1
		if !d.skipValue(2) {
			return 0, false, false
		}
		if d.badOff >= 0 {
			d.addBadText(path + "." + string(name))
		}
		if d.unknownSeen(name) {
			d.addDuplicate(path + "." + string(name))
		}
		return 0, false, true
	}
	if *seen&bit != 0 {
		d.addDuplicate(path + "." + string(name))
		return 0, false, d.skipValue(2)
	}
	*seen |= bit
	return bit, false, true
}

// decSubBit returns the bit of a known member of the sub-object at path,
// 0 for an unknown member.
func decSubBit(path string, name []byte) uint32 {
	switch path {
	case "customer":
		switch string(name) {
		case "id":
			return decCustID
		case "age":
			return decCustAge
		case "registered_at":
			return decCustRegisteredAt
		case "phone":
			return decCustPhone
		case "id_number":
			return decCustIDNumber
		}
	case "device":
		switch string(name) {
		case "id":
			return decDevID
		case "ip":
			return decDevIP
		}
	case "counterparty":
		switch string(name) {
		case "account":
			return decCpAccount
		case "name":
			return decCpName
		}
	}
	return 0
}

// unknownSeen records an unknown member name of the current sub-object and
// reports whether it was seen before.
func (d *eventDecoder) unknownSeen(name []byte) bool {
	if d.nameSet != nil {
		if _, ok := d.nameSet[string(name)]; ok {
			return true
		}
		d.nameSet[string(name)] = struct{}{}
		return false
	}
	for _, n := range d.names {
		if n == string(name) {
			return true
		}
	}
	d.names = append(d.names, string(name))
	if len(d.names) > 16 {
		d.nameSet = make(map[string]struct{}, 2*len(d.names))
		for _, n := range d.names {
			d.nameSet[n] = struct{}{}
		}
	}
	return false
}

// customer decodes the members of the customer object; it returns the bits
// of the members present (not null).
func (d *eventDecoder) customer(c *Customer) (uint32, bool) {
	var seen, present uint32
	for first := true; ; first = false {
		bit, done, ok := d.subMember("customer", first, &seen)
		if !ok {
			return 0, false
		}
		if done {
			return present, true
		}
		var v []byte
		st := decAbsent
		switch bit {
		case 0:
			continue
		case decCustID:
			if v, st, ok = d.str("customer.id", 2); st == decGood {
				d.checkLen("customer.id", v, 1, 128)
				c.ID = string(v)
			}
		case decCustAge:
			st, ok = d.age(c)
		case decCustRegisteredAt:
			if v, st, ok = d.str("customer.registered_at", 2); st == decGood {
				if t, _, good := decParseTime(v); good {
					c.RegisteredAt = t
				} else {
					d.addErr("customer.registered_at", decBadTime)
				}
			}
		case decCustPhone:
			if v, st, ok = d.str("customer.phone", 2); st == decGood {
				c.Phone = string(v)
			}
		case decCustIDNumber:
			if v, st, ok = d.str("customer.id_number", 2); st == decGood {
				c.IDNumber = string(v)
			}
		}
		if !ok {
			return 0, false
		}
		if st != decAbsent {
			present |= bit
		}
	}
}

// age decodes customer.age: a JSON integer from 0 to 150.
func (d *eventDecoder) age(c *Customer) (int, bool) {
	if d.i >= len(d.b) {
		return decAbsent, d.syntax("unexpected end of input")
	}
	switch ch := d.b[d.i]; {
	case ch == 'n':
		return decAbsent, d.literal("null")
	case ch == '-' || (ch >= '0' && ch <= '9'):
		start := d.i
		isInt, ok := d.number()
		if !ok {
			return decBad, false
		}
		if !isInt {
			d.addErr("customer.age", decNotInteger)
			return decBad, true
		}
		digits := d.b[start:d.i]
		neg := digits[0] == '-'
		if neg {
			digits = digits[1:]
		}
		if len(digits) > 3 || (neg && string(digits) != "0") {
			d.addErr("customer.age", decBadAge)
			return decBad, true
		}
		n := 0
		for _, c := range digits {
			n = n*10 + int(c-'0')
		}
		if n > 150 {
			d.addErr("customer.age", decBadAge)
			return decBad, true
		}
		c.Age = n
		return decGood, true
	}
	if !d.skipValue(2) {
		return decBad, false
	}
	d.addErr("customer.age", decNotInteger)
	return decBad, true
}

// device decodes the members of the device object.
func (d *eventDecoder) device(dv *Device) bool {
	var seen uint32
	for first := true; ; first = false {
		bit, done, ok := d.subMember("device", first, &seen)
		if !ok {
			return false
		}
		if done {
			return true
		}
		var v []byte
		st := decAbsent
		switch bit {
		case decDevID:
			if v, st, ok = d.str("device.id", 2); st == decGood {
				d.checkLen("device.id", v, 0, 128)
				dv.ID = string(v)
			}
		case decDevIP:
			if v, st, ok = d.str("device.ip", 2); st == decGood {
				s := string(v)
				if !decIsIPv4(v) {
					if _, err := netip.ParseAddr(s); err != nil {
						d.addErr("device.ip", decBadIP)
					}
				}
				dv.IP = s
			}
		}
		if !ok {
			return false
		}
	}
}

// counterparty decodes the members of the counterparty object; it returns
// the bits of the members present (not null).
func (d *eventDecoder) counterparty(cp *Counterparty) (uint32, bool) {
	var seen, present uint32
	for first := true; ; first = false {
		bit, done, ok := d.subMember("counterparty", first, &seen)
		if !ok {
			return 0, false
		}
		if done {
			return present, true
		}
		var v []byte
		st := decAbsent
		switch bit {
		case decCpAccount:
			if v, st, ok = d.str("counterparty.account", 2); st == decGood {
				d.checkLen("counterparty.account", v, 1, 128)
				cp.Account = string(v)
			}
		case decCpName:
			if v, st, ok = d.str("counterparty.name", 2); st == decGood {
				d.checkLen("counterparty.name", v, 0, 128)
				cp.Name = string(v)
			}
		}
		if !ok {
			return 0, false
		}
		if st != decAbsent {
			present |= bit
		}
	}
}

// amount decodes the amount member: a decimal string, never a number.
func (d *eventDecoder) amount(ev *Event) (int, bool) {
	if d.i >= len(d.b) {
		return decAbsent, d.syntax("unexpected end of input")
	}
	switch ch := d.b[d.i]; {
	case ch == '"':
		v, st, ok := d.str("amount", 1)
		if st != decGood {
			return st, ok
		}
		// string(v) does not escape ParseMoney, so the conversion of a
		// valid amount (at most 19 bytes) does not allocate.
		m, err := xiaobao.ParseMoney(string(v))
		if err != nil {
			d.addErr("amount", err.Error())
			return decBad, true
		}
		ev.Amount, ev.HasAmount = m, true
		return decGood, true
	case ch == 'n':
		return decAbsent, d.literal("null")
	case ch == '-' || (ch >= '0' && ch <= '9'):
		if _, ok := d.number(); !ok {
			return decBad, false
		}
		d.addErr("amount", decAmountNumber)
		return decBad, true
	}
	if !d.skipValue(1) {
		return decBad, false
	}
	d.addErr("amount", decNotString)
	return decBad, true
}

// str decodes a member value that must be a string, at path, in a
// container at the given depth. The returned bytes are the unescaped value;
// they are valid only until the next call.
func (d *eventDecoder) str(path string, depth int) ([]byte, int, bool) {
	if d.i >= len(d.b) {
		return nil, decAbsent, d.syntax("unexpected end of input")
	}
	switch d.b[d.i] {
	case '"':
		d.badOff = -1
		s, e, esc, ok := d.scanString()
		if !ok {
			return nil, decBad, false
		}
		if d.badOff >= 0 {
			d.addBadText(path)
			return nil, decBad, true
		}
		v := d.b[s:e]
		if esc {
			d.buf = decUnescape(d.buf[:0], v)
			v = d.buf
		}
		return v, decGood, true
	case 'n':
		return nil, decAbsent, d.literal("null")
	}
	if !d.skipValue(depth) {
		return nil, decBad, false
	}
	d.addErr(path, decNotString)
	return nil, decBad, true
}

// member reads the next member name of an object at path, up to and past
// the colon, or the closing brace (done). first says whether it is the
// first member. A name that is not valid text is reported and badName set.
func (d *eventDecoder) member(first bool, path string) (name []byte, badName, done, ok bool) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, false, false, d.syntax("unexpected end of input")
	}
	c := d.b[d.i]
	if c == '}' {
		d.i++
		return nil, false, true, true
	}
	if !first {
		if c != ',' {
			return nil, false, false, d.syntax("expected ',' or '}' after an object member")
		}
		d.i++
		d.ws()
		if d.i >= len(d.b) {
			return nil, false, false, d.syntax("unexpected end of input")
		}
		c = d.b[d.i]
	}
	if c != '"' {
		return nil, false, false, d.syntax("expected a member name")
	}
	d.badOff = -1
	s, e, esc, ok := d.scanString()
	if !ok {
		return nil, false, false, false
	}
	name = d.b[s:e]
	if d.badOff >= 0 {
		badName = true
		d.addErr(path, fmt.Sprintf("a member name contains %s at byte offset %d", d.badWhat, d.badOff))
	} else if esc {
		d.nbuf = decUnescape(d.nbuf[:0], name)
		name = d.nbuf
	}
	d.ws()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return nil, false, false, d.syntax("expected ':' after a member name")
	}
	d.i++
	d.ws()
	return name, badName, false, true
}

// skipValue validates and skips any JSON value, in a container at the given
// depth (0 for the document itself).
func (d *eventDecoder) skipValue(depth int) bool {
	if d.i >= len(d.b) {
		return d.syntax("unexpected end of input")
	}
	switch c := d.b[d.i]; c {
	case '"':
		_, _, _, ok := d.scanString()
		return ok
	case '{':
		if depth >= decMaxDepth {
			d.fatal = decTooDeep
			return false
		}
		d.i++
		for first := true; ; first = false {
			d.ws()
			if d.i >= len(d.b) {
				return d.syntax("unexpected end of input")
			}
			c := d.b[d.i]
			if c == '}' {
				d.i++
				return true
			}
			if !first {
				if c != ',' {
					return d.syntax("expected ',' or '}' after an object member")
				}
				d.i++
				d.ws()
				if d.i >= len(d.b) {
					return d.syntax("unexpected end of input")
				}
			}
			if d.b[d.i] != '"' {
				return d.syntax("expected a member name")
			}
			if _, _, _, ok := d.scanString(); !ok {
				return false
			}
			d.ws()
			if d.i >= len(d.b) || d.b[d.i] != ':' {
				return d.syntax("expected ':' after a member name")
			}
			d.i++
			d.ws()
			if !d.skipValue(depth + 1) {
				return false
			}
		}
	case '[':
		if depth >= decMaxDepth {
			d.fatal = decTooDeep
			return false
		}
		d.i++
		for first := true; ; first = false {
			d.ws()
			if d.i >= len(d.b) {
				return d.syntax("unexpected end of input")
			}
			if d.b[d.i] == ']' {
				d.i++
				return true
			}
			if !first {
				if d.b[d.i] != ',' {
					return d.syntax("expected ',' or ']' after an array element")
				}
				d.i++
				d.ws()
			}
			if !d.skipValue(depth + 1) {
				return false
			}
		}
	case 't':
		return d.literal("true")
	case 'f':
		return d.literal("false")
	case 'n':
		return d.literal("null")
	}
	if c := d.b[d.i]; c == '-' || (c >= '0' && c <= '9') {
		_, ok := d.number()
		return ok
	}
	return d.syntax("unexpected " + decDescribe(d.b[d.i:]))
}

// literal skips the literal lit (true, false or null) at d.i.
func (d *eventDecoder) literal(lit string) bool {
	if len(d.b)-d.i >= len(lit) && string(d.b[d.i:d.i+len(lit)]) == lit {
		d.i += len(lit)
		return true
	}
	return d.syntax("invalid literal, expected " + lit)
}

// number validates and skips a JSON number at d.i and reports whether it
// is an integer (no fraction, no exponent).
func (d *eventDecoder) number() (isInt, ok bool) {
	b, i := d.b, d.i
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		d.i = i
		return false, d.syntax("unexpected end of input in a number")
	case b[i] == '0':
		i++
	case b[i] >= '1' && b[i] <= '9':
		i++
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	default:
		d.i = i
		return false, d.syntax("invalid number")
	}
	isInt = true
	if i < len(b) && b[i] == '.' {
		isInt = false
		i++
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return false, d.syntax("invalid number: a digit must follow the decimal point")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		isInt = false
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || b[i] < '0' || b[i] > '9' {
			d.i = i
			return false, d.syntax("invalid number: a digit must follow the exponent")
		}
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
	}
	d.i = i
	return isInt, true
}

// decStrPlain[c] is true for the bytes that stand for themselves inside a
// JSON string and need no further check: printable ASCII but '"' and '\'.
var decStrPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// scanString validates and skips the string at d.i (an opening quote). It
// returns the bounds of its raw content and whether it holds escapes.
// Invalid UTF-8 and unpaired surrogate escapes are not syntax errors: they
// are recorded in badOff, once.
func (d *eventDecoder) scanString() (start, end int, esc, ok bool) {
	b := d.b
	i := d.i + 1
	start = i
	for {
		// Skip plain bytes 8 at a time: m has the high bit set in the
		// lowest byte that is a control character, '"', '\' or non-ASCII
		// (bytes above it may be false positives, which do not matter).
		for {
			if len(b)-i < 8 {
				for i < len(b) && decStrPlain[b[i]] {
					i++
				}
				break
			}
			w := binary.LittleEndian.Uint64(b[i:])
			q := w ^ 0x2222222222222222 // zero where '"'
			s := w ^ 0x5c5c5c5c5c5c5c5c // zero where '\'
			m := ((w - 0x2020202020202020) | (q - 0x0101010101010101) | (s - 0x0101010101010101) | w) & 0x8080808080808080
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(b) {
			d.i = i
			return 0, 0, false, d.syntax("unterminated string")
		}
		switch c := b[i]; {
		case c == '"':
			d.i = i + 1
			return start, i, esc, true
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				d.i = i + 1
				return 0, 0, false, d.syntax("unterminated string")
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				r, good := decHex4(b, i+2)
				if !good {
					d.i = i
					return 0, 0, false, d.syntax(`invalid \u escape`)
				}
				at := i
				i += 6
				switch {
				case r >= 0xD800 && r < 0xDC00:
					if i+1 < len(b) && b[i] == '\\' && b[i+1] == 'u' {
						r2, good := decHex4(b, i+2)
						if !good {
							d.i = i
							return 0, 0, false, d.syntax(`invalid \u escape`)
						}
						if r2 >= 0xDC00 && r2 < 0xE000 {
							i += 6
							continue
						}
					}
					d.markBad(at, "an unpaired UTF-16 surrogate escape")
				case r >= 0xDC00 && r < 0xE000:
					d.markBad(at, "an unpaired UTF-16 surrogate escape")
				}
			default:
				d.i = i
				return 0, 0, false, d.syntax("invalid escape in a string")
			}
		case c < 0x20:
			d.i = i
			return 0, 0, false, d.syntax("control character in a string (it must be escaped)")
		default: // c >= 0x80
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				d.markBad(i, "invalid UTF-8")
			}
			i += size
		}
	}
}

func (d *eventDecoder) markBad(off int, what string) {
	if d.badOff < 0 {
		d.badOff, d.badWhat = off, what
	}
}

// decHex4 decodes the 4 hex digits at b[i:].
func decHex4(b []byte, i int) (rune, bool) {
	if len(b)-i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// decUnescape appends the unescaped form of the raw string content src,
// which scanString has validated, to dst. An unpaired surrogate (only met
// in documents that are rejected anyway) becomes U+FFFD.
func decUnescape(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		if c != '\\' {
			j := i + 1
			for j < len(src) && src[j] != '\\' {
				j++
			}
			dst = append(dst, src[i:j]...)
			i = j
			continue
		}
		switch src[i+1] {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r, _ := decHex4(src, i+2)
			i += 6
			if r >= 0xD800 && r < 0xDC00 {
				if i+1 < len(src) && src[i] == '\\' && src[i+1] == 'u' {
					if r2, _ := decHex4(src, i+2); r2 >= 0xDC00 && r2 < 0xE000 {
						r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
						i += 6
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			} else if r >= 0xDC00 && r < 0xE000 {
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
			continue
		default: // '"', '\\', '/'
			dst = append(dst, src[i+1])
		}
		i += 2
	}
	return dst
}

func (d *eventDecoder) ws() {
	if d.i < len(d.b) && d.b[d.i] > ' ' {
		return
	}
	d.wsSlow()
}

func (d *eventDecoder) wsSlow() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// syntax records a fatal syntax error at d.i and returns false.
func (d *eventDecoder) syntax(what string) bool {
	d.fatal = "invalid JSON at byte offset " + strconv.Itoa(d.i) + ": " + what
	return false
}

// decDescribe names the byte at the start of b for a syntax error.
func decDescribe(b []byte) string {
	c := b[0]
	if c >= 0x20 && c < 0x7f {
		return "character " + strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

func (d *eventDecoder) addErr(field, reason string) {
	if len(d.errs) >= decMaxFieldErrors {
		return
	}
	if d.errs == nil {
		d.errs = make([]xiaobao.FieldError, 0, 4)
	}
	d.errs = append(d.errs, xiaobao.FieldError{Field: field, Reason: reason})
}

// addDuplicate reports a duplicate member, once per path.
func (d *eventDecoder) addDuplicate(path string) {
	for _, e := range d.errs {
		if e.Field == path && e.Reason == decDuplicate {
			return
		}
	}
	d.addErr(path, decDuplicate)
}

// addBadText reports the invalid UTF-8 or unpaired surrogate at badOff.
func (d *eventDecoder) addBadText(path string) {
	d.addErr(path, "contains "+d.badWhat+" at byte offset "+strconv.Itoa(d.badOff))
}

// checkLen checks that v has from min to max characters and reports
// whether it has.
func (d *eventDecoder) checkLen(path string, v []byte, min, max int) bool {
	n := len(v)
	if n > max {
		n = utf8.RuneCount(v)
	}
	if n >= min && n <= max {
		return true
	}
	if min > 0 {
		d.addErr(path, "must be "+strconv.Itoa(min)+"-"+strconv.Itoa(max)+" characters")
	} else {
		d.addErr(path, "must be at most "+strconv.Itoa(max)+" characters")
	}
	return false
}

func decTopPath(bit uint32) string {
	switch bit {
	case decEventID:
		return "event_id"
	case decType:
		return "type"
	case decOccurredAt:
		return "occurred_at"
	case decCustomer:
		return "customer"
	case decDevice:
		return "device"
	case decAmount:
		return "amount"
	case decCurrency:
		return "currency"
	case decCounterparty:
		return "counterparty"
	}
	return "memo"
}

// decEventType returns the EventType named by v, without allocating.
func decEventType(v []byte) (EventType, bool) {
	for _, t := range EventTypes {
		if string(v) == string(t) {
			return t, true
		}
	}
	return "", false
}

// decQuote quotes v for an error reason, shortened when long.
func decQuote(v []byte) string {
	const max = 64
	if utf8.RuneCount(v) <= max {
		return strconv.Quote(string(v))
	}
	n := 0
	for i := range string(v) {
		if n == max {
			return strconv.Quote(string(v[:i])) + "..."
		}
		n++
	}
	return strconv.Quote(string(v))
}

func decUpper(c byte) bool { return c >= 'A' && c <= 'Z' }

// decHasControl reports whether v holds a control character: C0, DEL or C1.
func decHasControl(v []byte) bool {
	for i, c := range v {
		if c < 0x20 || c == 0x7f || (c == 0xc2 && i+1 < len(v) && v[i+1] >= 0x80 && v[i+1] <= 0x9f) {
			return true
		}
	}
	return false
}

// decParseTime parses an RFC 3339 time with a numeric offset or Z, such as
// "2026-01-02T03:04:05.123+08:00". It returns the time in UTC and the
// offset in seconds. The fraction may have any number of digits; digits
// after the ninth are ignored. Like time.Parse, it wants an upper-case T
// and Z.
func decParseTime(s []byte) (t time.Time, offset int32, ok bool) {
	if len(s) < len("2006-01-02T15:04:05Z") ||
		s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, 0, false
	}
	year, ok1 := decDigits(s[0:4])
	month, ok2 := decDigits(s[5:7])
	day, ok3 := decDigits(s[8:10])
	hour, ok4 := decDigits(s[11:13])
	minute, ok5 := decDigits(s[14:16])
	sec, ok6 := decDigits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > decDaysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, 0, false
	}
	i := 19
	nsec := 0
	if s[i] == '.' {
		i++
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			if i-start < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
			i++
		}
		if i == start {
			return time.Time{}, 0, false
		}
		for n := i - start; n < 9; n++ {
			nsec *= 10
		}
	}
	if i >= len(s) {
		return time.Time{}, 0, false
	}
	off := 0
	switch s[i] {
	case 'Z':
		if i+1 != len(s) {
			return time.Time{}, 0, false
		}
	case '+', '-':
		if len(s)-i != len("+07:00") || s[i+3] != ':' {
			return time.Time{}, 0, false
		}
		oh, okh := decDigits(s[i+1 : i+3])
		om, okm := decDigits(s[i+4 : i+6])
		if !okh || !okm || oh > 23 || om > 59 {
			return time.Time{}, 0, false
		}
		off = (oh*60 + om) * 60
		if s[i] == '-' {
			off = -off
		}
	default:
		return time.Time{}, 0, false
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec-off, nsec, time.UTC)
	return t, int32(off), true
}

// decDigits parses a short run of decimal digits.
func decDigits(s []byte) (int, bool) {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func decDaysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// decIsIPv4 reports whether v is a dotted-quad IPv4 address in the form
// netip.ParseAddr accepts (no leading zeros); it is a fast path only, and
// false does not mean v is invalid.
func decIsIPv4(v []byte) bool {
	fields, n, digits := 0, 0, 0
	for i, c := range v {
		switch {
		case c >= '0' && c <= '9':
			if digits > 0 && n == 0 { // leading zero
				return false
			}
			n = n*10 + int(c-'0')
			digits++
			if n > 255 {
				return false
			}
		case c == '.' && digits > 0 && i+1 < len(v) && fields < 3:
			fields++
			n, digits = 0, 0
		default:
			return false
		}
	}
	return fields == 3 && digits > 0
}
