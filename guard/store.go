package guard

import (
	"cmp"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Record is an event with its decision: the unit that is made durable before
// a decision is acknowledged.
type Record struct {
	Seq      int64
	Event    *Event // Raw is what is stored; the rest is derived from it
	Decision *Decision
	// DecisionJSON, when set, is Decision already encoded (by
	// AppendDecisionJSON): the journal and the store reuse it instead of
	// encoding the same decision again.
	DecisionJSON []byte
}

// EncodedDecision returns the record's decision as JSON, encoding it only
// if that was not done already.
func (r *Record) EncodedDecision() []byte {
	if r.DecisionJSON != nil {
		return r.DecisionJSON
	}
	return AppendDecisionJSON(make([]byte, 0, decisionJSONHint), r.Decision)
}

// decisionJSONHint is a typical encoded decision's size: one allocation
// instead of a dozen as the buffer grows.
const decisionJSONHint = 1536

// DecisionFilter selects stored decisions. Zero fields match everything.
type DecisionFilter struct {
	CustomerID string
	Account    string // counterparty.account
	DeviceID   string
	Action     *Action
	MinAction  *Action
	Typology   string
	EventType  EventType
	From, To   time.Time // occurred_at in [From, To)
	BeforeSeq  int64     // for paging, newest first: only seq < BeforeSeq
	Limit      int       // default 50, at most 1000
}

// ReplayItem is what restart replay needs of a stored record: the raw event
// and the parts of its decision that feature state remembers.
type ReplayItem struct {
	Seq      int64
	Raw      []byte
	Action   Action
	Typology string
}

// DecisionStore keeps events and their decisions. Seq is assigned by the
// service, strictly increasing in the order decisions were made; replaying
// in Seq order rebuilds exactly the same feature state.
type DecisionStore interface {
	// SaveRecords stores records atomically, all or none. An event_id that is
	// already stored is an ECONFLICT error, which the service prevents.
	SaveRecords(ctx context.Context, recs []*Record) error
	// Decision returns the stored record of a decision id (ENOTFOUND if none).
	Decision(ctx context.Context, decisionID string) (*Record, error)
	// DecisionByEvent returns the stored record for an event_id (ENOTFOUND if none).
	DecisionByEvent(ctx context.Context, eventID string) (*Record, error)
	// FindDecisions returns matching records, newest first.
	FindDecisions(ctx context.Context, f DecisionFilter) ([]*Record, error)
	// Replay calls fn for every record with Seq > afterSeq in Seq order.
	Replay(ctx context.Context, afterSeq int64, fn func(ReplayItem) error) error
	// EventIDs calls fn with every stored event_id (order unspecified).
	EventIDs(ctx context.Context, fn func(id string) error) error
	// MaxSeq returns the highest stored Seq, 0 if none.
	MaxSeq(ctx context.Context) (int64, error)
}

// SnapshotStore keeps the latest feature-state snapshot.
type SnapshotStore interface {
	// SaveSnapshot replaces the snapshot with one taken after record seq.
	SaveSnapshot(ctx context.Context, seq int64, data []byte) error
	// LoadSnapshot returns the latest snapshot; seq 0 and nil data if none.
	LoadSnapshot(ctx context.Context) (seq int64, data []byte, err error)
}

// OutcomeKind is what happened after a decision.
type OutcomeKind string

const (
	OutcomeConfirmedFraud OutcomeKind = "confirmed_fraud"
	OutcomeFalseAlarm     OutcomeKind = "false_alarm"
	OutcomeDissuaded      OutcomeKind = "customer_dissuaded"
	OutcomeProceeded      OutcomeKind = "customer_proceeded"
)

// OutcomeKinds lists the valid outcome kinds.
var OutcomeKinds = []OutcomeKind{OutcomeConfirmedFraud, OutcomeFalseAlarm, OutcomeDissuaded, OutcomeProceeded}

// Outcome records what happened after a decision: a label for features and
// for evaluation, and the money it saved or lost.
type Outcome struct {
	ID         string      `json:"outcome_id"`
	DecisionID string      `json:"decision_id"`
	Kind       OutcomeKind `json:"outcome"`
	// AmountLost and AmountSaved are the money the outcome lost or saved; the
	// HTTP adapter writes them as decimal strings.
	AmountLost  xiaobao.Money `json:"-"`
	AmountSaved xiaobao.Money `json:"-"`
	Typology    string        `json:"typology,omitempty"`
	Note        string        `json:"note,omitempty"`
	Source      string        `json:"source,omitempty"`
	RecordedAt  time.Time     `json:"recorded_at"`
	// Copied from the decision so features can learn from outcomes without
	// reading decisions back.
	CustomerID string `json:"customer_id"`
	Account    string `json:"-"`
}

// OutcomeStore keeps outcomes. Recording the same outcome for the same
// decision again is idempotent; a different one replaces it (the latest wins)
// and both are kept in history.
type OutcomeStore interface {
	SaveOutcome(ctx context.Context, o *Outcome) (created bool, err error)
	Outcome(ctx context.Context, decisionID string) (*Outcome, error)
	// Outcomes calls fn for every latest outcome in recorded order.
	Outcomes(ctx context.Context, fn func(*Outcome) error) error
}

// PackVersion is one stored version of a rule pack.
type PackVersion struct {
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	Source    string    `json:"source"` // the YAML as loaded
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"`
	Comment   string    `json:"comment,omitempty"`
}

// PackStore keeps every version of every rule pack.
type PackStore interface {
	// SavePack stores a new version (Version is assigned: last+1) and returns it.
	SavePack(ctx context.Context, p *PackVersion) error
	// PackVersions returns the versions of one pack, newest first.
	PackVersions(ctx context.Context, name string) ([]*PackVersion, error)
	PackVersion(ctx context.Context, name string, version int) (*PackVersion, error)
	// ActivatePack makes one version the active one of its pack.
	ActivatePack(ctx context.Context, name string, version int) error
	// DeactivatePack leaves the pack with no active version.
	DeactivatePack(ctx context.Context, name string) error
	// ActivePacks returns the active version of every pack that has one.
	ActivePacks(ctx context.Context) ([]*PackVersion, error)
	// PackNames returns every pack name.
	PackNames(ctx context.Context) ([]string, error)
}

// ListStore keeps block and allow lists.
type ListStore interface {
	// PutListEntries inserts or replaces entries by (List, Kind, Value).
	PutListEntries(ctx context.Context, es []*ListEntry) error
	DeleteListEntry(ctx context.Context, list ListName, kind EntityKind, value string) error
	// ListEntries returns matching entries, all when the filter is zero.
	ListEntries(ctx context.Context, f ListFilter) ([]*ListEntry, error)
}

// Store is everything Guard keeps.
type Store interface {
	DecisionStore
	SnapshotStore
	OutcomeStore
	PackStore
	ListStore
}

// Sealer encrypts personal data at rest (vault.Vault implements it): the
// raw events in the store and the journal, and the counterparty accounts
// the store indexes, which it keeps only as keyed blind indexes.
type Sealer interface {
	// AppendEncrypt appends plaintext sealed under the current data key,
	// bound to ad (where the value lives), to dst.
	AppendEncrypt(dst, plaintext, ad []byte) ([]byte, error)
	// AppendDecrypt appends the plaintext of ciphertext, checked against
	// ad, to dst.
	AppendDecrypt(dst, ciphertext, ad []byte) ([]byte, error)
	// AccountIndex returns the blind index of a counterparty account, the
	// same for every spelling of one account and useless without the key.
	AccountIndex(account string) string
	// TextIndex returns the blind index of a text, exactly as written.
	TextIndex(s string) string
}

// AppendFieldAD appends the associated data of a sealed field: the table,
// the column and the row's key.
func AppendFieldAD(dst []byte, table, column, key string) []byte {
	dst = append(dst, "xiaobao field\x00"...)
	dst = append(append(dst, table...), 0)
	dst = append(append(dst, column...), 0)
	return append(dst, key...)
}

// AppendRawAD appends the associated data that binds a sealed raw event to
// its event id, wherever it is stored: a sealed event moved onto another
// record does not decrypt.
func AppendRawAD(dst []byte, eventID string) []byte {
	return append(append(dst, "xiaobao raw event\x00"...), eventID...)
}

// sealedTextPrefix marks a sealed text column value: a control character
// no caller's text may start with (SealText refuses them), then a version.
const sealedTextPrefix = "\x01xb1:"

// SealText seals text for a text column (base64 after a marker, since
// text columns must hold valid UTF-8). An empty text stays empty.
func SealText(s Sealer, text string, ad []byte) (string, error) {
	if text == "" || s == nil {
		if strings.HasPrefix(text, "\x01") {
			return "", xiaobao.Errorf(xiaobao.EINVALID, "text must not start with a control character")
		}
		return text, nil
	}
	if text[0] == 0x01 {
		return "", xiaobao.Errorf(xiaobao.EINVALID, "text must not start with a control character")
	}
	ct, err := s.AppendEncrypt(nil, []byte(text), ad)
	if err != nil {
		return "", err
	}
	return sealedTextPrefix + base64.RawStdEncoding.EncodeToString(ct), nil
}

// OpenText returns the plaintext of a text column value that SealText may
// have sealed; values stored before sealing was configured pass through.
func OpenText(s Sealer, stored string, ad []byte) (string, error) {
	b64, ok := strings.CutPrefix(stored, sealedTextPrefix)
	if !ok {
		return stored, nil
	}
	if s == nil {
		return "", errors.New("a sealed value and no key to open it")
	}
	ct, err := base64.RawStdEncoding.DecodeString(b64)
	if err != nil {
		return "", fmt.Errorf("sealed value: %w", err)
	}
	pt, err := s.AppendDecrypt(nil, ct, ad)
	if err != nil {
		return "", err
	}
	return string(pt), nil
}

// Resealer re-encrypts a sealed value under the current primary data key,
// saying whether that changed it (vault.Vault).
type Resealer interface {
	ReEncrypt(ciphertext, ad []byte) (out []byte, changed bool, err error)
}

// ResealRawFunc returns the function a store's ResealRaw calls for each
// raw event: plaintext events (stored before sealing) are left alone.
func ResealRawFunc(r Resealer) func(eventID string, raw []byte) ([]byte, bool, error) {
	return func(eventID string, raw []byte) ([]byte, bool, error) {
		if len(raw) == 0 || raw[0] == '{' {
			return raw, false, nil
		}
		return r.ReEncrypt(raw, AppendRawAD(nil, eventID))
	}
}

// ResealTextFunc returns the function a store's ResealFields calls for
// each sealed text field: table and column name it, rowKey is what its
// associated data binds it to (a decision id; list/kind/key for a list
// entry).
func ResealTextFunc(r Resealer) func(table, column, rowKey, stored string) (string, bool, error) {
	return func(table, column, rowKey, stored string) (string, bool, error) {
		b64, ok := strings.CutPrefix(stored, sealedTextPrefix)
		if !ok {
			return stored, false, nil
		}
		ct, err := base64.RawStdEncoding.DecodeString(b64)
		if err != nil {
			return "", false, fmt.Errorf("sealed %s.%s: %w", table, column, err)
		}
		out, changed, err := r.ReEncrypt(ct, AppendFieldAD(nil, table, column, rowKey))
		if err != nil || !changed {
			return stored, false, err
		}
		return sealedTextPrefix + base64.RawStdEncoding.EncodeToString(out), true, nil
	}
}

// sealedListKinds are the list kinds whose values are personal data:
// stores keep them as a blind index (for lookups and uniqueness) and a
// sealed copy (to load the lists and show them).
var sealedListKinds = map[EntityKind]bool{KindPhone: true, KindAccount: true, KindIP: true}

// ListValueKey returns how a list entry's value is stored and looked up:
// the value itself, or "bi:" and its blind index when s is set and the kind
// is personal data.
func ListValueKey(s Sealer, kind EntityKind, value string) string {
	if s == nil || !sealedListKinds[kind] || value == "" {
		return value
	}
	return "bi:" + s.TextIndex(string(kind)+"\x00"+value)
}

// SealListValue returns the stored forms of e's value: its key (see
// ListValueKey) and its sealed copy ("" when the key is the value).
func SealListValue(s Sealer, e *ListEntry) (key, sealed string, err error) {
	key = ListValueKey(s, e.Kind, e.Value)
	if key == e.Value {
		return key, "", nil
	}
	sealed, err = SealText(s, e.Value, listValueAD(e.List, e.Kind, key))
	return key, sealed, err
}

// OpenListValue returns the value of a stored list entry.
func OpenListValue(s Sealer, list ListName, kind EntityKind, key, sealed string) (string, error) {
	if sealed == "" {
		return key, nil
	}
	return OpenText(s, sealed, listValueAD(list, kind, key))
}

func listValueAD(list ListName, kind EntityKind, key string) []byte {
	return AppendFieldAD(nil, "list_entries", "value", string(list)+"/"+string(kind)+"/"+key)
}

// SortListEntries orders es by (list, kind, value), the order stores
// return them in.
func SortListEntries(es []*ListEntry) {
	slices.SortFunc(es, func(a, b *ListEntry) int {
		return cmp.Or(cmp.Compare(a.List, b.List), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Value, b.Value))
	})
}

