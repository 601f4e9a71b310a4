package concordgrpc_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
	concordgrpc "github.com/concordhq/concord/sdks/go/grpc"
)

// grpcClient is a client over gRPC to CONCORD_TEST_GRPC_TARGET (e.g. "127.0.0.1:9090"; API key
// CONCORD_TEST_API_KEY, default "dev-admin-key"); the test is skipped without it.
func grpcClient(t *testing.T, opts ...concord.Option) *concord.Client {
	t.Helper()
	target := os.Getenv("CONCORD_TEST_GRPC_TARGET")
	if target == "" {
		t.Skip("live gRPC test: set CONCORD_TEST_GRPC_TARGET to a running Concord server's gRPC address (CONCORD_TEST_HOOKS=true)")
	}
	key := os.Getenv("CONCORD_TEST_API_KEY")
	if key == "" {
		key = "dev-admin-key"
	}
	transport, err := concordgrpc.NewTransport(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { transport.Close() })
	all := []concord.Option{concord.WithTransport(transport), concord.WithAPIKey(key), concord.WithBearerToken(""),
		concord.WithRetryBackoff(10*time.Millisecond, 100*time.Millisecond)}
	return concord.NewClient(append(all, opts...)...)
}

func unique(prefix string) string { return fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()) }

func TestLiveGRPCLocks(t *testing.T) {
	c := grpcClient(t)
	ctx := context.Background()
	name := unique("go-grpc-lock")
	held, err := c.Locks.Acquire(ctx, name, &concord.AcquireLockParams{Owner: "alice", TTL: 10 * time.Second})
	if err != nil || held.Lock.FencingToken <= 0 || held.Lock.Owner != "alice" {
		t.Fatalf("alice: %+v, %v", held, err)
	}
	_, err = c.Locks.Acquire(ctx, name, &concord.AcquireLockParams{Owner: "bob", TTL: 10 * time.Second})
	var conflict *concord.LockConflictError
	if !errors.As(err, &conflict) || conflict.StatusCode != 409 || conflict.RequestID == "" || conflict.Op != "AcquireLock" {
		t.Fatalf("bob got %v, want *LockConflictError", err)
	}
	got, err := c.Locks.Get(ctx, name)
	if err != nil || got.Lock.Owner != "alice" || got.Lock.FencingToken != held.Lock.FencingToken {
		t.Fatalf("get: %+v, %v", got, err)
	}
	if _, err := c.Locks.Release(ctx, name, &concord.ReleaseLockParams{Owner: "alice", FencingToken: held.Lock.FencingToken}); err != nil {
		t.Fatal(err)
	}
	_, err = c.Locks.Get(ctx, name)
	var notFound *concord.NotFoundError
	if !errors.As(err, &notFound) || notFound.StatusCode != 404 {
		t.Fatalf("get after release: %v, want *NotFoundError", err)
	}
}

func TestLiveGRPCUnauthenticated(t *testing.T) {
	c := grpcClient(t, concord.WithAPIKey("not-a-key"))
	_, err := c.Locks.Get(context.Background(), "x")
	var unauth *concord.UnauthenticatedError
	if !errors.As(err, &unauth) {
		t.Fatalf("got %v, want *UnauthenticatedError", err)
	}
}

func TestLiveGRPCRetriesInjectedUnavailable(t *testing.T) {
	c := grpcClient(t)
	ctx := context.Background()
	key := unique("go-grpc-fault")
	// The server fails the first two calls carrying this key with UNAVAILABLE; two retries pass.
	_, err := c.Health.Live(ctx, concord.WithRequestHeader("X-Concord-Test-Fault", key+";2;UNAVAILABLE"))
	if err != nil {
		t.Fatalf("with 2 retries: %v", err)
	}
	key = unique("go-grpc-fault")
	_, err = c.Health.Live(ctx, concord.WithRequestMaxRetries(1), concord.WithRequestHeader("X-Concord-Test-Fault", key+";2;UNAVAILABLE"))
	var unavailable *concord.UnavailableError
	if !errors.As(err, &unavailable) || unavailable.StatusCode != 503 {
		t.Fatalf("with 1 retry: %v, want *UnavailableError", err)
	}
}

func TestLiveGRPCEvents(t *testing.T) {
	c := grpcClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream := unique("go-grpc-orders")
	events := []concord.EventData{
		{EventID: concord.NewUUID(), Type: "created", Data: map[string]any{"n": 1}},
		{EventID: concord.NewUUID(), Type: "paid", Data: map[string]any{"n": 2}},
	}
	appended, err := c.Events.Append(ctx, stream, &concord.AppendToStreamParams{Events: events, ExpectedState: concord.ExpectedStreamStateNoStream})
	if err != nil || len(appended.Revisions) != 2 {
		t.Fatalf("append: %+v, %v", appended, err)
	}
	_, err = c.Events.Append(ctx, stream, &concord.AppendToStreamParams{Events: events[:1], ExpectedRevision: concord.Ptr[int64](0)})
	var stale *concord.WrongExpectedRevisionError
	if !errors.As(err, &stale) {
		t.Fatalf("stale append: %v", err)
	}
	sub, err := c.Events.Subscribe(ctx, stream, &concord.SubscribeToStreamParams{FromRevision: concord.Ptr[int64](0)})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var types []string
	for sub.Next() {
		msg := sub.Current()
		if msg.Event != nil {
			types = append(types, msg.Event.Type)
		}
		if msg.CaughtUp != nil && *msg.CaughtUp {
			break
		}
	}
	if len(types) != 2 || types[1] != "paid" || sub.Err() != nil {
		t.Fatalf("subscription delivered %v, err %v", types, sub.Err())
	}
}
