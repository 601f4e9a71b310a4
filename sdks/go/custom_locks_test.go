package concord

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
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

func TestAutoRenewKeepsTheHoldAndReportsItsLoss(t *testing.T) {
	var renewals atomic.Int32
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ":renew") && renewals.Add(1) > 2 {
			writeError(w, CodeLockNotHeld, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	lock, err := c.Locks.Hold(context.Background(), "jobs", &HoldOptions{TTL: 60 * time.Millisecond, AutoRenew: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-lock.Lost():
	case <-time.After(5 * time.Second):
		t.Fatal("the loss of the hold was not reported")
	}
	if !IsCode(lock.Err(), CodeLockNotHeld) || renewals.Load() != 3 {
		t.Fatalf("err %v after %d renewals", lock.Err(), renewals.Load())
	}
	_ = lock.Release(context.Background())
}
