package concord

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
)

// TLSConfig loads the TLS settings of a client from PEM files: caFile, the CAs to trust instead
// of the system roots ("" keeps the system roots), and certFile and keyFile, the client
// certificate a server requiring mutual TLS asks for ("" for none). Pass the result to
// WithTLSConfig, and to the gRPC transport (concordgrpc.TLS).
func TLSConfig(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("concord: reading the CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("concord: no PEM certificate in the CA bundle %s", caFile)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" || keyFile != "" {
		pair, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("concord: loading the client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// WithTLSConfig sets the TLS of every HTTPS connection of the client, calls and streams alike:
// trusted CAs, client certificate (see TLSConfig). It applies to the client's own transport, or
// to a copy of the *http.Transport of a WithHTTPClient client (another RoundTripper keeps its
// own TLS settings).
func WithTLSConfig(cfg *tls.Config) Option {
	return func(c *clientConfig) { c.tlsConfig = cfg }
}

// withTLS is the client's *http.Client with cfg on a copy of its *http.Transport.
func withTLS(client *http.Client, cfg *tls.Config) *http.Client {
	if cfg == nil {
		return client
	}
	base, ok := client.Transport.(*http.Transport)
	if client.Transport == nil {
		base, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return client
	}
	transport := base.Clone()
	transport.TLSClientConfig = cfg.Clone()
	copied := *client
	copied.Transport = transport
	return &copied
}
