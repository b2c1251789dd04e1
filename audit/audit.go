// Package audit keeps the tamper-evident audit log: who unmasked, exported,
// changed a rule, a list or a role, or logged in, when, why, and with what
// result.
//
// Records form a hash chain: each stores SHA-256(previous hash ‖ canonical
// encoding of the record), so changing, removing, inserting or reordering
// a record breaks every hash after it. The chain alone does not stop
// someone with write access to the database from recomputing it, so the
// log also stores periodic checkpoints, ed25519 signatures over (seq,
// hash, time) by a key that the database does not hold; auditors verify
// them with the exported public key (Verify, `xiaobao audit verify`).
// Records after the last checkpoint are protected by the chain only, and
// so is the log's end: removing the newest records is seen once a later
// checkpoint refers to them, not before.
package audit

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// Actions recorded. Others may be added; these are the ones the platform
// writes.
const (
	ActionUnmask     = "unmask"
	ActionExport     = "export"
	ActionRuleChange = "rule.change"
	ActionListChange = "list.change"
	ActionRoleChange = "role.change"
	ActionLogin      = "login"
)

// Results.
const (
	ResultOK     = "ok"
	ResultDenied = "denied"
	ResultFailed = "failed"
)

// ActorUser and ActorKey name the two kinds of actor.
func ActorUser(id string) string { return "user:" + id }
func ActorKey(id string) string  { return "key:" + id }

// Entry is what a caller records. It must hold no PII: Target, Reason and
// Details carry ids and masked values (see package pii).
type Entry struct {
	// Time is when it happened, as the caller's clock says: the log never
	// reads a clock of its own. Stored to the microsecond.
	Time   time.Time
	Actor  string // ActorUser or ActorKey
	Action string
	Target string // what was acted on: "customer:c-1001", "pack:builtin@7"
	Reason string // the justification the actor gave
	Result string
	// Details is a JSON object, stored compacted; empty means {}.
	Details json.RawMessage
	// RequestID, when set, makes Append idempotent: appending an entry
	// whose request id is already in the log returns the stored record.
	RequestID string
}

// Record is an entry in the log.
type Record struct {
	Seq int64 // 1, 2, 3, … without gaps
	Entry
	PrevHash []byte // Hash of record Seq-1; zeros for Seq 1
	Hash     []byte
}

// Checkpoint is a signed statement that record Seq has hash Hash.
type Checkpoint struct {
	Seq       int64
	Hash      []byte
	Time      time.Time
	KeyID     string // KeyID of the signing key
	Signature []byte
}

// Limits on entry fields, so one bad caller cannot bloat the log.
const (
	maxShort   = 256
	maxTarget  = 1024
	maxReason  = 4096
	maxDetails = 16 << 10
)

// normalize validates e and returns it in stored form: UTC microseconds,
// compacted details.
func normalize(e Entry) (Entry, error) {
	var bad []xiaobao.FieldError
	add := func(field, reason string) { bad = append(bad, xiaobao.FieldError{Field: field, Reason: reason}) }
	if e.Time.IsZero() {
		add("time", "required")
	}
	text := func(field, v string, limit int, required bool) {
		switch {
		case required && v == "":
			add(field, "required")
		case len(v) > limit:
			add(field, fmt.Sprintf("longer than %d bytes", limit))
		case strings.IndexByte(v, 0) >= 0 || !utf8.ValidString(v):
			add(field, "must be valid UTF-8 without NUL characters")
		}
	}
	text("actor", e.Actor, maxShort, true)
	text("action", e.Action, maxShort, true)
	text("target", e.Target, maxTarget, false)
	text("reason", e.Reason, maxReason, false)
	text("result", e.Result, maxShort, true)
	text("request_id", e.RequestID, maxShort, false)
	if len(e.Details) == 0 {
		e.Details = json.RawMessage("{}")
	} else {
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Details); err != nil || buf.Len() == 0 || buf.Bytes()[0] != '{' {
			add("details", "must be a JSON object")
		} else if buf.Len() > maxDetails {
			add("details", fmt.Sprintf("longer than %d bytes", maxDetails))
		} else if !utf8.Valid(buf.Bytes()) {
			add("details", "must be valid UTF-8")
		} else {
			e.Details = json.RawMessage(buf.Bytes())
		}
	}
	if len(bad) > 0 {
		return e, xiaobao.Invalid("invalid audit entry", bad...)
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return e, nil
}

