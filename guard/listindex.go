package guard

import "time"

type listKey struct {
	list  ListName
	kind  EntityKind
	value string
}

// ListIndex is an immutable in-memory index of list entries, swapped whole
// on change so that decisions read it without locks.
type ListIndex struct {
	m map[listKey]int64 // expiry in Unix seconds, 0 = never
}

// NewListIndex indexes entries.
func NewListIndex(entries []*ListEntry) *ListIndex {
	li := &ListIndex{m: make(map[listKey]int64, len(entries))}
	for _, e := range entries {
		li.m[listKey{e.List, e.Kind, e.Value}] = expiry(e.ExpiresAt)
	}
	return li
}

func expiry(t *time.Time) int64 {
	if t == nil || t.IsZero() {
		return 0
	}
	return t.Unix()
}

// With returns a copy of li with entries added or replaced and removed deleted.
func (li *ListIndex) With(add []*ListEntry, remove ...ListEntry) *ListIndex {
	n := &ListIndex{m: make(map[listKey]int64, len(li.m)+len(add))}
	for k, v := range li.m {
		n.m[k] = v
	}
	for _, e := range add {
		n.m[listKey{e.List, e.Kind, e.Value}] = expiry(e.ExpiresAt)
	}
	for _, e := range remove {
		delete(n.m, listKey{e.List, e.Kind, e.Value})
	}
	return n
}

// Len returns the number of entries.
func (li *ListIndex) Len() int { return len(li.m) }

// Has reports whether value is on the list at Unix time t.
func (li *ListIndex) Has(list ListName, kind EntityKind, value string, t int64) bool {
	if value == "" || len(li.m) == 0 {
		return false
	}
	exp, ok := li.m[listKey{list, kind, value}]
	return ok && (exp == 0 || t < exp)
}

func (li *ListIndex) fill(ev *Event, l *ListsEnv) {
	*l = ListsEnv{}
	if len(li.m) == 0 {
		return
	}
	t := ev.OccurredAt.Unix()
	idHash := ""
	if ev.Customer.IDNumber != "" {
		idHash = HashIDNumber(ev.Customer.IDNumber)
	}
	l.BlockAccount = li.Has(BlockList, KindAccount, ev.Counterparty.Account, t)
	l.BlockDevice = li.Has(BlockList, KindDevice, ev.Device.ID, t)
	l.BlockIP = li.Has(BlockList, KindIP, ev.Device.IP, t)
	l.BlockPhone = li.Has(BlockList, KindPhone, ev.Customer.Phone, t)
	l.BlockID = li.Has(BlockList, KindIDHash, idHash, t)
	l.BlockCustomer = li.Has(BlockList, KindCustomer, ev.Customer.ID, t)
	l.AllowAccount = li.Has(AllowList, KindAccount, ev.Counterparty.Account, t)
	l.AllowDevice = li.Has(AllowList, KindDevice, ev.Device.ID, t)
	l.AllowCustomer = li.Has(AllowList, KindCustomer, ev.Customer.ID, t)
	l.AnyBlock = l.BlockAccount || l.BlockDevice || l.BlockIP || l.BlockPhone || l.BlockID || l.BlockCustomer
	l.AnyAllow = l.AllowAccount || l.AllowDevice || l.AllowCustomer
}
