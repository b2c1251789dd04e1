// Package vault encrypts sensitive fields at rest and computes blind indexes
// for looking them up by equality.
//
// Envelope encryption: each value is sealed with AES-256-GCM under a data
// key (DEK); data keys are stored in a keyring wrapped (AES-256-GCM) by the
// master key (KEK) from configuration. Rotating a data key makes a new one
// primary for writes while old ones stay readable, and ReEncrypt moves old
// values to the primary key in the background; rotating the master key
// rewraps the keyring rows only (RewrapKeys).
//
// The keyring is persisted through KeyStore; the sqlite and postgres
// packages implement it. Vault caches it in memory: Refresh reloads it,
// which other instances need after one of them rotates.
package vault

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Kinds of keyring keys.
const (
	// KindData keys encrypt field values. One is primary at a time.
	KindData = "data"
	// KindIndex is the root of blind index keys. It never rotates: every
	// stored index would have to be recomputed from decrypted values. It
	// is wrapped by the master key like data keys, so a master key
	// rotation leaves indexes valid.
	KindIndex = "index"
)

// Key is one keyring entry as stored. Wrapped is the key sealed by the
// master key whose id is KEKID.
type Key struct {
	ID        uint32
	Kind      string
	KEKID     string
	Wrapped   []byte
	Primary   bool
	CreatedAt time.Time
	RetiredAt *time.Time // when it stopped being primary
}

// KeyStore persists the keyring. Implementations must be safe for
// concurrent use, also by several processes on one database.
type KeyStore interface {
	// VaultKeys returns every key, in id order.
	VaultKeys(ctx context.Context) ([]Key, error)
	// AddVaultKey stores k. When k.Primary, the same transaction clears
	// the primary flag of the previous primary key of k.Kind and sets its
	// RetiredAt to k.CreatedAt. An id already taken, or a concurrent
	// second primary, is an ECONFLICT error: the caller reloads and
	// retries.
	AddVaultKey(ctx context.Context, k Key) error
	// RewrapVaultKeys replaces KEKID and Wrapped of each key (matched by
	// ID), all or none. An unknown id is ENOTFOUND.
	RewrapVaultKeys(ctx context.Context, keys []Key) error
}

// Config configures Open.
type Config struct {
	Store KeyStore
	// Master wraps new and rewrapped keys. Previous master keys only
	// unwrap keys not yet rewrapped (see RewrapKeys).
	Master   *MasterKey
	Previous []*MasterKey
	// Clock stamps keys' CreatedAt and RetiredAt; default the system clock.
	Clock xiaobao.Clock
}

// Errors of Decrypt. They wrap with context; test with errors.Is.
var (
	// ErrFormat: the value is not a vault ciphertext of a known version.
	ErrFormat = errors.New("not a vault ciphertext")
	// ErrUnknownKey: the value's data key is not in the keyring this
	// Vault loaded: another instance rotated since (Refresh and retry),
	// or the value comes from another deployment.
	ErrUnknownKey = errors.New("unknown data key")
	// ErrAuth: the value fails authentication: it was altered, or it was
	// moved from another table, column or row (associated data differs).
	ErrAuth = errors.New("ciphertext does not authenticate")
)

// Vault encrypts and decrypts field values and computes blind indexes. It
// is safe for concurrent use.
type Vault struct {
	store   KeyStore
	master  *MasterKey
	masters map[string]*MasterKey // by id, the current one included
	clock   xiaobao.Clock

	ring atomic.Pointer[ring]
	mu   sync.Mutex // serialises keyring changes and reloads

	// Subkeys of older write epochs (see epoch), for decryption.
	subMu   sync.RWMutex
	subkeys map[subkeyID]cipher.AEAD
}

// ring is an immutable snapshot of the unwrapped keyring.
type ring struct {
	keys    map[uint32]*dataKey
	primary *dataKey
	index   *indexKeys
	infos   []Key
}

func (r *ring) dataKey(id uint32) *dataKey {
	if r == nil {
		return nil
	}
	return r.keys[id]
}

type dataKey struct {
	id  uint32
	key [KeySize]byte
	// The write epoch: see epoch.
	w   atomic.Pointer[epoch]
	wmu sync.Mutex
}

