//go:build race

package faq

// raceEnabled: under the race detector (CI) the shared-data evaluations
// run on a fixed subsample, and fits on fewer texts, to stay within the
// test time budget.
const raceEnabled = true

func init() { maxFitQueries = 800 }
