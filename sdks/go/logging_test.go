package concord

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

func TestLoggingRedactsCredentials(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 0 {
			writeError(w, CodeUnavailable, nil)
			return
		}
		writeJSON(w, 200, map[string]any{"secret": "s3cr3t-value"})
	}, WithLogger(logger), WithAPIKey("super-secret-key"), WithHeader("X-Session-Token", "tok-123"))
	if _, err := c.Auth.CreateAPIKey(context.Background(), &CreateAPIKeyParams{Name: "ci"}); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"super-secret-key", "tok-123", "s3cr3t-value"} {
		if strings.Contains(out, secret) {
			t.Fatalf("the log shows %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"concord request", "concord response", "concord retry", redacted, "CreateApiKey", "status=503"} {
		if !strings.Contains(out, want) {
			t.Fatalf("the log lacks %q:\n%s", want, out)
		}
	}
}

func TestNoLoggingByDefault(t *testing.T) {
	var buf bytes.Buffer
	previous := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer slog.SetDefault(previous)
	_, c := newFake(t, func(n int, w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]any{}) })
	_, _ = c.Health.Live(context.Background())
	if buf.Len() != 0 {
		t.Fatalf("logged without WithLogger: %s", buf.String())
	}
}
