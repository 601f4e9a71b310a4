package concord

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"
)

// Defaults of a client; each has an Option.
const (
	DefaultBaseURL        = "http://localhost:8080"
	DefaultMaxRetries     = 2
	DefaultTimeout        = 60 * time.Second
	DefaultInitialBackoff = 500 * time.Millisecond
	DefaultMaxBackoff     = 8 * time.Second
)

// Environment variables NewClient reads before applying its options.
const (
	EnvBaseURL     = "CONCORD_BASE_URL"
	EnvAPIKey      = "CONCORD_API_KEY"
	EnvBearerToken = "CONCORD_BEARER_TOKEN"
)

// Option configures a Client (see NewClient).
type Option func(*clientConfig)

type clientConfig struct {
	baseURL        string
	apiKey         string
	bearerToken    string
	httpClient     *http.Client
	maxRetries     int
	timeout        time.Duration
	headers        http.Header
	logger         *slog.Logger
	initialBackoff time.Duration
	maxBackoff     time.Duration
	transport      Transport
	traceInjector  TraceInjector
	tlsConfig      *tls.Config
	explicitCreds  bool // a credential option was given: the environment's are dropped
}

// setCredential makes the first explicit credential replace both environment credentials.
func (c *clientConfig) setCredential(apiKey, bearerToken string) {
	if !c.explicitCreds {
		c.apiKey, c.bearerToken, c.explicitCreds = "", "", true
	}
	if apiKey != "" {
		c.apiKey = apiKey
	}
	if bearerToken != "" {
		c.bearerToken = bearerToken
	}
}

// WithBaseURL sets the server's URL, e.g. "https://concord.example.com" (a path prefix is kept).
func WithBaseURL(baseURL string) Option {
	return func(c *clientConfig) { c.baseURL = baseURL }
}

// WithAPIKey authenticates with an API key (header X-API-Key). An explicit credential replaces
// both environment credentials (CONCORD_API_KEY and CONCORD_BEARER_TOKEN); "" counts as not given.
func WithAPIKey(key string) Option {
	return func(c *clientConfig) {
		if key != "" {
			c.setCredential(key, "")
		}
	}
}

// WithBearerToken authenticates with a bearer JWT (header Authorization); it is sent instead of
// an API key given explicitly too. An explicit credential replaces both environment
// credentials; "" counts as not given.
func WithBearerToken(token string) Option {
	return func(c *clientConfig) {
		if token != "" {
			c.setCredential("", token)
		}
	}
}

// WithHTTPClient sets the *http.Client that sends requests (transport, proxies, TLS; see also
// WithTLSConfig). Its own Timeout, if any, also bounds streams; prefer WithTimeout. The client
// uses a copy whose CheckRedirect refuses redirects to another origin than the base URL's
// (CrossOriginRedirectError) before calling the given client's own CheckRedirect.
func WithHTTPClient(client *http.Client) Option {
	return func(c *clientConfig) { c.httpClient = client }
}

// WithMaxRetries sets how many times a failed call is retried (default 2; 0 disables retries).
func WithMaxRetries(n int) Option {
	return func(c *clientConfig) { c.maxRetries = max(n, 0) }
}

// WithTimeout bounds each attempt of a call (default 60s); for a stream, until its headers arrive.
func WithTimeout(d time.Duration) Option {
	return func(c *clientConfig) { c.timeout = d }
}

// WithHeader adds a header to every request.
func WithHeader(key, value string) Option {
	return func(c *clientConfig) { c.headers.Add(key, value) }
}

// WithLogger turns on request logging: one Debug record per attempt and response, an Info
// record per retry. Credentials are redacted; bodies are never logged.
func WithLogger(logger *slog.Logger) Option {
	return func(c *clientConfig) { c.logger = logger }
}

// WithRetryBackoff sets the exponential backoff between retries: the first delay and the cap
// (defaults 500ms and 8s). Each delay gets up to 25% of jitter; a Retry-After header wins.
func WithRetryBackoff(initial, maxDelay time.Duration) Option {
	return func(c *clientConfig) { c.initialBackoff, c.maxBackoff = initial, maxDelay }
}

func defaultConfig() clientConfig {
	cfg := clientConfig{
		baseURL:        DefaultBaseURL,
		httpClient:     http.DefaultClient,
		maxRetries:     DefaultMaxRetries,
		timeout:        DefaultTimeout,
		headers:        http.Header{},
		initialBackoff: DefaultInitialBackoff,
		maxBackoff:     DefaultMaxBackoff,
	}
	if v := os.Getenv(EnvBaseURL); v != "" {
		cfg.baseURL = v
	}
	cfg.apiKey = os.Getenv(EnvAPIKey)
	cfg.bearerToken = os.Getenv(EnvBearerToken)
	return cfg
}

// RequestOption configures one call; pass it after the call's parameters.
type RequestOption func(*requestConfig)

type requestConfig struct {
	timeout        time.Duration
	maxRetries     int
	idempotencyKey string
	headers        http.Header
	responseInto   **http.Response
}

// WithRequestTimeout bounds each attempt of this call, instead of the client's WithTimeout.
func WithRequestTimeout(d time.Duration) RequestOption {
	return func(r *requestConfig) { r.timeout = d }
}

// WithIdempotencyKey sets the call's Idempotency-Key (reused by its retries). Calls that need
// one get a random key otherwise; give your own to make a retry of your own safe too.
func WithIdempotencyKey(key string) RequestOption {
	return func(r *requestConfig) { r.idempotencyKey = key }
}

// WithRequestHeader adds a header to this call (it replaces a client header of the same name).
func WithRequestHeader(key, value string) RequestOption {
	return func(r *requestConfig) { r.headers.Add(key, value) }
}

// WithRequestMaxRetries sets how many times this call is retried.
func WithRequestMaxRetries(n int) RequestOption {
	return func(r *requestConfig) { r.maxRetries = max(n, 0) }
}

// WithResponseInto stores the call's final *http.Response (its body already read) in *dst.
func WithResponseInto(dst **http.Response) RequestOption {
	return func(r *requestConfig) { r.responseInto = dst }
}

func (c *core) requestConfig(opts []RequestOption) *requestConfig {
	r := &requestConfig{timeout: c.timeout, maxRetries: c.maxRetries, headers: http.Header{}}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// newCore builds the transport of a client from the environment and the options.
func newCore(opts []Option) *core {
	cfg := defaultConfig()
	for _, opt := range opts {
		opt(&cfg)
	}
	if cfg.httpClient == nil {
		cfg.httpClient = http.DefaultClient
	}
	base := strings.TrimRight(cfg.baseURL, "/")
	cfg.httpClient = sameOriginOnly(withTLS(cfg.httpClient, cfg.tlsConfig), base)
	return &core{
		clientConfig: cfg,
		baseURL:      base,
		userAgent:    "concord-go/" + Version,
	}
}
