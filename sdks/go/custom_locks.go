// Hand-written (never regenerated): LockService.Hold, a lock held until Release, to
// docs/sdk-helpers.md §1.

package concord

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DefaultHoldTTL is the TTL Hold asks for when HoldOptions.TTL is zero.
const DefaultHoldTTL = 30 * time.Second

// releaseBudget bounds Release, retries included; it runs even when the caller's context is done.
const releaseBudget = 5 * time.Second

// errReleased ends a hold's context when it is released.
var errReleased = errors.New("concord: the lock was released")

// HoldOptions configures LockService.Hold; the zero value (or nil) is usable.
type HoldOptions struct {
	// Owner identifies the holder; default "<host>-<pid>-<random>".
	Owner string
	// TTL is how long a grant lasts unless renewed; default DefaultHoldTTL.
	TTL time.Duration
	// WaitTimeout is how long to wait in line for a held lock; 0 fails at once with
	// *LockConflictError.
	WaitTimeout time.Duration
	// DisableAutoRenew turns off the background renewal: the grant then simply lasts TTL.
	DisableAutoRenew bool
}

// HeldLock is a lock acquired by LockService.Hold, renewed in the background every TTL/3 until
// Release. Release it when done (Release runs even when ctx is done):
//
//	lock, err := c.Locks.Hold(ctx, "jobs", &concord.HoldOptions{TTL: time.Minute})
//	if err != nil { … }
//	defer lock.Release(ctx)
//	db.Write(lock.Context(), row, lock.FencingToken)
//
// When renewals keep failing until the lease's safety deadline (the send time of the last
// successful grant or renewal plus the TTL, minus min(TTL/5, 5s)), or a renewal is refused,
// the hold is lost: Lost() is closed, Context() is cancelled, Err() and Release return a
// *LockLostError.
type HeldLock struct {
	// Name of the lock.
	Name string
	// Owner the lock was acquired as.
	Owner string
	// FencingToken of the grant: strictly increasing per lock name; pass it to the storage
	// the lock protects, which rejects writes with a smaller token.
	FencingToken int64

	svc      *LockService
	timing   leaseTiming
	ctx      context.Context
	cancel   context.CancelCauseFunc
	lost     chan struct{}
	stop     chan struct{}
	renewing sync.Mutex // serialises renewals
	renewer  sync.WaitGroup

	mu       sync.Mutex
	grant    Lock
	deadline time.Time // monotonic: a local deadline, never compared with server clocks
	next     time.Time
	lastErr  error
	err      error
	gone     bool
	released bool
	timer    *time.Timer
}

// Hold acquires the lock `name` (waiting in line up to opts.WaitTimeout) and returns it held
// and, unless opts.DisableAutoRenew, renewed in the background. ctx bounds the hold: once it is
// done, renewals stop and Context() is done; Release still releases.
func (s *LockService) Hold(ctx context.Context, name string, opts *HoldOptions, reqOpts ...RequestOption) (*HeldLock, error) {
	o := HoldOptions{}
	if opts != nil {
		o = *opts
	}
	if o.Owner == "" {
		o.Owner = defaultIdentity()
	}
	if o.TTL <= 0 {
		o.TTL = DefaultHoldTTL
	}
	params := &AcquireLockParams{Owner: o.Owner, TTL: o.TTL}
	if o.WaitTimeout > 0 {
		params.WaitTimeout = Ptr(o.WaitTimeout)
		// The server holds the call while the lock is busy: give the attempt that long, too.
		reqOpts = append([]RequestOption{WithRequestTimeout(o.WaitTimeout + s.core.timeout)}, reqOpts...)
	}
	sent := time.Now()
	resp, err := s.Acquire(ctx, name, params, reqOpts...)
	if err != nil {
		return nil, err
	}
	if resp.Lock == nil {
		return nil, fmt.Errorf("concord: AcquireLock: the answer holds no lock")
	}
	l := &HeldLock{
		Name: name, Owner: o.Owner, FencingToken: resp.Lock.FencingToken,
		svc: s, timing: leaseTiming{o.TTL}, lost: make(chan struct{}), stop: make(chan struct{}),
	}
	l.ctx, l.cancel = context.WithCancelCause(ctx)
	l.granted(resp.Lock, sent)
	if received := time.Now(); received.Sub(sent) > l.timing.renewInterval() {
		if err := l.confirm(received); err != nil {
			_ = l.Release(ctx)
			return nil, err
		}
	}
	l.arm()
	if !o.DisableAutoRenew {
		l.renewer.Add(1)
		go l.renewLoop()
	}
	return l, nil
}

