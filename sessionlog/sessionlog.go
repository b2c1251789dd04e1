// Package sessionlog is the customer-service module's write-ahead log:
// append-only segment files that make a batch of session changes durable
// with one write(2), so that an answer is given as soon as its turn is
// logged and the store is written in larger batches behind it, by another
// goroutine (service.Journal).
//
// Durability matches SQLite's WAL with synchronous=NORMAL and Guard's
// journal: a batch whose Append returned is in the operating system and
// survives the process being killed at any moment; surviving power loss
// as well needs Options.Sync (an fsync per append). The service cuts a
// segment each time it starts a store write and deletes the segments the
// store then holds, so the log keeps only the last store interval or two
// of changes (tens of milliseconds).
package sessionlog

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/xiaobao-org/xiaobao/service"
)

// A frame is: payload length (uint32 LE), CRC-32C of the payload (uint32
// LE), payload (a JSON batch).
const frameHeader = 8

// maxFrame bounds a frame's payload: a longer length can only be a torn
// or foreign file.
const maxFrame = 256 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Options tune a log.
type Options struct {
	// Sync fsyncs after every append (power-loss durability, at the cost
	// of a disk flush per group commit).
	Sync bool
}

// Log is a log directory. Its methods are safe for concurrent use.
type Log struct {
	mu   sync.Mutex
	dir  string
	opts Options
	segs []int64  // sequence numbers of the segment files, ascending; the last is written
	f    *os.File // the last segment
	size int64    // its bytes of whole frames
}

var _ service.Journal = (*Log)(nil)

// wireTurn carries the reply a turn keeps out of its JSON form.
type wireTurn struct {
	service.Turn
	Reply *service.AskResult `json:"reply,omitempty"`
}

type wireBatch struct {
	Sessions []*service.Session `json:"sessions"`
	Turns    []wireTurn         `json:"turns"`
}

func (l *Log) segPath(seq int64) string {
	return filepath.Join(l.dir, fmt.Sprintf("%016d.log", seq))
}

// Open opens (or creates) the log in dir.
func Open(dir string, opts Options) (*Log, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("session log %s: %w", dir, err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("session log %s: %w", dir, err)
	}
	l := &Log{dir: dir, opts: opts}
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || e.IsDir() {
			continue
		}
		if seq, err := strconv.ParseInt(name, 10, 64); err == nil && seq > 0 {
			l.segs = append(l.segs, seq)
		}
	}
	slices.Sort(l.segs)
	// New appends go to a new segment: a torn frame at the end of the
	// last one (a crash mid-write) stays where the reader stops anyway.
	next := int64(1)
	if n := len(l.segs); n > 0 {
		next = l.segs[n-1] + 1
	}
	if err := l.create(next); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *Log) create(seq int64) error {
	f, err := os.OpenFile(l.segPath(seq), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("session log %s: %w", l.dir, err)
	}
	l.f, l.size = f, 0
	l.segs = append(l.segs, seq)
	return nil
}

// Append logs a batch with one write.
func (l *Log) Append(sessions []*service.Session, turns []*service.Turn) error {
	wb := wireBatch{Sessions: sessions, Turns: make([]wireTurn, len(turns))}
	for i, t := range turns {
		wb.Turns[i] = wireTurn{Turn: *t, Reply: t.Reply}
	}
	payload, err := json.Marshal(wb)
	if err != nil {
		return fmt.Errorf("session log: encode: %w", err)
	}
	if len(payload) > maxFrame {
		return fmt.Errorf("session log: a batch of %d bytes is over the %d-byte frame limit", len(payload), maxFrame)
	}
	buf := make([]byte, frameHeader+len(payload))
	binary.LittleEndian.PutUint32(buf[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(buf[4:8], crc32.Checksum(payload, castagnoli))
	copy(buf[frameHeader:], payload)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("session log: closed")
	}
	if _, err := l.f.Write(buf); err != nil {
		// A partial frame must not stay in front of the next one.
		_ = l.f.Truncate(l.size)
		_, _ = l.f.Seek(l.size, io.SeekStart)
		return fmt.Errorf("session log %s: %w", l.dir, err)
	}
	if l.opts.Sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("session log %s: %w", l.dir, err)
		}
	}
	l.size += int64(len(buf))
	return nil
}

// Cut ends the segment being written (when it holds anything) and returns
// a mark for everything appended so far.
func (l *Log) Cut() (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, errors.New("session log: closed")
	}
	cur := l.segs[len(l.segs)-1]
	if l.size == 0 {
		return cur - 1, nil
	}
	if err := l.f.Close(); err != nil {
		return 0, fmt.Errorf("session log %s: %w", l.dir, err)
	}
	l.f = nil
	if err := l.create(cur + 1); err != nil {
		return 0, err
	}
	return cur, nil
}

// Stored deletes the segments up to mark: the store holds them.
func (l *Log) Stored(mark int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	keep := l.segs[:0]
	last := l.segs[len(l.segs)-1]
	for _, seq := range l.segs {
		if seq <= mark && seq != last {
			if err := os.Remove(l.segPath(seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
				keep = append(keep, seq)
			}
			continue
		}
		keep = append(keep, seq)
	}
	l.segs = keep
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("session log %s: %w", l.dir, err)
	}
	return nil
}

// Pending returns the batches in the log, oldest first, and the mark
// of the segments before the one being written (all of them at start,
// when that one is new).
func (l *Log) Pending() ([]service.JournalBatch, int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []service.JournalBatch
	var mark int64
	for i, seq := range l.segs {
		if _, err := readSegment(l.segPath(seq), func(b service.JournalBatch) { out = append(out, b) }); err != nil {
			return nil, 0, err
		}
		if i < len(l.segs)-1 {
			mark = seq
		}
	}
	return out, mark, nil
}

// readSegment reads a segment's whole frames, giving each batch to fn.
// It stops at the first frame that is short or fails its checksum: the
// tail a crash left.
func readSegment(path string, fn func(service.JournalBatch)) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	} else if err != nil {
		return 0, fmt.Errorf("session log: %w", err)
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<16)
	var (
		n   int
		pos int64
		hdr [frameHeader]byte
	)
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return n, nil
		}
		size := binary.LittleEndian.Uint32(hdr[0:4])
		sum := binary.LittleEndian.Uint32(hdr[4:8])
		if size > maxFrame {
			return n, nil
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(r, payload); err != nil || crc32.Checksum(payload, castagnoli) != sum {
			return n, nil
		}
		var wb wireBatch
		if err := json.Unmarshal(payload, &wb); err != nil {
			return n, fmt.Errorf("session log %s: frame at %d: %w", path, pos, err)
		}
		jb := service.JournalBatch{Sessions: wb.Sessions, Turns: make([]*service.Turn, len(wb.Turns))}
		for i := range wb.Turns {
			t := wb.Turns[i].Turn
			t.Reply = wb.Turns[i].Reply
			jb.Turns[i] = &t
		}
		fn(jb)
		pos += frameHeader + int64(size)
		n++
	}
}

// Close closes the segment being written; what the log holds is replayed
// at the next Open.
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
