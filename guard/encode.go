package guard

import (
	"encoding/json"
	"math"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// AppendDecisionJSON appends the JSON encoding of d to dst and returns the
// extended buffer. The output is byte for byte what json.Marshal(d)
// produces (member names and order of the struct tags, omitempty, times in
// RFC 3339 with nanoseconds, floats and HTML-safe string escaping as
// encoding/json does them, the keys of maps sorted), only much faster.
//
// Values of Reason.Values of type bool, string, int, int64, float64 and nil
// are encoded directly; any other value is encoded with json.Marshal.
//
// Where json.Marshal would fail, AppendDecisionJSON still produces valid
// JSON: a NaN or infinite float is written as null, a time whose year is
// outside [0,9999] or whose offset is not representable is written in the
// RFC 3339 layout anyway, and a value of Reason.Values that json.Marshal
// cannot encode is written as null.
func AppendDecisionJSON(dst []byte, d *Decision) []byte {
	if d == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, `{"decision_id":`...)
	dst = encString(dst, d.ID)
	dst = append(dst, `,"event_id":`...)
	dst = encString(dst, d.EventID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, d.Seq, 10)
	dst = append(dst, `,"customer_id":`...)
	dst = encString(dst, d.CustomerID)
	dst = append(dst, `,"event_type":`...)
	dst = encString(dst, string(d.EventType))
	dst = append(dst, `,"occurred_at":`...)
	dst = encTime(dst, d.OccurredAt)
	dst = append(dst, `,"action":`...)
	dst = encAction(dst, d.Action)
	dst = append(dst, `,"score":`...)
	dst = encFloat(dst, d.Score)
	dst = append(dst, `,"typology":`...)
	dst = encString(dst, d.Typology)
	dst = append(dst, `,"reasons":`...)
	dst = encReasons(dst, d.Reasons)
	if m := d.Message; m != nil {
		dst = append(dst, `,"message":{"zh":`...)
		dst = encString(dst, m.ZH)
		dst = append(dst, `,"en":`...)
		dst = encString(dst, m.EN)
		dst = append(dst, '}')
	}
	if len(d.Shadow) > 0 {
		dst = append(dst, `,"shadow":`...)
		dst = encReasons(dst, d.Shadow)
	}
	if d.Explanation != nil {
		dst = append(dst, `,"explanation":`...)
		dst = encExplanation(dst, d.Explanation)
	}
	if d.CoolingOffMinutes != 0 {
		dst = append(dst, `,"cooling_off_minutes":`...)
		dst = strconv.AppendInt(dst, int64(d.CoolingOffMinutes), 10)
	}
	if d.HoldMinutes != 0 {
		dst = append(dst, `,"hold_minutes":`...)
		dst = strconv.AppendInt(dst, int64(d.HoldMinutes), 10)
	}
	dst = append(dst, `,"decided_at":`...)
	dst = encTime(dst, d.DecidedAt)
	return append(dst, '}')
}

