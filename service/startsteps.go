package service

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/gomode/mode/internal/seam"
)

// onStartHook calls OnStart, and onStartedHook OnStarted. Their method
// calls are the frames by which calledFromOnStart recognises code that
// these hooks run (the method value costs what self.(OnStarter).OnStart
// would).
type onStartHook struct{ s OnStarter }

func (h onStartHook) call(ctx context.Context) error { return h.s.OnStart(ctx) }

type onStartedHook struct{ s OnStartedHook }

func (h onStartedHook) call(ctx context.Context) error { return h.s.OnStarted(ctx) }

// startPhase is how far a run's start got: one of the phase constants.
type startPhase = atomic.Int32

// The phases of a run's start (run.phase).
const (
	phaseEarly     int32 = iota // before or after OnStart, before the children step
	phaseOnStart                // OnStart is running
	phaseKids                   // the children step has begun
	phaseOnStarted              // OnStarted is running (after the children step)
)

// firstTimes is what startRun found of the first-time steps: whether
// Dependencies() is due (deps) and OnFirstStart has once succeeded (ok).
type firstTimes struct{ deps, ok bool }

// progress is how far a start got, for its rollback: whether OnStart's
// step passed (then OnStop and OnShutdown run), whether the machinery was
// started, and the children it started, in order.
type progress struct {
	onStartOK bool
	machOn    bool
	kidsOn    bool      // the children step began
	running   []Service // children found running at the children step
	started   []Service
}

// dropAddedSince takes back the children added since b had n: those a
// failed OnFirstStart added, which its retry at the next start attempt
// adds again (else that retry, and every later one, would fail with
// ErrAlreadyAdded). They are detached, and stopped if the start started
// them (not if they ran when added: addedUp); a supervisor
// (machined) removes them through its RemoveDependency, which also drops
// its record of them.
func (b *Base) dropAddedSince(ctx context.Context, r *run, self Service, machined bool, n int) {
	kids := b.childrenSnapshot()
	if len(kids) <= n {
		return
	}
	b.mu.Lock()
	up := baseSet(r.addedUpLocked())
	b.mu.Unlock()
	for _, c := range kids[n:] {
		if !machined {
			if _, ran := up[c.base()]; !ran && !c.base().idleDown() {
				// Started during this start (to use it at once): it is
				// the start's, stopped as its rollback would.
				_ = c.base().stop(context.WithoutCancel(ctx), stopByParent, -1)
			}
			_ = b.detach(c)
		} else if r, ok := self.(interface {
			RemoveDependency(context.Context, Service) error
		}); ok {
			_ = r.RemoveDependency(context.WithoutCancel(ctx), c)
		}
	}
}

// startHooks makes the ctx of a start's hooks on first use: the run's ctx
// (marked with the run), also cancelled if the start ctx ends before the
// start does, with the start ctx's supervisor marks. It then ends with the
// start ctx's error: context.DeadlineExceeded when its deadline passed
// (see hookctx.go), so the hook and the caller of Start both see it.
type startHooks struct {
	start context.Context
	r     *run
	ctx   context.Context
	stop  func() bool
}

func (h *startHooks) call(b *Base, what string, fn hookFn) error {
	if h.ctx == nil {
		base := seam.CopyMarks(h.r.ctx, h.start)
		if _, ok := h.start.Deadline(); ok { // it ends with DeadlineExceeded: see hookctx.go
			var cancel context.CancelFunc
			h.ctx, cancel, h.stop = newDeadlineHookCtx(base, h.start)
			h.r.keepHooks(h.ctx, cancel) // it ends a moment after the run: its stop waits
		} else {
			hctx, cancel := context.WithCancel(base)
			after := context.AfterFunc(h.start, cancel)
			h.ctx, h.stop = hctx, after
		}
	}
	call := b.callHook // a start ctx that cannot end bounds nothing
	if h.start.Done() != nil {
		call = func(ctx context.Context, fn hookFn) error { return b.callBounded(ctx, what, fn, nil) }
	}
	if err := call(h.ctx, fn); err != nil {
		if end := h.start.Err(); end != nil && errors.Is(err, ErrStopTimeout) && !errors.Is(err, end) {
			// Abandoned (it ignored its ctx) because the start ctx ended:
			// say why, as the caller checks (errors.Is(err, ctx.Err())).
			if _, ok := err.(*abandonedError); ok { // it names the hook
				return fmt.Errorf("%w: %w", end, err)
			}
			return fmt.Errorf("%s: %w: %w", what, end, err)
		}
		return stepError(what, err)
	}
	return nil
}

