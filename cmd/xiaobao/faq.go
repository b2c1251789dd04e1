package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/xiaobao-org/xiaobao/faq"
)

// openFAQ makes the live FAQ knowledge base from the store: the firm's
// entries and synonyms, or the starter bank when it holds none.
func openFAQ(ctx context.Context, st faq.Store, logger *slog.Logger) (*faq.Base, error) {
	// Edits (and the start) are searchable after indexing; the scorer is
	// refitted on the new content a second after the last change.
	b := faq.NewBase(faq.Options{RefitDelay: time.Second})
	starter, err := faq.Load(ctx, st, b)
	if err != nil {
		return nil, fmt.Errorf("load the FAQ knowledge base: %w", err)
	}
	logger.Info("FAQ knowledge base loaded", "entries", b.Len(), "starter_bank", starter)
	return b, nil
}
