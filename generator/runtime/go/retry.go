package concord

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// maxRetryAfter is the longest Retry-After honoured; a longer one falls back to the backoff.
const maxRetryAfter = 60 * time.Second

// retryDelay decides whether a failed attempt is retried, and after how long. Retried are
// connection errors (timeouts included), 408, 429 and 5xx answers, and only for calls that are
// idempotent or carry an Idempotency-Key.
func (c *core) retryDelay(ctx context.Context, op *operation, rc *requestConfig, attempt int, resp *http.Response, err error) (time.Duration, bool) {
	if attempt >= rc.maxRetries || ctx.Err() != nil {
		return 0, false
	}
	if !op.idempotent && rc.idempotencyKey == "" {
		return 0, false
	}
	wait, hinted, retryable := retryWait(resp, err)
	if !retryable {
		return 0, false
	}
	if hinted {
		return wait, true
	}
	return c.backoff(attempt), true
}

// retryWait reports whether a failed attempt may succeed when tried again (a connection error,
// a retryable status or code) and the delay the server asked for (Retry-After), if it did.
func retryWait(resp *http.Response, err error) (wait time.Duration, hinted, retryable bool) {
	var connErr *ConnectionError
	var apiErr *APIError
	switch {
	case errors.As(err, &connErr):
		return 0, false, true
	case resp == nil && errors.As(err, &apiErr) && apiErr.Code.Retryable(): // from a Transport
		wait, hinted = retryAfterOf(err)
		return wait, hinted, true
	case resp != nil && retryableStatus(resp.StatusCode):
		wait, hinted = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		return wait, hinted, true
	}
	return 0, false, false
}

func retryableStatus(status int) bool {
	switch {
	case status == http.StatusRequestTimeout, status == http.StatusTooManyRequests:
		return true
	case status == http.StatusNotImplemented, status == http.StatusHTTPVersionNotSupported:
		return false
	}
	return status >= 500
}

// backoff is the delay before retry number attempt+1: initial·2^attempt, capped, less up to
// 25% of jitter.
func (c *core) backoff(attempt int) time.Duration {
	d := c.maxBackoff
	if attempt < 30 {
		if next := c.initialBackoff << attempt; next > 0 && next < d {
			d = next
		}
	}
	return time.Duration(float64(d) * (1 - 0.25*rand.Float64()))
}

// retryAfter reads a Retry-After header: delay seconds (fractions accepted) or an HTTP date.
func retryAfter(value string, now time.Time) (time.Duration, bool) {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseFloat(value, 64); err == nil {
		d = time.Duration(secs * float64(time.Second))
	} else if at, err := http.ParseTime(value); err == nil {
		d = max(at.Sub(now), 0)
	} else {
		return 0, false
	}
	if d < 0 || d > maxRetryAfter {
		return 0, false
	}
	return d, true
}
