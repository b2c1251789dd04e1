// Package faq is the Answer ability: retrieval over the firm's FAQ
// knowledge base (a standard question, its similar questions and the
// answer), robust to colloquial, misspelt, traditional and full-width
// Chinese, with a calibrated confidence and a fallback policy (clarify
// between the top two, then hand to a human) instead of a guess.
//
// The package holds logic only and does no I/O: the stores (sqlite/,
// postgres/) persist entries and synonyms, http/ exposes them.
package faq

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Entry is one FAQ entry: the standard question first, then similar
// questions, and the answer shown to the customer.
type Entry struct {
	ID        string   `json:"id"`
	Questions []string `json:"questions"`
	Answer    string   `json:"answer"`
	Category  string   `json:"category,omitempty"`
}

// Hit is one entry that may answer a text.
type Hit struct {
	FAQID string `json:"faq_id"`
	// Score is the calibrated probability that the entry answers the
	// text, 0..1.
	Score    float64 `json:"score"`
	Answer   string  `json:"answer"`
	Question string  `json:"question"` // the matched question
	Category string  `json:"category,omitempty"`
}

// Result is the answer to a text.
type Result struct {
	Hits []Hit `json:"hits"` // best first, at most k
	// Confident is true when the first hit may be shown without a human.
	Confident bool `json:"confident"`
	// Clarify is true when the top two are too close to choose: ask the
	// customer which one they mean. Neither Confident nor Clarify means
	// hand the text to a human.
	Clarify bool `json:"clarify"`
}

// Pair is a text matched to the FAQ entry that answers it: the firm's
// matched pairs, or answered sessions.
type Pair struct {
	Text  string `json:"text"`
	FAQID string `json:"faq_id"`
}

// Synonym is a canonical term of the trade and its variants
// (colloquial forms, misspellings, homophones). Texts are normalised by
// rewriting each variant to the term.
type Synonym struct {
	Term     string   `json:"term"`
	Variants []string `json:"variants"`
}

// Options configure a Base. The zero value is usable.
type Options struct {
	// Synonyms are added to the built-in list (DefaultSynonyms); a variant
	// given here overrides the built-in one.
	Synonyms []Synonym
	// Confident is the calibrated score the first hit needs to be shown
	// without a human (default DefaultConfident).
	Confident float64
	// Clarify is the score the first two hits each need for the customer
	// to be asked which one they mean, when the first is not confident
	// (default DefaultClarify).
	Clarify float64
	// NoLearn keeps the base from fitting the scorer on its own entries
	// (leave-one-out over similar questions) at each change; the default
	// weights are used instead. Learn still fits.
	NoLearn bool
	// RefitDelay, when positive, makes changes quick: the new index is
	// searched at once with the scorer of the previous content (the
	// default weights for the first content loaded; the features are
	// scaled alike whatever the base, so weights carry over), and the
	// scorer is fitted again in the background once no change came for
	// this long. On a 10,000-entry base that takes an edit, or the start
	// of a server, from about 4 s to the 1.4 s of indexing. Zero fits
	// before each change returns.
	RefitDelay time.Duration
}

// Defaults of Options.
const (
	DefaultConfident = 0.85
	DefaultClarify   = 0.25
)

// Base is the live knowledge base. It is safe for concurrent use: Search
// reads an immutable index that writers replace, so it never waits for
// them.
type Base struct {
	opts Options
	mu   sync.Mutex // serialises writers
	cur  atomic.Pointer[index]

	entries map[string]Entry // guarded by mu
	learned []Pair           // guarded by mu
	syn     []Synonym        // guarded by mu; the firm's synonyms
	fitted  bool             // guarded by mu; a scorer was fitted on this base's content
	refits  atomic.Int32     // background refits scheduled or running
}

// NewBase returns an empty knowledge base.
func NewBase(opts Options) *Base {
	if opts.Confident <= 0 {
		opts.Confident = DefaultConfident
	}
	if opts.Clarify <= 0 {
		opts.Clarify = DefaultClarify
	}
	b := &Base{opts: opts, entries: map[string]Entry{}, syn: slices.Clone(opts.Synonyms)}
	b.rebuild()
	return b
}

// Validate checks an entry: an id, at least one non-blank question and an
// answer.
func (e Entry) Validate() error {
	switch {
	case strings.TrimSpace(e.ID) == "":
		return &FieldError{Field: "id", Reason: "required"}
	case len(e.ID) > 200:
		return &FieldError{Field: "id", Reason: "longer than 200 bytes"}
	case len(e.Questions) == 0:
		return &FieldError{Field: "questions", Reason: "at least one question is required"}
	case strings.TrimSpace(e.Answer) == "":
		return &FieldError{Field: "answer", Reason: "required"}
	}
	for i, q := range e.Questions {
		if strings.TrimSpace(q) == "" {
			return &FieldError{Field: fmt.Sprintf("questions[%d]", i), Reason: "blank question"}
		}
	}
	return nil
}

