package eval

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// WriteJSON writes the result as indented JSON.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// metric is one headline row: its value in every run.
type metric struct {
	name string
	kind byte // '%' share, 'y' yuan, 'n' count, 'f' plain number
	get  func(*Report) float64
}

func yuan(s string) float64 {
	m, _ := xiaobao.ParseMoney(strings.TrimPrefix(s, "-"))
	if strings.HasPrefix(s, "-") {
		m = -m
	}
	return m.Yuan()
}

var steps = []guard.Action{guard.Remind, guard.Friction, guard.CoolingOff, guard.Hold, guard.Block}

func stepName(a guard.Action) string {
	if a == guard.Block {
		return "block"
	}
	return "≥" + a.String()
}

func headline() []metric {
	var ms []metric
	ms = append(ms, metric{"scam cases", 'n', func(r *Report) float64 { return float64(r.Overall.Cases) }})
	for _, a := range steps {
		ms = append(ms, metric{"cases met " + stepName(a), '%', func(r *Report) float64 { return r.Overall.CaseDetection.At(a) }})
	}
	ms = append(ms, metric{"scam payments", 'n', func(r *Report) float64 { return float64(r.Overall.Payments) }})
	for _, a := range steps {
		ms = append(ms, metric{"payments met " + stepName(a), '%', func(r *Report) float64 { return r.Overall.PaymentDetection.At(a) }})
	}
	ms = append(ms,
		metric{"money at risk", 'y', func(r *Report) float64 { return yuan(r.Overall.AtRisk) }},
		metric{"money avoided", 'y', func(r *Report) float64 { return yuan(r.Overall.Avoided) }},
		metric{"money lost", 'y', func(r *Report) float64 { return yuan(r.Overall.Lost) }},
		metric{"avoided share", '%', func(r *Report) float64 { return r.Overall.AvoidedShare }},
		metric{"cases with a loss", 'n', func(r *Report) float64 { return float64(r.Overall.CasesWithLoss) }},
		metric{"  warned at or before the loss", 'n', func(r *Report) float64 { return float64(r.Overall.WarnedBeforeLoss) }},
		metric{"  median hours warning→loss", 'f', func(r *Report) float64 {
			if r.Overall.LeadHoursMedian == nil {
				return math.NaN()
			}
			return *r.Overall.LeadHoursMedian
		}},
		metric{"  lost after a warning", 'y', func(r *Report) float64 { return yuan(r.Overall.LostAfterWarning) }},
		metric{"legitimate customers", 'n', func(r *Report) float64 { return float64(r.Legitimate.Customers) }},
		metric{"  met ≥remind", '%', func(r *Report) float64 { return r.Legitimate.CustomerRate.Remind }},
		metric{"  met ≥friction", '%', func(r *Report) float64 { return r.Legitimate.CustomerRate.Friction }},
		metric{"  met ≥cooling_off", '%', func(r *Report) float64 { return r.Legitimate.CustomerRate.CoolingOff }},
		metric{"legitimate outflows met ≥friction", '%', func(r *Report) float64 { return r.Legitimate.OutflowRate.Friction }},
		metric{"holds", 'n', func(r *Report) float64 { return float64(r.Dissuasion.Holds) }},
		metric{"  on legitimate events", 'n', func(r *Report) float64 { return float64(r.Dissuasion.HoldsLegitimate) }},
		metric{"scam cases held", 'n', func(r *Report) float64 { return float64(r.Dissuasion.CasesHeld) }},
		metric{"holds per confirmed scam", 'f', func(r *Report) float64 { return r.Dissuasion.HoldsPerConfirmedScam }},
		metric{"score AUC (events with an amount)", 'f', func(r *Report) float64 { return r.Score.AUC }},
		metric{"score average precision", 'f', func(r *Report) float64 { return r.Score.AveragePrecision }},
		metric{"outcomes fed: confirmed fraud", 'n', func(r *Report) float64 { return float64(r.Outcomes.ConfirmedFraud) }},
		metric{"outcomes fed: false alarm", 'n', func(r *Report) float64 { return float64(r.Outcomes.FalseAlarm) }},
	)
	return ms
}