// sameEntry reports whether a and b record the same thing, ignoring Time:
// a client retrying a request id may stamp the retry anew.
func sameEntry(a, b Entry) bool {
	return a.Actor == b.Actor && a.Action == b.Action && a.Target == b.Target &&
		a.Reason == b.Reason && a.Result == b.Result && bytes.Equal(a.Details, b.Details)
}

// Canonical encoding, version 1: a domain prefix, seq and time (unix
// microseconds) as 8-byte big-endian integers, then each text field as a
// uvarint length and its bytes, in a fixed order. Lengths make it
// unambiguous; fixed widths make it easy to reimplement for auditors.
const recordDomain = "xiaobao audit record v1\x00"

// HashRecord returns SHA-256(prev ‖ encoding of r), r's hash when prev is
// the hash of the record before it (32 zero bytes before the first). r's
// PrevHash and Hash are ignored.
func HashRecord(prev []byte, r *Record) []byte {
	b := make([]byte, 0, 32+len(recordDomain)+16+len(r.Actor)+len(r.Action)+len(r.Target)+len(r.Reason)+len(r.Result)+len(r.Details)+len(r.RequestID)+7*3)
	b = append(b, prev...)
	b = append(b, recordDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixMicro()))
	for _, s := range [...]string{r.Actor, r.Action, r.Target, r.Reason, r.Result, string(r.Details), r.RequestID} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	h := sha256.Sum256(b)
	return h[:]
}

// GenesisHash is the PrevHash of record 1.
var GenesisHash = make([]byte, sha256.Size)

const checkpointDomain = "xiaobao audit checkpoint v1\x00"

func checkpointMessage(c *Checkpoint) []byte {
	b := append([]byte(checkpointDomain), c.KeyID...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = append(b, c.Hash...)
	return binary.BigEndian.AppendUint64(b, uint64(c.Time.UnixMicro()))
}

// SigningKeyPurpose is the purpose label under which the checkpoint
// signing seed is derived from the master key (vault.MasterKey.Derive), so
// one configured secret serves both and neither key reveals the other.
const SigningKeyPurpose = "xiaobao audit checkpoint v1"

// Signer signs checkpoints.
type Signer struct {
	priv  ed25519.PrivateKey
	keyID string
}

// NewSigner returns a signer whose ed25519 key comes from a 32-byte seed.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, fmt.Errorf("audit: signing seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Signer{priv: priv, keyID: KeyID(priv.Public().(ed25519.PublicKey))}, nil
}

// PublicKey returns the key that verifies the signer's checkpoints.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.priv.Public().(ed25519.PublicKey) }

// KeyID returns the id of the signer's key.
func (s *Signer) KeyID() string { return s.keyID }

func (s *Signer) String() string { return "audit.Signer(" + s.keyID + ")" }

// Sign returns a checkpoint for record seq with hash, at t.
func (s *Signer) Sign(seq int64, hash []byte, t time.Time) Checkpoint {
	c := Checkpoint{Seq: seq, Hash: bytes.Clone(hash), Time: t.UTC().Truncate(time.Microsecond), KeyID: s.keyID}
	c.Signature = ed25519.Sign(s.priv, checkpointMessage(&c))
	return c
}

// KeyID returns a public key's id: the first 8 bytes of its SHA-256, hex.
func KeyID(pub ed25519.PublicKey) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// EncodePublicKey returns pub as "ed25519:" and base64, the form auditors
// are given and ParsePublicKey reads.
func EncodePublicKey(pub ed25519.PublicKey) string {
	return "ed25519:" + base64.StdEncoding.EncodeToString(pub)
}

// ParsePublicKey reads a key written by EncodePublicKey.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(strings.TrimSpace(s), "ed25519:"))
	if err != nil || len(b) != ed25519.PublicKeySize {
		return nil, xiaobao.Invalid("bad public key", xiaobao.FieldError{Field: "pubkey", Reason: "want ed25519: and the base64 of 32 bytes"})
	}
	return ed25519.PublicKey(b), nil
}
