// Package service is the customer-service module: it answers an
// utterance from the FAQ (retrieval is package faq's, passed in as a
// function), warns of a customer being scammed, likely to complain or
// vulnerable, predicts what a customer opening a chat will ask from their
// recent Guard events, routes to queues of skilled agents, keeps
// conversations (redacted) with satisfaction and first-contact
// resolution, and holds step-by-step service guides.
//
// It holds the domain logic and the Store interface; storage (sqlite,
// postgres) and transport (http) are adapters, and the wiring passes in
// the clock, the FAQ search, the customer's Guard history and the hooks
// that raise Guard risk and open cases.
package service

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/pii"
)

// Limits of the ask request.
const (
	MaxTextRunes   = 2000
	MaxTurns       = 500 // per session, customer and bot turns together
	MaxAnswers     = 5
	ContactsWindow = 7 * 24 * time.Hour
	// FCRWindow is how long a customer must stay away after a resolved
	// session for it to count as resolved at first contact.
	FCRWindow = 7 * 24 * time.Hour
)

// Answer is one FAQ entry offered for an utterance.
type Answer struct {
	FAQID    string  `json:"faq_id"`
	Score    float64 `json:"score"`
	Answer   string  `json:"answer"`
	Question string  `json:"question,omitempty"`
	Category string  `json:"category,omitempty"`
	// Predicted marks an answer offered because of the customer's recent
	// events rather than (only) their words.
	Predicted bool      `json:"predicted,omitempty"`
	Guide     *GuideRef `json:"guide,omitempty"`
}

// Answers is a FAQ search result.
type Answers struct {
	Hits      []Answer
	Confident bool
	// Clarify asks the customer to choose between the top answers.
	Clarify bool
}

// AnswerFunc searches the FAQ for the k best answers to a normalised
// utterance.
type AnswerFunc func(text string, k int) Answers

// HistoryFunc returns a customer's events since a time, newest first.
type HistoryFunc func(ctx context.Context, customerID string, since time.Time) ([]Event, error)

// Alert is a scam warning about a customer, for the hook that opens or
// joins a case.
type Alert struct {
	CustomerID string    `json:"customer_id"`
	SessionID  string    `json:"session_id"`
	Channel    string    `json:"channel,omitempty"`
	Warning    Warning   `json:"warning"`
	At         time.Time `json:"at"`
}

// Config configures a Service.
type Config struct {
	Store  Store
	Clock  xiaobao.Clock
	Logger *slog.Logger
	// Answer searches the FAQ; nil answers nothing (warnings and routing
	// still work).
	Answer AnswerFunc
	// Normalize folds an utterance before search and warnings (full and
	// half width, traditional to simplified); nil leaves it as it is.
	Normalize func(string) string
	// History reads the customer's recent Guard events for Predict; nil
	// predicts nothing.
	History HistoryFunc
	// Flag raises the customer's Guard risk after a scam warning, so that
	// their next transfer meets the ladder (guard.Service.Flag).
	Flag func(customerID, typology string, at time.Time)
	// OnScamWarning is told once per session and typology of a scam
	// warning, to open or join a case. It must be fast (hand work to a
	// goroutine or queue) and safe for concurrent use.
	OnScamWarning func(Alert)
	// IdleTimeout closes self-service sessions without a turn for this
	// long (default 30 minutes).
	IdleTimeout time.Duration
	// Journal, if set, makes changes durable before they are stored: an
	// answer waits for one append, and the store is written every
	// FlushInterval behind it. Without one, an answer waits for a store
	// commit.
	Journal Journal
	// FlushInterval is how often the store is written behind the journal,
	// and how soon a failed store write is retried (default 50 ms).
	FlushInterval time.Duration
	// MaxPending bounds turns waiting to be stored; beyond it asks are
	// refused with EOVERLOADED (default 100,000).
	MaxPending int
	// MaxLive bounds sessions held in memory (default 200,000).
	MaxLive int
	// Observer is told of asks, stores, hand-offs, closes and ratings,
	// for metrics; nil observes nothing.
	Observer Observer
	// OnHelpful is given the text of a customer turn whose answer the
	// customer said helped (GiveFeedback), for the FAQ to learn from; an
	// error fails the feedback, which the client retries.
	OnHelpful func(ctx context.Context, h Helpful) error
}

// Service is the service module running.
type Service struct {
	cfg    Config
	store  Store
	clock  xiaobao.Clock
	log    *slog.Logger
	router *Router

	mu       sync.Mutex
	live     map[string]*live
	contacts map[string][]time.Time // customer → session openings in the window
	// firstMsgs maps customer, channel and message id of an ask that
	// opened a session to that session.
	firstMsgs  map[string]string
	firstOrder []string

	guideMu sync.RWMutex
	guides  *guideIndex

	topicCache sync.Map // topic name → topicHit

	w    writer
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once
}

// live is a session held in memory while it is not closed.
type live struct {
	mu        sync.Mutex
	s         Session
	turns     []*Turn
	topics    []Topic
	suggested []Answer
	seen      map[string]seenReply
	seenOrder []string
	// older is set when replies to earlier message ids are only in the
	// store: the session was loaded from it, or seen has dropped some.
	older    bool
	alerted  map[string]bool
	contacts int
	last     time.Time
}

