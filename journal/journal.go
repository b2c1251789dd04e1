// Package journal is Guard's write-ahead journal: an append-only file of
// decided records that makes a decision durable with one write(2) per group
// commit, so acknowledging a decision never waits for the store to update
// its indexes. The store catches up in large transactions in the background
// and the journal forgets what the store holds.
//
// Durability matches SQLite's WAL with synchronous=NORMAL: a write that
// returned is in the operating system, so it survives the process being
// killed at any moment; surviving power loss as well would need an fsync per
// commit (Options.Sync).
package journal

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/xiaobao-org/xiaobao/guard"
)

// A frame is: payload length (uint32 LE), CRC-32C of the payload (uint32
// LE), payload. The payload is: seq (uvarint), raw event length (uvarint),
// raw event, decision JSON length (uvarint), decision JSON.
const frameHeader = 8

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options tune a journal.
type Options struct {
	// SegmentBytes is the size after which a new segment file is started;
	// whole segments are deleted once the store holds their records.
	SegmentBytes int64
	// Sync fsyncs after every append (power-loss durability, at the cost
	// of a disk flush per group commit).
	Sync bool
	// Sealer, if set, encrypts each raw event (it holds names, accounts
	// and memos) before it reaches the segment file.
	Sealer guard.Sealer
}

type segment struct {
	path        string
	first, last int64 // seq range; last 0 while empty
}

// Log is a journal in one directory.
type Log struct {
	dir  string
	opts Options

	mu       sync.Mutex
	segs     []segment // oldest first; the last one is being written
	f        *os.File
	size     int64
	buf      []byte
	released int64
	// Scratch for sealing, reused under mu.
	ad, sealed []byte
}

// Open opens (creating if needed) the journal in dir. A torn frame at the
// end of the newest segment, left by a crash in the middle of a write, is
// cut off; damage anywhere else is an error, never silently skipped.
func Open(dir string, opts Options) (*Log, error) {
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = 64 << 20
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(dir, "*.journal"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	l := &Log{dir: dir, opts: opts}
	for i, name := range names {
		first, err := strconv.ParseInt(strings.TrimSuffix(filepath.Base(name), ".journal"), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("journal segment %s: unexpected name", name)
		}
		seg := segment{path: name, first: first}
		last := i == len(names)-1
		end, lastSeq, err := scan(name, last, nil)
		if err != nil {
			return nil, err
		}
		seg.last = lastSeq
		if last {
			f, err := os.OpenFile(name, os.O_RDWR, 0)
			if err != nil {
				return nil, fmt.Errorf("open journal segment: %w", err)
			}
			if err := f.Truncate(end); err != nil {
				f.Close()
				return nil, fmt.Errorf("cut torn journal tail: %w", err)
			}
			if _, err := f.Seek(end, io.SeekStart); err != nil {
				f.Close()
				return nil, err
			}
			l.f, l.size = f, end
		}
		l.segs = append(l.segs, seg)
	}
	return l, nil
}

// scan reads a segment's frames, calling fn for each, and returns the
// offset after the last good frame and its seq. In the newest segment
// (tail) a short or corrupt frame ends the scan; elsewhere it is an error.
func scan(path string, tail bool, fn func(seq int64, raw, dj []byte) error) (end, last int64, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, fmt.Errorf("read journal segment: %w", err)
	}
	off := 0
	for off < len(data) {
		bad := func(why string) (int64, int64, error) {
			if tail {
				return int64(off), last, nil
			}
			return 0, 0, fmt.Errorf("journal segment %s damaged at byte %d: %s", path, off, why)
		}
		if len(data)-off < frameHeader {
			return bad("short header")
		}
		n := int(binary.LittleEndian.Uint32(data[off:]))
		sum := binary.LittleEndian.Uint32(data[off+4:])
		if n > len(data)-off-frameHeader {
			return bad("short frame")
		}
		payload := data[off+frameHeader : off+frameHeader+n]
		if crc32.Checksum(payload, castagnoli) != sum {
			return bad("checksum mismatch")
		}
		seq, raw, dj, ok := decodePayload(payload)
		if !ok {
			return bad("malformed frame")
		}
		if fn != nil {
			if err := fn(seq, raw, dj); err != nil {
				return 0, 0, err
			}
		}
		last = seq
		off += frameHeader + n
	}
	return int64(off), last, nil
}

func decodePayload(p []byte) (seq int64, raw, dj []byte, ok bool) {
	s, n := binary.Uvarint(p)
	if n <= 0 {
		return 0, nil, nil, false
	}
	p = p[n:]
	rl, n := binary.Uvarint(p)
	if n <= 0 || rl > uint64(len(p)-n) {
		return 0, nil, nil, false
	}
	raw, p = p[n:n+int(rl)], p[n+int(rl):]
	dl, n := binary.Uvarint(p)
	if n <= 0 || dl != uint64(len(p)-n) {
		return 0, nil, nil, false
	}
	return int64(s), raw, p[n:], true
}

