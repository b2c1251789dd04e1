package vault

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// IndexSize is the size of a blind index: 128 bits keep accidental
// collisions out of reach while halving the index's size.
const IndexSize = 16

// Index is a blind index: a keyed hash of a normalised value that supports
// equality lookups without storing the value.
type Index [IndexSize]byte

func (x Index) String() string { return hex.EncodeToString(x[:]) }

// Purpose names what an index is over (phone numbers, ID numbers, …) and
// how its values are normalised. Each purpose has its own key, so the same
// digits indexed as a phone and as an account give unrelated indexes and
// one column's index cannot be joined with another's.
type Purpose struct {
	name      string
	normalize func(string) string
}

// NewPurpose returns a purpose named name (stable: it selects the key)
// whose values are normalised by normalize (nil: used as given).
func NewPurpose(name string, normalize func(string) string) Purpose {
	return Purpose{name: name, normalize: normalize}
}

// Name returns the purpose's name.
func (p Purpose) Name() string { return p.name }

// The built-in purposes.
var (
	Phone    = NewPurpose("phone", NormalizePhone)
	IDNumber = NewPurpose("id_number", NormalizeIDNumber)
	Email    = NewPurpose("email", NormalizeEmail)
	Account  = NewPurpose("account", NormalizeAccount)
	Name     = NewPurpose("name", NormalizeName)
)

// ErrEmptyIndex: the value normalises to nothing, and an index of nothing
// would match every other empty value.
var ErrEmptyIndex = errors.New("vault: blind index of an empty value")

// BlindIndex returns the index of value for p: HMAC-SHA256 under p's key
// of the normalised value, truncated to IndexSize bytes. It allocates
// nothing when value is short and already normalised.
func (v *Vault) BlindIndex(p Purpose, value string) (Index, error) {
	if p.normalize != nil {
		value = p.normalize(value)
	}
	if value == "" {
		return Index{}, ErrEmptyIndex
	}
	return v.ring.Load().index.key(p.name).sum(value), nil
}

// indexKeys derives and caches the key of each purpose from the keyring's
// index key.
type indexKeys struct {
	root [KeySize]byte
	keys sync.Map // purpose name → *indexKey
}

func newIndexKeys(root []byte) *indexKeys {
	x := &indexKeys{}
	copy(x.root[:], root)
	return x
}

func (x *indexKeys) equal(y *indexKeys) bool { return hmac.Equal(x.root[:], y.root[:]) }

func (x *indexKeys) key(purpose string) *indexKey {
	if k, ok := x.keys.Load(purpose); ok {
		return k.(*indexKey)
	}
	raw, err := hkdf.Key(sha256.New, x.root[:], nil, "xiaobao blind index v1\x00"+purpose, KeySize)
	if err != nil {
		panic(err) // cannot fail for 32 bytes
	}
	k := &indexKey{}
	for i := range k.ipad {
		k.ipad[i], k.opad[i] = 0x36, 0x5c
	}
	for i, b := range raw {
		k.ipad[i] ^= b
		k.opad[i] ^= b
	}
	clear(raw)
	actual, _ := x.keys.LoadOrStore(purpose, k)
	return actual.(*indexKey)
}

// indexKey holds one purpose key as HMAC's padded inner and outer keys
// (RFC 2104, key shorter than the 64-byte block), so that sum can run on
// sha256.Sum256 over stack buffers: crypto/hmac's hash.Hash interface
// would make each call allocate.
type indexKey struct {
	ipad, opad [sha256.BlockSize]byte
}

func (k *indexKey) sum(value string) Index {
	var buf [sha256.BlockSize + 192]byte
	var in []byte
	if len(value) <= len(buf)-sha256.BlockSize {
		in = append(buf[:0], k.ipad[:]...)
	} else {
		in = make([]byte, 0, sha256.BlockSize+len(value))
		in = append(in, k.ipad[:]...)
	}
	in = append(in, value...)
	inner := sha256.Sum256(in)
	var outer [sha256.BlockSize + sha256.Size]byte
	copy(outer[:], k.opad[:])
	copy(outer[sha256.BlockSize:], inner[:])
	full := sha256.Sum256(outer[:])
	var x Index
	copy(x[:], full[:IndexSize])
	return x
}

