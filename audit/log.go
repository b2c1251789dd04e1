package audit

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Store persists the log. The sqlite and postgres packages implement it.
type Store interface {
	// AuditHead returns the seq and hash of the last record: 0 and
	// GenesisHash when the log is empty.
	AuditHead(ctx context.Context) (seq int64, hash []byte, err error)
	// AppendAudit stores recs and cps in one transaction, all or none.
	// recs are consecutive and chained; the first must follow the stored
	// head (its Seq is the head's plus one, its PrevHash the head's
	// hash), else another writer got there first: ECONFLICT. A taken
	// request id or checkpoint seq is also ECONFLICT.
	AppendAudit(ctx context.Context, recs []Record, cps []Checkpoint) error
	// AuditByRequestID returns the records with any of ids, in any order.
	AuditByRequestID(ctx context.Context, ids []string) ([]Record, error)
	// AuditRecords returns up to limit records with Seq > after, by Seq.
	AuditRecords(ctx context.Context, after int64, limit int) ([]Record, error)
	// AuditCheckpoints returns up to limit checkpoints with Seq > after,
	// by Seq.
	AuditCheckpoints(ctx context.Context, after int64, limit int) ([]Checkpoint, error)
}

// Config configures a Log.
type Config struct {
	Store  Store
	Signer *Signer
	// CheckpointEvery: a checkpoint is signed whenever an append crosses
	// a multiple of it (default 1000), besides those Checkpoint makes.
	CheckpointEvery int64
	// MaxBatch bounds the records written per transaction (default 256).
	MaxBatch int
}

// Log appends to the audit log. Appends are serialised, so the chain never
// forks, and concurrent ones are written together in one transaction.
// Several processes may share a database: a writer that finds the head
// moved reloads it and retries. Log is safe for concurrent use.
type Log struct {
	store    Store
	signer   *Signer
	every    int64
	maxBatch int

	mu      sync.Mutex
	queue   []*pending
	writing bool

	// The head as last written, known to the writer only (the goroutine
	// that set writing).
	headKnown bool
	headSeq   int64
	headHash  []byte
}

type pending struct {
	e    Entry
	rec  Record
	err  error
	done chan struct{}
}

// New returns a Log on cfg.Store.
func New(cfg Config) (*Log, error) {
	if cfg.Store == nil || cfg.Signer == nil {
		return nil, errors.New("audit: a store and a signer are required")
	}
	l := &Log{store: cfg.Store, signer: cfg.Signer, every: cfg.CheckpointEvery, maxBatch: cfg.MaxBatch}
	if l.every <= 0 {
		l.every = 1000
	}
	if l.maxBatch <= 0 {
		l.maxBatch = 256
	}
	return l, nil
}

// Append records e and returns its record once it is stored. An entry
// with a RequestID already in the log returns the stored record; if that
// record says something else (actor, action, target, reason, result or
// details differ) it is an ECONFLICT error. Invalid entries are EINVALID
// errors naming the field.
//
// The first caller to find no write in progress writes everything queued
// meanwhile, until the queue is empty; its own context's cancellation does
// not abort the others' records.
func (l *Log) Append(ctx context.Context, e Entry) (Record, error) {
	e, err := normalize(e)
	if err != nil {
		return Record{}, err
	}
	p := &pending{e: e, done: make(chan struct{})}
	l.mu.Lock()
	l.queue = append(l.queue, p)
	if !l.writing {
		l.writing = true
		wctx := context.WithoutCancel(ctx)
		for len(l.queue) > 0 {
			n := min(len(l.queue), l.maxBatch)
			batch := append([]*pending(nil), l.queue[:n]...)
			l.queue = append(l.queue[:0], l.queue[n:]...)
			l.mu.Unlock()
			l.commit(wctx, batch)
			l.mu.Lock()
		}
		l.writing = false
	}
	l.mu.Unlock()
	select {
	case <-p.done:
		return p.rec, p.err
	case <-ctx.Done():
		return Record{}, fmt.Errorf("audit: append: %w", ctx.Err())
	}
}

// maxAttempts bounds the retries of a batch that keeps losing the race
// for the head to other processes.
const maxAttempts = 50

// commit writes batch, retrying when another process moved the head.
func (l *Log) commit(ctx context.Context, batch []*pending) {
	var err error
	for attempt := 1; ; attempt++ {
		if err = l.tryCommit(ctx, batch); xiaobao.ErrorCode(err) != xiaobao.ECONFLICT || attempt == maxAttempts {
			break
		}
		// Another process appended between reading the head and
		// writing: reload it. A random pause keeps two busy writers from
		// colliding in lockstep.
		l.headKnown = false
		time.Sleep(time.Duration(rand.Int64N(int64(min(attempt, 20)) * int64(time.Millisecond))))
	}
	for _, p := range batch {
		if err != nil {
			p.rec, p.err = Record{}, fmt.Errorf("audit: append: %w", err)
		}
		close(p.done)
	}
}

func (l *Log) tryCommit(ctx context.Context, batch []*pending) error {
	var ids []string
	for _, p := range batch {
		if p.e.RequestID != "" {
			ids = append(ids, p.e.RequestID)
		}
	}
	byID := map[string]Record{}
	if len(ids) > 0 {
		old, err := l.store.AuditByRequestID(ctx, ids)
		if err != nil {
			return err
		}
		for _, r := range old {
			byID[r.RequestID] = r
		}
	}
	if !l.headKnown {
		seq, hash, err := l.store.AuditHead(ctx)
		if err != nil {
			return err
		}
		l.headSeq, l.headHash, l.headKnown = seq, hash, true
	}
	seq, prev := l.headSeq, l.headHash
	var recs []Record
	for _, p := range batch {
		p.rec, p.err = Record{}, nil
		if r, ok := byID[p.e.RequestID]; ok && p.e.RequestID != "" {
			if sameEntry(r.Entry, p.e) {
				p.rec = r
			} else {
				p.err = xiaobao.Errorf(xiaobao.ECONFLICT, "request id %q was used for a different audit entry (seq %d)", p.e.RequestID, r.Seq)
			}
			continue
		}
		seq++
		r := Record{Seq: seq, Entry: p.e, PrevHash: prev}
		r.Hash = HashRecord(prev, &r)
		prev = r.Hash
		recs = append(recs, r)
		p.rec = r
		if p.e.RequestID != "" {
			byID[p.e.RequestID] = r // a repeat later in the batch
		}
	}
	if len(recs) == 0 {
		return nil
	}
	var cps []Checkpoint
	if last := recs[len(recs)-1]; last.Seq/l.every > l.headSeq/l.every {
		cps = append(cps, l.signer.Sign(last.Seq, last.Hash, last.Time))
	}
	if err := l.store.AppendAudit(ctx, recs, cps); err != nil {
		return err
	}
	l.headSeq, l.headHash = seq, prev
	return nil
}

// Checkpoint signs the current head at t, unless the log is empty or the
// head already has a checkpoint, and returns what it stored (nil if
// nothing). Call it on a timer and at shutdown, so that the newest records
// do not wait for the next CheckpointEvery to be covered by a signature.
func (l *Log) Checkpoint(ctx context.Context, t time.Time) (*Checkpoint, error) {
	seq, hash, err := l.store.AuditHead(ctx)
	if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	if seq == 0 {
		return nil, nil
	}
	cp := l.signer.Sign(seq, hash, t)
	err = l.store.AppendAudit(ctx, nil, []Checkpoint{cp})
	if xiaobao.ErrorCode(err) == xiaobao.ECONFLICT {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("audit: checkpoint: %w", err)
	}
	return &cp, nil
}
