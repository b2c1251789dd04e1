package guard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// decTypical is a typical event of about 450 bytes.
const decTypical = `{"event_id":"evt-20260102-000123456","type":"transfer",` +
	`"occurred_at":"2026-01-02T03:04:05.123+08:00",` +
	`"customer":{"id":"cust-00012345","age":67,"registered_at":"2019-05-06T10:00:00+08:00","phone":"13800138000","id_number":"11010519491231002X"},` +
	`"device":{"id":"dev-9f8e7d6c5b4a3f2e","ip":"203.0.113.45"},` +
	`"amount":"5000.00","currency":"CNY",` +
	`"counterparty":{"account":"6222020200112233445","name":"张三"},` +
	`"memo":"货款 for order 88231","channel":"app","session":{"id":"s-1","steps":[1,2,3]}}`

// decMember is one top-level member of a test event: name and raw JSON value.
type decMember struct{ name, raw string }

// decBase returns the members of a valid transfer event.
func decBase() []decMember {
	return []decMember{
		{"event_id", `"e-1"`},
		{"type", `"transfer"`},
		{"occurred_at", `"2026-01-02T03:04:05+08:00"`},
		{"customer", `{"id":"c-1","age":30}`},
		{"amount", `"100.00"`},
		{"counterparty", `{"account":"acc-1"}`},
	}
}

// decDoc renders the base event with members replaced: "name=raw" sets a
// member (appending it if new), "-name" deletes it.
func decDoc(mods ...string) string {
	ms := decBase()
	for _, m := range mods {
		if name, ok := strings.CutPrefix(m, "-"); ok {
			for i := range ms {
				if ms[i].name == name {
					ms = append(ms[:i], ms[i+1:]...)
					break
				}
			}
			continue
		}
		name, raw, _ := strings.Cut(m, "=")
		found := false
		for i := range ms {
			if ms[i].name == name {
				ms[i].raw, found = raw, true
			}
		}
		if !found {
			ms = append(ms, decMember{name, raw})
		}
	}
	var b strings.Builder
	b.WriteByte('{')
	for i, m := range ms {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", m.name, m.raw)
	}
	b.WriteByte('}')
	return b.String()
}

func TestDecodeEventTypical(t *testing.T) {
	b := []byte(decTypical)
	ev, err := DecodeEvent(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &Event{
		ID:         "evt-20260102-000123456",
		Type:       Transfer,
		OccurredAt: time.Date(2026, 1, 1, 19, 4, 5, 123000000, time.UTC),
		Offset:     8 * 3600,
		Customer: Customer{ID: "cust-00012345", Age: 67, RegisteredAt: time.Date(2019, 5, 6, 2, 0, 0, 0, time.UTC),
			Phone: "13800138000", IDNumber: "11010519491231002X"},
		Device:       Device{ID: "dev-9f8e7d6c5b4a3f2e", IP: "203.0.113.45"},
		Amount:       500000,
		HasAmount:    true,
		Currency:     "CNY",
		Counterparty: Counterparty{Account: "6222020200112233445", Name: "张三"},
		Memo:         "货款 for order 88231",
	}
	decCheckEvent(t, ev, want)
	if &ev.Raw[0] != &b[0] || len(ev.Raw) != len(b) {
		t.Error("Raw is not the input slice")
	}
	if len(ev.Extra) != 2 || string(ev.Extra["channel"]) != `"app"` || string(ev.Extra["session"]) != `{"id":"s-1","steps":[1,2,3]}` {
		t.Errorf("Extra = %q", ev.Extra)
	}
	if ev.OccurredAt.Location() != time.UTC {
		t.Errorf("OccurredAt not in UTC: %v", ev.OccurredAt.Location())
	}
	if got := ev.LocalTime().Format(time.RFC3339Nano); got != "2026-01-02T03:04:05.123+08:00" {
		t.Errorf("LocalTime = %s", got)
	}
}

func decCheckEvent(t *testing.T, got, want *Event) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || !got.OccurredAt.Equal(want.OccurredAt) || got.Offset != want.Offset ||
		got.Customer.ID != want.Customer.ID || got.Customer.Age != want.Customer.Age ||
		!got.Customer.RegisteredAt.Equal(want.Customer.RegisteredAt) || got.Customer.Phone != want.Customer.Phone ||
		got.Customer.IDNumber != want.Customer.IDNumber || got.Device != want.Device ||
		got.Amount != want.Amount || got.HasAmount != want.HasAmount || got.Currency != want.Currency ||
		got.Counterparty != want.Counterparty || got.Memo != want.Memo {
		t.Errorf("decoded\n %+v\nwant\n %+v", *got, *want)
	}
}

