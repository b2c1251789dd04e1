package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/service"
)

// openService starts the customer-service module on the store: answers
// from the FAQ base, predictions from Guard's decisions, and scam
// warnings that raise the customer's Guard risk; obs gets its metrics,
// customers' helpful verdicts become pending examples in fst, and jnl
// makes answered turns durable before the store has them. onScam (may
// be nil) is told of each scam warning, to open or join a case.
func openService(ctx context.Context, st service.Store, fst faq.Store, g *guard.Service, b *faq.Base, logger *slog.Logger, obs service.Observer, jnl service.Journal, onScam func(service.Alert)) (*service.Service, error) {
	sv, err := service.Open(ctx, service.Config{
		Store: st, Logger: logger, Answer: service.FAQAnswers(b), Normalize: faq.Normalize,
		History: service.GuardHistory(g), Flag: g.Flag, Observer: obs, OnHelpful: service.FAQExamples(fst), Journal: jnl,
		OnScamWarning: func(a service.Alert) {
			logger.Info("service scam warning", "session", a.SessionID, "typology", a.Warning.Type, "score", a.Warning.Score)
			if onScam != nil {
				onScam(a)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("start the service module: %w", err)
	}
	return sv, nil
}