// epoch is a subkey of a data key used for a bounded number of writes.
//
// AES-GCM must never reuse a nonce under one key, and random 96-bit
// nonces are only safe for about 2^32 messages per key: at Guard's rate
// that is a few hours. So each process derives its own subkey from the
// data key and a fresh 128-bit random salt (HKDF), and numbers its nonces
// with a counter under it: nonces are unique by construction, no random
// bytes are drawn per value, and the salt in each ciphertext lets any
// instance derive the subkey back. After maxPerEpoch values a new salt
// starts a new subkey.
type epoch struct {
	salt [saltSize]byte
	aead cipher.AEAD
	n    atomic.Uint64
}

const maxPerEpoch = 1 << 32

type subkeyID struct {
	key  uint32
	salt [saltSize]byte
}

// maxSubkeys bounds the cache of old epochs' subkeys. Each process start
// makes one epoch per data key, so real databases hold few; a flood of
// forged salts only costs CPU.
const maxSubkeys = 4096

// Open loads the keyring from cfg.Store, creating the first data key and
// the index key if there are none.
func Open(ctx context.Context, cfg Config) (*Vault, error) {
	if cfg.Store == nil || cfg.Master == nil {
		return nil, errors.New("vault: open: a key store and a master key are required")
	}
	v := &Vault{
		store:   cfg.Store,
		master:  cfg.Master,
		masters: map[string]*MasterKey{cfg.Master.id: cfg.Master},
		clock:   cfg.Clock,
		subkeys: map[subkeyID]cipher.AEAD{},
	}
	if v.clock == nil {
		v.clock = xiaobao.SystemClock{}
	}
	for _, m := range cfg.Previous {
		if m != nil {
			v.masters[m.id] = m
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	// Several instances may start on an empty keyring together: whoever
	// loses the race on a key id reloads and finds the winner's key.
	for attempt := 0; ; attempt++ {
		keys, err := v.store.VaultKeys(ctx)
		if err != nil {
			return nil, fmt.Errorf("vault: open: load keyring: %w", err)
		}
		missing := missingKinds(keys)
		if len(missing) == 0 {
			if err := v.load(keys); err != nil {
				return nil, fmt.Errorf("vault: open: %w", err)
			}
			return v, nil
		}
		if attempt == 5 {
			return nil, errors.New("vault: open: keyring keeps changing under concurrent initialisation")
		}
		id := maxID(keys)
		for _, kind := range missing {
			id++
			err = v.add(ctx, id, kind)
			if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
				break
			} else if err != nil {
				return nil, fmt.Errorf("vault: open: create %s key: %w", kind, err)
			}
		}
	}
}

func missingKinds(keys []Key) []string {
	var data, index bool
	for _, k := range keys {
		data = data || (k.Kind == KindData && k.Primary)
		index = index || k.Kind == KindIndex
	}
	var missing []string
	if !data {
		missing = append(missing, KindData)
	}
	if !index {
		missing = append(missing, KindIndex)
	}
	return missing
}

func maxID(keys []Key) uint32 {
	var id uint32
	for _, k := range keys {
		id = max(id, k.ID)
	}
	return id
}

// add stores a new random key of kind under id, primary if a data key.
func (v *Vault) add(ctx context.Context, id uint32, kind string) error {
	raw := make([]byte, KeySize)
	rand.Read(raw)
	defer clear(raw)
	return v.store.AddVaultKey(ctx, Key{
		ID: id, Kind: kind, KEKID: v.master.id, Wrapped: v.master.wrap(id, kind, raw),
		Primary: kind == KindData, CreatedAt: v.clock.Now().UTC(),
	})
}

// load unwraps keys into a new ring, keeping the write epochs of data keys
// already loaded. The caller holds v.mu.
func (v *Vault) load(keys []Key) error {
	old := v.ring.Load()
	r := &ring{keys: map[uint32]*dataKey{}}
	for _, k := range keys {
		m := v.masters[k.KEKID]
		if m == nil {
			return fmt.Errorf("%s key %d is wrapped by master key %s, which is not configured (during a master key rotation, list the old key in %s)",
				k.Kind, k.ID, k.KEKID, EnvMasterKeyPrevious)
		}
		raw, err := m.unwrap(k.ID, k.Kind, k.Wrapped)
		if err != nil {
			return fmt.Errorf("%s key %d: %w", k.Kind, k.ID, err)
		}
		info := k
		info.Wrapped = nil
		r.infos = append(r.infos, info)
		switch k.Kind {
		case KindData:
			// A key already loaded is the same key (ids are never reused),
			// and in use: keep it rather than write its bytes again.
			dk := old.dataKey(k.ID)
			if dk == nil {
				dk = &dataKey{id: k.ID}
				copy(dk.key[:], raw)
			}
			r.keys[k.ID] = dk
			if k.Primary {
				r.primary = dk
			}
		case KindIndex:
			// The lowest id wins, so that instances that raced to create
			// the index key all settle on the same one.
			if r.index == nil {
				r.index = newIndexKeys(raw)
			}
		default:
			return fmt.Errorf("key %d has unknown kind %q", k.ID, k.Kind)
		}
		clear(raw)
	}
	if r.primary == nil || r.index == nil {
		return errors.New("keyring has no primary data key or no index key")
	}
	if old != nil && old.index != nil && old.index.equal(r.index) {
		r.index = old.index // keep its derived purpose keys
	}
	v.ring.Store(r)
	return nil
}

// Refresh reloads the keyring from the store, to pick up keys that another
// instance rotated or rewrapped.
func (v *Vault) Refresh(ctx context.Context) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	keys, err := v.store.VaultKeys(ctx)
	if err != nil {
		return fmt.Errorf("vault: refresh: %w", err)
	}
	if err := v.load(keys); err != nil {
		return fmt.Errorf("vault: refresh: %w", err)
	}
	return nil
}

