package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gomode/mode/internal/seam"
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
// ErrNotStarted. It returns the stop's errors, or the error of OnRestart
// (the service is then left stopped, in Shutdown) or of the start (the
// service is then rolled back to Init). A Stop arriving during the Restart
// (from inside too, OnRestart included) stops it before its start, or
// aborts the start: Restart then returns ErrStopped, and the service is
// left stopped (Shutdown). So does a Restart
// that finds a Stop in progress: it waits for it and starts nothing (the
// Stop wins; a Restart asked once the Stop has returned starts the
// service again from Shutdown); one called from inside the service (its
// hooks and tasks) while it stops returns ErrStopping at once, since the
// Stop may be waiting for its caller. Called with the ctx of one of the service's own tasks or hooks, Restart
// begins at once, finishes on a new goroutine and returns nil.
//
// The child of a service that is stopping or has stopped is not started
// again behind its parent's back (its parent's Stop may have passed its
// children step): Restart stops it if it runs and returns ErrStopping. Nor
// is the child of a service that has not started it yet (in Init after a
// rolled-back start, or starting and its children step not yet at this
// child, which that step starts) or whose start is being undone: Restart
// returns ErrNotStarted. Once the step has reached the child, its Restart
// is part of its parent's start: if that start then fails, its rollback
// stops the child (a Restart still in progress returns ErrStopped).
//
// A directly supervised child is restarted by its supervisor's goroutine:
// the call is handed to the supervisor, which restarts the child as a
// manual restart (not counted toward its intensity; a terminated child is
// no longer terminated) and waits for it under ctx. It returns the
// supervisor's ErrNotRunning when the supervisor is not running.
func (b *Base) Restart(ctx context.Context) error {
	if l := b.link.Load(); l != nil {
		return l.Sup.RestartChild(ctx)
	}
	stopErr, err := b.restart(ctx, ctx, nil, -1, false)
	if err != nil {
		return err
	}
	return stopErr
}

// restart runs a Restart transition: its stop half under stopCtx, its
// start half under ctx (a supervisor's restart is cancelled when the
// supervisor stops: that aborts the start half, never the stop half, whose
// tasks must be joined, not abandoned). byParent (a supervisor's restarts)
// keeps the stop quiet and waits up to lim for user code of earlier runs
// still alive before it starts a new run; if some is still running the
// attempt fails with ErrStopTimeout and the service stays stopped. It
// returns the stop half's errors apart from the start half's. values, if
// not nil, is what the new run takes its values from (see run.begin).
func (b *Base) restart(stopCtx, ctx, values context.Context, lim time.Duration, byParent bool) (stopErr, err error) {
	// As stop: a supervisor is never inside; a callback below b is.
	inside := !byParent && (insideOf(ctx, b) || seam.Under(seam.CallbackNode(), b.Node()))
	for {
		b.mu.Lock()
		if !byParent && b.flags&retired != 0 {
			b.mu.Unlock()
			return nil, fmt.Errorf("%s: restart: %w (its Worker has stopped it)", b.Label(), ErrStopped)
		}
		st := b.State()
		if t := b.trans; t != nil {
			done, stopping := t.waitCh(), t.kind == transStop
			b.mu.Unlock()
			if inside && !finishing(st) {
				return nil, fmt.Errorf("%s: restart: %w (a %s is in progress)", b.Label(), ErrStopping, st)
			}
			select {
			case <-done:
			case <-ctx.Done():
				return nil, fmt.Errorf("%s: restart: waiting for the %s in progress: %w", b.Label(), st, ctx.Err())
			}
			if stopping && !byParent {
				// The Stop in progress wins, as one that comes during a
				// Restart does: started again from Shutdown, the service
				// would run on behind its stopper's back (a Worker's,
				// which has returned).
				if err := b.parentDown("restart"); err != nil {
					return nil, err
				}
				return nil, fmt.Errorf("%s: restart: %w (a Stop was in progress)", b.Label(), ErrStopped)
			}
			continue
		}
		if st == Init {
			b.mu.Unlock()
			if byParent {
				return nil, b.start(ctx, values, true, lim)
			}
			return nil, fmt.Errorf("%w: %s: restart", ErrNotStarted, b.Label())
		}
		t := b.beginTransitionLocked(transRestart)
		var r *run
		var v view
		var from State
		if st != Shutdown {
			by := stopExternal
			if byParent {
				by = stopBySup
			}
			r, from = b.beginStopLocked(by)
			b.stopViewLocked(&v)
		}
		b.mu.Unlock()
		if r != nil {
			b.stateChanged(from, Stopping)
		}
		if inside {
			dctx := detached(ctx)
			v := v // a copy made only here: the closure must not move v to the heap
			go func() { b.labelGoroutine("Restart"); _, _ = b.finishRestart(dctx, dctx, nil, r, t, &v, lim, byParent) }()
			return nil, nil
		}
		return b.finishRestart(stopCtx, ctx, values, r, t, &v, lim, byParent)
	}
}

