package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/xiaobao-org/xiaobao"
)

// Configuration variables of the master key.
const (
	// EnvMasterKey holds the master key: base64 of 32 random bytes.
	EnvMasterKey = "XIAOBAO_MASTER_KEY"
	// EnvMasterKeyFile names a file holding the same base64 text, for
	// secret managers that mount files rather than set variables.
	EnvMasterKeyFile = "XIAOBAO_MASTER_KEY_FILE"
	// EnvMasterKeyPrevious lists earlier master keys, comma-separated,
	// during a master key rotation: data keys still wrapped by one of them
	// stay readable until RewrapKeys has moved them to the current key.
	EnvMasterKeyPrevious = "XIAOBAO_MASTER_KEY_PREVIOUS"
)

// KeySize is the size of every key: master keys, data keys, derived keys.
const KeySize = 32

// MasterKey is the key-encryption key (KEK). It only ever wraps data keys
// and derives purpose keys; field values are never encrypted with it
// directly, so rotating it rewrites a handful of rows, not the database.
//
// Its String, GoString and LogValue give only its id, so a MasterKey that
// reaches a log line or an error message does not leak.
type MasterKey struct {
	id   string
	key  [KeySize]byte
	aead cipher.AEAD
}

// NewMasterKey returns the master key made of raw, which must be 32 bytes
// from a cryptographic random source.
func NewMasterKey(raw []byte) (*MasterKey, error) {
	if len(raw) != KeySize {
		return nil, fmt.Errorf("master key: %d bytes, want %d", len(raw), KeySize)
	}
	if weak(raw) {
		// A key of one repeated byte is a placeholder that escaped into
		// configuration, not a random key.
		return nil, errors.New("master key: all its bytes are equal; generate a random one")
	}
	m := &MasterKey{}
	copy(m.key[:], raw)
	block, err := aes.NewCipher(m.key[:])
	if err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	if m.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("master key: %w", err)
	}
	// The id is a MAC of a constant, so it identifies the key in the
	// keyring and in messages without revealing anything about it.
	mac := hmac.New(sha256.New, m.key[:])
	mac.Write([]byte("xiaobao master key id v1"))
	m.id = hex.EncodeToString(mac.Sum(nil)[:8])
	return m, nil
}

// GenerateMasterKey returns a new random master key and its base64 text,
// the form EnvMasterKey takes.
func GenerateMasterKey() (*MasterKey, string) {
	raw := make([]byte, KeySize)
	rand.Read(raw)
	m, err := NewMasterKey(raw)
	if err != nil {
		panic(err) // 32 random bytes are never all equal in practice
	}
	return m, base64.StdEncoding.EncodeToString(raw)
}

func weak(b []byte) bool {
	for _, c := range b[1:] {
		if c != b[0] {
			return false
		}
	}
	return true
}

// ID returns the key's public fingerprint (16 hex digits).
func (m *MasterKey) ID() string { return m.id }

func (m *MasterKey) String() string       { return "vault.MasterKey(" + m.id + ")" }
func (m *MasterKey) GoString() string     { return m.String() }
func (m *MasterKey) LogValue() slog.Value { return slog.StringValue(m.String()) }

// Derive returns a key of n bytes for purpose, derived from the master key
// with HKDF-SHA256. Distinct purposes give independent keys; the audit
// log's checkpoint signing key is one ("xiaobao audit checkpoint v1").
//
// A derived key changes when the master key rotates, so it suits keys whose
// old values can be kept alongside (public verification keys), not keys
// that stored data depends on: blind indexes use the keyring's index key.
func (m *MasterKey) Derive(purpose string, n int) []byte {
	k, err := hkdf.Key(sha256.New, m.key[:], nil, "xiaobao derive v1\x00"+purpose, n)
	if err != nil {
		panic(fmt.Sprintf("vault: derive %d bytes: %v", n, err)) // only for n > 255*32
	}
	return k
}

// wrapAD binds a wrapped key to its id and kind, so that a wrapped key
// copied onto another keyring row fails to unwrap.
func wrapAD(id uint32, kind string) []byte {
	ad := append([]byte("xiaobao vault key v1\x00"), kind...)
	return binary.BigEndian.AppendUint32(append(ad, 0), id)
}

func (m *MasterKey) wrap(id uint32, kind string, key []byte) []byte {
	nonce := make([]byte, m.aead.NonceSize(), m.aead.NonceSize()+len(key)+m.aead.Overhead())
	rand.Read(nonce)
	return m.aead.Seal(nonce, nonce, key, wrapAD(id, kind))
}

func (m *MasterKey) unwrap(id uint32, kind string, wrapped []byte) ([]byte, error) {
	ns := m.aead.NonceSize()
	if len(wrapped) < ns+m.aead.Overhead() {
		return nil, errors.New("wrapped key too short")
	}
	key, err := m.aead.Open(nil, wrapped[:ns], wrapped[ns:], wrapAD(id, kind))
	if err != nil {
		return nil, errors.New("wrapped key does not authenticate under its master key")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("wrapped key is %d bytes, want %d", len(key), KeySize)
	}
	return key, nil
}

// ParseMasterKey decodes the base64 text of a master key (standard or URL
// alphabet, padded or not, surrounding space ignored). Errors never repeat
// the text, which may be a real key with a typo.
func ParseMasterKey(text string) (*MasterKey, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, errors.New("empty")
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if raw, err = enc.DecodeString(text); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(raw) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(raw), KeySize)
	}
	return NewMasterKey(raw)
}

// MasterKeysFromEnv reads the current master key from EnvMasterKey or the
// file named by EnvMasterKeyFile (exactly one of them), and the previous
// keys of a rotation from EnvMasterKeyPrevious. Bad configuration is an
// EINVALID error naming the variable.
func MasterKeysFromEnv(getenv func(string) string) (current *MasterKey, previous []*MasterKey, err error) {
	const generate = "base64 of 32 random bytes, e.g. from `head -c 32 /dev/urandom | base64`"
	bad := func(field, reason string) error {
		return xiaobao.Invalid("bad master key configuration: "+field+": "+reason,
			xiaobao.FieldError{Field: field, Reason: reason})
	}
	text, file := getenv(EnvMasterKey), getenv(EnvMasterKeyFile)
	field := EnvMasterKey
	switch {
	case text != "" && file != "":
		return nil, nil, bad(EnvMasterKey, "set either "+EnvMasterKey+" or "+EnvMasterKeyFile+", not both")
	case file != "":
		field = EnvMasterKeyFile
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, nil, bad(EnvMasterKeyFile, fmt.Sprintf("cannot read the key file: %v", err))
		}
		text = string(b)
	case text == "":
		return nil, nil, bad(EnvMasterKey, "not set: want "+generate)
	}
	if current, err = ParseMasterKey(text); err != nil {
		return nil, nil, bad(field, err.Error()+": want "+generate)
	}
	for i, t := range strings.Split(getenv(EnvMasterKeyPrevious), ",") {
		if strings.TrimSpace(t) == "" {
			continue
		}
		m, err := ParseMasterKey(t)
		if err != nil {
			return nil, nil, bad(EnvMasterKeyPrevious, fmt.Sprintf("key %d: %v", i+1, err))
		}
		if m.id != current.id {
			previous = append(previous, m)
		}
	}
	return current, previous, nil
}
