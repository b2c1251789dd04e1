package vault

// ExhaustEpoch makes the primary key's write epoch used up, so that the
// next Encrypt starts a new one.
func ExhaustEpoch(v *Vault) {
	k := v.ring.Load().primary
	k.next()
	k.w.Load().n.Store(maxPerEpoch)
}

// IndexKeyBytes returns the HMAC key of purpose, to check sum against
// crypto/hmac.
func IndexKeyBytes(v *Vault, purpose string) []byte {
	k := v.ring.Load().index.key(purpose)
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = k.ipad[i] ^ 0x36
	}
	return raw
}
