// Hand-written (never regenerated): Worker, which leases saga tasks and runs a handler on them,
// to docs/sdk-helpers.md §2.

package concord

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// maxPollWait is the longest wait_timeout the contract accepts for a poll; longer is capped.
const maxPollWait = 60 * time.Second

// idlePollInterval is how often, at most, polls that come back empty start.
const idlePollInterval = time.Second

var errWorkerConfig = errors.New("concord: worker needs a client, task types and a handler")

// TaskHandler runs one task of a saga step. The output (any JSON value, or nil for none; Null
// for a JSON null) completes the task; an error fails it, and the saga retries the step per its
// policy unless the error is wrapped by NonRetryable. ctx is cancelled when the task's lease is
// lost, or when the worker's shutdown grace period ends: the task is then handed back, and what
// the handler returns is not reported.
type TaskHandler func(ctx context.Context, task Task) (output any, err error)

// NonRetryable marks a handler's error as final: the step fails without further attempts.
func NonRetryable(err error) error { return &nonRetryableError{err} }

type nonRetryableError struct{ err error }

func (e *nonRetryableError) Error() string { return e.err.Error() }
func (e *nonRetryableError) Unwrap() error { return e.err }

// Worker leases tasks of some types, runs up to Concurrency handlers at once, heartbeats each
// leased task every third of its visibility timeout, and completes or fails the task with the
// handler's answer. Set its fields before Run.
//
//	w := concord.NewWorker(c, []string{"charge-card"}, func(ctx context.Context, t concord.Task) (any, error) {
//		return map[string]any{"charged": true}, nil
//	})
//	err := w.Run(ctx) // until ctx is cancelled, then a graceful shutdown
type Worker struct {
	// ID names the worker to the server; default "<host>-<pid>-<random>".
	ID string
	// Concurrency is how many handlers run at once, and so how many tasks are leased at once;
	// default 1.
	Concurrency int
	// VisibilityTimeout is the lease of a task, renewed every third of it; default 30s.
	VisibilityTimeout time.Duration
	// WaitTimeout is how long one poll waits for a task; default 20s, capped at 60s. Polls that
	// come back empty start at most once a second, so 0 polls once a second while idle.
	WaitTimeout time.Duration
	// ShutdownGrace is how long running handlers may go on once Run's context is done; the
	// tasks of those still running then are handed back. Default 20s.
	ShutdownGrace time.Duration
	// Logger receives the worker's errors; default slog.Default().
	Logger *slog.Logger

	client    *Client
	taskTypes []string
	handler   TaskHandler

	mu      sync.Mutex
	active  map[string]*runningTask
	changed chan struct{} // closed and replaced whenever a slot frees up
	fatal   error
	stop    context.CancelFunc
}

// NewWorker returns a worker for the given task types; call Run to start it.
func NewWorker(c *Client, taskTypes []string, handler TaskHandler) *Worker {
	return &Worker{
		ID:                defaultIdentity(),
		Concurrency:       1,
		VisibilityTimeout: 30 * time.Second,
		WaitTimeout:       20 * time.Second,
		ShutdownGrace:     20 * time.Second,
		client:            c,
		taskTypes:         append([]string(nil), taskTypes...),
		handler:           handler,
	}
}

// Run leases and handles tasks until ctx is done, then shuts down gracefully: no new poll (one
// in flight is cancelled), running handlers get ShutdownGrace to finish and have their
// outcomes reported, the others are handed back (their lease ends at once; never FailTask).
// It returns nil after such a shutdown, or the error that stopped the worker
// (UNAUTHENTICATED or PERMISSION_DENIED from any call, INVALID_ARGUMENT from a poll) after the
// same shutdown. Other poll errors are logged and retried with backoff.
func (w *Worker) Run(ctx context.Context) error {
	if w.client == nil || len(w.taskTypes) == 0 || w.handler == nil {
		return errWorkerConfig
	}
	w.defaults()
	leaseCtx, stop := context.WithCancel(ctx)
	defer stop()
	w.mu.Lock()
	w.active, w.changed, w.fatal, w.stop = map[string]*runningTask{}, make(chan struct{}), nil, stop
	w.mu.Unlock()
	w.lease(leaseCtx, context.WithoutCancel(ctx))
	w.drain()
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.fatal
}

