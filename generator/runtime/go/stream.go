package concord

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"sync"
)

// maxEventSize bounds one Server-Sent Event (the server sends one JSON message per event).
const maxEventSize = 16 << 20

// Stream reads the messages of a server stream (a subscription or a watch) sent as
// Server-Sent Events. Use it like bufio.Scanner, and Close it when done:
//
//	stream, err := c.Locks.Watch(ctx, nil)
//	if err != nil { … }
//	defer stream.Close()
//	for stream.Next() {
//		event := stream.Current()
//	}
//	if err := stream.Err(); err != nil { … }
//
// or range over All. The call returns once the server accepted the subscription, so a refusal
// is the call's error. A connection that breaks after the server sent an event id is reopened
// from that id (header Last-Event-ID) with the call's retries, transparently: Next just goes
// on with the next message, without duplicates or gaps (watches carry no ids: their broken
// connection is Err). Cancelling the call's context or calling Close ends the stream with a
// nil Err: `return stream.Err()` reports only real failures. A Stream is not safe for
// concurrent use, except Close, which may be called from another goroutine.
type Stream[T any] struct {
	ctx     context.Context
	op      string
	source  streamSource
	current T
	err     error
	once    sync.Once
	closed  chan struct{}
}

// openStream runs a stream operation (retrying the connection like any call) and returns its
// Stream once the server answered 200.
func openStream[T any](ctx context.Context, c *core, op *operation, opts []RequestOption) (*Stream[T], error) {
	rc := c.requestConfig(opts)
	if c.transport != nil {
		return openStreamVia[T](ctx, c, op, rc)
	}
	resp, _, err := c.run(ctx, op, rc, true)
	if err != nil {
		return nil, err
	}
	if rc.responseInto != nil {
		*rc.responseInto = resp
	}
	source := newResumingSource(ctx, c, op, rc, resp.Body)
	return newStreamFrom[T](ctx, op.name, source), nil
}

// streamSource yields a stream's events: Server-Sent Events, or a Transport's messages.
type streamSource interface {
	next() (sseEvent, error)
	Close() error
}

func newStreamFrom[T any](ctx context.Context, op string, source streamSource) *Stream[T] {
	return &Stream[T]{ctx: ctx, op: op, source: source, closed: make(chan struct{})}
}

// Next waits for the next message and reports whether there is one. It returns false at the
// end of the stream, after an error (see Err) and after Close.
func (s *Stream[T]) Next() bool {
	if s.err != nil || s.isClosed() {
		return false
	}
	for {
		event, err := s.source.next()
		if err != nil {
			var failure *streamFailure
			switch {
			case errors.Is(err, io.EOF) || s.isClosed() || s.ctx.Err() != nil:
				// the end, or the caller ended it (Close, a cancelled context): no error
			case errors.As(err, &failure):
				s.err = failure.err
			default:
				s.err = &ConnectionError{Op: s.op, Err: err}
			}
			s.Close()
			return false
		}
		switch event.name {
		case "error":
			s.err = errorFromEvent(s.op, event.data)
			s.Close()
			return false
		case "", "message":
		default:
			continue // an event type this SDK does not know
		}
		var msg T
		if err := json.Unmarshal(event.data, &msg); err != nil {
			s.err = fmt.Errorf("concord: %s: decoding a stream message: %w", s.op, err)
			s.Close()
			return false
		}
		s.current = msg
		return true
	}
}

// Current is the message the last successful Next read.
func (s *Stream[T]) Current() T { return s.current }

// Err is the error that ended the stream: a typed API error sent by the server or a broken
// connection. Nil at a normal end, after Close and after the call's context was cancelled.
func (s *Stream[T]) Err() error { return s.err }

// Close ends the stream and releases its connection. It is safe to call more than once.
func (s *Stream[T]) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closed)
		err = s.source.Close()
	})
	return err
}

// All iterates over the remaining messages; a final error, if any, is yielded last. The stream
// is closed when the loop ends, broken out of or not.
func (s *Stream[T]) All() iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		defer s.Close()
		for s.Next() {
			if !yield(s.Current(), nil) {
				return
			}
		}
		if s.err != nil {
			var zero T
			yield(zero, s.err)
		}
	}
}

func (s *Stream[T]) isClosed() bool {
	select {
	case <-s.closed:
		return true
	default:
		return false
	}
}

// sseEvent is one dispatched Server-Sent Event.
type sseEvent struct {
	name string
	data []byte
	id   string
}

// sseReader parses the text/event-stream format: `field: value` lines, events ended by a blank
// line, several `data` lines joined by "\n", comments (`: keep-alive`) ignored. Like a
// browser's EventSource it keeps the last event id, which an event without data sets too.
type sseReader struct {
	scanner *bufio.Scanner
	lastID  string
	hasID   bool
}

func newSSEReader(r io.Reader) *sseReader {
	scanner := bufio.NewScanner(r)
	scanner.Buffer(make([]byte, 0, 64<<10), maxEventSize)
	return &sseReader{scanner: scanner}
}

// next returns the next event with data; io.EOF at the end (an unfinished event is dropped).
func (r *sseReader) next() (sseEvent, error) {
	var event sseEvent
	var data [][]byte
	idSet := false
	for r.scanner.Scan() {
		line := r.scanner.Bytes()
		if len(line) == 0 {
			if idSet {
				r.lastID, r.hasID = event.id, event.id != ""
			}
			if data != nil {
				event.data = bytes.Join(data, []byte("\n"))
				return event, nil
			}
			event, idSet = sseEvent{}, false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "data":
			data = append(data, append([]byte(nil), value...))
		case "event":
			event.name = string(value)
		case "id":
			if bytes.IndexByte(value, 0) < 0 {
				event.id, idSet = string(value), true
			}
		}
	}
	if err := r.scanner.Err(); err != nil {
		return sseEvent{}, err
	}
	return sseEvent{}, io.EOF
}
