package concordgrpc_test

import (
	"context"
	"os"
	"testing"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
	concordgrpc "github.com/concordhq/concord/sdks/go/grpc"
)

// tlsGRPCClient is a client over gRPC with TLS to CONCORD_TEST_TLS_GRPC_TARGET (the server
// `make test-sdks` starts requires client certificates) with the given certificate files.
func tlsGRPCClient(t *testing.T, certFile, keyFile string) *concord.Client {
	t.Helper()
	target := os.Getenv("CONCORD_TEST_TLS_GRPC_TARGET")
	if target == "" {
		t.Skip("live gRPC TLS test: set CONCORD_TEST_TLS_GRPC_TARGET (make test-sdks starts a TLS server)")
	}
	cfg, err := concord.TLSConfig(os.Getenv("CONCORD_TEST_TLS_CA_FILE"), certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	transport, err := concordgrpc.NewTransport(target, concordgrpc.TLS(cfg))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { transport.Close() })
	return concord.NewClient(concord.WithTransport(transport), concord.WithAPIKey(os.Getenv("CONCORD_TEST_API_KEY")),
		concord.WithMaxRetries(0))
}

func TestLiveGRPCMutualTLS(t *testing.T) {
	c := tlsGRPCClient(t, os.Getenv("CONCORD_TEST_TLS_CLIENT_CERT"), os.Getenv("CONCORD_TEST_TLS_CLIENT_KEY"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	held, err := c.Locks.Acquire(ctx, unique("go-grpc-tls"), &concord.AcquireLockParams{Owner: "tls", TTL: 30 * time.Second})
	if err != nil || held.Lock.FencingToken < 1 {
		t.Fatalf("acquire over gRPC with mutual TLS: %+v, %v", held, err)
	}
}

func TestLiveGRPCWithoutClientCertificateIsRefused(t *testing.T) {
	c := tlsGRPCClient(t, "", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := c.Health.Live(ctx); err == nil {
		t.Fatal("no client certificate: the server must refuse the connection")
	}
}
