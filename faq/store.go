package faq

import (
	"context"
	"time"
)

// Revision is one version of an entry in its history: what it became
// (or that it was deleted), who changed it and when.
type Revision struct {
	ID      string    `json:"id"`
	Version int       `json:"version"`         // 1, 2, … per id
	Entry   *Entry    `json:"entry,omitempty"` // nil when Deleted
	Deleted bool      `json:"deleted,omitempty"`
	By      string    `json:"by"`
	At      time.Time `json:"at"`
}

// SynonymRevision is one version of the firm's synonym list.
type SynonymRevision struct {
	Version  int       `json:"version"`
	Synonyms []Synonym `json:"synonyms"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// Store persists the knowledge base: the entries with their history, and
// the firm's synonyms. The sqlite and postgres packages implement it.
type Store interface {
	// FAQs returns every live entry, sorted by id.
	FAQs(ctx context.Context) ([]Entry, error)
	// PutFAQs adds or replaces entries in one transaction, each a new
	// revision by the given user (an unchanged entry adds none). It
	// returns how many entries changed.
	PutFAQs(ctx context.Context, entries []Entry, by string, at time.Time) (int, error)
	// DeleteFAQ removes an entry, recording a deleted revision; it
	// reports whether the entry was live.
	DeleteFAQ(ctx context.Context, id, by string, at time.Time) (bool, error)
	// FAQHistory returns an entry's revisions, oldest first; none for an
	// unknown id.
	FAQHistory(ctx context.Context, id string) ([]Revision, error)
	// FAQSynonyms returns the firm's synonyms.
	FAQSynonyms(ctx context.Context) ([]Synonym, error)
	// PutFAQSynonyms replaces the firm's synonyms, as a new version.
	PutFAQSynonyms(ctx context.Context, syn []Synonym, by string, at time.Time) error
	// FAQSynonymHistory returns every version of the synonyms, oldest
	// first.
	FAQSynonymHistory(ctx context.Context) ([]SynonymRevision, error)

	// AddFAQExamples stores examples in one transaction. One already
	// stored (same id) has its count raised by the new one's and its
	// updated time set, and becomes active if the new one is; it keeps
	// its first source, By and time. It returns how many were new.
	AddFAQExamples(ctx context.Context, ex []Example) (int, error)
	// FAQExamples returns the examples with a status ("" for all), the
	// most recently updated first; limit 0 means all.
	FAQExamples(ctx context.Context, status string, limit int) ([]Example, error)
	// FAQExample returns one example, ENOTFOUND if none.
	FAQExample(ctx context.Context, id string) (*Example, error)
	// AcceptFAQExample makes an example active, vouched for by by
	// (ENOTFOUND if none); it reports whether it changed.
	AcceptFAQExample(ctx context.Context, id, by string, at time.Time) (bool, error)
	// DeleteFAQExample removes an example; it reports whether one was.
	DeleteFAQExample(ctx context.Context, id string) (bool, error)
}

// Load fills a base from a store: its synonyms, entries (or the starter
// bank when the store holds no entry; it is not written to the store)
// and active examples.
func Load(ctx context.Context, st Store, b *Base) (starter bool, err error) {
	syn, err := st.FAQSynonyms(ctx)
	if err != nil {
		return false, err
	}
	entries, err := st.FAQs(ctx)
	if err != nil {
		return false, err
	}
	if len(entries) == 0 {
		entries, starter = Starter(), true
	}
	ex, err := st.FAQExamples(ctx, ExampleActive, 0)
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.learned = Pairs(ex)
	b.syn = syn
	b.entries = make(map[string]Entry, len(entries))
	for _, e := range entries {
		b.entries[e.ID] = e
	}
	b.rebuild()
	return starter, nil
}
