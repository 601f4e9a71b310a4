package concord

import (
	"context"
	"net/http"
)

// TraceInjector writes the trace context of ctx into the headers of an outgoing call. With
// OpenTelemetry, pass its propagator (this SDK itself imports only the standard library):
//
//	concord.WithTraceInjector(func(ctx context.Context, h http.Header) {
//		otel.GetTextMapPropagator().Inject(ctx, propagation.HeaderCarrier(h))
//	})
type TraceInjector func(ctx context.Context, h http.Header)

// WithTraceInjector makes every call carry the trace context its ctx holds (W3C
// `traceparent`, and whatever else the injector writes), so the server's spans join the
// caller's trace. Headers set by WithHeader or WithRequestHeader win over injected ones.
func WithTraceInjector(inject TraceInjector) Option {
	return func(c *clientConfig) { c.traceInjector = inject }
}

type traceparentKey struct{}

// ContextWithTraceparent returns a copy of ctx whose calls send this W3C `traceparent` header
// (e.g. "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"), for callers that keep
// their trace context themselves rather than through a TraceInjector.
func ContextWithTraceparent(ctx context.Context, traceparent string) context.Context {
	return context.WithValue(ctx, traceparentKey{}, traceparent)
}

// setTraceHeaders writes the trace context of ctx: the client's injector, then a traceparent
// put in ctx by ContextWithTraceparent.
func (c *core) setTraceHeaders(ctx context.Context, h http.Header) {
	if c.traceInjector != nil {
		c.traceInjector(ctx, h)
	}
	if tp, ok := ctx.Value(traceparentKey{}).(string); ok && tp != "" {
		h.Set("Traceparent", tp)
	}
}
