package concord_test

import (
	"context"
	"testing"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// startOneTaskSaga starts a saga of one task step of type taskType (retried fast) and returns
// its id.
func startOneTaskSaga(ctx context.Context, t *testing.T, c *concord.Client, taskType string) string {
	t.Helper()
	retry := &concord.RetryPolicy{MaxAttempts: 5, InitialBackoff: concord.Ptr(10 * time.Millisecond)}
	definition := &concord.SagaDefinition{Name: "audit", Steps: []concord.StepDefinition{
		{Name: "only", Action: &concord.StepAction{Task: &concord.WorkerTask{TaskType: taskType}}, Retry: retry},
	}}
	id := unique("go-sdk-saga")
	if _, err := c.Sagas.Start(ctx, &concord.StartSagaParams{SagaID: id, Definition: definition}); err != nil {
		t.Fatal(err)
	}
	return id
}

// waitSagaState polls the saga until it reaches state or ctx ends.
func waitSagaState(ctx context.Context, t *testing.T, c *concord.Client, id string, state concord.SagaState) {
	t.Helper()
	for {
		got, err := c.Sagas.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if got.Saga.State == state {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("saga %s still %s, want %s", id, got.Saga.State, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A WaitTimeout above the contract's 60s is capped (docs/sdk-helpers.md §2.1), not sent as is
// to be refused with INVALID_ARGUMENT, which would stop the worker.
func TestLiveWorkerCapsWaitTimeoutAtSixtySeconds(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	taskType := unique("go-sdk-wait")
	id := startOneTaskSaga(ctx, t, c, taskType)
	w := concord.NewWorker(c, []string{taskType}, func(context.Context, concord.Task) (any, error) {
		return nil, nil
	})
	w.WaitTimeout = 90 * time.Second
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	waitSagaState(ctx, t, c, id, concord.SagaStateCompleted)
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

// A task handed back at the end of the shutdown grace is no longer heartbeated, even while its
// handler ignores the cancellation: another worker leases it on the server's next offer.
func TestLiveHandedBackTaskIsNotHeartbeatedAnyMore(t *testing.T) {
	c := liveClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	taskType := unique("go-sdk-handback")
	id := startOneTaskSaga(ctx, t, c, taskType)
	started := make(chan struct{}, 1)
	release := make(chan struct{})
	defer close(release)
	stubborn := concord.NewWorker(c, []string{taskType}, func(context.Context, concord.Task) (any, error) {
		started <- struct{}{}
		<-release // ignores its context, as a handler stuck in a call may
		return nil, nil
	})
	stubborn.VisibilityTimeout, stubborn.WaitTimeout, stubborn.ShutdownGrace = 1500*time.Millisecond, time.Second, 50*time.Millisecond
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- stubborn.Run(sctx) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("Run ended before the handler started: %v", err)
	case <-ctx.Done():
		t.Fatal("the handler never started")
	}
	stop()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	next := concord.NewWorker(c, []string{taskType}, func(context.Context, concord.Task) (any, error) {
		return "second", nil
	})
	next.WaitTimeout = time.Second
	nctx, stopNext := context.WithCancel(ctx)
	nextDone := make(chan error, 1)
	go func() { nextDone <- next.Run(nctx) }()
	defer func() { stopNext(); <-nextDone }()
	waitCtx, waitCancel := context.WithTimeout(ctx, 8*time.Second)
	defer waitCancel()
	waitSagaState(waitCtx, t, c, id, concord.SagaStateCompleted)
}
