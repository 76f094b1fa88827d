package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gomode/mode/internal/seam"
)

// stopBy says who stops a service: an exit is reported to its supervisor
// only when it was not stopped by the supervisor or an ancestor.
type stopBy uint8

const (
	stopExternal stopBy = iota // Stop from anyone else, itself included: a normal exit
	stopByParent               // its parent or an ancestor
	stopBySup                  // its supervisor, on the supervisor's goroutine
)

// Stop stops the service, following this order:
//
//  1. The state becomes Stopping and the run context is cancelled (Done is
//     closed); log "Stopping".
//  2. OnStop.
//  3. The children stop, one after another, in reverse order of adding.
//  4. With Config.WaitForShutdown: wait for SetShutdown, at most
//     ShutdownTimeout.
//  5. The tasks are joined.
//  6. The exit stack runs, last in first out.
//  7. OnShutdown; the state becomes Shutdown; log "Stopped".
//
// The whole Stop is bounded by Config.StopTimeout (default 10s) or ctx's
// deadline, whichever is earlier, counted from the first step that can
// wait. Stop returns within that budget plus a small slack, whatever user
// code does: a hook, closer or task still running when the budget ends is
// abandoned (Go cannot kill a goroutine: it goes on running, and what it
// returns later is only logged), named with its path in the error
// (ErrStopTimeout), and Stop goes on with the next step. Each child gets
// what remains of the budget, or less under a supervisor (its shutdown
// timeout). Once the budget is spent, the remaining steps still begin
// without waiting: children not yet reached are cancelled, the exit stack
// and OnShutdown are called, the state becomes Shutdown.
//
// Stop returns errors.Join of hook, closer, child and late task errors, a
// timed-out SetShutdown wait (ErrShutdownTimeout) and ErrStopTimeout, wrapped
// with the label; never the crash reason. User code abandoned earlier in
// the run (a Healthcheck CheckHealth gave up on, a hook a Restart gave up
// on) and still running when the steps are done is named too, as
// "abandoned earlier, still running", after a grace of a few milliseconds
// for code that is returning right then.
//
// Stop is idempotent and safe from any goroutine. On a service never
// started (Init) or already stopped (Shutdown) it returns nil at once,
// unless user code that an earlier Stop or Start of it (or of a child)
// abandoned still runs: it then waits a few milliseconds for that code and
// returns ErrStopTimeout naming what still runs, so that nothing outlives a
// Stop without its error saying so. A
// concurrent Stop waits and returns the first one's result. A Stop arriving
// during a Start aborts it: the start rolls back and the service is left in
// Init. Called with the ctx of one of the service's own tasks or hooks (or a
// descendant's), Stop begins the stop, finishes it on a new goroutine, and
// returns nil at once; use WaitUntilStopped to wait for it elsewhere.
//
// A directly supervised child is stopped by its supervisor's goroutine: the
// call is handed to the supervisor and waits for it (under ctx). It is the
// child's normal exit: a Permanent child is started again; use the
// supervisor's Terminate to keep it down. From inside the child, or from
// code the supervisor is running right now, the request is queued and Stop
// returns nil at once. A request that meets the supervisor stopping (its
// own Stop has begun, or ends before the request's turn) or crashed (it
// gave up) is no exit: the child is stopped and not started again, and
// Stop returns once it is stopped, with nil or that stop's errors, never
// the supervisor's ErrNotRunning (a Restart then returns ErrNotRunning).
func (b *Base) Stop(ctx context.Context) error {
	if l := b.link.Load(); l != nil {
		if err := l.Sup.StopChild(ctx); err != seam.ErrDirect {
			return err
		}
	}
	return b.stop(ctx, stopExternal, -1)
}