func format(kind byte, v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	switch kind {
	case '%':
		return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
	case 'y':
		return groupDigits(strconv.FormatFloat(v, 'f', 0, 64))
	case 'n':
		return groupDigits(strconv.FormatFloat(v, 'f', 0, 64))
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func formatDelta(kind byte, v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	sign := "+"
	if v < 0 {
		sign = "-"
		v = -v
	}
	switch kind {
	case '%':
		return sign + strconv.FormatFloat(100*v, 'f', 2, 64) + " pt"
	case 'y', 'n':
		return sign + groupDigits(strconv.FormatFloat(v, 'f', 0, 64))
	}
	return sign + strconv.FormatFloat(v, 'f', 3, 64)
}

func groupDigits(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// WriteText writes the result as readable tables: the history, the headline
// figures of every run (with deltas when two runs are compared), detection
// and money by typology, look-alikes, and the rules.
func WriteText(w io.Writer, res *Result) error {
	h := &res.History
	fmt.Fprintf(w, "history: %s, %s events (%s to %s), %s customers (%s in no scheme), %s scam cases",
		h.Source, groupDigits(strconv.FormatInt(h.Events, 10)), h.From, h.To,
		groupDigits(strconv.Itoa(h.Customers)), groupDigits(strconv.Itoa(h.LegitimateCustomers)), groupDigits(strconv.Itoa(h.ScamCases)))
	if h.LabelDelayHours < 0 {
		fmt.Fprintf(w, "; no outcomes fed to Guard\n")
	} else {
		fmt.Fprintf(w, "; outcomes reach Guard %gh after the decision\n", h.LabelDelayHours)
	}
	if h.OutOfOrder > 0 {
		fmt.Fprintf(w, "warning: %d events came earlier in event time than one before them (replayed in the order given)\n", h.OutOfOrder)
	}
	for i, r := range res.Runs {
		packs := make([]string, len(r.Packs))
		for j, p := range r.Packs {
			packs[j] = fmt.Sprintf("%s (%d rules, %d shadow)", p.Pack, p.Rules, p.ShadowRules)
		}
		fmt.Fprintf(w, "run %c %q: %s\n", 'A'+i, r.Name, strings.Join(packs, ", "))
	}
	if res.Timing != nil {
		fmt.Fprintf(w, "replayed in %.1fs, %s events/s\n", res.Timing.Seconds, groupDigits(strconv.FormatFloat(res.Timing.EventsPerSecond, 'f', 0, 64)))
	}
	fmt.Fprintln(w)

	// Headline figures.
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hdr := "figure"
	for i := range res.Runs {
		hdr += "\t" + string(rune('A'+i))
	}
	if len(res.Runs) == 2 {
		hdr += "\tB − A"
	}
	fmt.Fprintln(tw, hdr+"\t")
	for _, m := range headline() {
		line := m.name
		for _, r := range res.Runs {
			line += "\t" + format(m.kind, m.get(r))
		}
		if len(res.Runs) == 2 {
			line += "\t" + formatDelta(m.kind, m.get(res.Runs[1])-m.get(res.Runs[0]))
		}
		fmt.Fprintln(tw, line+"\t")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)

	if len(res.Runs) == 2 {
		writeTypologyCompare(w, res.Runs[0], res.Runs[1])
	} else {
		for i, r := range res.Runs {
			if len(res.Runs) > 1 {
				fmt.Fprintf(w, "run %c %q\n", 'A'+i, r.Name)
			}
			writeTypologies(w, r)
		}
	}
	writeLookalikes(w, res.Runs)
	return writeRules(w, res.Runs)
}

func pct(v float64) string { return strconv.FormatFloat(100*v, 'f', 1, 64) + "%" }

func writeTypologies(w io.Writer, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "typology\tcases\t≥remind\t≥friction\t≥cooling_off\t≥hold\tblock\tpayments\tpaym. ≥cooling_off\tat risk\tavoided\tlost\tavoided %\twarned/with loss\tmedian h warning→loss\t")
	for _, d := range append(append([]Detection{}, r.Typologies...), r.Overall) {
		lead := "-"
		if d.LeadHoursMedian != nil {
			lead = strconv.FormatFloat(*d.LeadHoursMedian, 'f', 1, 64)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%d/%d\t%s\t\n", d.Typology, d.Cases,
			pct(d.CaseDetection.Remind), pct(d.CaseDetection.Friction), pct(d.CaseDetection.CoolingOff), pct(d.CaseDetection.Hold), pct(d.CaseDetection.Block),
			d.Payments, pct(d.PaymentDetection.CoolingOff),
			format('y', yuan(d.AtRisk)), format('y', yuan(d.Avoided)), format('y', yuan(d.Lost)), pct(d.AvoidedShare),
			d.WarnedBeforeLoss, d.CasesWithLoss, lead)
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func writeTypologyCompare(w io.Writer, a, b *Report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "typology\tcases\t≥remind A\tB\tΔ\t≥cooling_off A\tB\tΔ\tavoided A\tB\tΔ\tlost A\tB\t")
	bt := map[string]Detection{}
	for _, d := range b.Typologies {
		bt[d.Typology] = d
	}
	rows := append(append([]Detection{}, a.Typologies...), a.Overall)
	for _, da := range rows {
		db := b.Overall
		if da.Typology != "all" {
			db = bt[da.Typology]
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", da.Typology, da.Cases,
			pct(da.CaseDetection.Remind), pct(db.CaseDetection.Remind), formatDelta('%', db.CaseDetection.Remind-da.CaseDetection.Remind),
			pct(da.CaseDetection.CoolingOff), pct(db.CaseDetection.CoolingOff), formatDelta('%', db.CaseDetection.CoolingOff-da.CaseDetection.CoolingOff),
			format('y', yuan(da.Avoided)), format('y', yuan(db.Avoided)), formatDelta('y', yuan(db.Avoided)-yuan(da.Avoided)),
			format('y', yuan(da.Lost)), format('y', yuan(db.Lost)))
	}
	tw.Flush()
	fmt.Fprintln(w)
}

func writeLookalikes(w io.Writer, runs []*Report) {
	if len(runs) == 0 || len(runs[0].Lookalikes) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hdr := "look-alike\tevents"
	for i := range runs {
		c := string(rune('A' + i))
		hdr += "\t≥remind " + c + "\t≥friction " + c + "\t≥cooling_off " + c
	}
	fmt.Fprintln(tw, hdr+"\t")
	for k, l := range runs[0].Lookalikes {
		line := fmt.Sprintf("%s\t%d", l.Kind, l.Events)
		for _, r := range runs {
			rl := r.Lookalikes[k]
			line += "\t" + pct(rl.Rate.Remind) + "\t" + pct(rl.Rate.Friction) + "\t" + pct(rl.Rate.CoolingOff)
		}
		fmt.Fprintln(tw, line+"\t")
	}
	tw.Flush()
	fmt.Fprintln(w)
}

// writeRules lists every rule of every run: active rules with how often
// they fired, shadow rules with their hits on scam and legitimate events.
func writeRules(w io.Writer, runs []*Report) error {
	type key struct{ rule, pack string }
	var order []key
	seen := map[key]bool{}
	byRun := make([]map[key]RuleStats, len(runs))
	for i, r := range runs {
		byRun[i] = map[key]RuleStats{}
		for _, rs := range r.Rules {
			k := key{rs.Rule, rs.Pack}
			if !seen[k] {
				seen[k] = true
				order = append(order, k)
			}
			byRun[i][k] = rs
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	hdr := "rule\tpack\tmode\taction"
	for i := range runs {
		c := string(rune('A' + i))
		hdr += "\tfired " + c + "\tscam " + c + "\tlegit " + c
	}
	fmt.Fprintln(tw, hdr+"\t")
	for _, k := range order {
		var first RuleStats
		for i := range runs {
			if rs, ok := byRun[i][k]; ok {
				first = rs
				break
			}
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%s", k.rule, k.pack, first.Mode, first.Action)
		for i := range runs {
			rs, ok := byRun[i][k]
			if !ok {
				line += "\t-\t-\t-"
				continue
			}
			line += fmt.Sprintf("\t%d\t%d\t%d", rs.Fired, rs.ScamEvents, rs.LegitEvents)
		}
		fmt.Fprintln(tw, line+"\t")
	}
	return tw.Flush()
}
