package http

import (
	"net/http"

	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/pii"
)

// maxRedactBytes bounds the text of one redact call: a chat message, a
// memo or a complaint narrative is far shorter; whole documents go through
// `xiaobao pii scan`.
const maxRedactBytes = 1 << 20

type findingJSON struct {
	Type   pii.Type `json:"type"`
	Start  int      `json:"start"` // character (rune) offsets, [start, end)
	End    int      `json:"end"`
	Masked string   `json:"masked"`
}

type redactJSON struct {
	Text     string        `json:"text"`
	Findings []findingJSON `json:"findings"`
}

// handleRedact masks the personal data in a text. The response never
// carries the original values, only where they were, their kind and their
// masked form: a caller that logs the response logs no PII.
func handleRedact(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		obj, err := readObject(r, s.cfg.MaxBodyBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		text := obj.str("text", true, maxRedactBytes)
		if err := obj.err("the text cannot be redacted"); err != nil {
			s.error(w, r, err)
			return
		}
		masked, fs := pii.Redact(text)
		out := redactJSON{Text: masked, Findings: make([]findingJSON, len(fs))}
		for i, f := range fs {
			out.Findings[i] = findingJSON{Type: f.Type, Start: f.RuneStart, End: f.RuneEnd, Masked: f.Masked}
		}
		writeJSON(w, http.StatusOK, "application/json", out)
	}
}
