package concord

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

const redacted = "[REDACTED]"

// secretHeader reports whether a header carries a credential and must not be logged.
func secretHeader(name string) bool {
	n := strings.ToLower(name)
	switch n {
	case "authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie":
		return true
	}
	return strings.Contains(n, "token") || strings.Contains(n, "secret") ||
		strings.Contains(n, "password") || strings.HasSuffix(n, "api-key")
}

// redactHeaders is a copy of h with credentials replaced by [REDACTED].
func redactHeaders(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		if secretHeader(k) {
			out[k] = []string{redacted}
		} else {
			out[k] = vs
		}
	}
	return out
}

func (c *core) logRequest(ctx context.Context, op *operation, req *http.Request, attempt int) {
	if c.logger == nil {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "concord request",
		slog.String("op", op.name),
		slog.String("method", req.Method),
		slog.String("url", req.URL.Redacted()),
		slog.Int("attempt", attempt+1),
		slog.Any("headers", redactHeaders(req.Header)),
	)
}

func (c *core) logResponse(ctx context.Context, op *operation, resp *http.Response, start time.Time) {
	if c.logger == nil {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelDebug, "concord response",
		slog.String("op", op.name),
		slog.Int("status", resp.StatusCode),
		slog.String("request_id", resp.Header.Get("X-Request-ID")),
		slog.Duration("elapsed", time.Since(start)),
	)
}

func (c *core) logRetry(ctx context.Context, op *operation, attempt int, delay time.Duration, err error) {
	if c.logger == nil {
		return
	}
	c.logger.LogAttrs(ctx, slog.LevelInfo, "concord retry",
		slog.String("op", op.name),
		slog.Int("attempt", attempt+1),
		slog.Duration("delay", delay),
		slog.String("error", err.Error()),
	)
}
