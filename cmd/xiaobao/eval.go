package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/xiaobao-org/xiaobao"
	// The package is named like the command function eval, which main.go
	// dispatches to.
	replay "github.com/xiaobao-org/xiaobao/eval"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// builtinArg names the built-in pack where a pack file is expected.
const builtinArg = "builtin"

// eval replays a labelled history (files written by `xiaobao simulate`, or
// a simulation run in process) through Guard and reports detection, losses
// avoided, the cost to legitimate customers and the score's quality; with
// --compare it evaluates a second pack set on the same history beside the
// first.
func eval(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// `xiaobao eval fdh ...` (the FDH data set evaluation) is dispatched
	// here once cmd/xiaobao/eval_fdh.go exists:
	if len(args) > 0 && args[0] == "fdh" {
		return evalFDH(ctx, args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, `usage: xiaobao eval [flags]

Replays a labelled history through Guard in event time, as the server would
decide it, and reports detection by ladder step and typology, losses avoided,
the friction legitimate customers met, holds per confirmed scam, the score's
AUC and average precision, and every rule's hits. Without --events the
history is simulated in process (--customers, --days, --seed, ...).

Flags:
`)
		fs.PrintDefaults()
	}
	var sf simFlags
	sf.register(fs, 20000, 60)
	events := fs.String("events", "", "events `FILE` (NDJSON in the Guard contract, as `xiaobao simulate` writes it); default: simulate in process")
	labels := fs.String("labels", "", "ground-truth labels `FILE` written by `xiaobao simulate --labels`, one line per event (required with --events)")
	limit := fs.Int("limit", 0, "stop after this many events (0: all)")
	var packs, compare listFlag
	fs.Var(&packs, "pack", "rule pack `FILE` of the evaluated pack set (repeatable; \"builtin\" is the built-in pack; default: the built-in pack)")
	withBuiltin := fs.Bool("builtin", false, "add the built-in pack to the --pack set, as a server with both active")
	fs.Var(&compare, "compare", "rule pack `FILE` of a second pack set to compare on the same history (repeatable; \"builtin\" is the built-in pack)")
	modelFile := fs.String("model", "", "also score the --pack set with the trained model `FILE` (xiaobao train --out), as serve --model does")
	compareModel := fs.String("compare-model", "", "score the compared set with the model `FILE`; without --compare, the --pack set again with this model")
	delay := fs.Duration("label-delay", replay.DefaultLabelDelay, "time from a decision until its outcome (confirmed fraud, false alarm) reaches Guard; negative: never")
	jsonOut := fs.String("json", "", "also write the result as JSON to `FILE` (- for standard output, replacing the tables)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		return xiaobao.Errorf(xiaobao.EINVALID, "eval: unexpected arguments %q", fs.Args())
	}
	if *limit < 0 {
		return xiaobao.Errorf(xiaobao.EINVALID, "eval: --limit must not be negative")
	}
	if (*events == "") != (*labels == "") {
		return xiaobao.Errorf(xiaobao.EINVALID, "eval: --events and --labels go together: the labels are the ground truth of the events")
	}

	a := []string(packs)
	if len(a) == 0 || *withBuiltin {
		a = append([]string{builtinArg}, a...)
	}
	specs := []replay.RunSpec{}
	for i, set := range [][]string{a, compare} {
		mf := *modelFile
		if i == 1 {
			if len(set) == 0 && *compareModel == "" {
				break
			}
			if len(set) == 0 {
				set = a // the same packs, another model
			}
			mf = *compareModel
		}
		flagName := "--pack"
		if i == 1 {
			flagName = "--compare"
		}
		rs, name, err := loadPackSet(flagName, set)
		if err != nil {
			return err
		}
		spec := replay.RunSpec{Name: name, Ruleset: rs}
		if mf != "" {
			sc, err := loadScorer(mf)
			if err != nil {
				return err
			}
			spec.Scorer = sc
			spec.Name += " + " + filepath.Base(mf)
		}
		specs = append(specs, spec)
	}

	cfg := replay.Config{Runs: specs, LabelDelay: *delay}
	var src replay.Source
	if *events != "" {
		ef, err := os.Open(*events)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "eval: --events: %v", err)
		}
		defer ef.Close()
		lf, err := os.Open(*labels)
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "eval: --labels: %v", err)
		}
		defer lf.Close()
		src = replay.FileSource(ef, lf)
		cfg.Source = *events
	} else {
		sc, err := sf.config(time.Date(2026, 3, 1, 0, 0, 0, 0, cst))
		if err != nil {
			return xiaobao.Errorf(xiaobao.EINVALID, "eval: %v", err)
		}
		s := sim.New(sc)
		sc = s.Config()
		cfg.Sim = &sc
		cfg.Source = fmt.Sprintf("simulated (seed %d, %d customers, %d days)", sc.Seed, sc.Customers, sc.Days)
		src = replay.SimSource(s, *limit)
	}
	if *limit > 0 && *events != "" {
		src = &limitSource{src: src, left: *limit}
	}
	res, err := replay.Run(ctx, src, cfg)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	if *jsonOut == "-" {
		return replay.WriteJSON(stdout, res)
	}
	if *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return fmt.Errorf("eval: --json: %w", err)
		}
		if err := replay.WriteJSON(f, res); err != nil {
			f.Close()
			return fmt.Errorf("eval: write %s: %w", *jsonOut, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("eval: write %s: %w", *jsonOut, err)
		}
	}
	return replay.WriteText(stdout, res)
}

// loadPackSet reads the pack files of one set; "builtin" is the built-in pack.
func loadPackSet(flagName string, files []string) (*guard.Ruleset, string, error) {
	srcs := make([][]byte, len(files))
	for i, f := range files {
		if f == builtinArg {
			srcs[i] = guard.BuiltinPack()
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, "", xiaobao.Errorf(xiaobao.EINVALID, "eval: %s %s: %v", flagName, f, err)
		}
		srcs[i] = b
	}
	rs, err := replay.PackSet(files, srcs)
	if err != nil {
		return nil, "", xiaobao.Errorf(xiaobao.EINVALID, "eval: %s: %v", flagName, err)
	}
	return rs, strings.Join(files, "+"), nil
}

type limitSource struct {
	src  replay.Source
	left int
}

func (l *limitSource) Next() (*guard.Event, *sim.Label, error) {
	if l.left <= 0 {
		return nil, nil, io.EOF
	}
	l.left--
	return l.src.Next()
}