// Rotate makes a new data key primary and returns its id. Values written
// before stay readable under their old key until ReEncrypt moves them.
func (v *Vault) Rotate(ctx context.Context) (uint32, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for attempt := 0; attempt < 5; attempt++ {
		keys, err := v.store.VaultKeys(ctx)
		if err != nil {
			return 0, fmt.Errorf("vault: rotate: %w", err)
		}
		id := maxID(keys) + 1
		err = v.add(ctx, id, KindData)
		if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
			continue
		} else if err != nil {
			return 0, fmt.Errorf("vault: rotate: %w", err)
		}
		if keys, err = v.store.VaultKeys(ctx); err != nil {
			return 0, fmt.Errorf("vault: rotate: %w", err)
		}
		if err := v.load(keys); err != nil {
			return 0, fmt.Errorf("vault: rotate: %w", err)
		}
		return id, nil
	}
	return 0, errors.New("vault: rotate: keyring keeps changing under concurrent rotations")
}

// RewrapKeys completes a master key rotation: it rewraps every key not yet
// wrapped by the current master key and returns how many it rewrapped.
// Values are untouched. Once it has run, the previous master keys can be
// removed from configuration.
func (v *Vault) RewrapKeys(ctx context.Context) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	keys, err := v.store.VaultKeys(ctx)
	if err != nil {
		return 0, fmt.Errorf("vault: rewrap keys: %w", err)
	}
	var changed []Key
	for _, k := range keys {
		if k.KEKID == v.master.id {
			continue
		}
		m := v.masters[k.KEKID]
		if m == nil {
			return 0, fmt.Errorf("vault: rewrap keys: %s key %d is wrapped by master key %s, which is not configured (list it in %s)",
				k.Kind, k.ID, k.KEKID, EnvMasterKeyPrevious)
		}
		raw, err := m.unwrap(k.ID, k.Kind, k.Wrapped)
		if err != nil {
			return 0, fmt.Errorf("vault: rewrap keys: %s key %d: %w", k.Kind, k.ID, err)
		}
		k.KEKID, k.Wrapped = v.master.id, v.master.wrap(k.ID, k.Kind, raw)
		clear(raw)
		changed = append(changed, k)
	}
	if len(changed) == 0 {
		return 0, nil
	}
	if err := v.store.RewrapVaultKeys(ctx, changed); err != nil {
		return 0, fmt.Errorf("vault: rewrap keys: %w", err)
	}
	if keys, err = v.store.VaultKeys(ctx); err != nil {
		return 0, fmt.Errorf("vault: rewrap keys: %w", err)
	}
	if err := v.load(keys); err != nil {
		return 0, fmt.Errorf("vault: rewrap keys: %w", err)
	}
	return len(changed), nil
}

