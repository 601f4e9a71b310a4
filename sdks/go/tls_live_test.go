package concord_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// tlsEnv is the TLS server `make test-sdks` starts (it requires client certificates): its URL,
// CA and a client certificate it accepts; the test is skipped without it.
func tlsEnv(t *testing.T) (url, ca, cert, key string) {
	t.Helper()
	url = os.Getenv("CONCORD_TEST_TLS_BASE_URL")
	if url == "" {
		t.Skip("live TLS test: set CONCORD_TEST_TLS_BASE_URL (make test-sdks starts a TLS server)")
	}
	return url, os.Getenv("CONCORD_TEST_TLS_CA_FILE"), os.Getenv("CONCORD_TEST_TLS_CLIENT_CERT"),
		os.Getenv("CONCORD_TEST_TLS_CLIENT_KEY")
}

func tlsClient(t *testing.T, url, ca, cert, key string) *concord.Client {
	t.Helper()
	cfg, err := concord.TLSConfig(ca, cert, key)
	if err != nil {
		t.Fatal(err)
	}
	return concord.NewClient(concord.WithBaseURL(url), concord.WithAPIKey(os.Getenv("CONCORD_TEST_API_KEY")),
		concord.WithTLSConfig(cfg), concord.WithMaxRetries(0))
}

func TestLiveTLSWithCABundleAndClientCertificate(t *testing.T) {
	url, ca, cert, key := tlsEnv(t)
	c := tlsClient(t, url, ca, cert, key)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := unique("go-sdk-tls")
	stream, err := c.Locks.Watch(ctx, &concord.WatchLocksParams{Prefix: name})
	if err != nil {
		t.Fatalf("watch over TLS: %v", err)
	}
	defer stream.Close()
	held, err := c.Locks.Acquire(ctx, name, &concord.AcquireLockParams{Owner: "tls", TTL: 30 * time.Second})
	if err != nil || held.Lock.FencingToken < 1 {
		t.Fatalf("acquire over TLS: %+v, %v", held, err)
	}
	for change, err := range stream.All() {
		if err != nil {
			t.Fatalf("stream over TLS: %v", err)
		}
		if change.Lock.Name != name {
			t.Fatalf("change of %q, want %q", change.Lock.Name, name)
		}
		break
	}
}

func TestLiveTLSRefusals(t *testing.T) {
	url, ca, cert, key := tlsEnv(t)
	ctx := context.Background()
	if _, err := tlsClient(t, url, ca, "", "").Health.Live(ctx); err == nil {
		t.Fatal("no client certificate: the server must refuse the handshake")
	}
	_, err := tlsClient(t, url, "", cert, key).Health.Live(ctx)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("without the CA bundle: %v, want x509.UnknownAuthorityError", err)
	}
}

func TestTLSConfigErrors(t *testing.T) {
	_, ca, cert, _ := tlsEnv(t)
	if _, err := concord.TLSConfig(filepath.Join(t.TempDir(), "missing.pem"), "", ""); err == nil ||
		!strings.Contains(err.Error(), "reading the CA bundle") {
		t.Fatalf("missing CA file: %v", err)
	}
	if _, err := concord.TLSConfig(ca, cert, ca); err == nil ||
		!strings.Contains(err.Error(), "loading the client certificate") {
		t.Fatalf("a CA as the key: %v", err)
	}
}
