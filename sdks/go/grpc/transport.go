// Package concordgrpc is the opt-in gRPC transport of the Concord Go SDK: a concord.Client
// built with it sends its calls over gRPC (to the server's gRPC port) instead of HTTP/JSON,
// with the same models, typed errors, credentials, Idempotency-Key, timeouts and retries.
//
//	t, err := concordgrpc.NewTransport("localhost:9090") // plaintext
//	cfg, err := concord.TLSConfig("ca.pem", "client.pem", "client-key.pem") // or TLS:
//	t, err := concordgrpc.NewTransport("concord.internal:9090", concordgrpc.TLS(cfg))
//	if err != nil { … }
//	defer t.Close()
//	c := concord.NewClient(concord.WithTransport(t), concord.WithAPIKey(key))
//
// or, with a connection of your own, concord.NewClient(concordgrpc.WithGRPC(conn), …).
//
// It lives in its own module (github.com/concordhq/concord/sdks/go/grpc), so the REST SDK
// keeps to the standard library. The protobuf and gRPC code under internal/pb is generated
// from the contract by concord-gen (target go_grpc).
package concordgrpc

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	concord "github.com/concordhq/concord/sdks/go"
	"github.com/concordhq/concord/sdks/go/grpc/internal/pb"
)

// Transport sends the calls of a concord.Client over a gRPC connection; it implements
// concord.Transport and is safe for concurrent use.
type Transport struct {
	conn  grpc.ClientConnInterface
	owned *grpc.ClientConn // closed by Close when NewTransport dialled it
}

var _ concord.Transport = (*Transport)(nil)

// NewTransport connects (lazily, like grpc.NewClient) to target, e.g. "localhost:9090".
// Without options the connection is plaintext; pass TLS(cfg) (or grpc.WithTransportCredentials)
// for TLS.
func NewTransport(target string, opts ...grpc.DialOption) (*Transport, error) {
	if len(opts) == 0 {
		opts = []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, fmt.Errorf("concordgrpc: %w", err)
	}
	return &Transport{conn: conn, owned: conn}, nil
}

// TLS is the dial option of a TLS connection with cfg (trusted CAs, a client certificate for
// servers that require mutual TLS): see concord.TLSConfig.
func TLS(cfg *tls.Config) grpc.DialOption {
	return grpc.WithTransportCredentials(credentials.NewTLS(cfg))
}

// New is a Transport over a connection you manage (Close leaves it open).
func New(conn grpc.ClientConnInterface) *Transport { return &Transport{conn: conn} }

// WithGRPC is the client option that sends every call over conn.
func WithGRPC(conn grpc.ClientConnInterface) concord.Option { return concord.WithTransport(New(conn)) }

// Close closes the connection NewTransport opened.
func (t *Transport) Close() error {
	if t.owned == nil {
		return nil
	}
	return t.owned.Close()
}

// Invoke sends one unary call and returns the answer's contract JSON.
func (t *Transport) Invoke(ctx context.Context, call *concord.Call) ([]byte, error) {
	method, req, resp, err := prepare(call)
	if err != nil {
		return nil, err
	}
	var header, trailer metadata.MD
	ctx = metadata.NewOutgoingContext(ctx, outgoing(call.Header))
	err = t.conn.Invoke(ctx, method, req, resp, grpc.Header(&header), grpc.Trailer(&trailer))
	if err != nil {
		return nil, mapError(call.RPC, err, metadata.Join(header, trailer))
	}
	return fromProto(resp)
}

// OpenStream starts a server stream and returns once the server accepted it (its response
// headers arrived), so a refusal is OpenStream's error, not the first Recv's.
func (t *Transport) OpenStream(ctx context.Context, call *concord.Call) (concord.MessageStream, error) {
	method, req, resp, err := prepare(call)
	if err != nil {
		return nil, err
	}
	sctx, cancel := context.WithCancel(metadata.NewOutgoingContext(ctx, outgoing(call.Header)))
	stream, err := t.conn.NewStream(sctx, &grpc.StreamDesc{ServerStreams: true}, method)
	if err == nil {
		err = stream.SendMsg(req)
	}
	if err == nil {
		err = stream.CloseSend()
	}
	var header metadata.MD
	if err == nil {
		header, err = stream.Header() // blocks until the server accepted or refused the stream
	}
	if err != nil {
		cancel()
		if stream != nil {
			header = metadata.Join(header, stream.Trailer())
		}
		return nil, mapError(call.RPC, err, header)
	}
	return &messageStream{rpc: call.RPC, stream: stream, cancel: cancel, out: resp.ProtoReflect().Type()}, nil
}

type messageStream struct {
	rpc    string
	stream grpc.ClientStream
	cancel context.CancelFunc
	out    protoreflect.MessageType
}

