package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/logline"
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
	// stopAsked: a Stop arrived while a restart was between its stop half
	// and its start: the start must not happen (or must abort).
	stopAsked atomic.Bool
	// halted: a stop begun by Halt (seam.Handle) whose steps have not
	// begun; the supervisor's Stop of the service runs them. Guarded by
	// Base.mu.
	halted bool
}

// view is what the steps of a Stop or Start read of the service, taken
// under Base.mu in the section that begins them (one lock instead of one
// per step), and kept by the goroutine running them.
type view struct {
	self  Service
	mach  seam.Machinery
	cfg   Config
	hooks hookSet
	kids  []Service // a Stop's children, in the order added; a Start's, if kidsRead
	// kidsUp: a Start's children that were running when it began (started
	// by someone else before it; see kidsUpLocked), in the order of kids
	// once its children step begins: it neither starts nor rolls them
	// back.
	kidsUp []Service
	// kidsRead: the Start's children step began in the section that began
	// the Start (see startRun), with kids read then.
	kidsRead bool
}

// viewLocked takes b's view into v, without its children (a view is
// filled in place: it is large to copy). b.mu is held.
func (b *Base) viewLocked(v *view) {
	v.self, v.cfg, v.hooks, v.mach, v.kids, v.kidsUp, v.kidsRead = b.selfLocked(), b.cfg, b.hooks, nil, nil, nil, false
	if b.hooks&hasMachinery != 0 {
		v.mach = machineryOf(v.self)
	}
}

// stopViewLocked takes the view a Stop of b reads into v. b.mu is held.
func (b *Base) stopViewLocked(v *view) {
	b.viewLocked(v)
	if v.mach == nil { // else the machinery stops them
		v.kids = b.childrenLocked()
	}
}

