package model

import (
	"math"
	"sort"
)

// byScoreDesc returns row indices sorted by descending score.
func byScoreDesc(scores []float64) []int {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	return idx
}

// AUC returns the area under the ROC curve. Tied scores count one half, as
// the trapezoidal rule over distinct thresholds gives (sklearn's
// roc_auc_score). It is NaN when a class is missing.
func AUC(scores []float64, labels []bool) float64 {
	idx := byScoreDesc(scores)
	var pos, neg, area float64
	for k := 0; k < len(idx); {
		var tp, fp float64
		j := k
		for ; j < len(idx) && scores[idx[j]] == scores[idx[k]]; j++ {
			if labels[idx[j]] {
				tp++
			} else {
				fp++
			}
		}
		// Negatives in this tie group rank below the positives above it
		// and level with the positives in it.
		area += fp * (pos + tp/2)
		pos += tp
		neg += fp
		k = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return area / (pos * neg)
}

// AveragePrecision returns Σ (Rₙ − Rₙ₋₁)·Pₙ over distinct score thresholds
// from the highest, sklearn's average_precision_score (no interpolation).
// It is NaN with no positives.
func AveragePrecision(scores []float64, labels []bool) float64 {
	idx := byScoreDesc(scores)
	var total float64
	for _, l := range labels {
		if l {
			total++
		}
	}
	if total == 0 {
		return math.NaN()
	}
	var tp, fp, ap float64
	for k := 0; k < len(idx); {
		j := k
		var dtp float64
		for ; j < len(idx) && scores[idx[j]] == scores[idx[k]]; j++ {
			if labels[idx[j]] {
				dtp++
			} else {
				fp++
			}
		}
		tp += dtp
		ap += dtp / total * tp / (tp + fp)
		k = j
	}
	return ap
}

// CardRow is one scored transaction for card precision: the day it
// happened, its card (customer), its score and its label.
type CardRow struct {
	Day   int
	Card  int64
	Score float64
	Fraud bool
}

// CardPrecisionAtK is the Fraud Detection Handbook's card precision@k: for
// each day, cards ranked by their highest score that day (ties by ascending
// card), skipping cards found compromised in an earlier day's top k; the
// share of the top k with a fraud that day; averaged over days. An
// investigator checks k cards a day, so this is what a team sees.
func CardPrecisionAtK(rows []CardRow, k int) (mean float64, perDay []float64) {
	type card struct {
		score float64
		fraud bool
	}
	days := map[int]map[int64]*card{}
	for _, r := range rows {
		m := days[r.Day]
		if m == nil {
			m = map[int64]*card{}
			days[r.Day] = m
		}
		c := m[r.Card]
		if c == nil {
			c = &card{score: math.Inf(-1)}
			m[r.Card] = c
		}
		c.score = max(c.score, r.Score)
		c.fraud = c.fraud || r.Fraud
	}
	order := make([]int, 0, len(days))
	for d := range days {
		order = append(order, d)
	}
	sort.Ints(order)
	found := map[int64]bool{}
	for _, d := range order {
		type ranked struct {
			id int64
			card
		}
		var cs []ranked
		for id, c := range days[d] {
			if !found[id] {
				cs = append(cs, ranked{id, *c})
			}
		}
		sort.Slice(cs, func(a, b int) bool {
			if cs[a].score != cs[b].score {
				return cs[a].score > cs[b].score
			}
			return cs[a].id < cs[b].id
		})
		hits := 0
		for _, c := range cs[:min(k, len(cs))] {
			if c.fraud {
				hits++
				found[c.id] = true
			}
		}
		perDay = append(perDay, float64(hits)/float64(k))
	}
	for _, p := range perDay {
		mean += p
	}
	if len(perDay) > 0 {
		mean /= float64(len(perDay))
	}
	return mean, perDay
}
