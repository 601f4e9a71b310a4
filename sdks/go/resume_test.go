package concord

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// eventFrame is the SSE frame of event revision rev of stream "orders", with its id.
func eventFrame(rev int) string {
	return fmt.Sprintf("id: %d\ndata: {\"event\":{\"stream\":\"orders\",\"revision\":%d}}\n\n", rev, rev)
}

const caughtUpFrame = "data: {\"caught_up\":true}\n\n"

// cutHandler writes the frames and then breaks the connection: the chunked body never ends.
func cutHandler(w http.ResponseWriter, frames ...string) {
	sseHandler(frames...)(0, w, nil)
	panic(http.ErrAbortHandler)
}

// revisions reads a subscription to its end: each event's revision, "caught_up", and Err.
func revisions(stream *Stream[SubscribeToStreamResponse]) ([]string, error) {
	var got []string
	for msg, err := range stream.All() {
		switch {
		case err != nil:
			return got, err
		case msg.Event != nil:
			got = append(got, fmt.Sprint(msg.Event.Revision))
		case msg.CaughtUp != nil:
			got = append(got, "caught_up")
		}
	}
	return got, nil
}

func subscribe(t *testing.T, c *Client, opts ...RequestOption) *Stream[SubscribeToStreamResponse] {
	t.Helper()
	stream, err := c.Events.Subscribe(context.Background(), "orders", &SubscribeToStreamParams{FromRevision: Ptr[int64](0)}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return stream
}

func TestStreamResumesAfterACutWithLastEventID(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			cutHandler(w, eventFrame(0), eventFrame(1))
		}
		sseHandler(eventFrame(2), eventFrame(3), caughtUpFrame)(n, w, r)
	})
	got, err := revisions(subscribe(t, c))
	if err != nil || strings.Join(got, ",") != "0,1,2,3,caught_up" {
		t.Fatalf("messages %v, err %v", got, err)
	}
	reqs := f.received()
	if len(reqs) != 2 || reqs[0].Header.Get("Last-Event-ID") != "" || reqs[1].Header.Get("Last-Event-ID") != "1" {
		t.Fatalf("requests %+v", reqs)
	}
	if reqs[1].Path != reqs[0].Path || reqs[1].Query != reqs[0].Query || reqs[1].Header.Get("X-API-Key") != "test-key" {
		t.Fatalf("the reopened request differs: %+v", reqs[1])
	}
}

// drainedFrame is the in-band error a draining server ends its streams with.
const drainedFrame = "event: error\ndata: {\"code\":\"UNAVAILABLE\",\"message\":\"the server is shutting down\",\"details\":{\"reason\":\"shutting_down\"}}\n\n"

func TestStreamResumesAfterADrainingServersUnavailable(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			sseHandler(eventFrame(0), eventFrame(1), drainedFrame)(n, w, r)
			return
		}
		sseHandler(eventFrame(2), caughtUpFrame)(n, w, r)
	})
	got, err := revisions(subscribe(t, c))
	if err != nil || strings.Join(got, ",") != "0,1,2,caught_up" {
		t.Fatalf("messages %v, err %v", got, err)
	}
	if reqs := f.received(); len(reqs) != 2 || reqs[1].Header.Get("Last-Event-ID") != "1" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestStreamRaisesAnUnavailableItCannotResumeAfter(t *testing.T) {
	for name, tc := range map[string]struct {
		frames  []string
		retries int
	}{
		"before any id":   {[]string{drainedFrame}, 3},
		"without retries": {[]string{eventFrame(0), drainedFrame}, 0},
	} {
		t.Run(name, func(t *testing.T) {
			f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
				sseHandler(tc.frames...)(n, w, r)
			})
			_, err := revisions(subscribe(t, c, WithRequestMaxRetries(tc.retries)))
			var unavailable *UnavailableError
			if !errors.As(err, &unavailable) || unavailable.Details["reason"] != "shutting_down" || len(f.received()) != 1 {
				t.Fatalf("err %v, %d requests", err, len(f.received()))
			}
		})
	}
}

func TestStreamRaisesAnInBandErrorOtherThanUnavailable(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		sseHandler(eventFrame(0), "event: error\ndata: {\"code\":\"PERMISSION_DENIED\",\"message\":\"no\"}\n\n")(n, w, r)
	})
	got, err := revisions(subscribe(t, c))
	var denied *PermissionDeniedError
	if strings.Join(got, ",") != "0" || !errors.As(err, &denied) || len(f.received()) != 1 {
		t.Fatalf("messages %v, err %v, %d requests", got, err, len(f.received()))
	}
}

func TestStreamResumesFromAnIDOnlyFrame(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			cutHandler(w, "id: 5\n\n")
		}
		sseHandler(eventFrame(6))(n, w, r)
	})
	got, err := revisions(subscribe(t, c))
	if err != nil || strings.Join(got, ",") != "6" {
		t.Fatalf("messages %v, err %v: the id-only frame is no message", got, err)
	}
	if reqs := f.received(); len(reqs) != 2 || reqs[1].Header.Get("Last-Event-ID") != "5" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestStreamResumeRetriesFailedReopens(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0:
			cutHandler(w, eventFrame(0))
		case 1:
			w.Header().Set("Retry-After", "0.3")
			writeError(w, CodeUnavailable, nil)
		case 2:
			writeError(w, CodeUnavailable, nil)
		}
		sseHandler(eventFrame(1))(n, w, r)
	})
	start := time.Now()
	got, err := revisions(subscribe(t, c, WithRequestMaxRetries(3)))
	if err != nil || strings.Join(got, ",") != "0,1" {
		t.Fatalf("messages %v, err %v", got, err)
	}
	if elapsed := time.Since(start); elapsed < 300*time.Millisecond {
		t.Fatalf("resumed after %s: Retry-After 0.3 was not honoured", elapsed)
	}
	reqs := f.received()
	for _, r := range reqs[1:] {
		if r.Header.Get("Last-Event-ID") != "0" {
			t.Fatalf("request %+v without Last-Event-ID 0", r)
		}
	}
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
}

