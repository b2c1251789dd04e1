package guard

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

//go:embed packs/builtin.yaml
var builtinPack []byte

// BuiltinPack returns the YAML of the built-in rule pack.
func BuiltinPack() []byte { return bytes.Clone(builtinPack) }

// BuiltinPackName is the name of the built-in pack.
const BuiltinPackName = "builtin"

// maxUnindexed bounds decisions acknowledged but not yet in the store
// (held in memory): beyond it the store is not keeping up, and new events
// are refused with EOVERLOADED rather than grow memory without bound.
const maxUnindexed = 200_000

// systemUser marks versions written by xiaobao itself (the built-in pack).
const systemUser = "xiaobao"

// Observer is told what the service does, for metrics. Implementations must
// be fast and safe for concurrent use.
type Observer interface {
	// Decided is called once per new decision after it is durable, with the
	// time from submission to acknowledgement.
	Decided(d *Decision, elapsed time.Duration)
	// Committed is called after each group commit.
	Committed(records int, elapsed time.Duration, err error)
	// RuleFailed is called when a rule's evaluation errs.
	RuleFailed(rule string)
}

type nopObserver struct{}

func (nopObserver) Decided(*Decision, time.Duration)    {}
func (nopObserver) Committed(int, time.Duration, error) {}
func (nopObserver) RuleFailed(string)                   {}

// Journal makes records durable before the store has indexed them: one
// append per group commit instead of a store transaction, so acknowledging
// a decision costs one write and the store catches up in large batches.
type Journal interface {
	// Append makes records (in seq order) durable.
	Append(recs []*Record) error
	// Replay calls fn with every record after seq, in order.
	Replay(after int64, fn func(*Record) error) error
	// Release says the store holds every record up to seq.
	Release(seq int64) error
}

// Config configures a Service.
type Config struct {
	Store Store
	// Journal, if set, acknowledges decisions once journaled and indexes
	// them into Store in the background; without it each group commit is a
	// store transaction.
	Journal  Journal
	Clock    xiaobao.Clock
	Logger   *slog.Logger
	Observer Observer
	// QueueSize bounds decisions waiting to be made durable; beyond it new
	// events are refused with EOVERLOADED rather than queued without bound.
	QueueSize int
	// MaxBatch bounds records per group commit.
	MaxBatch int
	// SnapshotInterval is how often feature state is snapshotted (if it
	// changed). Zero means every 5 minutes; negative disables periodic
	// snapshots (one is still taken at Close).
	SnapshotInterval time.Duration
	// SkipBuiltin leaves the built-in pack out of a new store.
	SkipBuiltin bool
	// OnIndexed, if set, is told of the records once the store holds them
	// (from the indexer, in seq order): derived views such as the entity
	// graph follow the store without a cost on the decision path. It must
	// not keep the slice.
	OnIndexed func([]*Record)
	// OnOutcome, if set, is told of each new outcome once stored.
	OnOutcome func(*Outcome)
	// InlineCommit appends each request's records to the journal while the
	// decision lock is held, instead of handing them to the group-commit
	// goroutine. It needs a Journal whose Append is one write(2) to the
	// page cache (no fsync): then the append costs less than the two
	// goroutine hand-offs and the in-flight bookkeeping a group commit
	// adds to every request. With an fsync per append, leave it off: group
	// commit shares each flush among many requests.
	InlineCommit bool
}

type pending struct {
	rec   *Record
	start time.Time
	done  chan struct{}
	err   error
}

// Service is Guard as a running service: it decides events, makes every
// decision durable before acknowledging it (group commit), and keeps feature
// state, rules and lists in step with the store across restarts.
type Service struct {
	cfg    Config
	store  Store
	clock  xiaobao.Clock
	log    *slog.Logger
	obs    Observer
	engine *Engine

	mu        sync.Mutex // serialises decisions: seq order = decision order
	seq       int64
	inflight  map[string]*pending
	recent    map[string]*Record // recently committed, by event id
	recentIDs []string
	recentPos int
	seen      *bloom
	ids       *idGen

	queue     chan *pending
	committed atomic.Int64
	// With a journal: records journaled but not yet in the store, by event
	// and by decision id (guarded by idxMu, apart from mu so that indexing
	// never stalls decisions), and the indexer's queue.
	idxMu       sync.Mutex
	unindexedN  atomic.Int64
	unindexed   map[string]*Record
	unindexedID map[string]*Record
	indexQ      chan []*Record
	indexed     atomic.Int64
	broken      atomic.Pointer[error]

	packMu    sync.Mutex // serialises pack changes
	listMu    sync.Mutex
	outcomeMu sync.Mutex // pairs an outcome's take-back with its replacement

	snapSeq atomic.Int64
	stop    chan struct{}
	wg      sync.WaitGroup
	idxWG   sync.WaitGroup
	closed  atomic.Bool
}

