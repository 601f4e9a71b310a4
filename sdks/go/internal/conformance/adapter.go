// Package conformance is the Go SDK's adapter for the conformance runner (docs/conformance.md),
// shared by the REST adapter (cmd/concord-conformance) and the gRPC one (the grpc module's
// cmd/concord-conformance-grpc).
//
// It reads NDJSON calls, answers one line per call and logs on stderr (ARCHITECTURE §4). The
// op table (ops.go: RPC name -> SDK call, contract JSON -> params) is generated from the
// contract; this hand-written file holds the read/write loop, the client cache, the result
// encoding and the error mapping, and helpers.go the helper ops. Calls run concurrently;
// answers carry ids.
//
// Set CONCORD_CONFORMANCE_DEBUG=1 to log every SDK request (credentials redacted) on stderr.
package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"reflect"
	"sync"
	"time"

	concord "github.com/concordhq/concord/sdks/go"
)

// callTimeout bounds a call that is not a stream (whose own timeout applies).
const callTimeout = 5 * time.Minute

type opFunc func(ctx context.Context, c *concord.Client, input json.RawMessage, stream *streamSpec, opts []concord.RequestOption) (any, error)

type streamSpec struct {
	Take      int `json:"take"`
	TimeoutMS int `json:"timeout_ms"`
}

// ClientConfig is the protocol's client_config.
type ClientConfig struct {
	BaseURL     string            `json:"base_url"`
	GRPCTarget  string            `json:"grpc_target"`
	APIKey      string            `json:"api_key"`
	BearerToken string            `json:"bearer_token"`
	MaxRetries  *int              `json:"max_retries"`
	TimeoutMS   int               `json:"timeout_ms"`
	Headers     map[string]string `json:"headers"`
}

type call struct {
	Type         string          `json:"type"`
	ID           string          `json:"id"`
	Client       string          `json:"client"`
	ClientConfig ClientConfig    `json:"client_config"`
	Op           string          `json:"op"`
	Input        json.RawMessage `json:"input"`
	Stream       *streamSpec     `json:"stream"`
	Options      *callOptions    `json:"options"`
}

// callOptions is the protocol's per-call options: the SDK's RequestOptions, and a cancellation
// of the call's context after CancelAfterMS.
type callOptions struct {
	Headers        map[string]string `json:"headers"`
	IdempotencyKey *string           `json:"idempotency_key"`
	TimeoutMS      *int              `json:"timeout_ms"`
	MaxRetries     *int              `json:"max_retries"`
	CancelAfterMS  *int              `json:"cancel_after_ms"`
}

// requestOptions are the SDK's per-call options of the protocol's.
func (o *callOptions) requestOptions() []concord.RequestOption {
	if o == nil {
		return nil
	}
	var opts []concord.RequestOption
	for k, v := range o.Headers {
		opts = append(opts, concord.WithRequestHeader(k, v))
	}
	if o.IdempotencyKey != nil {
		opts = append(opts, concord.WithIdempotencyKey(*o.IdempotencyKey))
	}
	if o.TimeoutMS != nil {
		opts = append(opts, concord.WithRequestTimeout(time.Duration(*o.TimeoutMS)*time.Millisecond))
	}
	if o.MaxRetries != nil {
		opts = append(opts, concord.WithRequestMaxRetries(*o.MaxRetries))
	}
	return opts
}

type answer struct {
	ID      string       `json:"id"`
	Outcome string       `json:"outcome,omitempty"`
	Notice  string       `json:"notice,omitempty"` // a notice line of a call in progress
	Result  any          `json:"result,omitempty"`
	Error   *errorReport `json:"error,omitempty"`
	Message string       `json:"message,omitempty"`
}

type errorReport struct {
	Code       string         `json:"code,omitempty"`
	Kind       string         `json:"kind,omitempty"` // client_error: cross_origin_redirect, connection, timeout, cancelled
	NativeType string         `json:"native_type"`
	HTTPStatus int            `json:"http_status,omitempty"`
	RequestID  string         `json:"request_id,omitempty"`
	Message    string         `json:"message"`
	Details    map[string]any `json:"details,omitempty"`
}

