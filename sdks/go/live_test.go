package concord_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// liveClient is a client of the server at CONCORD_TEST_BASE_URL (API key CONCORD_TEST_API_KEY,
// default the dev server's "dev-admin-key"); the test is skipped without it.
func liveClient(t *testing.T, opts ...concord.Option) *concord.Client {
	t.Helper()
	base := os.Getenv("CONCORD_TEST_BASE_URL")
	if base == "" {
		t.Skip("live test: set CONCORD_TEST_BASE_URL to a running Concord server (CONCORD_TEST_HOOKS=true)")
	}
	key := os.Getenv("CONCORD_TEST_API_KEY")
	if key == "" {
		key = "dev-admin-key"
	}
	all := []concord.Option{concord.WithBaseURL(base), concord.WithAPIKey(key), concord.WithBearerToken(""),
		concord.WithRetryBackoff(10*time.Millisecond, 100*time.Millisecond)}
	return concord.NewClient(append(all, opts...)...)
}

// unique is a name no other run uses.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano())
}

func TestLiveHealth(t *testing.T) {
	c := liveClient(t)
	resp, err := c.Health.Live(context.Background())
	if err != nil || resp.Status != concord.ServingStatusServing {
		t.Fatalf("live: %+v, %v", resp, err)
	}
}

