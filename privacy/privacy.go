// Package privacy keeps what PIPL (个人信息保护法) and the People's Bank of
// China's rules on personal financial information (个人金融信息保护技术规范,
// 金融消费者权益保护实施办法) ask of a lender or payment app about each
// customer's personal data: their consents per purpose, their data-subject
// requests (access, export, correction, deletion) with a working-day
// deadline, and what a deletion may remove now and what the
// anti-money-laundering rules make the firm keep.
//
// It is domain logic only: no I/O but the Store interface, and it never
// reads a clock; callers pass the time.
package privacy

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// Store keeps consents and data-subject requests.
type Store interface {
	// RecordConsent stores c and assigns c.Seq. If c.IdempotencyKey is
	// already stored, it stores nothing and returns the stored consent and
	// false when that records the same change (SameConsent), ECONFLICT
	// when it does not.
	RecordConsent(ctx context.Context, c *Consent) (stored *Consent, created bool, err error)
	// Consents returns a customer's consent history in History order (At,
	// then Seq).
	Consents(ctx context.Context, customerID string) ([]*Consent, error)

	// CreateRequest stores r with its first event (r.Events[0], the
	// receipt). If r.IdempotencyKey is already stored it stores nothing
	// and returns the stored request and false when that is the same
	// request (SameRequest), ECONFLICT when it is not.
	CreateRequest(ctx context.Context, r *Request) (stored *Request, created bool, err error)
	// Request returns a request with its events, ENOTFOUND if none.
	Request(ctx context.Context, id string) (*Request, error)
	// UpdateRequest stores r's new state and appends ev, provided r is
	// still in state from: a concurrent transition makes it ECONFLICT,
	// so two staff members cannot both act on the same step.
	UpdateRequest(ctx context.Context, r *Request, from Status, ev Event) error
	// Requests returns the requests f selects, by due time then id.
	Requests(ctx context.Context, f RequestFilter) ([]*Request, error)
}

// RequestFilter selects requests; zero fields match everything.
type RequestFilter struct {
	CustomerID string
	Kind       Kind
	Status     Status
	// Overdue, when set, keeps only requests whose deadline was (true) or
	// was not (false) missed as of Now (see Request.Overdue).
	Overdue *bool
	Now     time.Time
	Limit   int // default 100, at most 1000
}

// Limits on text fields.
const (
	MaxIDLen      = 128
	MaxVersionLen = 64
	MaxEvidence   = 512
	MaxDetails    = 4000
	MaxNote       = 2000
	MaxActor      = 256
)

// checkID reports what is wrong with an identifier (customer id,
// idempotency key, policy version), or "".
func checkID(s string, required bool, limit int) string {
	switch {
	case s == "" && required:
		return "is required"
	case len(s) > limit:
		return "must be at most " + strconv.Itoa(limit) + " bytes"
	case !utf8.ValidString(s) || strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
		return "must be printable text without spaces"
	}
	return ""
}

// checkText reports what is wrong with free text, or "".
func checkText(s string, limit int) string {
	switch {
	case len(s) > limit:
		return "must be at most " + strconv.Itoa(limit) + " bytes"
	case !utf8.ValidString(s) || strings.IndexByte(s, 0) >= 0:
		return "must be valid UTF-8 without NUL characters"
	}
	return ""
}

// newID returns prefix and 16 random hex digits.
func newID(prefix string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// NewKey returns a fresh idempotency key, for callers that sent none: the
// store's key column is then unique without special cases.
func NewKey() string { return newID("srv_") }

func invalid(msg string, fe []xiaobao.FieldError) error {
	if len(fe) == 0 {
		return nil
	}
	return xiaobao.Invalid(msg, fe...)
}

// microsecond truncates t to what both stores keep, in UTC.
func microsecond(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// CheckCustomerID says what is wrong with a customer id, or "".
func CheckCustomerID(id string) string { return checkID(id, true, MaxIDLen) }
