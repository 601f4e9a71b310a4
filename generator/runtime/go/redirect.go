package concord

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// maxRedirects is how many same-origin redirects one request follows.
const maxRedirects = 10

// CrossOriginRedirectError is a call the server redirected to another origin (scheme, host or
// port) than the base URL's. The client does not follow it: credentials go only to the
// configured origin. Use the Location as the base URL if it is the right server.
type CrossOriginRedirectError struct {
	// Op is the RPC of the call.
	Op string
	// Location is where the server redirected to.
	Location string
}

func (e *CrossOriginRedirectError) Error() string {
	return fmt.Sprintf("concord: %s: refused to follow a redirect to another origin (%s): "+
		"credentials go only to the base URL's origin", e.Op, e.Location)
}

// sameOriginOnly returns a copy of hc that follows redirects only within base's origin.
func sameOriginOnly(hc *http.Client, base string) *http.Client {
	copied := *hc
	next := hc.CheckRedirect
	home, err := url.Parse(base)
	copied.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err != nil || origin(req.URL) != origin(home) {
			return &CrossOriginRedirectError{Location: req.URL.String()}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= maxRedirects {
			return fmt.Errorf("stopped after %d redirects", maxRedirects)
		}
		return nil
	}
	return &copied
}

// origin is "scheme://host:port" with the scheme's default port filled in.
func origin(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[strings.ToLower(u.Scheme)]
	}
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Hostname()) + ":" + port
}

// asRedirectError returns the CrossOriginRedirectError inside a Do error, named after op.
func asRedirectError(op string, err error) (*CrossOriginRedirectError, bool) {
	var redirect *CrossOriginRedirectError
	if !errors.As(err, &redirect) {
		return nil, false
	}
	return &CrossOriginRedirectError{Op: op, Location: redirect.Location}, true
}