func TestDecodeEventValid(t *testing.T) {
	long128 := strings.Repeat("中", 128)
	memo2000 := strings.Repeat("骗", 2000)
	deep32 := strings.Repeat("[", 31) + strings.Repeat("]", 31) // levels 2..32
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, ev *Event)
	}{
		{"base", decDoc(), func(t *testing.T, ev *Event) {
			if ev.ID != "e-1" || ev.Type != Transfer || ev.Customer.ID != "c-1" || ev.Customer.Age != 30 ||
				ev.Amount != 10000 || !ev.HasAmount || ev.Counterparty.Account != "acc-1" || ev.Currency != "CNY" || ev.Extra != nil {
				t.Errorf("%+v", *ev)
			}
		}},
		{"login without amount or counterparty", decDoc("type=\"login\"", "-amount", "-counterparty", `customer={"id":"c"}`), func(t *testing.T, ev *Event) {
			if ev.HasAmount || ev.Amount != 0 || ev.Customer.Age != -1 || ev.Currency != "CNY" {
				t.Errorf("%+v", *ev)
			}
		}},
		{"every type", decDoc(`type="payment"`), func(t *testing.T, ev *Event) {
			if ev.Type != Payment {
				t.Error(ev.Type)
			}
		}},
		{"nulls are absent", decDoc(`type="login"`, "amount=null", "counterparty=null", "memo=null", "device=null",
			"currency=null", `customer={"id":"c","age":null,"registered_at":null,"phone":null}`), func(t *testing.T, ev *Event) {
			if ev.HasAmount || ev.Customer.Age != -1 || ev.Currency != "CNY" || ev.Memo != "" {
				t.Errorf("%+v", *ev)
			}
		}},
		{"escapes", decDoc(`memo="q\"b\\s\/ \b\f\n\r\t \u4e2d\u00e9 \ud83d\ude00 \u0000"`), func(t *testing.T, ev *Event) {
			if want := "q\"b\\s/ \b\f\n\r\t 中é 😀 \x00"; ev.Memo != want {
				t.Errorf("memo %q, want %q", ev.Memo, want)
			}
		}},
		{"escaped member names", `{"event\u005fid":"e","\u0074ype":"login","occurred_at":"2026-01-02T03:04:05Z","customer":{"\u0069d":"c"}}`,
			func(t *testing.T, ev *Event) {
				if ev.ID != "e" || ev.Type != Login || ev.Customer.ID != "c" {
					t.Errorf("%+v", *ev)
				}
			}},
		{"whitespace", " \t\r\n{ \"event_id\" : \"e\" ,\n\"type\":\"login\",\"occurred_at\":\"2026-01-02T03:04:05Z\" , \"customer\" : { \"id\" : \"c\" , \"age\" : 0 } , \"x\" : [ 1 , { } ] } \n\t ",
			func(t *testing.T, ev *Event) {
				if ev.Customer.Age != 0 || string(ev.Extra["x"]) != "[ 1 , { } ]" {
					t.Errorf("%+v", *ev)
				}
			}},
		{"offset Z and fraction", decDoc(`occurred_at="2026-01-02T03:04:05.123456789123Z"`), func(t *testing.T, ev *Event) {
			if ev.Offset != 0 || !ev.OccurredAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)) {
				t.Error(ev.OccurredAt, ev.Offset)
			}
		}},
		{"negative offset", decDoc(`occurred_at="2024-02-29T23:30:00.5-05:30"`), func(t *testing.T, ev *Event) {
			if ev.Offset != -(5*3600+30*60) || !ev.OccurredAt.Equal(time.Date(2024, 3, 1, 5, 0, 0, 500000000, time.UTC)) {
				t.Error(ev.OccurredAt, ev.Offset)
			}
		}},
		{"unknown members inside objects", decDoc(`customer={"id":"c","vip":true,"tags":["a",{"b":null}],"x":1.5e3}`,
			`device={"id":"d","os":"ios","ip":"2001:db8::1"}`, `counterparty={"bank":"ICBC","account":"a","name":"n","extra":{}}`),
			func(t *testing.T, ev *Event) {
				if ev.Customer.ID != "c" || ev.Device.IP != "2001:db8::1" || ev.Counterparty != (Counterparty{"a", "n"}) || ev.Extra != nil {
					t.Errorf("%+v", *ev)
				}
			}},
		{"unknown top-level members", decDoc(`a=null`, `b=-0.5e+7`, `c="\u00e9"`, `d=[[],{}]`, `e=true`), func(t *testing.T, ev *Event) {
			want := map[string]string{"a": "null", "b": "-0.5e+7", "c": `"\u00e9"`, "d": "[[],{}]", "e": "true"}
			if len(ev.Extra) != len(want) {
				t.Errorf("Extra = %q", ev.Extra)
			}
			for k, v := range want {
				if string(ev.Extra[k]) != v {
					t.Errorf("Extra[%s] = %q, want %q", k, ev.Extra[k], v)
				}
			}
		}},
		{"member names are case-sensitive", decDoc(`Memo="x"`), func(t *testing.T, ev *Event) {
			if ev.Memo != "" || string(ev.Extra["Memo"]) != `"x"` {
				t.Errorf("%+v", *ev)
			}
		}},
		{"128 characters", decDoc(`event_id="`+long128+`"`, `customer={"id":"`+long128+`"}`, `counterparty={"account":"`+long128+`","name":"`+long128+`"}`,
			`device={"id":"`+long128+`"}`), func(t *testing.T, ev *Event) {
			if ev.ID != long128 {
				t.Error(ev.ID)
			}
		}},
		{"memo 2000 characters", decDoc(`memo="` + memo2000 + `"`), func(t *testing.T, ev *Event) {
			if ev.Memo != memo2000 {
				t.Error(len(ev.Memo))
			}
		}},
		{"32 levels", decDoc(`x=` + deep32), func(t *testing.T, ev *Event) {
			if string(ev.Extra["x"]) != deep32 {
				t.Error("deep value lost")
			}
		}},
		{"ages", decDoc(`customer={"id":"c","age":150}`), func(t *testing.T, ev *Event) {
			if ev.Customer.Age != 150 {
				t.Error(ev.Customer.Age)
			}
		}},
		{"age minus zero", decDoc(`customer={"id":"c","age":-0}`), func(t *testing.T, ev *Event) {
			if ev.Customer.Age != 0 {
				t.Error(ev.Customer.Age)
			}
		}},
		{"currency and amounts", decDoc(`currency="USD"`, `amount="0.5"`), func(t *testing.T, ev *Event) {
			if ev.Currency != "USD" || ev.Amount != 50 {
				t.Errorf("%+v", *ev)
			}
		}},
		{"ipv4-mapped ip and zone", decDoc(`device={"ip":"fe80::1%eth0"}`), func(t *testing.T, ev *Event) {
			if ev.Device.IP != "fe80::1%eth0" {
				t.Error(ev.Device.IP)
			}
		}},
		{"registered_at", decDoc(`customer={"id":"c","registered_at":"2000-02-29T00:00:00-01:00"}`), func(t *testing.T, ev *Event) {
			if !ev.Customer.RegisteredAt.Equal(time.Date(2000, 2, 29, 1, 0, 0, 0, time.UTC)) || ev.Customer.RegisteredAt.Location() != time.UTC {
				t.Error(ev.Customer.RegisteredAt)
			}
		}},
		{"escaped time", decDoc(`occurred_at="2026\u002d01-02T03:04:05Z"`), func(t *testing.T, ev *Event) {
			if !ev.OccurredAt.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) {
				t.Error(ev.OccurredAt)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.in))
			if err != nil {
				t.Fatalf("DecodeEvent(%s): %v", tt.in, err)
			}
			if !json.Valid([]byte(tt.in)) {
				t.Fatal("test input is not valid JSON")
			}
			tt.check(t, ev)
		})
	}
}