// Keys returns the keyring as last loaded, without the wrapped keys.
func (v *Vault) Keys() []Key { return slices.Clone(v.ring.Load().infos) }

// PrimaryID returns the id of the data key that encrypts new values.
func (v *Vault) PrimaryID() uint32 { return v.ring.Load().primary.id }

// Ciphertext format, version 1:
//
//	[0]      version byte 0xA1
//	[1:5]    data key id, big-endian
//	[5:21]   salt of the write epoch (see epoch)
//	[21:33]  nonce
//	[33:]    AES-256-GCM ciphertext and 16-byte tag
//
// 0xA1 can never start valid UTF-8, so a column being migrated to
// encryption can tell ciphertexts from plaintext text (IsCiphertext). The
// header is not part of the associated data, and needs not be: altering
// the key id or salt selects another key, and the version another format,
// so authentication fails all the same.
const (
	version1   = 0xA1
	saltSize   = 16
	nonceSize  = 12
	tagSize    = 16
	headerSize = 1 + 4 + saltSize + nonceSize
	// Overhead is how many bytes a ciphertext adds to its plaintext.
	Overhead = headerSize + tagSize
)

// header is a parsed ciphertext. Its slices alias the input.
type header struct {
	keyID uint32
	salt  [saltSize]byte
	nonce []byte
	body  []byte // ciphertext and tag
}

func parse(ct []byte) (header, error) {
	var h header
	if len(ct) == 0 || ct[0] != version1 {
		return h, ErrFormat
	}
	if len(ct) < Overhead {
		return h, fmt.Errorf("%w: %d bytes, shorter than the minimum %d", ErrFormat, len(ct), Overhead)
	}
	h.keyID = binary.BigEndian.Uint32(ct[1:5])
	copy(h.salt[:], ct[5:5+saltSize])
	h.nonce = ct[5+saltSize : headerSize]
	h.body = ct[headerSize:]
	return h, nil
}

// IsCiphertext reports whether b looks like a vault ciphertext (right
// version byte and length); only Decrypt tells whether it is genuine.
func IsCiphertext(b []byte) bool {
	_, err := parse(b)
	return err == nil
}

// KeyID returns the id of the data key b was encrypted with, so a
// re-encryption job can skip values already under the primary key.
func KeyID(b []byte) (uint32, error) {
	h, err := parse(b)
	return h.keyID, err
}

// AD returns associated data binding a value to its place: the table,
// column and row id it is stored at. A ciphertext copied to another place
// then fails to decrypt. Fields are length-prefixed, so no two places share
// an encoding.
func AD(table, column, row string) []byte {
	return AppendAD(make([]byte, 0, 3+len(table)+len(column)+len(row)+2), table, column, row)
}

// AppendAD appends the AD of a place to dst.
func AppendAD(dst []byte, table, column, row string) []byte {
	for _, s := range [3]string{table, column, row} {
		dst = binary.AppendUvarint(dst, uint64(len(s)))
		dst = append(dst, s...)
	}
	return dst
}

// Encrypt seals plaintext under the primary data key, bound to ad (see AD).
func (v *Vault) Encrypt(plaintext, ad []byte) ([]byte, error) {
	return v.AppendEncrypt(make([]byte, 0, len(plaintext)+Overhead), plaintext, ad)
}

// AppendEncrypt is Encrypt appending the ciphertext to dst.
func (v *Vault) AppendEncrypt(dst, plaintext, ad []byte) ([]byte, error) {
	k := v.ring.Load().primary
	e, n := k.next()
	dst = slices.Grow(dst, len(plaintext)+Overhead)
	off := len(dst)
	dst = append(dst, version1)
	dst = binary.BigEndian.AppendUint32(dst, k.id)
	dst = append(dst, e.salt[:]...)
	dst = append(dst, 0, 0, 0, 0)
	dst = binary.BigEndian.AppendUint64(dst, n)
	return e.aead.Seal(dst, dst[off+5+saltSize:off+headerSize], plaintext, ad), nil
}

