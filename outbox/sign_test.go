package outbox_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/outbox"
)

const (
	secretOld = "whsec_old_0123456789abcdef"
	secretNew = "whsec_new_0123456789abcdef"
)

func TestVerify(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"msg_1","topic":"hold.released","created_at":"2026-05-01T09:00:00Z","data":{"hold_id":"hld_1"}}`)
	at := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	signed := outbox.Sign([]string{secretNew}, at, body)
	rotating := outbox.Sign([]string{secretNew, secretOld}, at, body)
	ts := strconv.FormatInt(at.Unix(), 10)
	for _, tc := range []struct {
		name    string
		secrets []string
		header  string
		body    []byte
		now     time.Time
		want    error
	}{
		{"valid", []string{secretNew}, signed, body, at, nil},
		{"clock a little ahead", []string{secretNew}, signed, body, at.Add(outbox.DefaultTolerance), nil},
		{"clock a little behind", []string{secretNew}, signed, body, at.Add(-outbox.DefaultTolerance), nil},
		{"receiver knows old and new", []string{secretOld, secretNew}, signed, body, at, nil},
		{"rotation, receiver still on the old", []string{secretOld}, rotating, body, at, nil},
		{"rotation, receiver already on the new", []string{secretNew}, rotating, body, at, nil},
		{"unknown scheme skipped", []string{secretNew}, "v0=abc," + signed + ",v2=zz", body, at, nil},
		{"spaces", []string{secretNew}, strings.ReplaceAll(signed, ",", ", "), body, at, nil},
		{"wrong secret", []string{secretOld}, signed, body, at, outbox.ErrMismatch},
		{"no secret", nil, signed, body, at, outbox.ErrMismatch},
		{"body changed", []string{secretNew}, signed, append([]byte(nil), append(body, ' ')...), at, outbox.ErrMismatch},
		{"timestamp changed", []string{secretNew}, "t=" + strconv.FormatInt(at.Unix()+1, 10) + signed[len("t=")+len(ts):], body, at, outbox.ErrMismatch},
		{"replayed later", []string{secretNew}, signed, body, at.Add(outbox.DefaultTolerance + time.Second), outbox.ErrStale},
		{"from the future", []string{secretNew}, signed, body, at.Add(-outbox.DefaultTolerance - time.Second), outbox.ErrStale},
		{"empty header", []string{secretNew}, "", body, at, outbox.ErrNoSignature},
		{"no timestamp", []string{secretNew}, signed[len("t=")+len(ts)+1:], body, at, outbox.ErrNoSignature},
		{"no v1", []string{secretNew}, "t=" + ts, body, at, outbox.ErrNoSignature},
		{"two timestamps", []string{secretNew}, "t=" + ts + "," + signed, body, at, outbox.ErrNoSignature},
		{"short v1", []string{secretNew}, "t=" + ts + ",v1=abcd", body, at, outbox.ErrNoSignature},
		{"bad hex", []string{secretNew}, "t=" + ts + ",v1=" + strings.Repeat("zz", 32), body, at, outbox.ErrNoSignature},
		{"signed timestamp", []string{secretNew}, "t=+" + signed[2:], body, at, outbox.ErrNoSignature},
		{"no equals", []string{secretNew}, signed + ",junk", body, at, outbox.ErrNoSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := outbox.Verify(tc.secrets, tc.header, tc.body, tc.now, outbox.DefaultTolerance)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// FuzzParseSignature checks that the header parser never panics, accepts
// only what it documents, and reads back what Sign writes.
func FuzzParseSignature(f *testing.F) {
	at := time.Unix(1767225600, 0)
	f.Add(outbox.Sign([]string{secretNew}, at, []byte("{}")))
	f.Add(outbox.Sign([]string{secretNew, secretOld}, at, []byte("{}")))
	f.Add("t=1,v1=")
	f.Add("t=,v1=00")
	f.Add("v1=" + strings.Repeat("ab", 32) + ",t=99")
	f.Add(",,,")
	f.Add("t=-5,v1=" + strings.Repeat("ab", 32))
	f.Fuzz(func(t *testing.T, header string) {
		ts, sigs, err := outbox.ParseSignature(header)
		if err != nil {
			if !errors.Is(err, outbox.ErrNoSignature) {
				t.Fatalf("error %v is not ErrNoSignature", err)
			}
			return
		}
		if ts <= 0 || len(sigs) == 0 {
			t.Fatalf("accepted %q as t=%d with %d signatures", header, ts, len(sigs))
		}
		for _, s := range sigs {
			if len(s) != 32 {
				t.Fatalf("accepted a %d-byte signature", len(s))
			}
		}
		// Whatever was accepted verifies against its own re-signing
		// only if a signature is the real one: re-sign and check the
		// round trip of the timestamp.
		again := outbox.Sign([]string{secretNew}, time.Unix(ts, 0), []byte(header))
		ts2, sigs2, err := outbox.ParseSignature(again)
		if err != nil || ts2 != ts || len(sigs2) != 1 {
			t.Fatalf("round trip of t=%d: %d, %d signatures, %v", ts, ts2, len(sigs2), err)
		}
	})
}
