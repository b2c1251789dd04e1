package privacy

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Purpose is what personal data is processed for. PIPL art. 14 makes
// consent specific to a purpose, so a customer grants or withdraws each
// one separately.
type Purpose string

// The purposes a consumer-protection platform distinguishes.
const (
	// Marketing: product offers by app push, SMS or call (营销).
	Marketing Purpose = "marketing"
	// RiskControl: anti-fraud and anti-money-laundering processing (风控).
	// It rests on legal obligations (反电信网络诈骗法, 反洗钱法; PIPL art.
	// 13(3)), not on consent, so there is nothing to grant or withdraw.
	RiskControl Purpose = "risk_control"
	// ThirdPartySharing: providing data to another controller, which PIPL
	// art. 23 makes a separate consent (单独同意).
	ThirdPartySharing Purpose = "third_party_sharing"
	// EducationOutreach: anti-fraud education and warnings beyond the
	// journey itself (金融知识宣传教育).
	EducationOutreach Purpose = "education_outreach"
	// Profiling: automated decisions and user profiles used for offers
	// (PIPL art. 24).
	Profiling Purpose = "profiling"
)

// Purposes lists every purpose.
var Purposes = []Purpose{Marketing, RiskControl, ThirdPartySharing, EducationOutreach, Profiling}

// Basis is the legal basis of processing for a purpose.
type Basis string

const (
	BasisConsent         Basis = "consent"          // PIPL art. 13(1)
	BasisLegalObligation Basis = "legal_obligation" // PIPL art. 13(3)
)

// Valid reports whether p is a known purpose.
func (p Purpose) Valid() bool { return slices.Contains(Purposes, p) }

// Basis returns the legal basis of processing for p.
func (p Purpose) Basis() Basis {
	if p == RiskControl {
		return BasisLegalObligation
	}
	return BasisConsent
}

// NeedsConsent reports whether processing for p needs the customer's
// consent, and so whether a consent for it can be recorded at all.
func (p Purpose) NeedsConsent() bool { return p.Basis() == BasisConsent }

// Channel is where a customer gave, withdrew or asked something.
type Channel string

const (
	ChannelApp     Channel = "app"
	ChannelSMS     Channel = "sms"
	ChannelCounter Channel = "counter" // in a branch (柜面)
	ChannelCall    Channel = "call"    // recorded phone call
)

// Channels lists every channel.
var Channels = []Channel{ChannelApp, ChannelSMS, ChannelCounter, ChannelCall}

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool { return slices.Contains(Channels, c) }

func purposeList() string {
	s := make([]string, len(Purposes))
	for i, p := range Purposes {
		s[i] = string(p)
	}
	return strings.Join(s, ", ")
}

func channelList() string {
	s := make([]string, len(Channels))
	for i, c := range Channels {
		s[i] = string(c)
	}
	return strings.Join(s, ", ")
}

// Consent is one change of a customer's consent to a purpose. Changes are
// never overwritten: the history is the evidence that processing was
// lawful on the day it happened.
type Consent struct {
	Seq        int64   `json:"seq"` // assigned by the store
	CustomerID string  `json:"customer_id"`
	Purpose    Purpose `json:"purpose"`
	Granted    bool    `json:"granted"` // false: withdrawn
	Channel    Channel `json:"channel"`
	// PolicyVersion is the version of the privacy policy the customer saw.
	PolicyVersion string `json:"policy_version"`
	// At is when the customer granted or withdrew, which may be before it
	// was recorded (a paper form at the counter).
	At time.Time `json:"at"`
	// Evidence refers to where the proof is kept: a call recording id, a
	// scanned form, an app consent log entry. Never the content itself.
	Evidence       string    `json:"evidence,omitempty"`
	IdempotencyKey string    `json:"request_id"`
	RecordedAt     time.Time `json:"recorded_at"`
	RecordedBy     string    `json:"recorded_by"`
}