// next returns the write epoch and a nonce counter never returned before
// for it, starting a new epoch when the current one is used up.
func (k *dataKey) next() (*epoch, uint64) {
	for {
		e := k.w.Load()
		if e != nil {
			if n := e.n.Add(1); n <= maxPerEpoch {
				return e, n
			}
		}
		k.wmu.Lock()
		if k.w.Load() == e {
			ne := &epoch{}
			rand.Read(ne.salt[:])
			ne.aead = deriveSubkey(&k.key, &ne.salt)
			k.w.Store(ne)
		}
		k.wmu.Unlock()
	}
}

func deriveSubkey(key *[KeySize]byte, salt *[saltSize]byte) cipher.AEAD {
	sub, err := hkdf.Key(sha256.New, key[:], salt[:], "xiaobao vault field v1", KeySize)
	if err != nil {
		panic(err) // cannot fail for 32 bytes
	}
	block, err := aes.NewCipher(sub)
	if err != nil {
		panic(err)
	}
	clear(sub)
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// subkey returns the AEAD of key k's epoch with salt.
func (v *Vault) subkey(k *dataKey, salt [saltSize]byte) cipher.AEAD {
	if e := k.w.Load(); e != nil && e.salt == salt {
		return e.aead
	}
	v.subMu.RLock()
	a := v.subkeys[subkeyID{k.id, salt}]
	v.subMu.RUnlock()
	if a != nil {
		return a
	}
	return v.newSubkey(k, salt)
}

// newSubkey is subkey's slow path, apart so that only it pays for salt
// escaping to the heap.
//
//go:noinline
func (v *Vault) newSubkey(k *dataKey, salt [saltSize]byte) cipher.AEAD {
	a := deriveSubkey(&k.key, &salt)
	v.subMu.Lock()
	if len(v.subkeys) >= maxSubkeys {
		clear(v.subkeys)
	}
	v.subkeys[subkeyID{k.id, salt}] = a
	v.subMu.Unlock()
	return a
}

// Decrypt opens a ciphertext made by Encrypt with the same ad. Errors wrap
// ErrFormat, ErrUnknownKey or ErrAuth and never include the value.
func (v *Vault) Decrypt(ciphertext, ad []byte) ([]byte, error) {
	return v.AppendDecrypt(nil, ciphertext, ad)
}

// AppendDecrypt is Decrypt appending the plaintext to dst.
func (v *Vault) AppendDecrypt(dst, ciphertext, ad []byte) ([]byte, error) {
	h, err := parse(ciphertext)
	if err != nil {
		return dst, fmt.Errorf("vault: decrypt: %w", err)
	}
	k := v.ring.Load().keys[h.keyID]
	if k == nil {
		return dst, fmt.Errorf("vault: decrypt: %w %d", ErrUnknownKey, h.keyID)
	}
	out, err := v.subkey(k, h.salt).Open(dst, h.nonce, h.body, ad)
	if err != nil {
		return dst, fmt.Errorf("vault: decrypt (data key %d): %w", h.keyID, ErrAuth)
	}
	return out, nil
}

// ReEncrypt returns ciphertext encrypted under the primary data key, and
// whether that changed it: a value already under the primary key is
// returned as it is, after checking that it authenticates. A background
// job calls it on every stored value after Rotate and writes back those
// that changed; ad must be the value's own.
func (v *Vault) ReEncrypt(ciphertext, ad []byte) (out []byte, changed bool, err error) {
	pt, err := v.Decrypt(ciphertext, ad)
	if err != nil {
		return nil, false, err
	}
	defer clear(pt)
	if id, _ := KeyID(ciphertext); id == v.PrimaryID() {
		return ciphertext, false, nil
	}
	out, err = v.Encrypt(pt, ad)
	return out, err == nil, err
}
