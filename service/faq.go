package service

import (
	"context"

	"github.com/xiaobao-org/xiaobao/faq"
)

// FAQAnswers searches a live FAQ knowledge base (package faq) for Ask.
func FAQAnswers(b *faq.Base) AnswerFunc {
	return func(text string, k int) Answers {
		res := b.Search(text, k)
		out := Answers{Confident: res.Confident, Clarify: res.Clarify, Hits: make([]Answer, len(res.Hits))}
		for i, h := range res.Hits {
			out.Hits[i] = Answer{FAQID: h.FAQID, Score: h.Score, Answer: h.Answer, Question: h.Question, Category: h.Category}
		}
		return out
	}
}

// FAQExamples is the OnHelpful hook that stores a helpful verdict's
// text as a pending example of the FAQ store, for a person to accept.
func FAQExamples(st faq.Store) func(context.Context, Helpful) error {
	return func(ctx context.Context, h Helpful) error {
		_, err := st.AddFAQExamples(ctx, []faq.Example{faq.FeedbackExample(h.Text, h.FAQID, h.SessionID, h.At)})
		return err
	}
}
