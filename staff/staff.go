// Package staff is who works in xiaobao: staff users, their roles, what
// each role may do, and sign-in sessions.
//
// Least privilege is the rule: every role gets the scopes its daily work
// needs and nothing else, personal data is masked for everyone by default,
// and seeing it unmasked is a scope of its own (pii:unmask) that only the
// roles that must call or judge a customer hold, and that asks for a
// stated reason each time (the HTTP layer enforces and audits it).
//
// A signed-in staff user acts through the same scopes as an API key, so
// each endpoint declares its scope once and both kinds of caller are
// checked the same way.
package staff

import (
	"context"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
)

// Role is a staff role.
type Role string

// The roles of a consumer-protection operation.
const (
	Agent      Role = "agent"      // customer-service agent (客服坐席)
	Caller     Role = "caller"     // dissuasion caller (劝阻外呼)
	Complaints Role = "complaints" // complaint handler (投诉处理)
	Compliance Role = "compliance" // compliance officer (合规)
	Analyst    Role = "analyst"    // risk analyst: rules and lists (风险策略)
	Auditor    Role = "auditor"    // internal audit: reads the audit log (审计)
	Admin      Role = "admin"      // administrator: users, keys (系统管理员)
	Supervisor Role = "supervisor" // dissuasion supervisor: escalations, assignment (劝阻主管)
)

// Roles lists every role.
var Roles = []Role{Agent, Caller, Complaints, Compliance, Analyst, Auditor, Admin, Supervisor}

// Scopes named here for short.
const (
	ScopePIIUnmask  = auth.ScopePIIUnmask
	ScopeAuditRead  = auth.ScopeAuditRead
	ScopeStaffAdmin = auth.ScopeStaffAdmin
)

// roleScopes is the permission matrix. Nobody but Admin holds auth's admin
// scope, and even Admin does not see personal data unmasked by default:
// administering the system is not a reason to read customers' files.
var roleScopes = map[Role][]string{
	Agent:      {auth.ScopeDecisionsRead, auth.ScopePrivacyRedact, auth.ScopePrivacyRead, auth.ScopeCasesRead, auth.ScopeServiceRead, auth.ScopeServiceAsk},
	Caller:     {auth.ScopeDecisionsRead, auth.ScopeOutcomesWrite, ScopePIIUnmask, auth.ScopePrivacyRedact, auth.ScopeGraphRead, auth.ScopeCasesRead, auth.ScopeCasesWork},
	Complaints: {auth.ScopeDecisionsRead, ScopePIIUnmask, auth.ScopePrivacyRedact, auth.ScopePrivacyRead, auth.ScopeConsentsWrite, auth.ScopePrivacyAdmin},
	Compliance: {auth.ScopeDecisionsRead, auth.ScopeRulesRead, auth.ScopeListsRead, ScopeAuditRead, auth.ScopePrivacyRead, auth.ScopeConsentsWrite, auth.ScopePrivacyAdmin, auth.ScopeGraphRead, auth.ScopeReportRead, auth.ScopeCasesRead,
		auth.ScopeServiceRead, auth.ScopeServiceAdmin},
	Analyst: {auth.ScopeDecisionsRead, auth.ScopeRulesRead, auth.ScopeRulesAdmin, auth.ScopeListsRead, auth.ScopeListsAdmin, auth.ScopeGraphRead, auth.ScopeReportRead},
	Auditor: {ScopeAuditRead, auth.ScopeDecisionsRead, auth.ScopeReportRead},
	Admin:   {ScopeStaffAdmin, auth.ScopeKeysAdmin, auth.ScopeRulesRead, auth.ScopeListsRead, ScopeAuditRead, auth.ScopeReportRead, auth.ScopeServiceRead, auth.ScopeServiceAdmin},
	Supervisor: {auth.ScopeDecisionsRead, auth.ScopeOutcomesWrite, ScopePIIUnmask, auth.ScopePrivacyRedact, auth.ScopeGraphRead, auth.ScopeReportRead,
		auth.ScopeCasesRead, auth.ScopeCasesWork, auth.ScopeCasesSupervise},
}

// ValidRole reports whether r is a known role.
func ValidRole(r Role) bool { return slices.Contains(Roles, r) }

