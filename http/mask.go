package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"

	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/pii"
)

// maskMode says what happens to a value of a stored event when it is shown.
type maskMode uint8

const (
	maskKeep         maskMode = iota // contract fields that are not PII
	maskRedact                       // free text and unknown members: pii.Redact on every string
	maskTop                          // the event object itself
	maskCustomer                     // the customer object
	maskDevice                       // the device object
	maskCounterparty                 // the counterparty object
	maskPhone
	maskIDNumber
	maskAccount
	maskName
	maskIP
)

// childMode returns the mode of member key of an object shown in mode.
func childMode(mode maskMode, key string) maskMode {
	switch mode {
	case maskTop:
		switch key {
		case "event_id", "type", "occurred_at", "amount", "currency":
			return maskKeep
		case "customer":
			return maskCustomer
		case "device":
			return maskDevice
		case "counterparty":
			return maskCounterparty
		}
	case maskCustomer:
		switch key {
		case "id", "age", "registered_at":
			return maskKeep
		case "phone":
			return maskPhone
		case "id_number":
			return maskIDNumber
		}
	case maskDevice:
		switch key {
		case "id":
			return maskKeep
		case "ip":
			return maskIP
		}
	case maskCounterparty:
		switch key {
		case "account":
			return maskAccount
		case "name":
			return maskName
		}
	}
	// memo, unknown members and whatever sits inside them.
	return maskRedact
}

// maskString applies mode to a string value.
func maskString(mode maskMode, s string) string {
	switch mode {
	case maskKeep:
		return s
	case maskPhone:
		return pii.MaskPhone(s)
	case maskIDNumber:
		return pii.MaskIDNumber(s)
	case maskAccount:
		return pii.MaskAccount(s)
	case maskName:
		return pii.MaskName(s)
	case maskIP:
		return pii.MaskIP(s)
	}
	return redact(s)
}

// redact masks the personal data in free text.
func redact(s string) string {
	r, _ := pii.Redact(s)
	return r
}

// maskEvent returns the stored event as JSON with its PII masked, members
// in the order received. Unknown members are kept (rules may read them)
// but every string in them goes through pii.Redact, and so does a number
// that Redact would change (a phone number sent as a number).
func maskEvent(raw []byte) (json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out bytes.Buffer
	out.Grow(len(raw) + 32)
	if err := maskValue(dec, &out, maskTop); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("mask event: data after the event object")
	}
	return out.Bytes(), nil
}

func maskValue(dec *json.Decoder, out *bytes.Buffer, mode maskMode) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			out.WriteByte('{')
			for first := true; dec.More(); first = false {
				kt, err := dec.Token()
				if err != nil {
					return err
				}
				key, _ := kt.(string)
				if !first {
					out.WriteByte(',')
				}
				writeJSONString(out, key)
				out.WriteByte(':')
				child := maskRedact
				switch mode {
				case maskTop, maskCustomer, maskDevice, maskCounterparty:
					child = childMode(mode, key)
				}
				if err := maskValue(dec, out, child); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte('}')
		case '[':
			out.WriteByte('[')
			for first := true; dec.More(); first = false {
				if !first {
					out.WriteByte(',')
				}
				if err := maskValue(dec, out, maskRedact); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return err
			}
			out.WriteByte(']')
		}
	case string:
		writeJSONString(out, maskString(mode, t))
	case json.Number:
		if mode != maskKeep {
			if m := maskString(mode, string(t)); m != string(t) {
				writeJSONString(out, m)
				return nil
			}
		}
		out.WriteString(string(t))
	case bool:
		if t {
			out.WriteString("true")
		} else {
			out.WriteString("false")
		}
	case nil:
		out.WriteString("null")
	}
	return nil
}

func writeJSONString(out *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	out.Write(b)
}

// redactDecision returns a copy of d whose explanations pass through
// pii.Redact: a rule may quote a free-text feature (the memo) in its
// reason, and staff reading decisions back must not see PII there.
func redactDecision(d *guard.Decision) *guard.Decision {
	c := *d
	c.Reasons = redactReasons(d.Reasons)
	c.Shadow = redactReasons(d.Shadow)
	return &c
}

func redactReasons(rs []guard.Reason) []guard.Reason {
	if rs == nil {
		return nil
	}
	out := make([]guard.Reason, len(rs))
	for i, r := range rs {
		r.Detail = redact(r.Detail)
		if len(r.Values) > 0 {
			vals := make(map[string]any, len(r.Values))
			for k, v := range r.Values {
				if s, ok := v.(string); ok {
					v = redact(s)
				}
				vals[k] = v
			}
			r.Values = vals
		}
		out[i] = r
	}
	return out
}
