package concord

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// taskServer hands out the given tasks once, then empty polls, and records reports.
type taskServer struct {
	mu      sync.Mutex
	tasks   []any
	reports map[string]map[string]any
	done    chan struct{}
	want    int
}

func (s *taskServer) handle(t *testing.T) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		defer s.mu.Unlock()
		switch {
		case strings.HasSuffix(r.URL.Path, "tasks:poll"):
			tasks := s.tasks
			s.tasks = nil
			if tasks == nil {
				time.Sleep(10 * time.Millisecond)
				tasks = []any{}
			}
			writeJSON(w, 200, map[string]any{"tasks": tasks})
		case strings.HasSuffix(r.URL.Path, ":complete"), strings.HasSuffix(r.URL.Path, ":fail"):
			var body map[string]any
			if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
				t.Errorf("report body: %v", err)
			}
			body["_path"] = r.URL.Path
			s.reports[strings.Split(r.URL.Path, "/")[3]] = body
			if len(s.reports) == s.want {
				close(s.done)
			}
			writeJSON(w, 200, map[string]any{})
		default:
			writeJSON(w, 200, map[string]any{})
		}
	}
}

func TestWorkerCompletesAndFailsTasks(t *testing.T) {
	s := &taskServer{
		tasks: []any{
			map[string]any{"task_id": "t1", "task_type": "charge", "input": map[string]any{"amount": 5}},
			map[string]any{"task_id": "t2", "task_type": "charge", "input": map[string]any{"amount": -1}},
			map[string]any{"task_id": "t3", "task_type": "charge"},
		},
		reports: map[string]map[string]any{}, done: make(chan struct{}), want: 3,
	}
	f, c := newFake(t, s.handle(t))
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		switch task.TaskID {
		case "t2":
			return nil, NonRetryable(errors.New("negative amount"))
		case "t3":
			panic("boom")
		}
		return map[string]any{"charged": task.Input.(map[string]any)["amount"]}, nil
	})
	w.ID, w.Concurrency, w.WaitTimeout = "worker-1", 3, time.Second
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error)
	go func() { result <- w.Run(ctx) }()
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		t.Fatal("tasks not reported")
	}
	cancel()
	if err := <-result; err != nil {
		t.Fatalf("Run returned %v after cancel", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.reports["t1:complete"]; r == nil || r["worker_id"] != "worker-1" || r["output"].(map[string]any)["charged"] != float64(5) {
		t.Fatalf("t1: %v", s.reports)
	}
	if r := s.reports["t2:fail"]; r == nil || r["non_retryable"] != true || r["error_message"] != "negative amount" {
		t.Fatalf("t2: %v", s.reports)
	}
	if r := s.reports["t3:fail"]; r == nil || !strings.Contains(r["error_message"].(string), "boom") || r["non_retryable"] != nil {
		t.Fatalf("t3: %v", s.reports)
	}
	poll := decodeBody(t, f.received()[0])
	if poll["worker_id"] != "worker-1" || poll["max_tasks"] != float64(3) || poll["wait_timeout"] != "1s" {
		t.Fatalf("poll body %v", poll)
	}
}

func TestWorkerStopsWhenRefused(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeError(w, CodePermissionDenied, nil)
	})
	w := NewWorker(c, []string{"x"}, func(context.Context, Task) (any, error) { return nil, nil })
	if err := w.Run(context.Background()); !IsCode(err, CodePermissionDenied) {
		t.Fatalf("Run returned %v", err)
	}
	if err := NewWorker(c, nil, nil).Run(context.Background()); err == nil {
		t.Fatal("a worker without task types ran")
	}
}