func (h *startHooks) release() {
	if h.stop != nil {
		h.stop()
	}
}

// startSteps runs the start steps with the view startRun took and says
// how far it got.
func (b *Base) startSteps(ctx context.Context, r *run, v *view, first firstTimes) (progress, error) {
	// The steps are a function of their own, without a defer: one with a
	// defer and many returns gets no open-coded defer, which costs a
	// restart about 200 instructions.
	h := startHooks{start: ctx, r: r}
	defer h.release()
	return b.steps(ctx, r, v, first, &h)
}

func (b *Base) steps(ctx context.Context, r *run, v *view, first firstTimes, h *startHooks) (p progress, err error) {
	self, mach, hooks := v.self, v.mach, v.hooks

	if hooks&hasDependencies != 0 && first.deps {
		var deps []Service
		if err := b.callHook(ctx, func(context.Context) error {
			deps = self.(Dependent).Dependencies()
			return nil
		}); err != nil {
			// A panic (*PanicError) fails the start like a start hook's;
			// nothing was added, so the next attempt asks again.
			b.mu.Lock()
			b.flags.set(depsDone, false)
			b.mu.Unlock()
			return p, fmt.Errorf("Dependencies: %w", err)
		}
		adder, _ := self.(interface{ AddDependency(Service) error })
		for _, c := range deps {
			if err := adder.AddDependency(c); err != nil {
				return p, fmt.Errorf("Dependencies: %w", err)
			}
		}
	}
	if hooks&hasOnFirstStart != 0 && !first.ok {
		had := b.kidCount()
		if err := h.call(b, "OnFirstStart", self.(OnFirstStarter).OnFirstStart); err != nil {
			b.dropAddedSince(ctx, r, self, mach != nil, had)
			return p, err
		}
		b.mu.Lock()
		b.firstOK = true
		b.mu.Unlock()
	}
	if hooks&(hasDependencies|hasOnFirstStart) != 0 { // they may have taken a while
		if err := r.abortReason(ctx); err != nil {
			return p, err
		}
	}
	lifecycle := b.lifecycleOn(&v.cfg)
	b.mundane(lifecycle, &v.cfg, "Starting")
	if hooks&hasOnStart != 0 {
		r.phase.Store(phaseOnStart) // a child added now would be added again at each restart
		err := h.call(b, "OnStart", onStartHook{self.(OnStarter)}.call)
		r.phase.Store(phaseEarly)
		if err != nil {
			return p, err
		}
	}
	p.onStartOK = true
	if f, ok := self.(*FuncService); ok && f.fn == nil {
		return p, errorf(ErrBadArgument, "nil function")
	}
	if err := b.startMonitors(r, &v.cfg, self, hooks); err != nil {
		return p, err
	}
	// The children step begins, unless startRun began it already.
	if !v.kidsRead {
		b.mu.Lock()
		b.beginKidsLocked(r, v)
		b.mu.Unlock()
	}
	p.kidsOn = true
	if mach != nil || len(v.kids) > 0 {
		if err := startKids(ctx, r, mach, v, &p); err != nil {
			return p, err
		}
	}
	if err := r.abortReason(ctx); err != nil {
		return p, err
	}
	b.mundane(lifecycle, &v.cfg, "Started")
	if hooks&hasOnStarted != 0 {
		r.phase.Store(phaseOnStarted) // like OnStart, it runs at each restart
		err := h.call(b, "OnStarted", onStartedHook{self.(OnStartedHook)}.call)
		r.phase.Store(phaseKids)
		if err != nil {
			return p, err
		}
	}
	return p, nil
}