func TestDecodeEventInvalid(t *testing.T) {
	long129 := strings.Repeat("é", 129)
	type fe struct{ Field, Reason string }
	syntax := func(reason string) []fe { return []fe{{"", reason}} }
	tests := []struct {
		name string
		in   string
		want []fe // reasons are matched as substrings
	}{
		// Documents that are not one JSON object.
		{"empty", "", syntax("the document is empty")},
		{"blank", " \n", syntax("the document is empty")},
		{"array", "[]", syntax("must be a JSON object")},
		{"null", "null", syntax("must be a JSON object")},
		{"string", `"x"`, syntax("must be a JSON object")},
		{"unterminated object", `{"event_id":"e"`, syntax("byte offset 15: unexpected end of input")},
		{"two objects", decDoc() + "{}", syntax("unexpected data after the event object")},
		{"trailing garbage", decDoc() + " x", syntax("unexpected data after the event object")},
		{"trailing comma", `{"a":1,}`, syntax("expected a member name")},
		{"missing colon", `{"a" 1}`, syntax("expected ':'")},
		{"single quotes", `{'a':1}`, syntax("expected a member name")},
		{"missing comma", `{"a":1 "b":2}`, syntax("expected ',' or '}'")},
		{"array missing comma", `{"a":[1 2]}`, syntax("expected ',' or ']'")},
		{"array trailing comma", `{"a":[1,]}`, syntax("unexpected character ']'")},
		{"leading zero", `{"a":01}`, syntax("expected ',' or '}'")},
		{"bare decimal point", `{"a":1.}`, syntax("a digit must follow the decimal point")},
		{"no integer part", `{"a":.5}`, syntax("unexpected character '.'")},
		{"minus alone", `{"a":-}`, syntax("invalid number")},
		{"bad exponent", `{"a":1e+}`, syntax("a digit must follow the exponent")},
		{"plus sign", `{"a":+1}`, syntax("unexpected character '+'")},
		{"NaN", `{"a":NaN}`, syntax("unexpected character 'N'")},
		{"bad literal", `{"a":tru}`, syntax("expected true")},
		{"capital literal", `{"a":True}`, syntax("unexpected character 'T'")},
		{"raw control character", "{\"a\":\"x\x01\"}", syntax("control character in a string")},
		{"raw newline in string", "{\"a\":\"x\ny\"}", syntax("control character in a string")},
		{"bad escape", `{"a":"\q"}`, syntax("invalid escape")},
		{"short unicode escape", `{"a":"\u12"}`, syntax(`invalid \u escape`)},
		{"bad hex", `{"a":"\u12g4"}`, syntax(`invalid \u escape`)},
		{"bad low half", `{"a":"\ud83d\u12x4"}`, syntax(`invalid \u escape`)},
		{"unterminated string", `{"a":"abc`, syntax("unterminated string")},
		{"escape at end", `{"a":"abc\`, syntax("unterminated string")},
		{"byte order mark", "\xef\xbb\xbf" + decDoc(), syntax("unexpected byte 0xef")},
		{"invalid UTF-8 outside strings", "{\"a\":\xff}", syntax("byte 0xff")},
		{"nesting 33", decDoc(`x=` + strings.Repeat("[", 32) + strings.Repeat("]", 32)), syntax("nesting deeper than 32 levels")},
		{"nesting 33 objects", decDoc(`x=` + strings.Repeat(`{"a":`, 32) + "1" + strings.Repeat("}", 32)), syntax("nesting deeper than 32 levels")},
		{"nesting 33 in customer", decDoc(`customer={"id":"c","x":` + strings.Repeat("[", 31) + strings.Repeat("]", 31) + `}`), syntax("nesting deeper than 32 levels")},
		{"syntax error after field errors", decDoc(`event_id=1`) + ",", syntax("unexpected data")},

		// Invalid text inside strings.
		{"invalid UTF-8 in memo", `{"memo":"ab` + "\xff" + `"}`, []fe{{"memo", "contains invalid UTF-8 at byte offset 11"},
			{"event_id", "is required"}, {"type", "is required"}, {"occurred_at", "is required"}, {"customer", "is required"}}},
		{"invalid UTF-8 in event_id", decDoc("event_id=\"\xc3\x28\""), []fe{{"event_id", "contains invalid UTF-8 at byte offset 13"}}},
		{"surrogate encoded as UTF-8", decDoc("memo=\"\xed\xa0\x80\""), []fe{{"memo", "invalid UTF-8"}}},
		{"overlong UTF-8", decDoc("memo=\"\xc0\xaf\""), []fe{{"memo", "invalid UTF-8"}}},
		{"invalid UTF-8 in unknown member", decDoc("x=[\"\xff\"]"), []fe{{"x", "invalid UTF-8"}}},
		{"invalid UTF-8 in member name", "{\"\xff\":1," + decDoc()[1:], []fe{{"", "a member name contains invalid UTF-8 at byte offset 2"}}},
		{"invalid UTF-8 in customer member name", decDoc("customer={\"id\":\"c\",\"\xfe\":1}"), []fe{{"customer", "a member name contains invalid UTF-8"}}},
		{"invalid UTF-8 in customer unknown", decDoc("customer={\"id\":\"c\",\"v\":\"\xfe\"}"), []fe{{"customer.v", "invalid UTF-8"}}},
		{"unpaired high surrogate", decDoc(`event_id="\ud800"`), []fe{{"event_id", "contains an unpaired UTF-16 surrogate escape at byte offset 13"}}},
		{"unpaired low surrogate", decDoc(`memo="\udc00x"`), []fe{{"memo", "unpaired UTF-16 surrogate"}}},
		{"reversed surrogates", decDoc(`memo="\ude00\ud83d"`), []fe{{"memo", "unpaired UTF-16 surrogate"}}},
		{"high surrogate then non-surrogate", decDoc(`memo="\ud83d\u0041"`), []fe{{"memo", "unpaired UTF-16 surrogate"}}},

		// Duplicates.
		{"duplicate event_id", `{"event_id":"x",` + decDoc()[1:], []fe{{"event_id", "duplicate member"}}},
		{"duplicate via escape", `{"memo":"a","m\u0065mo":"b",` + decDoc()[1:], []fe{{"memo", "duplicate member"}}},
		{"duplicate null", `{"memo":null,"memo":"x",` + decDoc()[1:], []fe{{"memo", "duplicate member"}}},
		{"duplicate unknown", `{"x":1,"x":2,"x":3,` + decDoc()[1:], []fe{{"x", "duplicate member"}}},
		{"duplicate customer.id", decDoc(`customer={"id":"a","id":"b"}`), []fe{{"customer.id", "duplicate member"}}},
		{"duplicate customer unknown", decDoc(`customer={"id":"a","vip":1,"vip":2}`), []fe{{"customer.vip", "duplicate member"}}},
		{"many customer unknowns", decDoc(`customer={"id":"a"` + strings.Repeat(`,"v0":0,"v1":1,"v2":2,"v3":3,"v4":4,"v5":5,"v6":6,"v7":7,"v8":8,"v9":9`, 1) +
			`,"w0":0,"w1":1,"w2":2,"w3":3,"w4":4,"w5":5,"w6":6,"w7":7,"w8":8,"w9":9,"v5":0,"w9":0}`),
			[]fe{{"customer.v5", "duplicate member"}, {"customer.w9", "duplicate member"}}},
		{"duplicate device.ip", decDoc(`device={"ip":"1.2.3.4","ip":"1.2.3.4"}`), []fe{{"device.ip", "duplicate member"}}},
		{"duplicate counterparty.account", decDoc(`counterparty={"account":"a","account":"a"}`), []fe{{"counterparty.account", "duplicate member"}}},
		{"duplicate customer", `{"customer":{"id":"x"},` + decDoc()[1:], []fe{{"customer", "duplicate member"}}},

		// event_id.
		{"event_id missing", decDoc("-event_id"), []fe{{"event_id", "is required"}}},
		{"event_id null", decDoc("event_id=null"), []fe{{"event_id", "is required"}}},
		{"event_id empty", decDoc(`event_id=""`), []fe{{"event_id", "must be 1-128 characters"}}},
		{"event_id too long", decDoc(`event_id="` + long129 + `"`), []fe{{"event_id", "must be 1-128 characters"}}},
		{"event_id number", decDoc(`event_id=12`), []fe{{"event_id", "must be a string"}}},
		{"event_id object", decDoc(`event_id={"a":[1]}`), []fe{{"event_id", "must be a string"}}},
		{"event_id control", decDoc(`event_id="a\u0007"`), []fe{{"event_id", "must not contain control characters"}}},
		{"event_id newline", decDoc(`event_id="a\n"`), []fe{{"event_id", "must not contain control characters"}}},
		{"event_id C1 control", decDoc(`event_id="a\u0085"`), []fe{{"event_id", "must not contain control characters"}}},
		{"event_id DEL", decDoc(`event_id="a` + "\x7f" + `"`), []fe{{"event_id", "must not contain control characters"}}},

		// type.
		{"type missing", decDoc("-type"), []fe{{"type", "is required"}}},
		{"type unknown", decDoc(`type="foo"`), []fe{{"type", `unknown event type "foo"`}}},
		{"type case", decDoc(`type="Login"`), []fe{{"type", `unknown event type "Login"`}}},
		{"type empty", decDoc(`type=""`), []fe{{"type", `unknown event type ""`}}},
		{"type long", decDoc(`type="` + strings.Repeat("x", 1000) + `"`), []fe{{"type", `unknown event type "` + strings.Repeat("x", 64) + `"...`}}},
		{"type number", decDoc(`type=1`), []fe{{"type", "must be a string"}}},

		// occurred_at.
		{"occurred_at missing", decDoc("-occurred_at"), []fe{{"occurred_at", "is required"}}},
		{"occurred_at without offset", decDoc(`occurred_at="2026-01-02T03:04:05"`), []fe{{"occurred_at", "must be an RFC 3339 time with an offset"}}},
		{"occurred_at date only", decDoc(`occurred_at="2026-01-02"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at space", decDoc(`occurred_at="2026-01-02 03:04:05Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at lower-case t", decDoc(`occurred_at="2026-01-02t03:04:05Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at Feb 30", decDoc(`occurred_at="2026-02-30T03:04:05Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at Feb 29 not leap", decDoc(`occurred_at="2100-02-29T03:04:05Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at hour 24", decDoc(`occurred_at="2026-01-02T24:00:00Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at second 60", decDoc(`occurred_at="2026-01-02T23:59:60Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at offset 24", decDoc(`occurred_at="2026-01-02T03:04:05+24:00"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at offset no colon", decDoc(`occurred_at="2026-01-02T03:04:05+0800"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at empty fraction", decDoc(`occurred_at="2026-01-02T03:04:05.Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at comma fraction", decDoc(`occurred_at="2026-01-02T03:04:05,5Z"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at trailing", decDoc(`occurred_at="2026-01-02T03:04:05Zx"`), []fe{{"occurred_at", "RFC 3339"}}},
		{"occurred_at number", decDoc(`occurred_at=1767323045`), []fe{{"occurred_at", "must be a string"}}},

		// customer.
		{"customer missing", decDoc("-customer"), []fe{{"customer", "is required"}}},
		{"customer null", decDoc("customer=null"), []fe{{"customer", "is required"}}},
		{"customer string", decDoc(`customer="c-1"`), []fe{{"customer", "must be an object"}}},
		{"customer array", decDoc(`customer=[{"id":"c"}]`), []fe{{"customer", "must be an object"}}},
		{"customer.id missing", decDoc(`customer={}`), []fe{{"customer.id", "is required"}}},
		{"customer.id null", decDoc(`customer={"id":null}`), []fe{{"customer.id", "is required"}}},
		{"customer.id empty", decDoc(`customer={"id":""}`), []fe{{"customer.id", "must be 1-128 characters"}}},
		{"customer.id too long", decDoc(`customer={"id":"` + long129 + `"}`), []fe{{"customer.id", "must be 1-128 characters"}}},
		{"customer.id number", decDoc(`customer={"id":42}`), []fe{{"customer.id", "must be a string"}}},
		{"customer.age fraction", decDoc(`customer={"id":"c","age":30.5}`), []fe{{"customer.age", "must be an integer"}}},
		{"customer.age exponent", decDoc(`customer={"id":"c","age":3e1}`), []fe{{"customer.age", "must be an integer"}}},
		{"customer.age string", decDoc(`customer={"id":"c","age":"30"}`), []fe{{"customer.age", "must be an integer"}}},
		{"customer.age bool", decDoc(`customer={"id":"c","age":true}`), []fe{{"customer.age", "must be an integer"}}},
		{"customer.age negative", decDoc(`customer={"id":"c","age":-1}`), []fe{{"customer.age", "must be between 0 and 150"}}},
		{"customer.age 151", decDoc(`customer={"id":"c","age":151}`), []fe{{"customer.age", "must be between 0 and 150"}}},
		{"customer.age huge", decDoc(`customer={"id":"c","age":99999999999999999999999}`), []fe{{"customer.age", "must be between 0 and 150"}}},
		{"customer.registered_at", decDoc(`customer={"id":"c","registered_at":"2019-05-06"}`), []fe{{"customer.registered_at", "RFC 3339"}}},
		{"customer.phone number", decDoc(`customer={"id":"c","phone":13800138000}`), []fe{{"customer.phone", "must be a string"}}},
		{"customer.id_number number", decDoc(`customer={"id":"c","id_number":1}`), []fe{{"customer.id_number", "must be a string"}}},

		// device.
		{"device string", decDoc(`device="d"`), []fe{{"device", "must be an object"}}},
		{"device.ip bad", decDoc(`device={"ip":"999.1.1.1"}`), []fe{{"device.ip", "must be an IPv4 or IPv6 address"}}},
		{"device.ip empty", decDoc(`device={"ip":""}`), []fe{{"device.ip", "must be an IPv4 or IPv6 address"}}},
		{"device.ip with port", decDoc(`device={"ip":"1.2.3.4:80"}`), []fe{{"device.ip", "must be an IPv4 or IPv6 address"}}},
		{"device.ip number", decDoc(`device={"ip":1}`), []fe{{"device.ip", "must be a string"}}},
		{"device.id too long", decDoc(`device={"id":"` + long129 + `"}`), []fe{{"device.id", "must be at most 128 characters"}}},

		// amount.
		{"amount missing for transfer", decDoc("-amount"), []fe{{"amount", "is required"}}},
		{"amount null for withdrawal", decDoc(`type="withdrawal"`, "amount=null"), []fe{{"amount", "is required"}}},
		{"amount missing for loan_apply", decDoc(`type="loan_apply"`, "-amount"), []fe{{"amount", "is required"}}},
		{"amount number", decDoc("amount=5000"), []fe{{"amount", `must be a decimal string such as "5000.00", not a number`}}},
		{"amount float", decDoc("amount=5000.5"), []fe{{"amount", `must be a decimal string such as "5000.00", not a number`}}},
		{"amount bool", decDoc("amount=true"), []fe{{"amount", "must be a string"}}},
		{"amount object", decDoc(`amount={"value":"1.00"}`), []fe{{"amount", "must be a string"}}},
		{"amount 3 decimals", decDoc(`amount="5000.001"`), []fe{{"amount", "must have at most 2 decimals"}}},
		{"amount negative", decDoc(`amount="-1.00"`), []fe{{"amount", "must not be negative"}}},
		{"amount empty", decDoc(`amount=""`), []fe{{"amount", "must not be empty"}}},
		{"amount text", decDoc(`amount="5,000"`), []fe{{"amount", `must be a decimal string such as "5000.00"`}}},
		{"amount too large", decDoc(`amount="100000000000000000"`), []fe{{"amount", "is too large"}}},
		{"amount on login is still checked", decDoc(`type="login"`, `amount="x"`, "-counterparty"), []fe{{"amount", "decimal string"}}},

		// currency.
		{"currency lower", decDoc(`currency="cny"`), []fe{{"currency", "must be 3 upper-case letters"}}},
		{"currency long", decDoc(`currency="CNYY"`), []fe{{"currency", "must be 3 upper-case letters"}}},
		{"currency number", decDoc(`currency=156`), []fe{{"currency", "must be a string"}}},

		// counterparty.
		{"counterparty missing for transfer", decDoc("-counterparty"), []fe{{"counterparty.account", "is required"}}},
		{"counterparty missing for payee_add", decDoc(`type="payee_add"`, "-counterparty", "-amount"), []fe{{"counterparty.account", "is required"}}},
		{"counterparty missing for payment", decDoc(`type="payment"`, "-counterparty"), []fe{{"counterparty.account", "is required"}}},
		{"counterparty empty", decDoc(`counterparty={"name":"x"}`), []fe{{"counterparty.account", "is required"}}},
		{"counterparty not object", decDoc(`counterparty="acc"`), []fe{{"counterparty", "must be an object"}}},
		{"counterparty.account empty", decDoc(`counterparty={"account":""}`), []fe{{"counterparty.account", "must be 1-128 characters"}}},
		{"counterparty.account too long", decDoc(`counterparty={"account":"` + long129 + `"}`), []fe{{"counterparty.account", "must be 1-128 characters"}}},
		{"counterparty.account number", decDoc(`counterparty={"account":6222}`), []fe{{"counterparty.account", "must be a string"}}},
		{"counterparty.name too long", decDoc(`counterparty={"account":"a","name":"` + long129 + `"}`), []fe{{"counterparty.name", "must be at most 128 characters"}}},

		// memo.
		{"memo too long", decDoc(`memo="` + strings.Repeat("a", 2001) + `"`), []fe{{"memo", "must be at most 2000 characters"}}},
		{"memo number", decDoc(`memo=1`), []fe{{"memo", "must be a string"}}},

		// All errors are collected.
		{"many errors", decDoc("event_id=1", `type="foo"`, "amount=5000", `customer={"id":"c","age":"30"}`, `device={"ip":"x"}`,
			"-occurred_at", `currency="rmb"`), []fe{
			{"event_id", "must be a string"}, {"type", `unknown event type "foo"`}, {"customer.age", "must be an integer"},
			{"amount", "not a number"}, {"device.ip", "IPv4 or IPv6"}, {"currency", "3 upper-case"}, {"occurred_at", "is required"}}},
		{"empty object", "{}", []fe{{"event_id", "is required"}, {"type", "is required"}, {"occurred_at", "is required"}, {"customer", "is required"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.in))
			if err == nil {
				t.Fatalf("DecodeEvent(%.200s) = %+v, want an error", tt.in, *ev)
			}
			if ev != nil {
				t.Error("non-nil event with an error")
			}
			var xe *xiaobao.Error
			if !errors.As(err, &xe) || xe.Code != xiaobao.EINVALID || xe.Message != "the event is invalid" {
				t.Fatalf("error %#v is not an EINVALID xiaobao.Error", err)
			}
			got := xe.Fields
			if len(got) != len(tt.want) {
				t.Fatalf("got %d field errors %q, want %d %q", len(got), got, len(tt.want), tt.want)
			}
			for _, w := range tt.want {
				found := false
				for _, g := range got {
					if g.Field == w.Field && strings.Contains(g.Reason, w.Reason) {
						found = true
					}
				}
				if !found {
					t.Errorf("missing field error %q in %q", w, got)
				}
			}
		})
	}
}

// TestDecodeTimeAgreesWithTimeParse checks that every time decParseTime
// accepts is accepted by time.Parse too, with the same instant and offset.
func TestDecodeTimeAgreesWithTimeParse(t *testing.T) {
	for _, s := range []string{
		"2026-01-02T03:04:05Z", "2026-01-02T03:04:05+08:00", "2026-01-02T03:04:05.1-00:30", "0000-01-01T00:00:00+23:59",
		"9999-12-31T23:59:59.999999999-23:59", "2024-02-29T12:00:00Z", "1970-01-01T00:00:00.000000000001Z",
		"2026-01-02T03:04:05.123456789+05:45", "2026-12-31T23:59:59-00:00",
	} {
		got, off, ok := decParseTime([]byte(s))
		if !ok {
			t.Errorf("%s rejected", s)
			continue
		}
		want, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Errorf("%s: time.Parse: %v", s, err)
			continue
		}
		_, wantOff := want.Zone()
		if !got.Equal(want) || int(off) != wantOff || got.Location() != time.UTC {
			t.Errorf("%s: got %v %d, want %v %d", s, got, off, want, wantOff)
		}
	}
}

// FuzzDecodeEvent checks that DecodeEvent never panics, accepts only valid
// JSON, rejects what encoding/json rejects and agrees with encoding/json on
// the values it accepts.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(decTypical))
	f.Add([]byte(decDoc()))
	f.Add([]byte(decDoc(`memo="q\"b\\s\/ \b\f\n\r\t \u4e2d\u00e9 \ud83d\ude00 \u0000"`, `x=[1,{"a":null}]`)))
	f.Add([]byte(decDoc(`type="login"`, "-amount", "-counterparty", `customer={"id":"c","age":null}`)))
	f.Add([]byte(`{"event\u005fid":"e","\u0074ype":"login","occurred_at":"2026-01-02T03:04:05Z","customer":{"\u0069d":"c"}}`))
	f.Add([]byte(decDoc(`type="payment"`, `amount="0.5"`, `currency="USD"`, `device={"id":"d","ip":"::1"}`)))
	f.Add([]byte(decDoc(`event_id="\ud800"`)))
	f.Add([]byte(decDoc("memo=\"\xff\"")))
	f.Add([]byte(decDoc("amount=5000")))
	f.Add([]byte(`{"memo":"a","m\u0065mo":"b"}`))
	f.Add([]byte(`{"a":[1,2.5e-3,-0,true,false,null,"x",{}]}`))
	f.Add([]byte(`{"a":01}`))
	f.Add([]byte(decDoc(`x=1e400`, `customer={"id":"c","age":-0,"big":-1E-400}`)))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, b []byte) { decCheckAgainstStdlib(t, b) })
}

// decCheckAgainstStdlib decodes b, checks the result against encoding/json
// and reports whether DecodeEvent accepted b.
func decCheckAgainstStdlib(t *testing.T, b []byte) (accepted bool) {
	t.Helper()
	in := bytes.Clone(b)
	ev, err := DecodeEvent(b)
	if !bytes.Equal(in, b) {
		t.Fatal("DecodeEvent modified its input")
	}
	if err != nil {
		var xe *xiaobao.Error
		if !errors.As(err, &xe) || xe.Code != xiaobao.EINVALID || xe.Message != "the event is invalid" || len(xe.Fields) == 0 {
			t.Fatalf("bad error %#v", err)
		}
		for _, fe := range xe.Fields {
			if fe.Reason == "" {
				t.Fatalf("empty reason in %q", xe.Fields)
			}
		}
		return false
	}
	if !json.Valid(b) {
		t.Fatalf("accepted invalid JSON %q", b)
	}
	// UseNumber, so that numbers out of the range of float64, valid
	// JSON, do not fail the decoding.
	unmarshal := func(b []byte, v any) error {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		return dec.Decode(v)
	}
	var m map[string]any
	if err := unmarshal(b, &m); err != nil {
		t.Fatalf("accepted %q, which encoding/json rejects: %v", b, err)
	}
	str := func(v any) string {
		s, _ := v.(string)
		return s
	}
	obj := func(v any) map[string]any {
		o, _ := v.(map[string]any)
		return o
	}
	if ev.ID != str(m["event_id"]) || string(ev.Type) != str(m["type"]) || ev.Memo != str(m["memo"]) ||
		ev.Customer.ID != str(obj(m["customer"])["id"]) || ev.Counterparty.Account != str(obj(m["counterparty"])["account"]) ||
		ev.Counterparty.Name != str(obj(m["counterparty"])["name"]) || ev.Device.ID != str(obj(m["device"])["id"]) ||
		ev.Device.IP != str(obj(m["device"])["ip"]) || ev.Customer.Phone != str(obj(m["customer"])["phone"]) {
		t.Fatalf("decoded %+v, encoding/json says %v", *ev, m)
	}
	if a, ok := m["amount"].(string); ok {
		want, err := xiaobao.ParseMoney(a)
		if err != nil || !ev.HasAmount || ev.Amount != want {
			t.Fatalf("amount %q decoded as %v %v", a, ev.Amount, ev.HasAmount)
		}
	} else if ev.HasAmount {
		t.Fatalf("HasAmount without an amount string")
	}
	if age, ok := obj(m["customer"])["age"].(json.Number); ok {
		if n, err := age.Int64(); err != nil || int64(ev.Customer.Age) != n {
			t.Fatalf("age %v decoded as %d", age, ev.Customer.Age)
		}
	} else if ev.Customer.Age != -1 {
		t.Fatalf("age %d without an age", ev.Customer.Age)
	}
	if !ev.OccurredAt.Equal(mustTime(t, str(m["occurred_at"]))) {
		t.Fatalf("occurred_at %v, want %s", ev.OccurredAt, m["occurred_at"])
	}
	known := map[string]bool{"event_id": true, "type": true, "occurred_at": true, "customer": true, "device": true,
		"amount": true, "currency": true, "counterparty": true, "memo": true}
	n := 0
	for k, v := range m {
		if known[k] {
			continue
		}
		n++
		raw, ok := ev.Extra[k]
		if !ok {
			t.Fatalf("unknown member %q not in Extra", k)
		}
		var got any
		if err := unmarshal(raw, &got); err != nil {
			t.Fatalf("Extra[%q] = %q: %v", k, raw, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(v) {
			t.Fatalf("Extra[%q] = %v, want %v", k, got, v)
		}
	}
	if n != len(ev.Extra) {
		t.Fatalf("Extra has %d members, want %d", len(ev.Extra), n)
	}
	return true
}

// TestDecodeEventMutations checks random mutations of valid events against
// encoding/json, as a quick complement to FuzzDecodeEvent.
func TestDecodeEventMutations(t *testing.T) {
	seeds := []string{decTypical, decDoc(), decDoc(`memo="a\"\u00e9\ud83d\ude00"`, `x=[1,-2.5e3,{"a":[true,false,null]}]`),
		decDoc(`type="login"`, "-amount", "-counterparty", `device={"ip":"::1"}`)}
	pieces := []string{"{", "}", "[", "]", `"`, ",", ":", "\\", "\\u", "\\ud800", "0", "1", "-", ".", "e", "+", " ",
		"\x00", "\x1f", "\xff", "\xc3", "\xe4\xb8\xad", "null", "true", "\"amount\":", "\"memo\":\"x\",", "5000", "\"5000.00\"",
		"\"event_id\":\"e\",", "\"customer\":{\"id\":\"c\"},", "\"\\u0065vent_id\":\"z\","}
	rng := rand.New(rand.NewPCG(1, 2))
	n, accepted := 20000, 0
	if testing.Short() {
		n = 2000
	}
	for range n {
		b := []byte(seeds[rng.IntN(len(seeds))])
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b) + 1)
			switch rng.IntN(3) {
			case 0: // insert
				b = slices.Insert(b, i, []byte(pieces[rng.IntN(len(pieces))])...)
			case 1: // delete
				if i < len(b) {
					b = slices.Delete(b, i, min(len(b), i+1+rng.IntN(4)))
				}
			case 2: // replace a byte
				if i < len(b) {
					b[i] = pieces[rng.IntN(len(pieces))][0]
				}
			}
		}
		if decCheckAgainstStdlib(t, b) {
			accepted++
		}
		if t.Failed() {
			t.Fatalf("input %q", b)
		}
	}
	t.Logf("%d of %d mutations accepted", accepted, n)
	if accepted < n/20 {
		t.Errorf("only %d of %d mutations accepted: the test checks too few valid documents", accepted, n)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	tm, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("time.Parse(%q): %v", s, err)
	}
	return tm
}

func TestDecodeEventAllocs(t *testing.T) {
	b := []byte(decTypical)
	n := testing.AllocsPerRun(100, func() {
		if _, err := DecodeEvent(b); err != nil {
			t.Fatal(err)
		}
	})
	// The Event, 9 strings, the Extra map with its 2 members.
	if n > 14 {
		t.Errorf("DecodeEvent allocates %v times, want at most 14", n)
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	in := []byte(decTypical)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(in); err != nil {
			b.Fatal(err)
		}
	}
}

// decStdEvent is the event as encoding/json would decode it, for comparison.
type decStdEvent struct {
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Customer   struct {
		ID           string     `json:"id"`
		Age          *int       `json:"age"`
		RegisteredAt *time.Time `json:"registered_at"`
		Phone        string     `json:"phone"`
		IDNumber     string     `json:"id_number"`
	} `json:"customer"`
	Device struct {
		ID string `json:"id"`
		IP string `json:"ip"`
	} `json:"device"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	Counterparty struct {
		Account string `json:"account"`
		Name    string `json:"name"`
	} `json:"counterparty"`
	Memo string `json:"memo"`
}

func BenchmarkDecodeEventStdlib(b *testing.B) {
	in := []byte(decTypical)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		var ev decStdEvent
		if err := json.Unmarshal(in, &ev); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEventInvalid(b *testing.B) {
	in := []byte(decDoc("event_id=1", `type="foo"`, "amount=5000", `customer={"id":"c","age":"30"}`))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(in); err == nil {
			b.Fatal("no error")
		}
	}
}

// BenchmarkDecodeEventJSONValid is a yardstick for the machine: only
// encoding/json's validation of the same document, with no decoding.
func BenchmarkDecodeEventJSONValid(b *testing.B) {
	in := []byte(decTypical)
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	for b.Loop() {
		if !json.Valid(in) {
			b.Fatal("invalid")
		}
	}
}
