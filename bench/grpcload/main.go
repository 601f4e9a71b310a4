// Command grpcload is the gRPC load generator of bench/bench_locks.py: closed-loop workers that
// call the standard health check, or run lock cycles (AcquireLock then ReleaseLock with the
// granted fencing token), for a fixed time, and print the request rates as JSON. Messages come
// pre-encoded from the Python side (one acquire request and one release prefix per worker, hex,
// on stdin), so this program needs no generated code. With -connections N the workers take
// turns over N connections (HTTP/2 channels), so that servers sharing a port each get some.
package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
)

// rawCodec sends and receives message bytes as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (rawCodec) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (rawCodec) Name() string { return "proto" }

type worker struct {
	acquire, releasePrefix []byte
	conn                   *grpc.ClientConn
}

var conns []*grpc.ClientConn

// dial returns worker i's connection (workers are dialled in order): a new one for each of
// the first n workers, then the (i mod n)-th again.
func dial(target string, i, n int) (*grpc.ClientConn, error) {
	if i >= n {
		return conns[i%n], nil
	}
	conn, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{})))
	if err != nil {
		return nil, err
	}
	conns = append(conns, conn)
	return conn, nil
}

func closeAll() {
	for _, c := range conns {
		c.Close()
	}
}

// fencingToken reads AcquireLockResponse.lock (field 1) .fencing_token (field 3).
func fencingToken(resp []byte) (uint64, error) {
	lock, err := field(resp, 1, protowire.BytesType)
	if err != nil {
		return 0, err
	}
	raw, err := field(lock, 3, protowire.VarintType)
	if err != nil {
		return 0, err
	}
	token, n := protowire.ConsumeVarint(raw)
	if n < 0 {
		return 0, protowire.ParseError(n)
	}
	return token, nil
}

// field returns the value bytes of the first occurrence of a field (the varint itself for varints).
func field(msg []byte, num protowire.Number, typ protowire.Type) ([]byte, error) {
	for len(msg) > 0 {
		n, t, l := protowire.ConsumeTag(msg)
		if l < 0 {
			return nil, protowire.ParseError(l)
		}
		msg = msg[l:]
		vl := protowire.ConsumeFieldValue(n, t, msg)
		if vl < 0 {
			return nil, protowire.ParseError(vl)
		}
		if n == num && t == typ {
			if t == protowire.BytesType {
				v, _ := protowire.ConsumeBytes(msg)
				return v, nil
			}
			return msg[:vl], nil
		}
		msg = msg[vl:]
	}
	return nil, errors.New("field not found")
}

func readWorkers() ([]worker, error) {
	var out []worker
	scan := bufio.NewScanner(os.Stdin)
	for scan.Scan() {
		parts := strings.Fields(scan.Text())
		if len(parts) != 2 {
			continue
		}
		a, err := hex.DecodeString(parts[0])
		if err != nil {
			return nil, err
		}
		r, err := hex.DecodeString(parts[1])
		if err != nil {
			return nil, err
		}
		out = append(out, worker{acquire: a, releasePrefix: r})
	}
	return out, scan.Err()
}

func run(ctx context.Context, workers []worker, d time.Duration, op func(context.Context, worker) (int, error)) (float64, error) {
	var total atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	start := time.Now()
	for _, w := range workers {
		wg.Add(1)
		go func(w worker) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				n, err := op(ctx, w)
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				total.Add(int64(n))
			}
		}(w)
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return 0, err
	}
	return float64(total.Load()) / time.Since(start).Seconds(), nil
}

func main() {
	target := flag.String("target", "127.0.0.1:9090", "host:port")
	seconds := flag.Float64("seconds", 5, "seconds per figure")
	key := flag.String("api-key", "", "x-api-key metadata for the lock calls")
	connections := flag.Int("connections", 1, "connections the workers take turns over")
	flag.Parse()
	workers, err := readWorkers()
	if *connections < 1 {
		fmt.Fprintln(os.Stderr, "grpcload: -connections must be at least 1")
		os.Exit(2)
	}
	if err != nil || len(workers) == 0 {
		fmt.Fprintln(os.Stderr, "grpcload: give one 'acquire-hex release-prefix-hex' line per worker on stdin", err)
		os.Exit(2)
	}
	for i := range workers {
		conn, err := dial(*target, i, *connections)
		if err != nil {
			fmt.Fprintln(os.Stderr, "grpcload:", err)
			os.Exit(1)
		}
		workers[i].conn = conn
	}
	defer closeAll()
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", *key)
	health := func(ctx context.Context, w worker) (int, error) {
		req, resp := []byte{}, []byte{}
		return 1, w.conn.Invoke(ctx, "/grpc.health.v1.Health/Check", &req, &resp)
	}
	cycle := func(ctx context.Context, w worker) (int, error) {
		resp := []byte{}
		req := w.acquire
		if err := w.conn.Invoke(ctx, "/concord.v1.LockService/AcquireLock", &req, &resp); err != nil {
			return 0, err
		}
		token, err := fencingToken(resp)
		if err != nil {
			return 0, err
		}
		rel := protowire.AppendVarint(protowire.AppendTag(append([]byte(nil), w.releasePrefix...), 3, protowire.VarintType), token)
		out := []byte{}
		return 2, w.conn.Invoke(ctx, "/concord.v1.LockService/ReleaseLock", &rel, &out)
	}
	d := time.Duration(*seconds * float64(time.Second))
	if _, err := run(ctx, workers, time.Second, health); err != nil { // warm-up
		fmt.Fprintln(os.Stderr, "grpcload: health:", err)
		os.Exit(1)
	}
	rates := map[string]float64{}
	for _, fig := range []struct {
		name string
		op   func(context.Context, worker) (int, error)
	}{{"health", health}, {"locks", cycle}} {
		rate, err := run(ctx, workers, d, fig.op)
		if err != nil {
			fmt.Fprintf(os.Stderr, "grpcload: %s: %v\n", fig.name, err)
			os.Exit(1)
		}
		rates[fig.name] = rate
	}
	_ = json.NewEncoder(os.Stdout).Encode(rates)
}