func TestWorkerGivesAHandlerWhoseHeartbeatIsRefusedTheGracePeriod(t *testing.T) {
	s := &taskServer{tasks: []any{taskJSON("t1")}, reports: map[string]map[string]any{}, done: make(chan struct{}), want: 1}
	refusedTwice := make(chan struct{}) // the second refusal: the first was handled by then
	var refusals atomic.Int32
	handle := s.handle(t)
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ":heartbeat") {
			if refusals.Add(1) == 2 {
				close(refusedTwice)
			}
			writeError(w, CodePermissionDenied, nil)
			return
		}
		handle(n, w, r)
	})
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		select { // heartbeats go on in the shutdown's grace; the handler is not cancelled
		case <-refusedTwice:
			return map[string]any{"done": true}, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	w.VisibilityTimeout, w.WaitTimeout = 300*time.Millisecond, time.Second
	if err := w.Run(context.Background()); !IsCode(err, CodePermissionDenied) {
		t.Fatalf("Run returned %v", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reports["t1:complete"] == nil {
		t.Fatalf("the handler's outcome was not reported: %v", s.reports)
	}
}

// taskJSON is one task of a poll answer.
func taskJSON(id string) map[string]any {
	return map[string]any{"task_id": id, "task_type": "charge", "attempt": 1}
}

// scripted answers polls with the queued tasks (as many as asked for), and every other call
// with {} unless `answer` handles it; it records every call.
type scripted struct {
	mu     sync.Mutex
	queue  []any
	calls  []recorded
	answer func(path string, w http.ResponseWriter) bool
}

func (s *scripted) handle(n int, w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.calls = append(s.calls, recorded{Path: r.URL.Path, Body: body})
	if strings.HasSuffix(r.URL.Path, "tasks:poll") {
		var poll map[string]any
		_ = json.Unmarshal(body, &poll)
		take := min(int(poll["max_tasks"].(float64)), len(s.queue))
		batch := s.queue[:take]
		s.queue = s.queue[take:]
		s.mu.Unlock()
		if len(batch) == 0 {
			time.Sleep(10 * time.Millisecond)
		}
		writeJSON(w, 200, map[string]any{"tasks": batch})
		return
	}
	s.mu.Unlock()
	if s.answer == nil || !s.answer(r.URL.Path, w) {
		writeJSON(w, 200, map[string]any{})
	}
}

func (s *scripted) named(suffix string) []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found []recorded
	for _, c := range s.calls {
		if strings.HasSuffix(c.Path, suffix) {
			found = append(found, c)
		}
	}
	return found
}

func startWorker(w *Worker) (context.CancelFunc, chan error) {
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- w.Run(ctx) }()
	return cancel, result
}

func TestPollsAskForNoMoreTasksThanFreeSlots(t *testing.T) {
	s := &scripted{queue: []any{taskJSON("t1"), taskJSON("t2"), taskJSON("t3")}}
	_, c := newFake(t, s.handle)
	gate := make(chan struct{})
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		<-gate
		return nil, nil
	})
	w.Concurrency = 2
	cancel, result := startWorker(w)
	waitFor(t, "the first poll", func() bool { return len(s.named("tasks:poll")) >= 1 })
	close(gate)
	waitFor(t, "three completions", func() bool { return len(s.named(":complete")) == 3 })
	cancel()
	<-result
	for _, poll := range s.named("tasks:poll") {
		if decodeBody(t, poll)["max_tasks"].(float64) > 2 {
			t.Fatalf("a poll asked for more than the free slots: %s", poll.Body)
		}
	}
}

func TestEveryRunningTaskIsHeartbeated(t *testing.T) {
	s := &scripted{queue: []any{taskJSON("t1"), taskJSON("t2")}}
	_, c := newFake(t, s.handle)
	gate := make(chan struct{})
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		<-gate
		return nil, nil
	})
	w.Concurrency, w.VisibilityTimeout = 2, 300*time.Millisecond
	cancel, result := startWorker(w)
	waitFor(t, "heartbeats of both tasks", func() bool {
		return len(s.named("t1:heartbeat")) > 0 && len(s.named("t2:heartbeat")) > 0
	})
	close(gate)
	cancel()
	<-result
	if body := decodeBody(t, s.named("t1:heartbeat")[0]); body["visibility_timeout"] != "0.300s" {
		t.Fatalf("heartbeat %v", body)
	}
}

func TestShutdownLetsHandlersFinishAndNeverFailsForCancellation(t *testing.T) {
	s := &scripted{queue: []any{taskJSON("t1")}}
	_, c := newFake(t, s.handle)
	started, gate := make(chan struct{}), make(chan struct{})
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		close(started)
		<-gate
		return "done", ctx.Err()
	})
	cancel, result := startWorker(w)
	<-started
	cancel() // shutdown: the handler is not cancelled and gets the grace period
	close(gate)
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if len(s.named("t1:complete")) != 1 || len(s.named(":fail")) != 0 {
		t.Fatalf("calls %+v", s.calls)
	}
}