// lease polls while slots are free until leaseCtx is done; handlers run on base's values.
func (w *Worker) lease(leaseCtx, base context.Context) {
	failures := 0
	for leaseCtx.Err() == nil {
		free := w.waitForSlot(leaseCtx)
		if free == 0 {
			return
		}
		started := time.Now()
		tasks, err := w.poll(leaseCtx, free)
		if err != nil {
			if leaseCtx.Err() != nil {
				return
			}
			if stopsWorker(err, true) {
				w.stopFor(err)
				return
			}
			failures++
			w.logger().Warn("concord worker: poll failed", "worker", w.ID, "error", err)
			_ = sleep(leaseCtx, pollBackoff(failures))
			continue
		}
		failures = 0
		received := time.Now()
		for _, task := range tasks {
			if leaseCtx.Err() != nil {
				w.handBack(base, task) // leased as the shutdown began: never run
				continue
			}
			w.start(base, task, received)
		}
		if len(tasks) == 0 { // empty polls start at most once a second; shutdown ends the pause
			_ = sleep(leaseCtx, idlePollInterval-time.Since(started))
		}
	}
}

// waitForSlot blocks until a slot is free; the number of free slots (0 once ctx is done).
func (w *Worker) waitForSlot(ctx context.Context) int32 {
	for {
		w.mu.Lock()
		free, changed := w.Concurrency-len(w.active), w.changed
		w.mu.Unlock()
		if free > 0 {
			return int32(min(free, 100))
		}
		select {
		case <-ctx.Done():
			return 0
		case <-changed:
		}
	}
}

func (w *Worker) poll(ctx context.Context, free int32) ([]Task, error) {
	params := &PollTasksParams{
		WorkerID:          w.ID,
		TaskTypes:         w.taskTypes,
		MaxTasks:          free,
		VisibilityTimeout: Ptr(w.VisibilityTimeout),
		WaitTimeout:       Ptr(w.WaitTimeout),
	}
	timeout := WithRequestTimeout(w.WaitTimeout + w.client.core.timeout)
	resp, err := w.client.Sagas.PollTasks(ctx, params, timeout)
	if err != nil {
		return nil, err
	}
	return resp.Tasks, nil
}

// stopFor records the error that stops the worker and begins the shutdown.
func (w *Worker) stopFor(err error) {
	w.mu.Lock()
	if w.fatal == nil {
		w.fatal = err
		w.logger().Error("concord worker: stopping", "worker", w.ID, "error", err)
	}
	stop := w.stop
	w.mu.Unlock()
	if stop != nil {
		stop()
	}
}

// drain lets running handlers finish within ShutdownGrace, then hands the others back.
func (w *Worker) drain() {
	deadline := time.NewTimer(w.ShutdownGrace)
	defer deadline.Stop()
	for {
		w.mu.Lock()
		left, changed := len(w.active), w.changed
		w.mu.Unlock()
		if left == 0 {
			return
		}
		select {
		case <-changed:
			continue
		case <-deadline.C:
		}
		break
	}
	w.mu.Lock()
	leftovers := make([]*runningTask, 0, len(w.active))
	for _, rt := range w.active {
		leftovers = append(leftovers, rt)
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, rt := range leftovers {
		if rt.abandon(errHandedBack) {
			wg.Add(1)
			go func() { defer wg.Done(); w.handBackRunning(rt) }()
		}
	}
	wg.Wait()
}

func (w *Worker) defaults() {
	if w.ID == "" {
		w.ID = defaultIdentity()
	}
	if w.Concurrency <= 0 {
		w.Concurrency = 1
	}
	if w.VisibilityTimeout <= 0 {
		w.VisibilityTimeout = 30 * time.Second
	}
	if w.WaitTimeout < 0 {
		w.WaitTimeout = 20 * time.Second
	}
	w.WaitTimeout = min(w.WaitTimeout, maxPollWait)
	if w.ShutdownGrace < 0 {
		w.ShutdownGrace = 0
	}
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

// pollBackoff is the pause after `failures` failed polls in a row: 1s doubling up to 30s, less
// up to half of it as jitter.
func pollBackoff(failures int) time.Duration {
	d := 30 * time.Second
	if failures < 6 {
		d = min(time.Second<<max(failures-1, 0), d)
	}
	return time.Duration(float64(d) * (0.5 + rand.Float64()/2))
}
