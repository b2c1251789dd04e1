package http

import (
	_ "embed"
	"net/http"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/xiaobao-org/xiaobao/auth"
)

//go:embed openapi.json
var openAPI []byte

// handleHealthz is liveness: the process serves HTTP.
func handleHealthz() handler {
	body := []byte("{\"status\":\"ok\"}\n")
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		writeBody(w, http.StatusOK, "application/json", body)
	}
}

// handleReadyz is readiness: the service can take events.
func handleReadyz(s *server) handler {
	body := []byte("{\"status\":\"ready\"}\n")
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		if err := s.guard.Err(); err != nil {
			s.error(w, r, err)
			return
		}
		writeBody(w, http.StatusOK, "application/json", body)
	}
}

// handleMetrics serves the Prometheus text exposition.
func handleMetrics(s *server) handler {
	h := promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		h.ServeHTTP(w, r)
	}
}

// handleOpenAPI serves the OpenAPI document.
func handleOpenAPI() handler {
	return func(w http.ResponseWriter, r *http.Request, _ *auth.Key) {
		writeBody(w, http.StatusOK, "application/json", openAPI)
	}
}
