package guard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// Snapshots are a compact binary encoding of the event-derived feature
// state (labels are rebuilt from outcomes instead). Entities are written in
// key order so the same state always encodes to the same bytes, which makes
// "the state after a restart equals the state before" checkable byte for byte.

const snapshotMagic = "XBFS0005"

type enc struct{ b []byte }

func (e *enc) u(v uint64)   { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) i(v int64)    { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) u32(v uint32) { e.u(uint64(v)) }
func (e *enc) str(v string) { e.u(uint64(len(v))); e.b = append(e.b, v...) }

func (e *enc) buckets(bs []bucket) {
	e.u(uint64(len(bs)))
	var prev uint32
	for _, b := range bs {
		e.u32(b.i - prev) // delta: buckets are sorted
		prev = b.i
		e.u32(b.n)
		e.i(b.sum)
		e.i(b.max)
	}
}

func (e *enc) series(s *series) { e.buckets(s.l[0]); e.buckets(s.l[1]); e.buckets(s.l[2]) }

func (e *enc) ring(r *hourRing) {
	e.u32(r.last)
	for _, c := range r.c {
		e.u(uint64(c))
	}
}

func (d *dec) ring(r *hourRing) {
	r.last = d.u32()
	for i := range r.c {
		r.c[i] = uint16(d.u())
	}
}

func (e *enc) seen(s seenSet) {
	e.u(uint64(len(s)))
	for _, x := range s {
		e.u(x.h)
		e.u32(x.first)
		e.u32(x.last)
	}
}

func sortedKeys[V any](m map[uint64]V) []uint64 {
	ks := make([]uint64, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i] < ks[j] })
	return ks
}

// MarshalBinary encodes the event-derived state.
func (s *State) MarshalBinary() ([]byte, error) {
	e := &enc{b: make([]byte, 0, 1<<20)}
	e.b = append(e.b, snapshotMagic...)
	e.u32(s.now)
	e.u32(s.sweepAt)
	names := make([]uint64, 0, len(s.typologyNames))
	for h := range s.typologyNames {
		names = append(names, uint64(h))
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	e.u(uint64(len(names)))
	for _, h := range names {
		e.u(h)
		e.str(s.typologyNames[uint32(h)])
	}
	e.u(uint64(len(s.customers)))
	for _, k := range sortedKeys(s.customers) {
		c := s.customers[k]
		e.u(k)
		for _, v := range []uint32{c.first, c.last, c.registered, c.lastLogin, c.devChange, c.phoneChange, c.profileChange, c.loanPayout} {
			e.u32(v)
		}
		e.i(int64(c.age))
		e.i(c.loanPayoutAmt)
		e.u(c.lastDevice)
		e.u(uint64(c.recentPos))
		e.u(uint64(c.recentN))
		for i := 0; i < int(c.recentN); i++ {
			e.u32(c.recentT[i])
			e.u(uint64(c.recentTyp[i]))
		}
		e.series(&c.out)
		e.series(&c.pay)
		e.buckets(c.nightRound)
		e.buckets(c.round)
		e.buckets(c.loanApps)
		e.seen(c.payees)
		e.seen(c.merchants)
		e.seen(c.added)
		e.seen(c.devices)
		e.seen(c.ips)
		e.seen(c.nightPayees)
		e.u(uint64(len(c.interventions)))
		for _, iv := range c.interventions {
			e.u32(iv.payee)
			e.u32(iv.typology)
			e.u32(iv.t)
			e.u(uint64(iv.action))
		}
	}
	e.u(uint64(len(s.devices)))
	for _, k := range sortedKeys(s.devices) {
		d := s.devices[k]
		e.u(k)
		e.u32(d.first)
		e.seen(d.customers)
		e.ring(&d.events)
	}
	e.u(uint64(len(s.ips)))
	for _, k := range sortedKeys(s.ips) {
		st := s.ips[k]
		e.u(k)
		e.seen(st.customers)
		e.ring(&st.events)
	}
	e.u(uint64(len(s.payees)))
	for _, k := range sortedKeys(s.payees) {
		p := s.payees[k]
		e.u(k)
		e.u32(p.first)
		e.u32(p.last)
		e.series(&p.in)
		e.seen(p.payers)
		var r payeeRare
		if p.rare != nil {
			r = *p.rare
		}
		e.seen(r.elderly)
		e.buckets(r.nightRound)
	}
	e.b = binary.LittleEndian.AppendUint32(e.b, crc32.ChecksumIEEE(e.b))
	return e.b, nil
}

type dec struct {
	b   []byte
	err error
}

var errSnapshotShort = errors.New("snapshot truncated")

func (d *dec) u() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errSnapshotShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) i() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errSnapshotShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) u32() uint32 { return uint32(d.u()) }