// Lock is the latest grant (expiry and TTL updated by renewals).
func (l *HeldLock) Lock() Lock {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.grant
}

// Lost is closed when the hold can no longer be trusted (see HeldLock).
func (l *HeldLock) Lost() <-chan struct{} { return l.lost }

// Context is done when the hold is lost (its cause is the *LockLostError), released, or when
// the context given to Hold is done: pass it to the work the lock protects.
func (l *HeldLock) Context() context.Context { return l.ctx }

// Err is the *LockLostError once the hold is lost; nil while it is held.
func (l *HeldLock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Renew extends the hold now by ttl (the hold's TTL when 0); the fencing token stays the same.
func (l *HeldLock) Renew(ctx context.Context, ttl time.Duration, opts ...RequestOption) error {
	l.renewing.Lock()
	defer l.renewing.Unlock()
	if ttl <= 0 {
		ttl = l.timing.ttl
	}
	sent := time.Now()
	resp, err := l.svc.Renew(ctx, l.Name, &RenewLockParams{Owner: l.Owner, FencingToken: l.FencingToken, TTL: ttl}, opts...)
	if err != nil {
		return err
	}
	l.grantedFor(resp.Lock, sent, leaseTiming{ttl})
	l.arm()
	return nil
}

// Release stops the renewals and gives the lock up. It runs even when ctx is done (detached
// from its cancellation, within 5s in total), so `defer lock.Release(ctx)` releases on every
// path. It returns the *LockLostError when the hold was lost or the server found the lock gone,
// the release's own error when it failed otherwise (the lock then lapses at its TTL), else nil.
// Later calls do nothing and return nil.
func (l *HeldLock) Release(ctx context.Context, opts ...RequestOption) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	close(l.stop)
	if l.timer != nil {
		l.timer.Stop()
	}
	gone := l.gone
	l.mu.Unlock()
	l.cancel(errReleased) // cancels a renewal in flight
	l.renewer.Wait()
	if !gone {
		if err := l.releaseWithinBudget(ctx, opts); err != nil {
			if !lockGone(err) {
				return err
			}
			l.lose("the release found it gone", err, true)
		}
	}
	return l.Err()
}

// releaseWithinBudget sends ReleaseLock with one Idempotency-Key, retried within releaseBudget.
func (l *HeldLock) releaseWithinBudget(ctx context.Context, opts []RequestOption) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseBudget)
	defer cancel()
	opts = append([]RequestOption{WithIdempotencyKey(newIdempotencyKey())}, opts...)
	params := &ReleaseLockParams{Owner: l.Owner, FencingToken: l.FencingToken}
	_, err := l.svc.Release(rctx, l.Name, params, opts...)
	return err
}

// granted records a grant or renewal whose call was sent at sent, with the hold's TTL.
func (l *HeldLock) granted(grant *Lock, sent time.Time) { l.grantedFor(grant, sent, l.timing) }

func (l *HeldLock) grantedFor(grant *Lock, sent time.Time, timing leaseTiming) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if grant != nil {
		l.grant = *grant
	}
	l.deadline = timing.deadline(sent)
	l.next = sent.Add(l.timing.renewInterval())
	l.lastErr = nil
}

// lose records the loss once: Lost() closes, Context() is cancelled with the error.
func (l *HeldLock) lose(reason string, cause error, gone bool) {
	l.mu.Lock()
	if l.err != nil {
		l.mu.Unlock()
		return
	}
	lost := &LockLostError{Name: l.Name, Reason: reason, Cause: cause}
	l.err, l.gone = lost, gone
	if l.timer != nil {
		l.timer.Stop()
	}
	l.mu.Unlock()
	l.cancel(lost) // before Lost() closes, so a reader woken by it finds the cause set
	close(l.lost)
}
