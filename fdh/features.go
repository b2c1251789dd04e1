package fdh

import (
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
)

// Delay is how long after a transaction its label becomes known, as the
// handbook assumes.
const Delay = 7 * 86400

// Days since Guard first saw a customer or terminal are left out: in this
// data every entity appears in the first days, so they only count calendar
// days, which a model would learn as a trend that does not hold on the test
// week.

// never stands for "days since" something that never happened, kept small
// enough that standardisation in logistic regression stays sane.
const never = 400

// FeatureNames are the model's features: Guard's own (the rule names of
// guard.Env, computed by guard's engine exactly as in production) and the
// handbook-specific ones computed here ("fdh.*"): label-delayed terminal
// risk and the customer's amount profile.
var FeatureNames = []string{
	"event.amount", "event.hour", "event.weekend",
	"customer.pay_count_1h", "customer.pay_count_24h", "customer.pay_count_7d", "customer.pay_count_30d",
	"customer.pay_sum_24h", "customer.pay_sum_7d", "customer.pay_sum_30d",
	"customer.out_avg_90d", "customer.out_max_90d", "customer.amount_to_avg", "customer.amount_to_max",
	"customer.out_history",
	"payee.is_new", "payee.known_days", "payee.in_count_24h", "payee.in_count_7d",
	"fdh.night", "fdh.cust_mean_1d", "fdh.cust_mean_7d", "fdh.cust_mean_30d",
	"fdh.amount_ratio", "fdh.amount_z", "fdh.cust_hi_7d", "fdh.cust_hi_14d", "fdh.cust_max_ratio_7d",
	"fdh.cust_days_since_fraud",
	"fdh.term_n_1d", "fdh.term_n_7d", "fdh.term_n_30d",
	"fdh.term_risk_1d", "fdh.term_risk_7d", "fdh.term_risk_30d",
	"fdh.term_days_since_fraud", "fdh.term_run_days", "fdh.term_run_len", "fdh.term_last_fraud",
	"fdh.term_plain_n_28d", "fdh.term_plain_share_7d", "fdh.term_plain_last", "fdh.term_plain_first", "fdh.term_plain_run",
}

// FeatureSet selects the features a run computes.
type FeatureSet string

const (
	// FeaturesXiaobao, the default: Guard's features and the fdh.* ones
	// (FeatureNames).
	FeaturesXiaobao FeatureSet = "xiaobao"
	// FeaturesHandbook: the handbook's own 15 baseline features
	// (HandbookFeatureNames), to rerun its baselines on any week.
	FeaturesHandbook FeatureSet = "handbook"
)

// HandbookFeatureNames are the handbook's baseline features, as its code
// names them: amount, weekend, night (hour <= 6), the customer's count and
// mean amount over (t - w, t] and the terminal's count and fraud share over
// (t - 7d - w, t - 7d], for w = 1, 7, 30 days.
var HandbookFeatureNames = []string{
	"TX_AMOUNT", "TX_DURING_WEEKEND", "TX_DURING_NIGHT",
	"CUSTOMER_ID_NB_TX_1DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_1DAY_WINDOW",
	"CUSTOMER_ID_NB_TX_7DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_7DAY_WINDOW",
	"CUSTOMER_ID_NB_TX_30DAY_WINDOW", "CUSTOMER_ID_AVG_AMOUNT_30DAY_WINDOW",
	"TERMINAL_ID_NB_TX_1DAY_WINDOW", "TERMINAL_ID_RISK_1DAY_WINDOW",
	"TERMINAL_ID_NB_TX_7DAY_WINDOW", "TERMINAL_ID_RISK_7DAY_WINDOW",
	"TERMINAL_ID_NB_TX_30DAY_WINDOW", "TERMINAL_ID_RISK_30DAY_WINDOW",
}

// terminalLabels is a terminal's labelled transactions in time order, with
// prefix counts, so a window of known labels is two binary searches.
type terminalLabels struct {
	t        []int64
	cumFraud []int32 // frauds among t[:i+1]
	runStart []int64 // for a fraud, when the unbroken run of frauds ending at it began
	// cumPlain counts "plain" frauds among t[:i+1]: frauds of an ordinary
	// amount (at most plainMax and not unusually large for the customer),
	// which nothing about the payment explains; on a terminal they point
	// at the terminal itself being compromised.
	cumPlain []int32
}