// Open starts a service: it loads queues (storing the defaults in a new
// store), agents and guides, and gives back to agents the sessions they
// held.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("service: Config.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = xiaobao.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = 30 * time.Minute
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 50 * time.Millisecond
	}
	if cfg.MaxPending <= 0 {
		cfg.MaxPending = 100_000
	}
	if cfg.MaxLive <= 0 {
		cfg.MaxLive = 200_000
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	s := &Service{cfg: cfg, store: cfg.Store, clock: cfg.Clock, log: cfg.Logger,
		live: map[string]*live{}, contacts: map[string][]time.Time{}, stop: make(chan struct{})}
	s.w.init()
	if err := s.replayJournal(ctx); err != nil {
		return nil, err
	}
	queues, err := s.store.ServiceQueues(ctx)
	if err != nil {
		return nil, fmt.Errorf("load service queues: %w", err)
	}
	if len(queues) == 0 {
		queues = DefaultQueues(s.clock.Now().UTC())
		for _, q := range queues {
			if err := s.store.PutServiceQueue(ctx, q); err != nil {
				return nil, fmt.Errorf("store default queue %s: %w", q.Name, err)
			}
		}
	}
	agents, err := s.store.ServiceAgents(ctx)
	if err != nil {
		return nil, fmt.Errorf("load service agents: %w", err)
	}
	s.router = NewRouter(queues, agents)
	for _, st := range []string{StatusHandedOff, StatusQueued} {
		ss, err := s.store.FindServiceSessions(ctx, SessionFilter{Status: st})
		if err != nil {
			return nil, fmt.Errorf("load %s sessions: %w", st, err)
		}
		slices.Reverse(ss) // oldest first, for the waiting line
		for _, se := range ss {
			if st == StatusHandedOff {
				s.router.Hold(se.ID, se.AgentID)
			} else {
				s.router.Wait(se.ID, se.Queue, se.Priority, se.UpdatedAt)
			}
		}
	}
	if err := s.reloadGuides(ctx); err != nil {
		return nil, err
	}
	s.wg.Add(2)
	go s.flushLoop()
	go s.sweepLoop()
	return s, nil
}

// replayJournal stores what the journal holds from before a crash (in
// order: the latest snapshot of a session wins, a turn already stored is
// kept), then lets it forget.
func (s *Service) replayJournal(ctx context.Context) error {
	j := s.cfg.Journal
	if j == nil {
		return nil
	}
	bs, mark, err := j.Pending()
	if err != nil {
		return fmt.Errorf("read the service journal: %w", err)
	}
	if len(bs) == 0 {
		return j.Stored(mark)
	}
	all := newBatch()
	for _, jb := range bs {
		for _, se := range jb.Sessions {
			if _, ok := all.sessions[se.ID]; !ok {
				all.order = append(all.order, se.ID)
			}
			all.sessions[se.ID] = se
		}
		all.turns = append(all.turns, jb.Turns...)
	}
	if err := s.store.SaveServiceSessions(ctx, all.list(), all.turns); err != nil {
		return fmt.Errorf("store the service journal: %w", err)
	}
	s.log.Info("service: journal replayed", "batches", len(bs), "sessions", len(all.order), "turns", len(all.turns))
	return j.Stored(mark)
}

// Close writes what is pending and stops the background work. It does
// not close the store.
func (s *Service) Close() error {
	var err error
	s.once.Do(func() {
		close(s.stop)
		s.wg.Wait()
		err = s.flushNow()
	})
	return err
}

// Router returns the router (for tests and metrics).
func (s *Service) Router() *Router { return s.router }

func (s *Service) reloadGuides(ctx context.Context) error {
	gs, err := s.store.ServiceGuides(ctx)
	if err != nil {
		return fmt.Errorf("load service guides: %w", err)
	}
	ix := newGuideIndex(gs)
	s.guideMu.Lock()
	s.guides = ix
	s.guideMu.Unlock()
	return nil
}

func (s *Service) guideFor(faqID string) *GuideRef {
	s.guideMu.RLock()
	defer s.guideMu.RUnlock()
	return s.guides.byFAQ[faqID]
}

// AskRequest is one customer utterance.
type AskRequest struct {
	Text       string
	CustomerID string
	SessionID  string
	Channel    string
	// MessageID is the channel's id of the message: asking again with it
	// returns the first result without a second turn.
	MessageID string
}

// AskResult is the answer to an utterance.
type AskResult struct {
	SessionID string    `json:"session_id"`
	Turn      int       `json:"turn"`
	Answers   []Answer  `json:"answers"`
	Confident bool      `json:"confident"`
	Clarify   bool      `json:"clarify"`
	Warnings  []Warning `json:"warnings"`
	Route     Route     `json:"route"`
	// Predicted are the topics guessed from the customer's recent events,
	// on the first turn of a session.
	Predicted []Topic `json:"predicted,omitempty"`
	// Replayed is true when MessageID was seen before and this is the
	// first result again.
	Replayed bool `json:"replayed,omitempty"`
}

func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '%' {
			return false
		}
	}
	return utf8.ValidString(s)
}

func validateAsk(req *AskRequest) error {
	var fe []xiaobao.FieldError
	bad := func(f, r string) { fe = append(fe, xiaobao.FieldError{Field: f, Reason: r}) }
	if strings.TrimSpace(req.Text) == "" {
		bad("text", "must not be empty")
	} else if n := utf8.RuneCountInString(req.Text); n > MaxTextRunes {
		bad("text", fmt.Sprintf("must be at most %d characters, not %d", MaxTextRunes, n))
	} else if !utf8.ValidString(req.Text) || strings.IndexByte(req.Text, 0) >= 0 {
		bad("text", "must be valid UTF-8 without NUL characters")
	}
	if req.CustomerID != "" && !validID(req.CustomerID) {
		bad("customer_id", "must be 1-128 bytes without spaces, control characters, '/', '?', '#' or '%'")
	}
	if req.SessionID != "" && !validID(req.SessionID) {
		bad("session_id", "must be 1-128 bytes without spaces, control characters, '/', '?', '#' or '%'")
	}
	if req.MessageID != "" && !validID(req.MessageID) {
		bad("message_id", "must be 1-128 bytes without spaces or control characters")
	}
	if req.Channel != "" && !namePattern(strings.ToLower(req.Channel)) {
		bad("channel", "must be 1-64 characters of letters, digits, '_', '-', '.' (e.g. app, hotline, web)")
	}
	if len(fe) > 0 {
		return xiaobao.Invalid("the utterance cannot be handled", fe...)
	}
	return nil
}

// humanWords are what a customer says to reach a person.
var humanWords = []string{"转人工", "人工客服", "人工服务", "找人工", "要人工", "接人工", "真人客服", "人工坐席", "人工座席"}

func wantsHuman(t string) bool {
	for _, w := range humanWords {
		if strings.Contains(t, w) {
			return true
		}
	}
	return false
}

func (s *Service) normalize(t string) string {
	if s.cfg.Normalize != nil {
		return s.cfg.Normalize(t)
	}
	return t
}

