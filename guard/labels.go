package guard

// labels is what outcomes and other modules taught Guard: reported payees,
// devices used for fraud, confirmed victims and risk flags. Labels are not
// derived from events, so they are kept apart from the snapshotted event
// state and rebuilt at start from the outcomes themselves; an outcome that
// is replaced by a later one is taken back.
type labels struct {
	payeeReported    map[uint64]uint32
	payeeFalseAlarms map[uint64]uint32
	deviceFraud      map[uint64]uint32
	victims          map[uint64]uint32 // customer → time of the latest confirmed fraud
	flags            map[uint64]flag
}

type flag struct {
	at       uint32
	typology string
}

func newLabels() labels {
	return labels{
		payeeReported:    map[uint64]uint32{},
		payeeFalseAlarms: map[uint64]uint32{},
		deviceFraud:      map[uint64]uint32{},
		victims:          map[uint64]uint32{},
		flags:            map[uint64]flag{},
	}
}

// LabelSubject is what an outcome is about: the decision's customer, payee
// and device, and when the event happened.
type LabelSubject struct {
	CustomerID string
	Account    string
	DeviceID   string
	At         int64 // Unix seconds of the event
}

func bump(m map[uint64]uint32, k uint64, d int) {
	v := int(m[k]) + d
	if v <= 0 {
		delete(m, k)
		return
	}
	m[k] = uint32(v)
}

// Label folds an outcome into state. sign is +1 to apply it and -1 to take
// back an outcome that a later one replaced.
func (s *State) Label(sub LabelSubject, kind OutcomeKind, sign int) {
	l := &s.labels
	switch kind {
	case OutcomeConfirmedFraud:
		if sub.Account != "" {
			bump(l.payeeReported, fnv64(sub.Account), sign)
		}
		if sub.DeviceID != "" {
			bump(l.deviceFraud, fnv64(sub.DeviceID), sign)
		}
		ch := fnv64(sub.CustomerID)
		if sign > 0 {
			if t := stamp(sub.At); t > l.victims[ch] {
				l.victims[ch] = t
			}
		} else {
			delete(l.victims, ch)
		}
	case OutcomeFalseAlarm:
		if sub.Account != "" {
			bump(l.payeeFalseAlarms, fnv64(sub.Account), sign)
		}
	}
}

// Flag raises a customer's risk from outside Guard (a scam warning in a
// service chat, a case): rules see it as customer.hours_since_flag.
func (s *State) Flag(customerID, typology string, at int64) {
	s.labels.flags[fnv64(customerID)] = flag{at: stamp(at), typology: typology}
}