// stop runs or joins a Stop transition. lim < 0: no limit from the caller
// besides ctx; otherwise the budget left by the caller.
//
// A stop by the supervisor is never made from inside b: a supervisor stops
// on its own goroutine, whatever ctx the request came with. A callback
// (OnEvent, a Replacement) of a supervisor at or below b, on that
// supervisor's goroutine, is inside b: b's stop waits for that goroutine.
func (b *Base) stop(ctx context.Context, by stopBy, lim time.Duration) error {
	inside := by != stopBySup && (insideOf(ctx, b) || seam.Under(seam.CallbackNode(), b.Node()))
	for {
		b.mu.Lock()
		st := b.State()
		if t := b.trans; t != nil && t.halted && by == stopBySup {
			// Begun by Halt: this Stop runs its steps.
			t.halted = false
			r := b.cur
			var v view
			b.stopViewLocked(&v)
			b.mu.Unlock()
			return b.finishStop(ctx, r, t, v, by, lim)
		}
		if t := b.trans; t != nil {
			done := t.waitCh()
			if st == Starting {
				b.cur.set(runStopped)
				b.cur.stop(ErrStopped)
			}
			if t.kind == transRestart { // in any phase: its start must not happen, or aborts (see endLocked)
				t.stopAsked.Store(true)
			}
			b.mu.Unlock()
			// From inside, never wait for a transition that may wait for
			// us: an aborted start or a stop in progress. A start that has
			// reached Running only publishes its result: wait for it, then
			// stop the run.
			if inside && !finishing(st) {
				return nil
			}
			if err := b.waitTransition(ctx, done, lim, st); err != nil {
				return err
			}
			if t.kind == transStop {
				return t.err
			}
			continue
		}
		if st == Init || st == Shutdown {
			b.mu.Unlock()
			return b.stuckError(lim)
		}
		t := b.beginTransitionLocked(transStop)
		r, from := b.beginStopLocked(by)
		var v view
		b.stopViewLocked(&v)
		b.mu.Unlock()
		b.stateChanged(from, Stopping)
		if inside {
			v := v // a copy made only here: the closure must not move v to the heap
			go func() { b.labelGoroutine("Stop"); _ = b.finishStop(detached(ctx), r, t, v, by, lim) }()
			return nil
		}
		return b.finishStop(ctx, r, t, v, by, lim)
	}
}

// halt begins a Stop of b by its supervisor, as stop does, when b runs
// (Running or Crashed) and no transition is in progress: the state becomes
// Stopping and the run is cancelled. The steps wait for the supervisor's
// Stop of b, which finds the transition and runs them; nothing else may
// run them, so that Stop must come (see seam.Handle.Halt).
func (b *Base) halt() {
	b.mu.Lock()
	if st := b.State(); b.trans != nil || st != Running && st != Crashed {
		b.mu.Unlock()
		return
	}
	t := b.beginTransitionLocked(transStop)
	t.halted = true
	_, from := b.beginStopLocked(stopBySup)
	b.mu.Unlock()
	b.stateChanged(from, Stopping)
}

// waitTransition waits for the transition in progress (in state st) to
// end, at most lim (lim < 0: the stop timeout) or until ctx ends.
func (b *Base) waitTransition(ctx context.Context, done <-chan struct{}, lim time.Duration, st State) error {
	cfg := b.Config()
	l := newLimit(ctx, &cfg, lim)
	if waitClosed(ctx, l.clk, done, l.remaining(), b, nil, waitTransition) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: stop: waiting for the %s in progress: %w", b.Label(), st, err)
	}
	return fmt.Errorf("%w: %s: stop: the %s in progress did not end", ErrStopTimeout, b.Label(), st)
}

// finishing reports whether a transition in state st has done all its
// work but publishing its result (a start that reached Running, or Crashed
// right after).
func finishing(st State) bool { return st == Running || st == Crashed }

// detached is ctx without its cancellation and without its marker: the
// context of a transition finished on its own goroutine, which must wait for
// the children it stops.
func detached(ctx context.Context) context.Context {
	return context.WithValue(context.WithoutCancel(ctx), markerKey{}, (*run)(nil))
}

// beginStopLocked moves a running or crashed service to Stopping and
// cancels its run. b.mu is held; call stateChanged(from, Stopping) once it
// is released.
func (b *Base) beginStopLocked(by stopBy) (r *run, from State) {
	if b.nstuck.Load() > 0 {
		b.pruneStuckLocked()
	}
	r = b.cur
	f := runStopped
	if by != stopExternal {
		f |= runByParent
	} else if r.crashReason() == nil {
		f |= runExited
	}
	from = b.setStateLocked(Stopping)
	r.halt(f, ErrStopped) // the flags and the cancellation: one locked instruction
	return r, from
}

func (b *Base) finishStop(ctx context.Context, r *run, t *transition, v view, by stopBy, lim time.Duration) error {
	earlier := b.ownStuck() // abandoned during the run (CheckHealth), not by this stop
	plan := stopPlan{hooks: true, mach: true, kids: v.kids, nested: by != stopExternal, earlier: earlier}
	l := newLimit(ctx, &v.cfg, lim)
	if len(earlier) > 0 {
		// The grace stopSteps gives them is part of this Stop's budget:
		// count it from now, so that what the steps leave bounds it.
		l.remaining()
	}
	err := b.stopSteps(ctx, r, &v, l, plan)
	b.endTransition(t, err)
	if by == stopExternal {
		b.reportExit()
	}
	return err
}

// stopPlan says which steps a stop runs: the stop hooks (a rollback runs
// them only if OnStart's step passed), the machinery, which children; a
// rollback ends in Init, with the children it stopped.
type stopPlan struct {
	hooks, mach, rollback bool
	nested                bool // a step of its parent's (or supervisor's) stop
	kids                  []Service
	// earlier: b's own code abandoned before this stop (CheckHealth):
	// given a grace once the steps are done, named if still running, in
	// the error the stop's label opens (it names the service once).
	earlier []*stuck
}