// ScopesOf returns the scopes that roles grant together, sorted.
func ScopesOf(roles []Role) []string {
	var out []string
	for _, r := range roles {
		for _, s := range roleScopes[r] {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	slices.Sort(out)
	return out
}

// User is a staff user.
type User struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	Roles       []Role     `json:"roles"`
	Disabled    bool       `json:"disabled"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	LastLoginAt *time.Time `json:"last_login_at,omitempty"`
	// PasswordHash is the PHC-style string of HashPassword; never sent.
	PasswordHash string `json:"-"`
}

// Session is a signed-in staff user's session; the token itself is only
// ever held by the client, the store keeps its hash.
type Session struct {
	Hash      string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Store keeps staff users and sessions.
type Store interface {
	// CreateUser stores u; an existing id or username is ECONFLICT.
	CreateUser(ctx context.Context, u *User) error
	// UpdateUser replaces a user's display name, roles, disabled flag,
	// password hash, updated and last-login times; ENOTFOUND if missing.
	UpdateUser(ctx context.Context, u *User) error
	// UserByName returns the user, ENOTFOUND if none.
	UserByName(ctx context.Context, username string) (*User, error)
	// UserByID returns the user, ENOTFOUND if none.
	UserByID(ctx context.Context, id string) (*User, error)
	// Users returns every user by username.
	Users(ctx context.Context) ([]*User, error)
	// CreateSession stores s.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session, ENOTFOUND if none (or deleted).
	SessionByHash(ctx context.Context, hash string) (*Session, error)
	// DeleteSession removes a session; deleting a missing one is a no-op.
	DeleteSession(ctx context.Context, hash string) error
	// DeleteUserSessions removes every session of a user (on disable or
	// password change) and returns their hashes.
	DeleteUserSessions(ctx context.Context, userID string) ([]string, error)
}

// SessionTokenPrefix starts every session token, so the HTTP layer tells
// them from API keys without a lookup.
const SessionTokenPrefix = "xs_"

// NewSessionToken returns a new random session token and its stored hash.
func NewSessionToken() (token, hash string) {
	var b [32]byte
	_, _ = rand.Read(b[:])
	token = SessionTokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	return token, auth.HashSecret(token)
}

// NewUserID returns a new random user id.
func NewUserID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "usr_" + hex.EncodeToString(b[:])
}

// Principal is the API identity of a staff user: the scopes of their roles
// under an id that names them, so the HTTP layer checks and logs staff and
// API keys alike. A disabled user's principal allows nothing.
func (u *User) Principal(expires time.Time) *auth.Key {
	k := &auth.Key{ID: "staff:" + u.ID, Name: u.Username, Scopes: ScopesOf(u.Roles), CreatedAt: u.CreatedAt}
	if u.Disabled {
		k.RevokedAt = &u.UpdatedAt
	}
	return k
}

// ValidateUser checks the fields a caller sets; it returns one FieldError
// per bad field, named with prefix.
func ValidateUser(u *User, prefix string) []xiaobao.FieldError {
	var fe []xiaobao.FieldError
	bad := func(f, why string) { fe = append(fe, xiaobao.FieldError{Field: prefix + f, Reason: why}) }
	switch {
	case u.Username == "":
		bad("username", "is required")
	case len(u.Username) > 64:
		bad("username", "must be at most 64 characters")
	case strings.IndexFunc(u.Username, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-')
	}) >= 0:
		bad("username", "may hold only lower-case letters, digits, '.', '_' and '-'")
	}
	if utf8.RuneCountInString(u.DisplayName) > 100 {
		bad("display_name", "must be at most 100 characters")
	}
	if len(u.Roles) == 0 {
		bad("roles", "must name at least one role")
	}
	for i, r := range u.Roles {
		if !ValidRole(r) {
			bad("roles["+strconv.Itoa(i)+"]", fmt.Sprintf("unknown role %q; roles are %s", r, roleList()))
		}
	}
	return fe
}

func roleList() string {
	s := make([]string, len(Roles))
	for i, r := range Roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

// CheckPassword says what is wrong with a new password, or "".
func CheckPassword(p string) string {
	switch n := utf8.RuneCountInString(p); {
	case n < 12:
		return "must be at least 12 characters"
	case len(p) > 256:
		return "must be at most 256 bytes"
	}
	return ""
}

// Iterations of PBKDF2-HMAC-SHA256 for new password hashes (OWASP's 2023
// advice). A variable so that tests can make hashing cheap.
var Iterations = 600_000

// HashPassword returns "pbkdf2-sha256$ITER$SALT$HASH" (base64, no padding).
// PBKDF2 is in the standard library (FIPS-approved, which Chinese banks'
// auditors also accept); the iteration count is stored, so raising it later
// leaves old hashes verifiable.
func HashPassword(p string) (string, error) {
	var salt [16]byte
	_, _ = rand.Read(salt[:])
	key, err := pbkdf2.Key(sha256.New, p, salt[:], Iterations, 32)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	enc := base64.RawStdEncoding
	return "pbkdf2-sha256$" + strconv.Itoa(Iterations) + "$" + enc.EncodeToString(salt[:]) + "$" + enc.EncodeToString(key), nil
}

// VerifyPassword reports whether p matches hash, in constant time.
func VerifyPassword(hash, p string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 4 || parts[0] != "pbkdf2-sha256" {
		return false
	}
	iter, err := strconv.Atoi(parts[1])
	if err != nil || iter < 1 || iter > 10_000_000 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[2])
	want, err2 := enc.DecodeString(parts[3])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return false
	}
	got, err := pbkdf2.Key(sha256.New, p, salt, iter, len(want))
	return err == nil && subtle.ConstantTimeCompare(got, want) == 1
}