// ValidateConsent checks a consent change about to be recorded at now and
// normalizes its times. It returns an EINVALID error naming each bad field.
func ValidateConsent(c *Consent, now time.Time) error {
	var fe []xiaobao.FieldError
	bad := func(f, why string) { fe = append(fe, xiaobao.FieldError{Field: f, Reason: why}) }
	if why := checkID(c.CustomerID, true, MaxIDLen); why != "" {
		bad("customer_id", why)
	}
	switch {
	case !c.Purpose.Valid():
		bad("purpose", "must be one of "+purposeList())
	case !c.Purpose.NeedsConsent():
		bad("purpose", string(c.Purpose)+" processing rests on a legal obligation (anti-fraud, anti-money-laundering), not on consent: there is no consent to grant or withdraw")
	}
	if !c.Channel.Valid() {
		bad("channel", "must be one of "+channelList())
	}
	if why := checkID(c.PolicyVersion, true, MaxVersionLen); why != "" {
		bad("policy_version", why)
	}
	if why := checkText(c.Evidence, MaxEvidence); why != "" {
		bad("evidence", why)
	}
	if why := checkID(c.IdempotencyKey, false, MaxIDLen); why != "" {
		bad("request_id", why)
	}
	if why := checkText(c.RecordedBy, MaxActor); why != "" {
		bad("recorded_by", why)
	}
	if c.At.IsZero() {
		c.At = now
	}
	// A few minutes of clock skew between the business system and us are
	// normal; a consent dated later than that is a mistake.
	if c.At.After(now.Add(5 * time.Minute)) {
		bad("at", "must not be in the future")
	}
	if err := invalid("the consent is invalid", fe); err != nil {
		return err
	}
	c.At, c.RecordedAt = microsecond(c.At), microsecond(now)
	return nil
}

// SameConsent reports whether a and b record the same change, ignoring
// when and by whom they were recorded: a retry is recorded anew.
func SameConsent(a, b *Consent) bool {
	return a.CustomerID == b.CustomerID && a.Purpose == b.Purpose && a.Granted == b.Granted &&
		a.Channel == b.Channel && a.PolicyVersion == b.PolicyVersion && a.At.Equal(b.At) && a.Evidence == b.Evidence
}

// History sorts consents in the order they took effect: by At, then by
// Seq (the order they were recorded) for changes at the same instant.
func History(cs []*Consent) {
	slices.SortStableFunc(cs, func(a, b *Consent) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Seq, b.Seq)
	})
}

// State is where a customer stands on one purpose.
type State string

const (
	StateGranted     State = "granted"
	StateWithdrawn   State = "withdrawn"
	StateNotRecorded State = "not_recorded" // no consent: treated as not given
	StateNotRequired State = "not_required" // the purpose needs no consent
)

// PurposeState is the current state of one purpose for a customer.
type PurposeState struct {
	Purpose Purpose `json:"purpose"`
	Basis   Basis   `json:"basis"`
	State   State   `json:"state"`
	// Allowed says whether processing for the purpose may go ahead.
	Allowed bool `json:"allowed"`
	// Latest is the change that decided the state, if any.
	Latest *Consent `json:"latest,omitempty"`
}

// Current returns the state of every purpose given a customer's consent
// history (in any order), in the order of Purposes. The latest change per
// purpose wins; consent not recorded is consent not given (PIPL art. 14:
// consent must be an explicit act).
func Current(history []*Consent) []PurposeState {
	hs := slices.Clone(history)
	History(hs)
	latest := map[Purpose]*Consent{}
	for _, c := range hs {
		latest[c.Purpose] = c
	}
	out := make([]PurposeState, len(Purposes))
	for i, p := range Purposes {
		st := PurposeState{Purpose: p, Basis: p.Basis()}
		switch c := latest[p]; {
		case !p.NeedsConsent():
			st.State, st.Allowed = StateNotRequired, true
		case c == nil:
			st.State = StateNotRecorded
		case c.Granted:
			st.State, st.Allowed, st.Latest = StateGranted, true, c
		default:
			st.State, st.Latest = StateWithdrawn, c
		}
		out[i] = st
	}
	return out
}

// Allowed reports whether processing for p is allowed given a customer's
// consent history.
func Allowed(history []*Consent, p Purpose) bool {
	for _, st := range Current(history) {
		if st.Purpose == p {
			return st.Allowed
		}
	}
	return false
}
