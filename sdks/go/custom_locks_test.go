package concord

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestHoldAcquiresAndReleasesOnDefer(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	ctx, cancel := context.WithCancel(context.Background())
	func() {
		lock, err := c.Locks.Hold(ctx, "jobs", &HoldOptions{Owner: "w1", TTL: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		defer lock.Release(ctx)
		if lock.FencingToken != 7 || lock.Owner != "w1" || lock.Lock().TTL != 30*time.Second {
			t.Fatalf("lock %+v", lock)
		}
		cancel() // Release must still run
	}()
	reqs := f.received()
	if len(reqs) != 2 || !strings.HasSuffix(reqs[0].Path, ":acquire") || !strings.HasSuffix(reqs[1].Path, ":release") {
		t.Fatalf("requests %+v", reqs)
	}
	if body := decodeBody(t, reqs[0]); body["owner"] != "w1" || body["ttl"] != "60s" {
		t.Fatalf("acquire body %v", body)
	}
	if body := decodeBody(t, reqs[1]); body["owner"] != "w1" || body["fencing_token"] != float64(7) {
		t.Fatalf("release body %v", body)
	}
}

func TestHoldDefaultsAndConflict(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeError(w, CodeLockConflict, nil)
	})
	_, err := c.Locks.Hold(context.Background(), "jobs", nil)
	var conflict *LockConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("err %v", err)
	}
	body := decodeBody(t, f.received()[0])
	if body["ttl"] != "30s" || !strings.Contains(body["owner"].(string), "-") {
		t.Fatalf("defaults %v", body)
	}
}

func TestReleaseIsIdempotent(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	lock, err := c.Locks.Hold(context.Background(), "jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := lock.Release(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if len(f.received()) != 2 {
		t.Fatalf("%d requests, want acquire + one release", len(f.received()))
	}
}

// lockServer answers acquire, renew and release; renew and release may be scripted by the
// 1-based number of the renewal or release.
type lockServer struct {
	mu       sync.Mutex
	counts   map[string]int
	order    []string
	renew    func(n int, w http.ResponseWriter)
	release  func(n int, w http.ResponseWriter)
	acquireD time.Duration
}

func (s *lockServer) handle(n int, w http.ResponseWriter, r *http.Request) {
	verb := r.URL.Path[strings.LastIndex(r.URL.Path, ":")+1:]
	s.mu.Lock()
	if s.counts == nil {
		s.counts = map[string]int{}
	}
	s.counts[verb]++
	s.order = append(s.order, verb)
	count := s.counts[verb]
	s.mu.Unlock()
	switch {
	case verb == "acquire":
		time.Sleep(s.acquireD)
	case verb == "renew" && s.renew != nil:
		s.renew(count, w)
		return
	case verb == "release" && s.release != nil:
		s.release(count, w)
		return
	}
	writeJSON(w, 200, map[string]any{"lock": lockJSON})
}

func (s *lockServer) count(verb string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.counts[verb]
}

// waitFor polls cond for up to 10s (the waits end as soon as cond holds; nothing is timed).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func waitLost(t *testing.T, lock *HeldLock) {
	t.Helper()
	select {
	case <-lock.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the hold never signalled lost")
	}
}

func TestTransientRenewalFailuresAreRetriedWithinTheLease(t *testing.T) {
	s := &lockServer{renew: func(n int, w http.ResponseWriter) {
		if n <= 2 {
			writeError(w, CodeUnavailable, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	}}
	_, c := newFake(t, s.handle)
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 6 * time.Second}) // retries for ~2.8s
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a third renewal", func() bool { return s.count("renew") >= 3 })
	if err := lock.Release(context.Background()); err != nil || lock.Err() != nil {
		t.Fatalf("release %v, err %v", err, lock.Err())
	}
}

func TestLostFiresAtTheLocalDeadlineWhileRenewalsFail(t *testing.T) {
	s := &lockServer{renew: func(n int, w http.ResponseWriter) { writeError(w, CodeUnavailable, nil) }}
	_, c := newFake(t, s.handle)
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 3 * time.Second}) // retries for ~1.4s
	if err != nil {
		t.Fatal(err)
	}
	waitLost(t, lock)
	var lost *LockLostError
	if !errors.As(lock.Err(), &lost) || !IsCode(lost, CodeUnavailable) || s.count("renew") < 2 {
		t.Fatalf("err %v after %d renewals", lock.Err(), s.count("renew"))
	}
	if !errors.Is(context.Cause(lock.Context()), lock.Err()) {
		t.Fatalf("context cause %v", context.Cause(lock.Context()))
	}
	if err := lock.Release(context.Background()); !errors.As(err, &lost) || s.count("release") != 1 {
		t.Fatalf("release %v (releases %d)", err, s.count("release"))
	}
}

func TestAFinalRenewalErrorLosesTheHoldAtOnceWithoutRelease(t *testing.T) {
	s := &lockServer{renew: func(n int, w http.ResponseWriter) { writeError(w, CodeLockNotHeld, nil) }}
	_, c := newFake(t, s.handle)
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitLost(t, lock)
	var lost *LockLostError
	if err := lock.Release(context.Background()); !errors.As(err, &lost) || !IsCode(err, CodeLockNotHeld) {
		t.Fatalf("release %v", err)
	}
	if s.count("renew") != 1 || s.count("release") != 0 {
		t.Fatalf("counts %v", s.counts)
	}
}

func TestAHangingRenewalDoesNotDelayTheLostSignal(t *testing.T) {
	unblock := make(chan struct{})
	s := &lockServer{renew: func(n int, w http.ResponseWriter) {
		<-unblock
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	}}
	_, c := newFake(t, s.handle, WithTimeout(time.Minute))
	defer close(unblock)
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	waitLost(t, lock)
}

func TestWithoutAutoRenewTheDeadlineStillSignalsLost(t *testing.T) {
	s := &lockServer{}
	_, c := newFake(t, s.handle)
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 200 * time.Millisecond, DisableAutoRenew: true})
	if err != nil {
		t.Fatal(err)
	}
	waitLost(t, lock)
	if s.count("renew") != 0 {
		t.Fatalf("renewed without auto-renew")
	}
}

func TestALateGrantIsConfirmedBeforeHoldReturns(t *testing.T) {
	s := &lockServer{acquireD: 300 * time.Millisecond}
	_, c := newFake(t, s.handle)
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Release(context.Background())
	s.mu.Lock()
	order := append([]string(nil), s.order...)
	s.mu.Unlock()
	if len(order) < 2 || order[0] != "acquire" || order[1] != "renew" {
		t.Fatalf("order %v", order)
	}
}

func TestTheHoldContextEndsWithTheCallersContext(t *testing.T) {
	s := &lockServer{}
	_, c := newFake(t, s.handle)
	ctx, cancel := context.WithCancel(context.Background())
	lock, err := c.Locks.Hold(ctx, "jobs", nil)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-lock.Context().Done()
	if err := lock.Release(ctx); err != nil || s.count("release") != 1 {
		t.Fatalf("release %v, %d", err, s.count("release"))
	}
}
