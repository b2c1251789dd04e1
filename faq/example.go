package faq

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Learning from outside the entries. An example is a text known to ask
// a given entry, which the base learns as a hidden similar question
// (Base.SetLearned): the firm's matched pairs, imported by staff, and
// the texts of answered sessions where the customer said an answer
// helped. Customers' texts become pending examples: a person accepts
// them before the bot learns from them, because a knowledge base is
// content the firm answers for (and a stream of clicks can be gamed).

// Example sources.
const (
	SourcePair     = "pair"     // a matched pair staff imported
	SourceFeedback = "feedback" // a customer said the answer helped
)

// Example statuses.
const (
	ExampleActive  = "active"  // learned by the base
	ExamplePending = "pending" // waiting for a person to accept it
)

// MaxExampleRunes bounds an example's text.
const MaxExampleRunes = 500

// Example is a text matched to the entry that answers it.
type Example struct {
	// ID is derived from the normalised text and the entry
	// (ExampleID), so the same example sent twice is one.
	ID     string `json:"id"`
	Text   string `json:"text"` // redacted
	FAQID  string `json:"faq_id"`
	Source string `json:"source"`
	Status string `json:"status"`
	// Count is how many times it was given (feedback from distinct
	// turns, or imports).
	Count int `json:"count"`
	// By vouches for it: the staff member who imported it, or who
	// accepted a customer's text ("session:<id>" until then).
	By        string    `json:"by"`
	At        time.Time `json:"at"` // first given
	UpdatedAt time.Time `json:"updated_at"`
}

// ExampleID is the id of the example text → faqID: texts that normalise
// alike are the same example.
func ExampleID(text, faqID string) string {
	h := sha256.Sum256([]byte(Normalize(text) + "\x00" + faqID))
	return "ex_" + hex.EncodeToString(h[:10])
}

// ValidateExample checks the text and entry of an example.
func ValidateExample(text, faqID string) *FieldError {
	switch {
	case strings.TrimSpace(text) == "":
		return &FieldError{Field: "text", Reason: "required"}
	case !utf8.ValidString(text) || strings.ContainsRune(text, 0):
		return &FieldError{Field: "text", Reason: "must be valid UTF-8 without NUL characters"}
	case utf8.RuneCountInString(text) > MaxExampleRunes:
		return &FieldError{Field: "text", Reason: "longer than 500 characters"}
	case Normalize(text) == "":
		return &FieldError{Field: "text", Reason: "has no words (only punctuation, spaces or politeness)"}
	case strings.TrimSpace(faqID) == "":
		return &FieldError{Field: "faq_id", Reason: "required"}
	case len(faqID) > 200:
		return &FieldError{Field: "faq_id", Reason: "longer than 200 bytes"}
	}
	return nil
}

// Pairs returns the active examples as pairs for Base.SetLearned.
func Pairs(examples []Example) []Pair {
	var out []Pair
	for _, e := range examples {
		if e.Status == ExampleActive {
			out = append(out, Pair{Text: e.Text, FAQID: e.FAQID})
		}
	}
	return out
}

// wirePair is an NDJSON line of matched pairs as sent.
type wirePair struct {
	Text  *string `json:"text"`
	FAQID *string `json:"faq_id"`
}

// ParsePairsNDJSON reads the firm's matched pairs, one JSON object a
// line: {"text": "...", "faq_id": "..."}. It reports bad lines as
// ParseNDJSON does and returns the good ones in order, with their line
// numbers in lines.
func ParsePairsNDJSON(r io.Reader) (pairs []Pair, lines []int, errs []LineError) {
	if lerr := eachLine(r, func(line int, raw []byte) {
		if p, lerr := parsePairLine(raw); lerr != nil {
			lerr.Line = line
			errs = append(errs, *lerr)
		} else if p != nil {
			pairs = append(pairs, *p)
			lines = append(lines, line)
		}
	}); lerr != nil {
		errs = append(errs, *lerr)
	}
	return pairs, lines, errs
}

func parsePairLine(raw []byte) (*Pair, *LineError) {
	if string(raw) == tooLong {
		return nil, &LineError{Reason: errLineTooLong.Error()}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	if !utf8.Valid(raw) {
		return nil, &LineError{Reason: "not valid UTF-8"}
	}
	var w wirePair
	if lerr := decodeLine(raw, &w); lerr != nil {
		return nil, lerr
	}
	if w.Text == nil {
		return nil, &LineError{Field: "text", Reason: "required"}
	}
	if w.FAQID == nil {
		return nil, &LineError{Field: "faq_id", Reason: "required"}
	}
	p := Pair{Text: strings.TrimSpace(*w.Text), FAQID: strings.TrimSpace(*w.FAQID)}
	if fe := ValidateExample(p.Text, p.FAQID); fe != nil {
		return nil, &LineError{Field: fe.Field, Reason: fe.Reason}
	}
	return &p, nil
}

// FeedbackExample is the pending example a customer's helpful verdict
// makes of their (redacted) text.
func FeedbackExample(text, faqID, sessionID string, at time.Time) Example {
	return Example{ID: ExampleID(text, faqID), Text: text, FAQID: faqID, Source: SourceFeedback, Status: ExamplePending,
		Count: 1, By: "session:" + sessionID, At: at, UpdatedAt: at}
}
