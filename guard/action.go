package guard

import (
	"fmt"
	"strconv"
)

// Action is a step of the intervention ladder, mildest first. The order is
// the ladder: comparisons between actions are meaningful.
type Action uint8

const (
	Allow Action = iota
	Remind
	Friction
	CoolingOff
	Hold
	Block
)

var actionNames = [...]string{"allow", "remind", "friction", "cooling_off", "hold", "block"}

// Actions lists the ladder mildest first.
var Actions = []Action{Allow, Remind, Friction, CoolingOff, Hold, Block}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// ParseAction parses a ladder step name.
func ParseAction(s string) (Action, error) {
	for i, n := range actionNames {
		if n == s {
			return Action(i), nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want one of allow, remind, friction, cooling_off, hold, block)", s)
}

func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}