// plainMax is the handbook's scenario-1 amount: a fraud above it is
// explained by its amount.
const plainMax = 220

func (l *terminalLabels) add(t int64, fraud, plain bool) {
	p := int32(0)
	if n := len(l.cumPlain); n > 0 {
		p = l.cumPlain[n-1]
	}
	if fraud && plain {
		p++
	}
	l.cumPlain = append(l.cumPlain, p)
	c := int32(0)
	if n := len(l.cumFraud); n > 0 {
		c = l.cumFraud[n-1]
	}
	rs := int64(0)
	if fraud {
		c++
		rs = t
		if n := len(l.t); n > 0 && l.runStart[n-1] != 0 {
			rs = l.runStart[n-1]
		}
	}
	l.t, l.cumFraud, l.runStart = append(l.t, t), append(l.cumFraud, c), append(l.runStart, rs)
}

// upTo returns how many entries have time <= t.
func (l *terminalLabels) upTo(t int64) int {
	return sort.Search(len(l.t), func(i int) bool { return l.t[i] > t })
}

func (l *terminalLabels) frauds(n int) int32 {
	if n == 0 {
		return 0
	}
	return l.cumFraud[n-1]
}

type customerProfile struct {
	n          float64
	mean, m2   float64
	recentT    []int64 // last 14 days of transactions: time and amount ratio
	recentR    []float64
	fraudTimes []int64 // labelled frauds, for "days since a known fraud"
	// The handbook's feature set only: the last 30 days of transactions.
	hbT []int64
	hbA []float64
}

// hiRatio is the amount ratio above which a transaction counts as
// unusually large for the customer; the handbook's leaked-card fraud
// multiplies amounts by 5, genuine amounts spread ±50% around the mean.
const hiRatio = 3

// featurizer runs Guard's engine over transactions in time order and adds
// the handbook features. Labels enter only through known(), which hides a
// label until Delay after its transaction.
type featurizer struct {
	eng       *guard.Engine
	ev        guard.Event
	custIDs   map[int32]string
	termIDs   map[int32]string
	terms     map[int32]*terminalLabels
	customers map[int32]*customerProfile
	handbook  bool // compute HandbookFeatureNames instead of FeatureNames
}

func newFeaturizer() *featurizer {
	return &featurizer{
		eng: guard.NewEngine(nil), custIDs: map[int32]string{}, termIDs: map[int32]string{},
		terms: map[int32]*terminalLabels{}, customers: map[int32]*customerProfile{},
	}
}

func idString(m map[int32]string, prefix string, id int32) string {
	s, ok := m[id]
	if !ok {
		s = prefix + strconv.Itoa(int(id))
		m[id] = s
	}
	return s
}

// next folds tx into state. If x is not nil it receives tx's features,
// computed from history before tx (windows include tx, as the handbook's
// do). labelled says whether tx's label may ever be used (test rows'
// labels never are); it becomes visible Delay seconds later.
func (f *featurizer) next(tx *Tx, labelled bool, x []float64) {
	if f.handbook {
		f.nextHandbook(tx, labelled, x)
		return
	}
	ev := &f.ev
	*ev = guard.Event{
		Type: guard.Payment, OccurredAt: time.Unix(tx.Time, 0).UTC(),
		Customer:     guard.Customer{ID: idString(f.custIDs, "c", tx.Customer), Age: -1},
		Counterparty: guard.Counterparty{Account: idString(f.termIDs, "t", tx.Terminal)},
		Amount:       xiaobao.Money(math.Round(tx.Amount * 100)), HasAmount: true,
	}
	cp := f.customers[tx.Customer]
	if cp == nil {
		cp = &customerProfile{}
		f.customers[tx.Customer] = cp
	}
	ratio := 1.0
	if cp.n > 0 {
		ratio = tx.Amount / max(cp.mean, 1)
	}
	tl := f.terms[tx.Terminal]
	if tl == nil {
		tl = &terminalLabels{}
		f.terms[tx.Terminal] = tl
	}
	if x == nil {
		f.eng.Apply(ev, guard.Allow, "")
	} else {
		env := f.eng.Features(ev)
		f.fill(tx, &env, cp, tl, ratio, x)
	}
	// Fold tx into the handbook state after its features are taken.
	if cp.n < 10 || ratio <= hiRatio {
		// Outliers stay out of the profile: a leaked card's 5× amounts
		// would otherwise raise the mean they are measured against.
		cp.n++
		d := tx.Amount - cp.mean
		cp.mean += d / cp.n
		cp.m2 += d * (tx.Amount - cp.mean)
	}
	k := 0
	for k < len(cp.recentT) && cp.recentT[k] <= tx.Time-14*86400 {
		k++
	}
	cp.recentT, cp.recentR = append(cp.recentT[k:], tx.Time), append(cp.recentR[k:], ratio)
	if labelled {
		tl.add(tx.Time, tx.Fraud == 1, tx.Amount <= plainMax && ratio <= hiRatio)
		if tx.Fraud == 1 {
			cp.fraudTimes = append(cp.fraudTimes, tx.Time)
		}
	}
}

