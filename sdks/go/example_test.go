package concord_test

// Examples compiled by `go test` (they need a server, so they have no Output to check).

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

func ExampleNewClient() {
	c := concord.NewClient(
		concord.WithBaseURL("http://localhost:8080"),
		concord.WithAPIKey(os.Getenv("CONCORD_API_KEY")),
		concord.WithMaxRetries(3),
		concord.WithTimeout(10*time.Second),
		concord.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))),
	)
	resp, err := c.Health.Live(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Status)
}

func ExampleLockService_Hold() {
	ctx := context.Background()
	c := concord.NewClient()
	lock, err := c.Locks.Hold(ctx, "nightly-report", &concord.HoldOptions{TTL: time.Minute})
	var conflict *concord.LockConflictError
	if errors.As(err, &conflict) {
		fmt.Println("someone else runs it:", conflict.Message)
		return
	} else if err != nil {
		log.Fatal(err)
	}
	defer lock.Release(ctx)
	// lock.Context() is cancelled if the hold is lost: the write stops instead of running unprotected.
	writeReport(lock.Context(), lock.FencingToken)
}

func writeReport(ctx context.Context, fencingToken int64) {
	if ctx.Err() == nil {
		fmt.Println("writing with fencing token", fencingToken)
	}
}

func ExampleLockService_Acquire() {
	ctx := context.Background()
	c := concord.NewClient()
	resp, err := c.Locks.Acquire(ctx, "jobs", &concord.AcquireLockParams{Owner: "w1", TTL: 30 * time.Second},
		concord.WithIdempotencyKey("acquire-jobs-w1"), concord.WithRequestTimeout(5*time.Second))
	if concord.IsCode(err, concord.CodeLockConflict) {
		return
	} else if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Lock.FencingToken)
}

func ExampleLockService_List() {
	c := concord.NewClient()
	for lock, err := range c.Locks.List(context.Background(), &concord.ListLocksParams{Prefix: "jobs-"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(lock.Name, lock.Owner, lock.ExpiresAt)
	}
}

func ExampleEventService_Subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := concord.NewClient()
	stream, err := c.Events.Subscribe(ctx, "orders", &concord.SubscribeToStreamParams{FromRevision: concord.Ptr[int64](0)})
	if err != nil {
		log.Fatal(err)
	}
	defer stream.Close()
	for stream.Next() {
		if msg := stream.Current(); msg.Event != nil {
			fmt.Println(msg.Event.Revision, msg.Event.Type)
		}
	}
	if err := stream.Err(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		log.Fatal(err)
	}
}

func ExampleNewWorker() {
	ctx := context.Background()
	c := concord.NewClient()
	w := concord.NewWorker(c, []string{"charge-card"}, func(ctx context.Context, task concord.Task) (any, error) {
		input, _ := task.Input.(map[string]any)
		if input["amount"] == nil {
			return nil, concord.NonRetryable(errors.New("no amount"))
		}
		return map[string]any{"charged": input["amount"]}, nil
	})
	if err := w.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
