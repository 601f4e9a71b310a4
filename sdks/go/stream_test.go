package concord

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func sseHandler(frames ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(200)
		for _, frame := range frames {
			_, _ = io.WriteString(w, frame)
			w.(http.Flusher).Flush()
		}
	}
}

func TestSSEReaderParsesFrames(t *testing.T) {
	input := ": keep-alive\n\n" +
		"data: {\"a\":1}\n\n" +
		"event: message\r\nid: 7\r\ndata: {\"b\":\r\ndata: 2}\r\n\r\n" +
		"data:{\"c\":3}\n\n" +
		"event: error\ndata: {\"code\":\"UNAVAILABLE\"}\n\n" +
		"data: {\"unfinished\":true}\n"
	r := newSSEReader(strings.NewReader(input))
	want := []sseEvent{
		{data: []byte(`{"a":1}`)},
		{name: "message", id: "7", data: []byte("{\"b\":\n2}")},
		{data: []byte(`{"c":3}`)},
		{name: "error", data: []byte(`{"code":"UNAVAILABLE"}`)},
	}
	for i, w := range want {
		got, err := r.next()
		if err != nil || got.name != w.name || got.id != w.id || string(got.data) != string(w.data) {
			t.Fatalf("event %d: %+v (%q), %v; want %+v", i, got, got.data, err, w)
		}
	}
	if _, err := r.next(); !errors.Is(err, io.EOF) {
		t.Fatalf("after the last event: %v, want io.EOF", err)
	}
}

func TestWatchStreamsMessages(t *testing.T) {
	f, c := newFake(t, sseHandler(
		": keep-alive\n\n",
		`data: {"type":"ACQUIRED","lock":{"name":"a","fencing_token":1},"occurred_at":"2026-11-23T10:00:00Z"}`+"\n\n",
		"event: ping\ndata: {}\n\n",
		`data: {"type":"RELEASED","lock":{"name":"a","fencing_token":1}}`+"\n\n",
	))
	stream, err := c.Locks.Watch(context.Background(), &WatchLocksParams{Prefix: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Close()
	var types []LockEventType
	for stream.Next() {
		types = append(types, stream.Current().Type)
	}
	if err := stream.Err(); err != nil || len(types) != 2 || types[0] != LockEventTypeAcquired || types[1] != LockEventTypeReleased {
		t.Fatalf("types %v, err %v", types, err)
	}
	r := f.received()[0]
	if r.Header.Get("Accept") != "text/event-stream" || r.Query != "prefix=a" || r.Path != "/v1/locks:watch" {
		t.Fatalf("request %+v", r)
	}
}

func TestStreamErrorEventBecomesATypedError(t *testing.T) {
	_, c := newFake(t, sseHandler(
		`data: {"caught_up":true}`+"\n\n",
		`event: error`+"\n"+`data: {"code":"PERMISSION_DENIED","message":"no","details":{},"request_id":"r9"}`+"\n\n",
	))
	stream, err := c.Events.Subscribe(context.Background(), "orders", &SubscribeToStreamParams{FromRevision: Ptr[int64](0)})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []SubscribeToStreamResponse
	var last error
	for msg, err := range stream.All() {
		if err != nil {
			last = err
			break
		}
		msgs = append(msgs, msg)
	}
	var denied *PermissionDeniedError
	if len(msgs) != 1 || msgs[0].CaughtUp == nil || !*msgs[0].CaughtUp || !errors.As(last, &denied) ||
		denied.RequestID != "r9" || denied.StatusCode != 403 {
		t.Fatalf("messages %+v, err %v", msgs, last)
	}
}

func TestStreamConnectErrorIsReturnedAtOnce(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeError(w, CodeNotFound, nil)
	})
	stream, err := c.Discovery.Watch(context.Background(), "billing")
	if stream != nil || !IsCode(err, CodeNotFound) {
		t.Fatalf("stream %v, err %v", stream, err)
	}
}

func TestStreamCloseEndsALiveStream(t *testing.T) {
	release := make(chan struct{})
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, `data: {"key":"k1"}`+"\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	})
	defer close(release)
	stream, err := c.Cache.Watch(context.Background(), "ns", nil, WithRequestTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !stream.Next() || stream.Current().Key != "k1" {
		t.Fatalf("first message missing: %v", stream.Err())
	}
	time.Sleep(100 * time.Millisecond) // past the request timeout: it only covers the headers
	go func() {
		time.Sleep(50 * time.Millisecond)
		stream.Close()
	}()
	if stream.Next() {
		t.Fatal("Next after Close returned a message")
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("Close should end the stream without an error, got %v", err)
	}
}

func TestStreamEndsWithTheContext(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	stream, err := c.Events.SubscribeAll(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if stream.Next() {
		t.Fatal("unexpected message")
	}
	if stream.Err() != nil {
		t.Fatalf("err %v: the caller's context ending the stream is not an error", stream.Err())
	}
}
