package concordgrpc

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	concord "github.com/concordhq/concord/sdks/go"
	"github.com/concordhq/concord/sdks/go/grpc/internal/pb"
)

func TestEnumPrefixMapping(t *testing.T) {
	ed := pb.LockEventType(0).Descriptor()
	if got := enumToWire(ed, "ACQUIRED"); got != "LOCK_EVENT_TYPE_ACQUIRED" {
		t.Errorf("to wire: %q", got)
	}
	if got := enumToWire(ed, "BOGUS"); got != "BOGUS" {
		t.Errorf("unknown to wire: %q", got)
	}
	if got := enumFromWire(ed, "LOCK_EVENT_TYPE_RELEASED"); got != "RELEASED" {
		t.Errorf("from wire: %q", got)
	}
	if got := enumFromWire(pb.ErrorCode(0).Descriptor(), "ERROR_CODE_LOCK_CONFLICT"); got != "LOCK_CONFLICT" {
		t.Errorf("error code: %q", got)
	}
}

func TestContractJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.UTC)
	msg := &pb.WatchLocksResponse{
		Type:       pb.LockEventType_LOCK_EVENT_TYPE_ACQUIRED,
		Lock:       &pb.Lock{Name: "jobs", Owner: "w1", FencingToken: 1 << 40, Ttl: durationpb.New(1500 * time.Millisecond)},
		OccurredAt: timestamppb.New(at),
	}
	raw, err := fromProto(msg)
	if err != nil {
		t.Fatal(err)
	}
	var tree map[string]any
	if err := json.Unmarshal(raw, &tree); err != nil {
		t.Fatal(err)
	}
	lock := tree["lock"].(map[string]any)
	if tree["type"] != "ACQUIRED" || lock["fencing_token"] != float64(1<<40) || lock["ttl"] != "1.500s" ||
		tree["occurred_at"] != "2026-11-23T10:00:00.123Z" {
		t.Fatalf("contract JSON: %s", raw)
	}
	var model concord.WatchLocksResponse // the SDK's model reads it
	if err := json.Unmarshal(raw, &model); err != nil || model.Type != concord.LockEventTypeAcquired || model.Lock.FencingToken != 1<<40 {
		t.Fatalf("model: %+v, %v", model, err)
	}
	back := &pb.WatchLocksResponse{}
	if err := toProto(raw, back); err != nil || back.Type != msg.Type || back.Lock.FencingToken != 1<<40 {
		t.Fatalf("back: %v, %v", back, err)
	}
	if err := toProto([]byte(`{"nope":1}`), &pb.WatchLocksResponse{}); err == nil {
		t.Fatal("unknown fields must be rejected")
	}
}

func concordStatus(t *testing.T, code codes.Code, wire pb.ErrorCode, details map[string]any) error {
	t.Helper()
	d, err := structpb.NewStruct(details)
	if err != nil {
		t.Fatal(err)
	}
	st, err := status.New(code, "held by alice").WithDetails(&pb.Error{Code: wire, Message: "held by alice", Details: d, RequestId: "r-1"})
	if err != nil {
		t.Fatal(err)
	}
	return st.Err()
}

func TestMapError(t *testing.T) {
	err := mapError("AcquireLock", concordStatus(t, codes.Aborted, pb.ErrorCode_ERROR_CODE_LOCK_CONFLICT, map[string]any{"holder": "alice"}), metadata.Pairs("retry-after", "2"))
	var apiErr *concord.APIError
	if !errors.As(err, &apiErr) || apiErr.Code != concord.CodeLockConflict || apiErr.StatusCode != 409 ||
		apiErr.RequestID != "r-1" || apiErr.Details["holder"] != "alice" || apiErr.RetryAfter != 2*time.Second {
		t.Fatalf("with details: %#v", err)
	}
	err = mapError("GetLock", status.Error(codes.NotFound, "no"), metadata.Pairs("x-request-id", "r-2"))
	if !errors.As(err, &apiErr) || apiErr.Code != concord.CodeNotFound || apiErr.StatusCode != 404 || apiErr.RequestID != "r-2" {
		t.Fatalf("bare status: %#v", err)
	}
	err = mapError("GetLock", status.Error(codes.FailedPrecondition, "?"), nil)
	if !errors.As(err, &apiErr) || apiErr.Code != "FAILED_PRECONDITION" {
		t.Fatalf("ambiguous status: %#v", err)
	}
	var connErr *concord.ConnectionError
	if err := mapError("GetLock", status.Error(codes.Unavailable, "connection refused"), nil); !errors.As(err, &connErr) {
		t.Fatalf("bare UNAVAILABLE: %#v", err)
	}
	if err := mapError("GetLock", status.Error(codes.DeadlineExceeded, "late"), nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("deadline: %#v", err)
	}
}

// fakeLocks fails the first `failures` AcquireLock calls with UNAVAILABLE and records metadata.
type fakeLocks struct {
	mu       sync.Mutex
	failures int
	seen     []metadata.MD
}

