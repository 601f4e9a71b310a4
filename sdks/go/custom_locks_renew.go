// Hand-written (never regenerated): the background renewal of a HeldLock and its local
// deadline, to docs/sdk-helpers.md §1.3.

package concord

import (
	"context"
	"time"
)

// renewLoop renews at TTL/3 after the last successful grant, retrying transient failures every
// min(TTL/10, 1s) (or after Retry-After) until the local deadline, and stops at Release, when
// the hold is lost, or when the context given to Hold is done.
func (l *HeldLock) renewLoop() {
	defer l.renewer.Done()
	for {
		l.mu.Lock()
		wait := time.Until(l.next)
		l.mu.Unlock()
		timer := time.NewTimer(max(wait, 0))
		select {
		case <-l.stop:
			timer.Stop()
			return
		case <-l.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		}
		remaining := l.remaining()
		if remaining <= 0 {
			return // the deadline timer declares the loss
		}
		l.renewing.Lock()
		err := l.renewBounded(remaining)
		l.renewing.Unlock()
		if err == nil {
			continue
		}
		if l.ctx.Err() != nil {
			return // released, lost, or the caller's context ended
		}
		if !transient(err) {
			l.lose("a renewal was refused", err, lockGone(err))
			return
		}
		l.mu.Lock()
		l.lastErr = err
		l.next = time.Now().Add(min(retryPause(err, l.timing.retryInterval()), time.Until(l.deadline)))
		l.mu.Unlock()
	}
}

// renewBounded is one renewal without the client's retries, ending by the deadline at the latest.
func (l *HeldLock) renewBounded(remaining time.Duration) error {
	timeout := min(l.svc.core.timeout, remaining)
	if timeout <= 0 {
		timeout = remaining
	}
	ctx, cancel := context.WithTimeout(l.ctx, remaining)
	defer cancel()
	sent := time.Now()
	params := &RenewLockParams{Owner: l.Owner, FencingToken: l.FencingToken, TTL: l.timing.ttl}
	resp, err := l.svc.Renew(ctx, l.Name, params, WithRequestMaxRetries(0), WithRequestTimeout(timeout))
	if err != nil {
		return err
	}
	l.granted(resp.Lock, sent)
	l.arm()
	return nil
}

// confirm renews a grant that arrived later than TTL/3 after the acquire was sent (it waited in
// line), before Hold returns it: retried like a renewal until received + TTL - margin.
func (l *HeldLock) confirm(received time.Time) error {
	l.mu.Lock()
	l.deadline = received.Add(l.timing.ttl - l.timing.margin())
	l.mu.Unlock()
	for {
		remaining := l.remaining()
		if remaining <= 0 {
			l.lose("a late grant could not be confirmed in time", l.lastError(), false)
			return l.Err()
		}
		err := l.renewBounded(remaining)
		if err == nil {
			return nil
		}
		if !transient(err) || l.ctx.Err() != nil {
			l.lose("a late grant could not be confirmed", err, lockGone(err))
			return l.Err()
		}
		l.mu.Lock()
		l.lastErr = err
		l.mu.Unlock()
		if sleep(l.ctx, min(retryPause(err, l.timing.retryInterval()), l.remaining())) != nil {
			l.lose("a late grant could not be confirmed", l.ctx.Err(), false)
			return l.Err()
		}
	}
}

// arm (re)starts the timer that declares the loss at the local deadline.
func (l *HeldLock) arm() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.released || l.err != nil {
		return
	}
	wait := max(time.Until(l.deadline), 0)
	if l.timer == nil {
		l.timer = time.AfterFunc(wait, l.onDeadline)
		return
	}
	l.timer.Reset(wait)
}

// onDeadline declares the loss unless a renewal moved the deadline meanwhile.
func (l *HeldLock) onDeadline() {
	l.mu.Lock()
	stale := time.Now().Before(l.deadline) || l.released
	cause := l.lastErr
	l.mu.Unlock()
	if !stale {
		l.lose("no renewal succeeded before the lease's safety deadline", cause, false)
	}
}

func (l *HeldLock) remaining() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return time.Until(l.deadline)
}

func (l *HeldLock) lastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}