func (s *Service) answer(text string, k int) Answers {
	if s.cfg.Answer == nil {
		return Answers{}
	}
	return s.cfg.Answer(text, k)
}

// Ask handles one utterance: FAQ answers (with the clarify and hand-off
// policy), warnings, answers boosted by the predicted topics, and the
// route. The turn is stored redacted.
func (s *Service) Ask(ctx context.Context, req AskRequest) (*AskResult, error) {
	if err := validateAsk(&req); err != nil {
		return nil, err
	}
	if err := s.w.room(s.cfg.MaxPending); err != nil {
		return nil, err
	}
	start := time.Now()
	now := s.clock.Now().UTC()
	fresh := false
	if req.SessionID == "" && req.MessageID != "" {
		// A first message retried: the session it opened, or its result.
		r, f, err := s.firstMessage(ctx, &req, now)
		if r != nil || err != nil {
			return r, err
		}
		fresh = f
	}
	var l *live
	var err error
	if fresh {
		// The id was just made for this message: nothing to look up.
		l, err = s.create(ctx, req.SessionID, req.CustomerID, req.Channel, now)
	} else {
		l, err = s.session(ctx, req.SessionID, req.CustomerID, req.Channel, now)
	}
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s.Status == StatusClosed {
		return nil, closedError(l.s.ID)
	}
	if req.CustomerID != "" && l.s.CustomerID != "" && req.CustomerID != l.s.CustomerID {
		return nil, xiaobao.Invalid("the session belongs to another customer", xiaobao.FieldError{Field: "customer_id", Reason: "differs from the session's customer"})
	}
	if req.MessageID != "" {
		if r, err := s.replay(ctx, l, req.MessageID); r != nil || err != nil {
			return r, err
		}
	}
	if l.s.Turns+2 > MaxTurns {
		return nil, xiaobao.Invalid("the session is too long", xiaobao.FieldError{Field: "session_id", Reason: fmt.Sprintf("has %d turns, the most a session may have; start a new session", l.s.Turns)})
	}
	if l.s.CustomerID == "" && req.CustomerID != "" {
		l.s.CustomerID = req.CustomerID
	}
	firstTurn := l.s.Turns == 0

	norm := s.normalize(req.Text)
	res := s.answer(norm, MaxAnswers)
	warns := Warn(norm, WarnContext{Contacts: l.contacts})
	answers := boost(res.Hits, l.topics)
	if firstTurn && !res.Confident {
		for _, a := range l.suggested {
			if len(answers) >= MaxAnswers {
				break
			}
			if !slices.ContainsFunc(answers, func(b Answer) bool { return b.FAQID == a.FAQID }) {
				answers = append(answers, a)
			}
		}
	}
	human := ""
	switch {
	case wantsHuman(norm):
		human = "客户要求转人工"
	case !res.Confident && !res.Clarify && l.s.Clarifying:
		human = "澄清后仍无可信答案：转人工"
	}
	clarify := res.Clarify && human == ""
	if clarify {
		answers = answers[:min(2, len(answers))]
	}
	l.s.Clarifying = clarify
	for i := range answers {
		if g := s.guideFor(answers[i].FAQID); g != nil {
			answers[i].Guide = g
		}
	}
	category := ""
	if len(answers) > 0 && answers[0].Score >= 0.3 {
		category = answers[0].Category
	}
	rt := s.router.Decide(RouteInput{Warnings: warns, Human: human, Category: category})
	if l.s.Status == StatusHandedOff || l.s.Status == StatusQueued {
		// Already with a person (or waiting for one): the bot only assists.
		rt.AgentID = l.s.AgentID
		if rt.Queue == "" {
			rt.Queue, rt.Priority = l.s.Queue, l.s.Priority
			rt.Reason = "已转人工"
		}
	}

	for _, w := range warns {
		if !slices.Contains(l.s.Warnings, w.Kind) {
			l.s.Warnings = append(l.s.Warnings, w.Kind)
		}
		if w.Kind != ScamVictim {
			continue
		}
		if l.s.ScamType == "" || w.Type != "" {
			l.s.ScamType = w.Type
		}
		key := w.Type
		if l.alerted[key] {
			continue
		}
		l.alerted[key] = true
		typ := w.Type
		if typ == "" {
			typ = "suspected_scam"
		}
		if l.s.CustomerID != "" && s.cfg.Flag != nil {
			s.cfg.Flag(l.s.CustomerID, typ, now)
		}
		if s.cfg.OnScamWarning != nil {
			s.cfg.OnScamWarning(Alert{CustomerID: l.s.CustomerID, SessionID: l.s.ID, Channel: l.s.Channel, Warning: w, At: now})
		}
	}
	if rt.Queue != "" && l.s.Status == StatusOpen {
		// The queue meant, not the overflow of the moment: a hand-off
		// later looks for room again from there.
		l.s.Queue, l.s.Priority, l.s.RouteReason = cmp(rt.OverflowFrom, rt.Queue), rt.Priority, rt.Reason
	}

	redacted, _ := pii.Redact(req.Text)
	ct := &Turn{SessionID: l.s.ID, Seq: l.s.Turns + 1, At: now, Role: RoleCustomer, Text: redacted, MessageID: req.MessageID, Warnings: warns}
	bt := &Turn{SessionID: l.s.ID, Seq: l.s.Turns + 2, At: now, Role: RoleBot, Text: botText(answers, clarify, rt)}
	if len(answers) > 0 {
		bt.FAQID, bt.Score = answers[0].FAQID, answers[0].Score
	}
	l.s.Turns += 2
	l.s.UpdatedAt = now
	l.last = now
	l.addTurns(ct, bt)

	out := &AskResult{SessionID: l.s.ID, Turn: ct.Seq, Answers: answers, Confident: res.Confident && !clarify && len(answers) > 0,
		Clarify: clarify, Warnings: warns, Route: rt}
	if out.Answers == nil {
		out.Answers = []Answer{}
	}
	if out.Warnings == nil {
		out.Warnings = []Warning{}
	}
	if firstTurn {
		out.Predicted = l.topics
	}
	ct.Reply = out
	snap := l.s
	b := s.w.add(&snap, ct, bt)
	if req.MessageID != "" {
		l.remember(req.MessageID, out, b)
	}
	// The answer is given once the turn is stored: a retry after a crash
	// then finds it (by message_id) instead of asking twice.
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	s.cfg.Observer.Asked(out, time.Since(start))
	return out, nil
}

