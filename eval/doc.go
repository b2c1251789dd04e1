// Package eval measures protection: it replays a labelled history through
// Guard and reports what one or more rule pack sets would have caught,
// stopped and cost. `xiaobao eval` is its command line; docs/eval.md holds
// the figures of the built-in pack.
//
// # Replay
//
// The history is NDJSON events of the Guard contract with the simulator's
// labels beside them (FileSource), a simulation run in process (SimSource)
// or items in memory (SliceSource). Each pack set gets a fresh
// guard.Engine, the one the server uses, and decides every event in the
// order given (the order a server would have received them; events that go
// back in event time are counted in history.out_of_order). Nothing looks
// ahead: an outcome reaches Guard through guard.State.Label, exactly as
// Service.RecordOutcome teaches it, only once Config.LabelDelay has passed
// after the decision it labels (before the first event at or after that
// time). Which decisions get an outcome, since the history's labels say
// what really happened but not what staff would have recorded:
//
//   - confirmed_fraud: every scam event that put money at risk or met
//     friction or more (victims report what they lost; staff confirm what
//     they stopped);
//   - false_alarm: every legitimate event that met friction or more (the
//     customer or a call cleared it);
//   - nothing else: reminders are not reviewed.
//
// The events are decoded once and shared; the pack sets replay them in
// parallel, one goroutine each.
//
// # Definitions
//
// A scam case is one customer in one scheme (scam_id): a victim, a
// fraudster-controlled account, a mule, a farm account or a gambler. A case
// met a ladder step when any of its events got that step or a stronger one.
// Payments are a scheme's outflows (transfer, withdrawal, payment) with
// money at risk, counted one by one, retries and mule cash-outs included.
//
// Money. A payment's money is avoided when the payment got cooling_off,
// hold or block, and lost when it got allow, remind or friction (the
// customer can go on after a reminder or a quiz; cooling-off is counted as
// stopped because the customer can cancel it, which makes it optimistic).
// A retry (stage "retry", same amount, right after) is the same money as
// the payment it retries: the pair is avoided only if both were stopped.
// A mule's cash-out moves its victims' money again and is not counted as
// money (the victims' payments are), and a loan taken for a scheme counts
// when the money leaves in an outflow, not when it is paid out. So
// at_risk = avoided + lost, each money once.
//
// Warning and loss. A case's first intervention is its first event with
// remind or more; its first loss its first payment that went through.
// warned_before_loss counts cases whose first intervention came at or
// before the first loss (on the paying event itself counts, with a lead of
// 0 hours), lead_hours_median is the median of those leads, and
// lost_after_warning the money that went through at or after the case's
// first intervention: what a stronger step on an already suspicious case
// would have saved.
//
// Legitimate customers are those in no scam event of the history (a victim
// is not one, though their ordinary events count as legitimate events).
//
// Dissuasion load: every hold is a call by staff. holds_per_confirmed_scam
// is all holds (on legitimate and scam events) divided by the scam cases
// with at least one hold, the scams a call confirmed.
//
// Score quality is measured on the events with an amount (transfers,
// withdrawals, payments, loan applications and payouts, repayments), scam
// events being the positives and the decision's score (rules by noisy-OR,
// with the model if one is set) the ranking: auc is the area under the ROC
// curve with ties counted half, average_precision is scikit-learn's
// (Σ (Rₖ − Rₖ₋₁) Pₖ over distinct scores). Both are 0 when one class is
// missing.
//
// Rules: every rule of the set, active or shadow, with the events it fired
// on, split into scam and legitimate events. A shadow rule never acts, so
// its hits are what it would have flagged.
//
// # JSON
//
// WriteJSON writes a Result; the field names are stable. Money is a
// decimal string in yuan ("20000.00"); shares are numbers from 0 to 1,
// rounded to 6 decimals.
//
//	history       source, sim {seed, customers, days, start, scam_rate,
//	              lookalike_rate, quiet_days} (simulated only), events,
//	              from, to (RFC 3339 UTC), out_of_order, customers,
//	              legitimate_customers, scam_cases, label_delay_hours (-1:
//	              no outcomes fed)
//	runs[]        one report per pack set, in the order given:
//	  name, packs[] {pack, rules, shadow_rules}
//	  overall, typologies[] (by name): typology, cases, cases_met and
//	      case_detection {remind, friction, cooling_off, hold, block}
//	      (counts and shares at that step or stronger), payments,
//	      payments_met, payment_detection, cases_with_money, at_risk,
//	      avoided, lost, avoided_share, cases_with_loss,
//	      warned_before_loss, lead_hours_median (null when no case was
//	      warned before its loss), lost_after_warning, holds, blocks
//	  legitimate: customers, customers_met, customer_rate, events,
//	      events_met, event_rate, outflows, outflows_met, outflow_rate
//	  lookalikes[] (by kind): kind, events, met, rate
//	  dissuasion: holds, holds_legitimate, holds_scam, cases_held,
//	      holds_per_confirmed_scam
//	  score: events, positives, auc, average_precision
//	  outcomes_fed: confirmed_fraud, false_alarm
//	  rules[] (pack order): rule, pack, mode, typology, action (the rule's
//	      least step), fired, scam_events, legit_events
//	deltas        with two runs, the second minus the first: a, b,
//	              case_detection, payment_detection, legit_customer_rate,
//	              avoided, lost, avoided_share, holds_per_confirmed_scam,
//	              auc, average_precision
//	timing        seconds, events_per_second (the only machine-dependent part)
package eval