// Append writes records (in seq order) with one write and returns once
// they are durable.
func (l *Log) Append(recs []*guard.Record) error {
	if len(recs) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil || l.size >= l.opts.SegmentBytes {
		if err := l.rotate(recs[0].Seq); err != nil {
			return err
		}
	}
	b := l.buf[:0]
	for _, r := range recs {
		start := len(b)
		b = append(b, make([]byte, frameHeader)...)
		b = binary.AppendUvarint(b, uint64(r.Seq))
		raw := r.Event.Raw
		if l.opts.Sealer != nil {
			var err error
			l.ad = guard.AppendRawAD(l.ad[:0], r.Event.ID)
			if l.sealed, err = l.opts.Sealer.AppendEncrypt(l.sealed[:0], raw, l.ad); err != nil {
				return fmt.Errorf("seal journal record %d: %w", r.Seq, err)
			}
			raw = l.sealed
		}
		b = binary.AppendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
		dj := r.EncodedDecision()
		b = binary.AppendUvarint(b, uint64(len(dj)))
		b = append(b, dj...)
		payload := b[start+frameHeader:]
		binary.LittleEndian.PutUint32(b[start:], uint32(len(payload)))
		binary.LittleEndian.PutUint32(b[start+4:], crc32.Checksum(payload, castagnoli))
	}
	l.buf = b
	if _, err := l.f.Write(b); err != nil {
		// A short write leaves a torn frame that Open cuts off; the caller
		// reports these decisions as not stored.
		return fmt.Errorf("append to journal: %w", err)
	}
	if l.opts.Sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync journal: %w", err)
		}
	}
	l.size += int64(len(b))
	seg := &l.segs[len(l.segs)-1]
	seg.last = recs[len(recs)-1].Seq
	if cap(l.buf) > 8<<20 {
		l.buf = nil // do not pin a huge batch's buffer
	}
	return nil
}

func (l *Log) rotate(first int64) error {
	if l.f != nil {
		if err := l.f.Close(); err != nil {
			return fmt.Errorf("close journal segment: %w", err)
		}
		l.f = nil
	}
	path := filepath.Join(l.dir, fmt.Sprintf("%020d.journal", first))
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("create journal segment: %w", err)
	}
	l.f, l.size = f, 0
	l.segs = append(l.segs, segment{path: path, first: first})
	return l.released0()
}

// released0 deletes segments already released before a rotation made them
// old: Release never deletes the segment being written.
func (l *Log) released0() error {
	for len(l.segs) > 1 && l.segs[0].last != 0 && l.segs[0].last <= l.released {
		if err := os.Remove(l.segs[0].path); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove journal segment: %w", err)
		}
		l.segs = l.segs[1:]
	}
	return nil
}

// Release tells the journal that the store holds every record up to seq:
// whole segments at or below it are deleted.
func (l *Log) Release(seq int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if seq > l.released {
		l.released = seq
	}
	return l.released0()
}

// Replay calls fn with every record after seq, in order. The record's
// Event holds only what the store needs (decoded from the raw bytes).
func (l *Log) Replay(after int64, fn func(*guard.Record) error) error {
	l.mu.Lock()
	segs := append([]segment(nil), l.segs...)
	l.mu.Unlock()
	for i, seg := range segs {
		if seg.last != 0 && seg.last <= after {
			continue
		}
		_, _, err := scan(seg.path, i == len(segs)-1, func(seq int64, raw, dj []byte) error {
			if seq <= after {
				return nil
			}
			d := &guard.Decision{}
			if err := json.Unmarshal(dj, d); err != nil {
				return fmt.Errorf("journal record %d: decode decision: %w", seq, err)
			}
			raw = bytes.Clone(raw)
			if len(raw) > 0 && raw[0] != '{' {
				// Sealed: the event id it is bound to is the decision's.
				if l.opts.Sealer == nil {
					return fmt.Errorf("journal record %d is sealed and no key is configured", seq)
				}
				var err error
				if raw, err = l.opts.Sealer.AppendDecrypt(nil, raw, guard.AppendRawAD(nil, d.EventID)); err != nil {
					return fmt.Errorf("journal record %d: %w", seq, err)
				}
			}
			ev, err := guard.DecodeEvent(raw)
			if err != nil {
				return fmt.Errorf("journal record %d: %w", seq, err)
			}
			return fn(&guard.Record{Seq: seq, Event: ev, Decision: d})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Close closes the segment being written.
func (l *Log) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
