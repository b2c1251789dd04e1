package fdh

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/model"
)

// Baseline is a published result on the handbook's test week.
type Baseline struct {
	Model          string
	AUC, AP, CP100 float64
}

// Baselines are the handbook's published figures (chapter "Baseline fraud
// detection system").
var Baselines = []Baseline{
	{"decision tree, depth 2", 0.763, 0.496, 0.241},
	{"logistic regression", 0.871, 0.606, 0.291},
	{"random forest", 0.867, 0.658, 0.287},
	{"XGBoost", 0.862, 0.639, 0.273},
}

// Options configure a run.
type Options struct {
	// TrainFrom and TrainTo are the first and last training days (UTC
	// dates; times of day are ignored).
	TrainFrom, TrainTo time.Time
	// Kind is model.KindGBDT (the default) or model.KindLogistic.
	Kind model.Kind
	// GBDT overrides DefaultGBDT when Rounds is set.
	GBDT model.GBDTParams
	// K is the card precision cut-off (100 by default).
	K int
	// Features is the feature set (FeaturesXiaobao by default).
	Features FeatureSet
}

// DefaultGBDT is the boosting configuration the published figures in
// docs/fdh.md come from.
var DefaultGBDT = model.GBDTParams{
	Rounds: 300, LearningRate: 0.05, MaxDepth: 6, MaxLeaves: 31, MinLeaf: 10, L2: 1,
	Subsample: 0.8, ColSample: 0.8, Seed: 1,
}

// Result is a run's outcome. Scores has one entry per test transaction, in
// the order given; metrics are over the test transactions that are not
// excluded, and only when the test set has labels.
type Result struct {
	Model      *model.Model
	TrainRows  int
	TestRows   int
	Excluded   int // test transactions of customers already known compromised
	Scores     []float64
	Labelled   bool
	AUC, AP    float64
	CP100      float64
	CPPerDay   []float64
	Importance []model.Contribution
	Elapsed    time.Duration
}

func dayOf(t time.Time) int64 { return floorDiv(t.Unix(), 86400) }

// Evaluate is the handbook's protocol: learn from history only (training
// days TrainFrom…TrainTo, features from all earlier history), then score
// every transaction of test, whose labels are never used except to report
// metrics.
func Evaluate(history, test []Tx, opt Options) (*Result, error) {
	all := make([]ref, 0, len(history)+len(test))
	for i := range history {
		all = append(all, ref{&history[i], true, -1})
	}
	for i := range test {
		all = append(all, ref{&test[i], false, i})
	}
	return run(all, len(test), opt)
}

// Holdout holds out TestFrom…TestTo of history as the test set (its labels
// hidden from features and training) and runs the protocol on it.
func Holdout(history []Tx, opt Options, testFrom, testTo time.Time) (*Result, error) {
	d0, d1 := dayOf(testFrom), dayOf(testTo)
	if d1 < d0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "test week ends before it starts")
	}
	var all []ref
	n := 0
	for i := range history {
		tx := &history[i]
		switch d := tx.Day(); {
		case d > d1:
			continue // after the test week: nothing in it may be used
		case d >= d0:
			all = append(all, ref{tx, false, n})
			n++
		default:
			all = append(all, ref{tx, true, -1})
		}
	}
	return run(all, n, opt)
}

type ref struct {
	tx       *Tx
	labelled bool // its label may be used (once Delay has passed)
	test     int  // index in the test set, or -1
}