// FieldError is an invalid field of an entry.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Upsert adds entries or replaces those with the same id. Nothing is
// changed if any entry is invalid.
func (b *Base) Upsert(entries ...Entry) error {
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("faq: entry %d (%q): %w", i, e.ID, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, e := range entries {
		e.Questions = slices.Clone(e.Questions)
		b.entries[e.ID] = e
	}
	b.rebuild()
	return nil
}

// Replace makes entries the whole content of the base.
func (b *Base) Replace(entries []Entry) error {
	for i, e := range entries {
		if err := e.Validate(); err != nil {
			return fmt.Errorf("faq: entry %d (%q): %w", i, e.ID, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.entries = make(map[string]Entry, len(entries))
	for _, e := range entries {
		e.Questions = slices.Clone(e.Questions)
		b.entries[e.ID] = e
	}
	b.rebuild()
	return nil
}

// Delete removes an entry and reports whether it was there.
func (b *Base) Delete(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.entries[id]; !ok {
		return false
	}
	delete(b.entries, id)
	b.rebuild()
	return true
}

// Entry returns one entry.
func (b *Base) Entry(id string) (Entry, bool) {
	ix := b.cur.Load()
	i, ok := ix.byID[id]
	if !ok {
		return Entry{}, false
	}
	e := ix.entries[i]
	e.Questions = slices.Clone(e.Questions)
	return e, true
}

// Entries returns every entry, sorted by id.
func (b *Base) Entries() []Entry {
	ix := b.cur.Load()
	out := make([]Entry, len(ix.entries))
	for i, e := range ix.entries {
		e.Questions = slices.Clone(e.Questions)
		out[i] = e
	}
	return out
}

// Len is the number of entries.
func (b *Base) Len() int { return len(b.cur.Load().entries) }

// SetSynonyms replaces the firm's synonyms (the built-in list stays).
func (b *Base) SetSynonyms(syn []Synonym) error {
	for i, s := range syn {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("faq: synonym %d: %w", i, err)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.syn = slices.Clone(syn)
	b.rebuild()
	return nil
}

// Synonyms returns the firm's synonyms (not the built-in list).
func (b *Base) Synonyms() []Synonym {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.syn)
}

// Validate checks a synonym group: a term and at least one variant, none
// blank.
func (s Synonym) Validate() error {
	if Normalize(s.Term) == "" {
		return &FieldError{Field: "term", Reason: "required"}
	}
	if len(s.Variants) == 0 {
		return &FieldError{Field: "variants", Reason: "at least one variant is required"}
	}
	for i, v := range s.Variants {
		if Normalize(v) == "" {
			return &FieldError{Field: fmt.Sprintf("variants[%d]", i), Reason: "blank variant"}
		}
	}
	return nil
}

// Normalize is the package Normalize with the firm's synonyms too.
func (b *Base) Normalize(s string) string {
	return string(b.cur.Load().norm.runes(s))
}

// Learn adds the firm's matched pairs (or answered sessions) to what the
// base knows: each text becomes a hidden similar question of its entry,
// and the scorer is fitted again. Pairs naming an unknown entry are kept
// for when it is imported.
func (b *Base) Learn(pairs []Pair) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, p := range pairs {
		if strings.TrimSpace(p.Text) == "" || p.FAQID == "" {
			continue
		}
		b.learned = append(b.learned, p)
	}
	b.rebuild()
}

// SetLearned replaces what Learn added with pairs (the store's active
// examples) and fits the scorer again.
func (b *Base) SetLearned(pairs []Pair) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.learned = b.learned[:0]
	for _, p := range pairs {
		if strings.TrimSpace(p.Text) != "" && p.FAQID != "" {
			b.learned = append(b.learned, p)
		}
	}
	b.rebuild()
}

// Learned is the number of learned pairs.
func (b *Base) Learned() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.learned)
}

// Has reports whether the base holds an entry.
func (b *Base) Has(id string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	_, ok := b.entries[id]
	return ok
}

// Search ranks the entries for a text and decides what to do with the
// result: show the first, ask between the first two, or hand over.
func (b *Base) Search(text string, k int) Result {
	return b.cur.Load().search(text, k, b.opts)
}

// rebuild makes a new index from the current content and publishes it.
// The caller holds mu.
func (b *Base) rebuild() {
	entries := make([]Entry, 0, len(b.entries))
	for _, e := range b.entries {
		entries = append(entries, e)
	}
	slices.SortFunc(entries, func(x, y Entry) int { return strings.Compare(x.ID, y.ID) })
	ix := build(entries, b.learned, newNormalizer(b.syn))
	if b.opts.NoLearn && len(b.learned) == 0 {
		b.cur.Store(ix)
		return
	}
	prev := b.cur.Load()
	if b.opts.RefitDelay <= 0 || prev == nil || !b.fitted {
		ix.fit()
		b.fitted = true
		b.cur.Store(ix)
		return
	}
	ix.model.Store(prev.model.Load())
	b.cur.Store(ix)
	b.refits.Add(1)
	time.AfterFunc(b.opts.RefitDelay, func() {
		defer b.refits.Add(-1)
		if b.cur.Load() != ix {
			return // a later change has its own refit coming
		}
		s := ix.fitScorer()
		if s == nil {
			s = defaultScorer()
		}
		ix.model.Store(s)
	})
}

// Refitting reports whether a background refit is scheduled or running
// (Options.RefitDelay).
func (b *Base) Refitting() bool { return b.refits.Load() > 0 }