func (f *fakeLocks) AcquireLock(ctx context.Context, req *pb.AcquireLockRequest) (*pb.AcquireLockResponse, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen = append(f.seen, md)
	if len(f.seen) <= f.failures {
		st, _ := status.New(codes.Unavailable, "draining").WithDetails(&pb.Error{Code: pb.ErrorCode_ERROR_CODE_UNAVAILABLE, Message: "draining"})
		return nil, st.Err()
	}
	return &pb.AcquireLockResponse{Lock: &pb.Lock{Name: req.Name, Owner: req.Owner, FencingToken: 7, Ttl: req.Ttl}}, nil
}

func (f *fakeLocks) WatchLocks(req *pb.WatchLocksRequest, stream grpc.ServerStreamingServer[pb.WatchLocksResponse]) error {
	for _, name := range []string{req.Prefix + "a", req.Prefix + "b"} {
		if err := stream.Send(&pb.WatchLocksResponse{Type: pb.LockEventType_LOCK_EVENT_TYPE_ACQUIRED, Lock: &pb.Lock{Name: name}}); err != nil {
			return err
		}
	}
	st, _ := status.New(codes.FailedPrecondition, "gone").WithDetails(&pb.Error{Code: pb.ErrorCode_ERROR_CODE_LOCK_EXPIRED, Message: "gone"})
	return st.Err()
}

// fakeLockService registers the two LockService methods the fake answers, by name, the way the
// transport calls them (no generated server code).
var fakeLockService = grpc.ServiceDesc{
	ServiceName: "concord.v1.LockService",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{
		MethodName: "AcquireLock",
		Handler: func(srv any, ctx context.Context, dec func(any) error, _ grpc.UnaryServerInterceptor) (any, error) {
			in := new(pb.AcquireLockRequest)
			if err := dec(in); err != nil {
				return nil, err
			}
			return srv.(*fakeLocks).AcquireLock(ctx, in)
		},
	}},
	Streams: []grpc.StreamDesc{{
		StreamName:    "WatchLocks",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			in := new(pb.WatchLocksRequest)
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			out := &grpc.GenericServerStream[pb.WatchLocksRequest, pb.WatchLocksResponse]{ServerStream: stream}
			return srv.(*fakeLocks).WatchLocks(in, out)
		},
	}},
}

func fakeClient(t *testing.T, fake *fakeLocks) *concord.Client {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	srv.RegisterService(&fakeLockService, fake)
	go srv.Serve(lis)
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return concord.NewClient(WithGRPC(conn), concord.WithAPIKey("k-1"), concord.WithBearerToken(""),
		concord.WithRetryBackoff(time.Millisecond, 5*time.Millisecond))
}

func TestInProcessRetriesWithOneIdempotencyKey(t *testing.T) {
	fake := &fakeLocks{failures: 2}
	c := fakeClient(t, fake)
	resp, err := c.Locks.Acquire(context.Background(), "jobs", &concord.AcquireLockParams{Owner: "w1", TTL: 30 * time.Second},
		concord.WithRequestHeader("X-Trace", "t-1"))
	if err != nil || resp.Lock.Name != "jobs" || resp.Lock.FencingToken != 7 || resp.Lock.TTL != 30*time.Second {
		t.Fatalf("acquire: %+v, %v", resp, err)
	}
	if len(fake.seen) != 3 {
		t.Fatalf("%d attempts, want 3", len(fake.seen))
	}
	key := fake.seen[0].Get("idempotency-key")
	for _, md := range fake.seen {
		if got := md.Get("idempotency-key"); len(key) != 1 || len(got) != 1 || got[0] != key[0] {
			t.Fatalf("idempotency keys %v vs %v", key, got)
		}
		if md.Get("x-api-key")[0] != "k-1" || md.Get("x-trace")[0] != "t-1" {
			t.Fatalf("metadata %v", md)
		}
	}
	fake2 := &fakeLocks{failures: 5}
	_, err = fakeClient(t, fake2).Locks.Acquire(context.Background(), "jobs", &concord.AcquireLockParams{Owner: "w1"})
	var unavailable *concord.UnavailableError
	if !errors.As(err, &unavailable) || len(fake2.seen) != 3 {
		t.Fatalf("after retries: %v (%d attempts)", err, len(fake2.seen))
	}
}

func TestInProcessServerStream(t *testing.T) {
	c := fakeClient(t, &fakeLocks{})
	stream, err := c.Locks.Watch(context.Background(), &concord.WatchLocksParams{Prefix: "p-"})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var names []string
	for stream.Next() {
		if stream.Current().Type != concord.LockEventTypeAcquired {
			t.Fatalf("type %q", stream.Current().Type)
		}
		names = append(names, stream.Current().Lock.Name)
	}
	var expired *concord.LockExpiredError
	if len(names) != 2 || names[1] != "p-b" || !errors.As(stream.Err(), &expired) {
		t.Fatalf("got %v, err %v", names, stream.Err())
	}
}