// Open starts a service on a store: it installs the built-in pack into a new
// store, loads the active packs and the lists, restores feature state from
// the latest snapshot plus the events stored after it, and rebuilds labels
// from outcomes.
func Open(ctx context.Context, cfg Config) (*Service, error) {
	if cfg.Store == nil {
		return nil, errors.New("guard: Config.Store is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = xiaobao.SystemClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 8192
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 512
	}
	if cfg.SnapshotInterval == 0 {
		cfg.SnapshotInterval = 5 * time.Minute
	}
	// Inline commits write the journal; a store transaction (with retries)
	// must never run under the decision lock.
	cfg.InlineCommit = cfg.InlineCommit && cfg.Journal != nil
	s := &Service{
		cfg: cfg, store: cfg.Store, clock: cfg.Clock, log: cfg.Logger, obs: cfg.Observer,
		engine:      NewEngine(nil),
		inflight:    map[string]*pending{},
		recent:      map[string]*Record{},
		recentIDs:   make([]string, 16384),
		ids:         newIDGen(),
		queue:       make(chan *pending, cfg.QueueSize),
		stop:        make(chan struct{}),
		unindexed:   map[string]*Record{},
		unindexedID: map[string]*Record{},
		indexQ:      make(chan []*Record, 1<<16), // batches, not records: one per group commit
	}
	s.engine.OnRuleError = func(rule string, err error) {
		s.obs.RuleFailed(rule)
		s.log.Warn("rule evaluation failed", "rule", rule, "err", err.Error())
	}
	if err := s.installBuiltin(ctx); err != nil {
		return nil, err
	}
	if err := s.reloadRules(ctx); err != nil {
		return nil, err
	}
	if err := s.reloadLists(ctx); err != nil {
		return nil, err
	}
	if err := s.recoverJournal(ctx); err != nil {
		return nil, err
	}
	if err := s.restore(ctx); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go s.commitLoop()
	if cfg.Journal != nil {
		s.idxWG.Add(1)
		go s.indexLoop()
	}
	if cfg.SnapshotInterval > 0 {
		s.wg.Add(1)
		go s.snapshotLoop()
	}
	return s, nil
}

// Engine returns the service's engine (for metrics and tests).
func (s *Service) Engine() *Engine { return s.engine }

// Store returns the service's store.
func (s *Service) Store() Store { return s.store }

func (s *Service) installBuiltin(ctx context.Context) error {
	if s.cfg.SkipBuiltin {
		return nil
	}
	versions, err := s.store.PackVersions(ctx, BuiltinPackName)
	if err != nil {
		return fmt.Errorf("load built-in pack versions: %w", err)
	}
	// A new store gets the built-in pack; a store whose active built-in
	// version was written by xiaobao itself is upgraded to this binary's
	// pack. A version a user edited is never replaced.
	if len(versions) > 0 {
		latest := versions[0]
		if latest.CreatedBy != systemUser || !latest.Active || latest.Source == string(builtinPack) {
			return nil
		}
	}
	p := &PackVersion{Name: BuiltinPackName, Source: string(builtinPack), CreatedAt: s.clock.Now().UTC(), CreatedBy: systemUser, Comment: "built-in pack of xiaobao " + xiaobao.Version}
	if _, err := ParsePack(builtinPack); err != nil {
		return fmt.Errorf("built-in pack: %w", err)
	}
	if err := s.store.SavePack(ctx, p); err != nil {
		return fmt.Errorf("save built-in pack: %w", err)
	}
	if err := s.store.ActivatePack(ctx, BuiltinPackName, p.Version); err != nil {
		return fmt.Errorf("activate built-in pack: %w", err)
	}
	return nil
}

func (s *Service) reloadRules(ctx context.Context) error {
	active, err := s.store.ActivePacks(ctx)
	if err != nil {
		return fmt.Errorf("load active packs: %w", err)
	}
	packs := make([]*Pack, 0, len(active))
	for _, pv := range active {
		p, err := ParsePack([]byte(pv.Source))
		if err != nil {
			return fmt.Errorf("load rule pack %s v%d: %w", pv.Name, pv.Version, err)
		}
		p.Version = pv.Version
		packs = append(packs, p)
	}
	rs, err := NewRuleset(packs...)
	if err != nil {
		return fmt.Errorf("load rule packs: %w", err)
	}
	s.engine.SetRuleset(rs)
	return nil
}

func (s *Service) reloadLists(ctx context.Context) error {
	es, err := s.store.ListEntries(ctx, ListFilter{})
	if err != nil {
		return fmt.Errorf("load lists: %w", err)
	}
	s.engine.SetLists(NewListIndex(es))
	return nil
}

// recoverJournal indexes into the store what the journal holds beyond it:
// decisions acknowledged before a crash that the store had not caught up
// with. It runs before restore, so feature replay sees them.
func (s *Service) recoverJournal(ctx context.Context) error {
	if s.cfg.Journal == nil {
		return nil
	}
	max, err := s.store.MaxSeq(ctx)
	if err != nil {
		return fmt.Errorf("read max seq: %w", err)
	}
	var batch []*Record
	n := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := s.store.SaveRecords(ctx, batch); err != nil {
			return fmt.Errorf("index journaled records: %w", err)
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err = s.cfg.Journal.Replay(max, func(r *Record) error {
		batch = append(batch, r)
		if len(batch) == 1000 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("recover journal: %w", err)
	}
	if max, err = s.store.MaxSeq(ctx); err != nil {
		return fmt.Errorf("read max seq: %w", err)
	}
	s.indexed.Store(max)
	if n > 0 {
		s.log.Info("journal recovered", "records", n)
	}
	return s.cfg.Journal.Release(max)
}

// restore rebuilds feature state: snapshot, then replay, then labels.
func (s *Service) restore(ctx context.Context) error {
	start := time.Now()
	seq, data, err := s.store.LoadSnapshot(ctx)
	if err != nil {
		return fmt.Errorf("load feature snapshot: %w", err)
	}
	st := NewState()
	if data != nil {
		if err := st.UnmarshalBinary(data); err != nil {
			// A snapshot we cannot read is not fatal: replay everything.
			s.log.Warn("feature snapshot unreadable; replaying all events", "err", err.Error())
			seq = 0
			st = NewState()
		}
	}
	s.engine.SetState(st)
	replayed := 0
	err = s.store.Replay(ctx, seq, func(it ReplayItem) error {
		ev, err := DecodeEvent(bytes.Clone(it.Raw))
		if err != nil {
			return fmt.Errorf("replay event seq %d: %w", it.Seq, err)
		}
		s.engine.Apply(ev, it.Action, it.Typology)
		replayed++
		return nil
	})
	if err != nil {
		return fmt.Errorf("replay events: %w", err)
	}
	maxSeq, err := s.store.MaxSeq(ctx)
	if err != nil {
		return fmt.Errorf("read max seq: %w", err)
	}
	s.seq = maxSeq
	s.committed.Store(maxSeq)
	s.snapSeq.Store(seq)
	// Every stored record has one event id and seqs are dense, so maxSeq is
	// the number of ids: size the filter once (twice the ids, ~1% false
	// positives) and read them in one pass.
	s.seen = newBloom(uint64(max(maxSeq, 1<<19)) * 2)
	n := 0
	if err := s.store.EventIDs(ctx, func(id string) error {
		s.seen.add(id)
		n++
		return nil
	}); err != nil {
		return fmt.Errorf("load event ids: %w", err)
	}
	nl := 0
	err = s.store.Outcomes(ctx, func(o *Outcome) error {
		rec, err := s.store.Decision(ctx, o.DecisionID)
		if err != nil {
			return nil // outcome on a decision we no longer have: nothing to learn
		}
		s.engine.state.Label(s.subject(rec), o.Kind, +1)
		nl++
		return nil
	})
	if err != nil {
		return fmt.Errorf("load outcomes: %w", err)
	}
	s.log.Info("guard state restored", "snapshot_seq", seq, "replayed", replayed, "events", n,
		"outcomes", nl, "customers", st.Customers(), "elapsed_ms", time.Since(start).Milliseconds())
	return nil
}

func (s *Service) subject(rec *Record) LabelSubject {
	sub := LabelSubject{CustomerID: rec.Decision.CustomerID, At: rec.Decision.OccurredAt.Unix()}
	if ev, err := DecodeEvent(bytes.Clone(rec.Event.Raw)); err == nil {
		sub.Account = ev.Counterparty.Account
		sub.DeviceID = ev.Device.ID
	}
	return sub
}

// Err reports why the service cannot take events, or nil.
func (s *Service) Err() error {
	if p := s.broken.Load(); p != nil {
		return *p
	}
	if s.closed.Load() {
		return xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the service is shutting down")
	}
	return nil
}

// QueueDepth returns the number of decisions waiting to be made durable.
func (s *Service) QueueDepth() int { return len(s.queue) }

// Submit decides one event and returns its decision once it is durable.
// An event_id seen before returns the first decision (replay = true) and
// changes nothing.
func (s *Service) Submit(ctx context.Context, ev *Event) (d *Decision, replay bool, err error) {
	out := s.SubmitBatch(ctx, []*Event{ev})
	return out[0].Decision, out[0].Replay, out[0].Err
}

// SubmitEvent is Submit returning the Result, whose JSON the HTTP adapter
// writes as it is.
func (s *Service) SubmitEvent(ctx context.Context, ev *Event) Result {
	return s.SubmitBatch(ctx, []*Event{ev})[0]
}

// Result is the outcome of one event of a batch.
type Result struct {
	Decision *Decision
	// JSON is Decision as AppendDecisionJSON encodes it, when the service
	// already has it (nil otherwise): the encoding made for the journal and
	// the store serves the response too.
	JSON   []byte
	Replay bool
	Err    error
}

// SubmitBatch decides events in order and waits until every new decision is
// durable. Each event gets its own result; one bad event does not fail the
// others.
func (s *Service) SubmitBatch(ctx context.Context, evs []*Event) []Result {
	res := make([]Result, len(evs))
	waits := make([]*pending, len(evs))
	if err := s.Err(); err != nil {
		for i := range res {
			res[i].Err = err
		}
		return res
	}
	start := s.clock.Now()
	var lookups []int
	// With InlineCommit, the records decided under one hold of mu are
	// journaled before it is released.
	var inline *[]*pending
	if s.cfg.InlineCommit {
		inline = new([]*pending)
	}
	s.mu.Lock()
	for i, ev := range evs {
		if p := s.inflight[ev.ID]; p != nil {
			waits[i] = p
			res[i].Replay = true
			continue
		}
		if rec := s.recent[ev.ID]; rec != nil {
			res[i] = Result{Decision: rec.Decision, JSON: rec.DecisionJSON, Replay: true}
			continue
		}
		if rec := s.unindexedRecord(ev.ID); rec != nil {
			res[i] = Result{Decision: rec.Decision, JSON: rec.DecisionJSON, Replay: true}
			continue
		}
		if s.seen.has(ev.ID) {
			lookups = append(lookups, i) // probably seen: ask the store outside the lock
			continue
		}
		waits[i], res[i].Err = s.decideLocked(ev, start, inline)
	}
	s.commitInlineLocked(inline)
	s.mu.Unlock()

	for _, i := range lookups {
		ev := evs[i]
		rec, err := s.store.DecisionByEvent(ctx, ev.ID)
		if err == nil {
			res[i] = Result{Decision: rec.Decision, JSON: rec.DecisionJSON, Replay: true}
			continue
		} else if xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
			res[i].Err = fmt.Errorf("look up event %q: %w", ev.ID, err)
			continue
		}
		s.mu.Lock()
		switch {
		case s.inflight[ev.ID] != nil:
			waits[i], res[i].Replay = s.inflight[ev.ID], true
		case s.recent[ev.ID] != nil:
			rec := s.recent[ev.ID]
			res[i] = Result{Decision: rec.Decision, JSON: rec.DecisionJSON, Replay: true}
		case s.unindexedRecord(ev.ID) != nil:
			rec := s.unindexedRecord(ev.ID)
			res[i] = Result{Decision: rec.Decision, JSON: rec.DecisionJSON, Replay: true}
		default:
			waits[i], res[i].Err = s.decideLocked(ev, start, inline)
		}
		s.commitInlineLocked(inline)
		s.mu.Unlock()
	}

	for i, p := range waits {
		if p == nil {
			continue
		}
		<-p.done
		if p.err != nil {
			res[i].Err = p.err
			continue
		}
		res[i].Decision = p.rec.Decision
		res[i].JSON = p.rec.DecisionJSON
	}
	return res
}

// decideLocked decides ev and queues its record for the group commit.
// s.mu must be held.
func (s *Service) decideLocked(ev *Event, start time.Time, inline *[]*pending) (*pending, error) {
	if s.closed.Load() {
		// Close closes the queues under mu after setting closed: checked
		// under mu, this keeps a late request from sending on them.
		return nil, xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the service is shutting down")
	}
	if len(s.queue) >= cap(s.queue) || s.unindexedN.Load() >= maxUnindexed || len(s.indexQ) >= cap(s.indexQ)-1 {
		return nil, xiaobao.Errorf(xiaobao.EOVERLOADED, "too many decisions are waiting to be stored; retry shortly")
	}
	d := s.engine.Decide(ev)
	s.seq++
	d.Seq = s.seq
	d.DecidedAt = start.UTC()
	d.ID = s.ids.next("dec_", start)
	p := &pending{rec: &Record{Seq: s.seq, Event: ev, Decision: d}, start: start, done: make(chan struct{})}
	s.inflight[ev.ID] = p
	s.seen.add(ev.ID)
	if inline != nil {
		*inline = append(*inline, p)
	} else {
		s.queue <- p
	}
	return p, nil
}

// commitLoop makes decisions durable in batches: whatever queued while the
// previous commit ran goes in the next transaction, so one fsync-free WAL
// commit covers many requests under load and a lone request waits for
// nobody.
func (s *Service) commitLoop() {
	defer s.wg.Done()
	batch := make([]*pending, 0, s.cfg.MaxBatch)
	recs := make([]*Record, 0, s.cfg.MaxBatch)
	for {
		p, ok := <-s.queue
		if !ok {
			return
		}
		batch = append(batch[:0], p)
	fill:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case p, ok := <-s.queue:
				if !ok {
					break fill
				}
				batch = append(batch, p)
			default:
				break fill
			}
		}
		recs = s.commit(batch, recs[:0], false)
	}
}