// Normalisers turn the spellings of one value into one string. They map
// full-width characters (common in Chinese input) to ASCII and drop
// separators; they do not validate.

// NormalizePhone keeps the digits of a phone number (and a leading + of a
// foreign one), dropping China's country code: "+86 138-0013-8000",
// "0086 13800138000" and "138 0013 8000" are all "13800138000".
func NormalizePhone(s string) string {
	if digitsOnly(s) {
		return trimCountryCode(s, false)
	}
	var b strings.Builder
	b.Grow(len(s))
	plus := false
	for _, r := range s {
		r = narrow(r)
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && b.Len() == 0:
			plus = true
		}
	}
	d := trimCountryCode(b.String(), plus)
	if plus && d != "" && !strings.HasPrefix(b.String(), "86") {
		return "+" + d
	}
	return d
}

func trimCountryCode(d string, plus bool) string {
	switch {
	case strings.HasPrefix(d, "0086") && len(d) > 4:
		return d[4:]
	case strings.HasPrefix(d, "86") && (plus || len(d) == 13):
		return d[2:]
	}
	return d
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// NormalizeIDNumber upper-cases the check character X of a resident ID
// number and drops spaces and separators.
func NormalizeIDNumber(s string) string {
	return keep(s, func(r rune) rune {
		switch {
		case r >= '0' && r <= '9', r >= 'A' && r <= 'Z':
			return r
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		}
		return -1
	})
}

// NormalizeEmail trims and lower-cases an address. Local parts are case
// sensitive in theory but not at any mail provider customers use.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(mapNarrow(s)))
}

// NormalizeAccount keeps the digits and letters of a card or account
// number, letters upper-cased.
func NormalizeAccount(s string) string { return NormalizeIDNumber(s) }

// NormalizeName trims a name and collapses runs of spaces to one; Chinese
// names written with a space between surname and given name ("王 强") lose
// it, since the space carries nothing in Han script.
func NormalizeName(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	var prev rune
	for _, r := range s {
		r = narrow(r)
		if unicode.IsSpace(r) {
			space = b.Len() > 0
			continue
		}
		if space && !(unicode.Is(unicode.Han, prev) && unicode.Is(unicode.Han, r)) {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
		prev = r
	}
	return b.String()
}

// narrow maps full-width ASCII variants (U+FF01–U+FF5E) and the
// ideographic space to ASCII.
func narrow(r rune) rune {
	switch {
	case r >= 0xFF01 && r <= 0xFF5E:
		return r - 0xFF01 + '!'
	case r == 0x3000:
		return ' '
	}
	return r
}

func mapNarrow(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Map(narrow, s)
		}
	}
	return s
}

// keep maps each rune of s (narrowed) through f, dropping those f maps to
// -1, and returns s itself when nothing changes.
func keep(s string, f func(rune) rune) string {
	same := true
	for _, r := range s {
		if r >= utf8.RuneSelf || f(r) != r {
			same = false
			break
		}
	}
	if same {
		return s
	}
	return strings.Map(func(r rune) rune { return f(narrow(r)) }, s)
}

// AccountIndex returns the hex blind index of a counterparty account (the
// stores keep it instead of the account); "" for an empty account.
func (v *Vault) AccountIndex(account string) string {
	x, err := v.BlindIndex(Account, account)
	if err != nil {
		return ""
	}
	return x.String()
}

// Text is the purpose of exact-text fingerprints: no normalisation, so any
// change to a text changes its index.
var Text = NewPurpose("text", nil)

// TextIndex returns the hex blind index of a free text, for telling
// whether two sealed texts are equal without opening them.
func (v *Vault) TextIndex(s string) string {
	x, err := v.BlindIndex(Text, s)
	if err != nil {
		return ""
	}
	return x.String()
}
