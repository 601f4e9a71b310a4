package concord

import (
	"context"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestEveryCatalogueCodeHasItsErrorType(t *testing.T) {
	for _, code := range CodeInvalidArgument.Values() {
		_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
			writeError(w, code, map[string]any{"why": "test"})
		}, WithMaxRetries(0))
		_, err := c.Locks.Get(context.Background(), "jobs")
		typeName := reflect.TypeOf(err).Elem().Name()
		words := strings.Split(strings.ToLower(string(code)), "_")
		for i, w := range words {
			words[i] = strings.ToUpper(w[:1]) + w[1:]
		}
		if want := strings.Join(words, "") + "Error"; !strings.EqualFold(typeName, want) {
			t.Errorf("%s: error type %s, want %s", code, typeName, want)
		}
		var apiErr *APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("%s: errors.As(*APIError) failed for %T", code, err)
		}
		if apiErr.Code != code || apiErr.StatusCode != code.HTTPStatus() || apiErr.RequestID != "req-1" ||
			apiErr.Details["why"] != "test" || apiErr.Op != "GetLock" || !IsCode(err, code) {
			t.Errorf("%s: %+v", code, apiErr)
		}
	}
}

func TestTypedErrorsMatchWithErrorsAs(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeError(w, CodeLockConflict, map[string]any{"holder": "w2"})
	})
	_, err := c.Locks.Acquire(context.Background(), "jobs", &AcquireLockParams{Owner: "w1"})
	var conflict *LockConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("got %T, want *LockConflictError", err)
	}
	if conflict.StatusCode != 409 || conflict.Details["holder"] != "w2" || conflict.Response == nil {
		t.Fatalf("conflict %+v", conflict.APIError)
	}
	var notFound *NotFoundError
	if errors.As(err, &notFound) || IsCode(err, CodeNotFound) {
		t.Fatal("a LOCK_CONFLICT matched NOT_FOUND")
	}
	body, _ := io.ReadAll(conflict.Response.Body)
	if !strings.Contains(string(body), "LOCK_CONFLICT") {
		t.Fatalf("the raw response body cannot be read again: %q", body)
	}
	msg := err.Error()
	for _, part := range []string{"AcquireLock", "LOCK_CONFLICT", "409", "req-1"} {
		if !strings.Contains(msg, part) {
			t.Errorf("message %q lacks %q", msg, part)
		}
	}
}

func TestErrorWithoutConcordBody(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-ID", "from-header")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte("<html>bad gateway</html>"))
	}, WithMaxRetries(0))
	_, err := c.Health.Live(context.Background())
	var apiErr *APIError
	if !errors.As(err, &apiErr) || apiErr.Code != CodeUnavailable || apiErr.StatusCode != 502 ||
		apiErr.RequestID != "from-header" || !strings.Contains(apiErr.Message, "bad gateway") {
		t.Fatalf("err %#v", err)
	}
	_, c = newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) })
	if _, err := c.Health.Live(context.Background()); !IsCode(err, CodeNotFound) {
		t.Fatalf("a bare 404 gave %v", err)
	}
}

func TestUnknownCodeIsAPlainAPIError(t *testing.T) {
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 418, map[string]any{"code": "TEAPOT", "message": "short and stout"})
	})
	_, err := c.Health.Live(context.Background())
	apiErr, ok := err.(*APIError)
	if !ok || apiErr.Code != "TEAPOT" || apiErr.StatusCode != 418 {
		t.Fatalf("err %#v", err)
	}
}

func TestCatalogueMetadata(t *testing.T) {
	if CodeRateLimited.HTTPStatus() != 429 || !CodeRateLimited.Retryable() || CodeLockConflict.Retryable() {
		t.Fatal("catalogue statuses or retryable flags are wrong")
	}
	if ErrorCode("NOPE").HTTPStatus() != 0 || len(CodeInternal.Values()) < 10 {
		t.Fatal("unexpected catalogue")
	}
}