// inputError is a call whose input does not fit the SDK's parameters.
type inputError struct{ err error }

func (e *inputError) Error() string { return "bad input: " + e.err.Error() }

// openedKey holds, in a call's context, what announces that its stream is open.
type openedKey struct{}

// TransportFor returns the Transport of a client config (e.g. gRPC to its grpc_target); nil
// for the SDK's own HTTP/JSON.
type TransportFor func(cfg ClientConfig) (concord.Transport, error)

type adapter struct {
	out       *json.Encoder
	outMu     sync.Mutex
	clients   sync.Map // client name + config -> *concord.Client
	calls     sync.WaitGroup
	logger    *slog.Logger
	transport TransportFor
}

// Serve answers the calls read from in on out until shutdown or the end of input. Credentials
// and URLs in the environment are ignored: every client is configured from its client_config.
func Serve(in io.Reader, out io.Writer, transport TransportFor) error {
	log.SetOutput(os.Stderr)
	log.SetPrefix("concord-conformance: ")
	for _, name := range []string{concord.EnvAPIKey, concord.EnvBearerToken, concord.EnvBaseURL} {
		_ = os.Unsetenv(name)
	}
	a := &adapter{out: json.NewEncoder(out), transport: transport}
	if os.Getenv("CONCORD_CONFORMANCE_DEBUG") != "" {
		a.logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return a.serve(in)
}

// serve reads calls until shutdown or the end of input, then waits for the calls in flight.
func (a *adapter) serve(in io.Reader) error {
	defer a.calls.Wait()
	scanner := bufio.NewScanner(in)
	scanner.Buffer(make([]byte, 0, 1<<20), 64<<20)
	for scanner.Scan() {
		line := scanner.Bytes()
		if len(line) == 0 {
			continue
		}
		var c call
		if err := json.Unmarshal(line, &c); err != nil {
			log.Printf("unreadable line: %v", err)
			continue
		}
		switch c.Type {
		case "shutdown":
			return nil
		case "call":
			a.calls.Add(1)
			go func() {
				defer a.calls.Done()
				a.write(a.handle(c))
			}()
		default:
			log.Printf("unknown message type %q", c.Type)
		}
	}
	return scanner.Err()
}

func (a *adapter) write(ans answer) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	if err := a.out.Encode(ans); err != nil {
		log.Printf("writing the answer of %s: %v", ans.ID, err)
	}
}