func run(all []ref, nTest int, opt Options) (*Result, error) {
	start := time.Now()
	if len(FeatureNames) != nFeatures {
		panic("fdh: FeatureNames and the feature vector differ")
	}
	if opt.K == 0 {
		opt.K = 100
	}
	if opt.Kind == "" {
		opt.Kind = model.KindGBDT
	}
	names := FeatureNames
	switch opt.Features {
	case "", FeaturesXiaobao:
	case FeaturesHandbook:
		names = HandbookFeatureNames
	default:
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "unknown feature set %q", opt.Features)
	}
	nFeatures := len(names)
	sort.SliceStable(all, func(a, b int) bool { return all[a].tx.Time < all[b].tx.Time })
	t0, t1 := dayOf(opt.TrainFrom), dayOf(opt.TrainTo)
	if t1 < t0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "training period ends (%s) before it starts (%s)", opt.TrainTo.Format(time.DateOnly), opt.TrainFrom.Format(time.DateOnly))
	}
	if nTest == 0 {
		return nil, xiaobao.Errorf(xiaobao.EINVALID, "no test transactions")
	}
	// A model may only learn labels known when it is used: every training
	// label must be older than Delay at the first test transaction.
	for _, r := range all {
		if r.test >= 0 {
			if r.tx.Time < (t1+1)*86400+Delay {
				return nil, xiaobao.Errorf(xiaobao.EINVALID, "test transaction %d at %s: training labels up to %s are not known until 7 days later",
					r.tx.ID, time.Unix(r.tx.Time, 0).UTC().Format(time.DateTime), opt.TrainTo.Format(time.DateOnly))
			}
			break
		}
	}
	f := newFeaturizer()
	f.handbook = opt.Features == FeaturesHandbook
	train := &model.Dataset{Features: names}
	testX := make([]float64, nTest*nFeatures)
	testTx := make([]*Tx, nTest)
	x := make([]float64, nFeatures)
	// firstFraud is each customer's first known fraud from the training
	// start: the exclusion set of the test days.
	firstFraud := map[int32]int64{}
	labelled := true
	for _, r := range all {
		tx := r.tx
		d := tx.Day()
		switch {
		case r.test >= 0:
			f.next(tx, false, testX[r.test*nFeatures:(r.test+1)*nFeatures])
			testTx[r.test] = tx
			labelled = labelled && tx.Fraud >= 0
		case d >= t0 && d <= t1:
			if tx.Fraud < 0 {
				return nil, xiaobao.Errorf(xiaobao.EINVALID, "training transaction %d has no label", tx.ID)
			}
			f.next(tx, r.labelled, x)
			train.Append(x, float64(tx.Fraud))
		default:
			f.next(tx, r.labelled, nil)
		}
		if r.labelled && tx.Fraud == 1 && d >= t0 {
			if _, ok := firstFraud[tx.Customer]; !ok {
				firstFraud[tx.Customer] = d
			}
		}
	}
	m, err := fit(train, opt)
	if err != nil {
		return nil, err
	}
	res := &Result{Model: m, TrainRows: train.Rows(), TestRows: nTest, Labelled: labelled, Scores: make([]float64, nTest)}
	var scores []float64
	var labels []bool
	var cards []model.CardRow
	for i, tx := range testTx {
		xi := testX[i*nFeatures : (i+1)*nFeatures]
		res.Scores[i] = m.Predict(xi)
		// Known compromised: a fraud from the training start up to 8 days
		// before (the day before the delay ends), as the handbook counts.
		if fd, ok := firstFraud[tx.Customer]; ok && fd <= tx.Day()-8 {
			res.Excluded++
			continue
		}
		if labelled {
			scores = append(scores, res.Scores[i])
			labels = append(labels, tx.Fraud == 1)
			cards = append(cards, model.CardRow{Day: int(tx.Day()), Card: int64(tx.Customer), Score: res.Scores[i], Fraud: tx.Fraud == 1})
		}
	}
	if labelled {
		res.AUC = model.AUC(scores, labels)
		res.AP = model.AveragePrecision(scores, labels)
		res.CP100, res.CPPerDay = model.CardPrecisionAtK(cards, opt.K)
		m.Training.Metrics = map[string]float64{"auc": res.AUC, "average_precision": res.AP, "card_precision_at_100": res.CP100}
	}
	if len(testX) > 0 {
		res.Importance = m.Importance(testX[:min(len(testX), 5000*nFeatures)])
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

const nFeatures = 44

// fit trains the model on every training day. It is not calibrated: the
// score is the logistic of the margin, which boosting with log loss keeps
// close to a probability; calibration (model.Calibrate) needs a labelled
// slice the model did not see, and none of the metrics depends on it.
func fit(train *model.Dataset, opt Options) (*model.Model, error) {
	note := fmt.Sprintf("fdh %s…%s", opt.TrainFrom.Format(time.DateOnly), opt.TrainTo.Format(time.DateOnly))
	switch opt.Kind {
	case model.KindLogistic:
		m, err := model.TrainLogistic(train, model.LogisticParams{L2: 1, Name: "fdh-logistic", DataNote: note})
		if err != nil {
			return nil, fmt.Errorf("fdh: %w", err)
		}
		return m, nil
	case model.KindGBDT:
		p := opt.GBDT
		if p.Rounds == 0 {
			p = DefaultGBDT
		}
		p.Name, p.DataNote = "fdh-gbdt", note
		m, err := model.TrainGBDT(train, p)
		if err != nil {
			return nil, fmt.Errorf("fdh: %w", err)
		}
		if math.IsNaN(m.GBDT.Base) {
			return nil, fmt.Errorf("fdh: degenerate training set")
		}
		return m, nil
	}
	return nil, xiaobao.Errorf(xiaobao.EINVALID, "unknown model kind %q", opt.Kind)
}
