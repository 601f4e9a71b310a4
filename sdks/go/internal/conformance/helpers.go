package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// The helper ops of docs/conformance.md ("Helper operations"), through the SDK's public API.
func init() {
	ops["helper.HoldLock"] = holdLock
	ops["helper.RunWorker"] = runWorker
}

type holdInput struct {
	Name        string `json:"name"`
	Owner       string `json:"owner"`
	TTL         string `json:"ttl"`
	WaitTimeout string `json:"wait_timeout"`
	AutoRenew   *bool  `json:"auto_renew"`
	BodyMS      int    `json:"body_ms"`
	EndOnLost   bool   `json:"end_on_lost"`
	End         string `json:"end"`
}

// duration reads a contract duration; "" is zero.
func duration(text string) (time.Duration, error) {
	if text == "" {
		return 0, nil
	}
	d, err := concord.ParseDuration(text)
	if err != nil {
		return 0, &inputError{err}
	}
	return d, nil
}

// holdLock runs a block of body_ms inside Locks.Hold + Release, ending it as the input says.
func holdLock(ctx context.Context, c *concord.Client, input json.RawMessage, _ *streamSpec, _ []concord.RequestOption) (any, error) {
	var in holdInput
	if err := decodeInput(input, &in); err != nil {
		return nil, err
	}
	ttl, err := duration(in.TTL)
	if err != nil {
		return nil, err
	}
	wait, err := duration(in.WaitTimeout)
	if err != nil {
		return nil, err
	}
	callerCtx, cancelCaller := context.WithCancel(ctx)
	defer cancelCaller()
	opts := &concord.HoldOptions{Owner: in.Owner, TTL: ttl, WaitTimeout: wait, DisableAutoRenew: in.AutoRenew != nil && !*in.AutoRenew}
	lock, err := c.Locks.Hold(callerCtx, in.Name, opts)
	if err != nil {
		return nil, err
	}
	result := map[string]any{"lock": contract(lock.Lock()), "lost_signalled": false, "exit": "ok"}
	runBlock(lock, in)
	select {
	case <-lock.Lost():
		result["lost_signalled"] = true
		result["held_when_lost"] = stillHeld(ctx, c, lock)
	default:
	}
	switch in.End {
	case "raise": // the block's own error wins; the lock is released all the same
		_ = lock.Release(ctx)
		result["exit"] = "body_error"
	case "cancel":
		cancelCaller()
		_ = lock.Release(callerCtx) // a cancelled context: Release must still release
		result["exit"] = "cancelled"
	default:
		var lost *concord.LockLostError
		if err := lock.Release(ctx); errors.As(err, &lost) {
			result["exit"], result["lost_cause"] = "lock_lost", causeOf(lost.Cause)
		} else if err != nil {
			return nil, err
		}
	}
	return result, nil
}

// runBlock waits body_ms, or until the lost signal when the input says so.
func runBlock(lock *concord.HeldLock, in holdInput) {
	timer := time.NewTimer(time.Duration(in.BodyMS) * time.Millisecond)
	defer timer.Stop()
	if in.EndOnLost {
		select {
		case <-lock.Lost():
		case <-timer.C:
		}
		return
	}
	<-timer.C
}

func stillHeld(ctx context.Context, c *concord.Client, lock *concord.HeldLock) bool {
	got, err := c.Locks.Get(ctx, lock.Name)
	return err == nil && got.Lock != nil && got.Lock.Owner == lock.Owner && got.Lock.FencingToken == lock.FencingToken
}

// causeOf is the protocol's lost_cause of a LockLostError's cause.
func causeOf(cause error) any {
	var apiErr *concord.APIError
	switch {
	case cause == nil:
		return nil
	case errors.As(cause, &apiErr):
		return map[string]any{"code": string(apiErr.Code)}
	default:
		return map[string]any{"kind": "connection"}
	}
}

type workerInput struct {
	TaskTypes         []string `json:"task_types"`
	Concurrency       int      `json:"concurrency"`
	VisibilityTimeout string   `json:"visibility_timeout"`
	WaitTimeout       string   `json:"wait_timeout"`
	ShutdownGrace     string   `json:"shutdown_grace"`
	StopAfterStarted  int      `json:"stop_after_started"`
	StopAfterFinished int      `json:"stop_after_finished"`
	MaxMS             int      `json:"max_ms"`
}