func (f *featurizer) fill(tx *Tx, env *guard.Env, cp *customerProfile, tl *terminalLabels, ratio float64, x []float64) {
	b2f := func(b bool) float64 {
		if b {
			return 1
		}
		return 0
	}
	ce, pe := &env.Customer, &env.Payee
	mean := func(sum float64, n int) float64 {
		if n == 0 {
			return 0
		}
		return sum / float64(n)
	}
	z := 0.0
	if cp.n > 1 {
		z = (tx.Amount - cp.mean) / max(math.Sqrt(cp.m2/(cp.n-1)), 1)
	}
	var hi7, hi14 int
	var max7 float64
	for i, t := range cp.recentT {
		if t <= tx.Time-14*86400 {
			continue
		}
		r := cp.recentR[i]
		if r > hiRatio {
			hi14++
		}
		if t > tx.Time-7*86400 {
			if r > hiRatio {
				hi7++
			}
			max7 = max(max7, r)
		}
	}
	// Known labels: transactions up to tx.Time − Delay.
	cut := tx.Time - Delay
	custFraud := float64(never)
	if k := sort.Search(len(cp.fraudTimes), func(i int) bool { return cp.fraudTimes[i] > cut }); k > 0 {
		custFraud = float64(tx.Time-cp.fraudTimes[k-1]) / 86400
	}
	nAll := tl.upTo(cut)
	fAll := tl.frauds(nAll)
	var tn, tr [3]float64
	for w, days := range [3]int64{1, 7, 30} {
		n0 := tl.upTo(cut - days*86400)
		n := nAll - n0
		tn[w] = float64(n)
		if n > 0 {
			tr[w] = float64(fAll-tl.frauds(n0)) / float64(n)
		}
	}
	lastFraud, runDays, runLen, lastIsFraud, plainRun := float64(never), float64(never), 0.0, 0.0, 0.0
	if fAll > 0 {
		// The latest known fraud: the last entry whose prefix count rises.
		j := sort.Search(nAll, func(i int) bool { return tl.cumFraud[i] >= fAll })
		lastFraud = float64(tx.Time-tl.t[j]) / 86400
		runDays = float64(tx.Time-tl.runStart[j]) / 86400
		i0 := sort.Search(j+1, func(i int) bool { return tl.t[i] >= tl.runStart[j] })
		runLen = float64(j - i0 + 1)
		lastIsFraud = b2f(j == nAll-1)
		if j == nAll-1 {
			// The plain frauds of a run reaching the latest known payment.
			plainRun = float64(tl.cumPlain[j])
			if i0 > 0 {
				plainRun -= float64(tl.cumPlain[i0-1])
			}
		}
	}
	// Plain known frauds: how many in the 28 days (a compromise's length)
	// up to the cut, their share over 7 days, and the days since the last
	// and the first of them in the last 35 days.
	plainN, plainShare, plainLast, plainFirst := 0.0, 0.0, float64(never), float64(never)
	if nAll > 0 && tl.cumPlain[nAll-1] > 0 {
		pAll := tl.cumPlain[nAll-1]
		plainAt := func(n int) int32 {
			if n == 0 {
				return 0
			}
			return tl.cumPlain[n-1]
		}
		plainN = float64(pAll - plainAt(tl.upTo(cut-28*86400)))
		if n0 := tl.upTo(cut - 7*86400); nAll > n0 {
			plainShare = float64(pAll-plainAt(n0)) / float64(nAll-n0)
		}
		j := sort.Search(nAll, func(i int) bool { return tl.cumPlain[i] >= pAll })
		plainLast = float64(tx.Time-tl.t[j]) / 86400
		n35 := tl.upTo(tx.Time - 35*86400)
		if p0 := plainAt(n35); pAll > p0 {
			j := sort.Search(nAll, func(i int) bool { return tl.cumPlain[i] > p0 })
			plainFirst = float64(tx.Time-tl.t[j]) / 86400
		}
	}
	v := [...]float64{
		env.Event.Amount, float64(env.Event.Hour), b2f(env.Event.Weekend),
		float64(ce.PayCount1h), float64(ce.PayCount24h), float64(ce.PayCount7d), float64(ce.PayCount30d),
		ce.PaySum24h, ce.PaySum7d, ce.PaySum30d,
		ce.OutAvg90d, ce.OutMax90d, ce.AmountToAvg, ce.AmountToMax,
		float64(ce.OutHistory),
		b2f(pe.IsNew), pe.KnownDays, float64(pe.InCount24h), float64(pe.InCount7d),
		b2f(env.Event.Hour <= 6), mean(ce.PaySum24h, ce.PayCount24h), mean(ce.PaySum7d, ce.PayCount7d), mean(ce.PaySum30d, ce.PayCount30d),
		ratio, z, float64(hi7), float64(hi14), max7,
		custFraud,
		tn[0], tn[1], tn[2], tr[0], tr[1], tr[2],
		lastFraud, runDays, runLen, lastIsFraud,
		plainN, plainShare, plainLast, plainFirst, plainRun,
	}
	copy(x, v[:])
}

