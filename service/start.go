package service

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gomode/mode/internal/seam"
)

// transition is a Start, Stop or Restart in progress. Transitions of one
// service are serialized: a caller that finds one in progress waits for it
// (or, from inside the service, returns at once) and then looks again.
type transition struct {
	kind  transKind
	done  chan struct{} // made by the first waiter (under Base.mu)
	ended bool          // guarded by Base.mu
	err   error         // set before ended
	view  view          // owned by the goroutine running the transition
}

// view is what the steps of a Stop or Start read of the service, taken
// under Base.mu in the section that begins them: one lock instead of one
// per step.
type view struct {
	self  Service
	mach  seam.Machinery
	cfg   Config
	hooks hookSet
	kids  []Service // a Stop's children, in the order added
}

// viewLocked takes b's view, without its children. b.mu is held.
func (b *Base) viewLocked() view {
	return view{self: b.selfLocked(), mach: b.mach, cfg: b.cfg, hooks: b.hooks}
}

// stopViewLocked takes the view a Stop of b reads. b.mu is held.
func (b *Base) stopViewLocked() view {
	v := b.viewLocked()
	v.kids = b.childrenLocked()
	return v
}

// transitions recycles transitions nobody waited for: a waiter reads a
// transition after it ended (its kind and result), so one that had a
// waiter is left to the garbage collector.
var transitions = sync.Pool{New: func() any { return new(transition) }}

// newTransition returns a transition of the given kind, not ended.
func newTransition(kind transKind) *transition {
	t := transitions.Get().(*transition)
	*t = transition{kind: kind}
	return t
}

// waitCh returns a channel closed when t ends. b.mu is held.
func (t *transition) waitCh() <-chan struct{} {
	if t.done == nil {
		if t.ended {
			return closedCh
		}
		t.done = make(chan struct{})
	}
	return t.done
}

type transKind uint8

