package fdh

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

var update = flag.Bool("update", false, "regenerate testdata/fixture.csv.gz")

const fixturePath = "testdata/fixture.csv.gz"

// simulate is a tiny version of the handbook's generator: customers with
// their own amount profile paying nearby terminals, and its three fraud
// scenarios (amount above 220; compromised terminals for 28 days; leaked
// cards whose amounts are ×5 a third of the time for 14 days).
func simulate(customers, terminals, days int, seed uint64) []Tx {
	r := rand.New(rand.NewPCG(seed, 3))
	type cust struct {
		mean, std, rate float64
		terms           []int32
	}
	cs := make([]cust, customers)
	for i := range cs {
		m := 5 + r.Float64()*95
		cs[i] = cust{mean: m, std: m / 2, rate: r.Float64() * 4}
		for k := 0; k < 8; k++ {
			cs[i].terms = append(cs[i].terms, int32(r.IntN(terminals)))
		}
	}
	start := time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC).Unix()
	compromisedUntil := make([]int, terminals)
	leakedUntil := make([]int, customers)
	var txs []Tx
	for d := 0; d < days; d++ {
		if r.Float64() < 0.3 {
			compromisedUntil[r.IntN(terminals)] = d + 28
		}
		if r.Float64() < 0.3 {
			leakedUntil[r.IntN(customers)] = d + 14
		}
		for c := range cs {
			n := int(r.ExpFloat64() * cs[c].rate)
			for k := 0; k < n; k++ {
				amt := -1.0
				for amt < 0 {
					amt = cs[c].mean + r.NormFloat64()*cs[c].std
				}
				tx := Tx{Time: start + int64(d)*86400 + int64(r.IntN(86400)), Customer: int32(c),
					Terminal: cs[c].terms[r.IntN(len(cs[c].terms))]}
				switch {
				case leakedUntil[c] > d && r.IntN(3) == 0:
					amt *= 5
					tx.Fraud, tx.Scenario = 1, 3
				case compromisedUntil[tx.Terminal] > d:
					tx.Fraud, tx.Scenario = 1, 2
				}
				if amt > 220 {
					tx.Fraud, tx.Scenario = 1, 1
				}
				tx.Amount = math.Round(amt*100) / 100
				txs = append(txs, tx)
			}
		}
	}
	slices.SortStableFunc(txs, func(a, b Tx) int { return int(a.Time - b.Time) })
	for i := range txs {
		txs[i].ID = int64(i)
	}
	return txs
}