// commitInlineLocked journals the records decided under the current hold
// of mu (InlineCommit) and empties *inline. s.mu must be held.
func (s *Service) commitInlineLocked(inline *[]*pending) {
	if inline == nil || len(*inline) == 0 {
		return
	}
	s.commit(*inline, nil, true)
	clear(*inline)
	*inline = (*inline)[:0]
}

// commit makes batch durable, moves it from the in-flight map to the
// recent and unindexed ones, hands it to the indexer and wakes the
// waiters; recs is scratch space, returned for reuse. locked says whether
// the caller holds s.mu (inline commit) or not (the group-commit loop).
func (s *Service) commit(batch []*pending, recs []*Record, locked bool) []*Record {
	for _, p := range batch {
		// Encoded once here, for the journal, the store and the response.
		p.rec.DecisionJSON = AppendDecisionJSON(make([]byte, 0, decisionJSONHint), p.rec.Decision)
		recs = append(recs, p.rec)
	}
	t0 := time.Now()
	err := s.saveRecords(recs)
	s.obs.Committed(len(recs), time.Since(t0), err)
	if err != nil {
		// The decisions were made (feature state counted them) but are not
		// durable: refuse further events until a restart rebuilds state
		// from what is stored, rather than drift from it.
		s.log.Error("group commit failed; refusing events until restart", "records", len(recs), "err", err.Error())
		e := error(xiaobao.Errorf(xiaobao.EUNAVAILABLE, "decisions cannot be stored; the service needs a restart"))
		s.broken.CompareAndSwap(nil, &e)
	}
	if !locked {
		s.mu.Lock()
	}
	for _, p := range batch {
		delete(s.inflight, p.rec.Event.ID)
		if err == nil {
			s.remember(p.rec)
		}
	}
	if err == nil && s.cfg.Journal != nil {
		// Under mu as well, so no lookup can miss a record between the
		// inflight map and the unindexed one. Lock order: mu, then idxMu.
		s.idxMu.Lock()
		for _, p := range batch {
			s.unindexed[p.rec.Event.ID] = p.rec
			s.unindexedID[p.rec.Decision.ID] = p.rec
		}
		s.idxMu.Unlock()
		s.unindexedN.Add(int64(len(batch)))
	}
	if !locked {
		s.mu.Unlock()
	}
	if err == nil {
		s.committed.Store(batch[len(batch)-1].rec.Seq)
	}
	now := s.clock.Now()
	for _, p := range batch {
		if err != nil {
			p.err = xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the decision could not be stored; retry")
		} else {
			s.obs.Decided(p.rec.Decision, now.Sub(p.start))
		}
		close(p.done)
	}
	if err == nil && s.cfg.Journal != nil {
		// decideLocked refuses events before this queue is full, so the
		// send never blocks while an inline commit holds mu; from the
		// group-commit loop it blocks when the indexer falls far behind,
		// and the commit queue then fills and new events get 429. The loop
		// reuses its recs for the next batch; an inline commit's are its own.
		out := recs
		if !locked {
			out = slices.Clone(recs)
		}
		s.indexQ <- out
	}
	return recs
}

