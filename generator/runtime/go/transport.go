package concord

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Transport sends calls by another protocol than the client's HTTP/JSON, e.g. gRPC with
// github.com/concordhq/concord/sdks/go/grpc. Install one with WithTransport. The client keeps
// the rest: options, headers, Idempotency-Key, attempt timeouts, retries and typed errors.
//
// Invoke sends one attempt of a unary call and returns the answer's contract JSON. OpenStream
// starts a server stream. Errors are *APIError for an answer of the server (the client wraps
// it in its typed error, and retries it when its Code is Retryable), *ConnectionError when
// there was no answer (retried), or any other error (not retried).
type Transport interface {
	Invoke(ctx context.Context, call *Call) ([]byte, error)
	OpenStream(ctx context.Context, call *Call) (MessageStream, error)
}

// MessageStream is a server stream opened by a Transport. Recv returns the next message's
// contract JSON, io.EOF at the normal end, or an error like Invoke's; Close ends the stream.
type MessageStream interface {
	Recv() ([]byte, error)
	Close() error
}

// Call is one RPC as a Transport sees it.
type Call struct {
	// Service is the full name of the contract's service, e.g. "concord.v1.LockService".
	Service string
	// RPC is the method's name, e.g. "AcquireLock".
	RPC string
	// Request is the contract JSON of the whole request message (path parameters included).
	Request []byte
	// Header holds the credentials (X-API-Key or Authorization), the Idempotency-Key, and the
	// client's and the call's headers.
	Header http.Header
	// Idempotent is false for calls that are retried only thanks to their Idempotency-Key.
	Idempotent bool
}

// WithTransport sends every call through t instead of HTTP/JSON (WithBaseURL and
// WithHTTPClient are then unused).
func WithTransport(t Transport) Option {
	return func(c *clientConfig) { c.transport = t }
}

// newCall is the Call of op: the request message is params plus the path parameters.
func (c *core) newCall(ctx context.Context, op *operation, rc *requestConfig) (*Call, error) {
	fields := map[string]json.RawMessage{}
	if op.params != nil {
		raw, err := json.Marshal(op.params)
		if err == nil {
			err = json.Unmarshal(raw, &fields)
		}
		if err != nil {
			return nil, fmt.Errorf("concord: %s: encoding the request: %w", op.name, err)
		}
	}
	for name, value := range op.pathArgs {
		raw, err := json.Marshal(value)
		if err != nil {
			return nil, fmt.Errorf("concord: %s: encoding the request: %w", op.name, err)
		}
		fields[name] = raw
	}
	request, err := json.Marshal(fields)
	if err != nil {
		return nil, fmt.Errorf("concord: %s: encoding the request: %w", op.name, err)
	}
	if !op.idempotent && rc.idempotencyKey == "" {
		rc.idempotencyKey = newIdempotencyKey()
	}
	header := http.Header{}
	header.Set("User-Agent", c.userAgent)
	c.setTraceHeaders(ctx, header)
	c.setCallHeaders(header, rc)
	return &Call{Service: op.service, RPC: op.name, Request: request, Header: header, Idempotent: op.idempotent}, nil
}

// callVia runs a unary call through the Transport, retrying like the HTTP path.
func (c *core) callVia(ctx context.Context, op *operation, rc *requestConfig) ([]byte, error) {
	call, err := c.newCall(ctx, op, rc)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		out, err := c.attemptVia(ctx, call, rc)
		if err == nil {
			return out, nil
		}
		err = transportError(op.name, err)
		delay, retry := c.retryDelay(ctx, op, rc, attempt, nil, err)
		if !retry {
			return nil, err
		}
		c.logRetry(ctx, op, attempt, delay, err)
		if waitErr := sleep(ctx, delay); waitErr != nil {
			return nil, fmt.Errorf("concord: %s: %w (while waiting to retry after: %v)", op.name, waitErr, err)
		}
	}
}

// attemptVia sends one attempt, bounded by the request's timeout.
func (c *core) attemptVia(ctx context.Context, call *Call, rc *requestConfig) ([]byte, error) {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if rc.timeout > 0 {
		actx, cancel = context.WithTimeout(ctx, rc.timeout)
	}
	defer cancel()
	out, err := c.transport.Invoke(actx, call)
	if err != nil && ctx.Err() == nil && errors.Is(actx.Err(), context.DeadlineExceeded) {
		err = &ConnectionError{Op: call.RPC, Err: fmt.Errorf("%w after %s: %w", errAttemptTimeout, rc.timeout, context.DeadlineExceeded)}
	}
	return out, err
}

// openStreamVia opens a server stream through the Transport (not retried: the transport
// reports a refusal from the stream's first Recv when its protocol answers lazily).
func openStreamVia[T any](ctx context.Context, c *core, op *operation, rc *requestConfig) (*Stream[T], error) {
	call, err := c.newCall(ctx, op, rc)
	if err != nil {
		return nil, err
	}
	ms, err := c.transport.OpenStream(ctx, call)
	if err != nil {
		return nil, transportError(op.name, err)
	}
	return newStreamFrom[T](ctx, op.name, &transportSource{op: op.name, stream: ms}), nil
}

// transportError wraps an *APIError of a Transport in the typed error of its code.
func transportError(op string, err error) error {
	if apiErr, ok := err.(*APIError); ok {
		if apiErr.Op == "" {
			apiErr.Op = op
		}
		if apiErr.StatusCode == 0 {
			apiErr.StatusCode = apiErr.Code.HTTPStatus()
		}
		return newTypedError(apiErr)
	}
	return err
}

// transportSource feeds a Stream from a Transport's MessageStream.
type transportSource struct {
	op     string
	stream MessageStream
}

func (s *transportSource) next() (sseEvent, error) {
	data, err := s.stream.Recv()
	if err == nil {
		return sseEvent{data: data}, nil
	}
	if errors.Is(err, io.EOF) {
		return sseEvent{}, io.EOF
	}
	return sseEvent{}, &streamFailure{err: transportError(s.op, err)}
}

func (s *transportSource) Close() error { return s.stream.Close() }

// streamFailure is an error a stream source has already mapped to what Err reports.
type streamFailure struct{ err error }

func (f *streamFailure) Error() string { return f.err.Error() }

// retryAfterOf is the delay an error answer of a Transport asked for, if any.
func retryAfterOf(err error) (time.Duration, bool) {
	var apiErr *APIError
	if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 && apiErr.RetryAfter <= maxRetryAfter {
		return apiErr.RetryAfter, true
	}
	return 0, false
}
