package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"time"
)

// bareEvent is the Guard contract event, decoded the ordinary way.
type bareEvent struct {
	EventID    string    `json:"event_id"`
	Type       string    `json:"type"`
	OccurredAt time.Time `json:"occurred_at"`
	Customer   struct {
		ID           string     `json:"id"`
		Age          *int       `json:"age"`
		RegisteredAt *time.Time `json:"registered_at"`
	} `json:"customer"`
	Device struct {
		ID string `json:"id"`
		IP string `json:"ip"`
	} `json:"device"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	Counterparty struct {
		Account string `json:"account"`
		Name    string `json:"name"`
	} `json:"counterparty"`
	Memo string `json:"memo"`
}

type bareReason struct {
	Rule   string `json:"rule"`
	Code   string `json:"code"`
	Detail string `json:"detail"`
}

type bareMessage struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// bareDecision is the contract's decision with fixed values.
type bareDecision struct {
	DecisionID string       `json:"decision_id"`
	EventID    string       `json:"event_id"`
	Action     string       `json:"action"`
	Score      float64      `json:"score"`
	Typology   string       `json:"typology"`
	Reasons    []bareReason `json:"reasons"`
	Message    *bareMessage `json:"message,omitempty"`
}

type bareProblem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// BareHandler returns the comparison baseline: a bare net/http handler for
// POST /v1/events that decodes the JSON event with encoding/json into a
// struct of the contract's fields and answers a fixed decision (allow,
// score 0, no reasons; only event_id is echoed, as the contract requires).
// Anything Guard does beyond that — validation, features, rules, storage —
// is what a comparison with it measures. A body that does not decode gets
// a 400 problem answer; one over 1 MiB a 413.
func BareHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/events", func(w http.ResponseWriter, r *http.Request) {
		var ev bareEvent
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
		if err := dec.Decode(&ev); err != nil {
			status := http.StatusBadRequest
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				status = http.StatusRequestEntityTooLarge
			}
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			json.NewEncoder(w).Encode(bareProblem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: err.Error()})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(bareDecision{
			DecisionID: "dec_bare",
			EventID:    ev.EventID,
			Action:     "allow",
			Reasons:    []bareReason{},
		})
	})
	return mux
}

// ServeBare serves BareHandler on addr (such as "127.0.0.1:0") and returns
// its base URL and a function that stops it.
func ServeBare(addr string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: BareHandler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if srv.Shutdown(ctx) != nil {
			srv.Close()
		}
		<-done
	}
	return "http://" + ln.Addr().String(), stop, nil
}
