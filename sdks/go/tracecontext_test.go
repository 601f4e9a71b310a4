package concord

import (
	"context"
	"net/http"
	"testing"
)

const testTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

type spanKey struct{}

func okHandler(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) }

func TestContextWithTraceparentIsSent(t *testing.T) {
	f, c := newFake(t, okHandler)
	ctx := ContextWithTraceparent(context.Background(), testTraceparent)
	if _, err := c.Health.Live(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.received()
	if got := reqs[0].Header.Get("traceparent"); got != testTraceparent {
		t.Fatalf("traceparent %q", got)
	}
	if got := reqs[1].Header.Get("traceparent"); got != "" {
		t.Fatalf("a context without a trace sent traceparent %q", got)
	}
}

// An injector reads the caller's trace from the context, as OpenTelemetry's propagator does.
func TestTraceInjectorWritesTheContextsTrace(t *testing.T) {
	inject := func(ctx context.Context, h http.Header) {
		if tp, ok := ctx.Value(spanKey{}).(string); ok {
			h.Set("traceparent", tp)
			h.Set("tracestate", "vendor=1")
		}
	}
	f, c := newFake(t, okHandler, WithTraceInjector(inject))
	ctx := context.WithValue(context.Background(), spanKey{}, testTraceparent)
	if _, err := c.Health.Live(ctx); err != nil {
		t.Fatal(err)
	}
	mine := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	if _, err := c.Health.Live(ctx, WithRequestHeader("traceparent", mine)); err != nil {
		t.Fatal(err)
	}
	reqs := f.received()
	if reqs[0].Header.Get("traceparent") != testTraceparent || reqs[0].Header.Get("tracestate") != "vendor=1" {
		t.Fatalf("injected headers %v", reqs[0].Header)
	}
	if got := reqs[1].Header.Get("traceparent"); got != mine {
		t.Fatalf("an explicit header should win, got %q", got)
	}
}
