// Command concord-conformance-grpc is the Go SDK's conformance adapter over the gRPC
// transport: the same loop and op table as the REST adapter (the core module's
// internal/conformance), with every client sending through a Transport to the client
// config's grpc_target. It is the runner's `go-grpc` column.
package main

import (
	"fmt"
	"log"
	"os"
	"sync"

	concord "github.com/concordhq/concord/sdks/go"
	concordgrpc "github.com/concordhq/concord/sdks/go/grpc"
	"github.com/concordhq/concord/sdks/go/internal/conformance"
)

// transports holds one connection per gRPC target, shared by the clients of that target.
type transports struct {
	mu       sync.Mutex
	byTarget map[string]*concordgrpc.Transport
}

func (t *transports) forConfig(cfg conformance.ClientConfig) (concord.Transport, error) {
	if cfg.GRPCTarget == "" {
		return nil, fmt.Errorf("client_config has no grpc_target")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if found, ok := t.byTarget[cfg.GRPCTarget]; ok {
		return found, nil
	}
	created, err := concordgrpc.NewTransport(cfg.GRPCTarget)
	if err != nil {
		return nil, err
	}
	t.byTarget[cfg.GRPCTarget] = created
	return created, nil
}

func main() {
	t := &transports{byTarget: map[string]*concordgrpc.Transport{}}
	err := conformance.Serve(os.Stdin, os.Stdout, t.forConfig)
	for _, conn := range t.byTarget {
		_ = conn.Close()
	}
	if err != nil {
		log.Fatal(err)
	}
}
