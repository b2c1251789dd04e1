package service

import (
	"fmt"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
)

// Guide is a step-by-step service guide (how to repay early, how to
// dispute a charge) that an answer can launch. Every edit is a new
// version; deleting is a version too, so the history stays whole.
type Guide struct {
	ID       string `json:"id"`
	Version  int    `json:"version"`
	Title    string `json:"title"`
	Category string `json:"category,omitempty"`
	// FAQIDs are the FAQ entries whose answers launch this guide.
	FAQIDs    []string  `json:"faq_ids"`
	Steps     []Step    `json:"steps"`
	Deleted   bool      `json:"deleted,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment,omitempty"`
}

// Step is one step of a guide.
type Step struct {
	Title string `json:"title"`
	Body  string `json:"body"`
	// Action optionally names an in-app action the channel can offer as
	// a button (e.g. "open:repayment/early").
	Action string `json:"action,omitempty"`
}

// GuideRef is a guide as an answer shows it.
type GuideRef struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Version int    `json:"version"`
	Steps   int    `json:"steps"`
}

// ValidateGuide names every bad field of g.
func ValidateGuide(g *Guide) []xiaobao.FieldError {
	var fe []xiaobao.FieldError
	bad := func(f, r string) { fe = append(fe, xiaobao.FieldError{Field: f, Reason: r}) }
	if !namePattern(g.ID) {
		bad("id", "must be 1-64 characters of letters, digits, '_', '-', '.'")
	}
	if g.Title == "" || utf8.RuneCountInString(g.Title) > 100 {
		bad("title", "must be 1-100 characters")
	}
	if len(g.Category) > 64 {
		bad("category", "must be at most 64 bytes")
	}
	if len(g.FAQIDs) > 50 {
		bad("faq_ids", "must list at most 50 FAQ ids")
	}
	for i, id := range g.FAQIDs {
		if id == "" || len(id) > 128 {
			bad(fmt.Sprintf("faq_ids[%d]", i), "must be 1-128 bytes")
		}
	}
	if len(g.Steps) == 0 || len(g.Steps) > 30 {
		bad("steps", "must have 1-30 steps")
	}
	for i, s := range g.Steps {
		if s.Title == "" || utf8.RuneCountInString(s.Title) > 100 {
			bad(fmt.Sprintf("steps[%d].title", i), "must be 1-100 characters")
		}
		if utf8.RuneCountInString(s.Body) > 2000 {
			bad(fmt.Sprintf("steps[%d].body", i), "must be at most 2000 characters")
		}
		if len(s.Action) > 200 {
			bad(fmt.Sprintf("steps[%d].action", i), "must be at most 200 bytes")
		}
	}
	if utf8.RuneCountInString(g.Comment) > 500 {
		bad("comment", "must be at most 500 characters")
	}
	return fe
}

// guideIndex finds the guide an answer launches: by FAQ id first, then
// by category.
type guideIndex struct {
	byFAQ map[string]*GuideRef
}

func newGuideIndex(gs []*Guide) *guideIndex {
	ix := &guideIndex{byFAQ: map[string]*GuideRef{}}
	// Sorted by id so that two guides naming one FAQ resolve the same way
	// on every start.
	gs = slices.Clone(gs)
	slices.SortFunc(gs, func(a, b *Guide) int {
		if a.ID < b.ID {
			return -1
		} else if a.ID > b.ID {
			return 1
		}
		return 0
	})
	for _, g := range gs {
		if g.Deleted {
			continue
		}
		ref := &GuideRef{ID: g.ID, Title: g.Title, Version: g.Version, Steps: len(g.Steps)}
		for _, f := range g.FAQIDs {
			if _, ok := ix.byFAQ[f]; !ok {
				ix.byFAQ[f] = ref
			}
		}
	}
	return ix
}
