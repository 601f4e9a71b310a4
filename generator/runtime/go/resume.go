package concord

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
)

// resumingSource reads a stream's Server-Sent Events and, when the connection breaks after an
// event id was seen (or the server ends the stream with an in-band UNAVAILABLE), reopens the
// same request with the header Last-Event-ID: that id, so the server goes on right after it
// (docs/sdk-helpers.md §3). Reopening follows the call's retry
// policy: at most maxRetries attempts in a row without a message, each after the backoff or
// the server's Retry-After, each bounded by the call's timeout. Close stops a wait or an
// attempt in flight.
type resumingSource struct {
	ctx      context.Context
	cancel   context.CancelFunc
	c        *core
	op       *operation
	rc       *requestConfig
	reader   *sseReader
	failures int // reopen attempts since the last message

	mu     sync.Mutex // guards body and closed against Close from another goroutine
	body   io.ReadCloser
	closed bool
}

func newResumingSource(ctx context.Context, c *core, op *operation, rc *requestConfig, body io.ReadCloser) *resumingSource {
	ctx, cancel := context.WithCancel(ctx)
	return &resumingSource{ctx: ctx, cancel: cancel, c: c, op: op, rc: rc, reader: newSSEReader(body), body: body}
}

// next returns the next event with data, reopening a broken connection when it can, and a
// stream the server ended with an in-band UNAVAILABLE (a draining server, an engine outage)
// as if its connection had broken.
func (s *resumingSource) next() (sseEvent, error) {
	for {
		event, err := s.reader.next()
		switch {
		case err == nil && event.name != "error":
			s.failures = 0
			return event, nil
		case err == nil:
			if err = s.resumable(event); err == nil {
				return event, nil // an error the stream ends with (Stream.Next reports it)
			}
		case errors.Is(err, io.EOF) || !s.canReopen():
			return event, err
		}
		if err := s.reopen(err); err != nil {
			return sseEvent{}, err
		}
	}
}

// canReopen reports whether a broken stream may be reopened: an event id was seen, the call
// allows retries and the caller has not ended it.
func (s *resumingSource) canReopen() bool {
	return s.reader.hasID && s.rc.maxRetries > 0 && s.ctx.Err() == nil
}

// resumable returns the UNAVAILABLE error of an `event: error` frame that the stream resumes
// after, or nil when the frame ends the stream.
func (s *resumingSource) resumable(event sseEvent) error {
	err := errorFromEvent(s.op.name, event.data)
	if !s.canReopen() || !IsCode(err, CodeUnavailable) {
		return nil
	}
	return err
}

// reopen replaces the broken connection by one that resumes after the last event id, or
// returns the error the stream ends with (a Close or a cancelled context during the wait or
// the attempt ends it without one: Stream.Next sees the cancellation).
func (s *resumingSource) reopen(cause error) error {
	delay := s.c.backoff(s.failures)
	for {
		if s.failures >= s.rc.maxRetries {
			return &streamFailure{err: &ConnectionError{Op: s.op.name, Err: cause}}
		}
		s.c.logRetry(s.ctx, s.op, s.failures, delay, cause)
		if err := sleep(s.ctx, delay); err != nil {
			return err
		}
		s.failures++
		resp, err := s.attempt()
		if err == nil {
			return s.install(resp.Body)
		}
		if s.ctx.Err() != nil {
			return err
		}
		wait, hinted, retryable := retryWait(resp, err)
		if !retryable {
			return &streamFailure{err: err}
		}
		cause, delay = err, s.c.backoff(s.failures)
		if hinted {
			delay = wait
		}
	}
}

// attempt sends the stream's request once more, with the header Last-Event-ID.
func (s *resumingSource) attempt() (*http.Response, error) {
	rc := *s.rc
	rc.headers = s.rc.headers.Clone()
	rc.headers.Set("Last-Event-ID", s.reader.lastID)
	payload, err := encodeBody(s.op)
	if err != nil {
		return nil, err
	}
	resp, body, err := s.c.attempt(s.ctx, s.op, &rc, payload, s.failures, true)
	if err == nil && resp.StatusCode >= 300 {
		err = errorFromResponse(s.op, resp, body)
	}
	return resp, err
}

// install makes body the stream's connection, keeping the last event id; a stream closed
// meanwhile drops it.
func (s *resumingSource) install(body io.ReadCloser) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		body.Close()
		return context.Canceled
	}
	s.body.Close()
	reader := newSSEReader(body)
	reader.lastID, reader.hasID = s.reader.lastID, s.reader.hasID
	s.body, s.reader = body, reader
	return nil
}

// Close ends the stream: the current connection, and any wait or attempt to reopen it.
func (s *resumingSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.cancel()
	return s.body.Close()
}