// maxFirstMessages bounds the message ids of session-opening asks kept
// in memory; older ones are found in the store.
const maxFirstMessages = 100_000

// firstMessage handles an ask with a message id and no session: a retry
// of it must not open a second session. It returns the stored result of
// a message answered before the session left memory, or sets
// req.SessionID to the session the message opened, or to a new id
// reserved for it (fresh).
func (s *Service) firstMessage(ctx context.Context, req *AskRequest, now time.Time) (r *AskResult, fresh bool, err error) {
	key := req.CustomerID + "\x00" + req.Channel + "\x00" + req.MessageID
	s.mu.Lock()
	id := s.firstMsgs[key]
	s.mu.Unlock()
	if id != "" {
		req.SessionID = id
		return nil, false, nil
	}
	r, err = s.store.ServiceReply(ctx, ReplyQuery{CustomerID: req.CustomerID, Channel: req.Channel, MessageID: req.MessageID})
	switch {
	case err == nil:
		cp := *r
		cp.Replayed = true
		return &cp, false, nil
	case xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND:
		return nil, false, fmt.Errorf("look up message %s: %w", req.MessageID, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id = s.firstMsgs[key]; id == "" {
		id = newSessionID(now)
		if s.firstMsgs == nil {
			s.firstMsgs = map[string]string{}
		}
		s.firstMsgs[key] = id
		s.firstOrder = append(s.firstOrder, key)
		if len(s.firstOrder) > maxFirstMessages {
			delete(s.firstMsgs, s.firstOrder[0])
			s.firstOrder = s.firstOrder[1:]
		}
		fresh = true
	}
	req.SessionID = id
	return nil, fresh, nil
}

// replay returns the first result of a message already answered in the
// session (nil if it was not), once that result is stored.
func (s *Service) replay(ctx context.Context, l *live, messageID string) (*AskResult, error) {
	r, ok := l.seen[messageID]
	if !ok && l.older {
		stored, err := s.store.ServiceReply(ctx, ReplyQuery{SessionID: l.s.ID, MessageID: messageID})
		switch {
		case err == nil:
			r = seenReply{res: stored}
		case xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND:
			return nil, fmt.Errorf("look up message %s: %w", messageID, err)
		}
	}
	if r.res == nil {
		return nil, nil
	}
	if r.b != nil {
		err := r.b.wait(ctx)
		if err != nil {
			// The first attempt's batch failed and was put back: the
			// result counts once it is stored.
			err = s.Flush(ctx)
		}
		if err != nil {
			return nil, err
		}
	}
	cp := *r.res
	cp.Replayed = true
	return &cp, nil
}

func botText(answers []Answer, clarify bool, rt Route) string {
	var b strings.Builder
	switch {
	case clarify && len(answers) > 0:
		b.WriteString("请问您想问的是：")
		for i, a := range answers {
			if i > 0 {
				b.WriteString(" / ")
			}
			b.WriteString(cmp(a.Question, a.FAQID))
		}
	case len(answers) > 0:
		b.WriteString(answers[0].Answer)
	default:
		b.WriteString("（未找到答案）")
	}
	if rt.Queue != "" {
		b.WriteString(" [转人工：" + rt.Queue + "]")
	}
	return truncateRunes(b.String(), 4000)
}

func cmp(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n])
}

