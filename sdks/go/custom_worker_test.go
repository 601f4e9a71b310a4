package concord

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
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
	w.ID, w.MaxTasks, w.WaitTimeout = "worker-1", 3, time.Second
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
