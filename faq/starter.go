package faq

import (
	"bytes"
	_ "embed"
	"fmt"
)

//go:embed starter.ndjson
var starterNDJSON []byte

// Starter returns the embedded starter bank: FAQ entries for a consumer
// lender, written in Simplified Chinese by the xiaobao authors (no
// third-party data), for a firm to edit or replace.
func Starter() []Entry {
	entries, errs := ParseNDJSON(bytes.NewReader(starterNDJSON))
	if len(errs) > 0 {
		panic(fmt.Sprintf("faq: starter bank: %v", errs[0]))
	}
	return entries
}
