package service

import "github.com/xiaobao-org/xiaobao/faq"

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