func encReasons(dst []byte, rs []Reason) []byte {
	if rs == nil {
		return append(dst, "null"...)
	}
	dst = append(dst, '[')
	for i := range rs {
		if i > 0 {
			dst = append(dst, ',')
		}
		r := &rs[i]
		dst = append(dst, `{"rule":`...)
		dst = encString(dst, r.Rule)
		dst = append(dst, `,"code":`...)
		dst = encString(dst, r.Code)
		dst = append(dst, `,"detail":`...)
		dst = encString(dst, r.Detail)
		if r.Typology != "" {
			dst = append(dst, `,"typology":`...)
			dst = encString(dst, r.Typology)
		}
		dst = append(dst, `,"action":`...)
		dst = encAction(dst, r.Action)
		dst = append(dst, `,"score":`...)
		dst = encFloat(dst, r.Score)
		if len(r.Values) > 0 {
			dst = append(dst, `,"values":`...)
			dst = encValues(dst, r.Values)
		}
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

type encKV struct {
	k string
	v any
}

// encValues encodes a map of feature values, keys sorted.
func encValues(dst []byte, m map[string]any) []byte {
	var arr [16]encKV
	kvs := arr[:0]
	for k, v := range m {
		kvs = append(kvs, encKV{k, v})
	}
	if len(kvs) <= len(arr) {
		// Insertion sort: few keys, and no closure for slices.SortFunc.
		for i := 1; i < len(kvs); i++ {
			for j := i; j > 0 && kvs[j].k < kvs[j-1].k; j-- {
				kvs[j], kvs[j-1] = kvs[j-1], kvs[j]
			}
		}
	} else {
		slices.SortFunc(kvs, func(a, b encKV) int { return strings.Compare(a.k, b.k) })
	}
	dst = append(dst, '{')
	for i := range kvs {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = encString(dst, kvs[i].k)
		dst = append(dst, ':')
		switch v := kvs[i].v.(type) {
		case nil:
			dst = append(dst, "null"...)
		case bool:
			dst = strconv.AppendBool(dst, v)
		case string:
			dst = encString(dst, v)
		case int:
			dst = strconv.AppendInt(dst, int64(v), 10)
		case int64:
			dst = strconv.AppendInt(dst, v, 10)
		case float64:
			dst = encFloat(dst, v)
		default:
			b, err := json.Marshal(v)
			if err != nil {
				b = []byte("null")
			}
			dst = append(dst, b...)
		}
	}
	return append(dst, '}')
}

func encExplanation(dst []byte, e *Explanation) []byte {
	dst = append(dst, '{')
	if len(e.PackVersions) > 0 {
		dst = append(dst, `"pack_versions":{`...)
		var arr [16]string
		keys := arr[:0]
		for k := range e.PackVersions {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = encString(dst, k)
			dst = append(dst, ':')
			dst = strconv.AppendInt(dst, int64(e.PackVersions[k]), 10)
		}
		dst = append(dst, `},`...)
	}
	dst = append(dst, `"rule_score":`...)
	dst = encFloat(dst, e.RuleScore)
	if e.ModelScore != nil {
		dst = append(dst, `,"model_score":`...)
		dst = encFloat(dst, *e.ModelScore)
	}
	if e.Model != "" {
		dst = append(dst, `,"model":`...)
		dst = encString(dst, e.Model)
	}
	if len(e.Contributions) > 0 {
		dst = append(dst, `,"contributions":[`...)
		for i := range e.Contributions {
			c := &e.Contributions[i]
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, `{"feature":`...)
			dst = encString(dst, c.Feature)
			dst = append(dst, `,"value":`...)
			dst = encFloat(dst, c.Value)
			dst = append(dst, `,"effect":`...)
			dst = encFloat(dst, c.Effect)
			dst = append(dst, '}')
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"rule_action":`...)
	dst = encAction(dst, e.RuleAction)
	dst = append(dst, `,"score_action":`...)
	dst = encAction(dst, e.ScoreAction)
	if e.Escalation != "" {
		dst = append(dst, `,"escalation":`...)
		dst = encString(dst, e.Escalation)
	}
	if e.Cap != "" {
		dst = append(dst, `,"cap":`...)
		dst = encString(dst, e.Cap)
	}
	if len(e.Steps) > 0 {
		dst = append(dst, `,"steps":[`...)
		for i, s := range e.Steps {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = encString(dst, s)
		}
		dst = append(dst, ']')
	}
	return append(dst, '}')
}

// encAction encodes an Action as its MarshalText does.
func encAction(dst []byte, a Action) []byte {
	if int(a) < len(actionNames) {
		dst = append(dst, '"')
		dst = append(dst, actionNames[a]...)
		return append(dst, '"')
	}
	return encString(dst, a.String())
}

// encTime encodes t as time.Time.MarshalJSON does.
func encTime(dst []byte, t time.Time) []byte {
	dst = append(dst, '"')
	dst = t.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// encFloat encodes a float64 as encoding/json does (like ES6); NaN and
// infinities, which json.Marshal rejects, become null.
func encFloat(dst []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(dst, "null"...)
	}
	// Integral values below 2^53 print as integers in the shortest 'f'
	// form; AppendInt is faster and gives the same digits. (-0 is "-0".)
	if f == math.Trunc(f) && f > -1<<53 && f < 1<<53 && (f != 0 || !math.Signbit(f)) {
		return strconv.AppendInt(dst, int64(f), 10)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// Clean up e-09 to e-9.
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// encSafe[c] is true for the ASCII bytes encoding/json writes as they are
// with HTML escaping on: printable ASCII but '"', '\\', '<', '>' and '&'.
var encSafe = func() (t [utf8.RuneSelf]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

const encHex = "0123456789abcdef"

// encString encodes s as a JSON string exactly as encoding/json does with
// HTML escaping: invalid UTF-8 becomes \ufffd, U+2028 and U+2029 are
// escaped.
func encString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// Skip safe ASCII 8 bytes at a time: the high bit of a byte of m is
		// set where the byte may need escaping (exactly so for the lowest).
		for len(s)-i >= 8 {
			w := uint64(s[i]) | uint64(s[i+1])<<8 | uint64(s[i+2])<<16 | uint64(s[i+3])<<24 |
				uint64(s[i+4])<<32 | uint64(s[i+5])<<40 | uint64(s[i+6])<<48 | uint64(s[i+7])<<56
			const lsb, msb = 0x0101010101010101, 0x8080808080808080
			q := w ^ (lsb * '"')
			bs := w ^ (lsb * '\\')
			lt := w ^ (lsb * '<')
			gt := w ^ (lsb * '>')
			amp := w ^ (lsb * '&')
			m := ((w - lsb*0x20) | (q - lsb) | (bs - lsb) | (lt - lsb) | (gt - lsb) | (amp - lsb) | w) & msb
			if m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(s) {
			break
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if encSafe[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '\\', '"':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', encHex[c>>4], encHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		// Fast paths for valid 2- and 3-byte sequences (CJK text) that
		// need no escaping: not overlong, not a surrogate, not U+2028/9.
		if c >= 0xC2 && c < 0xE0 && i+1 < len(s) && s[i+1]&0xC0 == 0x80 {
			i += 2
			continue
		}
		if c >= 0xE0 && c < 0xF0 && i+2 < len(s) {
			c1, c2 := s[i+1], s[i+2]
			if c1&0xC0 == 0x80 && c2&0xC0 == 0x80 && !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0) &&
				!(c == 0xE2 && c1 == 0x80 && (c2 == 0xA8 || c2 == 0xA9)) {
				i += 3
				continue
			}
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', encHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
