//go:build race

package storetest

// raceEnabled scales the volume tests down under the race detector, which
// slows the transpiled SQLite about tenfold; it checks concurrency, for
// which the volume adds nothing.
const raceEnabled = true
