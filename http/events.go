package http

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
)

// handlePostEvent decides one event: the hot path. It reads the body into
// a slice the event keeps, decodes it with the hand-written decoder, waits
// for the durable decision and writes it from a pooled buffer.
func handlePostEvent(s *server) handler {
	limit := s.cfg.MaxBodyBytes
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		body, err := readBody(r, limit)
		if err != nil {
			s.error(w, r, err)
			return
		}
		ev, err := guard.DecodeEvent(body)
		if err != nil {
			s.error(w, r, err)
			return
		}
		res := s.guard.SubmitEvent(r.Context(), ev)
		if res.Err != nil {
			s.error(w, r, res.Err)
			return
		}
		replay := res.Replay
		buf := decisionBuffers.Get().(*decisionBuffer)
		if res.JSON != nil {
			buf.b = append(buf.b[:0], res.JSON...) // encoded once, for the journal
		} else {
			buf.b = appendDecision(buf.b[:0], res.Decision)
		}
		buf.b = append(buf.b, '\n')
		h := w.Header()
		h[contentType] = hdrJSON
		if len(buf.b) > 2000 {
			// Smaller bodies get their Content-Length from net/http, which
			// formats it without allocating.
			h["Content-Length"] = []string{strconv.Itoa(len(buf.b))}
		}
		if replay {
			h["Idempotent-Replayed"] = hdrTrue
		}
		_, _ = w.Write(buf.b) // 200
		if cap(buf.b) <= 64<<10 {
			decisionBuffers.Put(buf)
		}
	}
}

type decisionBuffer struct{ b []byte }

var decisionBuffers = sync.Pool{New: func() any { return &decisionBuffer{b: make([]byte, 0, 2048)} }}

// batchChunk is the most events passed to one SubmitBatch call.
const batchChunk = 1000

// batchLine is one line of a batch: its event, or why it is bad.
type batchLine struct {
	n   int // 1-based line number
	ev  *guard.Event
	err error
	res guard.Result
}

// handlePostEventBatch decides an NDJSON stream of events. Every line is
// decoded first; good events are submitted in chunks (each SubmitBatch
// call makes its decisions durable together), and the response has one
// line per input line, in order: the decision, or the line's problem.
func handlePostEventBatch(s *server) handler {
	limit, lineLimit := s.cfg.MaxBatchBytes, s.cfg.MaxBodyBytes
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if err := s.guard.Err(); err != nil {
			s.error(w, r, err)
			return
		}
		buf := getBuffer()
		defer putBuffer(buf)
		if err := readLimited(buf, r.Body, limit); err != nil {
			s.error(w, r, err)
			return
		}
		lines := splitBatch(buf.Bytes(), lineLimit)
		if len(lines) == 0 {
			s.error(w, r, xiaobao.Invalid("the batch is empty", xiaobao.FieldError{Field: "", Reason: "the body holds no lines"}))
			return
		}

		h := w.Header()
		h[contentType] = hdrNDJSON
		h["X-Content-Type-Options"] = hdrNoSniff
		w.WriteHeader(http.StatusOK)
		out := bufio.NewWriterSize(w, 64<<10)
		flusher, _ := w.(http.Flusher)
		var (
			evs   = make([]*guard.Event, 0, min(batchChunk, len(lines)))
			idx   = make([]int, 0, cap(evs))
			next  = 0 // first line not yet written
			lbuf  []byte
			ctx   = r.Context()
			write = func(upto int) {
				for ; next < upto; next++ {
					lbuf = s.appendBatchLine(lbuf[:0], &lines[next])
					_, _ = out.Write(lbuf)
					lines[next] = batchLine{} // written: let the GC have it
				}
				_ = out.Flush()
				if flusher != nil {
					flusher.Flush()
				}
			}
		)
		submit := func() {
			if len(evs) == 0 {
				return
			}
			for i, res := range s.guard.SubmitBatch(ctx, evs) {
				lines[idx[i]].res = res
			}
			evs, idx = evs[:0], idx[:0]
		}
		for i := range lines {
			if lines[i].err != nil {
				continue
			}
			evs = append(evs, lines[i].ev)
			idx = append(idx, i)
			if len(evs) == batchChunk {
				submit()
				write(i + 1)
			}
		}
		submit()
		write(len(lines))
	}
}

// splitBatch splits an NDJSON body into lines and decodes each. A final
// newline does not start a line; "\r\n" endings are accepted.
func splitBatch(body []byte, lineLimit int64) []batchLine {
	var lines []batchLine
	for n := 1; len(body) > 0; n++ {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimSuffix(line, []byte{'\r'})
		bl := batchLine{n: n}
		switch {
		case int64(len(line)) > lineLimit:
			bl.err = xiaobao.Errorf(xiaobao.ETOOLARGE, "the line is larger than %d bytes", lineLimit)
		case len(bytes.TrimSpace(line)) == 0:
			bl.err = xiaobao.Invalid("the line is empty", xiaobao.FieldError{Field: "", Reason: "the line is empty"})
		default:
			// The event keeps its bytes until they are stored and beyond:
			// give it its own copy rather than pin the whole body.
			bl.ev, bl.err = guard.DecodeEvent(bytes.Clone(line))
		}
		lines = append(lines, bl)
	}
	return lines
}

// appendBatchLine appends the response line of one input line.
func (s *server) appendBatchLine(dst []byte, l *batchLine) []byte {
	err := l.err
	if err == nil {
		err = l.res.Err
	}
	if err == nil && l.res.JSON != nil {
		return append(append(dst, l.res.JSON...), '\n')
	}
	if err == nil && l.res.Decision != nil {
		dst = appendDecision(dst, l.res.Decision)
		return append(dst, '\n')
	}
	if err == nil {
		err = xiaobao.Errorf(xiaobao.EUNAVAILABLE, "the event was not decided")
	}
	p := s.problemOf(err)
	if p.Code == xiaobao.EINTERNAL {
		s.log.Error("internal error in batch line", "line", l.n, "err", err.Error())
	}
	pj, _ := json.Marshal(p)
	dst = append(dst, `{"line":`...)
	dst = strconv.AppendInt(dst, int64(l.n), 10)
	dst = append(dst, `,"problem":`...)
	dst = append(dst, pj...)
	return append(dst, "}\n"...)
}
