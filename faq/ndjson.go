package faq

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// LineError is a bad line of an NDJSON import.
type LineError struct {
	Line   int    `json:"line"` // 1-based
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

func (e LineError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Field, e.Reason)
}

// MaxLineBytes bounds one NDJSON line.
const MaxLineBytes = 1 << 20

// wireEntry is an NDJSON line as sent.
type wireEntry struct {
	ID        *string   `json:"id"`
	Questions *[]string `json:"questions"`
	Answer    *string   `json:"answer"`
	Category  string    `json:"category"`
}

// ParseNDJSON reads FAQ entries, one JSON object a line: id, questions
// (the standard question first, at least one), answer and an optional
// category. Blank lines are skipped and a UTF-8 byte-order mark is
// ignored. A bad line is reported with its number and reason, and the
// good lines are still returned; an id given twice keeps the later line
// and reports the earlier one. A read error ends the parse with a last
// LineError.
func ParseNDJSON(r io.Reader) (entries []Entry, errs []LineError) {
	seen := map[string]int{} // id → index in entries
	if lerr := eachLine(r, func(line int, raw []byte) {
		if e, lerr := parseLine(raw); lerr != nil {
			lerr.Line = line
			errs = append(errs, *lerr)
		} else if e != nil {
			if i, ok := seen[e.ID]; ok {
				entries[i] = *e
			} else {
				seen[e.ID] = len(entries)
				entries = append(entries, *e)
			}
		}
	}); lerr != nil {
		errs = append(errs, *lerr)
	}
	return entries, errs
}

// eachLine calls fn with each line of r, without its end (the first
// without a UTF-8 byte-order mark); a read error ends it and is returned
// as the LineError of the line it stopped at.
func eachLine(r io.Reader, fn func(line int, raw []byte)) *LineError {
	br := bufio.NewReaderSize(r, 64<<10)
	for line := 1; ; line++ {
		raw, err := readLine(br)
		if len(raw) > 0 || err == nil {
			if line == 1 {
				raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
			}
			fn(line, raw)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				return &LineError{Line: line, Reason: err.Error()}
			}
			return nil
		}
	}
}

var errLineTooLong = errors.New("line longer than 1 MiB")

// readLine reads one line without its end; an over-long line is skipped
// to its end and reported.
func readLine(br *bufio.Reader) ([]byte, error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > MaxLineBytes {
			for errors.Is(err, bufio.ErrBufferFull) {
				_, err = br.ReadSlice('\n')
			}
			if err != nil && !errors.Is(err, io.EOF) {
				return nil, err
			}
			return []byte(tooLong), nil
		}
		buf = append(buf, chunk...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		buf = bytes.TrimRight(buf, "\r\n")
		return buf, err
	}
}

// tooLong stands in for an over-long line: no JSON line can be it.
const tooLong = "\x00too long"

func parseLine(raw []byte) (*Entry, *LineError) {
	if string(raw) == tooLong {
		return nil, &LineError{Reason: errLineTooLong.Error()}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	if !utf8.Valid(raw) {
		return nil, &LineError{Reason: "not valid UTF-8"}
	}
	var w wireEntry
	if lerr := decodeLine(raw, &w); lerr != nil {
		return nil, lerr
	}
	var e Entry
	if w.ID == nil {
		return nil, &LineError{Field: "id", Reason: "required"}
	}
	e.ID = strings.TrimSpace(*w.ID)
	if w.Questions == nil {
		return nil, &LineError{Field: "questions", Reason: "required"}
	}
	for _, q := range *w.Questions {
		e.Questions = append(e.Questions, strings.TrimSpace(q))
	}
	if w.Answer == nil {
		return nil, &LineError{Field: "answer", Reason: "required"}
	}
	e.Answer = strings.TrimSpace(*w.Answer)
	e.Category = strings.TrimSpace(w.Category)
	if err := e.Validate(); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, &LineError{Field: fe.Field, Reason: fe.Reason}
		}
		return nil, &LineError{Reason: err.Error()}
	}
	return &e, nil
}

// decodeLine decodes one JSON object of a line into v, naming the field
// of a wrong type or an unknown field.
func decodeLine(raw []byte, v any) *LineError {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return &LineError{Field: ute.Field, Reason: "wrong type: want " + ute.Type.String()}
		}
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return &LineError{Field: strings.Trim(f, `"`), Reason: "unknown field"}
		}
		return &LineError{Reason: "invalid JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
	}
	if dec.More() {
		return &LineError{Reason: "more than one JSON value on the line"}
	}
	return nil
}
