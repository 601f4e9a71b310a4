package concord

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestEnvironmentConfiguresTheClient(t *testing.T) {
	f, _ := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	t.Setenv(EnvBaseURL, f.URL+"/")
	t.Setenv(EnvAPIKey, "env-key")
	if _, err := NewClient().Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvBearerToken, "env-jwt")
	if _, err := NewClient().Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := NewClient(WithAPIKey("opt-key"), WithBearerToken("")).Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
	reqs := f.received()
	if reqs[0].Header.Get("X-API-Key") != "env-key" || reqs[0].Path != "/v1/health/live" {
		t.Fatalf("first request %+v", reqs[0])
	}
	if reqs[1].Header.Get("Authorization") != "Bearer env-jwt" || reqs[1].Header.Get("X-API-Key") != "" {
		t.Fatalf("the bearer token should win over the API key: %v", reqs[1].Header)
	}
	if reqs[2].Header.Get("X-API-Key") != "opt-key" || reqs[2].Header.Get("Authorization") != "" {
		t.Fatalf("options should override the environment: %v", reqs[2].Header)
	}
}

func TestDefaultBaseURL(t *testing.T) {
	t.Setenv(EnvBaseURL, "")
	if c := NewClient(); c.core.baseURL != DefaultBaseURL {
		t.Fatalf("base URL %q", c.core.baseURL)
	}
}

func TestHeadersAndUserAgent(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) },
		WithHeader("X-Team", "infra"), WithHeader("X-Trace", "client"))
	_, _ = c.Health.Live(context.Background(), WithRequestHeader("X-Trace", "call"))
	h := f.received()[0].Header
	if h.Get("User-Agent") != "concord-go/"+Version || h.Get("X-Team") != "infra" || h.Get("X-Trace") != "call" {
		t.Fatalf("headers %v", h)
	}
	if h.Get("Accept") != "application/json" || h.Get("Content-Type") != "" {
		t.Fatalf("a GET without body: %v", h)
	}
}

func TestRequestBodyUsesTheContractJSON(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	resp, err := c.Locks.Acquire(context.Background(), "jobs/a b", &AcquireLockParams{Owner: "w1", TTL: 1500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r := f.received()[0]
	if r.Method != "POST" || r.Path != "/v1/locks/jobs%2Fa%20b:acquire" || r.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("request %s %s %v", r.Method, r.Path, r.Header)
	}
	if got := string(r.Body); got != `{"owner":"w1","ttl":"1.500s"}` {
		t.Fatalf("body %s", got)
	}
	want := time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.UTC)
	if l := resp.Lock; !l.AcquiredAt.Equal(want) || l.TTL != 30*time.Second || l.Owner != "w1" {
		t.Fatalf("lock %+v", l)
	}
}

func TestBodyOfOptionalAndNestedFields(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	params := &AppendToStreamParams{
		Events:           []EventData{{EventID: "e1", Type: "created", Data: map[string]any{"n": 1}}},
		ExpectedState:    ExpectedStreamStateNoStream,
		ExpectedRevision: Ptr[int64](0),
	}
	if _, err := c.Events.Append(context.Background(), "orders", params); err != nil {
		t.Fatal(err)
	}
	want := `{"events":[{"event_id":"e1","type":"created","data":{"n":1}}],"expected_state":"NO_STREAM","expected_revision":0}`
	if got := string(f.received()[0].Body); got != want {
		t.Fatalf("body %s\nwant %s", got, want)
	}
}

func TestEmptyPathParameterFailsBeforeSending(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	_, err := c.Locks.Get(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "name must not be empty") || len(f.received()) != 0 {
		t.Fatalf("err %v, %d requests", err, len(f.received()))
	}
}

func TestResponseInto(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "abc")
		writeJSON(w, 200, map[string]any{"status": "SERVING", "version": "1.2.3"})
	})
	var raw *http.Response
	resp, err := c.Health.Live(context.Background(), WithResponseInto(&raw))
	if err != nil || raw == nil || raw.Header.Get("X-Request-ID") != "abc" || resp.Version != "1.2.3" {
		t.Fatalf("raw %v, resp %+v, err %v", raw, resp, err)
	}
}

func TestUnknownResponseFieldsAreIgnored(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"status": "SERVING", "added_later": true})
	})
	if _, err := c.Health.Live(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestClientIsSafeForConcurrentUse(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	done := make(chan error)
	for range 8 {
		go func() {
			_, err := c.Locks.Acquire(context.Background(), "x", &AcquireLockParams{Owner: "o"})
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestParamsDecodeFromContractJSON(t *testing.T) {
	var p AcquireLockParams
	if err := json.Unmarshal([]byte(`{"owner":"w1","ttl":"0.250s","wait_timeout":"2s"}`), &p); err != nil {
		t.Fatal(err)
	}
	if p.Owner != "w1" || p.TTL != 250*time.Millisecond || p.WaitTimeout == nil || *p.WaitTimeout != 2*time.Second {
		t.Fatalf("params %+v", p)
	}
}
