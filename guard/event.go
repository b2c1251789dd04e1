// Package guard makes real-time protection decisions at every node of the
// customer journey: features in event time, rules, lists, a model score and
// the intervention ladder. It holds the domain logic and the interfaces of
// the stores it needs; storage and transport are adapters around it.
package guard

import (
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// EventType is a node of the customer journey.
type EventType string

// The event types of the Guard contract, plus payment.
const (
	Login         EventType = "login"
	DeviceChange  EventType = "device_change"
	PhoneChange   EventType = "phone_change"
	PayeeAdd      EventType = "payee_add"
	Transfer      EventType = "transfer"
	Withdrawal    EventType = "withdrawal"
	LoanApply     EventType = "loan_apply"
	LoanPayout    EventType = "loan_payout"
	Repayment     EventType = "repayment"
	CardBind      EventType = "card_bind"
	ProfileChange EventType = "profile_change"
	Payment       EventType = "payment"
)

// EventTypes lists every event type in a stable order.
var EventTypes = []EventType{Login, DeviceChange, PhoneChange, PayeeAdd, Transfer, Withdrawal,
	LoanApply, LoanPayout, Repayment, CardBind, ProfileChange, Payment}

// Valid reports whether t is a known event type.
func (t EventType) Valid() bool { return t.index() >= 0 }

func (t EventType) index() int {
	for i, e := range EventTypes {
		if e == t {
			return i
		}
	}
	return -1
}

// Outflow reports whether the event moves the customer's money out of the
// firm: the events a scam ends in.
func (t EventType) Outflow() bool { return t == Transfer || t == Withdrawal || t == Payment }

// NeedsAmount reports whether the contract requires an amount.
func (t EventType) NeedsAmount() bool {
	switch t {
	case Transfer, Withdrawal, Payment, LoanApply, LoanPayout, Repayment:
		return true
	}
	return false
}

// NeedsCounterparty reports whether the contract requires counterparty.account.
func (t EventType) NeedsCounterparty() bool {
	return t == Transfer || t == PayeeAdd || t == Withdrawal || t == Payment
}

// HoldsMoney reports whether money can wait on this event, so that
// cooling_off and hold make sense; other events stop at friction (or block).
func (t EventType) HoldsMoney() bool {
	switch t {
	case Transfer, Withdrawal, Payment, LoanApply, LoanPayout:
		return true
	}
	return false
}

// Event is one event from a business system, as the contract defines it.
// Raw keeps the exact bytes received: they are what is stored and replayed,
// and they carry the unknown fields that later rules may read.
type Event struct {
	ID         string
	Type       EventType
	OccurredAt time.Time // in UTC
	// Offset is the UTC offset, in seconds, that occurred_at was sent with:
	// the customer's local time zone, used for "night time".
	Offset       int32
	Customer     Customer
	Device       Device
	Amount       xiaobao.Money
	HasAmount    bool
	Currency     string
	Counterparty Counterparty
	Memo         string
	// Extra holds the unknown top-level members as raw JSON, by name.
	Extra map[string][]byte
	Raw   []byte
}

// Customer is the customer part of an event.
type Customer struct {
	ID           string
	Age          int // -1 when unknown
	RegisteredAt time.Time
	Phone        string
	IDNumber     string // resident ID number, if the business system sends it
}

// Device is the device part of an event.
type Device struct {
	ID string
	IP string
}

// Counterparty is the other side of a money event.
type Counterparty struct {
	Account string
	Name    string
}

// LocalTime returns occurred_at in the customer's own time zone.
func (e *Event) LocalTime() time.Time {
	return e.OccurredAt.In(time.FixedZone("", int(e.Offset)))
}
