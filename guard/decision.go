package guard

import "time"

// Decision is Guard's answer to one event, with everything needed to explain it.
type Decision struct {
	ID         string    `json:"decision_id"`
	EventID    string    `json:"event_id"`
	Seq        int64     `json:"seq"`
	CustomerID string    `json:"customer_id"`
	EventType  EventType `json:"event_type"`
	OccurredAt time.Time `json:"occurred_at"`
	Action     Action    `json:"action"`
	Score      float64   `json:"score"`
	Typology   string    `json:"typology"`
	Reasons    []Reason  `json:"reasons"`
	Message    *Message  `json:"message,omitempty"`
	// Shadow lists shadow-mode rules that fired: evaluated and logged, never acted on.
	Shadow      []Reason     `json:"shadow,omitempty"`
	Explanation *Explanation `json:"explanation,omitempty"`
	// CoolingOffMinutes and HoldMinutes say how long money waits, when it does.
	CoolingOffMinutes int       `json:"cooling_off_minutes,omitempty"`
	HoldMinutes       int       `json:"hold_minutes,omitempty"`
	DecidedAt         time.Time `json:"decided_at"`
}

// Reason is one rule that fired, with the feature values that made it fire.
type Reason struct {
	Rule     string         `json:"rule"`
	Code     string         `json:"code"`
	Detail   string         `json:"detail"`
	Typology string         `json:"typology,omitempty"`
	Action   Action         `json:"action"`
	Score    float64        `json:"score"`
	Values   map[string]any `json:"values,omitempty"`
}

// Message is what the customer is shown, in Simplified Chinese and English.
type Message struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Explanation records how the ladder step was reached, so staff can see the
// whole tree of why and not only the rules that fired.
type Explanation struct {
	PackVersions map[string]int `json:"pack_versions,omitempty"`
	RuleScore    float64        `json:"rule_score"`
	ModelScore   *float64       `json:"model_score,omitempty"`
	Model        string         `json:"model,omitempty"`
	// Contributions names the features that moved the model score most.
	Contributions []Contribution `json:"contributions,omitempty"`
	RuleAction    Action         `json:"rule_action"`
	ScoreAction   Action         `json:"score_action"`
	// Escalation explains a climb of the ladder after dismissed interventions.
	Escalation string `json:"escalation,omitempty"`
	// Cap explains a step lowered by an allow list or by the event type.
	Cap   string   `json:"cap,omitempty"`
	Steps []string `json:"steps,omitempty"`
}

// Contribution is one feature's push on the model score.
type Contribution struct {
	Feature string  `json:"feature"`
	Value   float64 `json:"value"`
	Effect  float64 `json:"effect"`
}
