package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/fdh"
	"github.com/xiaobao-org/xiaobao/model"
)

const evalFDHUsage = `Usage:
  xiaobao eval fdh --history FILE.csv.gz --test FILE.csv.gz [--train-from D --train-to D] --scores OUT.csv
  xiaobao eval fdh --history FILE.csv.gz --holdout [--train-from D --train-to D --test-from D --test-to D]

Learns from the history file only, under the Fraud Detection Handbook's protocol
(labels known 7 days after the transaction), and scores the test file or a held-out
week of the history. See docs/fdh.md.

Flags:
`

// evalFDH runs `xiaobao eval fdh`.
func evalFDH(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("eval fdh", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, evalFDHUsage)
		fs.PrintDefaults()
	}
	history := fs.String("history", "", "labelled history `FILE` (handbook CSV, gzip allowed)")
	test := fs.String("test", "", "test `FILE` to score (label columns, if any, are used for metrics only)")
	holdout := fs.Bool("holdout", false, "without --test: hold out --test-from…--test-to of the history")
	trainFrom := fs.String("train-from", "", "first training day, YYYY-MM-DD (default 2018-07-25, or 2018-07-04 with --holdout)")
	trainTo := fs.String("train-to", "", "last training day (default 2018-07-31, or 2018-07-10 with --holdout)")
	testFrom := fs.String("test-from", "2018-07-18", "first held-out day (--holdout)")
	testTo := fs.String("test-to", "2018-07-24", "last held-out day (--holdout)")
	scoresOut := fs.String("scores", "", "write TRANSACTION_ID,score for every test row to `FILE`")
	modelOut := fs.String("model", "", "save the trained model to `FILE` (JSON)")
	kind := fs.String("kind", "gbdt", "model: gbdt or logistic")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "eval fdh: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return errUsage
	}
	if *history == "" || (*test == "") == !*holdout {
		fmt.Fprintln(stderr, "eval fdh: need --history and exactly one of --test or --holdout")
		fs.Usage()
		return errUsage
	}
	defFrom, defTo := "2018-07-25", "2018-07-31"
	if *holdout {
		defFrom, defTo = "2018-07-04", "2018-07-10"
	}
	dates := map[string]*string{"train-from": trainFrom, "train-to": trainTo, "test-from": testFrom, "test-to": testTo}
	parsed := map[string]time.Time{}
	for name, v := range dates {
		s := *v
		if s == "" && name == "train-from" {
			s = defFrom
		} else if s == "" && name == "train-to" {
			s = defTo
		}
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "--%s %q: want YYYY-MM-DD", name, s)
		}
		parsed[name] = t
	}
	if *kind != string(model.KindGBDT) && *kind != string(model.KindLogistic) {
		return xiaobao.Errorf(xiaobao.EINVALID, "--kind %q: want gbdt or logistic", *kind)
	}
	opt := fdh.Options{TrainFrom: parsed["train-from"], TrainTo: parsed["train-to"], Kind: model.Kind(*kind)}

	start := time.Now()
	hist, err := fdh.LoadFile(*history)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	var testTx []fdh.Tx
	var res *fdh.Result
	if *holdout {
		res, err = fdh.Holdout(hist, opt, parsed["test-from"], parsed["test-to"])
	} else {
		if testTx, err = fdh.LoadFile(*test); err != nil {
			return err
		}
		res, err = fdh.Evaluate(hist, testTx, opt)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "model %s: %d training rows, %d test rows (%d of customers already known compromised, left out of the metrics)\n",
		res.Model.Name, res.TrainRows, res.TestRows, res.Excluded)
	if res.Labelled {
		fmt.Fprintf(stdout, "\n%-24s %8s %8s %8s\n", "model", "AUC ROC", "AP", "CP@100")
		fmt.Fprintf(stdout, "%-24s %8.3f %8.3f %8.3f\n", "xiaobao "+*kind, res.AUC, res.AP, res.CP100)
		for _, b := range fdh.Baselines {
			fmt.Fprintf(stdout, "%-24s %8.3f %8.3f %8.3f\n", b.Model, b.AUC, b.AP, b.CP100)
		}
		fmt.Fprintln(stdout, "(baselines: the handbook's test week 2018-08-08…08-14)")
		fmt.Fprintf(stdout, "card precision@100 per day: %v\n", res.CPPerDay)
	}
	if len(res.Importance) > 0 {
		fmt.Fprint(stdout, "\nfeatures that moved scores most (mean |log-odds|):")
		for _, c := range res.Importance[:min(8, len(res.Importance))] {
			fmt.Fprintf(stdout, " %s %.3f;", c.Feature, c.Effect)
		}
		fmt.Fprintln(stdout)
	}
	if *scoresOut != "" {
		if err := writeScores(*scoresOut, testTx, hist, res, *holdout, parsed["test-from"], parsed["test-to"]); err != nil {
			return err
		}
	}
	if *modelOut != "" {
		res.Model.Training.TrainedAt = time.Now().UTC().Format(time.RFC3339)
		if err := res.Model.Save(*modelOut); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "done in %.1fs\n", time.Since(start).Seconds())
	return nil
}

// writeScores writes one line per test row, in the test file's order (for
// --holdout, the held-out rows of the history in file order).
func writeScores(path string, test, hist []fdh.Tx, res *fdh.Result, holdout bool, from, to time.Time) error {
	if holdout {
		d0, d1 := from.Unix()/86400, to.Unix()/86400
		for i := range hist {
			if d := hist[i].Day(); d >= d0 && d <= d1 {
				test = append(test, hist[i])
			}
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write scores: %w", err)
	}
	w := bufio.NewWriter(f)
	w.WriteString("TRANSACTION_ID,score\n")
	var b []byte
	for i := range test {
		b = strconv.AppendInt(b[:0], test[i].ID, 10)
		b = append(b, ',')
		b = strconv.AppendFloat(b, res.Scores[i], 'g', 8, 64)
		b = append(b, '\n')
		w.Write(b)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write scores %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write scores %s: %w", path, err)
	}
	return nil
}