// stopSteps runs the steps of Stop for run r, with the view taken when the
// stop began, ending in state Shutdown (Init for a rollback). Each step
// that runs user code waits at most what remains of l.
func (b *Base) stopSteps(ctx context.Context, r *run, v *view, l budget, plan stopPlan) error {
	self, mach, cfg, hooks := v.self, v.mach, &v.cfg, v.hooks
	var began time.Time // for the observers' Stopped
	if timeStops() {
		began = time.Now()
	}
	if !plan.hooks {
		hooks &^= hasOnStop | hasOnShutdown
	}
	// The hooks' context is made only if a hook or the machinery needs it.
	var hctx context.Context
	var release context.CancelFunc
	hookCtx := func() context.Context {
		if hctx == nil {
			hctx, release = l.hookContext(context.WithoutCancel(ctx), r)
		}
		return hctx
	}
	defer func() {
		if release != nil {
			release()
		}
	}()
	var errs []error
	hook := func(name string, err error) {
		if err != nil {
			errs = append(errs, stepError(name, err))
		}
	}
	bounded := func(name string, fn hookFn) error {
		return b.callBounded(hookCtx(), name, fn, ctx.Done())
	}

	lifecycle := b.lifecycleOn(cfg)
	b.mundane(lifecycle, cfg, "Stopping")
	if hooks&hasOnStop != 0 {
		hook("OnStop", bounded("OnStop", self.(OnStopper).OnStop))
	}
	if mach != nil && plan.mach {
		if err := mach.Stop(hookCtx(), l.remaining()); err != nil {
			errs = append(errs, err)
		}
	}
	for i := len(plan.kids) - 1; i >= 0; i-- {
		cb := plan.kids[i].base()
		if err := cb.stop(ctx, stopByParent, l.remaining()); err != nil {
			errs = append(errs, err)
		}
		if plan.rollback {
			cb.resetToInit()
		}
	}
	if cfg.WaitForShutdown && !plan.rollback {
		d := min(cfg.shutdownTimeout(), l.remaining())
		if !waitClosed(ctx, l.clk, r.wait(&r.shutdown), d, b, r, waitShutdown) {
			errs = append(errs, fmt.Errorf("%w after %v", ErrShutdownTimeout, d))
		}
	}
	if err := r.join(ctx, l.remaining); err != nil {
		errs = append(errs, err)
	}
	if r.hasExitStack() {
		hook("exit stack", bounded("exit stack", func(context.Context) error { return r.runExitStack() }))
	}
	if hooks&hasOnShutdown != 0 {
		hook("OnShutdown", bounded("OnShutdown", self.(OnShutdowner).OnShutdown))
	}
	if x := r.extra.Load(); x != nil { // late errors live in the extras
		r.mu.Lock()
		errs = append(errs, r.lateErrsLocked()...)
		r.mu.Unlock()
		r.endHooks(x) // a start ctx with a deadline: the hooks' ctx ends by now
	}

	var from, to State
	if plan.rollback {
		to = Init
		b.mu.Lock()
		from = b.setStateLocked(to)
		b.cur = newRun(b) // Done is open again: the service is ready to start
		b.mu.Unlock()
	} else {
		// The stop holds its transition (a Stop's or a Restart's): no
		// section of b.mu decides anything on Stopping against Shutdown
		// while one is held, so the store needs no section of its own.
		to = Shutdown
		from = State(b.state.Swap(int32(to)))
	}
	r.fire(&r.ended)
	b.stateChanged(from, to)
	if !plan.rollback {
		b.mundane(lifecycle, cfg, "Stopped")
	}
	if len(plan.earlier) > 0 {
		if names := graceRunning(plan.earlier, l.remaining()); len(names) > 0 {
			errs = append(errs, fmt.Errorf("%w: abandoned earlier, still running: %s", ErrStopTimeout, strings.Join(names, ", ")))
		}
	}
	err := errors.Join(errs...)
	if err != nil {
		if plan.nested { // the parent says "stop" once
			err = fmt.Errorf("%s: %w", b.Label(), err)
		} else {
			err = fmt.Errorf("%s: stop: %w", b.Label(), err)
		}
	}
	if !began.IsZero() {
		b.stopped(began, err)
	}
	return err
}

// resetToInit puts a stopped service back in Init (after a rollback of its
// parent's start), keeping its RestartCount.
func (b *Base) resetToInit() {
	b.mu.Lock()
	reset := b.trans == nil && b.State() == Shutdown
	if reset {
		b.setStateLocked(Init)
	}
	b.mu.Unlock()
	if reset {
		b.stateChanged(Shutdown, Init)
	}
}

// reportExit tells a directly supervised service's supervisor that it has
// exited on its own.
func (b *Base) reportExit() {
	if l := b.link.Load(); l != nil {
		l.Sup.Exited()
	}
}
