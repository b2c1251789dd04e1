package eval

import "slices"

// scorePoint is how many legitimate (neg) and scam (pos) events got one
// score. Scores are counted by value rather than kept per event: rule
// scores take few distinct values, so the tally stays small and the sort
// at the end is short.
type scorePoint struct {
	score    float64
	neg, pos int64
}

// rankQuality returns the area under the ROC curve, with ties counted half
// (the Mann–Whitney statistic), and the average precision as scikit-learn
// computes it: Σ (Rₖ − Rₖ₋₁) Pₖ over the distinct scores from the highest
// down, tied events entering together. Both are 0 when there are no
// positives or no negatives.
func rankQuality(pts []scorePoint) (auc, ap float64, n, pos int64) {
	var neg int64
	for _, p := range pts {
		pos += p.pos
		neg += p.neg
	}
	n = pos + neg
	if pos == 0 || neg == 0 {
		return 0, 0, n, pos
	}
	pts = slices.Clone(pts)
	slices.SortFunc(pts, func(a, b scorePoint) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return 0
	})
	// Equal scores are one threshold.
	merged := pts[:0]
	for _, p := range pts {
		if k := len(merged) - 1; k >= 0 && merged[k].score == p.score {
			merged[k].neg += p.neg
			merged[k].pos += p.pos
			continue
		}
		merged = append(merged, p)
	}
	pts = merged
	// Walking from the highest score down, each positive outranks the
	// negatives still below it.
	var tp, fp int64
	var sum, prevRecall float64
	negBelow := neg
	for _, p := range pts {
		negBelow -= p.neg
		sum += float64(p.pos) * (float64(negBelow) + 0.5*float64(p.neg))
		tp += p.pos
		fp += p.neg
		if p.pos > 0 {
			recall := float64(tp) / float64(pos)
			ap += (recall - prevRecall) * float64(tp) / float64(tp+fp)
			prevRecall = recall
		}
	}
	return sum / (float64(pos) * float64(neg)), ap, n, pos
}
