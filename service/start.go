package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Start hands s over to the runtime and starts it, following this order:
//
//  1. At the first attempt only: the children returned by Dependencies()
//     are added. Until it has once returned nil: OnFirstStart.
//  2. Log "Starting", then OnStart.
//  3. The children start, one after another, in the order added.
//  4. Log "Started", then OnStarted; the state becomes Running.
//
// ctx bounds the start only: it never stops the service later. The run
// context the hooks and tasks get keeps ctx's values but not its
// cancellation; only Stop or a crash cancels it.
//
// If a step fails (an error or panic from a hook, a child's start, a crash
// or a Stop arriving before the last step, ctx ending), everything this
// Start began is undone in reverse: children started are stopped and reset
// to Init, tasks are cancelled and joined, the exit stack runs. The state
// goes back to Init, so Start may be tried again, and the error, wrapped
// with the service's label, is returned. When ctx ends during the start,
// the error matches ctx's error: errors.Is(err, context.DeadlineExceeded)
// when its deadline passed (the start hooks' ctx ends with that error
// too), errors.Is(err, context.Canceled) when it was cancelled.
//
// A child is started by its parent: Start of a service whose parent is
// in Init, or starting and not yet at s in its children step, returns
// ErrNotStarted, and one whose parent is stopping or stopped returns
// ErrStopping (s would run outside the tree: its parent's rollback and
// Stop would leave it running).
//
// Start returns ErrNilService for a nil s, ErrAlreadyStarted unless s is in
// state Init, ErrTwoOwners if s's Base was handed over under another value,
// and the two errors above for a child.
func Start(ctx context.Context, s Service) error {
	b, err := baseOf(s)
	if err != nil {
		return err
	}
	return b.startOwn(ctx)
}

// MaybeStart starts s if it is in state Init (Python mode's maybe_start) and
// reports whether it did. It returns false and no error when s is in any
// other state, and Start's error when the start fails or is refused (a
// child whose parent has not started it).
func MaybeStart(ctx context.Context, s Service) (bool, error) {
	b, err := baseOf(s)
	if err != nil {
		return false, err
	}
	if b.State() != Init {
		return false, nil
	}
	if err := b.startOwn(ctx); err != nil {
		if errors.Is(err, ErrAlreadyStarted) {
			return false, nil // started meanwhile by another caller
		}
		return false, err
	}
	return true, nil
}

// start runs a Start transition. byParent allows starting from Shutdown (a
// parent starting its stopped children again) and leaves an already running
// child alone.
//
// lim is the budget of the rollback if the start fails (lim < 0: the
// service's stop timeout): a supervisor gives the child's shutdown timeout.
// values, if not nil, is what the run takes its values from (see
// run.begin).
func (b *Base) start(ctx, values context.Context, byParent bool, lim time.Duration) error {
	b.mu.Lock()
	return b.startLocked(ctx, values, byParent, lim)
}

// startOwn is Start's start: a child's parent is looked at (parentDown)
// once its transition has begun, so that a Stop of the parent either
// finds that start in progress, which its children step waits for before
// stopping b, or has begun before it and is seen by it (looked at before,
// a Stop of the parent could pass its children step in between and
// return with b running).
func (b *Base) startOwn(ctx context.Context) error {
	b.mu.Lock()
	if b.flags&retired != 0 {
		b.mu.Unlock()
		return fmt.Errorf("%s: start: %w (its Worker has stopped it)", b.Label(), ErrStopped)
	}
	if st := b.State(); b.trans != nil || st != Init {
		b.mu.Unlock()
		if err := b.parentDown("start"); err != nil {
			return err // the child's refusal first, as Restart's
		}
		return fmt.Errorf("%w: %s (state %s)", ErrAlreadyStarted, b.Label(), st)
	}
	t := b.beginTransitionLocked(transStart)
	b.mu.Unlock()
	if err := b.parentDown("start"); err != nil {
		b.endTransition(t, err)
		return err
	}
	return b.startRun(ctx, nil, t, -1, false, nil)
}

// startKid is start by its parent's children step. A transition of b in
// progress is waited for first, until ctx ends: b's own Restart, which
// its parent lets through once at its children step (see parentDown), or
// a Stop; b is then started, unless that left it running.
//
// It returns errRemoved, starting nothing, once b is no longer a child of
// parent: that is read in the section that begins b's start, so that a
// RemoveDependency, which looks at b after its detach (idleDown), either
// finds that start begun (and stops b again) or is seen by it.
func (b *Base) startKid(ctx, values context.Context, parent *Base) error {
	b.mu.Lock()
	for t := b.trans; t != nil; t = b.trans {
		done, st := t.waitCh(), b.State()
		b.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for the %s in progress: %w", b.Label(), st, ctx.Err())
		}
		b.mu.Lock()
	}
	if b.Node().Parent() != parent.Node() {
		b.mu.Unlock()
		return errRemoved
	}
	return b.startLocked(ctx, values, true, -1)
}

// errRemoved: a child its parent's children step was about to start was
// removed meanwhile (see startKid). The step skips it.
var errRemoved = errors.New("removed from its parent")

