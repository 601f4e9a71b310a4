// Hand-written (never regenerated): Worker, which polls saga tasks and runs a handler on them.

package concord

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

var errWorkerConfig = errors.New("concord: worker needs a client, task types and a handler")

// TaskHandler runs one task of a saga step. The output (any JSON value, or nil) completes the
// task; an error fails it, and the saga retries the step per its policy unless the error is
// wrapped by NonRetryable.
type TaskHandler func(ctx context.Context, task Task) (output any, err error)

// NonRetryable marks a handler's error as final: the step fails without further attempts.
func NonRetryable(err error) error { return &nonRetryableError{err} }

type nonRetryableError struct{ err error }

func (e *nonRetryableError) Error() string { return e.err.Error() }
func (e *nonRetryableError) Unwrap() error { return e.err }

// Worker polls tasks of some types and runs a handler on each, heartbeating its lease while the
// handler runs, then completing or failing the task. Set its fields before Run.
//
//	w := concord.NewWorker(c, []string{"charge-card"}, func(ctx context.Context, t concord.Task) (any, error) {
//		return map[string]any{"charged": true}, nil
//	})
//	err := w.Run(ctx) // until ctx is cancelled
type Worker struct {
	// ID names the worker to the server; default "<host>-<pid>-<random>".
	ID string
	// MaxTasks is the number of tasks leased per poll (run one after another); default 1.
	MaxTasks int32
	// VisibilityTimeout is the lease of a task, renewed every third of it; default 30s.
	VisibilityTimeout time.Duration
	// WaitTimeout is how long one poll waits for a task; default 20s (at most 60s).
	WaitTimeout time.Duration
	// Logger receives the worker's errors; default slog.Default().
	Logger *slog.Logger

	client    *Client
	taskTypes []string
	handler   TaskHandler
}

// NewWorker returns a worker for the given task types; call Run to start it.
func NewWorker(c *Client, taskTypes []string, handler TaskHandler) *Worker {
	return &Worker{
		ID:                defaultIdentity(),
		MaxTasks:          1,
		VisibilityTimeout: 30 * time.Second,
		WaitTimeout:       20 * time.Second,
		client:            c,
		taskTypes:         append([]string(nil), taskTypes...),
		handler:           handler,
	}
}

// Run polls and handles tasks until ctx is cancelled (then it returns nil) or the server
// refuses the worker (UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT: returned). Other
// poll errors are logged and retried with backoff.
func (w *Worker) Run(ctx context.Context) error {
	if w.client == nil || len(w.taskTypes) == 0 || w.handler == nil {
		return errWorkerConfig
	}
	failures := 0
	for ctx.Err() == nil {
		tasks, err := w.poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			if fatalWorkerError(err) {
				return err
			}
			failures++
			w.logger().Warn("concord worker: poll failed", "worker", w.ID, "error", err)
			_ = sleep(ctx, w.client.core.backoff(min(failures, 6)))
			continue
		}
		failures = 0
		for _, task := range tasks {
			w.handle(ctx, task)
		}
	}
	return nil
}

func (w *Worker) poll(ctx context.Context) ([]Task, error) {
	params := &PollTasksParams{
		WorkerID:          w.ID,
		TaskTypes:         w.taskTypes,
		MaxTasks:          w.MaxTasks,
		VisibilityTimeout: w.VisibilityTimeout,
		WaitTimeout:       w.WaitTimeout,
	}
	timeout := WithRequestTimeout(w.WaitTimeout + w.client.core.timeout)
	resp, err := w.client.Sagas.PollTasks(ctx, params, timeout)
	if err != nil {
		return nil, err
	}
	return resp.Tasks, nil
}

// handle runs the handler on one task with its lease heartbeated, then reports the outcome.
func (w *Worker) handle(ctx context.Context, task Task) {
	hctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.heartbeat(hctx, task, stop, cancel)
	}()
	output, err := w.run(hctx, task)
	close(stop)
	<-done
	if cause := context.Cause(hctx); cause != nil && !errors.Is(cause, context.Canceled) {
		w.logger().Warn("concord worker: task abandoned", "task", task.TaskID, "error", cause)
		return
	}
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), w.client.core.timeout)
	defer rcancel()
	if err != nil {
		var final *nonRetryableError
		params := &FailTaskParams{WorkerID: w.ID, ErrorMessage: err.Error(), NonRetryable: errors.As(err, &final)}
		_, err = w.client.Sagas.FailTask(rctx, task.TaskID, params)
	} else {
		_, err = w.client.Sagas.CompleteTask(rctx, task.TaskID, &CompleteTaskParams{WorkerID: w.ID, Output: output})
	}
	if err != nil {
		w.logger().Warn("concord worker: reporting the task failed", "task", task.TaskID, "error", err)
	}
}

// run calls the handler, turning a panic into an error.
func (w *Worker) run(ctx context.Context, task Task) (output any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("task handler panicked: %v", r)
		}
	}()
	return w.handler(ctx, task)
}

// heartbeat renews the task's lease every third of it; a lost lease cancels the handler.
func (w *Worker) heartbeat(ctx context.Context, task Task, stop <-chan struct{}, cancel context.CancelCauseFunc) {
	lease := w.VisibilityTimeout
	if lease <= 0 {
		lease = 30 * time.Second
	}
	ticker := time.NewTicker(max(lease/3, 10*time.Millisecond))
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		params := &HeartbeatTaskParams{WorkerID: w.ID, VisibilityTimeout: w.VisibilityTimeout}
		_, err := w.client.Sagas.HeartbeatTask(ctx, task.TaskID, params)
		if IsCode(err, CodeTaskLeaseLost) || IsCode(err, CodeNotFound) {
			cancel(err)
			return
		}
	}
}

func (w *Worker) logger() *slog.Logger {
	if w.Logger != nil {
		return w.Logger
	}
	return slog.Default()
}

func fatalWorkerError(err error) bool {
	return IsCode(err, CodeUnauthenticated) || IsCode(err, CodePermissionDenied) ||
		IsCode(err, CodeInvalidArgument)
}
