// Hand-written (never regenerated): what lock holds and workers share, to docs/sdk-helpers.md.

package concord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"time"
)

// LockLostError says a hold can no longer be trusted: renewals failed until the lease's safety
// deadline, a renewal or the release found the lock gone, or the TTL ran out without
// auto-renewal. Cause (also Unwrap) is the error behind it, or nil.
type LockLostError struct {
	// Name of the lock.
	Name string
	// Reason says how the loss was detected.
	Reason string
	// Cause is the last error of a renewal or the release, or nil.
	Cause error
}

func (e *LockLostError) Error() string {
	if e.Cause == nil {
		return fmt.Sprintf("concord: lock %q lost (%s)", e.Name, e.Reason)
	}
	return fmt.Sprintf("concord: lock %q lost (%s): %v", e.Name, e.Reason, e.Cause)
}

// Unwrap returns the cause.
func (e *LockLostError) Unwrap() error { return e.Cause }

// leaseTiming derives a hold's intervals from its TTL (docs/sdk-helpers.md §1.1).
type leaseTiming struct{ ttl time.Duration }

// renewInterval is a third of the TTL.
func (t leaseTiming) renewInterval() time.Duration { return t.ttl / 3 }

// margin is min(ttl/5, 5s): the hold stops trusting the lease that long before it ends.
func (t leaseTiming) margin() time.Duration { return min(t.ttl/5, 5*time.Second) }

// retryInterval is min(ttl/10, 1s): the pause before retrying a transient renewal failure.
func (t leaseTiming) retryInterval() time.Duration { return min(t.ttl/10, time.Second) }

// deadline is the local deadline of a lease counted from base (a send time).
func (t leaseTiming) deadline(base time.Time) time.Time { return base.Add(t.ttl - t.margin()) }

// transient reports whether retrying err may succeed: no answer (connection errors, timeouts)
// or a catalogue error marked retryable (UNAVAILABLE, RATE_LIMITED, INTERNAL).
func transient(err error) bool {
	var conn *ConnectionError
	if errors.As(err, &conn) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var apiErr *APIError
	return errors.As(err, &apiErr) && apiErr.Code.Retryable()
}

// lockGone reports whether the server says the lock is no longer this holder's.
func lockGone(err error) bool {
	return IsCode(err, CodeLockNotHeld) || IsCode(err, CodeLockExpired) || IsCode(err, CodeNotFound)
}

// stopsWorker reports whether err stops a worker: UNAUTHENTICATED or PERMISSION_DENIED from any
// call, INVALID_ARGUMENT from a poll.
func stopsWorker(err error, polling bool) bool {
	return IsCode(err, CodeUnauthenticated) || IsCode(err, CodePermissionDenied) ||
		(polling && IsCode(err, CodeInvalidArgument))
}

// retryPause is the pause before retrying err: Retry-After when the server sent one, else d.
func retryPause(err error, d time.Duration) time.Duration {
	if hinted, ok := retryAfterOf(err); ok {
		return hinted
	}
	return d
}

// defaultIdentity is "<host>-<pid>-<8 random hex digits>", the default lock owner and worker id.
func defaultIdentity() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "go"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}
