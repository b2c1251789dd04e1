// Package auth holds API keys and their scopes. Keys are random secrets shown
// once at creation; only their SHA-256 hash is stored (keys are 256-bit
// random, so a slow password hash would add latency and no security).
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"
	"time"
)

// Scopes an API key can hold. ScopeAdmin implies every other scope.
const (
	ScopeAdmin         = "admin"
	ScopeEventsWrite   = "events:write"
	ScopeDecisionsRead = "decisions:read"
	ScopeOutcomesWrite = "outcomes:write"
	ScopeRulesRead     = "rules:read"
	ScopeRulesAdmin    = "rules:admin"
	ScopeListsRead     = "lists:read"
	ScopeListsAdmin    = "lists:admin"
	ScopeKeysAdmin     = "keys:admin"
	// ScopePrivacyRedact lets a caller mask personal data in free text.
	ScopePrivacyRedact = "privacy:redact"
	// ScopePIIUnmask lets a caller see personal data unmasked, one record
	// at a time, with a stated reason that is audited.
	ScopePIIUnmask = "pii:unmask"
	// ScopeAuditRead lets a caller read and verify the audit log.
	ScopeAuditRead = "audit:read"
	// ScopeStaffAdmin lets a caller manage staff users and their roles.
	ScopeStaffAdmin = "staff:admin"
	// ScopePrivacyRead lets a caller read customers' consents and
	// data-subject requests.
	ScopePrivacyRead = "privacy:read"
	// ScopeConsentsWrite lets a caller record consent changes.
	ScopeConsentsWrite = "consents:write"
	// ScopePrivacyAdmin lets a caller handle data-subject requests and
	// export a customer's data for a verified one.
	ScopePrivacyAdmin = "privacy:admin"
	// ScopeGraphRead lets a caller query the entity graph (what is linked
	// to an account, device or customer, and how).
	ScopeGraphRead = "graph:read"
	// ScopeReportRead lets a caller read the headline figures and their
	// rollups (GET /v1/report/summary, the console's dashboard).
	ScopeReportRead = "report:read"
	// ScopeCasesRead lets a caller see dissuasion cases, queues and the
	// money they saved; ScopeCasesWork lets them claim cases, add notes
	// and record calls; ScopeCasesSupervise lets them assign cases to
	// others, act on escalated ones and set agents' skills.
	ScopeCasesRead      = "cases:read"
	ScopeCasesWork      = "cases:work"
	ScopeCasesSupervise = "cases:supervise"
	// ScopeServiceRead lets a caller read the FAQ knowledge base (entries,
	// history, synonyms); ScopeServiceAdmin lets them import and edit it.
	ScopeServiceRead  = "service:read"
	ScopeServiceAdmin = "service:admin"
	// ScopeServiceAsk lets a channel (app chat, hotline, web, the agent
	// desk) send utterances to ask and run sessions: open, hand off, agent
	// turns, satisfaction, close. service:read also reads sessions, agents,
	// queues, guides and statistics; service:admin also edits agents,
	// queues and guides.
	ScopeServiceAsk = "service:ask"
	// ScopeOutboxAdmin lets a caller list outbox messages (callbacks and
	// notifications: their delivery state, never their payload) and
	// redrive dead ones.
	ScopeOutboxAdmin = "outbox:admin"
)

// AllScopes lists every scope.
var AllScopes = []string{ScopeAdmin, ScopeEventsWrite, ScopeDecisionsRead, ScopeOutcomesWrite,
	ScopeRulesRead, ScopeRulesAdmin, ScopeListsRead, ScopeListsAdmin, ScopeKeysAdmin, ScopePrivacyRedact,
	ScopePIIUnmask, ScopeAuditRead, ScopeStaffAdmin, ScopePrivacyRead, ScopeConsentsWrite, ScopePrivacyAdmin,
	ScopeGraphRead, ScopeReportRead, ScopeCasesRead, ScopeCasesWork, ScopeCasesSupervise,
	ScopeServiceRead, ScopeServiceAdmin, ScopeServiceAsk, ScopeOutboxAdmin}

// Key is a stored API key.
type Key struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Hash      string     `json:"-"`
	Prefix    string     `json:"prefix"` // first characters, to recognise a key in a list
	Scopes    []string   `json:"scopes"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// Allows reports whether the key holds scope (or admin) and is not revoked.
func (k *Key) Allows(scope string) bool {
	if k.RevokedAt != nil {
		return false
	}
	return slices.Contains(k.Scopes, ScopeAdmin) || slices.Contains(k.Scopes, scope)
}

// ValidScope reports whether s is a known scope.
func ValidScope(s string) bool { return slices.Contains(AllScopes, s) }

// HashSecret returns the stored form of a key secret.
func HashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// NewSecret returns a new random key secret, "xb_" and 43 URL-safe characters.
func NewSecret() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return "xb_" + base64.RawURLEncoding.EncodeToString(b[:])
}

// NewID returns a new random key id.
func NewID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "key_" + strings.ToLower(hex.EncodeToString(b[:]))
}

// KeyStore keeps API keys.
type KeyStore interface {
	// CreateKey stores k; an existing Hash is an ECONFLICT error.
	CreateKey(ctx context.Context, k *Key) error
	// KeyByHash returns the key with that hash, ENOTFOUND if none.
	KeyByHash(ctx context.Context, hash string) (*Key, error)
	Keys(ctx context.Context) ([]*Key, error)
	// RevokeKey marks a key revoked at t; revoking twice is a no-op.
	RevokeKey(ctx context.Context, id string, t time.Time) error
}