func TestStreamResumeGivesUpAfterMaxRetries(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			cutHandler(w, eventFrame(0))
		}
		writeError(w, CodeUnavailable, nil)
	}, WithMaxRetries(2))
	got, err := revisions(subscribe(t, c))
	var connErr *ConnectionError
	if strings.Join(got, ",") != "0" || !errors.As(err, &connErr) {
		t.Fatalf("messages %v, err %v: want a ConnectionError", got, err)
	}
	if n := len(f.received()); n != 3 {
		t.Fatalf("%d requests, want the opening and 2 reopens", n)
	}
}

func TestStreamResumeCountsFailuresOnlySinceTheLastMessage(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 3 {
			cutHandler(w, eventFrame(n))
		}
		sseHandler(eventFrame(n))(n, w, r)
	}, WithMaxRetries(1))
	got, err := revisions(subscribe(t, c))
	if err != nil || strings.Join(got, ",") != "0,1,2,3" {
		t.Fatalf("messages %v, err %v", got, err)
	}
	if n := len(f.received()); n != 4 {
		t.Fatalf("%d requests, want 4", n)
	}
}

func TestStreamWithoutRetriesDoesNotResume(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			cutHandler(w, eventFrame(0))
		}
		sseHandler(eventFrame(1))(n, w, r)
	}, WithMaxRetries(3))
	got, err := revisions(subscribe(t, c, WithRequestMaxRetries(0)))
	var connErr *ConnectionError
	if strings.Join(got, ",") != "0" || !errors.As(err, &connErr) || len(f.received()) != 1 {
		t.Fatalf("messages %v, err %v, %d requests", got, err, len(f.received()))
	}
}

func TestStreamResumeRefusedRaisesTheTypedError(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			cutHandler(w, eventFrame(0))
		}
		writeError(w, CodePermissionDenied, nil)
	}, WithMaxRetries(3))
	got, err := revisions(subscribe(t, c))
	var denied *PermissionDeniedError
	if strings.Join(got, ",") != "0" || !errors.As(err, &denied) || len(f.received()) != 2 {
		t.Fatalf("messages %v, err %v, %d requests", got, err, len(f.received()))
	}
}

func TestWatchWithoutIDsDoesNotResume(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		cutHandler(w, `data: {"type":"ACQUIRED","lock":{"name":"a"}}`+"\n\n")
	})
	stream, err := c.Locks.Watch(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	count := 0
	for stream.Next() {
		count++
	}
	var connErr *ConnectionError
	if count != 1 || !errors.As(stream.Err(), &connErr) || len(f.received()) != 1 {
		t.Fatalf("%d messages, err %v, %d requests", count, stream.Err(), len(f.received()))
	}
}

// waitingToResume opens a subscription whose connection breaks after one message, with a 1 s
// backoff, and reads that message: the stream is then waiting to reopen.
func waitingToResume(t *testing.T, ctx context.Context) (*fake, *Stream[SubscribeToStreamResponse]) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			cutHandler(w, eventFrame(0))
		}
		sseHandler(eventFrame(1))(n, w, r)
	}, WithRetryBackoff(time.Second, time.Second))
	stream, err := c.Events.Subscribe(ctx, "orders", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Next() {
		t.Fatalf("no first message: %v", stream.Err())
	}
	return f, stream
}

func TestStreamCloseDuringTheResumeBackoffEndsCleanly(t *testing.T) {
	f, stream := waitingToResume(t, context.Background())
	time.AfterFunc(100*time.Millisecond, func() { stream.Close() })
	start := time.Now()
	if stream.Next() || stream.Err() != nil {
		t.Fatalf("Next after Close: err %v", stream.Err())
	}
	if elapsed := time.Since(start); elapsed > 600*time.Millisecond || len(f.received()) != 1 {
		t.Fatalf("ended after %s with %d requests: Close must stop the wait", elapsed, len(f.received()))
	}
}

func TestStreamContextCancelledDuringTheResumeBackoffEndsCleanly(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, stream := waitingToResume(t, ctx)
	defer stream.Close()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	if stream.Next() || stream.Err() != nil {
		t.Fatalf("Next after cancel: err %v", stream.Err())
	}
	if elapsed := time.Since(start); elapsed > 600*time.Millisecond || len(f.received()) != 1 {
		t.Fatalf("ended after %s with %d requests: the context must stop the wait", elapsed, len(f.received()))
	}
}

func TestSSEReaderKeepsTheLastEventID(t *testing.T) {
	input := "id: 3\n\n" + // id-only: no event, but the last id
		"data: {\"caught_up\":true}\n\n" + // no id: the last id stays
		"id: 4\ndata: {}\n\n" +
		"id: 9\ndata: {\"unfinished\":true}\n" // never dispatched: not the last id
	r := newSSEReader(strings.NewReader(input))
	if e, err := r.next(); err != nil || string(e.data) != `{"caught_up":true}` || r.lastID != "3" {
		t.Fatalf("event %q, err %v, last id %q", e.data, err, r.lastID)
	}
	if e, err := r.next(); err != nil || e.id != "4" || r.lastID != "4" {
		t.Fatalf("event %+v, err %v, last id %q", e, err, r.lastID)
	}
	if _, err := r.next(); !errors.Is(err, io.EOF) || r.lastID != "4" || !r.hasID {
		t.Fatalf("err %v, last id %q", err, r.lastID)
	}
}