func (d *dec) str() string {
	n := d.count()
	if d.err != nil {
		return ""
	}
	v := string(d.b[:n])
	d.b = d.b[n:]
	return v
}

// count reads a length and checks it against what the remaining bytes can
// hold, so a corrupt snapshot cannot make us allocate without bound.
func (d *dec) count() int {
	n := d.u()
	if n > uint64(len(d.b)) {
		d.err = errSnapshotShort
		return 0
	}
	return int(n)
}

func (d *dec) buckets() []bucket {
	n := d.count()
	if n == 0 {
		return nil
	}
	bs := make([]bucket, n)
	var prev uint32
	for k := range bs {
		prev += d.u32()
		bs[k] = bucket{i: prev, n: d.u32(), sum: d.i(), max: d.i()}
	}
	return bs
}

func (d *dec) series(s *series) { s.l[0] = d.buckets(); s.l[1] = d.buckets(); s.l[2] = d.buckets() }

func (d *dec) seen() seenSet {
	n := d.count()
	if n == 0 {
		return nil
	}
	s := make(seenSet, n)
	for k := range s {
		s[k] = seen{h: d.u(), first: d.u32(), last: d.u32()}
	}
	return s
}

// UnmarshalBinary replaces the event-derived state with a snapshot's.
// Labels are left as they are.
func (s *State) UnmarshalBinary(b []byte) error {
	if len(b) < len(snapshotMagic)+4 || string(b[:len(snapshotMagic)]) != snapshotMagic {
		return fmt.Errorf("decode feature snapshot: not a snapshot of this version")
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return fmt.Errorf("decode feature snapshot: checksum mismatch")
	}
	d := &dec{b: body[len(snapshotMagic):]}
	n := NewState()
	n.labels = s.labels
	n.now = d.u32()
	n.sweepAt = d.u32()
	for k := d.count(); k > 0 && d.err == nil; k-- {
		h := d.u32()
		n.typologyNames[h] = d.str()
	}
	for k := d.count(); k > 0 && d.err == nil; k-- {
		c := &customerState{}
		h := d.u()
		for _, p := range []*uint32{&c.first, &c.last, &c.registered, &c.lastLogin, &c.devChange, &c.phoneChange, &c.profileChange, &c.loanPayout} {
			*p = d.u32()
		}
		c.age = int16(d.i())
		c.loanPayoutAmt = d.i()
		c.lastDevice = d.u()
		c.recentPos = uint8(d.u() % recentEvents)
		c.recentN = uint8(min(d.u(), recentEvents))
		for i := 0; i < int(c.recentN); i++ {
			c.recentT[i], c.recentTyp[i] = d.u32(), uint8(d.u()%uint64(len(EventTypes)))
		}
		d.series(&c.out)
		d.series(&c.pay)
		c.nightRound = d.buckets()
		c.round = d.buckets()
		c.loanApps = d.buckets()
		c.payees = d.seen()
		c.merchants = d.seen()
		c.added = d.seen()
		c.devices = d.seen()
		c.ips = d.seen()
		c.nightPayees = d.seen()
		if ni := d.count(); ni > 0 {
			c.interventions = make([]intervention, 0, ni)
			for ; ni > 0; ni-- {
				c.interventions = append(c.interventions, intervention{payee: d.u32(), typology: d.u32(), t: d.u32(), action: Action(min(d.u(), uint64(Block)))})
			}
		}
		n.customers[h] = c
	}
	for k := d.count(); k > 0 && d.err == nil; k-- {
		h := d.u()
		dv := &deviceState{first: d.u32()}
		dv.customers = d.seen()
		d.ring(&dv.events)
		n.devices[h] = dv
	}
	for k := d.count(); k > 0 && d.err == nil; k-- {
		h := d.u()
		st := &ipState{customers: d.seen()}
		d.ring(&st.events)
		n.ips[h] = st
	}
	for k := d.count(); k > 0 && d.err == nil; k-- {
		h := d.u()
		p := &payeeState{first: d.u32(), last: d.u32()}
		d.series(&p.in)
		p.payers = d.seen()
		if r := (payeeRare{elderly: d.seen(), nightRound: d.buckets()}); len(r.elderly) > 0 || len(r.nightRound) > 0 {
			p.rare = &r
		}
		n.payees[h] = p
	}
	if d.err != nil {
		return fmt.Errorf("decode feature snapshot: %w", d.err)
	}
	if len(d.b) != 0 {
		return fmt.Errorf("decode feature snapshot: %d trailing bytes", len(d.b))
	}
	*s = *n
	return nil
}
