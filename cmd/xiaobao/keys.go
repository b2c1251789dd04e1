package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/xiaobao-org/xiaobao"
	"github.com/xiaobao-org/xiaobao/graph"
	"github.com/xiaobao-org/xiaobao/guard"
	"github.com/xiaobao-org/xiaobao/staff"
	"github.com/xiaobao-org/xiaobao/vault"
)

// masterKeyFile is where serve keeps a generated master key when none is
// configured, so that the embedded default runs with no setup.
const masterKeyFile = "master.key"

// withMasterKey returns getenv, completed with the master key file in data
// when neither XIAOBAO_MASTER_KEY nor XIAOBAO_MASTER_KEY_FILE is set. With
// create, a missing file is generated (mode 0600). A production deployment
// sets the key from a secret store instead: a key beside the data it
// protects guards against a stolen database file, not a stolen disk.
func withMasterKey(getenv func(string) string, data string, create bool, log *slog.Logger) (func(string) string, error) {
	if getenv(vault.EnvMasterKey) != "" || getenv(vault.EnvMasterKeyFile) != "" {
		return getenv, nil
	}
	path := filepath.Join(data, masterKeyFile)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if !create {
			return getenv, nil
		}
		_, text := vault.GenerateMasterKey()
		if err := os.MkdirAll(data, 0o750); err != nil {
			return nil, fmt.Errorf("create data directory: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("create master key file: %w", err)
		}
		if _, err := f.WriteString(text + "\n"); err != nil {
			f.Close()
			return nil, fmt.Errorf("write master key file: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("write master key file: %w", err)
		}
		if log != nil {
			log.Warn("no master key configured: generated one in the data directory; set XIAOBAO_MASTER_KEY or XIAOBAO_MASTER_KEY_FILE from a secret store in production", "file", path)
		}
	} else if err != nil {
		return nil, fmt.Errorf("master key file: %w", err)
	}
	return func(k string) string {
		if k == vault.EnvMasterKeyFile {
			return path
		}
		return getenv(k)
	}, nil
}

// bootstrapAdmin creates the staff administrator named in
// XIAOBAO_BOOTSTRAP_ADMIN ("username:password") unless a user of that name
// exists: the first person to sign in to a new installation.
func bootstrapAdmin(ctx context.Context, st staff.Store, spec string, log *slog.Logger) error {
	if spec == "" {
		return nil
	}
	name, password, ok := strings.Cut(spec, ":")
	u := &staff.User{Username: name, DisplayName: name, Roles: []staff.Role{staff.Admin}}
	if !ok {
		return errors.New("XIAOBAO_BOOTSTRAP_ADMIN: want username:password")
	}
	if fe := staff.ValidateUser(u, ""); len(fe) > 0 {
		return fmt.Errorf("XIAOBAO_BOOTSTRAP_ADMIN: username %s", fe[0].Reason)
	}
	if why := staff.CheckPassword(password); why != "" {
		return fmt.Errorf("XIAOBAO_BOOTSTRAP_ADMIN: the password %s", why)
	}
	if _, err := st.UserByName(ctx, name); err == nil {
		return nil
	} else if xiaobao.ErrorCode(err) != xiaobao.ENOTFOUND {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	var err error
	if u.PasswordHash, err = staff.HashPassword(password); err != nil {
		return err
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	u.ID, u.CreatedAt, u.UpdatedAt = staff.NewUserID(), now, now
	if err := st.CreateUser(ctx, u); err != nil && xiaobao.ErrorCode(err) != xiaobao.ECONFLICT {
		return fmt.Errorf("bootstrap admin: %w", err)
	}
	log.Info("created the bootstrap staff administrator", "username", name)
	return nil
}

// resealStore is what the re-seal job needs of a store.
type resealStore interface {
	ResealRaw(ctx context.Context, afterSeq int64, limit int, fn func(eventID string, raw []byte) ([]byte, bool, error)) (last int64, changed int, err error)
	ResealFields(ctx context.Context, fn func(table, column, rowKey, stored string) (string, bool, error)) (changed int, err error)
}

// startResealer runs the job that moves sealed values to the primary data
// key after a rotation: at start (a rotation may have happened while this
// server was down, or in another instance), whenever kick is called, and
// daily. One pass at a time; values stay readable throughout, so the job
// can be slow and gentle: pages of 1,000 rows, each its own transaction.
func startResealer(ctx context.Context, st resealStore, v *vault.Vault, log *slog.Logger) (kick func()) {
	kicks := make(chan struct{}, 1)
	kick = func() {
		select {
		case kicks <- struct{}{}:
		default: // a pass is already due
		}
	}
	pass := func() {
		if err := v.Refresh(ctx); err != nil {
			log.Warn("re-seal: refresh keyring", "err", err.Error())
			return
		}
		start, total := time.Now(), 0
		var after int64
		for ctx.Err() == nil {
			last, n, err := st.ResealRaw(ctx, after, 1000, guard.ResealRawFunc(v))
			if err != nil {
				log.Error("re-seal of events stopped; it resumes at the next pass", "err", err.Error())
				return
			}
			total += n
			if last == 0 {
				break
			}
			after = last
		}
		n, err := st.ResealFields(ctx, guard.ResealTextFunc(v))
		if err != nil {
			log.Error("re-seal of outcomes and lists stopped; it resumes at the next pass", "err", err.Error())
			return
		}
		total += n
		if total > 0 {
			log.Info("re-sealed values under the primary data key", "values", total, "primary", v.PrimaryID(), "took", time.Since(start).String())
		}
	}
	go func() {
		t := time.NewTicker(24 * time.Hour)
		defer t.Stop()
		kick()
		for {
			select {
			case <-ctx.Done():
				return
			case <-kicks:
				pass()
			case <-t.C:
				pass()
			}
		}
	}()
	return kick
}

// entityGraph follows the store: rebuilt in the background from every
// stored record and outcome at start, then fed by the indexer's and the
// outcome hooks. Records the hooks see before the rebuild knows where the
// store ended are left to the rebuild, and the rebuild stops where the
// hooks take over, so no record counts twice.
type entityGraph struct {
	g     *graph.Graph
	start atomic.Int64 // the store's last seq when the rebuild began; -1 until then
	log   *slog.Logger
}

func newEntityGraph(log *slog.Logger) *entityGraph {
	eg := &entityGraph{g: graph.New(graph.Options{}), log: log}
	eg.start.Store(-1)
	return eg
}

func (eg *entityGraph) onIndexed(recs []*guard.Record) {
	start := eg.start.Load()
	for _, r := range recs {
		if start >= 0 && r.Seq > start {
			if err := eg.g.AddEvent(r.Event); err != nil {
				eg.log.Debug("graph: event not linked", "err", err.Error())
			}
		}
	}
}

func (eg *entityGraph) onOutcome(o *guard.Outcome) {
	if err := eg.g.AddOutcome(o); err != nil {
		eg.log.Debug("graph: outcome not linked", "err", err.Error())
	}
}

// rebuild reads the store once, in the background.
func (eg *entityGraph) rebuild(ctx context.Context, st guard.Store) {
	last, err := st.MaxSeq(ctx)
	if err != nil {
		eg.log.Warn("graph: cannot read the store; the graph follows new decisions only", "err", err.Error())
		eg.start.Store(0)
		return
	}
	eg.start.Store(last)
	began, n := time.Now(), 0
	err = st.Replay(ctx, 0, func(it guard.ReplayItem) error {
		if it.Seq > last {
			return errStopReplay
		}
		ev, err := guard.DecodeEvent(it.Raw)
		if err != nil {
			return nil // a stored event that no longer decodes links nothing
		}
		n++
		return eg.g.AddEvent(ev)
	})
	if err != nil && !errors.Is(err, errStopReplay) {
		eg.log.Warn("graph: rebuild stopped", "err", err.Error())
		return
	}
	if err := st.Outcomes(ctx, func(o *guard.Outcome) error { eg.onOutcome(o); return nil }); err != nil {
		eg.log.Warn("graph: outcomes not read", "err", err.Error())
	}
	eg.g.Compact()
	eg.log.Info("entity graph rebuilt", "events", n, "nodes", eg.g.Nodes(), "edges", eg.g.Edges(), "took", time.Since(began).String())
}

var errStopReplay = errors.New("stop replay")
