package concord

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestARedirectToAnotherOriginIsRefusedAndSendsNothingThere(t *testing.T) {
	var leaked []string
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked = append(leaked, r.Header.Get("X-API-Key")+r.Header.Get("Authorization"))
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	}))
	defer other.Close()
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}, WithHTTPClient(&http.Client{})) // a caller's client following redirects by default
	_, err := c.Locks.Get(context.Background(), "jobs")
	var redirect *CrossOriginRedirectError
	if !errors.As(err, &redirect) || redirect.Op != "GetLock" || redirect.Location != other.URL+"/v1/locks/jobs" {
		t.Fatalf("err %v", err)
	}
	if len(leaked) != 0 || len(f.received()) != 1 {
		t.Fatalf("the other origin got %d requests; the base URL %d", len(leaked), len(f.received()))
	}
}

func TestASameOriginRedirectIsFollowedWithTheCredential(t *testing.T) {
	f, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			http.Redirect(w, r, "/v1/locks/moved", http.StatusTemporaryRedirect)
			return
		}
		writeJSON(w, 200, map[string]any{"lock": lockJSON})
	})
	if _, err := c.Locks.Get(context.Background(), "jobs"); err != nil {
		t.Fatal(err)
	}
	reqs := f.received()
	if len(reqs) != 2 || reqs[1].Path != "/v1/locks/moved" || reqs[1].Header.Get("X-API-Key") != "test-key" {
		t.Fatalf("requests %+v", reqs)
	}
}

func TestExplicitCredentialsReplaceBothEnvironmentCredentials(t *testing.T) {
	t.Setenv(EnvAPIKey, "env-key")
	t.Setenv(EnvBearerToken, "env-jwt")
	c := NewClient(WithAPIKey("explicit"))
	h := http.Header{}
	c.core.setCallHeaders(h, &requestConfig{})
	if h.Get("X-API-Key") != "explicit" || h.Get("Authorization") != "" {
		t.Fatalf("headers %v", h)
	}
	c = NewClient(WithAPIKey(""))
	h = http.Header{}
	c.core.setCallHeaders(h, &requestConfig{})
	if h.Get("Authorization") != "Bearer env-jwt" {
		t.Fatalf("an empty explicit key must count as not given: %v", h)
	}
}
