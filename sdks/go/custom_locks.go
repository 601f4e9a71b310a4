// Hand-written (never regenerated): LockService.Hold, a lock held until Release.

package concord

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sync"
	"time"
)

// DefaultHoldTTL is the TTL Hold asks for when HoldOptions.TTL is zero.
const DefaultHoldTTL = 30 * time.Second

// releaseTimeout bounds Release, which runs even when the caller's context is done.
const releaseTimeout = 10 * time.Second

// HoldOptions configures LockService.Hold; the zero value (or nil) is usable.
type HoldOptions struct {
	// Owner identifies the holder; default "<host>-<pid>-<random>".
	Owner string
	// TTL is how long the hold lasts unless renewed; default DefaultHoldTTL.
	TTL time.Duration
	// WaitTimeout is how long to wait in line for a held lock; 0 fails at once with
	// *LockConflictError.
	WaitTimeout time.Duration
	// AutoRenew renews the hold every TTL/3 in the background until Release. When the hold is
	// lost (a renewal answers LOCK_NOT_HELD or LOCK_EXPIRED, or the TTL ran out), Lost() is
	// closed and Err() says why.
	AutoRenew bool
}

// HeldLock is a lock acquired by LockService.Hold. Release it when done:
//
//	lock, err := c.Locks.Hold(ctx, "jobs", &concord.HoldOptions{TTL: time.Minute})
//	if err != nil { … }
//	defer lock.Release(ctx)
//	db.Write(row, lock.FencingToken)
type HeldLock struct {
	// Name of the lock.
	Name string
	// Owner the lock was acquired as.
	Owner string
	// FencingToken of the grant: strictly increasing per lock name; pass it to the storage
	// the lock protects, which rejects writes with a smaller token.
	FencingToken int64

	svc      *LockService
	ttl      time.Duration
	mu       sync.Mutex
	grant    Lock
	released bool
	err      error
	stop     chan struct{}
	lost     chan struct{}
	renewer  sync.WaitGroup
}

// Hold acquires the lock `name` (waiting up to opts.WaitTimeout) and returns it held.
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
	params := &AcquireLockParams{Owner: o.Owner, TTL: o.TTL, WaitTimeout: o.WaitTimeout}
	if o.WaitTimeout > 0 {
		// The server holds the call while the lock is busy: give the attempt that long, too.
		reqOpts = append([]RequestOption{WithRequestTimeout(o.WaitTimeout + s.core.timeout)}, reqOpts...)
	}
	resp, err := s.Acquire(ctx, name, params, reqOpts...)
	if err != nil {
		return nil, err
	}
	if resp.Lock == nil {
		return nil, fmt.Errorf("concord: AcquireLock: the answer holds no lock")
	}
	l := &HeldLock{
		Name: name, Owner: o.Owner, FencingToken: resp.Lock.FencingToken,
		svc: s, ttl: o.TTL, grant: *resp.Lock, stop: make(chan struct{}), lost: make(chan struct{}),
	}
	if o.AutoRenew {
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

// Renew extends the hold by ttl (the hold's TTL when 0); the fencing token stays the same.
func (l *HeldLock) Renew(ctx context.Context, ttl time.Duration, opts ...RequestOption) error {
	if ttl <= 0 {
		ttl = l.ttl
	}
	params := &RenewLockParams{Owner: l.Owner, FencingToken: l.FencingToken, TTL: ttl}
	resp, err := l.svc.Renew(ctx, l.Name, params, opts...)
	if err != nil {
		return err
	}
	if resp.Lock != nil {
		l.mu.Lock()
		l.grant = *resp.Lock
		l.mu.Unlock()
	}
	return nil
}

// Release gives the lock up and stops auto-renewal. It runs even when ctx is already done
// (bounded by 10s), so `defer lock.Release(ctx)` releases on every path. Later calls do nothing.
func (l *HeldLock) Release(ctx context.Context, opts ...RequestOption) error {
	l.mu.Lock()
	if l.released {
		l.mu.Unlock()
		return nil
	}
	l.released = true
	close(l.stop)
	l.mu.Unlock()
	l.renewer.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	params := &ReleaseLockParams{Owner: l.Owner, FencingToken: l.FencingToken}
	_, err := l.svc.Release(rctx, l.Name, params, opts...)
	return err
}

// Lost is closed when auto-renewal loses the hold (never without AutoRenew).
func (l *HeldLock) Lost() <-chan struct{} { return l.lost }

// Err says why the hold was lost; nil while it is held.
func (l *HeldLock) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// renewLoop renews every TTL/3 until Release, or until the hold is lost.
func (l *HeldLock) renewLoop() {
	defer l.renewer.Done()
	ticker := time.NewTicker(max(l.ttl/3, time.Millisecond))
	defer ticker.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), max(l.ttl/3, time.Second))
		err := l.Renew(ctx, l.ttl)
		cancel()
		if err == nil {
			continue
		}
		gone := IsCode(err, CodeLockNotHeld) || IsCode(err, CodeLockExpired) || IsCode(err, CodeNotFound)
		if gone || time.Now().After(l.Lock().ExpiresAt) {
			l.mu.Lock()
			l.err = fmt.Errorf("concord: lock %q lost: %w", l.Name, err)
			l.mu.Unlock()
			close(l.lost)
			return
		}
	}
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