func (s *messageStream) Recv() ([]byte, error) {
	msg := s.out.New().Interface()
	if err := s.stream.RecvMsg(msg); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		header, _ := s.stream.Header()
		return nil, mapError(s.rpc, err, metadata.Join(header, s.stream.Trailer()))
	}
	return fromProto(msg)
}

func (s *messageStream) Close() error {
	s.cancel()
	return nil
}

// prepare finds the RPC in the contract's descriptors and builds its request message.
func prepare(call *concord.Call) (string, proto.Message, proto.Message, error) {
	desc, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(call.Service))
	sd, ok := desc.(protoreflect.ServiceDescriptor)
	if err != nil || !ok {
		return "", nil, nil, fmt.Errorf("concordgrpc: unknown service %q", call.Service)
	}
	md := sd.Methods().ByName(protoreflect.Name(call.RPC))
	if md == nil {
		return "", nil, nil, fmt.Errorf("concordgrpc: %s has no RPC %q", call.Service, call.RPC)
	}
	in, errIn := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
	out, errOut := protoregistry.GlobalTypes.FindMessageByName(md.Output().FullName())
	if errIn != nil || errOut != nil {
		return "", nil, nil, fmt.Errorf("concordgrpc: %s: message types not registered", call.RPC)
	}
	req := in.New().Interface()
	if err := toProto(call.Request, req); err != nil {
		return "", nil, nil, fmt.Errorf("concordgrpc: %s: encoding the request: %w", call.RPC, err)
	}
	return fmt.Sprintf("/%s/%s", sd.FullName(), md.Name()), req, out.New().Interface(), nil
}

// outgoing turns the call's HTTP headers into gRPC metadata (lower-case keys; the headers
// that only mean something to HTTP are dropped).
func outgoing(h http.Header) metadata.MD {
	md := metadata.MD{}
	for k, vs := range h {
		key := strings.ToLower(k)
		switch key {
		case "user-agent", "content-type", "accept", "connection", "te", "host", "content-length":
			continue
		}
		md[key] = append(md[key], vs...)
	}
	return md
}

// errorBody is the contract JSON of concord.v1.Error.
type errorBody struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id"`
}

// mapError turns a failed gRPC call into what concord.Transport promises: an *APIError for an
// answer of the server (from the concord.v1.Error in the status details, else from the status
// code), a *ConnectionError when no answer came (UNAVAILABLE without details, a cancelled or
// timed-out call).
func mapError(rpc string, err error, md metadata.MD) error {
	st, ok := status.FromError(err)
	if !ok {
		return &concord.ConnectionError{Op: rpc, Err: err}
	}
	apiErr := &concord.APIError{Op: rpc, Message: st.Message(), RequestID: first(md, "x-request-id")}
	if d, ok := retryAfter(first(md, "retry-after")); ok {
		apiErr.RetryAfter = d
	}
	if body, ok := concordDetail(st); ok {
		apiErr.Code, apiErr.Message, apiErr.Details = concord.ErrorCode(body.Code), body.Message, body.Details
		if body.RequestID != "" {
			apiErr.RequestID = body.RequestID
		}
		apiErr.StatusCode = apiErr.Code.HTTPStatus()
		return apiErr
	}
	switch st.Code() {
	case codes.Canceled:
		return &concord.ConnectionError{Op: rpc, Err: fmt.Errorf("%s: %w", st.Message(), context.Canceled)}
	case codes.DeadlineExceeded:
		return &concord.ConnectionError{Op: rpc, Err: fmt.Errorf("%s: %w", st.Message(), context.DeadlineExceeded)}
	case codes.Unavailable:
		return &concord.ConnectionError{Op: rpc, Err: err}
	}
	code, known := catalogueCodes[st.Code()]
	if !known {
		code = concord.ErrorCode(strings.ToUpper(toSnake(st.Code().String())))
	}
	apiErr.Code, apiErr.StatusCode = code, code.HTTPStatus()
	return apiErr
}

// concordDetail is the concord.v1.Error packed in the status details, in its contract form.
func concordDetail(st *status.Status) (errorBody, bool) {
	for _, d := range st.Details() {
		e, ok := d.(*pb.Error)
		if !ok {
			continue
		}
		raw, err := fromProto(e)
		var body errorBody
		if err == nil && json.Unmarshal(raw, &body) == nil && body.Code != "" {
			return body, true
		}
	}
	return errorBody{}, false
}

func first(md metadata.MD, key string) string {
	if vs := md.Get(key); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// retryAfter reads a retry-after trailer in seconds (fractions accepted).
func retryAfter(value string) (time.Duration, bool) {
	secs, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
	if err != nil || secs <= 0 {
		return 0, false
	}
	return time.Duration(secs * float64(time.Second)), true
}

// toSnake turns grpc-go's code names ("FailedPrecondition") into the canonical
// "FAILED_PRECONDITION" form (upper-cased by the caller).
func toSnake(name string) string {
	var b strings.Builder
	for i, r := range name {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return b.String()
}