const (
	transStart transKind = iota
	transStop
	transRestart
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
// with the service's label, is returned.
//
// Start returns ErrNilService for a nil s, ErrAlreadyStarted unless s is in
// state Init, ErrTwoOwners if s's Base was handed over under another value.
func Start(ctx context.Context, s Service) error {
	b, err := baseOf(s)
	if err != nil {
		return err
	}
	return b.start(ctx, false)
}

// MaybeStart starts s if it is in state Init (mode's maybe_start) and
// reports whether it did. It returns false and no error when s is in any
// other state, and Start's error when the start fails.
func MaybeStart(ctx context.Context, s Service) (bool, error) {
	b, err := baseOf(s)
	if err != nil {
		return false, err
	}
	if b.State() != Init {
		return false, nil
	}
	if err := b.start(ctx, false); err != nil {
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
func (b *Base) start(ctx context.Context, byParent bool) error {
	b.mu.Lock()
	st := b.State()
	if byParent && st == Running && b.trans == nil {
		b.mu.Unlock()
		return nil
	}
	if b.trans != nil || !(st == Init || (byParent && st == Shutdown)) {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s (state %s)", ErrAlreadyStarted, b.Label(), st)
	}
	t := newTransition(transStart)
	b.trans = t
	b.mu.Unlock()
	err := b.startRun(ctx, t, false)
	b.endTransition(t, err)
	return err
}

// endTransition publishes the result of t and lets waiters look again. A
// Func left stopped (Init, Shutdown) lets its parked goroutine end; a
// crashed one keeps it for the restart its supervisor was woken for.
func (b *Base) endTransition(t *transition, err error) {
	b.mu.Lock()
	t.err, t.ended = err, true
	if b.trans == t {
		b.trans = nil
	}
	if t.done != nil {
		close(t.done)
	}
	var spare chan *task
	if st := b.State(); st == Init || st == Shutdown {
		spare = b.takeSpareLocked()
	}
	// Waiters find t under b.mu and ask for its channel at once, so a
	// transition ending without one has no reader left.
	recycle := t.done == nil
	b.mu.Unlock()
	if recycle {
		t.view = view{} // keep nothing alive in the pool
		transitions.Put(t)
	}
	if spare != nil {
		spare <- nil
	}
}

// startRun makes a new run and takes it to Running, or rolls it back to
// Init. The caller holds the transition. A Func's function is launched
// last, or, with hold, left for launchHeld.
func (b *Base) startRun(ctx context.Context, t *transition, hold bool) error {
	b.mu.Lock()
	r := b.cur
	if r == nil || r.ctx != nil {
		r = newRun(b)
		b.cur = r
	}
	r.begin(ctx)
	b.state.Store(int32(Starting))
	t.view = b.viewLocked()
	first := firstTimes{deps: !b.depsDone, ok: b.firstOK}
	err := t.view.cfg.validate()
	if err == nil {
		b.depsDone = true
	}
	b.mu.Unlock()

	var started []Service
	var machOn bool
	if err == nil {
		started, machOn, err = b.startSteps(ctx, r, &t.view, first)
	}
	if err == nil {
		b.mu.Lock()
		err = r.abortReason(ctx)
		if err == nil {
			b.state.Store(int32(Running))
			fm, isFunc := b.mach.(funcMachinery)
			var spare chan *task
			switch {
			case isFunc && hold:
				fm.f.held, fm.f.heldSpare, isFunc = r, b.takeSpareLocked(), false
			case isFunc:
				spare = b.takeSpareLocked()
			}
			b.mu.Unlock()
			r.fire(&r.running)
			if isFunc {
				r.launchFunc(fm.f, spare)
			}
			return nil
		}
		b.mu.Unlock()
	}
	b.rollback(ctx, r, started, machOn, err)
	return fmt.Errorf("%s: start: %w", b.Label(), err)
}

// abortReason says why a start in progress must stop: a crash, a Stop, or
// the start ctx ending.
func (r *run) abortReason(ctx context.Context) error {
	if reason := r.crashReason(); reason != nil {
		return reason
	}
	if r.stopped.Load() {
		return ErrStopped
	}
	return ctx.Err()
}

// firstTimes is what startRun found of the first-time steps: whether
// Dependencies() is due (deps) and OnFirstStart has once succeeded (ok).
type firstTimes struct{ deps, ok bool }

// startSteps runs the start steps with the view startRun took. It returns
// the children it started (in order) and whether the machinery was
// started, for the rollback.
func (b *Base) startSteps(ctx context.Context, r *run, v *view, first firstTimes) (started []Service, machOn bool, err error) {
	self, mach, hooks := v.self, v.mach, v.hooks
	firstDeps, firstOK := first.deps, first.ok

	if hooks&hasDependencies != 0 && firstDeps {
		adder, _ := self.(interface{ AddDependency(Service) error })
		for _, c := range self.(Dependent).Dependencies() {
			if err := adder.AddDependency(c); err != nil {
				return nil, false, fmt.Errorf("Dependencies: %w", err)
			}
		}
	}
	if hooks&hasOnFirstStart != 0 && !firstOK {
		if err := b.callHook(r.ctx, self.(OnFirstStarter).OnFirstStart); err != nil {
			return nil, false, fmt.Errorf("OnFirstStart: %w", err)
		}
		b.mu.Lock()
		b.firstOK = true
		b.mu.Unlock()
	}
	if hooks&(hasDependencies|hasOnFirstStart) != 0 { // they may have taken a while
		if err := r.abortReason(ctx); err != nil {
			return nil, false, err
		}
	}
	b.mundane(&v.cfg, "Starting")
	if hooks&hasOnStart != 0 {
		if err := b.callHook(r.ctx, self.(OnStarter).OnStart); err != nil {
			return nil, false, fmt.Errorf("OnStart: %w", err)
		}
	}
	if mach != nil {
		if err := r.abortReason(ctx); err != nil {
			return nil, false, err
		}
		machOn = true
		if err := mach.StartMachinery(r.ctx); err != nil {
			return nil, machOn, err
		}
	}
	if err := b.startMonitors(r, &v.cfg, self, hooks); err != nil {
		return nil, machOn, err
	}
	r.kidsStarted.Store(true)
	for _, c := range b.childrenSnapshot() {
		if err := r.abortReason(ctx); err != nil {
			return started, machOn, err
		}
		if c.State() == Running {
			continue
		}
		if err := c.base().start(ctx, true); err != nil {
			return started, machOn, fmt.Errorf("child %s: %w", c.Label(), err)
		}
		started = append(started, c)
	}
	if err := r.abortReason(ctx); err != nil {
		return started, machOn, err
	}
	b.mundane(&v.cfg, "Started")
	if hooks&hasOnStarted != 0 {
		if err := b.callHook(r.ctx, self.(OnStartedHook).OnStarted); err != nil {
			return started, machOn, fmt.Errorf("OnStarted: %w", err)
		}
	}
	return started, machOn, nil
}

// rollback undoes a failed start in reverse: machinery, children started
// (stopped, then reset to Init), tasks (cancelled and joined), exit stack.
// The state goes back to Init.
func (b *Base) rollback(ctx context.Context, r *run, started []Service, machOn bool, cause error) {
	r.setReason(cause) // why this run ended (WaitStarted reports it)
	r.stopped.Store(true)
	r.stop(cause)
	stopCtx := context.WithoutCancel(ctx)
	cfg := b.Config()
	lim := newLimit(ctx, &cfg, -1)
	hctx, cancel := lim.hookContext(stopCtx, r)
	defer cancel()
	if machOn {
		b.mach.StopMachinery(hctx)
	}
	for i := len(started) - 1; i >= 0; i-- {
		cb := started[i].base()
		if err := cb.stop(stopCtx, stopByParent, lim.forChild(cb)); err != nil {
			b.Log().Warn().Err(err).Msg("stopping a child during rollback")
		}
		cb.resetToInit()
	}
	if err := r.join(stopCtx, lim.remaining); err != nil {
		b.Log().Warn().Err(err).Msg("rolling back a failed start")
	}
	if err := r.runExitStack(); err != nil {
		b.Log().Warn().Err(err).Msg("exit stack during rollback")
	}
	b.mu.Lock()
	b.state.Store(int32(Init))
	b.cur = newRun(b) // Done is open again: the service is ready to start
	b.mu.Unlock()
	r.fire(&r.ended)
	b.Log().Debug().Err(cause).Msg("start rolled back")
}

// resetToInit puts a stopped service back in Init (after a rollback of its
// parent's start), keeping its RestartCount.
func (b *Base) resetToInit() {
	b.mu.Lock()
	if b.trans == nil && b.State() == Shutdown {
		b.state.Store(int32(Init))
	}
	b.mu.Unlock()
}