func TestLiveLocks(t *testing.T) {
	c := liveClient(t)
	ctx := context.Background()
	name := unique("go-sdk-lock")
	lock, err := c.Locks.Hold(ctx, name, &concord.HoldOptions{Owner: "alice", TTL: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Locks.Acquire(ctx, name, &concord.AcquireLockParams{Owner: "bob", TTL: 10 * time.Second})
	var conflict *concord.LockConflictError
	if !errors.As(err, &conflict) || conflict.StatusCode != 409 || conflict.RequestID == "" {
		t.Fatalf("bob got %v, want *LockConflictError", err)
	}
	found := false
	for l, err := range c.Locks.List(ctx, &concord.ListLocksParams{Prefix: name, PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		found = found || (l.Name == name && l.FencingToken == lock.FencingToken)
	}
	if !found {
		t.Fatal("the held lock is not listed")
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := c.Locks.Acquire(ctx, name, &concord.AcquireLockParams{Owner: "bob", TTL: 10 * time.Second})
	if err != nil || again.Lock.FencingToken <= lock.FencingToken {
		t.Fatalf("re-acquired %+v, %v: the fencing token must grow", again, err)
	}
}

func TestLiveRetriesInjectedFaults(t *testing.T) {
	c := liveClient(t)
	ctx := context.Background()
	fault := concord.WithRequestHeader("X-Concord-Test-Fault", unique("go")+";2;UNAVAILABLE")
	params := &concord.AcquireLockParams{Owner: "alice", TTL: 5 * time.Second}
	resp, err := c.Locks.Acquire(ctx, unique("go-sdk-retry"), params, fault)
	if err != nil || resp.Lock == nil {
		t.Fatalf("after two injected 503s: %+v, %v", resp, err)
	}
	_, err = c.Health.Live(ctx, concord.WithRequestMaxRetries(0),
		concord.WithRequestHeader("X-Concord-Test-Fault", unique("go")+";1;RATE_LIMITED"))
	if !concord.IsCode(err, concord.CodeRateLimited) {
		t.Fatalf("without retries: %v, want RATE_LIMITED", err)
	}
}

func TestLiveUnauthenticated(t *testing.T) {
	c := liveClient(t, concord.WithAPIKey("not-a-key"))
	_, err := c.Locks.Get(context.Background(), "anything")
	var unauthenticated *concord.UnauthenticatedError
	if !errors.As(err, &unauthenticated) {
		t.Fatalf("got %v", err)
	}
}

func TestLiveEvents(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream := unique("go-sdk-orders")
	events := []concord.EventData{
		{EventID: concord.NewUUID(), Type: "created", Data: map[string]any{"n": 1}},
		{EventID: concord.NewUUID(), Type: "paid", Data: map[string]any{"n": 2}},
	}
	appended, err := c.Events.Append(ctx, stream, &concord.AppendToStreamParams{Events: events, ExpectedState: concord.ExpectedStreamStateNoStream})
	if err != nil || len(appended.Revisions) != 2 {
		t.Fatalf("append: %+v, %v", appended, err)
	}
	_, err = c.Events.Append(ctx, stream, &concord.AppendToStreamParams{Events: events[:1], ExpectedRevision: concord.Ptr[int64](0)})
	if !concord.IsCode(err, concord.CodeWrongExpectedRevision) {
		t.Fatalf("stale append: %v", err)
	}
	var types []string
	for e, err := range c.Events.Read(ctx, stream, &concord.ReadStreamParams{PageSize: 1}) {
		if err != nil {
			t.Fatal(err)
		}
		types = append(types, e.Type)
	}
	if len(types) != 2 || types[1] != "paid" {
		t.Fatalf("read %v", types)
	}
	sub, err := c.Events.Subscribe(ctx, stream, &concord.SubscribeToStreamParams{FromRevision: concord.Ptr[int64](0)})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	got := 0
	for sub.Next() {
		msg := sub.Current()
		if msg.Event != nil {
			got++
		}
		if msg.CaughtUp != nil && *msg.CaughtUp {
			break
		}
	}
	if got != 2 || sub.Err() != nil {
		t.Fatalf("subscription delivered %d events, err %v", got, sub.Err())
	}
}

func TestLiveCache(t *testing.T) {
	c := liveClient(t)
	ctx := context.Background()
	ns, key := unique("go-sdk"), "k"
	set, err := c.Cache.Set(ctx, ns, key, &concord.SetCacheEntryParams{Value: map[string]any{"v": 1}, TTL: concord.Ptr(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Cache.Set(ctx, ns, key, &concord.SetCacheEntryParams{Value: 2, IfMatch: "stale-etag"})
	if !concord.IsCode(err, concord.CodePreconditionFailed) {
		t.Fatalf("stale if_match: %v", err)
	}
	got, err := c.Cache.Get(ctx, ns, key)
	if err != nil || got.Entry.ETag != set.Entry.ETag || got.Entry.ExpiresAt.IsZero() {
		t.Fatalf("get: %+v, %v", got, err)
	}
}

func TestLiveWorkerRunsASaga(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	run := unique("go-sdk")
	definition := &concord.SagaDefinition{Name: "checkout", Steps: []concord.StepDefinition{
		{Name: "reserve", Action: &concord.StepAction{Task: &concord.WorkerTask{TaskType: run + ".reserve"}}},
		{Name: "charge", Action: &concord.StepAction{Task: &concord.WorkerTask{TaskType: run + ".charge"}}},
	}}
	started, err := c.Sagas.Start(ctx, &concord.StartSagaParams{SagaID: run, Definition: definition, Input: map[string]any{"order": 42}})
	if err != nil || !started.Created {
		t.Fatalf("start: %+v, %v", started, err)
	}
	w := concord.NewWorker(c, []string{run + ".reserve", run + ".charge"}, func(ctx context.Context, task concord.Task) (any, error) {
		return map[string]any{"step": task.StepName}, nil
	})
	w.WaitTimeout = time.Second
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(wctx) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}()
	for {
		saga, err := c.Sagas.Get(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if saga.Saga.State == concord.SagaStateCompleted {
			if out := saga.Saga.Steps[1].Output.(map[string]any); out["step"] != "charge" {
				t.Fatalf("charge output %v", out)
			}
			return
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("saga still %s: %v", saga.Saga.State, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestLiveWatchLocks(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	prefix := unique("go-sdk-watch")
	stream, err := c.Locks.Watch(ctx, &concord.WatchLocksParams{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	lock, err := c.Locks.Hold(ctx, prefix+"-a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	var seen []concord.LockEventType
	for event, err := range stream.All() {
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, event.Type)
		if event.Type == concord.LockEventTypeReleased {
			break
		}
	}
	if len(seen) < 2 || seen[0] != concord.LockEventTypeAcquired {
		t.Fatalf("events %v", seen)
	}
}
