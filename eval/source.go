package eval

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/sim"
)

// Source yields a labelled history in the order Guard receives it.
type Source interface {
	// Next returns the next event and its ground truth, or io.EOF after
	// the last. The label is the source's and is valid until the next call;
	// the event is never reused.
	Next() (*guard.Event, *sim.Label, error)
}

// Item is one event of a history held in memory.
type Item struct {
	Event *guard.Event
	Label sim.Label
}

type sliceSource struct {
	items []Item
	i     int
}

// SliceSource replays items in order (tests and small hand-made histories).
func SliceSource(items []Item) Source { return &sliceSource{items: items} }

func (s *sliceSource) Next() (*guard.Event, *sim.Label, error) {
	if s.i >= len(s.items) {
		return nil, nil, io.EOF
	}
	it := &s.items[s.i]
	s.i++
	return it.Event, &it.Label, nil
}

type simSource struct {
	s     *sim.Sim
	limit int
	n     int
	label sim.Label
}

// SimSource replays a simulation as it runs, stopping after limit events
// (all of them when limit <= 0).
func SimSource(s *sim.Sim, limit int) Source { return &simSource{s: s, limit: limit} }

func (s *simSource) Next() (*guard.Event, *sim.Label, error) {
	if s.limit > 0 && s.n >= s.limit {
		return nil, nil, io.EOF
	}
	it, ok := s.s.Next()
	if !ok {
		return nil, nil, io.EOF
	}
	s.n++
	// The simulator never reuses an event's bytes, so the decoder may keep them.
	ev, err := guard.DecodeEvent(it.Event)
	if err != nil {
		return nil, nil, fmt.Errorf("simulated event %d: %w", s.n, err)
	}
	s.label = it.Label
	return ev, &s.label, nil
}

// fileSource reads the NDJSON events and labels that `xiaobao simulate`
// writes, line by line in step: the labels file has one line per event, in
// the same order.
type fileSource struct {
	events, labels *bufio.Reader
	line           int
	slab           []byte
	label          sim.Label
	intern         map[string]string
}

// FileSource replays NDJSON events (the Guard contract, one a line) with
// their labels (sim.Label as JSON, one a line, in the same order).
func FileSource(events, labels io.Reader) Source {
	return &fileSource{
		events: bufio.NewReaderSize(events, 1<<20),
		labels: bufio.NewReaderSize(labels, 1<<20),
		intern: map[string]string{},
	}
}

// readLine returns the next non-empty line without its newline; the slice
// is valid until the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	for {
		line, err := r.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			long := bytes.Clone(line)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = r.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if len(line) == 0 && err != nil {
			return nil, err
		}
		line = bytes.TrimSpace(line)
		if len(line) > 0 {
			return line, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

func (s *fileSource) Next() (*guard.Event, *sim.Label, error) {
	raw, err := readLine(s.events)
	if err == io.EOF {
		if _, lerr := readLine(s.labels); lerr != io.EOF {
			return nil, nil, xiaobao.Errorf(xiaobao.EINVALID, "--labels: more lines than events (%d events)", s.line)
		}
		return nil, nil, io.EOF
	} else if err != nil {
		return nil, nil, fmt.Errorf("read events: %w", err)
	}
	s.line++
	// The decoded event keeps its bytes (Raw): copy the line out of the
	// reader's buffer into a slab, one allocation per many events.
	if cap(s.slab)-len(s.slab) < len(raw) {
		s.slab = make([]byte, 0, max(256<<10, len(raw)))
	}
	start := len(s.slab)
	s.slab = append(s.slab, raw...)
	raw = s.slab[start:len(s.slab):len(s.slab)]
	ev, err := guard.DecodeEvent(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("--events line %d: %w", s.line, err)
	}
	lb, err := readLine(s.labels)
	if err == io.EOF {
		return nil, nil, xiaobao.Errorf(xiaobao.EINVALID, "--labels: no label for event %q on line %d", ev.ID, s.line)
	} else if err != nil {
		return nil, nil, fmt.Errorf("read labels: %w", err)
	}
	if err := s.parseLabel(lb, ev.ID); err != nil {
		return nil, nil, xiaobao.Errorf(xiaobao.EINVALID, "--labels line %d: %v", s.line, err)
	}
	return ev, &s.label, nil
}

// parseLabel reads one label: a flat JSON object of string members. It is
// written here rather than left to encoding/json because a history has
// millions of lines; the values other than event_id come from small sets,
// so they are interned instead of allocated per line.
func (s *fileSource) parseLabel(b []byte, eventID string) error {
	s.label = sim.Label{}
	p := flatParser{b: b}
	if !p.byte('{') {
		return errors.New("a label must be a JSON object")
	}
	seenID := false
	if p.byte('}') {
		return errors.New("event_id is required")
	}
	for {
		name, err := p.str()
		if err != nil {
			return err
		}
		if !p.byte(':') {
			return fmt.Errorf("%s: expected ':'", name)
		}
		val, err := p.str()
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		switch string(name) {
		case "event_id":
			if string(val) != eventID {
				return fmt.Errorf("event_id %q does not match the event's %q: the labels must be in the order of the events", val, eventID)
			}
			s.label.EventID, seenID = eventID, true
		case "scam_id":
			s.label.ScamID = s.interned(val)
		case "typology":
			s.label.Typology = s.interned(val)
		case "role":
			s.label.Role = s.interned(val)
		case "at_risk":
			s.label.AtRisk = s.interned(val)
		case "stage":
			s.label.Stage = s.interned(val)
		}
		if p.byte(',') {
			continue
		}
		if p.byte('}') {
			break
		}
		return errors.New("expected ',' or '}'")
	}
	if !seenID {
		return errors.New("event_id is required")
	}
	return nil
}

func (s *fileSource) interned(v []byte) string {
	if str, ok := s.intern[string(v)]; ok {
		return str
	}
	str := string(v)
	if len(s.intern) < 1<<16 {
		s.intern[str] = str
	}
	return str
}

// flatParser reads the members of a flat object of strings.
type flatParser struct {
	b   []byte
	i   int
	tmp []byte
}

func (p *flatParser) ws() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\r' || p.b[p.i] == '\n') {
		p.i++
	}
}

func (p *flatParser) byte(c byte) bool {
	p.ws()
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// str reads a JSON string; the result is valid until the next call.
func (p *flatParser) str() ([]byte, error) {
	p.ws()
	if p.i >= len(p.b) || p.b[p.i] != '"' {
		return nil, errors.New("expected a string")
	}
	start := p.i
	p.i++
	esc := false
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			esc = true
			p.i += 2
			continue
		case '"':
			p.i++
			if !esc {
				return p.b[start+1 : p.i-1], nil
			}
			s, err := strconv.Unquote(string(p.b[start:p.i]))
			if err != nil {
				return nil, fmt.Errorf("bad string: %w", err)
			}
			p.tmp = append(p.tmp[:0], s...)
			return p.tmp, nil
		}
		p.i++
	}
	return nil, errors.New("unterminated string")
}