// SealRaw returns the stored form of a raw event and its counterparty
// account: sealed and blind-indexed when s is set, as they came otherwise.
func SealRaw(s Sealer, eventID string, raw []byte, account string) ([]byte, string, error) {
	if s == nil {
		return raw, account, nil
	}
	var ad [128]byte
	sealed, err := s.AppendEncrypt(nil, raw, AppendRawAD(ad[:0], eventID))
	if err != nil {
		return nil, "", fmt.Errorf("seal event %s: %w", eventID, err)
	}
	return sealed, AccountKey(s, account), nil
}

// AccountKey is how a counterparty account is stored and looked up: its
// blind index when s is set, else the account itself.
func AccountKey(s Sealer, account string) string {
	if account == "" || s == nil {
		return account
	}
	return s.AccountIndex(account)
}

// OpenRaw returns the plaintext of a stored raw event. Events stored before
// a sealer was configured are plaintext JSON, which never starts like a
// sealed value, so both read back.
func OpenRaw(s Sealer, eventID string, raw []byte) ([]byte, error) {
	if raw == nil {
		return []byte{}, nil
	}
	if len(raw) == 0 || raw[0] == '{' || s == nil {
		return raw, nil
	}
	var ad [128]byte
	pt, err := s.AppendDecrypt(nil, raw, AppendRawAD(ad[:0], eventID))
	if err != nil {
		return nil, fmt.Errorf("open sealed event %s: %w", eventID, err)
	}
	return pt, nil
}

