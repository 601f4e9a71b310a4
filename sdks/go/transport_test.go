package concord_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"testing"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// fakeTransport answers calls from a script: each attempt pops the next error, if any.
type fakeTransport struct {
	calls  []*concord.Call
	errs   []error
	answer string
}

func (f *fakeTransport) Invoke(_ context.Context, call *concord.Call) ([]byte, error) {
	f.calls = append(f.calls, call)
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return nil, err
	}
	return []byte(f.answer), nil
}

func (f *fakeTransport) OpenStream(_ context.Context, call *concord.Call) (concord.MessageStream, error) {
	f.calls = append(f.calls, call)
	return &fakeStream{msgs: []string{`{"type":"ACQUIRED"}`}, end: f.errs[0]}, nil
}

type fakeStream struct {
	msgs []string
	end  error
}

func (s *fakeStream) Recv() ([]byte, error) {
	if len(s.msgs) == 0 {
		return nil, s.end
	}
	m := s.msgs[0]
	s.msgs = s.msgs[1:]
	return []byte(m), nil
}

func (s *fakeStream) Close() error { return nil }

func TestTransportGetsTheWholeRequestAndRetries(t *testing.T) {
	fake := &fakeTransport{
		errs:   []error{&concord.APIError{Code: concord.CodeUnavailable, RetryAfter: time.Millisecond}},
		answer: `{"lock":{"name":"jobs","fencing_token":3}}`,
	}
	c := concord.NewClient(concord.WithTransport(fake), concord.WithAPIKey("k"), concord.WithBearerToken(""))
	resp, err := c.Locks.Acquire(context.Background(), "jobs", &concord.AcquireLockParams{Owner: "w1", TTL: time.Second})
	if err != nil || resp.Lock.FencingToken != 3 {
		t.Fatalf("acquire: %+v, %v", resp, err)
	}
	if len(fake.calls) != 2 {
		t.Fatalf("%d attempts", len(fake.calls))
	}
	call := fake.calls[0]
	var req map[string]any
	if err := json.Unmarshal(call.Request, &req); err != nil || req["name"] != "jobs" || req["owner"] != "w1" || req["ttl"] != "1s" {
		t.Fatalf("request %s, %v", call.Request, err)
	}
	key := call.Header.Get("Idempotency-Key")
	if call.Service != "concord.v1.LockService" || call.RPC != "AcquireLock" || call.Header.Get("X-API-Key") != "k" ||
		key == "" || fake.calls[1].Header.Get("Idempotency-Key") != key {
		t.Fatalf("call %+v", call)
	}
}

func TestTransportErrorsAreTyped(t *testing.T) {
	fake := &fakeTransport{errs: []error{&concord.APIError{Code: concord.CodeLockConflict, Message: "held"}}}
	c := concord.NewClient(concord.WithTransport(fake))
	_, err := c.Locks.Acquire(context.Background(), "jobs", &concord.AcquireLockParams{Owner: "w1"})
	var conflict *concord.LockConflictError
	if !errors.As(err, &conflict) || conflict.StatusCode != 409 || conflict.Op != "AcquireLock" || len(fake.calls) != 1 {
		t.Fatalf("got %v after %d calls", err, len(fake.calls))
	}
}

func TestTransportStreams(t *testing.T) {
	fake := &fakeTransport{errs: []error{&concord.APIError{Code: concord.CodeLockExpired}}}
	c := concord.NewClient(concord.WithTransport(fake))
	stream, err := c.Locks.Watch(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Next() || stream.Current().Type != concord.LockEventTypeAcquired || stream.Next() {
		t.Fatal("want one message")
	}
	var expired *concord.LockExpiredError
	if !errors.As(stream.Err(), &expired) {
		t.Fatalf("err %v", stream.Err())
	}
	fake.errs = []error{io.EOF}
	stream, _ = c.Locks.Watch(context.Background(), nil)
	for stream.Next() {
	}
	if stream.Err() != nil {
		t.Fatalf("EOF must end cleanly: %v", stream.Err())
	}
}
