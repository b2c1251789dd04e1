package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/xiaobao-org/xiaobao"
	replay "github.com/xiaobao-org/xiaobao/eval"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/model"
	"github.com/xiaobao-org/xiaobao/sim"
	// The package is named like the command function train.
	learn "github.com/xiaobao-org/xiaobao/train"
)

// train learns a fraud model from a labelled history, with Guard's own
// features at decision time, and writes the model file `serve --model`
// and PUT /v1/model take.
func train(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: xiaobao train [flags]

Learns a fraud model from a labelled history, replayed through Guard in event
time with the features Guard computes at decision time and outcomes fed after
the label delay. The history is cut in time: the model is fitted on the first
part, calibrated on the next and measured (AUC, average precision, against the
rule score alone) on the last. Without --events the history is simulated in
process (--customers, --days, --seed, ...).

Flags:
`)
		fs.PrintDefaults()
	}
	var sf simFlags
	sf.register(fs, 20000, 60)
	events := fs.String("events", "", "events `FILE` (NDJSON, as `xiaobao simulate` writes it); default: simulate in process")
	labels := fs.String("labels", "", "ground-truth labels `FILE` written by `xiaobao simulate --labels` (required with --events)")
	var packs listFlag
	fs.Var(&packs, "pack", "rule pack `FILE` the history is decided with, as on the server the model will serve beside (repeatable; \"builtin\" is the built-in pack; default: the built-in pack)")
	kind := fs.String("kind", string(model.KindGBDT), "model `KIND`: gbdt or logistic")
	calib := fs.String("calibration", learn.DefaultCalibration, "calibration `METHOD` fitted on the calibration slice: platt or isotonic")
	rounds := fs.Int("rounds", learn.DefaultGBDT.Rounds, "trees (gbdt)")
	features := fs.String("features", "", "comma-separated Guard feature `NAMES` (default: every numeric and boolean feature but the lists, customer.seen_days and event.weekday)")
	delay := fs.Duration("label-delay", replay.DefaultLabelDelay, "time from an event until its label is known, to training and to Guard's outcome features")
	calFrom := fs.String("calibrate-from", "", "`DATE` (YYYY-MM-DD, +08:00) the calibration slice starts; default: 60% into the history")
	testFrom := fs.String("test-from", "", "`DATE` (YYYY-MM-DD, +08:00) the test slice starts; default: 75% into the history")
	negRate := fs.Float64("negative-rate", learn.DefaultNegativeRate, "share of legitimate events kept for fitting (every scam event is kept)")
	name := fs.String("name", "", "model `NAME` (default guard-KIND)")
	out := fs.String("out", "", "write the model to `FILE` (default: report only)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return xiaobao.Errorf(xiaobao.EINVALID, "train: unexpected arguments %q", fs.Args())
	}
	if (*events == "") != (*labels == "") {
		return xiaobao.Errorf(xiaobao.EINVALID, "train: --events and --labels go together: the labels are the ground truth of the events")
	}
	if *rounds < 1 {
		return xiaobao.Errorf(xiaobao.EINVALID, "train: --rounds must be at least 1")
	}
	files := []string(packs)
	if len(files) == 0 {
		files = []string{builtinArg}
	}
	srcs := make([][]byte, len(files))
	for i, f := range files {
		if f == builtinArg {
			srcs[i] = guard.BuiltinPack()
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: --pack %s: %v", f, err)
		}
		srcs[i] = b
	}
	rs, err := replay.PackSet(files, srcs)
	if err != nil {
		return xiaobao.Errorf(xiaobao.EINVALID, "train: --pack: %v", err)
	}
	cfg := learn.Config{
		Ruleset: rs, Kind: model.Kind(*kind), Calibration: *calib, LabelDelay: *delay,
		NegativeRate: *negRate, Seed: sf.cfg.Seed, Name: *name,
	}
	cfg.GBDT = learn.DefaultGBDT
	cfg.GBDT.Rounds = *rounds
	if *features != "" {
		for _, f := range strings.Split(*features, ",") {
			cfg.Features = append(cfg.Features, strings.TrimSpace(f))
		}
	}

	var src replay.Source
	var first, last time.Time
	if *events != "" {
		if first, last, err = fileSpan(*events); err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: --events: %v", err)
		}
		ef, err := os.Open(*events)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: --events: %v", err)
		}
		defer ef.Close()
		lf, err := os.Open(*labels)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: --labels: %v", err)
		}
		defer lf.Close()
		src = replay.FileSource(ef, lf)
		cfg.Data = "history " + *events
	} else {
		sc, err := sf.config(time.Date(2026, 3, 1, 0, 0, 0, 0, cst))
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: %v", err)
		}
		s := sim.New(sc)
		sc = s.Config()
		first, last = sc.Start, sc.Start.AddDate(0, 0, sc.Days)
		src = replay.SimSource(s, 0)
		cfg.Data = fmt.Sprintf("simulated history (seed %d, %d customers, %d days from %s)", sc.Seed, sc.Customers, sc.Days, sc.Start.Format(time.DateOnly))
	}
	cfg.CalibrateFrom, cfg.TestFrom = learn.Cuts(first, last, learn.DefaultCalibrateAt, learn.DefaultTestAt)
	for _, c := range []struct {
		flag string
		v    string
		dst  *time.Time
	}{{"--calibrate-from", *calFrom, &cfg.CalibrateFrom}, {"--test-from", *testFrom, &cfg.TestFrom}} {
		if c.v == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, c.v, cst)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "train: %s: %v", c.flag, err)
		}
		*c.dst = t
	}

	rep, err := learn.Run(ctx, src, cfg)
	if err != nil {
		return err
	}
	writeTrainReport(stdout, rep)
	if *out != "" {
		if err := rep.Model.Save(*out); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		fmt.Fprintf(stdout, "\nmodel %q (%s, %d features) written to %s\n", rep.Model.Name, rep.Model.Kind, len(rep.Model.Features), *out)
	}
	return nil
}

func writeTrainReport(w io.Writer, rep *learn.Report) {
	day := func(t time.Time) string { return t.In(cst).Format("2006-01-02 15:04") }
	m := rep.Model
	fmt.Fprintf(w, "history: %d events, %s to %s (+08:00), trained in %.1f s\n", rep.Events, day(rep.From), day(rep.To), rep.Elapsed.Seconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "slice\tfrom\tto\trows\tscam\tlabel not yet known")
	fmt.Fprintf(tw, "fit\t%s\t%s\t%d\t%d\t%d\n", day(rep.Fit.From), day(rep.Fit.To), rep.Fit.Rows, rep.Fit.Positives, rep.Fit.Unknown)
	fmt.Fprintf(tw, "calibration (%s)\t%s\t%s\t%d\t%d\t%d\n", m.Calibration.Method, day(rep.Calibration.From), day(rep.Calibration.To), rep.Calibration.Rows, rep.Calibration.Positives, rep.Calibration.Unknown)
	fmt.Fprintf(tw, "test (events with an amount)\t%s\t%s\t%d\t%d\t\n", day(rep.Test.From), day(rep.Test.To), rep.Test.Rows, rep.Test.Positives)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "score on the test slice\tAUC\taverage precision\t")
	for _, q := range []struct {
		name string
		q    learn.Quality
	}{{"model (" + string(m.Kind) + ")", rep.ModelQuality}, {"rules alone", rep.Rules}, {"rules + model (Guard's score)", rep.Combined}} {
		fmt.Fprintf(tw, "%s\t%.3f\t%.3f\t\n", q.name, q.q.AUC, q.q.AP)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nfeatures that move the score most (mean |log-odds| on fitting rows):")
	for _, c := range rep.Importance[:min(10, len(rep.Importance))] {
		fmt.Fprintf(w, "  %-32s %.3f\n", c.Feature, c.Effect)
	}
}

// fileSpan returns the event times of the first and last lines of an NDJSON
// events file, from which the default cut points are placed; it reads the
// two ends only.
func fileSpan(path string) (first, last time.Time, err error) {
	f, err := os.Open(path)
	if err != nil {
		return first, last, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	line, err := r.ReadBytes('\n')
	if err != nil && len(strings.TrimSpace(string(line))) == 0 {
		return first, last, fmt.Errorf("no events")
	}
	ev, err := guard.DecodeEvent([]byte(strings.TrimSpace(string(line))))
	if err != nil {
		return first, last, fmt.Errorf("line 1: %w", err)
	}
	first = ev.OccurredAt
	fi, err := f.Stat()
	if err != nil {
		return first, last, err
	}
	const tail = 1 << 16
	off := max(fi.Size()-tail, 0)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && !errors.Is(err, io.EOF) {
		return first, last, err
	}
	lines := strings.Split(strings.TrimSpace(string(buf)), "\n")
	ev, err = guard.DecodeEvent([]byte(lines[len(lines)-1]))
	if err != nil {
		return first, last, fmt.Errorf("last line: %w", err)
	}
	return first, ev.OccurredAt, nil
}

// loadScorer reads a model file for `serve --model`: a model Guard cannot
// serve (a feature it does not compute, a broken tree) stops the start.
func loadScorer(path string) (*model.GuardScorer, error) {
	m, err := model.Load(path)
	if err != nil {
		return nil, err
	}
	sc, err := model.NewGuardScorer(m)
	if err != nil {
		return nil, fmt.Errorf("load model %s: %w", path, err)
	}
	return sc, nil
}
