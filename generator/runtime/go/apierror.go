package concord

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// APIError is an error answer of the server: the catalogue code with its HTTP status, message,
// details and request id. Calls return it wrapped in the type of its code (*LockConflictError,
// *NotFoundError …), which errors.As finds, as it finds the *APIError itself:
//
//	var conflict *concord.LockConflictError
//	if errors.As(err, &conflict) { … conflict.RequestID … }
type APIError struct {
	// StatusCode is the HTTP status of the answer (for an error inside a stream, the one the
	// catalogue gives its code).
	StatusCode int
	// Code is the catalogue code, e.g. CodeLockConflict; derived from the status when the body
	// is not a Concord error.
	Code ErrorCode
	// Message explains the error to a person.
	Message string
	// Details are machine-readable facts, e.g. "actual_revision" of WRONG_EXPECTED_REVISION.
	Details map[string]any
	// RequestID identifies the request in the server's logs.
	RequestID string
	// Response is the HTTP answer; its body can be read again. Nil for an error in a stream.
	Response *http.Response
	// Op is the RPC that failed, e.g. "AcquireLock".
	Op string
	// RetryAfter is the delay before a retry that the server asked for (0 when it did not);
	// set by a Transport (over HTTP, read the Response's Retry-After header).
	RetryAfter time.Duration
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "concord: %s: %s", e.Op, e.Code)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.StatusCode)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" {
		b.WriteString(" [request_id " + e.RequestID + "]")
	}
	return b.String()
}

// IsCode reports whether err is (or wraps) an API error with the given code.
func IsCode(err error, code ErrorCode) bool {
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code == code
}

// errorBody is the contract's error body (concord.v1.Error).
type errorBody struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   map[string]any `json:"details"`
	RequestID string         `json:"request_id"`
}

// errorFromResponse maps an error answer to the typed error of its code.
func errorFromResponse(op *operation, resp *http.Response, body []byte) error {
	e := &APIError{
		StatusCode: resp.StatusCode,
		RequestID:  resp.Header.Get("X-Request-ID"),
		Response:   resp,
		Op:         op.name,
	}
	var wire errorBody
	if json.Unmarshal(body, &wire) == nil && wire.Code != "" {
		e.Code, e.Message, e.Details = ErrorCode(wire.Code), wire.Message, wire.Details
		if wire.RequestID != "" {
			e.RequestID = wire.RequestID
		}
	} else {
		e.Code = codeForStatus(resp.StatusCode)
		e.Message = strings.TrimSpace(http.StatusText(resp.StatusCode) + ": " + snippet(body))
	}
	return newTypedError(e)
}

// errorFromEvent maps an `event: error` frame of a stream to the typed error of its code.
func errorFromEvent(op string, data []byte) error {
	var wire errorBody
	if err := json.Unmarshal(data, &wire); err != nil || wire.Code == "" {
		return fmt.Errorf("concord: %s: unreadable error event: %s", op, snippet(data))
	}
	code := ErrorCode(wire.Code)
	return newTypedError(&APIError{
		StatusCode: code.HTTPStatus(),
		Code:       code,
		Message:    wire.Message,
		Details:    wire.Details,
		RequestID:  wire.RequestID,
		Op:         op,
	})
}

func snippet(body []byte) string {
	const limit = 200
	s := strings.TrimSpace(string(body))
	if len(s) > limit {
		s = s[:limit] + "…"
	}
	return s
}
