package audit

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
)

// Kinds of break that Verify reports.
const (
	// BreakMissing: a seq is absent: the record was deleted.
	BreakMissing = "missing"
	// BreakHash: a record's contents do not give its stored hash: a field
	// was changed.
	BreakHash = "hash_mismatch"
	// BreakReordered: a record holds the contents, hash included, of
	// another seq: records were moved.
	BreakReordered = "reordered"
	// BreakChain: a record's PrevHash is not the hash of the record
	// before: records before it were replaced or rewritten.
	BreakChain = "chain_broken"
	// BreakCheckpoint: a checkpoint's hash is not its record's: the chain
	// up to it was recomputed after the checkpoint was signed.
	BreakCheckpoint = "checkpoint_mismatch"
	// BreakSignature: a checkpoint's signature does not verify: it was
	// forged or altered.
	BreakSignature = "bad_checkpoint_signature"
	// BreakUnknownKey: a checkpoint names a key that is not trusted.
	BreakUnknownKey = "unknown_checkpoint_key"
	// BreakTruncated: a checkpoint refers to a record past the end of the
	// log: the newest records were deleted.
	BreakTruncated = "truncated"
)

// Break is the first problem Verify found.
type Break struct {
	Seq    int64
	Kind   string
	Detail string
}

func (b *Break) String() string {
	return fmt.Sprintf("record %d: %s: %s", b.Seq, b.Kind, b.Detail)
}

// Report is the result of Verify.
type Report struct {
	Records     int64 // records checked
	LastSeq     int64
	Checkpoints int64 // checkpoints checked (signatures verified when keys were given)
	// Unsigned counts checkpoints whose signature was not checked
	// because Verify was given no keys.
	Unsigned       int64
	LastCheckpoint int64 // seq of the last good checkpoint, 0 if none
	Broken         *Break
}

// OK reports whether nothing is broken.
func (r *Report) OK() bool { return r.Broken == nil }

// VerifyPageSize is how many records or checkpoints Verify reads at a
// time: its memory does not grow with the log.
const VerifyPageSize = 1000

// reorderWindow bounds the search for where a record's contents came
// from, which only runs once, at the first broken record.
const reorderWindow = 64

// Verify walks the whole log in seq order and reports the first broken
// record, or counts when all is well. keys are the trusted checkpoint
// public keys (current and earlier ones); with none, checkpoints are only
// compared with the chain and counted as Unsigned. The error is for
// failures to read the store; a broken log is a Report with Broken set.
func Verify(ctx context.Context, s Store, keys ...ed25519.PublicKey) (*Report, error) {
	return VerifyPaged(ctx, s, VerifyPageSize, keys...)
}

// VerifyPaged is Verify reading pageSize records or checkpoints at a time
// (tests use small pages to cross page boundaries with a short log).
func VerifyPaged(ctx context.Context, s Store, pageSize int, keys ...ed25519.PublicKey) (*Report, error) {
	if pageSize < 1 {
		pageSize = VerifyPageSize
	}
	trusted := map[string]ed25519.PublicKey{}
	for _, k := range keys {
		trusted[KeyID(k)] = k
	}
	rep := &Report{}
	cps := &cpCursor{s: s, pageSize: pageSize}
	prev := GenesisHash
	var after int64
	for {
		recs, err := s.AuditRecords(ctx, after, pageSize)
		if err != nil {
			return nil, fmt.Errorf("audit: verify: %w", err)
		}
		for i := range recs {
			r := &recs[i]
			want := rep.LastSeq + 1
			if r.Seq != want {
				rep.Broken = &Break{Seq: want, Kind: BreakMissing,
					Detail: fmt.Sprintf("record %d is missing (the next present is %d)", want, r.Seq)}
				return rep, nil
			}
			if b := checkRecord(prev, r); b != nil {
				rep.Broken = b
				return rep, nil
			}
			for {
				c, err := cps.peek(ctx)
				if err != nil {
					return nil, err
				}
				if c == nil || c.Seq > r.Seq {
					break
				}
				cps.next()
				if b := checkCheckpoint(c, r, trusted, rep); b != nil {
					rep.Broken = b
					return rep, nil
				}
			}
			prev = r.Hash
			rep.Records++
			rep.LastSeq = r.Seq
		}
		if len(recs) < pageSize {
			break
		}
		after = recs[len(recs)-1].Seq
	}
	c, err := cps.peek(ctx)
	if err != nil {
		return nil, err
	}
	if c != nil {
		rep.Broken = &Break{Seq: rep.LastSeq + 1, Kind: BreakTruncated,
			Detail: fmt.Sprintf("a checkpoint covers record %d but the log ends at %d: newer records were deleted", c.Seq, rep.LastSeq)}
	}
	return rep, nil
}