// boost raises the answers that match a predicted topic's category: a
// customer whose repayment just failed who asks "怎么回事" most likely
// means the repayment.
func boost(hits []Answer, topics []Topic) []Answer {
	out := slices.Clone(hits)
	if len(topics) == 0 || len(out) == 0 {
		return out
	}
	for i := range out {
		for _, t := range topics {
			if out[i].Category != "" && out[i].Category == t.Category {
				out[i].Score = math.Round(min(1, out[i].Score+0.1*t.Score)*1000) / 1000
				out[i].Predicted = true
				break
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Answer) int {
		switch {
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return out
}

func (l *live) addTurns(ts ...*Turn) {
	l.turns = append(l.turns, ts...)
	if len(l.turns) > 200 {
		l.turns = slices.Clone(l.turns[len(l.turns)-100:])
	}
}

// seenReply is the result of a message id and the batch storing it.
type seenReply struct {
	res *AskResult
	b   *batch
}

// remember keeps the latest 32 results by message id in memory; older
// ones are looked up in the store.
func (l *live) remember(id string, r *AskResult, b *batch) {
	if l.seen == nil {
		l.seen = map[string]seenReply{}
	}
	l.seen[id] = seenReply{res: r, b: b}
	l.seenOrder = append(l.seenOrder, id)
	if len(l.seenOrder) > 32 {
		delete(l.seen, l.seenOrder[0])
		l.seenOrder = l.seenOrder[1:]
		l.older = true
	}
}

func closedError(id string) error {
	return &xiaobao.Error{Code: xiaobao.ECONFLICT, Message: "the session is closed; start a new one",
		Fields: []xiaobao.FieldError{{Field: "session_id", Reason: "session " + id + " is closed"}}}
}

func newSessionID(now time.Time) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "ses_" + now.UTC().Format("20060102") + hex.EncodeToString(b[:])
}

// session returns the live session id, loading it from the store or
// creating it (with its predicted topics and the customer's recent
// contacts) when it is new.
func (s *Service) session(ctx context.Context, id, customerID, channel string, now time.Time) (*live, error) {
	if id == "" {
		return s.create(ctx, newSessionID(now), customerID, channel, now)
	}
	l, closed, err := s.lookup(ctx, id)
	switch {
	case err == nil && closed != nil:
		return nil, closedError(id)
	case err == nil:
		return l, nil
	case xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND:
		return nil, err
	}
	return s.create(ctx, id, customerID, channel, now)
}

// create makes a new live session, with its predicted topics and the
// customer's recent contacts (or returns the one another request made
// first under the same id).
func (s *Service) create(ctx context.Context, id, customerID, channel string, now time.Time) (*live, error) {
	l := &live{s: Session{ID: id, CustomerID: customerID, Channel: channel, Status: StatusOpen, OpenedAt: now, UpdatedAt: now},
		alerted: map[string]bool{}, last: now}
	if customerID != "" {
		n, err := s.recentContacts(ctx, customerID, now)
		if err != nil {
			return nil, err
		}
		l.contacts = n
		if s.cfg.History != nil {
			evs, err := s.cfg.History(ctx, customerID, now.Add(-PredictWindow))
			if err != nil {
				// Predicting is a nicety: a session opens without it.
				s.log.Warn("service: customer history unavailable", "err", err.Error())
			}
			l.topics = Predict(evs, now, 3)
			for _, t := range l.topics {
				l.s.Topics = append(l.s.Topics, t.Name)
				hit, ok := s.topicAnswer(t, now)
				if !ok {
					continue
				}
				a := hit
				a.Predicted = true
				a.Score = math.Round(a.Score*t.Score*1000) / 1000
				if !slices.ContainsFunc(l.suggested, func(b Answer) bool { return b.FAQID == a.FAQID }) {
					l.suggested = append(l.suggested, a)
				}
			}
		}
	}
	return s.publish(l)
}

// topicCacheTTL is how long the FAQ answer of a predicted topic is
// reused: the same few topics are searched at every session opening, and
// an FAQ edit shows within this delay.
const topicCacheTTL = 30 * time.Second

type topicHit struct {
	a  Answer
	ok bool
	at time.Time
}

// topicAnswer returns the best FAQ answer to a topic's typical question.
func (s *Service) topicAnswer(t Topic, now time.Time) (Answer, bool) {
	if v, ok := s.topicCache.Load(t.Name); ok {
		if h := v.(topicHit); now.Sub(h.at) < topicCacheTTL && !now.Before(h.at) {
			return h.a, h.ok
		}
	}
	res := s.answer(s.normalize(t.Query), 1)
	h := topicHit{ok: len(res.Hits) > 0, at: now}
	if h.ok {
		h.a = res.Hits[0]
	}
	s.topicCache.Store(t.Name, h)
	return h.a, h.ok
}

// publish adds a new live session, or returns the one another request
// added first.
func (s *Service) publish(l *live) (*live, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur := s.live[l.s.ID]; cur != nil {
		return cur, nil
	}
	if len(s.live) >= s.cfg.MaxLive {
		return nil, xiaobao.Errorf(xiaobao.EOVERLOADED, "too many open service sessions; retry later")
	}
	s.live[l.s.ID] = l
	if l.s.CustomerID != "" && l.s.Turns == 0 {
		s.contacts[l.s.CustomerID] = append(s.contacts[l.s.CustomerID], l.s.OpenedAt)
	}
	return l, nil
}

// recentContacts counts the customer's sessions opened in the last
// ContactsWindow, reading the store once per customer and keeping count
// in memory after.
func (s *Service) recentContacts(ctx context.Context, customerID string, now time.Time) (int, error) {
	s.mu.Lock()
	ts, ok := s.contacts[customerID]
	s.mu.Unlock()
	if !ok {
		ss, err := s.store.FindServiceSessions(ctx, SessionFilter{CustomerID: customerID, From: now.Add(-ContactsWindow), Limit: 100})
		if err != nil {
			return 0, err
		}
		for _, se := range ss {
			ts = append(ts, se.OpenedAt)
		}
		s.mu.Lock()
		if _, ok := s.contacts[customerID]; !ok {
			s.contacts[customerID] = ts
		} else {
			ts = s.contacts[customerID]
		}
		s.mu.Unlock()
	}
	n := 0
	for _, t := range ts {
		if now.Sub(t) < ContactsWindow {
			n++
		}
	}
	return n, nil
}

// lookup returns the live session id, or loads it from the store: a
// closed session comes back with live == nil.
func (s *Service) lookup(ctx context.Context, id string) (*live, *Session, error) {
	s.mu.Lock()
	l := s.live[id]
	s.mu.Unlock()
	if l != nil {
		return l, nil, nil
	}
	se, err := s.store.ServiceSession(ctx, id)
	if err != nil {
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
			return nil, nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "service session %q not found", id)
		}
		return nil, nil, err
	}
	if se.Status == StatusClosed {
		return nil, se, nil
	}
	turns, err := s.store.ServiceTurns(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	nl := &live{s: *se, turns: turns, alerted: map[string]bool{}, last: s.clock.Now().UTC()}
	nl.older = slices.ContainsFunc(turns, func(t *Turn) bool { return t.MessageID != "" })
	l, err = s.publish(nl)
	return l, nil, err
}

// SessionView is a session with its turns and what was predicted.
type SessionView struct {
	Session
	Transcript []*Turn  `json:"transcript"`
	Predicted  []Topic  `json:"predicted,omitempty"`
	Suggested  []Answer `json:"suggested,omitempty"`
}

func (l *live) view() *SessionView {
	v := &SessionView{Session: l.s, Transcript: slices.Clone(l.turns), Predicted: l.topics, Suggested: l.suggested}
	v.Warnings = slices.Clone(l.s.Warnings)
	v.Topics = slices.Clone(l.s.Topics)
	if v.Transcript == nil {
		v.Transcript = []*Turn{}
	}
	return v
}

// OpenRequest opens a session before the customer says anything.
type OpenRequest struct {
	SessionID, CustomerID, Channel string
}

// OpenSession opens a session (or returns the open one with that id)
// with the answers predicted from the customer's recent events, to show
// first.
func (s *Service) OpenSession(ctx context.Context, req OpenRequest) (*SessionView, error) {
	var fe []xiaobao.FieldError
	if req.CustomerID != "" && !validID(req.CustomerID) {
		fe = append(fe, xiaobao.FieldError{Field: "customer_id", Reason: "must be 1-128 bytes without spaces, control characters, '/', '?', '#' or '%'"})
	}
	if req.SessionID != "" && !validID(req.SessionID) {
		fe = append(fe, xiaobao.FieldError{Field: "session_id", Reason: "must be 1-128 bytes without spaces, control characters, '/', '?', '#' or '%'"})
	}
	if req.Channel != "" && !namePattern(strings.ToLower(req.Channel)) {
		fe = append(fe, xiaobao.FieldError{Field: "channel", Reason: "must be 1-64 characters of letters, digits, '_', '-', '.'"})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the session cannot be opened", fe...)
	}
	now := s.clock.Now().UTC()
	l, err := s.session(ctx, req.SessionID, req.CustomerID, req.Channel, now)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s.Status == StatusClosed {
		return nil, closedError(l.s.ID)
	}
	if req.CustomerID != "" && l.s.CustomerID != "" && req.CustomerID != l.s.CustomerID {
		return nil, xiaobao.Invalid("the session belongs to another customer", xiaobao.FieldError{Field: "customer_id", Reason: "differs from the session's customer"})
	}
	snap := l.s
	if err := s.w.add(&snap).wait(ctx); err != nil {
		return nil, err
	}
	return l.view(), nil
}

// GetSession returns a session with its transcript.
func (s *Service) GetSession(ctx context.Context, id string) (*SessionView, error) {
	s.mu.Lock()
	l := s.live[id]
	s.mu.Unlock()
	if l != nil {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.view(), nil
	}
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	se, err := s.store.ServiceSession(ctx, id)
	if err != nil {
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
			return nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "service session %q not found", id)
		}
		return nil, err
	}
	turns, err := s.store.ServiceTurns(ctx, id)
	if err != nil {
		return nil, err
	}
	if turns == nil {
		turns = []*Turn{}
	}
	return &SessionView{Session: *se, Transcript: turns}, nil
}

