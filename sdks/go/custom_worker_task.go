// Hand-written (never regenerated): one leased task of a Worker: its handler, its heartbeats,
// the report of its outcome, and handing it back, to docs/sdk-helpers.md §2.3-2.5.

package concord

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// handBackLease is the lease a handed-back task is given: it ends at once, so the server
// offers the task again.
const handBackLease = time.Millisecond

// maxErrorMessage is FailTask's limit on error_message.
const maxErrorMessage = 4000

var (
	errLeaseLost  = errors.New("concord: the task's lease was lost")
	errHandedBack = errors.New("concord: the worker shut down before the handler finished: task handed back")
)

// runningTask is one leased task whose handler runs.
type runningTask struct {
	task     Task
	base     context.Context // the worker's values, never cancelled by its shutdown
	cancel   context.CancelCauseFunc
	received time.Time
	done     chan struct{} // closed when the handler returns
	givenUp  chan struct{} // closed when the task is abandoned
	beatsEnd chan struct{} // closed when the heartbeats have ended, with none in flight

	mu        sync.Mutex
	finished  bool
	abandoned error
}

// abandon gives the task up (the lease is lost, or it is handed back) and cancels its handler;
// false when the handler already finished or the task was already given up.
func (rt *runningTask) abandon(why error) bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.finished || rt.abandoned != nil {
		return false
	}
	rt.abandoned = why
	rt.cancel(why)
	close(rt.givenUp)
	return true
}

// finish marks the handler done; whether its outcome is to be reported.
func (rt *runningTask) finish() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	rt.finished = true
	return rt.abandoned == nil
}

// start runs the task's handler and heartbeats in goroutines of their own.
func (w *Worker) start(base context.Context, task Task, received time.Time) {
	hctx, cancel := context.WithCancelCause(base)
	rt := &runningTask{task: task, base: base, cancel: cancel, received: received,
		done: make(chan struct{}), givenUp: make(chan struct{}), beatsEnd: make(chan struct{})}
	w.mu.Lock()
	w.active[task.TaskID] = rt
	w.mu.Unlock()
	go w.heartbeat(rt)
	go w.handle(hctx, rt)
}

// handle runs the handler, then reports its outcome unless the task was given up.
func (w *Worker) handle(ctx context.Context, rt *runningTask) {
	defer func() {
		rt.cancel(nil)
		w.mu.Lock()
		delete(w.active, rt.task.TaskID)
		close(w.changed)
		w.changed = make(chan struct{})
		w.mu.Unlock()
	}()
	output, err := w.run(ctx, rt.task)
	close(rt.done)
	if !rt.finish() {
		return // lost or handed back: the handler's answer is not reported
	}
	w.report(rt, output, err)
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

// report completes or fails the task (both idempotent, so retried by the client).
func (w *Worker) report(rt *runningTask, output any, err error) {
	ctx := rt.base
	if err != nil {
		var final *nonRetryableError
		message := err.Error()
		if len(message) > maxErrorMessage {
			message = message[:maxErrorMessage]
		}
		params := &FailTaskParams{WorkerID: w.ID, ErrorMessage: message, NonRetryable: errors.As(err, &final)}
		_, err = w.client.Sagas.FailTask(ctx, rt.task.TaskID, params)
	} else {
		_, err = w.client.Sagas.CompleteTask(ctx, rt.task.TaskID, &CompleteTaskParams{WorkerID: w.ID, Output: output})
	}
	if err != nil {
		w.logger().Warn("concord worker: reporting the task failed", "task", rt.task.TaskID, "error", err)
		if stopsWorker(err, false) {
			w.stopFor(err)
		}
	}
}

// heartbeat renews the task's lease every third of the visibility timeout until the handler
// ends or the task is given up; a lost lease gives the task up and cancels its handler; an
// auth error stops the worker, whose shutdown gives this handler the grace period as every other.
func (w *Worker) heartbeat(rt *runningTask) {
	defer close(rt.beatsEnd)
	interval := w.VisibilityTimeout / 3
	next := rt.received.Add(interval)
	for {
		timer := time.NewTimer(max(time.Until(next), 0))
		select {
		case <-rt.done:
			timer.Stop()
			return
		case <-rt.givenUp:
			timer.Stop()
			return
		case <-timer.C:
		}
		sent := time.Now()
		params := &HeartbeatTaskParams{WorkerID: w.ID, VisibilityTimeout: Ptr(w.VisibilityTimeout)}
		_, err := w.client.Sagas.HeartbeatTask(rt.base, rt.task.TaskID, params,
			WithRequestMaxRetries(0), WithRequestTimeout(interval))
		switch {
		case err == nil:
			next = sent.Add(interval)
		case IsCode(err, CodeTaskLeaseLost) || IsCode(err, CodeNotFound):
			w.logger().Warn("concord worker: task abandoned", "task", rt.task.TaskID, "error", err)
			rt.abandon(errLeaseLost)
			return
		case stopsWorker(err, false):
			w.stopFor(err) // the shutdown's grace applies to this handler too (§2.6)
			next = time.Now().Add(interval)
		case transient(err):
			next = time.Now().Add(min(w.VisibilityTimeout/10, time.Second))
		default:
			next = time.Now().Add(interval)
		}
	}
}

// handBackRunning hands back a task given up while its handler ran, once its heartbeats have
// ended: one still in flight (bounded by its timeout) could otherwise renew the lease after.
func (w *Worker) handBackRunning(rt *runningTask) {
	<-rt.beatsEnd
	w.handBack(rt.base, rt.task)
}

// handBack ends the task's lease at once, so the server offers it again (never FailTask).
func (w *Worker) handBack(ctx context.Context, task Task) {
	params := &HeartbeatTaskParams{WorkerID: w.ID, VisibilityTimeout: Ptr(handBackLease)}
	if _, err := w.client.Sagas.HeartbeatTask(ctx, task.TaskID, params); err != nil {
		w.logger().Info("concord worker: handing back a task failed", "task", task.TaskID, "error", err)
	}
}
