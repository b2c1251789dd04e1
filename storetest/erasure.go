package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/vault"
)

// ErasureStore is a store that carries out data-subject deletions.
type ErasureStore interface {
	Store
	privacy.Store
	privacy.ErasureStore
	service.Store
	faq.Store
	vault.KeyStore
	SetSealer(guard.Sealer)
}

// The customer erased, and what identifies them in their events.
const (
	erasedCustomer = "cus-erase-1"
	erasedPhone    = "13912345678"
	erasedIDNumber = "110101199003071234"
	erasedDevice   = "dev-erase-1"
	erasedIP       = "198.51.100.9"
	erasedAccount  = "6222020200112233445"
	erasedName     = "李四"
)

// erasureRecord returns a record of customer's event of type typ at seq.
func erasureRecord(seq int64, customer string, typ guard.EventType) *guard.Record {
	at := BaseTime.Add(time.Duration(seq) * time.Minute)
	id := fmt.Sprintf("evt-er-%d", seq)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"event_id":%q,"type":%q,"occurred_at":%q,"customer":{"id":%q,"age":71,"phone":%q,"id_number":%q},`+
		`"device":{"id":%q,"ip":%q}`, id, typ, at.In(time.FixedZone("", 8*3600)).Format(time.RFC3339), customer, erasedPhone, erasedIDNumber, erasedDevice, erasedIP)
	if typ.NeedsAmount() {
		b.WriteString(`,"amount":"3000.00","currency":"CNY"`)
	}
	if typ.NeedsCounterparty() {
		fmt.Fprintf(&b, `,"counterparty":{"account":%q,"name":%q}`, erasedAccount, erasedName)
	}
	fmt.Fprintf(&b, `,"memo":"给%s的钱","session_id":"ses-%d"}`, erasedName, seq)
	ev, err := guard.DecodeEvent(b.Bytes())
	if err != nil {
		panic(err)
	}
	d := &guard.Decision{ID: fmt.Sprintf("dec-er-%d", seq), EventID: id, Seq: seq, CustomerID: customer, EventType: typ, OccurredAt: at,
		Action: guard.Friction, Score: 0.5, Typology: "account_takeover",
		Reasons: []guard.Reason{{Rule: "new_device", Code: "R301", Detail: "device " + erasedDevice + " payee " + erasedName, Action: guard.Friction, Score: 0.5,
			Values: map[string]any{"device.id": erasedDevice, "payee.name": erasedName}}},
		Explanation: &guard.Explanation{RuleScore: 0.5, RuleAction: guard.Friction, Escalation: "after 2 on " + erasedAccount},
		DecidedAt:   at.Add(time.Millisecond)}
	return &guard.Record{Seq: seq, Event: ev, Decision: d}
}

// saveConversation stores a service session of customer with id, opened
// at at, with a customer turn (a message id, the customer's words naming
// erasedName, the reply kept for retries) and the bot's answer; status
// closed also gives it a rating with a comment, and a verdict on the
// answer.
func saveConversation(t *testing.T, s ErasureStore, id, customer, status string, at time.Time) *service.Session {
	t.Helper()
	ctx := context.Background()
	yes, four := true, 4
	se := &service.Session{ID: id, CustomerID: customer, Channel: "app", Status: status, OpenedAt: at, UpdatedAt: at.Add(time.Minute), Turns: 2,
		Queue: "fraud", Priority: 1, RouteReason: "疑似正在被骗", Warnings: []string{service.ScamVictim}, ScamType: "impersonated_police",
		Topics: []string{"transfer_held"}, AgentID: "agent-1", HandedOffAt: &at}
	if status == service.StatusClosed {
		closed := at.Add(2 * time.Minute)
		se.ClosedAt, se.Resolved, se.CSAT, se.CSATComment, se.CSATAt, se.ClosedBy = &closed, &yes, &four, "谢谢，我是"+erasedName, &closed, "agent"
	}
	reply := &service.AskResult{SessionID: id, Turn: 1, Answers: []service.Answer{{FAQID: "faq_safe", Score: 0.8, Answer: "请不要转账"}},
		Warnings: []service.Warning{}, Route: service.Route{Queue: "fraud", Priority: 1, Reason: "疑似正在被骗"}}
	turns := []*service.Turn{
		{SessionID: id, Seq: 1, At: at, Role: service.RoleCustomer, Text: "我是" + erasedName + "，对方让我转到安全账户", MessageID: "msg-" + id, Reply: reply,
			Warnings: []service.Warning{{Kind: service.ScamVictim, Score: 0.9, Type: "impersonated_police"}}},
		{SessionID: id, Seq: 2, At: at, Role: service.RoleBot, Text: "请不要转账，" + erasedName, FAQID: "faq_safe", Score: 0.8},
	}
	if err := s.SaveServiceSessions(ctx, []*service.Session{se}, turns); err != nil {
		t.Fatal(err)
	}
	if status == service.StatusClosed {
		if err := s.PutServiceFeedback(ctx, &service.Feedback{SessionID: id, Turn: 1, FAQID: "faq_safe", Helpful: true, At: at.Add(time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	// The verdict's text waiting for review in the FAQ.
	ex := faq.FeedbackExample("我是"+erasedName+"，对方让我转到安全账户 "+id, "faq_safe", id, at)
	if _, err := s.AddFAQExamples(ctx, []faq.Example{ex}); err != nil {
		t.Fatal(err)
	}
	return se
}

// requireNoConversation fails unless nothing of the session id (opened by
// customer) can be found: not the session, its turns, its replies, its
// verdicts.
func requireNoConversation(t *testing.T, s ErasureStore, id, customer string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.ServiceSession(ctx, id); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("session %s after the erasure: %v, want not found", id, err)
	}
	if ts, err := s.ServiceTurns(ctx, id); err != nil || len(ts) != 0 {
		t.Errorf("turns of %s after the erasure: %d, %v", id, len(ts), err)
	}
	for _, q := range []service.ReplyQuery{{SessionID: id, MessageID: "msg-" + id}, {CustomerID: customer, Channel: "app", MessageID: "msg-" + id}} {
		if _, err := s.ServiceReply(ctx, q); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("reply %+v after the erasure: %v, want not found", q, err)
		}
	}
	if _, err := s.ServiceFeedback(ctx, id, 1); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("feedback on %s after the erasure: %v, want not found", id, err)
	}
	if ss, err := s.FindServiceSessions(ctx, service.SessionFilter{CustomerID: customer}); err != nil || len(ss) != 0 {
		t.Errorf("sessions of %s after the erasure: %d, %v", customer, len(ss), err)
	}
}

// ExerciseErasure runs the erasure conformance suite, with and without
// sealing; open is as for Exercise.
func ExerciseErasure(t *testing.T, open func(t *testing.T) ErasureStore) {
	t.Parallel()
	for _, sealed := range []bool{false, true} {
		t.Run(fmt.Sprintf("sealed=%v", sealed), func(t *testing.T) {
			t.Parallel()
			s := open(t)
			if sealed {
				m, _ := vault.GenerateMasterKey()
				v, err := vault.Open(context.Background(), vault.Config{Store: s, Master: m})
				if err != nil {
					t.Fatal(err)
				}
				s.SetSealer(v)
			}
			exerciseErasure(t, s)
			exerciseConcurrentErasure(t, s)
		})
	}
}

func exerciseErasure(t *testing.T, s ErasureStore) {
	ctx := context.Background()
	recs := []*guard.Record{
		erasureRecord(1, erasedCustomer, guard.Login),
		erasureRecord(2, erasedCustomer, guard.DeviceChange),
		erasureRecord(3, erasedCustomer, guard.PayeeAdd),
		erasureRecord(4, erasedCustomer, guard.Transfer),
		erasureRecord(5, "cus-other", guard.Transfer), // the same device and payee
		erasureRecord(6, erasedCustomer, guard.PhoneChange),
		erasureRecord(7, erasedCustomer, guard.Withdrawal), // the highest seq
	}
	mustSave(t, s, recs...)
	for _, r := range []*guard.Record{recs[2], recs[3]} {
		o := &guard.Outcome{DecisionID: r.Decision.ID, ID: "out-" + r.Decision.ID, Kind: guard.OutcomeConfirmedFraud, AmountLost: 300000, AmountSaved: 100,
			Typology: "account_takeover", Note: "called " + erasedName + " on " + erasedPhone, Source: "caller", RecordedAt: BaseTime,
			CustomerID: erasedCustomer, Account: erasedAccount}
		saveOutcome(t, s, o, true)
	}
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	ended := at.AddDate(-1, 0, 0)
	// Two conversations of the customer, one rated and closed, one still
	// with an agent; one of another customer.
	talks := []*service.Session{
		saveConversation(t, s, "ses-er-closed", erasedCustomer, service.StatusClosed, at.Add(-48*time.Hour)),
		saveConversation(t, s, "ses-er-live", erasedCustomer, service.StatusHandedOff, at.Add(-time.Hour)),
	}
	otherTalk := saveConversation(t, s, "ses-other", "cus-other", service.StatusClosed, at.Add(-2*time.Hour))
	if _, _, err := s.RecordConsent(ctx, &privacy.Consent{CustomerID: erasedCustomer, Purpose: privacy.Marketing, Granted: true,
		Channel: privacy.ChannelApp, PolicyVersion: "1", At: ended.AddDate(-1, 0, 0), IdempotencyKey: "er-consent", RecordedAt: at, RecordedBy: "key:k"}); err != nil {
		t.Fatal(err)
	}
	req := &privacy.Request{CustomerID: erasedCustomer, Kind: privacy.KindDeletion, Channel: privacy.ChannelApp, RelationshipEndedAt: &ended, IdempotencyKey: "er-req"}
	if err := privacy.NewRequest(req, privacy.DefaultPolicy(), "key:k", at); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateRequest(ctx, req); err != nil {
		t.Fatal(err)
	}
	req.Status = privacy.StatusInProgress

	if _, err := s.Erasure(ctx, req.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("Erasure before any run: %v, want not found", err)
	}
	e, plan, err := privacy.NewErasure(req, privacy.DefaultPolicy(), 7, "key:admin", at)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Complete {
		t.Error("plan with AML retention is complete")
	}
	rep, err := s.Erase(ctx, e)
	if err != nil {
		t.Fatal(err)
	}
	want := privacy.ErasureCounts{Anonymised: 4, Restricted: 2, Outcomes: 2, Conversations: 2, Turns: 4}
	if rep.Run != want || rep.Total != want {
		t.Errorf("Erase run %+v total %+v, want %+v", rep.Run, rep.Total, want)
	}
	dtx, did := ended.AddDate(privacy.AMLRetentionYears, 0, 0), ended.AddDate(privacy.LimitationYears, 0, 0)
	wantR := map[privacy.Category]time.Time{privacy.Transactions: dtx, privacy.Identity: dtx, privacy.Consents: did, privacy.SubjectRequests: did}
	if len(rep.Restrictions) != len(wantR) {
		t.Errorf("restrictions %+v, want %v", rep.Restrictions, wantR)
	}
	for _, r := range rep.Restrictions {
		if w, ok := wantR[r.Category]; !ok || r.DeletableAt == nil || !r.DeletableAt.Equal(w) || r.DeletedAt != nil || r.Then != privacy.Delete {
			t.Errorf("restriction %+v, want deletable at %v", r, w)
		}
	}
	if rep.RequestID != req.ID || !rep.ExecutedAt.Equal(at) || rep.ExecutedBy != "key:admin" {
		t.Errorf("report %+v", rep)
	}

	// The customer is gone from every lookup; the other customer is not.
	find := func(f guard.DecisionFilter) []int64 {
		t.Helper()
		f.Limit = 1000
		got, err := s.FindDecisions(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return seqs(got)
	}
	for _, c := range []struct {
		f    guard.DecisionFilter
		want []int64
	}{
		{guard.DecisionFilter{CustomerID: erasedCustomer}, []int64{}},
		{guard.DecisionFilter{DeviceID: erasedDevice}, []int64{5}},
		{guard.DecisionFilter{Account: erasedAccount}, []int64{5}},
		{guard.DecisionFilter{}, []int64{6, 5, 3, 2, 1}},
	} {
		if got := find(c.f); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("FindDecisions(%+v) = %v, want %v", c.f, got, c.want)
		}
	}
	for _, r := range recs {
		if r.Seq == 5 {
			continue
		}
		if _, err := s.Decision(ctx, r.Decision.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("Decision(%s) after erasure: %v, want not found", r.Decision.ID, err)
		}
		if _, err := s.DecisionByEvent(ctx, r.Event.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			t.Errorf("DecisionByEvent(%s) after erasure: %v, want not found", r.Event.ID, err)
		}
	}

	// The anonymised records keep what reports count, and nothing of the
	// person.
	all, err := s.FindDecisions(ctx, guard.DecisionFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	token := ""
	anonymised := map[int64]*guard.Record{}
	for _, got := range all {
		if got.Seq == 5 {
			continue
		}
		anonymised[got.Seq] = got
		orig := recs[got.Seq-1]
		requireNoTrace(t, fmt.Sprintf("seq %d", got.Seq), got.Event.Raw, got.EncodedDecision())
		d := got.Decision
		if !guard.IsAnonymous(d.CustomerID) || token != "" && d.CustomerID != token {
			t.Errorf("seq %d customer %q, want one anonymous token", got.Seq, d.CustomerID)
		}
		token = d.CustomerID
		if d.EventType != orig.Decision.EventType || d.Action != orig.Decision.Action || d.Score != orig.Decision.Score ||
			d.Typology != orig.Decision.Typology || !d.OccurredAt.Equal(orig.Decision.OccurredAt) || len(d.Reasons) != 1 || d.Reasons[0].Rule != "new_device" {
			t.Errorf("seq %d decision %+v lost what reports count", got.Seq, d)
		}
		ev, err := guard.DecodeEvent(got.Event.Raw)
		if err != nil {
			t.Errorf("seq %d: anonymised event does not decode: %v", got.Seq, err)
			continue
		}
		if ev.Type != orig.Event.Type || !ev.OccurredAt.Equal(orig.Event.OccurredAt) || ev.Customer.ID != token || ev.ID != d.EventID || got.Event.ID != d.EventID {
			t.Errorf("seq %d event %+v", got.Seq, ev)
		}
		if byID, err := s.Decision(ctx, d.ID); err != nil || byID.Seq != got.Seq {
			t.Errorf("Decision(%s) of the anonymised record: %v", d.ID, err)
		}
	}
	if len(anonymised) != 4 {
		t.Fatalf("anonymised records %v", anonymised)
	}
	// Outcomes keep label and amounts, lose note, account and customer.
	o, err := s.Outcome(ctx, anonymised[3].Decision.ID)
	if err != nil {
		t.Fatal(err)
	}
	if o.Kind != guard.OutcomeConfirmedFraud || o.AmountLost != 300000 || o.AmountSaved != 100 || o.Typology != "account_takeover" ||
		o.Note != "" || o.Account != "" || o.CustomerID != token {
		t.Errorf("anonymised outcome %+v", o)
	}
	if o, err := s.Outcome(ctx, recs[3].Decision.ID); err != nil || o.Note != "" || o.Account != "" || o.CustomerID != token || o.AmountLost != 300000 {
		t.Errorf("outcome of the restricted record %+v, %v", o, err)
	}
	nOut := 0
	if err := s.Outcomes(ctx, func(o *guard.Outcome) error {
		nOut++
		if o.CustomerID == erasedCustomer || o.Note != "" {
			t.Errorf("outcome %+v keeps the person", o)
		}
		return nil
	}); err != nil || nOut != 2 {
		t.Errorf("Outcomes: %d, %v", nOut, err)
	}

	// Replay sees the anonymised records (which the engine skips) and not
	// the restricted ones; seqs are not reused.
	var replayed []int64
	if err := s.Replay(ctx, 0, func(it guard.ReplayItem) error {
		replayed = append(replayed, it.Seq)
		ev, err := guard.DecodeEvent(bytes.Clone(it.Raw))
		if err != nil {
			return err
		}
		if it.Seq != 5 && !guard.IsAnonymous(ev.Customer.ID) {
			t.Errorf("replayed seq %d of %q", it.Seq, ev.Customer.ID)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(replayed, []int64{1, 2, 3, 5, 6}) {
		t.Errorf("replayed %v, want 1 2 3 5 6", replayed)
	}
	if max, err := s.MaxSeq(ctx); err != nil || max != 7 {
		t.Errorf("MaxSeq = %d, %v; want 7 although seq 7 was restricted", max, err)
	}

	// Conversations: the sessions keep what the statistics count under
	// the same token as the records and new ids; the turns, the comment
	// and the link to the customer are gone.
	for _, se := range talks {
		requireNoConversation(t, s, se.ID, erasedCustomer)
	}
	allTalks, err := s.FindServiceSessions(ctx, service.SessionFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(allTalks) != 3 {
		t.Fatalf("sessions after the erasure: %d, want 3", len(allTalks))
	}
	for i, got := range allTalks {
		if got.ID == otherTalk.ID {
			if got.CustomerID != "cus-other" || got.CSATComment == "" {
				t.Errorf("the other customer's session changed: %+v", got)
			}
			continue
		}
		orig := talks[1]
		if i == 2 {
			orig = talks[0]
		}
		if !guard.IsAnonymous(got.ID) || got.ID == orig.ID || got.CustomerID != token {
			t.Errorf("anonymised session id %q customer %q, want new anonymous id and the records' token %q", got.ID, got.CustomerID, token)
		}
		if !got.OpenedAt.Equal(orig.OpenedAt) || got.Channel != orig.Channel || got.Queue != orig.Queue || got.RouteReason != orig.RouteReason ||
			got.AgentID != orig.AgentID || got.ScamType != orig.ScamType || !slices.Equal(got.Warnings, orig.Warnings) ||
			!slices.Equal(got.Topics, orig.Topics) || got.Turns != orig.Turns || got.Status != service.StatusClosed || got.CSATComment != "" {
			t.Errorf("anonymised session %+v lost what the statistics count (was %+v)", got, orig)
		}
		if orig.Status == service.StatusClosed {
			if got.CSAT == nil || *got.CSAT != 4 || got.Resolved == nil || !*got.Resolved || got.ClosedBy != "agent" || !got.ClosedAt.Equal(*orig.ClosedAt) {
				t.Errorf("anonymised closed session %+v", got)
			}
		} else if got.ClosedBy != "erasure" || got.ClosedAt == nil || !got.ClosedAt.Equal(at) || got.Resolved != nil {
			t.Errorf("session with an agent: %+v, want closed by the erasure at %v", got, at)
		}
		if ts, err := s.ServiceTurns(ctx, got.ID); err != nil || len(ts) != 0 {
			t.Errorf("turns of the anonymised session: %d, %v", len(ts), err)
		}
		js, _ := json.Marshal(got)
		requireNoTrace(t, "anonymised session", js)
	}
	if ts, err := s.ServiceTurns(ctx, otherTalk.ID); err != nil || len(ts) != 2 {
		t.Errorf("turns of the other customer's session: %d, %v", len(ts), err)
	}
	// Their texts waiting for review in the FAQ are gone; the other
	// customer's stays.
	if ex, err := s.FAQExamples(ctx, faq.ExamplePending, 0); err != nil || len(ex) != 1 || ex[0].By != "session:"+otherTalk.ID {
		t.Errorf("pending FAQ examples after the erasure = %+v, %v; want only the other customer's", ex, err)
	}
	// The verdict on an answer follows its session, for the statistics.
	fb, err := s.ServiceFeedbackBetween(ctx, at.AddDate(0, 0, -7), at)
	if err != nil {
		t.Fatal(err)
	}
	anonFB := 0
	for _, f := range fb {
		if guard.IsAnonymous(f.SessionID) {
			anonFB++
		} else if f.SessionID != otherTalk.ID {
			t.Errorf("feedback %+v after the erasure", f)
		}
	}
	if len(fb) != 2 || anonFB != 1 {
		t.Errorf("feedback after the erasure: %d, %d anonymised; want 2, 1", len(fb), anonFB)
	}

	// The restricted records are kept as they were, for the legal
	// obligation only.
	requireRestricted := func(want ...int64) {
		t.Helper()
		got, err := s.RestrictedRecords(ctx, privacy.RestrictedFilter{CustomerID: erasedCustomer})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs(got), want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("RestrictedRecords = %v, want %v", seqs(got), want)
		}
		for _, r := range got {
			if !bytes.Equal(r.Event.Raw, recs[r.Seq-1].Event.Raw) || r.Decision.CustomerID != erasedCustomer || r.Decision.ID != recs[r.Seq-1].Decision.ID {
				t.Errorf("restricted seq %d changed", r.Seq)
			}
		}
	}
	requireRestricted(7, 4)
	if page, err := s.RestrictedRecords(ctx, privacy.RestrictedFilter{CustomerID: erasedCustomer, BeforeSeq: 7, Limit: 1}); err != nil || !slices.Equal(seqs(page), []int64{4}) {
		t.Errorf("RestrictedRecords page = %v, %v", seqs(page), err)
	}
	if none, err := s.RestrictedRecords(ctx, privacy.RestrictedFilter{CustomerID: "cus-other"}); err != nil || len(none) != 0 {
		t.Errorf("RestrictedRecords of another customer = %v, %v", seqs(none), err)
	}

	// A retry changes nothing; a later event of the customer is not
	// touched by it.
	later := erasureRecord(8, erasedCustomer, guard.Login)
	mustSave(t, s, later)
	e2, _, err := privacy.NewErasure(req, privacy.DefaultPolicy(), 7, "key:other", at.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rep2, err := s.Erase(ctx, e2)
	if err != nil {
		t.Fatal(err)
	}
	if !rep2.Run.Zero() || rep2.Total != want || !rep2.LastRunAt.Equal(at) || rep2.ExecutedBy != "key:admin" {
		t.Errorf("retried Erase = %+v", rep2)
	}
	again, err := s.FindDecisions(ctx, guard.DecisionFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(seqs(again), []int64{8, 6, 5, 3, 2, 1}) {
		t.Errorf("after the retry: %v", seqs(again))
	}
	for _, r := range again[1:] {
		if a := anonymised[r.Seq]; a != nil && (a.Decision.ID != r.Decision.ID || !bytes.Equal(a.Event.Raw, r.Event.Raw)) {
			t.Errorf("the retry changed seq %d", r.Seq)
		}
	}
	if got := find(guard.DecisionFilter{CustomerID: erasedCustomer}); !slices.Equal(got, []int64{8}) {
		t.Errorf("the later event: %v, want 8", got)
	}

	// An erasure is of one customer.
	other := *e2
	other.CustomerID = "cus-other"
	if _, err := s.Erase(ctx, &other); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		t.Errorf("erasing another customer under the same request: %v, want conflict", err)
	}

	// The sweep deletes each category when its retention ends.
	sweep := func(now time.Time) *privacy.SweepReport {
		t.Helper()
		r, err := s.SweepErasures(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := sweep(did.Add(-time.Second)); !r.Empty() {
		t.Errorf("sweep before any retention ended: %+v", r)
	}
	if r := sweep(did); !slices.Equal(r.Requests, []string{req.ID}) || r.Consents != 1 || r.SubjectRequests != 1 || r.Records != 0 {
		t.Errorf("sweep after 3 years: %+v", r)
	}
	if h, err := s.Consents(ctx, erasedCustomer); err != nil || len(h) != 0 {
		t.Errorf("consents after the sweep: %v, %v", h, err)
	}
	if _, err := s.Request(ctx, req.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("subject request after the sweep: %v", err)
	}
	requireRestricted(7, 4)
	if r := sweep(did.Add(time.Hour)); !r.Empty() {
		t.Errorf("second sweep: %+v", r)
	}
	if r := sweep(dtx); !slices.Equal(r.Requests, []string{req.ID}) || r.Records != 2 || r.Outcomes != 1 {
		t.Errorf("sweep after 10 years: %+v", r)
	}
	requireRestricted()
	if _, err := s.Outcome(ctx, recs[3].Decision.ID); xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		t.Errorf("outcome of a swept record: %v", err)
	}
	if _, err := s.Outcome(ctx, anonymised[3].Decision.ID); err != nil {
		t.Errorf("the anonymised outcome stays: %v", err)
	}
	final, err := s.Erasure(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range final.Restrictions {
		if r.DeletedAt == nil {
			t.Errorf("restriction %+v not deleted", r)
		}
	}
	if r := sweep(dtx.AddDate(1, 0, 0)); !r.Empty() {
		t.Errorf("sweep after everything: %+v", r)
	}
	if max, err := s.MaxSeq(ctx); err != nil || max != 8 {
		t.Errorf("MaxSeq = %d, %v; want 8", max, err)
	}

	// While the relationship goes on nothing is deletable; the end, once
	// known, is recorded by the next run.
	ongoing := &privacy.Request{ID: "dsr-ongoing", CustomerID: "cus-ongoing", Kind: privacy.KindDeletion, Status: privacy.StatusInProgress}
	mustSave(t, s, erasureRecord(9, "cus-ongoing", guard.Payment))
	eo, _, err := privacy.NewErasure(ongoing, privacy.DefaultPolicy(), 9, "key:admin", at)
	if err != nil {
		t.Fatal(err)
	}
	if ro, err := s.Erase(ctx, eo); err != nil || ro.Run.Restricted != 1 || ro.Restrictions[0].DeletableAt != nil {
		t.Fatalf("Erase while the relationship goes on = %+v, %v", ro, err)
	}
	if r := sweep(at.AddDate(50, 0, 0)); !r.Empty() {
		t.Errorf("sweep of an ongoing relationship: %+v", r)
	}
	ongoing.RelationshipEndedAt = &ended
	eo2, _, _ := privacy.NewErasure(ongoing, privacy.DefaultPolicy(), 9, "key:admin", at)
	ro, err := s.Erase(ctx, eo2)
	if err != nil || !ro.Run.Zero() || ro.Restrictions[0].DeletableAt == nil || !ro.Restrictions[0].DeletableAt.Equal(did) && !ro.Restrictions[0].DeletableAt.Equal(dtx) {
		t.Errorf("Erase once the relationship ended = %+v, %v", ro, err)
	}

	// A firm may delete conversations instead: the sessions go with their
	// turns and the verdicts on their answers.
	del := privacy.DefaultPolicy()
	del.Rules = slices.Clone(del.Rules)
	for i := range del.Rules {
		if del.Rules[i].Category == privacy.Conversations {
			del.Rules[i].Otherwise = privacy.Delete
		}
	}
	saveConversation(t, s, "ses-del", "cus-talk-del", service.StatusClosed, at)
	rd := &privacy.Request{ID: "dsr-talk-del", CustomerID: "cus-talk-del", Kind: privacy.KindDeletion, Status: privacy.StatusInProgress}
	for run, wantRun := range []privacy.ErasureCounts{{Conversations: 1, Turns: 2}, {}} {
		ed, _, err := privacy.NewErasure(rd, del, 0, "key:admin", at)
		if err != nil || ed.Conversations != privacy.Delete {
			t.Fatalf("NewErasure deleting conversations = %+v, %v", ed, err)
		}
		rep, err := s.Erase(ctx, ed)
		if err != nil || rep.Run != wantRun || rep.Total != (privacy.ErasureCounts{Conversations: 1, Turns: 2}) {
			t.Errorf("run %d deleting conversations = %+v, %v; want run %+v", run, rep, err, wantRun)
		}
	}
	requireNoConversation(t, s, "ses-del", "cus-talk-del")
	if all, err := s.FindServiceSessions(ctx, service.SessionFilter{}); err != nil || len(all) != 3 {
		t.Errorf("sessions after deleting one customer's: %d, %v; want the 3 of before", len(all), err)
	}
}

// exerciseConcurrentErasure runs one erasure four times at once: the
// records are erased once, and the totals count them once.
func exerciseConcurrentErasure(t *testing.T, s ErasureStore) {
	ctx := context.Background()
	mustSave(t, s, erasureRecord(101, "cus-race", guard.Login), erasureRecord(102, "cus-race", guard.Transfer), erasureRecord(103, "cus-race", guard.ProfileChange))
	req := &privacy.Request{ID: "dsr-race", CustomerID: "cus-race", Kind: privacy.KindDeletion, Status: privacy.StatusInProgress}
	at := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	saveConversation(t, s, "ses-race", "cus-race", service.StatusClosed, at.Add(-time.Hour))
	runs := make([]privacy.ErasureCounts, 4)
	var wg sync.WaitGroup
	for i := range runs {
		wg.Go(func() {
			e, _, err := privacy.NewErasure(req, privacy.DefaultPolicy(), 103, "key:admin", at)
			if err != nil {
				t.Error(err)
				return
			}
			rep, err := s.Erase(ctx, e)
			if err != nil {
				t.Error(err)
				return
			}
			runs[i] = rep.Run
		})
	}
	wg.Wait()
	var sum privacy.ErasureCounts
	for _, r := range runs {
		sum = sum.Add(r)
	}
	want := privacy.ErasureCounts{Anonymised: 2, Restricted: 1, Conversations: 1, Turns: 2}
	if sum != want {
		t.Errorf("concurrent runs erased %+v in all, want %+v", sum, want)
	}
	if rep, err := s.Erasure(ctx, req.ID); err != nil || rep.Total != want {
		t.Errorf("Erasure after concurrent runs = %+v, %v", rep, err)
	}
}

// requireNoTrace fails unless nothing of the erased customer is in the
// given texts.
func requireNoTrace(t *testing.T, what string, texts ...[]byte) {
	t.Helper()
	for _, b := range texts {
		for _, pii := range []string{erasedCustomer, erasedPhone, erasedIDNumber, erasedDevice, erasedIP, erasedAccount, erasedName, "evt-er-", "dec-er-", "ses-"} {
			if bytes.Contains(b, []byte(pii)) {
				t.Errorf("%s still holds %q: %s", what, pii, b)
			}
		}
		if !json.Valid(b) {
			t.Errorf("%s: not JSON: %s", what, b)
		}
	}
}
