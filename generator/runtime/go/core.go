package concord

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// core is the transport shared by a client's resources: it builds requests, authenticates,
// retries, decodes answers and maps error answers to typed errors.
type core struct {
	clientConfig
	baseURL   string
	userAgent string
}

// operation is one REST call as a generated method describes it.
type operation struct {
	name       string // the RPC, for logs and errors
	method     string
	path       string
	query      url.Values
	body       any // JSON body; nil for none
	idempotent bool
	service    string         // the contract's service, e.g. "concord.v1.LockService"
	params     any            // the request's fields besides the path (for a Transport)
	pathArgs   map[string]any // the path parameters by field name (for a Transport)
}

// errEmptyPathParam is returned before any request when a path parameter is empty.
func errEmptyPathParam(rpc, name string) error {
	return fmt.Errorf("concord: %s: %s must not be empty", rpc, name)
}

// call runs a unary operation and decodes the answer into out.
func (c *core) call(ctx context.Context, op *operation, out any, opts []RequestOption) error {
	rc := c.requestConfig(opts)
	var body []byte
	var err error
	if c.transport != nil {
		body, err = c.callVia(ctx, op, rc)
	} else {
		var resp *http.Response
		resp, body, err = c.run(ctx, op, rc, false)
		if err == nil && rc.responseInto != nil {
			*rc.responseInto = resp
		}
	}
	if err != nil {
		return err
	}
	if out == nil || len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("concord: %s: decoding the answer: %w", op.name, err)
	}
	return nil
}

// run sends op until it succeeds, fails for good, or runs out of retries. A unary answer comes
// back read into memory; a stream's (stream=true) with its body open.
func (c *core) run(ctx context.Context, op *operation, rc *requestConfig, stream bool) (*http.Response, []byte, error) {
	payload, err := encodeBody(op)
	if err != nil {
		return nil, nil, err
	}
	if !op.idempotent && rc.idempotencyKey == "" {
		rc.idempotencyKey = newIdempotencyKey()
	}
	for attempt := 0; ; attempt++ {
		resp, body, err := c.attempt(ctx, op, rc, payload, attempt, stream)
		if err == nil && resp.StatusCode < 300 {
			return resp, body, nil
		}
		if err == nil {
			err = errorFromResponse(op, resp, body)
		}
		delay, retry := c.retryDelay(ctx, op, rc, attempt, resp, err)
		if !retry {
			return resp, nil, err
		}
		c.logRetry(ctx, op, attempt, delay, err)
		if waitErr := sleep(ctx, delay); waitErr != nil {
			return resp, nil, fmt.Errorf("concord: %s: %w (while waiting to retry after: %v)", op.name, waitErr, err)
		}
	}
}

func encodeBody(op *operation) ([]byte, error) {
	if op.body == nil {
		return nil, nil
	}
	payload, err := json.Marshal(op.body)
	if err != nil {
		return nil, fmt.Errorf("concord: %s: encoding the request: %w", op.name, err)
	}
	return payload, nil
}

// attempt sends one request. The timeout covers the whole exchange of a unary call, and only
// the wait for the headers of a stream.
func (c *core) attempt(ctx context.Context, op *operation, rc *requestConfig, payload []byte, attempt int, stream bool) (*http.Response, []byte, error) {
	actx, cancel := context.WithCancelCause(ctx)
	timedOut := errors.New("attempt timed out")
	var timer *time.Timer
	if rc.timeout > 0 {
		timer = time.AfterFunc(rc.timeout, func() { cancel(timedOut) })
	}
	req, err := c.newRequest(actx, op, rc, payload, stream)
	if err != nil {
		cancel(nil)
		return nil, nil, err
	}
	start := time.Now()
	c.logRequest(ctx, op, req, attempt)
	resp, err := c.httpClient.Do(req)
	if stream && err == nil && resp.StatusCode < 300 && (timer == nil || timer.Stop()) {
		resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: func() { cancel(nil) }}
		c.logResponse(ctx, op, resp, start)
		return resp, nil, nil
	}
	defer cancel(nil)
	var body []byte
	if err == nil {
		body, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	if timer != nil {
		timer.Stop()
	}
	if redirect, ok := asRedirectError(op.name, err); ok {
		return nil, nil, redirect
	}
	if err != nil {
		if context.Cause(actx) == timedOut && ctx.Err() == nil {
			err = fmt.Errorf("%w after %s: %w", errAttemptTimeout, rc.timeout, context.DeadlineExceeded)
		}
		return nil, nil, &ConnectionError{Op: op.name, Err: err}
	}
	c.logResponse(ctx, op, resp, start)
	return resp, body, nil
}

var errAttemptTimeout = errors.New("request timed out")

func (c *core) newRequest(ctx context.Context, op *operation, rc *requestConfig, payload []byte, stream bool) (*http.Request, error) {
	target := c.baseURL + op.path
	if len(op.query) > 0 {
		target += "?" + op.query.Encode()
	}
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	req, err := http.NewRequestWithContext(ctx, op.method, target, body)
	if err != nil {
		return nil, fmt.Errorf("concord: %s: %w", op.name, err)
	}
	h := req.Header
	h.Set("User-Agent", c.userAgent)
	h.Set("Accept", "application/json")
	if stream {
		h.Set("Accept", "text/event-stream")
	}
	if payload != nil {
		h.Set("Content-Type", "application/json")
	}
	c.setTraceHeaders(ctx, h)
	c.setCallHeaders(h, rc)
	return req, nil
}

// setCallHeaders sets the credentials, the Idempotency-Key and the client's and call's headers.
func (c *core) setCallHeaders(h http.Header, rc *requestConfig) {
	if c.bearerToken != "" {
		h.Set("Authorization", "Bearer "+c.bearerToken)
	} else if c.apiKey != "" {
		h.Set("X-API-Key", c.apiKey)
	}
	if rc.idempotencyKey != "" {
		h.Set("Idempotency-Key", rc.idempotencyKey)
	}
	for k, vs := range c.headers {
		h[k] = append([]string(nil), vs...)
	}
	for k, vs := range rc.headers {
		h[k] = append([]string(nil), vs...)
	}
}

// ConnectionError is a call that got no HTTP answer: the connection failed, broke, or the
// attempt timed out (then errors.Is(err, context.DeadlineExceeded) holds).
type ConnectionError struct {
	Op  string
	Err error
}

func (e *ConnectionError) Error() string { return fmt.Sprintf("concord: %s: %v", e.Op, e.Err) }

// Unwrap returns the underlying error.
func (e *ConnectionError) Unwrap() error { return e.Err }

// cancelOnClose ends a stream's request context when its body is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel func()
}

func (b *cancelOnClose) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