// beginTransitionLocked makes a transition of the given kind, not ended,
// the one in progress (b.trans) and returns it: the one b last ended if
// nobody waited for it (nobody else can hold it: a waiter makes its
// channel, see waitCh), else a new one. b.mu is held.
func (b *Base) beginTransitionLocked(kind transKind) *transition {
	t := b.spareTrans
	if t == nil {
		t = &transition{kind: kind}
	} else {
		b.spareTrans = nil
		*t = transition{kind: kind}
	}
	b.trans = t
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

// endTransition publishes the result of t and lets waiters look again.
func (b *Base) endTransition(t *transition, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.endLocked(t, err)
}

// endLocked is endTransition with b.mu held.
func (b *Base) endLocked(t *transition, err error) {
	t.err, t.ended = err, true
	if b.trans == t {
		b.trans = nil
	}
	if t.done != nil {
		close(t.done)
	} else {
		b.spareTrans = t
	}
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
	first := firstTimes{deps: !b.depsDone, ok: b.firstOK}
	err := v.cfg.validate()
	if err == nil {
		b.depsDone = true
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
			return fmt.Errorf("%s: %w: %w", what, end, err)
		}
		return fmt.Errorf("%s: %w", what, err)
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
			b.depsDone = false
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

// beginKidsLocked begins the children step of run r's start: from now on
// AddDependency refuses, so the children it reads into v.kids are all
// there are; v.kidsUp keeps those of them that ran as the start began.
// Each is marked unreached
// until the step has started it: its own Restart meanwhile would start it
// behind the step's back (see parentDown). b.mu is held.
//
// A machinery (a supervisor's) starts its children itself: they are read
// but not marked (nothing would clear the marks, and a child moved from a
// supervisor to a plain parent was then refused its Restart during that
// parent's step, which had not marked it).
func (b *Base) beginKidsLocked(r *run, v *view) {
	r.phase.Store(phaseKids)
	v.kids = b.childrenLocked()
	if v.mach == nil && len(v.kids) > 0 {
		b.markKidsLocked(r, v) // a leaf's start, and a restart's, skip the call
	}
}

// markKidsLocked is beginKidsLocked's part for a plain parent's children:
// their unreached marks, and v.kidsUp. b.mu is held.
func (b *Base) markKidsLocked(r *run, v *view) {
	for _, c := range v.kids {
		c.base().setUnreached(true)
	}
	v.kidsUp = append(v.kidsUp, r.takeAddedUp()...)
	if len(v.kidsUp) > 0 {
		// Keep those still children, in v.kids' order (startKids walks
		// both together).
		up := make(map[Service]bool, len(v.kidsUp))
		for _, c := range v.kidsUp {
			up[c] = true
		}
		v.kidsUp = v.kidsUp[:0]
		for _, c := range v.kids {
			if up[c] {
				v.kidsUp = append(v.kidsUp, c)
			}
		}
	}
}

// kidsUpLocked reads into v.kidsUp the children running as a start
// begins: started by someone else before it, the start neither starts
// them nor rolls them back. A child started during the start (by the
// parent's OnStart, say, to use it at once) is the start's: its rollback
// stops it. b.mu is held.
func (b *Base) kidsUpLocked(v *view) {
	for _, c := range b.children {
		if c.State() == Running {
			v.kidsUp = append(v.kidsUp, c)
		}
	}
}

// startKids is the children step of a start: the machinery's start, else
// the children's (v.kids), in the order added, recorded in p. A child
// running by its own Restart, which the step let through, is this run's:
// recorded as started, so that a rollback stops it.
func startKids(ctx context.Context, r *run, mach seam.Machinery, v *view, p *progress) error {
	// A Stop or a crash during the start cancels the run: the children's
	// starts hear it too, not only the start ctx's end.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	if mach != nil {
		if err := r.abortReason(ctx); err != nil {
			return err
		}
		p.machOn = true
		return mach.Start(context.WithValue(ctx, markerKey{}, r))
	}
	up := v.kidsUp // in the order of v.kids: the next one up is up[0]
	for i, c := range v.kids {
		if err := r.abortReason(ctx); err != nil {
			reached(v.kids[i:])
			return err
		}
		cb := c.base()
		wasUp := len(up) > 0 && up[0] == c
		if wasUp {
			up = up[1:]
		}
		if c.Node().Parent() != r.b.Node() {
			// Removed since the step began: no child of this start. Its
			// mark is left alone: it is cleared when the child is
			// attached again, and may be another parent's step's by now.
			continue
		}
		if wasUp {
			cb.setUnreached(false)
			p.running = append(p.running, c)
			continue
		}
		// ctx has the values of this run's start ctx: the children's
		// runs take theirs from r.values too.
		err := cb.startKid(ctx, r.values, r.b)
		if err == errRemoved {
			continue // as above
		}
		cb.setUnreached(false) // started (or this start fails and rolls back)
		if c.Node().Parent() != r.b.Node() {
			// Removed while it started (RemoveDependency, whose stop
			// may have come first): nothing else would stop it.
			if err == nil {
				_ = cb.stop(ctx, stopByParent, -1)
			}
			continue
		}
		if err != nil {
			reached(v.kids[i+1:])
			return err // it names itself
		}
		p.started = append(p.started, c)
	}
	return nil
}

// reached clears the unreached marks of children a failed children step
// will not start.
func reached(kids []Service) {
	for _, c := range kids {
		c.base().setUnreached(false)
	}
}

// rollback undoes a failed start as a Stop of what started: OnStop (if
// OnStart's step passed), the machinery, the children started (stopped in
// reverse, then reset to Init), the tasks (cancelled and joined), the exit
// stack, OnShutdown (if OnStart's step passed). It is bounded by the stop
// budget, not by the start ctx, which may have expired. The state goes
// back to Init.
func (b *Base) rollback(ctx context.Context, r *run, v *view, p progress, cause error, lim time.Duration) {
	b.mu.Lock()
	r.setReason(cause, false) // why this run ended (WaitStarted reports it)
	b.mu.Unlock()
	r.halt(runStopped, cause)
	kids := p.started
	if v.mach == nil {
		// Children added and started at run time since the children step
		// (AddRuntimeDependency from a task) are undone too, and so is a
		// child's own Restart in progress (let through once the step
		// began: see parentDown), which this stop aborts or waits for,
		// and so is one started during the start before its children
		// step (by OnStart, to use it at once), whether that step began
		// or not: every child but those that ran before this start, or
		// that are down and idle.
		ran := p.running
		if !p.kidsOn {
			b.mu.Lock()
			ran = append(slices.Clip(v.kidsUp), r.takeAddedUp()...)
			b.mu.Unlock()
		}
		began := baseSet(p.started)
		ranSet := baseSet(ran)
		kids = slices.DeleteFunc(b.childrenSnapshot(), func(c Service) bool {
			cb := c.base()
			if _, ok := ranSet[cb]; ok {
				return true
			}
			_, ok := began[cb]
			return !ok && cb.idleDown()
		})
	}
	plan := stopPlan{hooks: p.onStartOK, mach: p.machOn, kids: kids, rollback: true}
	if err := b.stopSteps(context.WithoutCancel(ctx), r, v, newLimit(context.Background(), &v.cfg, lim), plan); err != nil {
		logline.Err(b.Log().Warn, err, "rolling back a failed start")
	}
	b.Log().Debug().Err(cause).Msg("start rolled back")
}

// baseSet is the set of the Bases of kids (nil for none): a rollback
// looks up each child in it, in constant time however many there are.
func baseSet(kids []Service) map[*Base]struct{} {
	if len(kids) == 0 {
		return nil
	}
	set := make(map[*Base]struct{}, len(kids))
	for _, c := range kids {
		set[c.base()] = struct{}{}
	}
	return set
}

// idleDown reports whether b is in Init or Shutdown with no transition in
// progress.
func (b *Base) idleDown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.State()
	return b.trans == nil && (st == Init || st == Shutdown)
}