// startLocked is start with b.mu held; it releases it.
func (b *Base) startLocked(ctx, values context.Context, byParent bool, lim time.Duration) error {
	st := b.State()
	if byParent && st == Running && b.trans == nil {
		b.mu.Unlock()
		return nil
	}
	if b.trans != nil || !(st == Init || (byParent && st == Shutdown)) {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s (state %s)", ErrAlreadyStarted, b.Label(), st)
	}
	t := b.beginTransitionLocked(transStart)
	b.mu.Unlock()
	return b.startRun(ctx, values, t, lim, byParent, nil)
}

// startRun makes a new run and takes it to Running, or rolls it back to
// Init, then ends the transition t, which the caller holds, with its error
// joined to stopErr (a restart's stop half's errors). A Func's function is
// launched last. values, if not nil, is what the run takes its values from (see
// run.begin). Its error is "<Label>: start: <why>", or "<Label>: <why>"
// when nested: the start is a step of its parent's start or its
// supervisor's restart, which says the operation once (and just <why> when
// that names the service already).
func (b *Base) startRun(ctx, values context.Context, t *transition, lim time.Duration, nested bool, stopErr error) error {
	b.mu.Lock()
	r := b.cur
	if r == nil || r.ctx != nil {
		r = newRun(b)
		b.cur = r
	}
	b.runs++
	r.num = b.runs
	r.begin(ctx, values)
	from := b.setStateLocked(Starting)
	if t.stopAsked.Load() { // a Stop came during the restart that began this start
		r.set(runStopped)
	}
	var v view
	b.viewLocked(&v)
	if v.mach == nil && len(b.children) > 0 {
		b.kidsUpLocked(&v) // a leaf's start, and a restart's, skip the call
	}
	first := firstTimes{deps: b.flags&depsDone == 0, ok: b.firstOK}
	err := v.cfg.validate()
	if err == nil {
		b.flags.set(depsDone, true)
		if v.hooks&(hasDependencies|hasOnFirstStart|hasOnStart) == 0 && !v.cfg.monitored() {
			// No user code runs before the children step: it begins here,
			// in this section, not in one of its own.
			b.beginKidsLocked(r, &v)
			v.kidsRead = true
		}
	}
	b.mu.Unlock()
	b.stateChanged(from, Starting)
	b.startLogger(ctx)

	var p progress
	if err == nil {
		p, err = b.startSteps(ctx, r, &v, first)
		if err != nil && ctx.Err() == nil && errors.Is(err, context.Canceled) {
			// A step saw the run's cancellation (a crash or a Stop during
			// the start): report its cause, not the ctx error it caused.
			if why := r.abortReason(ctx); why != nil {
				err = why
			}
		}
	}
	if err == nil {
		if x := r.extra.Load(); x != nil {
			x.startOver() // before Running: no watch loop sees Running with a beat older than it
		}
		// Without observers, the section that makes the service Running
		// also launches a Func's function and ends the transition (one
		// section instead of three). With observers, they are told of
		// Running before the function can run, and so before its exit or
		// crash: it is launched after, and the transition ends last.
		quiet := !observed()
		var ft *task // a Func's task, readied holding no lock
		if f, ok := v.self.(*FuncService); ok {
			ft = r.funcTask(f)
		}
		b.mu.Lock()
		err = r.abortReason(ctx)
		if err == nil {
			b.setStateLocked(Running)
			// Fired before the section ends (b.mu then r.mu, as
			// markCrashed): once the transition has ended or the function
			// runs, a Stop or an exit may end the run, and a WaitStarted
			// must find it started first.
			r.fire(&r.running)
			if quiet {
				if ft != nil {
					r.goFunc(ft)
				}
				b.endLocked(t, stopErr)
			}
			b.mu.Unlock()
			b.stateChanged(Starting, Running)
			if !quiet {
				if ft != nil {
					r.goFunc(ft)
				}
				b.endTransition(t, stopErr)
			}
			return nil
		}
		b.mu.Unlock()
	}
	b.rollback(ctx, r, &v, p, err, lim)
	if t.kind == transRestart && t.stopAsked.Load() {
		// A Stop aborted this Restart's start: the Stop won, and it
		// leaves the service stopped (Shutdown), as one that came during
		// the stop half does, not in Init, where a later Restart would
		// be refused.
		b.mu.Lock()
		from := b.setStateLocked(Shutdown)
		b.mu.Unlock()
		b.stateChanged(from, Shutdown)
	}
	switch {
	case !nested:
		err = fmt.Errorf("%s: start: %w", b.Label(), err)
	case !namesItself(err, b): // else its own crash reason, say a supervisor's
		err = fmt.Errorf("%s: %w", b.Label(), err)
	}
	b.endTransition(t, errors.Join(stopErr, err))
	return err
}

// namesItself reports whether err's text begins with b's label or short
// label: a caller then adds nothing (see "Error texts" in the package doc).
func namesItself(err error, b *Base) bool {
	msg := err.Error()
	n := b.names()
	return strings.HasPrefix(msg, n.full+": ") || strings.HasPrefix(msg, n.short+": ")
}

// abortReason says why a start in progress must stop: a crash, a Stop, or
// the start ctx ending.
func (r *run) abortReason(ctx context.Context) error {
	if reason := r.crashReason(); reason != nil {
		return reason
	}
	if r.has(runStopped) {
		return ErrStopped
	}
	return ctx.Err()
}
