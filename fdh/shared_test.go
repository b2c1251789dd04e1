package fdh

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao/model"
)

func sharedData(t *testing.T) string {
	dir := os.Getenv("XIAOBAO_SHARED_DATA")
	if dir == "" {
		if _, err := os.Stat("../../shared/data/fdh"); err == nil {
			dir = "../../shared/data"
		}
	}
	path := filepath.Join(dir, "fdh", "transactions-2018-04-01_2018-08-07.csv.gz")
	if _, err := os.Stat(path); dir == "" || err != nil {
		t.Skip("handbook data not found: set XIAOBAO_SHARED_DATA to the shared data directory (../shared/data)")
	}
	return path
}

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

// cardCeilings returns card precision@100 on the test days with the
// README's exclusion for two oracles that read the true labels and
// scenarios (an analysis of the week, never an input of a model): scores
// = labels (the ceiling), and scores = 1 only for the frauds that some
// legitimate information can reveal (the reachable ceiling): scenario 1
// and 3 frauds (their amount), and scenario-2 frauds on a terminal with a
// scenario-2 fraud at least Delay old within the last 28 days. A terminal
// compromised less than 7 days ago looks exactly as before (the
// generator only flips labels) and no label of it is known yet.
func cardCeilings(txs []Tx, trainFrom, testFrom, testTo time.Time) (ceiling, reachable float64) {
	t0, d0, d1 := dayOf(trainFrom), dayOf(testFrom), dayOf(testTo)
	s2 := map[int32][]int64{}
	first := map[int32]int64{}
	var all, vis []model.CardRow
	for i := range txs {
		tx := &txs[i]
		d := tx.Day()
		if d > d1 {
			break
		}
		if fd, ok := first[tx.Customer]; d >= d0 && (!ok || fd > d-8) {
			fraud := tx.Fraud == 1
			seen := fraud && tx.Scenario != 2
			for _, ft := range s2[tx.Terminal] {
				seen = seen || (fraud && ft <= tx.Time-Delay && ft > tx.Time-28*86400)
			}
			row := model.CardRow{Day: int(d), Card: int64(tx.Customer), Fraud: fraud}
			if fraud {
				row.Score = 1
			}
			all = append(all, row)
			row.Score = 0
			if seen {
				row.Score = 1
			}
			vis = append(vis, row)
		}
		if tx.Scenario == 2 {
			s2[tx.Terminal] = append(s2[tx.Terminal], tx.Time)
		}
		if tx.Fraud == 1 && d >= t0 && d < d0 {
			if _, ok := first[tx.Customer]; !ok {
				first[tx.Customer] = d
			}
		}
	}
	ceiling, _ = model.CardPrecisionAtK(all, 100)
	reachable, _ = model.CardPrecisionAtK(vis, 100)
	return ceiling, reachable
}

// TestHoldoutBeatsBaselines runs the protocol on a held-out week of the
// history (train 07-04…07-10, test 07-18…07-24). It checks that xiaobao's
// GBDT beats every published AUC and average precision, and beats on every
// metric the handbook's own logistic regression (its 15 features, rebuilt
// here) run on the same week; card precision@100 is held to the week's
// reachable ceiling, since the published 0.291 is above it (docs/fdh.md).
func TestHoldoutBeatsBaselines(t *testing.T) {
	path := sharedData(t)
	start := time.Now()
	txs, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d transactions in %v", len(txs), time.Since(start))
	if len(txs) != 1236698 {
		t.Fatalf("%d transactions, the README says 1,236,698", len(txs))
	}
	trainFrom, trainTo, testFrom, testTo := date("2018-07-04"), date("2018-07-10"), date("2018-07-18"), date("2018-07-24")
	ceiling, reachable := cardCeilings(txs, trainFrom, testFrom, testTo)
	t.Logf("card precision@100 ceiling %.4f, reachable without look-ahead %.4f", ceiling, reachable)
	hb, err := Holdout(txs, Options{TrainFrom: trainFrom, TrainTo: trainTo, Kind: model.KindLogistic, Features: FeaturesHandbook}, testFrom, testTo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("handbook logistic regression, same week: AUC %.4f AP %.4f CP@100 %.4f %v in %v", hb.AUC, hb.AP, hb.CP100, hb.CPPerDay, hb.Elapsed)
	res, err := Holdout(txs, Options{TrainFrom: trainFrom, TrainTo: trainTo}, testFrom, testTo)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("gbdt: AUC %.4f AP %.4f CP@100 %.4f %v (train %d, test %d, excluded %d) in %v", res.AUC, res.AP, res.CP100, res.CPPerDay, res.TrainRows, res.TestRows, res.Excluded, res.Elapsed)
	for _, c := range res.Importance[:10] {
		t.Logf("  %-28s %.4f", c.Feature, c.Effect)
	}
	for _, b := range Baselines {
		if res.AUC <= b.AUC || res.AP <= b.AP {
			t.Errorf("does not beat %s (AUC %.3f AP %.3f)", b.Model, b.AUC, b.AP)
		}
	}
	if res.AUC <= hb.AUC || res.AP <= hb.AP || res.CP100 <= hb.CP100 {
		t.Errorf("does not beat the handbook's logistic regression on the same week (AUC %.3f AP %.3f CP@100 %.3f)", hb.AUC, hb.AP, hb.CP100)
	}
	// 0.291 is out of reach on this week: reachable is 0.274 (192 of the
	// 700 top-100 places), the published best is 73% of its week's 0.40
	// ceiling. Hold the model to 97% of what it can reach.
	if res.CP100 < 0.97*reachable {
		t.Errorf("card precision@100 %.3f is below 97%% of the reachable %.3f", res.CP100, reachable)
	}
}
