package jobs

import (
	"bytes"
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// timerRow is the xiaobao_timer row of a Kind+Key: the River job standing
// for it, and what it was scheduled with.
type timerRow struct {
	jobID   int64
	at      time.Time
	payload []byte
}

// txStore reads and writes xiaobao_timer inside a transaction of the
// driver's type, the one River's *Tx methods take.
type txStore[TTx any] interface {
	begin(ctx context.Context) (TTx, error)
	commit(ctx context.Context, tx TTx) error
	rollback(tx TTx)
	get(ctx context.Context, tx TTx, kind, key string) (timerRow, bool, error)
	put(ctx context.Context, tx TTx, kind, key string, r timerRow) error
	// del deletes the row of kind and key if it names jobID, or whatever
	// it names if jobID is 0.
	del(ctx context.Context, tx TTx, kind, key string, jobID int64) error
}

type engineOf[TTx any] struct {
	client *river.Client[TTx]
	st     txStore[TTx]
	close  func() error // what Stop closes after River stopped; may be nil
}

func (e *engineOf[TTx]) inTx(ctx context.Context, fn func(tx TTx) error) error {
	tx, err := e.st.begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		e.st.rollback(tx)
		return err
	}
	return e.st.commit(ctx, tx)
}

func (e *engineOf[TTx]) schedule(ctx context.Context, t Timer, maxAttempts int) error {
	return e.inTx(ctx, func(tx TTx) error {
		row, ok, err := e.st.get(ctx, tx, t.Kind, t.Key)
		if err != nil {
			return err
		}
		if ok {
			job, err := e.client.JobGetTx(ctx, tx, row.jobID)
			if err != nil && !errors.Is(err, rivertype.ErrNotFound) {
				return err
			}
			if job != nil && deletable(job.State) {
				if row.at.Equal(t.At) && bytes.Equal(row.payload, t.Payload) {
					return nil
				}
				if _, err := e.client.JobDeleteTx(ctx, tx, row.jobID); ignoreGone(err) != nil {
					return err
				}
			}
		}
		res, err := e.client.InsertTx(ctx, tx, timerArgs{TimerKind: t.Kind, Key: t.Key, At: t.At, Payload: string(t.Payload)}, &river.InsertOpts{ScheduledAt: t.At, MaxAttempts: maxAttempts})
		if err != nil {
			return err
		}
		return e.st.put(ctx, tx, t.Kind, t.Key, timerRow{jobID: res.Job.ID, at: t.At, payload: t.Payload})
	})
}

func (e *engineOf[TTx]) cancel(ctx context.Context, kind, key string) error {
	return e.inTx(ctx, func(tx TTx) error {
		row, ok, err := e.st.get(ctx, tx, kind, key)
		if err != nil || !ok {
			return err
		}
		if _, err := e.client.JobDeleteTx(ctx, tx, row.jobID); ignoreGone(err) != nil {
			return err
		}
		// A running job finds no row when it next looks and a retry of
		// it does nothing.
		return e.st.del(ctx, tx, kind, key, 0)
	})
}

func (e *engineOf[TTx]) current(ctx context.Context, kind, key string) (int64, bool, error) {
	var row timerRow
	var ok bool
	err := e.inTx(ctx, func(tx TTx) error {
		var err error
		row, ok, err = e.st.get(ctx, tx, kind, key)
		return err
	})
	return row.jobID, ok, err
}

func (e *engineOf[TTx]) done(ctx context.Context, kind, key string, jobID int64) error {
	return e.inTx(ctx, func(tx TTx) error { return e.st.del(ctx, tx, kind, key, jobID) })
}

func (e *engineOf[TTx]) addPeriodic(pj *river.PeriodicJob) error {
	_, err := e.client.PeriodicJobs().AddSafely(pj)
	return err
}

func (e *engineOf[TTx]) start(ctx context.Context) error { return e.client.Start(ctx) }

func (e *engineOf[TTx]) stop(ctx context.Context) error {
	err := e.client.Stop(ctx)
	if err != nil && ctx.Err() != nil {
		// Handlers did not finish in time: cancel them, and give them a
		// moment to notice.
		hard, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = e.client.StopAndCancel(hard)
		cancel()
	}
	if e.close != nil {
		err = errors.Join(err, e.close())
	}
	return err
}
