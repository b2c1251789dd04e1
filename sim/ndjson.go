package sim

import (
	"bufio"
	"io"
)

// WriteNDJSON writes up to n events of s (all that remain if n <= 0) to w,
// one JSON document a line, and, when labels is not nil, their labels to
// labels in the same order, one JSON document a line.
func WriteNDJSON(w io.Writer, s *Sim, n int, labels io.Writer) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	var lw *bufio.Writer
	var lb []byte
	if labels != nil {
		lw = bufio.NewWriterSize(labels, 1<<20)
	}
	for i := 0; n <= 0 || i < n; i++ {
		it, ok := s.Next()
		if !ok {
			break
		}
		bw.Write(it.Event)
		if err := bw.WriteByte('\n'); err != nil {
			return err
		}
		if lw != nil {
			lb = it.Label.appendJSON(lb[:0])
			lb = append(lb, '\n')
			if _, err := lw.Write(lb); err != nil {
				return err
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if lw != nil {
		return lw.Flush()
	}
	return nil
}

// appendJSON appends the label as JSON.
func (l *Label) appendJSON(b []byte) []byte {
	str := func(b []byte, name, v string) []byte {
		b = append(b, '"')
		b = append(b, name...)
		b = append(b, `":`...)
		b = append(b, '"')
		b = appendJSONString(b, v)
		return append(b, '"')
	}
	b = append(b, '{')
	b = str(b, "event_id", l.EventID)
	b = append(b, ',')
	b = str(b, "scam_id", l.ScamID)
	b = append(b, ',')
	b = str(b, "typology", l.Typology)
	b = append(b, ',')
	b = str(b, "role", l.Role)
	b = append(b, ',')
	b = str(b, "at_risk", l.AtRisk)
	b = append(b, ',')
	b = str(b, "stage", l.Stage)
	return append(b, '}')
}

// MarshalJSON encodes the label with its JSON field names.
func (l Label) MarshalJSON() ([]byte, error) { return l.appendJSON(make([]byte, 0, 160)), nil }