func writeCSV(txs []Tx, labels bool) []byte {
	var b bytes.Buffer
	b.WriteString("TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_TIME_SECONDS,TX_TIME_DAYS")
	if labels {
		b.WriteString(",TX_FRAUD,TX_FRAUD_SCENARIO")
	}
	b.WriteByte('\n')
	start := time.Date(2018, 4, 1, 0, 0, 0, 0, time.UTC).Unix()
	for _, tx := range txs {
		fmt.Fprintf(&b, "%d,%s,%d,%d,%.2f,%d,%d", tx.ID, time.Unix(tx.Time, 0).UTC().Format("2006-01-02T15:04:05"),
			tx.Customer, tx.Terminal, tx.Amount, tx.Time-start, (tx.Time-start)/86400)
		if labels {
			fmt.Fprintf(&b, ",%d,%d", tx.Fraud, tx.Scenario)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func fixture(t *testing.T) []Tx {
	t.Helper()
	if *update {
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		zw.Write(writeCSV(simulate(40, 30, 62, 1), true))
		zw.Close()
		if err := os.WriteFile(fixturePath, z.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	txs, err := LoadFile(fixturePath)
	if err != nil {
		t.Fatal(err)
	}
	return txs
}

func TestLoad(t *testing.T) {
	txs := fixture(t)
	if len(txs) < 2000 {
		t.Fatalf("fixture has %d rows", len(txs))
	}
	frauds := map[int8]int{}
	for i, tx := range txs {
		if i > 0 && tx.Time < txs[i-1].Time {
			t.Fatal("fixture not in time order")
		}
		frauds[tx.Scenario]++
	}
	if frauds[1] == 0 || frauds[2] == 0 || frauds[3] == 0 {
		t.Fatalf("fixture lacks a scenario: %v", frauds)
	}
	// Without label columns, labels are unknown.
	un, err := Load(bytes.NewReader(writeCSV(txs[:10], false)))
	if err != nil || len(un) != 10 || un[3].Fraud != -1 || un[3].Amount != txs[3].Amount || un[3].Time != txs[3].Time {
		t.Fatalf("unlabelled load: %v %+v", err, un)
	}
	for _, bad := range []string{
		"",
		"TRANSACTION_ID,TX_DATETIME\n1,2018-04-01T00:00:00\n",
		"TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT\n1,2018-04-01 00:00,1,2,3\n",
		"TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT\n1,2018-04-01T00:00:00,1,2,x\n",
		"TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT,TX_FRAUD\n1,2018-04-01T00:00:00,1,2,3,7\n",
		"TRANSACTION_ID,TX_DATETIME,CUSTOMER_ID,TERMINAL_ID,TX_AMOUNT\n1,2018-04-01T00:00:00,1\n",
	} {
		if _, err := Load(bytes.NewReader([]byte(bad))); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
			t.Errorf("%q: error %v, want invalid", bad, err)
		}
	}
}

// features computes every row's features with the labels given.
func features(txs []Tx) []float64 {
	f := newFeaturizer()
	out := make([]float64, len(txs)*nFeatures)
	for i := range txs {
		f.next(&txs[i], true, out[i*nFeatures:(i+1)*nFeatures])
	}
	return out
}

// TestLabelDelay checks that a row's features never depend on a label
// younger than Delay, and do depend on older ones.
func TestLabelDelay(t *testing.T) {
	txs := fixture(t)
	base := features(txs)
	n := len(txs)
	for _, target := range []int{n / 2, 2 * n / 3, n - 1} {
		cut := txs[target].Time - Delay
		flipped := slices.Clone(txs)
		for i := range flipped {
			if flipped[i].Time > cut {
				flipped[i].Fraud = 1 - flipped[i].Fraud
			}
		}
		x := features(flipped)
		if !slices.Equal(x[target*nFeatures:(target+1)*nFeatures], base[target*nFeatures:(target+1)*nFeatures]) {
			t.Errorf("row %d: features changed with labels younger than 7 days", target)
		}
		// A label just old enough is seen: flip the last label at or before
		// the cut on the row's terminal.
		for i := target - 1; i >= 0; i-- {
			if txs[i].Terminal == txs[target].Terminal && txs[i].Time <= cut {
				older := slices.Clone(txs)
				older[i].Fraud = 1 - older[i].Fraud
				if slices.Equal(features(older)[target*nFeatures:(target+1)*nFeatures], base[target*nFeatures:(target+1)*nFeatures]) {
					t.Errorf("row %d: a label 7 days old did not change its features", target)
				}
				break
			}
		}
	}
}

func fixtureDates(txs []Tx) (trainFrom, trainTo, testFrom, testTo time.Time) {
	day0 := time.Unix(txs[0].Time, 0).UTC().Truncate(24 * time.Hour)
	d := func(k int) time.Time { return day0.AddDate(0, 0, k) }
	return d(40), d(46), d(54), d(60)
}

func TestHoldoutProtocol(t *testing.T) {
	txs := fixture(t)
	trainFrom, trainTo, testFrom, testTo := fixtureDates(txs)
	opt := Options{TrainFrom: trainFrom, TrainTo: trainTo, GBDT: DefaultGBDT, K: 5}
	// The fixture is tiny (a few hundred frauds): fewer trees and a
	// stronger L2 than on the full data, where DefaultGBDT's L2 = 1 fits.
	opt.GBDT.Rounds, opt.GBDT.MinLeaf, opt.GBDT.L2 = 60, 5, 5
	res, err := Holdout(txs, opt, testFrom, testTo)
	if err != nil {
		t.Fatal(err)
	}
	// The test rows are the held-out days, in order.
	var test []Tx
	for _, tx := range txs {
		if tx.Day() >= dayOf(testFrom) && tx.Day() <= dayOf(testTo) {
			test = append(test, tx)
		}
	}
	if res.TestRows != len(test) || len(res.Scores) != len(test) || !res.Labelled {
		t.Fatalf("test rows %d scores %d, want %d", res.TestRows, len(res.Scores), len(test))
	}
	// Exclusion, by the README's definition: for test day testFrom+d, a
	// customer with a fraud from trainFrom through trainTo+d.
	excluded := 0
	for _, tx := range test {
		d := int((tx.Day() - dayOf(testFrom)))
		for _, h := range txs {
			if h.Customer == tx.Customer && h.Fraud == 1 && h.Day() >= dayOf(trainFrom) && h.Day() <= dayOf(trainTo)+int64(d) {
				excluded++
				break
			}
		}
	}
	if excluded == 0 || res.Excluded != excluded {
		t.Errorf("excluded %d test rows, the definition gives %d", res.Excluded, excluded)
	}
	if res.AUC < 0.6 {
		t.Errorf("AUC %.3f on the fixture: the model learnt nothing", res.AUC)
	}
	// Labels no training row and no test-time feature may see: from 7 days
	// before the end of the test week on. Changing them changes nothing.
	flipped := slices.Clone(txs)
	limit := (dayOf(testTo)+1)*86400 - Delay
	for i := range flipped {
		if flipped[i].Time >= limit {
			flipped[i].Fraud = 1 - flipped[i].Fraud
		}
	}
	opt2 := opt
	res2, err := Holdout(flipped, opt2, testFrom, testTo)
	if err != nil {
		t.Fatal(err)
	}
	// Metrics use the (flipped) test labels; scores must not.
	if !slices.Equal(res.Scores, res2.Scores) {
		t.Error("scores depend on labels younger than 7 days")
	}
	// A training week whose labels are not known by the first test day is
	// refused.
	opt.TrainTo = testFrom.AddDate(0, 0, -3)
	if _, err := Holdout(txs, opt, testFrom, testTo); xiaobao.ErrorCode(err) != xiaobao.EINVALID {
		t.Errorf("training too close to the test: %v", err)
	}
}

func TestEvaluateWithTestFile(t *testing.T) {
	txs := fixture(t)
	trainFrom, trainTo, testFrom, _ := fixtureDates(txs)
	var hist, test []Tx
	for _, tx := range txs {
		if tx.Day() < dayOf(testFrom) {
			hist = append(hist, tx)
		} else {
			tx.Fraud = -1
			test = append(test, tx)
		}
	}
	opt := Options{TrainFrom: trainFrom, TrainTo: trainTo, Kind: "logistic"}
	res, err := Evaluate(hist, test, opt)
	if err != nil {
		t.Fatal(err)
	}
	if res.Labelled || len(res.Scores) != len(test) || res.AUC != 0 {
		t.Errorf("unlabelled test: labelled=%v scores=%d auc=%v", res.Labelled, len(res.Scores), res.AUC)
	}
	for _, s := range res.Scores {
		if !(s >= 0 && s <= 1) {
			t.Fatalf("score %v", s)
		}
	}
}

// TestHandbookFeatures checks the handbook's baseline features on a hand
// computed case and that they, too, never see a label younger than Delay.
func TestHandbookFeatures(t *testing.T) {
	t0 := time.Date(2018, 4, 2, 12, 0, 0, 0, time.UTC).Unix() // a Monday
	const h, d = 3600, 86400
	txs := []Tx{
		{Time: t0, Customer: 1, Terminal: 5, Amount: 10, Fraud: 1},
		{Time: t0 + 2*h, Customer: 1, Terminal: 5, Amount: 20, Fraud: 0},
		{Time: t0 + 2*d, Customer: 1, Terminal: 6, Amount: 30, Fraud: 0},
		{Time: t0 + 5*d - 10*h, Customer: 2, Terminal: 5, Amount: 40, Fraud: 0}, // Saturday 02:00
		{Time: t0 + 7*d + 3*h, Customer: 2, Terminal: 5, Amount: 50, Fraud: 0},
	}
	f := newFeaturizer()
	f.handbook = true
	n := len(HandbookFeatureNames)
	x := make([]float64, len(txs)*n)
	for i := range txs {
		f.next(&txs[i], true, x[i*n:(i+1)*n])
	}
	row := func(i int) []float64 { return x[i*n : (i+1)*n] }
	want := map[int][]float64{
		// amount, weekend, night, customer 1d n/avg, 7d n/avg, 30d n/avg, terminal 1d n/risk, 7d, 30d
		2: {30, 0, 0, 1, 30, 3, 20, 3, 20, 0, 0, 0, 0, 0, 0},
		3: {40, 1, 1, 1, 40, 1, 40, 1, 40, 0, 0, 0, 0, 0, 0},
		// 7 days 3 h after t0: the first two payments' labels are known,
		// both inside (t − 8d, t − 7d] and (t − 14d, t − 7d].
		4: {50, 0, 0, 1, 50, 2, 45, 2, 45, 2, 0.5, 2, 0.5, 2, 0.5},
	}
	for i, w := range want {
		if !slices.Equal(row(i), w) {
			t.Errorf("row %d: %v, want %v", i, row(i), w)
		}
	}
	// Labels younger than Delay change nothing.
	fx := fixture(t)
	opt := func(txs []Tx) []float64 {
		f := newFeaturizer()
		f.handbook = true
		out := make([]float64, len(txs)*n)
		for i := range txs {
			f.next(&txs[i], true, out[i*n:(i+1)*n])
		}
		return out
	}
	base := opt(fx)
	target := len(fx) - 1
	flipped := slices.Clone(fx)
	for i := range flipped {
		if flipped[i].Time > fx[target].Time-Delay {
			flipped[i].Fraud = 1 - flipped[i].Fraud
		}
	}
	if !slices.Equal(opt(flipped)[target*n:], base[target*n:]) {
		t.Error("handbook features changed with labels younger than 7 days")
	}
}
