package http

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/auth"
)

// wrap turns a route into the http.Handler that ServeMux calls: it sheds
// load, authenticates, recovers panics, counts and times the request and
// logs one line for it. Everything per-route (metric children, labels) is
// computed here once, not per request.
func (s *server) wrap(rt route) http.Handler {
	label, logRoute := rt.Method+" "+rt.Path, rt.Path
	if rt.Path == "/" {
		label, logRoute = "unmatched", "unmatched"
	}
	rm := s.metrics.route(label)
	maxInflight := int64(s.cfg.MaxInflight)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		s.metrics.httpInflight.Inc()
		sw := getStatusWriter(w)
		var key *auth.Key
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				s.log.Error("panic serving request", "route", logRoute, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.error(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			elapsed := time.Since(start)
			s.metrics.httpInflight.Dec()
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			rm.observe(status, elapsed)
			s.logRequest(r, logRoute, status, elapsed, key, rt.Shed)
			putStatusWriter(sw)
			if p == http.ErrAbortHandler {
				panic(p)
			}
		}()
		if rt.Shed {
			n := s.inflight.Add(1)
			defer s.inflight.Add(-1)
			if n > maxInflight {
				s.metrics.shed.Inc()
				s.error(sw, r, errShed)
				return
			}
		}
		if rt.Scope != "" {
			k, err := s.authenticate(r, rt.Scope)
			if k != nil {
				key = k
			}
			if err != nil {
				s.error(sw, r, err)
				return
			}
		}
		rt.handle(sw, r, key)
	})
}

var errShed = xiaobao.Errorf(xiaobao.EOVERLOADED, "too many requests in flight; retry shortly")

// logRequest logs one line per request: never bodies, query values or
// anything else a client sent beyond the method. It builds the record
// itself: Logger.LogAttrs would also walk the stack for the caller's
// program counter, which the JSON lines do not show.
func (s *server) logRequest(r *http.Request, route string, status int, elapsed time.Duration, key *auth.Key, hot bool) {
	level := slog.LevelInfo
	switch {
	case status >= 500:
		level = slog.LevelError
	case status < 300 && hot:
		// Tens of thousands a second, each one a write to the log: the
		// metrics count them; set --log-level debug to see each one.
		level = slog.LevelDebug
	}
	ctx := r.Context()
	h := s.log.Handler()
	if !h.Enabled(ctx, level) {
		return
	}
	keyID := ""
	if key != nil {
		keyID = key.ID
	}
	rec := slog.NewRecord(time.Now(), level, "http request", 0)
	// Five attributes: a Record keeps up to five inline, without allocating.
	rec.AddAttrs(
		slog.String("method", r.Method),
		slog.String("route", route),
		slog.Int("status", status),
		slog.Float64("duration_ms", float64(elapsed.Microseconds())/1000),
		slog.String("key_id", keyID),
	)
	_ = h.Handle(ctx, rec)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

var statusWriters = sync.Pool{New: func() any { return new(statusWriter) }}

func getStatusWriter(w http.ResponseWriter) *statusWriter {
	sw := statusWriters.Get().(*statusWriter)
	sw.ResponseWriter, sw.status = w, 0
	return sw
}

func putStatusWriter(sw *statusWriter) {
	sw.ResponseWriter = nil
	statusWriters.Put(sw)
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets streaming handlers (the batch endpoint) flush through.
func (w *statusWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// authenticate returns the caller's key if it may use scope.
func (s *server) authenticate(r *http.Request, scope string) (*auth.Key, error) {
	secret, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return nil, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "an API key is required: send Authorization: Bearer <key>")
	}
	k, err := s.keys.lookup(r.Context(), secret)
	if err != nil {
		// Only here: xiaobao.ErrorCode allocates, even for a nil error.
		if xiaobao.ErrorCode(err) == xiaobao.ENOTFOUND {
			return nil, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "the API key is not valid")
		}
		return nil, fmt.Errorf("look up API key: %w", err)
	}
	if k.RevokedAt != nil {
		return nil, xiaobao.Errorf(xiaobao.EUNAUTHORIZED, "the API key has been revoked")
	}
	if !k.Allows(scope) {
		return k, xiaobao.Errorf(xiaobao.EFORBIDDEN, "this API key or staff role lacks the scope %s", scope)
	}
	return k, nil
}

// bearer returns the token of an "Authorization: Bearer" header.
func bearer(h string) (string, bool) {
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	tok := strings.TrimSpace(h[len(prefix):])
	return tok, tok != ""
}

// keyCache caches API key lookups for a few seconds: every request is
// authenticated, and a store read per request would cost more than the
// decision itself. Revoking through this server drops the key at once;
// a key revoked elsewhere stops working within the TTL.
type keyCache struct {
	store auth.KeyStore
	ttl   time.Duration
	now   func() time.Time // time.Now; tests move it

	mu  sync.RWMutex
	m   map[[sha256.Size]byte]cachedKey
	gen uint64 // bumped by invalidate, so a lookup racing a revoke is not cached
}

type cachedKey struct {
	key *auth.Key
	exp time.Time
}

// keyCacheMax bounds the cache; it is cleared when full. Only keys that
// exist are cached, so its size is bounded by the number of keys in use.
const keyCacheMax = 4096

func newKeyCache(store auth.KeyStore, ttl time.Duration) *keyCache {
	return &keyCache{store: store, ttl: ttl, now: time.Now, m: map[[sha256.Size]byte]cachedKey{}}
}

func (c *keyCache) lookup(ctx context.Context, secret string) (*auth.Key, error) {
	var sum [sha256.Size]byte
	if len(secret) <= 128 {
		// Hash from a stack copy: []byte(secret) would allocate.
		var buf [128]byte
		n := copy(buf[:], secret)
		sum = sha256.Sum256(buf[:n])
	} else {
		sum = sha256.Sum256([]byte(secret))
	}
	now := c.now()
	c.mu.RLock()
	e, ok := c.m[sum]
	gen := c.gen
	c.mu.RUnlock()
	if ok && now.Before(e.exp) {
		return e.key, nil
	}
	k, err := c.store.KeyByHash(ctx, hex.EncodeToString(sum[:]))
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.gen == gen {
		if len(c.m) >= keyCacheMax {
			clear(c.m)
		}
		c.m[sum] = cachedKey{key: k, exp: now.Add(c.ttl)}
	}
	c.mu.Unlock()
	return k, nil
}

// invalidate drops every cached entry of key id.
func (c *keyCache) invalidate(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for h, e := range c.m {
		if e.key.ID == id {
			delete(c.m, h)
		}
	}
}