func TestShutdownHandsBackWhatOutlivesTheGracePeriod(t *testing.T) {
	s := &scripted{queue: []any{taskJSON("t1")}}
	_, c := newFake(t, s.handle)
	started := make(chan struct{})
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		close(started)
		<-ctx.Done()
		return nil, ctx.Err()
	})
	w.ShutdownGrace = 50 * time.Millisecond
	cancel, result := startWorker(w)
	<-started
	cancel()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	beats := s.named("t1:heartbeat")
	if len(beats) == 0 || decodeBody(t, beats[len(beats)-1])["visibility_timeout"] != "0.001s" {
		t.Fatalf("no hand-back: %+v", s.calls)
	}
	if len(s.named(":fail")) != 0 || len(s.named(":complete")) != 0 {
		t.Fatalf("a handed-back task was reported: %+v", s.calls)
	}
}

func TestALostLeaseCancelsTheHandlerAndIsNotReported(t *testing.T) {
	s := &scripted{queue: []any{taskJSON("t1")}, answer: func(path string, w http.ResponseWriter) bool {
		if strings.HasSuffix(path, ":heartbeat") {
			writeError(w, CodeTaskLeaseLost, nil)
			return true
		}
		return false
	}}
	_, c := newFake(t, s.handle)
	cancelled := make(chan error, 1)
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		<-ctx.Done()
		cancelled <- context.Cause(ctx)
		return "late", nil
	})
	w.VisibilityTimeout = 300 * time.Millisecond
	cancel, result := startWorker(w)
	if cause := <-cancelled; !errors.Is(cause, errLeaseLost) {
		t.Fatalf("cause %v", cause)
	}
	cancel()
	<-result
	if len(s.named(":complete")) != 0 || len(s.named(":fail")) != 0 {
		t.Fatalf("a lost task was reported: %+v", s.calls)
	}
}

func TestUnauthenticatedStopsTheWorker(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeError(w, CodeUnauthenticated, nil)
	})
	w := NewWorker(c, []string{"x"}, func(context.Context, Task) (any, error) { return nil, nil })
	if err := w.Run(context.Background()); !IsCode(err, CodeUnauthenticated) {
		t.Fatalf("Run returned %v", err)
	}
}

// idleWorker is a worker with WaitTimeout 0 on a server whose every poll answers no task.
func idleWorker(t *testing.T) (*scripted, *Worker) {
	s := &scripted{}
	_, c := newFake(t, s.handle)
	w := NewWorker(c, []string{"charge"}, func(context.Context, Task) (any, error) { return nil, nil })
	w.WaitTimeout = 0
	return s, w
}

func TestEmptyPollsStartAtMostOnceASecond(t *testing.T) {
	s, w := idleWorker(t)
	cancel, result := startWorker(w)
	time.Sleep(2 * time.Second)
	cancel()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if polls := len(s.named("tasks:poll")); polls < 1 || polls > 4 {
		t.Fatalf("%d polls in 2s, want 1 to 4 (empty polls start at most once a second)", polls)
	}
}

func TestShutdownEndsThePauseAfterAnEmptyPoll(t *testing.T) {
	s, w := idleWorker(t)
	cancel, result := startWorker(w)
	waitFor(t, "the first poll", func() bool { return len(s.named("tasks:poll")) >= 1 })
	time.Sleep(200 * time.Millisecond) // the worker pauses until a second after its first poll
	if polls := len(s.named("tasks:poll")); polls > 2 {
		t.Fatalf("%d polls within 200ms of the first one: no pause", polls)
	}
	stopped := time.Now()
	cancel()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if d := time.Since(stopped); d > 800*time.Millisecond {
		t.Fatalf("Run returned %s after the shutdown began: the pause went on", d)
	}
}

func TestPollBackoffGrowsFromOneSecondToThirty(t *testing.T) {
	for failures, limit := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 20: 30 * time.Second} {
		for range 20 {
			if d := pollBackoff(failures); d < limit/2 || d > limit {
				t.Fatalf("pollBackoff(%d) = %s, want within [%s, %s]", failures, d, limit/2, limit)
			}
		}
	}
}
