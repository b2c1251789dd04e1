package http

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/audit"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/model"
)

// maxModelBytes bounds an uploaded model file: hundreds of trees are a few
// MB of indented JSON.
const maxModelBytes = 32 << 20

// SetModel makes e score every event with sc, or with no model when sc is
// nil. `serve --model` uses it at start.
func SetModel(e *guard.Engine, sc *model.GuardScorer) { swapModel(e, sc) }

// swapModel sets the engine's model and returns the one it replaced (nil
// when that was none, or not a trained model).
func swapModel(e *guard.Engine, sc *model.GuardScorer) (prev *model.GuardScorer) {
	var next guard.Scorer
	if sc != nil {
		next = sc
	}
	prev, _ = e.SwapScorer(next).(*model.GuardScorer)
	return prev
}

func activeModel(e *guard.Engine) *model.GuardScorer {
	sc, _ := e.Scorer().(*model.GuardScorer)
	return sc
}

// modelJSON is a model's metadata: what it reads, how it was trained and
// how well it did, without its trees or coefficients.
type modelJSON struct {
	Name        string         `json:"name"`
	Kind        model.Kind     `json:"kind"`
	Format      string         `json:"format"`
	Version     int            `json:"version"`
	Features    []string       `json:"features"`
	Calibration string         `json:"calibration,omitempty"`
	Training    model.Training `json:"training"`
	// SHA256 is the digest of the model as Guard holds it (its canonical
	// JSON), so that an audit record names exactly which model scored.
	SHA256 string `json:"sha256"`
}

func toModelJSON(m *model.Model) modelJSON {
	out := modelJSON{Name: m.Name, Kind: m.Kind, Format: m.Format, Version: m.Version, Features: m.Features, Training: m.Training}
	if m.Calibration != nil {
		out.Calibration = m.Calibration.Method
	}
	b, _ := json.Marshal(m)
	sum := sha256.Sum256(b)
	out.SHA256 = hex.EncodeToString(sum[:])
	return out
}

// handlePutModel validates an uploaded model file and makes it the active
// model. The old model keeps scoring until the new one has passed every
// check: a bad upload never replaces a good model. The model is active
// until the server stops; `serve --model FILE` is what makes it last.
func handlePutModel(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		if ct := r.Header.Get("Content-Type"); ct != "" {
			if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
				s.error(w, r, &httpError{code: codeUnsupportedMediaType, msg: "send the model file (`xiaobao train --out`) as application/json"})
				return
			}
		}
		body, err := readBody(r, maxModelBytes)
		if err != nil {
			s.error(w, r, err)
			return
		}
		m, err := model.Parse(body)
		if err != nil {
			s.error(w, r, err)
			return
		}
		if m.Name == "" {
			// Explanations name the model that scored: a nameless one
			// could not be told from the next.
			s.error(w, r, xiaobao.Invalid("model file: name: is empty", xiaobao.FieldError{Field: "name", Reason: "is empty"}))
			return
		}
		sc, err := model.NewGuardScorer(m)
		if err != nil {
			s.error(w, r, err)
			return
		}
		prev := ""
		if old := swapModel(s.guard.Engine(), sc); old != nil {
			prev = old.Name()
		}
		resp := toModelJSON(m)
		s.auditChange(r, k, audit.ActionRuleChange, "model:"+m.Name, map[string]any{
			"activated": true, "kind": m.Kind, "sha256": resp.SHA256, "features": len(m.Features),
			"metrics": m.Training.Metrics, "replaced": prev,
		})
		writeJSON(w, http.StatusOK, "application/json", resp)
	}
}

// handleGetModel answers the active model's metadata.
func handleGetModel(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		sc := activeModel(s.guard.Engine())
		if sc == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no model is active: decisions use the rules alone"))
			return
		}
		writeJSON(w, http.StatusOK, "application/json", toModelJSON(sc.Model()))
	}
}

// handleDeleteModel removes the model: decisions go on with the rules alone.
func handleDeleteModel(s *server) handler {
	return func(w http.ResponseWriter, r *http.Request, k *auth.Key) {
		sc := swapModel(s.guard.Engine(), nil)
		if sc == nil {
			s.error(w, r, xiaobao.Errorf(xiaobao.ENOTFOUND, "no model is active"))
			return
		}
		s.auditChange(r, k, audit.ActionRuleChange, "model:"+sc.Name(), map[string]any{"removed": true, "sha256": toModelJSON(sc.Model()).SHA256})
		w.WriteHeader(http.StatusNoContent)
	}
}