// SealOutcome returns the stored forms of o's account and note, and the
// note's fingerprint: sealed texts differ at every sealing, so stores tell
// a retried outcome from a changed note by the fingerprint.
func SealOutcome(s Sealer, o *Outcome) (account, note, noteFP string, err error) {
	var ad [160]byte
	if account, err = SealText(s, o.Account, AppendFieldAD(ad[:0], "outcomes", "account", o.DecisionID)); err != nil {
		return "", "", "", fmt.Errorf("account: %w", err)
	}
	if note, err = SealText(s, o.Note, AppendFieldAD(ad[:0], "outcomes", "note", o.DecisionID)); err != nil {
		return "", "", "", fmt.Errorf("note: %w", err)
	}
	if s != nil && o.Note != "" {
		noteFP = s.TextIndex(o.Note)
	}
	return account, note, noteFP, nil
}

// OpenOutcome opens o's sealed account and note in place.
func OpenOutcome(s Sealer, o *Outcome) error {
	var ad [160]byte
	var err error
	if o.Account, err = OpenText(s, o.Account, AppendFieldAD(ad[:0], "outcomes", "account", o.DecisionID)); err != nil {
		return fmt.Errorf("open outcome of %s: %w", o.DecisionID, err)
	}
	if o.Note, err = OpenText(s, o.Note, AppendFieldAD(ad[:0], "outcomes", "note", o.DecisionID)); err != nil {
		return fmt.Errorf("open outcome of %s: %w", o.DecisionID, err)
	}
	return nil
}