// FindSessions searches sessions, newest first (after writing what is
// pending, so that a search sees every acknowledged turn).
func (s *Service) FindSessions(ctx context.Context, f SessionFilter) ([]*Session, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = min(max(f.Limit, 50), 1000)
	}
	return s.store.FindServiceSessions(ctx, f)
}

// HandoffRequest hands a session to a person.
type HandoffRequest struct {
	// Queue overrides the routed queue.
	Queue  string
	Reason string
	By     string
}

// HandoffContext is what the agent sees on taking the session.
type HandoffContext struct {
	Session    Session   `json:"session"`
	Route      Route     `json:"route"`
	Transcript []*Turn   `json:"transcript"`
	Warnings   []Warning `json:"warnings"`
	Predicted  []Topic   `json:"predicted,omitempty"`
	// RecentContacts counts the customer's sessions in the last 7 days,
	// this one excluded.
	RecentContacts int `json:"recent_contacts"`
}

// Handoff gives the session to an agent of its routed queue (or
// req.Queue), overflowing when the queue has no room, or puts it in line.
// Handing off a session already with a person changes nothing.
func (s *Service) Handoff(ctx context.Context, id string, req HandoffRequest) (*HandoffContext, error) {
	if req.Queue != "" && !s.router.HasQueue(req.Queue) {
		return nil, xiaobao.Invalid("the hand-off is invalid", xiaobao.FieldError{Field: "queue", Reason: "unknown queue " + req.Queue})
	}
	if utf8.RuneCountInString(req.Reason) > 500 {
		return nil, xiaobao.Invalid("the hand-off is invalid", xiaobao.FieldError{Field: "reason", Reason: "must be at most 500 characters"})
	}
	l, closed, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if closed != nil {
		return nil, closedError(id)
	}
	now := s.clock.Now().UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s.Status == StatusClosed {
		return nil, closedError(id)
	}
	rt := Route{Queue: l.s.Queue, Priority: l.s.Priority, Reason: l.s.RouteReason, AgentID: l.s.AgentID}
	if l.s.Status == StatusOpen {
		if req.Queue != "" {
			rt.Queue = req.Queue
		}
		if rt.Priority == 0 {
			rt.Priority = PriorityRoutine
		}
		if req.Reason != "" {
			r, _ := pii.Redact(req.Reason)
			rt.Reason = r
		} else if rt.Reason == "" {
			rt.Reason = "渠道请求转人工"
		}
		rt = s.router.Assign(id, rt, now)
		l.s.Queue, l.s.Priority, l.s.RouteReason = rt.Queue, rt.Priority, rt.Reason
		if rt.AgentID != "" {
			l.s.Status, l.s.AgentID = StatusHandedOff, rt.AgentID
			l.s.HandedOffAt = &now
		} else {
			l.s.Status = StatusQueued
		}
		l.s.Turns++
		l.s.UpdatedAt = now
		t := &Turn{SessionID: id, Seq: l.s.Turns, At: now, Role: RoleSystem, AgentID: rt.AgentID,
			Text: "转人工：" + rt.Queue + "（" + rt.Reason + "）"}
		l.addTurns(t)
		snap := l.s
		if err := s.w.add(&snap, t).wait(ctx); err != nil {
			return nil, err
		}
		s.cfg.Observer.HandedOff(rt.Queue, rt.AgentID != "")
	} else {
		rt.Waiting = l.s.Status == StatusQueued
	}
	ctxOut := &HandoffContext{Session: l.s, Route: rt, Transcript: slices.Clone(l.turns), Predicted: l.topics, RecentContacts: l.contacts}
	ctxOut.Session.Warnings = slices.Clone(l.s.Warnings)
	for _, t := range l.turns {
		for _, w := range t.Warnings {
			if !slices.ContainsFunc(ctxOut.Warnings, func(x Warning) bool { return x.Kind == w.Kind && x.Type == w.Type }) {
				ctxOut.Warnings = append(ctxOut.Warnings, w)
			}
		}
	}
	if ctxOut.Warnings == nil {
		ctxOut.Warnings = []Warning{}
	}
	return ctxOut, nil
}

