package service

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Restart stops the service, resets it and starts it again:
//
//  1. Stop (as Stop, but a directly supervised service does not report the
//     stop as an exit, and from Shutdown this step is skipped).
//  2. Reset: RestartCount+1 on the service and recursively on its children.
//  3. OnRestart on every service reset, parents first.
//  4. Start, without Dependencies() and OnFirstStart.
//
// Restart is legal from Running, Crashed and Shutdown; from Init it returns
// ErrNotStarted. Under a supervisor it is a manual restart, not counted
// toward the restart intensity. It returns errors.Join of the stop's and
// OnRestart's errors, or the start's error (the service is then rolled back
// to Init). Called with the ctx of one of the service's own tasks or hooks,
// Restart begins at once, finishes on a new goroutine and returns nil.
func (b *Base) Restart(ctx context.Context) error {
	return b.restart(ctx, -1, false, false)
}

// restart runs a Restart transition. strict (the supervisor's restarts)
// refuses to start a new run while a task of the old one is alive: the
// attempt then fails with ErrStopTimeout and the service stays stopped.
// hold leaves a Func's function for launchHeld (see startRun).
func (b *Base) restart(ctx context.Context, lim time.Duration, strict, hold bool) error {
	for {
		b.mu.Lock()
		st := b.State()
		if t := b.trans; t != nil {
			done := t.waitCh()
			b.mu.Unlock()
			if insideOf(ctx, b) && !finishing(st) {
				return fmt.Errorf("%s: restart: %w (a %s is in progress)", b.Label(), ErrStopping, st)
			}
			select {
			case <-done:
			case <-ctx.Done():
				return fmt.Errorf("%s: restart: waiting for the %s in progress: %w", b.Label(), st, ctx.Err())
			}
			continue
		}
		if st == Init {
			b.mu.Unlock()
			return fmt.Errorf("%w: %s: restart", ErrNotStarted, b.Label())
		}
		t := newTransition(transRestart)
		b.trans = t
		var r *run
		if st != Shutdown {
			r = b.beginStopLocked()
			t.view = b.stopViewLocked()
		}
		b.mu.Unlock()
		if insideOf(ctx, b) {
			go b.finishRestart(detached(ctx), r, t, lim, strict, false)
			return nil
		}
		return b.finishRestart(ctx, r, t, lim, strict, hold)
	}
}

func (b *Base) finishRestart(ctx context.Context, r *run, t *transition, lim time.Duration, strict, hold bool) error {
	var stopErr error
	if r != nil {
		stopErr = b.stopSteps(ctx, r, &t.view, lim)
	}
	if strict && b.hungTree() {
		err := fmt.Errorf("%w: %s: a task of its last run is still running", ErrStopTimeout, b.Label())
		b.endTransition(t, err)
		return err
	}
	err := errors.Join(stopErr, b.resetAndNotify(ctx))
	if serr := b.startRun(ctx, t, hold); serr != nil {
		err = serr
	}
	b.endTransition(t, err)
	return err
}

// resetAndNotify increments RestartCount through the subtree, then calls
// OnRestart on each service of it, parents first.
func (b *Base) resetAndNotify(ctx context.Context) error {
	if b.nkids.Load() == 0 { // a leaf: the subtree is b
		countRestart(b)
		return b.notifyRestart(ctx)
	}
	var errs []error
	b.walk(countRestart)
	b.walk(func(d *Base) {
		if err := d.notifyRestart(ctx); err != nil {
			errs = append(errs, err)
		}
	})
	return errors.Join(errs...)
}

// notifyRestart calls b's OnRestart, if it has one. b.hooks is set once,
// at the handover, before b could start: it is read here without the lock.
func (b *Base) notifyRestart(ctx context.Context) error {
	if b.hooks&hasOnRestart == 0 {
		return nil
	}
	b.mu.Lock()
	self, cur := b.selfLocked(), b.cur
	b.mu.Unlock()
	hctx := context.WithValue(context.WithoutCancel(ctx), markerKey{}, cur)
	if err := b.callHook(hctx, self.(OnRestarter).OnRestart); err != nil {
		return fmt.Errorf("%s: OnRestart: %w", b.Label(), err)
	}
	return nil
}

// hungTree reports whether a task of an abandoned run of b or of one of
// its descendants is still alive.
func (b *Base) hungTree() bool {
	if b.hung.Load() > 0 {
		return true
	}
	for _, c := range b.childrenSnapshot() {
		if c.base().hungTree() {
			return true
		}
	}
	return false
}

func countRestart(d *Base) { d.restarts.Add(1) }

// walk calls fn on b and its descendants, parents first, in child order.
func (b *Base) walk(fn func(*Base)) {
	fn(b)
	for _, c := range b.childrenSnapshot() {
		c.base().walk(fn)
	}
}
