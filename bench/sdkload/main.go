// Command sdkload is the Go client of bench/bench_sdk.py: closed-loop lock cycles (AcquireLock,
// then ReleaseLock with the granted fencing token) against a live server, either through the Go
// SDK or through net/http sending the same requests (the same JSON bodies and headers, an
// Idempotency-Key on each, as the SDK sends), for a fixed time. It prints the request rate and
// this process's CPU time per request as JSON.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// cycle runs one acquire and release of the named lock.
type cycle func(ctx context.Context, name string) error

func main() {
	baseURL := flag.String("base-url", "http://127.0.0.1:8080", "the server")
	apiKey := flag.String("api-key", "", "the API key")
	mode := flag.String("mode", "sdk", "sdk or raw")
	seconds := flag.Float64("seconds", 5, "how long to run")
	flag.Parse()
	run := sdkCycle(*baseURL, *apiKey)
	if *mode == "raw" {
		run = rawCycle(*baseURL, *apiKey)
	}
	name := "sdkload-" + randomHex(4)
	ctx := context.Background()
	for i := 0; i < 20; i++ { // warm-up: the connection
		if err := run(ctx, name); err != nil {
			fail(err)
		}
	}
	cpuBefore, start := cpuSeconds(), time.Now()
	requests := 0
	for deadline := start.Add(time.Duration(*seconds * float64(time.Second))); time.Now().Before(deadline); {
		if err := run(ctx, name); err != nil {
			fail(err)
		}
		requests += 2
	}
	elapsed, cpu := time.Since(start).Seconds(), cpuSeconds()-cpuBefore
	_ = json.NewEncoder(os.Stdout).Encode(map[string]float64{
		"rate":   float64(requests) / elapsed,
		"cpu_us": cpu / float64(requests) * 1e6,
	})
}

func sdkCycle(baseURL, apiKey string) cycle {
	client := concord.NewClient(concord.WithBaseURL(baseURL), concord.WithAPIKey(apiKey))
	return func(ctx context.Context, name string) error {
		got, err := client.Locks.Acquire(ctx, name, &concord.AcquireLockParams{Owner: "w", TTL: 10 * time.Second})
		if err != nil {
			return err
		}
		_, err = client.Locks.Release(ctx, name, &concord.ReleaseLockParams{Owner: "w", FencingToken: got.Lock.FencingToken})
		return err
	}
}

func rawCycle(baseURL, apiKey string) cycle {
	client := &http.Client{}
	post := func(ctx context.Context, path string, body any, out any) error {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, baseURL+path, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("X-API-Key", apiKey)
		req.Header.Set("Idempotency-Key", randomHex(16))
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		payload, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s answered %d: %s", path, resp.StatusCode, payload)
		}
		return json.Unmarshal(payload, out)
	}
	return func(ctx context.Context, name string) error {
		var got struct {
			Lock struct {
				FencingToken json.Number `json:"fencing_token"`
			} `json:"lock"`
		}
		acquire := map[string]string{"owner": "w", "ttl": "10s"}
		if err := post(ctx, "/v1/locks/"+name+":acquire", acquire, &got); err != nil {
			return err
		}
		release := map[string]any{"owner": "w", "fencing_token": got.Lock.FencingToken}
		var released map[string]any
		return post(ctx, "/v1/locks/"+name+":release", release, &released)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cpuSeconds() float64 {
	var usage syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &usage)
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sdkload:", err)
	os.Exit(1)
}