func (s *Service) saveRecords(recs []*Record) error {
	if s.cfg.Journal != nil {
		return s.cfg.Journal.Append(recs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if err = s.store.SaveRecords(ctx, recs); err == nil || xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
			break
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	return err
}

// indexLoop moves journaled records into the store in large transactions:
// whatever arrived while the previous one ran, so the store's per-commit
// cost is shared by thousands of records under load.
func (s *Service) indexLoop() {
	defer s.idxWG.Done()
	// Large transactions are what make indexing cheap: every record dirties
	// a leaf page of each secondary index, and in a big batch many records
	// share those pages and the commit (measured: a second's batch costs
	// half as much per record as a quarter second's, and three seconds'
	// about 5% less server CPU per request than one second's under the
	// HTTP benchmark). The lag costs little: acknowledged records are read
	// from memory until the store has them; only searches see them up to
	// three seconds late.
	const maxBatch = 32768
	const maxWait = 3 * time.Second
	var batch []*Record
	for {
		recs, ok := <-s.indexQ
		if !ok {
			return
		}
		batch = append(batch[:0], recs...)
		deadline := time.NewTimer(maxWait)
	fill:
		for len(batch) < maxBatch {
			select {
			case more, ok := <-s.indexQ:
				if !ok {
					break fill
				}
				batch = append(batch, more...)
			case <-deadline.C:
				break fill
			case <-s.stop:
				// Shutting down: take what is queued now, without waiting.
				for {
					select {
					case more, ok := <-s.indexQ:
						if !ok {
							break fill
						}
						batch = append(batch, more...)
					default:
						break fill
					}
				}
			}
		}
		deadline.Stop()
		for attempt := 0; ; attempt++ {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			err := s.store.SaveRecords(ctx, batch)
			cancel()
			if err == nil {
				break
			}
			// The records are safe in the journal; keep trying (a restart
			// would index them from there too).
			s.log.Error("indexing journaled decisions failed; retrying", "records", len(batch), "attempt", attempt+1, "err", err.Error())
			time.Sleep(min(time.Duration(attempt+1)*100*time.Millisecond, 5*time.Second))
		}
		last := batch[len(batch)-1].Seq
		// Once indexed a record is found in the store (and for a while in
		// the recent map), so dropping it here never makes it vanish.
		s.idxMu.Lock()
		for _, r := range batch {
			delete(s.unindexed, r.Event.ID)
			delete(s.unindexedID, r.Decision.ID)
		}
		s.idxMu.Unlock()
		s.unindexedN.Add(-int64(len(batch)))
		s.indexed.Store(last)
		if s.cfg.OnIndexed != nil {
			s.cfg.OnIndexed(batch)
		}
		if err := s.cfg.Journal.Release(last); err != nil {
			s.log.Warn("journal release failed", "err", err.Error())
		}
		clear(batch)
	}
}

// IndexLag returns how many acknowledged decisions the store has not yet
// indexed (always 0 without a journal).
func (s *Service) IndexLag() int {
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	return len(s.unindexed)
}

func (s *Service) unindexedRecord(eventID string) *Record {
	if s.cfg.Journal == nil {
		return nil
	}
	s.idxMu.Lock()
	defer s.idxMu.Unlock()
	return s.unindexed[eventID]
}

// remember keeps a committed record in the recent map, evicting the oldest.
func (s *Service) remember(rec *Record) {
	if old := s.recentIDs[s.recentPos]; old != "" {
		delete(s.recent, old)
	}
	s.recentIDs[s.recentPos] = rec.Event.ID
	s.recent[rec.Event.ID] = rec
	s.recentPos = (s.recentPos + 1) % len(s.recentIDs)
}

func (s *Service) snapshotLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.SnapshotInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.Snapshot(context.Background()); err != nil {
				s.log.Error("feature snapshot failed", "err", err.Error())
			}
		}
	}
}