// AddTurn records a message of the agent (or a system note) in a session.
func (s *Service) AddTurn(ctx context.Context, id, role, text, agentID string) (*Turn, error) {
	var fe []xiaobao.FieldError
	if role != RoleAgent && role != RoleSystem {
		fe = append(fe, xiaobao.FieldError{Field: "role", Reason: "must be agent or system"})
	}
	if strings.TrimSpace(text) == "" || utf8.RuneCountInString(text) > MaxTextRunes || !utf8.ValidString(text) {
		fe = append(fe, xiaobao.FieldError{Field: "text", Reason: fmt.Sprintf("must be 1-%d characters of valid UTF-8", MaxTextRunes)})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the turn is invalid", fe...)
	}
	l, closed, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if closed != nil {
		return nil, closedError(id)
	}
	now := s.clock.Now().UTC()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.s.Status == StatusClosed {
		return nil, closedError(id)
	}
	if l.s.Turns+1 > MaxTurns {
		return nil, xiaobao.Invalid("the session is too long", xiaobao.FieldError{Field: "text", Reason: "the session has the most turns a session may have"})
	}
	if agentID == "" {
		agentID = l.s.AgentID
	}
	red, _ := pii.Redact(text)
	l.s.Turns++
	l.s.UpdatedAt = now
	l.last = now
	t := &Turn{SessionID: id, Seq: l.s.Turns, At: now, Role: role, Text: red, AgentID: agentID}
	l.addTurns(t)
	snap := l.s
	if err := s.w.add(&snap, t).wait(ctx); err != nil {
		return nil, err
	}
	return t, nil
}

// CloseSession ends a session, saying whether the customer's need was
// met, and frees its agent (whose room then goes to the next in line).
// Closing a closed session returns it unchanged.
func (s *Service) CloseSession(ctx context.Context, id string, resolved *bool, by string) (*Session, error) {
	l, closed, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if closed != nil {
		return closed, nil
	}
	now := s.clock.Now().UTC()
	l.mu.Lock()
	if l.s.Status == StatusClosed {
		out := l.s
		l.mu.Unlock()
		return &out, nil
	}
	b := s.closeLocked(l, resolved, by, now)
	out := l.s
	l.mu.Unlock()
	// The closed session stays in memory until a sweep after it is
	// stored, so that an ask or a rating meanwhile finds it closed.
	s.apply(s.router.Release(id), now)
	if err := b.wait(ctx); err != nil {
		return nil, err
	}
	return &out, nil
}

func (s *Service) closeLocked(l *live, resolved *bool, by string, now time.Time) *batch {
	l.s.Status = StatusClosed
	l.s.ClosedAt = &now
	l.s.UpdatedAt = now
	l.s.Resolved = resolved
	l.s.ClosedBy = by
	l.s.Clarifying = false
	snap := l.s
	s.cfg.Observer.Closed(resolved, by)
	return s.w.add(&snap)
}

// apply hands waiting sessions to the agents the router gave them.
func (s *Service) apply(as []Assignment, now time.Time) {
	for _, a := range as {
		l, closed, err := s.lookup(context.Background(), a.Session)
		if err != nil || closed != nil {
			// Closed meanwhile (or unreadable): give the seat back.
			if err != nil {
				s.log.Error("service: waiting session unavailable", "session", a.Session, "err", err.Error())
			}
			s.apply(s.router.Release(a.Session), now)
			continue
		}
		l.mu.Lock()
		if l.s.Status != StatusClosed {
			l.s.Status, l.s.AgentID, l.s.Queue = StatusHandedOff, a.Agent, a.Queue
			l.s.HandedOffAt = &now
			l.s.Turns++
			l.s.UpdatedAt = now
			t := &Turn{SessionID: a.Session, Seq: l.s.Turns, At: now, Role: RoleSystem, AgentID: a.Agent, Text: "坐席 " + a.Agent + " 接入"}
			l.addTurns(t)
			snap := l.s
			s.w.add(&snap, t)
		}
		l.mu.Unlock()
	}
}

