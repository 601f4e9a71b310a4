package conformance

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// fakeConcord answers a few routes the way the server does.
func fakeConcord(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.URL.Path == "/v1/locks/jobs:acquire" && r.Header.Get("X-API-Key") == "k":
			var in map[string]any
			_ = json.Unmarshal(body, &in)
			if in["owner"] == "bob" {
				w.Header().Set("X-Request-ID", "r1")
				w.WriteHeader(409)
				_, _ = io.WriteString(w, `{"code":"LOCK_CONFLICT","message":"held","details":{"holder":"alice"},"request_id":"r1"}`)
				return
			}
			_, _ = io.WriteString(w, `{"lock":{"name":"jobs","owner":"alice","fencing_token":1,"ttl":"30s","acquired_at":"2026-11-23T10:00:00Z"}}`)
		case r.URL.Path == "/v1/permissions:check":
			_, _ = io.WriteString(w, `{"allowed":false,"role":""}`)
		case r.URL.Path == "/v1/locks:watch":
			w.Header().Set("Content-Type", "text/event-stream")
			for range 5 {
				_, _ = io.WriteString(w, `data: {"type":"ACQUIRED","lock":{"name":"a"}}`+"\n\n")
			}
		default:
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"code":"UNAUTHENTICATED","message":"who?","details":{},"request_id":"r2"}`)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func run(t *testing.T, lines ...string) map[string]map[string]any {
	t.Helper()
	var out bytes.Buffer
	a := &adapter{out: json.NewEncoder(&out)}
	for _, name := range []string{"CONCORD_API_KEY", "CONCORD_BEARER_TOKEN"} {
		_ = os.Unsetenv(name) // what Serve does
	}
	if err := a.serve(strings.NewReader(strings.Join(lines, "\n") + "\n")); err != nil {
		t.Fatal(err)
	}
	answers := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ans map[string]any
		if err := json.Unmarshal([]byte(line), &ans); err != nil {
			t.Fatalf("answer %q: %v", line, err)
		}
		answers[ans["id"].(string)] = ans
	}
	return answers
}

func callLine(id, op, input, extra, base string) string {
	cfg := `{"base_url":"` + base + `","api_key":"k","bearer_token":"","max_retries":0,"timeout_ms":5000,"headers":{}}`
	return `{"type":"call","id":"` + id + `","client":"alice","client_config":` + cfg + `,"op":"` + op + `","input":` + input + extra + `}`
}

func TestAdapterAnswersEveryOutcome(t *testing.T) {
	base := fakeConcord(t).URL
	answers := run(t,
		callLine("ok", "AcquireLock", `{"name":"jobs","owner":"alice","ttl":"30s"}`, "", base),
		callLine("conflict", "AcquireLock", `{"name":"jobs","owner":"bob","ttl":"30s"}`, "", base),
		callLine("denied", "CheckPermission", `{"subject":"s","action":"a","resource":"r"}`, "", base),
		callLine("unknown", "NoSuchOp", `{}`, "", base),
		callLine("badinput", "AcquireLock", `{"name":"jobs","ttl":30}`, "", base),
		callLine("stream", "WatchLocks", `{}`, `,"stream":{"take":3,"timeout_ms":2000}`, base),
		`{"type":"shutdown"}`,
	)
	ok := answers["ok"]
	lock := ok["result"].(map[string]any)["lock"].(map[string]any)
	if ok["outcome"] != "ok" || lock["ttl"] != "30s" || lock["fencing_token"] != float64(1) ||
		lock["acquired_at"] != "2026-11-23T10:00:00Z" || lock["expires_at"] != nil {
		t.Fatalf("ok: %v", ok)
	}
	conflict := answers["conflict"]
	e := conflict["error"].(map[string]any)
	if conflict["outcome"] != "api_error" || e["code"] != "LOCK_CONFLICT" || e["native_type"] != "LockConflictError" ||
		e["http_status"] != float64(409) || e["request_id"] != "r1" || e["details"].(map[string]any)["holder"] != "alice" {
		t.Fatalf("conflict: %v", conflict)
	}
	denied := answers["denied"]["result"].(map[string]any)
	if allowed, present := denied["allowed"]; !present || allowed != false || denied["role"] != "" {
		t.Fatalf("defaults must be written out: %v", denied)
	}
	for _, id := range []string{"unknown", "badinput"} {
		if answers[id]["outcome"] != "adapter_error" {
			t.Fatalf("%s: %v", id, answers[id])
		}
	}
	messages := answers["stream"]["result"].(map[string]any)["messages"].([]any)
	if len(messages) != 3 || messages[0].(map[string]any)["type"] != "ACQUIRED" {
		t.Fatalf("stream: %v", answers["stream"])
	}
}

func TestAdapterClearsCredentialsFromTheEnvironment(t *testing.T) {
	t.Setenv("CONCORD_API_KEY", "from-env")
	base := fakeConcord(t).URL
	line := strings.Replace(callLine("anon", "AcquireLock", `{"name":"jobs","owner":"alice"}`, "", base), `"api_key":"k"`, `"api_key":""`, 1)
	ans := run(t, line)["anon"]
	if e, _ := ans["error"].(map[string]any); e == nil || e["native_type"] != "UnauthenticatedError" {
		t.Fatalf("anon: %v", ans)
	}
}