// Snapshot saves feature state if it changed since the last snapshot. The
// state is encoded under the decision lock (a short pause) and written only
// once every decision it includes is durable, so a snapshot never holds an
// event the store lacks.
func (s *Service) Snapshot(ctx context.Context) error {
	s.mu.Lock()
	seq := s.seq
	if seq == s.snapSeq.Load() {
		s.mu.Unlock()
		return nil
	}
	data, err := s.engine.state.MarshalBinary()
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("encode feature snapshot: %w", err)
	}
	for s.committed.Load() < seq {
		if s.Err() != nil && s.broken.Load() != nil {
			return fmt.Errorf("snapshot: decisions up to seq %d were not stored", seq)
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.store.SaveSnapshot(ctx, seq, data); err != nil {
		return fmt.Errorf("save feature snapshot at seq %d: %w", seq, err)
	}
	s.snapSeq.Store(seq)
	s.log.Info("feature snapshot saved", "seq", seq, "bytes", len(data))
	return nil
}

// Close stops taking events, makes every queued decision durable, takes a
// final snapshot and stops the background work. It does not close the store.
func (s *Service) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	close(s.stop)
	s.mu.Lock()
	close(s.queue)
	s.mu.Unlock()
	s.wg.Wait()
	if s.cfg.Journal != nil {
		close(s.indexQ)
		s.idxWG.Wait()
	}
	if s.broken.Load() != nil {
		return nil
	}
	return s.Snapshot(context.Background())
}