// Rate records the customer's satisfaction (1-5) with a session; rating
// again replaces the score.
func (s *Service) Rate(ctx context.Context, id string, score int, comment string) (*Session, error) {
	var fe []xiaobao.FieldError
	if score < 1 || score > 5 {
		fe = append(fe, xiaobao.FieldError{Field: "score", Reason: "must be an integer from 1 to 5"})
	}
	if utf8.RuneCountInString(comment) > 500 || !utf8.ValidString(comment) {
		fe = append(fe, xiaobao.FieldError{Field: "comment", Reason: "must be at most 500 characters of valid UTF-8"})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the rating is invalid", fe...)
	}
	comment, _ = pii.Redact(comment)
	now := s.clock.Now().UTC()
	l, closed, err := s.lookup(ctx, id)
	if err != nil {
		return nil, err
	}
	if closed != nil {
		if err := s.Flush(ctx); err != nil {
			return nil, err
		}
		// Re-read after the flush: a close may have been pending.
		se, err := s.store.ServiceSession(ctx, id)
		if err != nil {
			return nil, err
		}
		se.CSAT, se.CSATComment, se.CSATAt, se.UpdatedAt = &score, comment, &now, now
		if err := s.w.add(se).wait(ctx); err != nil {
			return nil, err
		}
		s.cfg.Observer.Rated(score)
		return se, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.s.CSAT, l.s.CSATComment, l.s.CSATAt, l.s.UpdatedAt = &score, comment, &now, now
	snap := l.s
	if err := s.w.add(&snap).wait(ctx); err != nil {
		return nil, err
	}
	s.cfg.Observer.Rated(score)
	return &snap, nil
}

// PutAgent adds or replaces an agent (presence, skills, capacity); new
// room goes to sessions waiting in line.
func (s *Service) PutAgent(ctx context.Context, a *Agent) (*Agent, error) {
	if a.Skills == nil {
		a.Skills = []string{}
	}
	if fe := ValidateAgent(a); len(fe) > 0 {
		return nil, xiaobao.Invalid("the agent is invalid", fe...)
	}
	now := s.clock.Now().UTC()
	a.UpdatedAt = now
	if err := s.store.PutServiceAgent(ctx, a); err != nil {
		return nil, fmt.Errorf("store agent %s: %w", a.ID, err)
	}
	s.apply(s.router.SetAgent(a), now)
	return s.router.Agent(a.ID), nil
}

// Agents returns every agent with its load.
func (s *Service) Agents() []Agent { return s.router.Agents() }

// PutQueue adds or replaces a queue.
func (s *Service) PutQueue(ctx context.Context, q *Queue) (*QueueState, error) {
	fe := ValidateQueue(q)
	if q.Overflow != "" && q.Overflow != q.Name && !s.router.HasQueue(q.Overflow) {
		fe = append(fe, xiaobao.FieldError{Field: "overflow", Reason: "unknown queue " + q.Overflow})
	}
	if len(fe) > 0 {
		return nil, xiaobao.Invalid("the queue is invalid", fe...)
	}
	now := s.clock.Now().UTC()
	q.UpdatedAt = now
	if err := s.store.PutServiceQueue(ctx, q); err != nil {
		return nil, fmt.Errorf("store queue %s: %w", q.Name, err)
	}
	s.apply(s.router.SetQueue(q), now)
	for _, st := range s.router.Queues() {
		if st.Name == q.Name {
			return &st, nil
		}
	}
	return nil, fmt.Errorf("queue %s vanished", q.Name)
}

// Queues returns every queue with its state.
func (s *Service) Queues() []QueueState { return s.router.Queues() }

// PutGuide stores a new version of a guide. base is the version the
// editor started from (0 for a new guide): when another edit came first
// it is ECONFLICT, so no edit is silently lost.
func (s *Service) PutGuide(ctx context.Context, g *Guide, base int, by string) (*Guide, error) {
	if g.FAQIDs == nil {
		g.FAQIDs = []string{}
	}
	if fe := ValidateGuide(g); len(fe) > 0 {
		return nil, xiaobao.Invalid("the guide is invalid", fe...)
	}
	latest, err := s.store.ServiceGuide(ctx, g.ID, 0)
	switch {
	case err == nil:
		if base != latest.Version {
			return nil, &xiaobao.Error{Code: xiaobao.ECONFLICT, Message: fmt.Sprintf("guide %s is at version %d; reload and edit that", g.ID, latest.Version),
				Fields: []xiaobao.FieldError{{Field: "base_version", Reason: fmt.Sprintf("is %d, the latest version is %d", base, latest.Version)}}}
		}
		g.Version = latest.Version + 1
	case xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND:
		if base != 0 {
			return nil, xiaobao.Invalid("the guide is invalid", xiaobao.FieldError{Field: "base_version", Reason: "must be 0 or absent for a new guide"})
		}
		g.Version = 1
	default:
		return nil, err
	}
	g.CreatedAt = s.clock.Now().UTC()
	g.CreatedBy = by
	if err := s.store.SaveServiceGuide(ctx, g); err != nil {
		return nil, err
	}
	if err := s.reloadGuides(ctx); err != nil {
		return nil, err
	}
	return g, nil
}

// DeleteGuide stores a deleted version of a guide: answers stop
// launching it, its history stays.
func (s *Service) DeleteGuide(ctx context.Context, id string, by string) (*Guide, error) {
	latest, err := s.store.ServiceGuide(ctx, id, 0)
	if err != nil {
		return nil, err
	}
	if latest.Deleted {
		return latest, nil
	}
	g := *latest
	g.Deleted, g.Comment = true, "deleted"
	return s.PutGuide(ctx, &g, latest.Version, by)
}

// Guide returns one version of a guide (0: the latest).
func (s *Service) Guide(ctx context.Context, id string, version int) (*Guide, error) {
	return s.store.ServiceGuide(ctx, id, version)
}

// GuideVersions returns a guide's history, newest first.
func (s *Service) GuideVersions(ctx context.Context, id string) ([]*Guide, error) {
	vs, err := s.store.ServiceGuideVersions(ctx, id)
	if err == nil && len(vs) == 0 {
		return nil, xiaobao.Errorf(xiaobao.ENOTFOUND, "guide %q not found", id)
	}
	return vs, err
}

// Guides returns the latest version of every guide; deleted ones only
// with all.
func (s *Service) Guides(ctx context.Context, all bool) ([]*Guide, error) {
	gs, err := s.store.ServiceGuides(ctx)
	if err != nil {
		return nil, err
	}
	if !all {
		gs = slices.DeleteFunc(gs, func(g *Guide) bool { return g.Deleted })
	}
	return gs, nil
}

// Stats computes satisfaction and resolution over sessions opened in
// [from, to).
func (s *Service) Stats(ctx context.Context, from, to time.Time) (*Stats, error) {
	if err := s.Flush(ctx); err != nil {
		return nil, err
	}
	ss, err := s.store.FindServiceSessions(ctx, SessionFilter{From: from, To: to.Add(FCRWindow)})
	if err != nil {
		return nil, err
	}
	fb, err := s.store.ServiceFeedbackBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	st := ComputeStats(ss, from, to)
	st.Answers = ComputeAnswerStats(fb)
	return st, nil
}

// sweepLoop closes idle self-service sessions and forgets old contacts.
func (s *Service) sweepLoop() {
	defer s.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.Sweep()
		}
	}
}

// Sweep closes open sessions idle for IdleTimeout (a session with a
// person is left to the person) and forgets contacts older than the
// window.
func (s *Service) Sweep() {
	now := s.clock.Now().UTC()
	s.mu.Lock()
	ls := make([]*live, 0, len(s.live))
	for _, l := range s.live {
		ls = append(ls, l)
	}
	for c, ts := range s.contacts {
		ts = slices.DeleteFunc(ts, func(t time.Time) bool { return now.Sub(t) >= ContactsWindow })
		if len(ts) == 0 {
			delete(s.contacts, c)
		} else {
			s.contacts[c] = ts
		}
	}
	s.mu.Unlock()
	var closed []*live
	for _, l := range ls {
		l.mu.Lock()
		idle := l.s.Status == StatusOpen && now.Sub(l.last) >= s.cfg.IdleTimeout
		if idle {
			s.closeLocked(l, nil, "timeout", now)
		}
		if l.s.Status == StatusClosed {
			closed = append(closed, l)
		}
		id := l.s.ID
		l.mu.Unlock()
		if idle {
			s.apply(s.router.Release(id), now)
		}
	}
	if len(closed) == 0 {
		return
	}
	// Closed sessions leave memory once stored.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Flush(ctx); err != nil {
		return
	}
	s.mu.Lock()
	for _, l := range closed {
		if s.live[l.s.ID] == l {
			delete(s.live, l.s.ID)
		}
	}
	s.mu.Unlock()
}
