package outbox

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the HTTP header that carries a webhook's signature:
//
//	X-Xiaobao-Signature: t=1767225600,v1=5257a869…,v1=9c1d…
//
// t is the Unix time of the attempt and each v1 the hex HMAC-SHA256, under
// one of the sink's secrets, of the bytes t + "." + body. Several v1 appear
// while a secret is being rotated: the sender signs with the new and the
// old, and a receiver that knows either accepts.
const SignatureHeader = "X-Xiaobao-Signature"

// Errors of Verify. A receiver answers 400 to any of them (401 if it
// prefers): a retry of the same request will not pass either.
var (
	ErrNoSignature = errors.New("outbox: no valid signature header")
	ErrStale       = errors.New("outbox: signature timestamp outside the tolerance")
	ErrMismatch    = errors.New("outbox: no signature matches")
)

// DefaultTolerance is how far a signature's timestamp may be from the
// receiver's clock: a replayed request older than this is refused, and
// clocks may disagree by less.
const DefaultTolerance = 5 * time.Minute

// Sign returns the signature header value for body sent at t, with a v1
// signature under each secret.
func Sign(secrets []string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	var b strings.Builder
	b.WriteString("t=")
	b.WriteString(ts)
	for _, s := range secrets {
		b.WriteString(",v1=")
		b.WriteString(hex.EncodeToString(mac(s, ts, body)))
	}
	return b.String()
}

func mac(secret, ts string, body []byte) []byte {
	h := hmac.New(sha256.New, []byte(secret))
	h.Write([]byte(ts))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// ParseSignature splits a signature header into its timestamp and its v1
// signatures. Elements of other schemes (a future v2) are skipped, so
// receivers keep working when one is added; a header with no timestamp, a
// malformed one, or no v1 signature is ErrNoSignature.
func ParseSignature(header string) (ts int64, sigs [][]byte, err error) {
	if len(header) > 4096 {
		return 0, nil, ErrNoSignature
	}
	seenT := false
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return 0, nil, ErrNoSignature
		}
		switch k {
		case "t":
			if seenT {
				return 0, nil, ErrNoSignature
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 || v[0] == '+' {
				return 0, nil, ErrNoSignature
			}
			ts, seenT = n, true
		case "v1":
			s, err := hex.DecodeString(v)
			if err != nil || len(s) != sha256.Size {
				return 0, nil, ErrNoSignature
			}
			sigs = append(sigs, s)
		}
	}
	if !seenT || len(sigs) == 0 {
		return 0, nil, ErrNoSignature
	}
	return ts, sigs, nil
}

// Verify checks a webhook: header is the SignatureHeader value, body the
// raw request body (before any JSON decoding), secrets the sink's current
// secrets (during a rotation, the new and the old one). It refuses a
// timestamp more than tolerance from now, which bounds the replay of a
// captured request; a redelivery by xiaobao carries a fresh timestamp and
// the same message id, which the receiver deduplicates on.
func Verify(secrets []string, header string, body []byte, now time.Time, tolerance time.Duration) error {
	ts, sigs, err := ParseSignature(header)
	if err != nil {
		return err
	}
	if d := now.Sub(time.Unix(ts, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	tss := strconv.FormatInt(ts, 10)
	for _, s := range secrets {
		want := mac(s, tss, body)
		for _, got := range sigs {
			if hmac.Equal(got, want) {
				return nil
			}
		}
	}
	return ErrMismatch
}