func checkRecord(prev []byte, r *Record) *Break {
	if !bytes.Equal(HashRecord(r.PrevHash, r), r.Hash) {
		// Moved records keep their own hashes but are hashed here under
		// their new seq: find the seq whose contents they hold.
		for d := int64(1); d <= reorderWindow; d++ {
			for _, s := range [2]int64{r.Seq - d, r.Seq + d} {
				if s < 1 {
					continue
				}
				moved := *r
				moved.Seq = s
				if bytes.Equal(HashRecord(r.PrevHash, &moved), r.Hash) {
					return &Break{Seq: r.Seq, Kind: BreakReordered,
						Detail: fmt.Sprintf("record %d holds the contents of record %d", r.Seq, s)}
				}
			}
		}
		return &Break{Seq: r.Seq, Kind: BreakHash, Detail: "its contents do not match its hash: a field was changed"}
	}
	if !bytes.Equal(r.PrevHash, prev) {
		return &Break{Seq: r.Seq, Kind: BreakChain,
			Detail: fmt.Sprintf("its previous hash is not record %d's hash: records were replaced or removed before it", r.Seq-1)}
	}
	return nil
}

func checkCheckpoint(c *Checkpoint, r *Record, trusted map[string]ed25519.PublicKey, rep *Report) *Break {
	if c.Seq != r.Seq {
		// Checkpoints are read in seq order alongside records without
		// gaps, so one behind the walk can only have a seq below 1.
		return &Break{Seq: c.Seq, Kind: BreakCheckpoint, Detail: "checkpoint for a seq that cannot exist"}
	}
	if len(trusted) > 0 {
		pub := trusted[c.KeyID]
		switch {
		case pub == nil:
			return &Break{Seq: c.Seq, Kind: BreakUnknownKey,
				Detail: fmt.Sprintf("checkpoint signed by key %s, which is not trusted", c.KeyID)}
		case !ed25519.Verify(pub, checkpointMessage(c), c.Signature):
			return &Break{Seq: c.Seq, Kind: BreakSignature,
				Detail: "checkpoint signature does not verify: the checkpoint was forged or altered"}
		}
	}
	if !bytes.Equal(c.Hash, r.Hash) {
		return &Break{Seq: c.Seq, Kind: BreakCheckpoint,
			Detail: fmt.Sprintf("the signed hash differs from the record's: records after %d were rewritten and rehashed", rep.LastCheckpoint)}
	}
	rep.Checkpoints++
	if len(trusted) == 0 {
		rep.Unsigned++
	}
	rep.LastCheckpoint = c.Seq
	return nil
}

// cpCursor reads checkpoints a page at a time.
type cpCursor struct {
	s        Store
	pageSize int
	page     []Checkpoint
	i        int
	after    int64
	done     bool
}

func (c *cpCursor) peek(ctx context.Context) (*Checkpoint, error) {
	if c.i < len(c.page) {
		return &c.page[c.i], nil
	}
	if c.done {
		return nil, nil
	}
	page, err := c.s.AuditCheckpoints(ctx, c.after, c.pageSize)
	if err != nil {
		return nil, fmt.Errorf("audit: verify: %w", err)
	}
	c.page, c.i = page, 0
	if len(page) < c.pageSize {
		c.done = true
	}
	if len(page) == 0 {
		return nil, nil
	}
	c.after = page[len(page)-1].Seq
	return &c.page[0], nil
}

func (c *cpCursor) next() { c.i++ }
