package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/jobs"
	"github.com/xiaobao-org/xiaobao/outbox"
)

// outboxEvery is how often the dispatcher looks for due messages: a
// payment released on a call reaches the firm's system about this late.
const outboxEvery = time.Second

// webhookFlags are the --webhook SINK=URL flags.
type webhookFlags map[string]string

var sinkPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

func (w *webhookFlags) String() string {
	if w == nil {
		return ""
	}
	var parts []string
	for sink, u := range *w {
		parts = append(parts, sink+"="+u)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

func (w *webhookFlags) Set(v string) error {
	sink, u, ok := strings.Cut(v, "=")
	if !ok || !sinkPattern.MatchString(sink) || u == "" {
		return errors.New("want SINK=URL, e.g. payments=https://pay.example.com/hooks/xiaobao")
	}
	if *w == nil {
		*w = webhookFlags{}
	}
	if _, dup := (*w)[sink]; dup {
		return fmt.Errorf("sink %q given twice", sink)
	}
	(*w)[sink] = u
	return nil
}

// webhookSecrets returns the signing secrets of sink: the value of
// XIAOBAO_WEBHOOK_SECRET_<SINK> (or the file named by …_FILE), else of
// XIAOBAO_WEBHOOK_SECRET (or …_FILE). A value may list several secrets
// separated by commas, the new one and the old one during a rotation:
// each request is then signed with all of them.
func webhookSecrets(getenv func(string) string, sink string) ([]string, error) {
	upper := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(sink))
	for _, name := range []string{"XIAOBAO_WEBHOOK_SECRET_" + upper, "XIAOBAO_WEBHOOK_SECRET"} {
		v := getenv(name)
		if file := getenv(name + "_FILE"); file != "" {
			if v != "" {
				return nil, fmt.Errorf("set %s or %s_FILE, not both", name, name)
			}
			b, err := os.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("%s_FILE: %w", name, err)
			}
			v = string(b)
		}
		if v = strings.TrimSpace(v); v == "" {
			continue
		}
		var secrets []string
		for s := range strings.SplitSeq(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				secrets = append(secrets, s)
			}
		}
		return secrets, nil
	}
	return nil, fmt.Errorf("webhook %s: set XIAOBAO_WEBHOOK_SECRET_%s or XIAOBAO_WEBHOOK_SECRET (or …_FILE) to sign its requests", sink, upper)
}

// outboxWiring is the outbox as serve runs it.
type outboxWiring struct {
	Dispatcher *outbox.Dispatcher
	files      *outbox.FileSender
}

func (o *outboxWiring) Close() error {
	if o.files != nil {
		return o.files.Close()
	}
	return nil
}

// startOutbox builds the senders (webhooks, and the file sender for every
// other sink when dir is set) and registers the dispatcher on q; call it
// before q starts. Without dir, messages of a sink that has no webhook
// wait (and die after their attempts): a payment callback must not be
// "delivered" to a file by accident.
func startOutbox(st outbox.Store, q *jobs.Queue, webhooks webhookFlags, dir string, getenv func(string) string,
	clock xiaobao.Clock, reg prometheus.Registerer, logger *slog.Logger) (*outboxWiring, error) {
	senders := map[string]outbox.Sender{}
	for sink, u := range webhooks {
		secrets, err := webhookSecrets(getenv, sink)
		if err != nil {
			return nil, err
		}
		s, err := outbox.NewWebhookSender(u, secrets, clock)
		if err != nil {
			return nil, err
		}
		senders[sink] = s
	}
	w := &outboxWiring{}
	if dir != "" {
		files, err := outbox.NewFileSender(dir)
		if err != nil {
			return nil, err
		}
		w.files = files
	}
	cfg := outbox.Config{Store: st, Senders: senders, Clock: clock, Metrics: outbox.NewMetrics(reg), Logger: logger}
	if w.files != nil {
		// Every sink without a webhook: the demo's payment callbacks, SMS
		// and push notifications.
		cfg.Default = w.files
	}
	d, err := outbox.NewDispatcher(cfg)
	if err != nil {
		_ = w.Close()
		return nil, err
	}
	d.Register(q, outboxEvery)
	w.Dispatcher = d
	sinks := make([]string, 0, len(senders))
	for s := range senders {
		sinks = append(sinks, s)
	}
	slices.Sort(sinks)
	logger.Info("outbox dispatcher registered", "sinks", strings.Join(sinks, ","), "file_dir", dir)
	return w, nil
}