// nextHandbook is next for the handbook's feature set: no Guard engine,
// the windows exactly as the handbook's code computes them.
func (f *featurizer) nextHandbook(tx *Tx, labelled bool, x []float64) {
	cp := f.customers[tx.Customer]
	if cp == nil {
		cp = &customerProfile{}
		f.customers[tx.Customer] = cp
	}
	tl := f.terms[tx.Terminal]
	if tl == nil {
		tl = &terminalLabels{}
		f.terms[tx.Terminal] = tl
	}
	k := 0
	for k < len(cp.hbT) && cp.hbT[k] <= tx.Time-30*86400 {
		k++
	}
	cp.hbT, cp.hbA = append(cp.hbT[k:], tx.Time), append(cp.hbA[k:], tx.Amount)
	if x != nil {
		tm := time.Unix(tx.Time, 0).UTC()
		x[0] = tx.Amount
		x[1], x[2] = 0, 0
		if wd := tm.Weekday(); wd == time.Saturday || wd == time.Sunday {
			x[1] = 1
		}
		if tm.Hour() <= 6 {
			x[2] = 1
		}
		for w, days := range [3]int64{1, 7, 30} {
			var n, sum float64
			for i := len(cp.hbT) - 1; i >= 0 && cp.hbT[i] > tx.Time-days*86400; i-- {
				n++
				sum += cp.hbA[i]
			}
			x[3+2*w], x[4+2*w] = n, sum/n
		}
		cut := tx.Time - Delay
		nAll := tl.upTo(cut)
		fAll := tl.frauds(nAll)
		for w, days := range [3]int64{1, 7, 30} {
			n0 := tl.upTo(cut - days*86400)
			n := nAll - n0
			x[9+2*w], x[10+2*w] = float64(n), 0
			if n > 0 {
				x[10+2*w] = float64(fAll-tl.frauds(n0)) / float64(n)
			}
		}
	}
	if labelled {
		tl.add(tx.Time, tx.Fraud == 1, false)
	}
}