// tally is what the scripted handler saw; it begins the shutdown at the input's counts.
type tally struct {
	mu                        sync.Mutex
	started, finished         int
	running, maxConcurrent    int
	tasks                     []any
	stopStarted, stopFinished int
	stop                      context.CancelFunc
}

func (t *tally) begin(task concord.Task) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.started++
	t.running++
	t.maxConcurrent = max(t.maxConcurrent, t.running)
	t.tasks = append(t.tasks, map[string]any{
		"saga_id": task.SagaID, "step_name": task.StepName, "phase": string(task.Phase), "attempt": task.Attempt,
	})
	if t.stopStarted > 0 && t.started >= t.stopStarted {
		t.stop()
	}
}

func (t *tally) end(onItsOwn bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.running--
	if !onItsOwn {
		return
	}
	t.finished++
	if t.stopFinished > 0 && t.finished >= t.stopFinished {
		t.stop()
	}
}

// scripted is the handler of docs/conformance.md: the task input's `script` entry for its attempt.
func scripted(t *tally) concord.TaskHandler {
	return func(ctx context.Context, task concord.Task) (any, error) {
		t.begin(task)
		entry := scriptEntry(task)
		if ms, _ := entry["sleep_ms"].(float64); ms > 0 {
			timer := time.NewTimer(time.Duration(ms) * time.Millisecond)
			select {
			case <-ctx.Done():
				timer.Stop()
				t.end(false)
				return nil, ctx.Err()
			case <-timer.C:
			}
		}
		defer t.end(true)
		if message, _ := entry["fail"].(string); message != "" {
			if final, _ := entry["non_retryable"].(bool); final {
				return nil, concord.NonRetryable(errors.New(message))
			}
			return nil, errors.New(message)
		}
		if output, ok := entry["output"]; ok {
			return output, nil
		}
		return map[string]any{"step": task.StepName, "attempt": task.Attempt}, nil
	}
}

func scriptEntry(task concord.Task) map[string]any {
	input, _ := task.Input.(map[string]any)
	script, _ := input["script"].([]any)
	if len(script) == 0 {
		return map[string]any{}
	}
	entry, _ := script[min(int(task.Attempt), len(script))-1].(map[string]any)
	if entry == nil {
		return map[string]any{}
	}
	return entry
}

// runWorker runs the SDK's Worker with the scripted handler until a stop condition.
func runWorker(ctx context.Context, c *concord.Client, input json.RawMessage, _ *streamSpec, _ []concord.RequestOption) (any, error) {
	var in workerInput
	if err := decodeInput(input, &in); err != nil {
		return nil, err
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	t := &tally{stopStarted: in.StopAfterStarted, stopFinished: in.StopAfterFinished, stop: stop, tasks: []any{}}
	w := concord.NewWorker(c, in.TaskTypes, scripted(t))
	if err := configure(w, in); err != nil {
		return nil, err
	}
	if in.MaxMS <= 0 {
		in.MaxMS = 30000
	}
	limit := time.AfterFunc(time.Duration(in.MaxMS)*time.Millisecond, stop)
	defer limit.Stop()
	if err := w.Run(runCtx); err != nil {
		return nil, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return map[string]any{"started": t.started, "finished": t.finished, "max_concurrent": t.maxConcurrent, "tasks": t.tasks}, nil
}

func configure(w *concord.Worker, in workerInput) error {
	if in.Concurrency > 0 {
		w.Concurrency = in.Concurrency
	}
	settings := []struct {
		text  string
		field *time.Duration
	}{{in.VisibilityTimeout, &w.VisibilityTimeout}, {in.WaitTimeout, &w.WaitTimeout}, {in.ShutdownGrace, &w.ShutdownGrace}}
	for _, s := range settings {
		if s.text == "" {
			continue
		}
		d, err := duration(s.text)
		if err != nil {
			return err
		}
		*s.field = d
	}
	return nil
}