// finishRestart is the rest of a restart, once begun; v is the stop's
// view (empty when restarting from Shutdown, with r nil).
func (b *Base) finishRestart(stopCtx, ctx, values context.Context, r *run, t *transition, v *view, lim time.Duration, byParent bool) (stopErr, err error) {
	cfg := &v.cfg // the configuration when the restart began...
	if r != nil {
		stopErr = b.stopSteps(stopCtx, r, v, newLimit(stopCtx, cfg, lim), stopPlan{hooks: true, mach: true, kids: v.kids})
	} else {
		c := b.Config() // ...or, from Shutdown (no stop: no view), now
		cfg = &c
	}
	if byParent {
		if err := b.waitStuck(ctx, cfg, lim); err != nil {
			err = fmt.Errorf("%s: restart: %w", b.Label(), err)
			b.endTransition(t, err)
			return stopErr, err
		}
	}
	if !byParent {
		// A child its parent has stopped (or is stopping) must not run
		// again behind the parent's back: the parent's Stop, which may
		// have passed its children step, would return with it running.
		err = b.parentDown("restart")
	}
	if err == nil {
		if err = b.resetAndNotify(ctx, cfg); err != nil {
			// The restarting service opens the text ("Error texts" in the
			// package doc); restarted by its supervisor, its label alone.
			if byParent {
				err = fmt.Errorf("%s: %w", b.Label(), err)
			} else {
				err = fmt.Errorf("%s: restart: %w", b.Label(), err)
			}
		}
	}
	if err == nil && t.stopAsked.Load() {
		err = fmt.Errorf("%s: restart: %w", b.Label(), ErrStopped) // a Stop came meanwhile
	}
	if err == nil {
		return stopErr, b.startRun(ctx, values, t, lim, byParent, stopErr) // it ends t
	}
	b.mu.Lock()
	from := b.setStateLocked(Shutdown)
	b.mu.Unlock()
	b.stateChanged(from, Shutdown)
	b.endTransition(t, errors.Join(stopErr, err))
	return stopErr, err
}

// resetAndNotify increments RestartCount through the subtree, then calls
// OnRestart on each service of it, parents first. OnRestart is a start
// hook: its ctx ends with the restart's ctx, and at the latest after the
// stop timeout. Its error fails the restart.
func (b *Base) resetAndNotify(ctx context.Context, cfg *Config) error {
	if b.kidCount() == 0 { // a leaf: the subtree is b
		countRestart(b)
		return b.notifyRestart(ctx, cfg, b)
	}
	// One walk: a child removed (or added) meanwhile is either counted and
	// told, or neither.
	var sub []*Base
	b.walk(func(d *Base) { sub = append(sub, d) })
	for _, d := range sub {
		countRestart(d)
	}
	var errs []error
	for _, d := range sub {
		dcfg := d.Config()
		if err := d.notifyRestart(ctx, &dcfg, b); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// notifyRestart calls b's OnRestart, if it has one, for the Restart of
// top (b or an ancestor, whose label opens the error: b's error names b
// only when b is not top). b.hooks is set once, at the handover, before b
// could start: it is read here without the lock.
func (b *Base) notifyRestart(ctx context.Context, cfg *Config, top *Base) error {
	if b.hooks&hasOnRestart == 0 {
		return nil
	}
	b.mu.Lock()
	self, cur := b.selfLocked(), b.cur
	b.mu.Unlock()
	l := newLimit(ctx, cfg, -1)
	hctx, cancel := context.WithTimeout(context.WithValue(ctx, markerKey{}, cur), l.remaining())
	defer cancel()
	if err := b.callBounded(hctx, "OnRestart", self.(OnRestarter).OnRestart, nil); err != nil {
		if _, ok := err.(*abandonedError); ok || b == top {
			return stepError("OnRestart", err) // an abandonment names b's path and OnRestart
		}
		return fmt.Errorf("%s: OnRestart: %w", b.Label(), err)
	}
	return nil
}

// parentDown (for op: "restart", "start") returns ErrStopping, naming b
// and its parent, when b has a parent service that is stopping or has
// stopped, else nil. A parent that
// is still running when this is read stops b in its children step, which
// waits for the restart in progress. It returns ErrNotStarted when the
// parent has not started b itself: it is in Init (a start of it was rolled
// back), or starting and not yet at its children step (which starts b,
// and which a start that fails before it never undoes), or starting and
// aborted (a crash or a Stop: its rollback may have passed b already), or
// in its children step and not yet at b (unreached: the step starts b, and
// would take a b already running for one that ran before the start, which
// its rollback leaves alone). One let through once the step has reached
// b is the parent's: the rollback of that start stops b, aborting the
// restart if it is still in progress.
func (b *Base) parentDown(op string) error {
	pn := b.Node().Parent()
	if pn == nil {
		return nil
	}
	p, ok := pn.Value().(Service)
	if !ok {
		// A parent never handed over (AddDependency on its Base does not
		// hand it over; Start does) has never started: it is in Init.
		return fmt.Errorf("%s: %s: %w: its parent is %s (it starts its children itself)", b.Label(), op, ErrNotStarted, Init)
	}
	pb := p.base()
	pb.mu.Lock()
	st, r := pb.State(), pb.cur
	var early bool
	if st == Starting {
		// A Start may come before the step: the step then finds b
		// running, and counts it as started by this start (kidsUp is
		// read as the start begins), which its rollback stops.
		early = r == nil || r.has(runHalted) || op != "start" && (r.phase.Load() < phaseKids || b.unreached())
	}
	pb.mu.Unlock()
	switch {
	case st == Stopping || st == Shutdown:
		return fmt.Errorf("%s: %s: %w: its parent %s is %s", b.Label(), op, ErrStopping, p.Label(), st)
	case st == Init || early:
		return fmt.Errorf("%s: %s: %w: its parent %s is %s (it starts its children itself)", b.Label(), op, ErrNotStarted, p.Label(), st)
	}
	return nil
}

func countRestart(d *Base) { d.restarts.Add(1) }

// walk calls fn on b and its descendants, parents first, in child order.
func (b *Base) walk(fn func(*Base)) {
	fn(b)
	for _, c := range b.childrenSnapshot() {
		c.base().walk(fn)
	}
}
