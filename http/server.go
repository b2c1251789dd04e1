// Package http is xiaobao's HTTP API: the Guard event endpoint and the
// staff/admin endpoints around it (decisions, outcomes, rule packs, lists,
// API keys), with health, metrics and the OpenAPI document.
//
// It uses the standard library only (ServeMux patterns); every route is in
// routes.go, every handler is made by a handler maker function, one helper
// decodes request bodies (decode.go) and one function turns errors into
// RFC 9457 problems (error.go).
package http

import (
	"log/slog"
	"net/http"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
	"github.com/xiaobao-org/xiaobao/cases"
	"github.com/xiaobao-org/xiaobao/faq"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/outbox"
	"github.com/xiaobao-org/xiaobao/privacy"
	"github.com/xiaobao-org/xiaobao/service"
	"github.com/xiaobao-org/xiaobao/staff"
)

// Defaults of Config.
const (
	DefaultMaxBodyBytes  = 64 << 10
	DefaultMaxBatchBytes = 32 << 20
	DefaultMaxInflight   = 2048
	DefaultKeyCacheTTL   = 5 * time.Second
)

// maxPackBytes bounds an uploaded rule pack: packs are bigger than events
// but still hand-written text.
const maxPackBytes = 1 << 20

// Config holds what the server needs.
type Config struct {
	Guard *guard.Service
	Keys  auth.KeyStore
	// Logger receives one structured line per request; nil discards.
	Logger *slog.Logger
	// Registry is served at /metrics; nil makes a new one.
	Registry *prometheus.Registry
	// Metrics are the metrics the server updates. When nil, NewServer
	// registers new ones on Registry; pass the Metrics that are also the
	// guard.Service's Observer so both land in the same registry.
	Metrics *Metrics
	// MaxBodyBytes bounds one request body (default 64 KiB).
	MaxBodyBytes int64
	// MaxBatchBytes bounds a batch or import body (default 32 MiB).
	MaxBatchBytes int64
	// MaxInflight bounds concurrent event requests; beyond it requests are
	// shed with 429 and Retry-After instead of queueing (default 2048).
	MaxInflight int
	// KeyCacheTTL is how long an API key lookup is cached (default 5s).
	KeyCacheTTL time.Duration
	Clock       xiaobao.Clock
	// Staff, if set, enables staff sign-in (/v1/staff/...): sessions act
	// with the scopes of the user's roles.
	Staff staff.Store
	// SessionTTL is how long a staff session lasts (default 10 hours).
	SessionTTL time.Duration
	// Audit, if set, records sign-ins, unmasking and every change to rules,
	// lists, keys and staff roles. Unmasking is refused without it.
	Audit AuditLog
	// Vault, if set, is the keyring that seals personal data at rest;
	// OnRotate is called after a rotation (the server re-seals older
	// values in the background).
	Vault    KeyRing
	OnRotate func()
	// Graph, if set, answers GET /v1/graph/neighbourhood.
	Graph EntityGraph
	// Privacy, if set, enables consents and data-subject requests (wrap it
	// in privacy.Configured to give the firm's calendar and retention).
	Privacy privacy.Store
	// Reports, if set, answers GET /v1/report/summary from rollups
	// (report.Rollup); the console's dashboard reads it.
	Reports Reports
	// FAQ, if set, is the live FAQ knowledge base (the Answer ability):
	// the service endpoints search it and the FAQ admin endpoints edit
	// it. FAQStore, if set, persists those edits with their history;
	// load the base from it at start with faq.Load.
	FAQ      *faq.Base
	FAQStore faq.Store
	// Cases, if set, serves the dissuasion desk (/v1/cases/...).
	Cases *cases.Service
	// Outbox, if set, lets operators list and redrive outbox messages
	// (/v1/outbox).
	Outbox outbox.Store
	// Service, if set, serves the customer-service module: ask, sessions,
	// agents, queues, guides and statistics (/v1/service/...).
	Service *service.Service
}

// server is the HTTP API. Its fields are the dependencies of the handlers.
type server struct {
	cfg      Config
	guard    *guard.Service
	keys     *keyCache
	store    auth.KeyStore
	log      *slog.Logger
	metrics  *Metrics
	registry *prometheus.Registry
	clock    xiaobao.Clock
	mux      *http.ServeMux

	// inflight counts event requests being served, for load shedding.
	inflight atomic.Int64
	throttle *staff.Throttle
	// mining is set while a batch mining run holds the graph.
	mining atomic.Bool
}

// NewServer returns the HTTP API as an http.Handler.
func NewServer(cfg Config) http.Handler {
	return newServer(cfg)
}

func newServer(cfg Config) *server {
	if cfg.Guard == nil {
		panic("xiaobao/http: Config.Guard is required")
	}
	if cfg.Keys == nil {
		panic("xiaobao/http: Config.Keys is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(cfg.Registry)
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.MaxBatchBytes <= 0 {
		cfg.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if cfg.MaxInflight <= 0 {
		cfg.MaxInflight = DefaultMaxInflight
	}
	if cfg.KeyCacheTTL <= 0 {
		cfg.KeyCacheTTL = DefaultKeyCacheTTL
	}
	if cfg.Clock == nil {
		cfg.Clock = xiaobao.SystemClock{}
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	s := &server{
		cfg:      cfg,
		guard:    cfg.Guard,
		keys:     newKeyCache(principals{keys: cfg.Keys, staff: cfg.Staff, now: cfg.Clock.Now}, cfg.KeyCacheTTL),
		throttle: staff.NewThrottle(),
		store:    cfg.Keys,
		log:      cfg.Logger,
		metrics:  cfg.Metrics,
		registry: cfg.Registry,
		clock:    cfg.Clock,
		mux:      http.NewServeMux(),
	}
	s.metrics.setQueueDepth(cfg.Guard.QueueDepth)
	for _, rt := range s.routes() {
		s.mux.Handle(rt.Method+" "+rt.Path, s.wrap(rt))
	}
	// Everything no route matches: 404, or 405 when another method would
	// match. ServeMux's own answers are plain text; these are problems.
	s.mux.Handle("/", s.wrap(route{Path: "/", handle: handleUnmatched(s)}))
	return s
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mux.ServeHTTP(w, r)
}

// allowed returns the methods some route serves for r's path.
func (s *server) allowed(r *http.Request) []string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, p := s.mux.Handler(r2); p != "" && p != "/" {
			out = append(out, m)
			if m == http.MethodGet {
				out = append(out, http.MethodHead)
			}
		}
	}
	return slices.Compact(out)
}
