package outbox

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/xiaobao-org/xiaobao"
)

// Delivery is one attempt to deliver a message.
type Delivery struct {
	Message
	// Attempt counts from 1; it grows across retries and restarts.
	Attempt int
}

// Sender delivers messages of one sink. Send returns nil once the receiver
// has the message; an error wrapped by Permanent ends the message (it is
// dead); any other error retries it later. Send may be called again for a
// message it already delivered (see the package documentation), always
// with the same Message.ID.
type Sender interface {
	Send(ctx context.Context, d Delivery) error
}

// Permanent marks err as a failure that retrying cannot fix (the receiver
// refused the message as invalid).
func Permanent(err error) error { return &permanentError{err} }

type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// IsPermanent reports whether err was wrapped by Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}

// RetryAfter marks err as a failure to retry no sooner than after d (the
// receiver said so, in a Retry-After header).
func RetryAfter(err error, d time.Duration) error { return &retryAfterError{err, d} }

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// RetryDelay returns the delay err asks for (RetryAfter), 0 if none.
func RetryDelay(err error) time.Duration {
	var r *retryAfterError
	if errors.As(err, &r) {
		return r.d
	}
	return 0
}

// Envelope is what receivers get: the webhook request body, and one line
// of a FileSender's file. Its bytes are the same at every attempt; only
// the signature header changes.
type Envelope struct {
	ID        string          `json:"id"`
	Topic     string          `json:"topic"`
	Key       string          `json:"key,omitempty"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// EncodeEnvelope returns the body delivered for m: compact JSON on one
// line.
func EncodeEnvelope(m *Message) ([]byte, error) {
	return json.Marshal(Envelope{ID: m.ID, Topic: m.Topic, Key: m.Key, CreatedAt: m.CreatedAt.UTC(), Data: m.Payload})
}

// Headers of a webhook request besides SignatureHeader.
const (
	// IDHeader and IdempotencyKeyHeader carry Message.ID, which is also
	// the envelope's (signed) "id".
	IDHeader             = "X-Xiaobao-Id"
	IdempotencyKeyHeader = "Idempotency-Key"
	TopicHeader          = "X-Xiaobao-Topic"
	AttemptHeader        = "X-Xiaobao-Attempt"
)

// WebhookSender delivers by HTTP POST of the Envelope, signed with
// SignatureHeader. A 2xx answer is delivery. A 4xx is a permanent failure
// (the receiver refuses the message: resending the same bytes cannot
// help) except 408 and 429, and 401 and 403: those say the receiver's
// configuration (a secret being rotated, an allow list) is wrong, which an
// operator fixes, after which the message should go through. Anything
// else, and a transport error, is retried, after the Retry-After delay if
// a 429 or 503 gives one.
type WebhookSender struct {
	url     string
	secrets []string
	client  *http.Client
	clock   xiaobao.Clock
}

// WebhookTimeout bounds one webhook request.
const WebhookTimeout = 10 * time.Second

// NewWebhookSender returns a sender to rawURL that signs with secrets
// (during a rotation, the new one and the old one). The URL must be https,
// or http to a loopback address (a receiver on the same host, tests): the
// payload can name a customer and must not cross a network in clear.
func NewWebhookSender(rawURL string, secrets []string, clock xiaobao.Clock) (*WebhookSender, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("webhook URL %q: want an absolute http(s) URL", rawURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && isLoopback(u.Hostname()):
	default:
		return nil, fmt.Errorf("webhook URL %q: want https (http only to a loopback address)", u.Redacted())
	}
	if len(secrets) == 0 {
		return nil, fmt.Errorf("webhook %s: no secret to sign with", u.Redacted())
	}
	for _, s := range secrets {
		if len(s) < 16 {
			return nil, fmt.Errorf("webhook %s: a secret is shorter than 16 bytes", u.Redacted())
		}
	}
	if clock == nil {
		clock = xiaobao.SystemClock{}
	}
	return &WebhookSender{
		url:     rawURL,
		secrets: secrets,
		client: &http.Client{
			Timeout: WebhookTimeout,
			// A redirect would resend the signed body elsewhere: refuse.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		clock: clock,
	}, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send posts d; see WebhookSender.
func (w *WebhookSender) Send(ctx context.Context, d Delivery) error {
	body, err := EncodeEnvelope(&d.Message)
	if err != nil {
		return Permanent(fmt.Errorf("encode: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return Permanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "xiaobao-webhook/"+xiaobao.Version)
	req.Header.Set(IDHeader, d.ID)
	req.Header.Set(IdempotencyKeyHeader, d.ID)
	req.Header.Set(TopicHeader, d.Topic)
	req.Header.Set(AttemptHeader, strconv.Itoa(d.Attempt))
	req.Header.Set(SignatureHeader, Sign(w.secrets, w.clock.Now(), body))
	resp, err := w.client.Do(req)
	if err != nil {
		// last_error is shown to operators: name the host, not a path or
		// query that may hold a token.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("post to %s: %w", req.URL.Host, err)
	}
	// Drain a little so the connection can be reused; the body itself is
	// not kept (it is the receiver's, and may echo personal data).
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable:
		err := fmt.Errorf("receiver answered %d", code)
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return RetryAfter(err, time.Duration(min(s, 86400))*time.Second)
		}
		return err
	case code == http.StatusRequestTimeout || code == http.StatusUnauthorized || code == http.StatusForbidden,
		code >= 500 || code < 200 || (code >= 300 && code < 400):
		return fmt.Errorf("receiver answered %d", code)
	default:
		return Permanent(fmt.Errorf("receiver refused the message: %d", code))
	}
}

// FileSender delivers by appending the Envelope as one line to
// DIR/<sink>.ndjson and syncing the file to disk before it reports
// delivery. It stands in for an SMS or push gateway in the demo and in
// tests: whatever reads the file must skip an id it has seen, as a crash
// between the write and the record of delivery writes the line again.
type FileSender struct {
	dir  string
	mu   sync.Mutex
	file map[string]*os.File
}

var sinkName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// NewFileSender returns a sender writing into dir, creating it if needed.
func NewFileSender(dir string) (*FileSender, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("file sender: %w", err)
	}
	return &FileSender{dir: dir, file: map[string]*os.File{}}, nil
}

// Path returns the file of sink.
func (f *FileSender) Path(sink string) string { return filepath.Join(f.dir, sink+".ndjson") }

// Send appends d; see FileSender.
func (f *FileSender) Send(_ context.Context, d Delivery) error {
	if !sinkName.MatchString(d.Sink) {
		return Permanent(fmt.Errorf("sink %q cannot name a file", d.Sink))
	}
	line, err := EncodeEnvelope(&d.Message)
	if err != nil {
		return Permanent(fmt.Errorf("encode: %w", err))
	}
	line = append(line, '\n')
	f.mu.Lock()
	defer f.mu.Unlock()
	file := f.file[d.Sink]
	if file == nil {
		if file, err = os.OpenFile(f.Path(d.Sink), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); err != nil {
			return err
		}
		f.file[d.Sink] = file
	}
	// One write of a whole line: O_APPEND keeps it in one piece even if
	// another process appends too.
	if _, err := file.Write(line); err != nil {
		return err
	}
	return file.Sync()
}

// Close closes the files.
func (f *FileSender) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	var errs []error
	for sink, file := range f.file {
		errs = append(errs, file.Close())
		delete(f.file, sink)
	}
	return errors.Join(errs...)
}