// Decision returns a stored decision with its event.
func (s *Service) Decision(ctx context.Context, id string) (*Record, error) {
	s.idxMu.Lock()
	rec := s.unindexedID[id]
	s.idxMu.Unlock()
	if rec != nil {
		return rec, nil
	}
	return s.store.Decision(ctx, id)
}

// FindDecisions searches stored decisions.
func (s *Service) FindDecisions(ctx context.Context, f DecisionFilter) ([]*Record, error) {
	return s.store.FindDecisions(ctx, f)
}

// RecordOutcome stores what happened after a decision and teaches feature
// state (reported payees, fraud devices, victims). Recording the same
// outcome again changes nothing (created = false).
func (s *Service) RecordOutcome(ctx context.Context, o *Outcome) (created bool, err error) {
	var fe []xiaobao.FieldError
	valid := false
	for _, k := range OutcomeKinds {
		valid = valid || o.Kind == k
	}
	if !valid {
		fe = append(fe, xiaobao.FieldError{Field: "outcome", Reason: "must be one of confirmed_fraud, false_alarm, customer_dissuaded, customer_proceeded"})
	}
	if o.AmountLost < 0 {
		fe = append(fe, xiaobao.FieldError{Field: "amount_lost", Reason: "must not be negative"})
	}
	if o.AmountSaved < 0 {
		fe = append(fe, xiaobao.FieldError{Field: "amount_saved", Reason: "must not be negative"})
	}
	if len(fe) > 0 {
		return false, xiaobao.Invalid("the outcome is invalid", fe...)
	}
	rec, err := s.Decision(ctx, o.DecisionID)
	if err != nil {
		return false, err
	}
	sub := s.subject(rec)
	o.CustomerID = rec.Decision.CustomerID
	o.Account = sub.Account
	if o.Typology == "" {
		o.Typology = rec.Decision.Typology
	}
	if o.RecordedAt.IsZero() {
		o.RecordedAt = s.clock.Now().UTC()
	}
	if o.ID == "" {
		o.ID = s.ids.next("out_", o.RecordedAt)
	}
	s.outcomeMu.Lock()
	defer s.outcomeMu.Unlock()
	prev, err := s.store.Outcome(ctx, o.DecisionID)
	if err != nil && xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		return false, err
	}
	created, err = s.store.SaveOutcome(ctx, o)
	if err != nil || !created {
		if !created && prev != nil {
			*o = *prev
		}
		return created, err
	}
	s.mu.Lock()
	if prev != nil {
		s.engine.state.Label(sub, prev.Kind, -1)
	}
	s.engine.state.Label(sub, o.Kind, +1)
	s.mu.Unlock()
	if s.cfg.OnOutcome != nil {
		s.cfg.OnOutcome(o)
	}
	return true, nil
}

