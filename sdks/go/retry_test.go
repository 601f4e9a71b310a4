package concord

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"testing"
	"time"
)

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestRetriesUnavailableThenSucceeds(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 2 {
			writeError(w, CodeUnavailable, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	resp, err := c.Locks.Get(context.Background(), "jobs")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Lock.FencingToken != 7 || len(f.received()) != 3 {
		t.Fatalf("token %d after %d requests", resp.Lock.FencingToken, len(f.received()))
	}
}

func TestRetriedStatuses(t *testing.T) {
	cases := map[int]bool{408: true, 429: true, 500: true, 502: true, 503: true, 504: true,
		400: false, 401: false, 403: false, 404: false, 409: false, 412: false, 501: false}
	for status, retried := range cases {
		f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 0 {
				w.WriteHeader(status)
				return
			}
			writeJSON(w, 200, map[string]any{})
		})
		_, err := c.Health.Live(context.Background())
		if got := len(f.received()) == 2; got != retried || (err == nil) != retried {
			t.Errorf("status %d: retried=%v err=%v, want retried=%v", status, got, err, retried)
		}
	}
}

func TestRetryAfterWinsOverBackoff(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "0")
			writeError(w, CodeRateLimited, nil)
			return
		}
		writeJSON(w, 200, map[string]any{})
	}, WithRetryBackoff(time.Hour, time.Hour))
	start := time.Now()
	if _, err := c.Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed > 2*time.Second || len(f.received()) != 2 {
		t.Fatalf("took %s and %d requests; Retry-After: 0 should retry at once", elapsed, len(f.received()))
	}
}

func TestRetryAfterSecondsIsWaited(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			w.Header().Set("Retry-After", "1")
			writeError(w, CodeUnavailable, nil)
			return
		}
		writeJSON(w, 200, map[string]any{})
	})
	start := time.Now()
	if _, err := c.Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
	if elapsed := time.Since(start); elapsed < 900*time.Millisecond {
		t.Fatalf("retried after %s, want about 1s", elapsed)
	}
}

func TestRetryAfterParsing(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"0", 0, true}, {"2", 2 * time.Second, true}, {"1.5", 1500 * time.Millisecond, true},
		{"Mon, 23 Nov 2026 10:00:05 GMT", 5 * time.Second, true}, {"", 0, false},
		{"soon", 0, false}, {"3600", 0, false}, {"-1", 0, false},
	}
	for _, tc := range cases {
		got, ok := retryAfter(tc.value, now)
		if got != tc.want || ok != tc.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.value, got, ok, tc.want, tc.ok)
		}
	}
}

func TestRetriesRunOut(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeError(w, CodeUnavailable, nil)
	}, WithMaxRetries(3))
	_, err := c.Locks.Get(context.Background(), "jobs")
	var unavailable *UnavailableError
	if !errors.As(err, &unavailable) || len(f.received()) != 4 {
		t.Fatalf("err %v after %d requests; want *UnavailableError after 4", err, len(f.received()))
	}
	_, err = c.Locks.Get(context.Background(), "jobs", WithRequestMaxRetries(0))
	if err == nil || len(f.received()) != 5 {
		t.Fatalf("WithRequestMaxRetries(0) sent %d requests", len(f.received())-4)
	}
}

func TestIdempotencyKeyIsReusedAcrossRetries(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 || n == 2 {
			writeError(w, CodeUnavailable, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	ctx := context.Background()
	params := &AcquireLockParams{Owner: "w1", TTL: 30 * time.Second}
	if _, err := c.Locks.Acquire(ctx, "jobs", params); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Locks.Acquire(ctx, "jobs", params); err != nil {
		t.Fatal(err)
	}
	reqs := f.received()
	first := reqs[0].Header.Get("Idempotency-Key")
	if !uuidV4.MatchString(first) {
		t.Fatalf("key %q is not a UUID v4", first)
	}
	second := reqs[1].Header.Get("Idempotency-Key")
	for _, r := range reqs[2:] {
		if k := r.Header.Get("Idempotency-Key"); k != second {
			t.Fatalf("retry sent key %q, want %q", k, second)
		}
	}
	if first == second {
		t.Fatal("two calls shared an idempotency key")
	}
}

func TestIdempotencyKeyOption(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{})
	})
	ctx := context.Background()
	_, _ = c.Locks.Acquire(ctx, "jobs", &AcquireLockParams{Owner: "w1"}, WithIdempotencyKey("mine"))
	_, _ = c.Locks.Get(ctx, "jobs")
	_, _ = c.Cache.Set(ctx, "ns", "k", &SetCacheEntryParams{Value: 1})
	reqs := f.received()
	if got := reqs[0].Header.Get("Idempotency-Key"); got != "mine" {
		t.Fatalf("key %q, want mine", got)
	}
	for _, r := range reqs[1:] {
		if k := r.Header.Get("Idempotency-Key"); k != "" {
			t.Fatalf("%s %s sent Idempotency-Key %q; idempotent calls need none", r.Method, r.Path, k)
		}
	}
}

func TestConnectionErrorIsRetried(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		writeJSON(w, 200, map[string]any{"status": "SERVING"})
	})
	resp, err := c.Health.Live(context.Background())
	if err != nil || resp.Status != ServingStatusServing || len(f.received()) != 2 {
		t.Fatalf("resp %+v, err %v, %d requests", resp, err, len(f.received()))
	}
}

func TestAttemptTimeoutIsRetriedThenReported(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 || n >= 2 {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
			return
		}
		writeJSON(w, 200, map[string]any{})
	}, WithMaxRetries(1))
	ctx := context.Background()
	if _, err := c.Health.Live(ctx, WithRequestTimeout(100*time.Millisecond)); err != nil {
		t.Fatalf("second attempt should succeed: %v", err)
	}
	_, err := c.Health.Live(ctx, WithRequestTimeout(100*time.Millisecond))
	var connErr *ConnectionError
	if !errors.As(err, &connErr) || !errors.Is(err, context.DeadlineExceeded) || len(f.received()) != 4 {
		t.Fatalf("err %v after %d requests; want a timeout ConnectionError", err, len(f.received()))
	}
}

func TestCancelledContextStopsRetrying(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		cancel()
		writeError(w, CodeUnavailable, nil)
	}, WithRetryBackoff(time.Second, time.Second))
	_, err := c.Health.Live(ctx)
	if err == nil || len(f.received()) != 1 {
		t.Fatalf("err %v after %d requests", err, len(f.received()))
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	c := newCore([]Option{WithRetryBackoff(100*time.Millisecond, 400*time.Millisecond)})
	for attempt, base := range []time.Duration{100, 200, 400, 400, 400} {
		base *= time.Millisecond
		for range 20 {
			d := c.backoff(attempt)
			if d > base || d < base*3/4 {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", attempt, d, base*3/4, base)
			}
		}
	}
	if d := c.backoff(100); d > 400*time.Millisecond {
		t.Fatalf("backoff(100) = %s", d)
	}
}
