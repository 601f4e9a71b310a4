package concord

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// beatLog records, in order, what a fake server saw of one task's heartbeats.
type beatLog struct {
	mu     sync.Mutex
	events []string
}

func (b *beatLog) add(event string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.events = append(b.events, event)
}

func (b *beatLog) snapshot() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.events...)
}

// beatLease reads a heartbeat body's visibility_timeout.
func beatLease(t *testing.T, r *http.Request) string {
	t.Helper()
	var body map[string]any
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		t.Errorf("heartbeat body: %v", err)
	}
	lease, _ := body["visibility_timeout"].(string)
	return lease
}

// handBackServer leases t1 once and logs its heartbeats; beat runs for the renewing ones.
func handBackServer(t *testing.T, log *beatLog, beat func(w http.ResponseWriter)) func(int, http.ResponseWriter, *http.Request) {
	s := &scripted{queue: []any{taskJSON("t1")}}
	return func(n int, w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "t1:heartbeat") {
			s.handle(n, w, r)
			return
		}
		if lease := beatLease(t, r); lease == "0.001s" {
			log.add("hand-back")
			writeJSON(w, 200, map[string]any{})
			return
		}
		beat(w)
	}
}

func TestAHandedBackTaskIsNoLongerHeartbeatedWhileItsHandlerRuns(t *testing.T) {
	log := &beatLog{}
	_, c := newFake(t, handBackServer(t, log, func(w http.ResponseWriter) {
		log.add("beat")
		writeJSON(w, 200, map[string]any{})
	}))
	started, gate := make(chan struct{}), make(chan struct{})
	defer close(gate)
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		close(started)
		<-gate // ignores its cancellation: it outlives the hand-back
		return nil, nil
	})
	w.VisibilityTimeout, w.ShutdownGrace = 150*time.Millisecond, 20*time.Millisecond
	cancel, result := startWorker(w)
	<-started
	cancel()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	time.Sleep(6 * w.VisibilityTimeout / 3) // six heartbeat intervals with the handler still running
	events := log.snapshot()
	if len(events) == 0 || events[len(events)-1] != "hand-back" {
		t.Fatalf("a heartbeat renewed the lease after the hand-back: %v", events)
	}
}

func TestTheHandBackWaitsForAHeartbeatInFlight(t *testing.T) {
	log := &beatLog{}
	arrived := make(chan struct{}, 1)
	_, c := newFake(t, handBackServer(t, log, func(w http.ResponseWriter) {
		select {
		case arrived <- struct{}{}:
		default:
		}
		time.Sleep(300 * time.Millisecond) // answered well within its 1s timeout
		log.add("beat answered")
		writeJSON(w, 200, map[string]any{})
	}))
	w := NewWorker(c, []string{"charge"}, func(ctx context.Context, task Task) (any, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	w.VisibilityTimeout, w.ShutdownGrace = 3*time.Second, 10*time.Millisecond
	cancel, result := startWorker(w)
	<-arrived // the first heartbeat is in flight: the shutdown's grace ends before its answer
	cancel()
	if err := <-result; err != nil {
		t.Fatal(err)
	}
	if events := log.snapshot(); len(events) != 2 || events[0] != "beat answered" || events[1] != "hand-back" {
		t.Fatalf("the hand-back did not come after the heartbeat in flight: %v", events)
	}
}