// Flag raises a customer's risk (from a service warning or a case) so their
// next money event meets the ladder. Flags live in memory until restart.
func (s *Service) Flag(customerID, typology string, at time.Time) {
	s.mu.Lock()
	s.engine.state.Flag(customerID, typology, at.Unix())
	s.mu.Unlock()
}

// ValidatePack parses and compiles a pack and checks it against the other
// active packs, without storing anything.
func (s *Service) ValidatePack(ctx context.Context, src []byte) (*Pack, error) {
	p, err := ParsePack(src)
	if err != nil {
		return nil, err
	}
	if _, err := s.rulesetWith(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

func (s *Service) rulesetWith(ctx context.Context, replace *Pack) (*Ruleset, error) {
	active, err := s.store.ActivePacks(ctx)
	if err != nil {
		return nil, fmt.Errorf("load active packs: %w", err)
	}
	packs := []*Pack{replace}
	for _, pv := range active {
		if pv.Name == replace.Spec.Pack {
			continue
		}
		p, err := ParsePack([]byte(pv.Source))
		if err != nil {
			return nil, fmt.Errorf("load rule pack %s v%d: %w", pv.Name, pv.Version, err)
		}
		p.Version = pv.Version
		packs = append(packs, p)
	}
	return NewRuleset(packs...)
}

// LoadPack validates a pack and stores it as a new version; with activate
// it also becomes the pack's active version. A pack that fails validation
// is never stored, so a bad pack never replaces a good one.
func (s *Service) LoadPack(ctx context.Context, src []byte, by, comment string, activate bool) (*PackVersion, error) {
	s.packMu.Lock()
	defer s.packMu.Unlock()
	p, err := s.ValidatePack(ctx, src)
	if err != nil {
		return nil, err
	}
	pv := &PackVersion{Name: p.Spec.Pack, Source: string(src), CreatedAt: s.clock.Now().UTC(), CreatedBy: by, Comment: comment}
	if err := s.store.SavePack(ctx, pv); err != nil {
		return nil, fmt.Errorf("save rule pack %s: %w", pv.Name, err)
	}
	if activate {
		if err := s.activateLocked(ctx, pv.Name, pv.Version); err != nil {
			return nil, err
		}
		pv.Active = true
	}
	return pv, nil
}

// ActivatePack makes a stored version the active one of its pack: rolling
// back is activating an earlier version.
func (s *Service) ActivatePack(ctx context.Context, name string, version int) error {
	s.packMu.Lock()
	defer s.packMu.Unlock()
	return s.activateLocked(ctx, name, version)
}

func (s *Service) activateLocked(ctx context.Context, name string, version int) error {
	pv, err := s.store.PackVersion(ctx, name, version)
	if err != nil {
		return err
	}
	p, err := ParsePack([]byte(pv.Source))
	if err != nil {
		return fmt.Errorf("rule pack %s v%d no longer compiles: %w", name, version, err)
	}
	p.Version = version
	rs, err := s.rulesetWith(ctx, p)
	if err != nil {
		return err
	}
	if err := s.store.ActivatePack(ctx, name, version); err != nil {
		return fmt.Errorf("activate rule pack %s v%d: %w", name, version, err)
	}
	s.engine.SetRuleset(rs)
	s.log.Info("rule pack activated", "pack", name, "version", version)
	return nil
}

// DeactivatePack stops using a pack.
func (s *Service) DeactivatePack(ctx context.Context, name string) error {
	s.packMu.Lock()
	defer s.packMu.Unlock()
	if err := s.store.DeactivatePack(ctx, name); err != nil {
		return err
	}
	return s.reloadRules(ctx)
}

// ValidateListEntry checks one entry, naming fields with prefix.
func ValidateListEntry(e *ListEntry, prefix string) []xiaobao.FieldError {
	var fe []xiaobao.FieldError
	if e.List != BlockList && e.List != AllowList {
		fe = append(fe, xiaobao.FieldError{Field: prefix + "list", Reason: "must be block or allow"})
	}
	kindOK := false
	for _, k := range EntityKinds {
		kindOK = kindOK || e.Kind == k
	}
	if !kindOK {
		fe = append(fe, xiaobao.FieldError{Field: prefix + "kind", Reason: "must be one of account, phone, device, ip, id_hash, customer"})
	}
	if e.Value == "" || len(e.Value) > 256 {
		fe = append(fe, xiaobao.FieldError{Field: prefix + "value", Reason: "must be 1-256 characters"})
	}
	if e.Kind == KindIDHash && len(e.Value) != 64 {
		fe = append(fe, xiaobao.FieldError{Field: prefix + "value", Reason: "must be the SHA-256 hex of the ID number (64 characters); send id_number to have it hashed"})
	}
	if len(e.Reason) > 1000 {
		fe = append(fe, xiaobao.FieldError{Field: prefix + "reason", Reason: "must be at most 1000 characters"})
	}
	return fe
}

// PutListEntries validates and stores entries (all or none) and updates the
// in-memory index.
func (s *Service) PutListEntries(ctx context.Context, es []*ListEntry) error {
	var fe []xiaobao.FieldError
	now := s.clock.Now().UTC()
	for i, e := range es {
		prefix := ""
		if len(es) > 1 {
			prefix = fmt.Sprintf("entries[%d].", i)
		}
		fe = append(fe, ValidateListEntry(e, prefix)...)
		if e.CreatedAt.IsZero() {
			e.CreatedAt = now
		}
	}
	if len(fe) > 0 {
		return xiaobao.Invalid("the list entries are invalid", fe...)
	}
	s.listMu.Lock()
	defer s.listMu.Unlock()
	if err := s.store.PutListEntries(ctx, es); err != nil {
		return fmt.Errorf("store list entries: %w", err)
	}
	s.engine.SetLists(s.engine.Lists().With(es))
	return nil
}

// DeleteListEntry removes one entry.
func (s *Service) DeleteListEntry(ctx context.Context, list ListName, kind EntityKind, value string) error {
	s.listMu.Lock()
	defer s.listMu.Unlock()
	if err := s.store.DeleteListEntry(ctx, list, kind, value); err != nil {
		return err
	}
	s.engine.SetLists(s.engine.Lists().With(nil, ListEntry{List: list, Kind: kind, Value: value}))
	return nil
}

// ListEntries searches list entries.
func (s *Service) ListEntries(ctx context.Context, f ListFilter) ([]*ListEntry, error) {
	return s.store.ListEntries(ctx, f)
}

// Packs returns every pack name with its versions, newest first.
func (s *Service) Packs(ctx context.Context) (map[string][]*PackVersion, error) {
	names, err := s.store.PackNames(ctx)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make(map[string][]*PackVersion, len(names))
	for _, n := range names {
		vs, err := s.store.PackVersions(ctx, n)
		if err != nil {
			return nil, err
		}
		out[n] = vs
	}
	return out, nil
}
