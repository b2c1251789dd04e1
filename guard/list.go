package guard

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// ListName is a kind of list.
type ListName string

const (
	BlockList ListName = "block"
	AllowList ListName = "allow"
)

// EntityKind is what a list entry names.
type EntityKind string

const (
	KindAccount  EntityKind = "account"
	KindPhone    EntityKind = "phone"
	KindDevice   EntityKind = "device"
	KindIP       EntityKind = "ip"
	KindIDHash   EntityKind = "id_hash" // SHA-256 hex of the resident ID number, upper-case X
	KindCustomer EntityKind = "customer"
)

// EntityKinds lists the valid kinds.
var EntityKinds = []EntityKind{KindAccount, KindPhone, KindDevice, KindIP, KindIDHash, KindCustomer}

// ListEntry is one entry of a block or allow list.
type ListEntry struct {
	List      ListName   `json:"list"`
	Kind      EntityKind `json:"kind"`
	Value     string     `json:"value"`
	Reason    string     `json:"reason"`
	Source    string     `json:"source"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	CreatedBy string     `json:"created_by,omitempty"`
}

// ListFilter selects list entries.
type ListFilter struct {
	List  ListName
	Kind  EntityKind
	Value string
	Limit int
}

// HashIDNumber returns the list value for a resident ID number: lists never
// hold the number itself.
func HashIDNumber(id string) string {
	b := []byte(id)
	for i, c := range b {
		if c == 'x' {
			b[i] = 'X'
		}
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