// handle runs one call and turns its outcome into an answer.
func (a *adapter) handle(c call) (ans answer) {
	defer func() {
		if r := recover(); r != nil {
			ans = answer{ID: c.ID, Outcome: "adapter_error", Message: fmt.Sprintf("panic: %v", r)}
		}
	}()
	op, ok := ops[c.Op]
	if !ok {
		return answer{ID: c.ID, Outcome: "adapter_error", Message: "unknown op " + c.Op}
	}
	timeout := callTimeout
	if c.Stream != nil && c.Stream.TimeoutMS > 0 {
		timeout = time.Duration(c.Stream.TimeoutMS) * time.Millisecond
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if c.Options != nil && c.Options.CancelAfterMS != nil {
		// the caller gives up on the call: its context is cancelled mid-flight
		stop := time.AfterFunc(time.Duration(*c.Options.CancelAfterMS)*time.Millisecond, cancel)
		defer stop.Stop()
	}
	ctx = context.WithValue(ctx, openedKey{}, func() { a.write(answer{ID: c.ID, Notice: "stream_open"}) })
	client, err := a.client(c.Client, c.ClientConfig)
	if err != nil {
		return answer{ID: c.ID, Outcome: "adapter_error", Message: err.Error()}
	}
	result, err := op(ctx, client, c.Input, c.Stream, c.Options.requestOptions())
	if err != nil {
		return report(c.ID, err)
	}
	return answer{ID: c.ID, Outcome: "ok", Result: contract(result)}
}

// client is the SDK client of a named client and its configuration, made once.
func (a *adapter) client(name string, cfg ClientConfig) (*concord.Client, error) {
	key, _ := json.Marshal(struct {
		Name string
		Cfg  ClientConfig
	}{name, cfg})
	if c, ok := a.clients.Load(string(key)); ok {
		return c.(*concord.Client), nil
	}
	opts := []concord.Option{
		concord.WithBaseURL(cfg.BaseURL),
		concord.WithAPIKey(cfg.APIKey),
		concord.WithBearerToken(cfg.BearerToken),
	}
	if cfg.MaxRetries != nil {
		opts = append(opts, concord.WithMaxRetries(*cfg.MaxRetries))
	}
	if cfg.TimeoutMS > 0 {
		opts = append(opts, concord.WithTimeout(time.Duration(cfg.TimeoutMS)*time.Millisecond))
	}
	for k, v := range cfg.Headers {
		opts = append(opts, concord.WithHeader(k, v))
	}
	if a.logger != nil {
		opts = append(opts, concord.WithLogger(a.logger.With("client", name)))
	}
	if a.transport != nil {
		t, err := a.transport(cfg)
		if err != nil {
			return nil, err
		}
		opts = append(opts, concord.WithTransport(t))
	}
	c, _ := a.clients.LoadOrStore(string(key), concord.NewClient(opts...))
	return c.(*concord.Client), nil
}

// report maps an SDK error: an API error with its code and Go type; a refused redirect, the
// caller's cancellation (context.Canceled), a timeout (context.DeadlineExceeded) or another
// connection error as a client error; anything else an adapter error (never a pass).
func report(id string, err error) answer {
	var apiErr *concord.APIError
	var redirect *concord.CrossOriginRedirectError
	var conn *concord.ConnectionError
	switch {
	case errors.As(err, &redirect):
		return answer{ID: id, Outcome: "client_error", Error: &errorReport{
			Kind: "cross_origin_redirect", NativeType: nativeType(redirect), Message: err.Error()}}
	case errors.Is(err, context.Canceled):
		return answer{ID: id, Outcome: "client_error", Error: &errorReport{
			Kind: "cancelled", NativeType: nativeType(err), Message: err.Error()}}
	case errors.Is(err, context.DeadlineExceeded):
		return answer{ID: id, Outcome: "client_error", Error: &errorReport{
			Kind: "timeout", NativeType: nativeType(err), Message: err.Error()}}
	case errors.As(err, &conn):
		return answer{ID: id, Outcome: "client_error", Error: &errorReport{
			Kind: "connection", NativeType: nativeType(conn), Message: err.Error()}}
	case !errors.As(err, &apiErr):
		return answer{ID: id, Outcome: "adapter_error", Message: err.Error()}
	}
	details := apiErr.Details
	if details == nil {
		details = map[string]any{}
	}
	return answer{ID: id, Outcome: "api_error", Error: &errorReport{
		Code:       string(apiErr.Code),
		NativeType: nativeType(err),
		HTTPStatus: apiErr.StatusCode,
		RequestID:  apiErr.RequestID,
		Message:    apiErr.Message,
		Details:    details,
	}}
}

// nativeType is the Go type name of the error the SDK returned, e.g. "LockConflictError".
func nativeType(err error) string {
	t := reflect.TypeOf(err)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// decodeInput reads the call's contract JSON into SDK parameters (or the path arguments).
func decodeInput(input json.RawMessage, into any) error {
	if len(input) == 0 || string(input) == "null" {
		return nil
	}
	if err := json.Unmarshal(input, into); err != nil {
		return &inputError{err}
	}
	return nil
}

// collect reads up to spec.Take messages of a stream, or until the call's timeout, then closes it.
func collect[T any](ctx context.Context, s *concord.Stream[T], spec *streamSpec) (any, error) {
	defer s.Close()
	if opened, ok := ctx.Value(openedKey{}).(func()); ok {
		opened() // the stream is open: the runner may go on with the next steps
	}
	messages := []any{}
	for (spec == nil || spec.Take <= 0 || len(messages) < spec.Take) && s.Next() {
		messages = append(messages, contract(s.Current()))
	}
	if err := s.Err(); err != nil && ctx.Err() == nil {
		return nil, err
	}
	return map[string]any{"messages": messages}, nil
}
