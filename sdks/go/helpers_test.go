package concord

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// recorded is one request a fake server received.
type recorded struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
}

// fake is an httptest server whose handler gets the 0-based number of each request.
type fake struct {
	*httptest.Server
	mu       sync.Mutex
	requests []recorded
}

func (f *fake) received() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.requests...)
}

// newFake starts a fake server and a client of it with fast retries.
func newFake(t *testing.T, handler func(n int, w http.ResponseWriter, r *http.Request), opts ...Option) (*fake, *Client) {
	t.Helper()
	t.Setenv(EnvBaseURL, "")
	t.Setenv(EnvAPIKey, "")
	t.Setenv(EnvBearerToken, "")
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		n := len(f.requests)
		f.requests = append(f.requests, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone(), body})
		f.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		handler(n, w, r)
	}))
	t.Cleanup(f.Close)
	base := []Option{WithBaseURL(f.URL), WithAPIKey("test-key"), WithRetryBackoff(time.Millisecond, 5*time.Millisecond)}
	return f, NewClient(append(base, opts...)...)
}

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers a Concord error body with the catalogue status of code.
func writeError(w http.ResponseWriter, code ErrorCode, details map[string]any) {
	w.Header().Set("X-Request-ID", "req-header")
	writeJSON(w, code.HTTPStatus(), map[string]any{
		"code": string(code), "message": "failed: " + string(code), "details": details, "request_id": "req-1",
	})
}

var lockJSON = map[string]any{
	"name": "jobs", "owner": "w1", "fencing_token": 7,
	"acquired_at": "2026-11-23T10:00:00.123Z", "expires_at": "2026-11-23T10:00:30.123Z", "ttl": "30s",
}

func decodeBody(t *testing.T, r recorded) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %q is not a JSON object: %v", r.Body, err)
	}
	return m
}
