package service

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gomode/mode/internal/seam"
)

// run is the state of one run of a service, from Start to the end of Stop:
// its context, tasks, exit stack and crash reason. A new Start makes a new
// run, so nothing of a hung previous run can touch the next one.
type run struct {
	b      *Base
	ctx    context.Context // marked with this run; cancelled by stop or crash
	values context.Context // the start ctx's values, without its cancellation: see runBase
	cancel context.CancelCauseFunc
	fnTask *task         // a Func's run: its function's task, made with the run (see newRun)
	done   chan struct{} // made only when Done is asked before the run began; else ctx.Done()
	num    uint64        // the run's number (Base.runs when it began)

	reasonVal error         // the crash reason, published by runReasonSet (see setReason); written under Base.mu
	flags     atomic.Uint32 // the run's runXxx flags, one word: a stop sets several in one locked instruction
	phase     startPhase    // how far the start got (phaseEarly, phaseOnStart, phaseKids)

	// tasks counts the live tasks, with tasksClosed (no more tasks or
	// closers) and tasksFn (the Func's task is live) in one word: a Func's
	// task is registered and unregistered without r.mu (see addTask).
	tasks atomic.Int32

	ended    event                     // the run is over (stop finished or rolled back)
	running  event                     // the start completed
	extra    atomic.Pointer[runExtras] // timers, heartbeat, exit stack, late errors: made on first use
	mu       sync.Mutex                // guards the fields below
	list     *task                     // live tasks but the Func's, newest first
	idle     chan struct{}             // closed when closed && no task left
	shutdown event                     // SetShutdown was called
}

// The run's flags (run.flags).
const (
	runHalted    uint32 = 1 << iota // stop has run: the ctx is cancelled, or is about to be by the setter
	runStopped                      // Stop cancelled this run: later errors are no crash
	runByParent                     // its supervisor or an ancestor stopped it: not an exit
	runExited                       // it ended on its own without a crash (a normal exit)
	runFinal                        // that exit asked not to be restarted
	runAbandoned                    // Stop gave up on the tasks still running
	runReasonSet                    // the crash reason is published in reasonVal
)

// has reports whether any of the flags f is set.
func (r *run) has(f uint32) bool { return r.flags.Load()&f != 0 }

// set sets the flags f.
func (r *run) set(f uint32) { r.flags.Or(f) }

// runExtras is the state of a run that only some services need, made on
// first use (run.extra), so that a run stays small: an idle service holds
// one run.
type runExtras struct {
	mu     sync.Mutex // guards timers
	timers []*timer
	beat   atomic.Pointer[heartbeat]

	watches []*Watchdog // live watchdogs (Watch), guarded by mu

	// addedUp: children added already running during this run's start,
	// before its children step (by Dependencies() or OnFirstStart):
	// started by someone else, they join that start's kidsUp. Guarded by
	// the service's mu (Base.mu); rare, hence here, not in Base.
	addedUp []Service

	// hooks, cancelHooks: the start hooks' ctx when the start ctx had a
	// deadline, and its cancel. That ctx hears of the run's end a moment
	// after the run's ctx, on a goroutine of the context package (see
	// hookctx.go): the run's stop waits for it, so that it has ended once
	// Stop returns. Guarded by run.mu.
	hooks       context.Context
	cancelHooks context.CancelFunc

	// Guarded by run.mu:
	exit     []func() error // the exit stack
	lateErrs []error        // non-ctx errors returned by tasks after Stop cancelled the run
}

// extrasFor returns r's extras, or nil if none were made.
func extrasFor(r *run) *runExtras {
	if r == nil {
		return nil
	}
	return r.extra.Load()
}

// extras returns r's extras, making them on first use.
func (r *run) extras() (*runExtras, error) {
	if x := r.extra.Load(); x != nil {
		return x, nil
	}
	r.extra.CompareAndSwap(nil, &runExtras{})
	return r.extra.Load(), nil
}

// addedUpLocked returns the run's addedUp. The service's mu is held.
func (r *run) addedUpLocked() []Service {
	if x := r.extra.Load(); x != nil {
		return x.addedUp
	}
	return nil
}

// takeAddedUp returns and forgets the run's addedUp. The service's mu is
// held.
func (r *run) takeAddedUp() []Service {
	x := r.extra.Load()
	if x == nil {
		return nil
	}
	up := x.addedUp
	x.addedUp = nil
	return up
}

// keepHooks records the start hooks' ctx and its cancel (see
// runExtras.hooks).
func (r *run) keepHooks(ctx context.Context, cancel context.CancelFunc) {
	x, _ := r.extras()
	r.mu.Lock()
	x.hooks, x.cancelHooks = ctx, cancel
	r.mu.Unlock()
}

// endHooks waits for the start hooks' ctx to end, if it hears of the
// run's end on its own goroutine (see runExtras.hooks), then releases it.
// The run is halted: once its ctx is cancelled, that cancellation reaches
// the hooks' ctx without waiting for anything else, and it ends with its
// own error (the start ctx's when that ended the start, else
// context.Canceled with the run's cause). Should the run's ctx not be
// cancelled yet (the one that halted it is about to), it is not waited
// for: the hooks' ctx is cancelled at once, so a stop never hangs here.
func (r *run) endHooks(x *runExtras) {
	r.mu.Lock()
	ctx, cancel := x.hooks, x.cancelHooks
	r.mu.Unlock()
	if ctx != nil {
		if r.ctx.Err() != nil {
			<-ctx.Done()
		}
		cancel()
	}
}

// addLateErr keeps err for Stop's error. r.mu is held.
func (r *run) addLateErr(err error) {
	x, _ := r.extras()
	x.lateErrs = append(x.lateErrs, err)
}

// lateErrsLocked returns the errors kept for Stop. r.mu is held.
func (r *run) lateErrsLocked() []error {
	if x := r.extra.Load(); x != nil {
		return x.lateErrs
	}
	return nil
}

// marker is the context value naming the run a task or hook belongs to; it
// lets Stop recognise calls from inside the service it would wait for.
type markerKey struct{}

// funcRun is a Func's run and its function's task, made together: a
// Func's start (and restart) allocates one object for both.
type funcRun struct {
	run  run
	task task
}

// newRun makes a run of b. b.mu is held.
func newRun(b *Base) *run {
	if b.funcLocked() == nil {
		return &run{b: b}
	}
	fr := &funcRun{run: run{b: b}}
	fr.run.fnTask = &fr.task
	return &fr.run
}

// begin creates the run's context from the start ctx: values flow down,
// cancellation does not, and a supervisor's mark does not either: tasks
// run on their own goroutines. values, if not nil, is a ctx without
// cancellation carrying startCtx's values (marks aside), made once by a
// caller that starts many services under the same ctx (a supervisor, a
// parent starting its children); else begin makes it
// (context.WithoutCancel).
func (r *run) begin(startCtx, values context.Context) {
	if values == nil {
		values = context.WithoutCancel(startCtx)
	}
	r.values = values
	r.ctx, r.cancel = context.WithCancelCause((*runBase)(r))
}

// runBase is a run seen as the parent of its context, so that the parent
// costs no allocation of its own: a context that is never cancelled, whose
// values are r.values, plus the marker naming the run (as
// context.WithValue would) and without a supervisor's mark.
type runBase run

func (*runBase) Deadline() (time.Time, bool) { return time.Time{}, false }
func (*runBase) Done() <-chan struct{}       { return nil }
func (*runBase) Err() error                  { return nil }
func (c *runBase) String() string            { return "mode run context" }
func (c *runBase) Value(key any) any {
	switch key.(type) {
	case markerKey:
		return (*run)(c)
	case seam.MarkKey:
		return nil
	}
	return c.values.Value(key)
}

// stop cancels the run with cause and closes done. Idempotent: the first
// call does it (a flag, not a sync.Once: this runs at the bottom of a
// crashing task's stack, where every frame counts toward stack growth).
func (r *run) stop(cause error) { r.halt(0, cause) }

// halt sets the flags f and runHalted; if runHalted was not set yet, it
// cancels the run with cause and closes done. One locked instruction, none
// when the run is halted already and f is set.
func (r *run) halt(f uint32, cause error) {
	f |= runHalted
	if r.flags.Load()&f == f {
		return
	}
	if r.flags.Or(f)&runHalted == 0 {
		r.cancelRun(cause)
	}
}

// cancelRun cancels the run with cause and closes done: for the one that
// set runHalted.
func (r *run) cancelRun(cause error) {
	if r.cancel != nil {
		r.cancel(cause)
	}
	if r.done != nil {
		close(r.done)
	}
}

// doneCh is closed when the run is cancelled. The caller got r after it
// began, or from Base.current, which made r.done for a run not begun.
func (r *run) doneCh() <-chan struct{} {
	if r.done != nil {
		return r.done
	}
	return r.ctx.Done()
}

// event is a channel made on first wait and closed once; most are never
// waited on, so most runs never allocate one, and firing an event nobody
// waits on takes no lock. ch is guarded by run.mu.
type event struct {
	state atomic.Int32 // evIdle → evWaited (ch made) → evFired, or evIdle → evFired
	ch    chan struct{}
}

const (
	evIdle int32 = iota
	evWaited
	evFired
)

var closedCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// wait returns a channel closed when e fires.
func (r *run) wait(e *event) <-chan struct{} {
	if e.state.Load() == evFired {
		return closedCh
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.ch == nil {
		if !e.state.CompareAndSwap(evIdle, evWaited) {
			return closedCh // fired meanwhile
		}
		e.ch = make(chan struct{})
	}
	return e.ch
}

// fire closes e's channel (if anyone waits) and marks it fired.
func (r *run) fire(e *event) {
	if e.state.CompareAndSwap(evIdle, evFired) || e.state.Load() == evFired {
		return // nobody waits, or fired already
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e.state.Load() == evWaited { // a waiter made ch under the lock
		e.state.Store(evFired)
		close(e.ch)
	}
}

// crashReason returns the recorded crash reason or nil.
func (r *run) crashReason() error {
	if r.has(runReasonSet) {
		return r.reasonVal
	}
	return nil
}

// setReason records err if no reason is recorded yet; reports whether it
// did. b.mu is held: every writer of reasonVal holds it, so reasonVal is
// written before the claim, and one locked instruction claims and
// publishes it. With halt, that instruction also sets runHalted (when the
// run is not halted already) and reports so in cancel: the caller must
// then cancelRun(err) itself.
func (r *run) setReason(err error, halt bool) (set, cancel bool) {
	for {
		old := r.flags.Load()
		if old&runReasonSet != 0 {
			return false, false
		}
		r.reasonVal = err
		f := old | runReasonSet
		if halt {
			f |= runHalted
		}
		if r.flags.CompareAndSwap(old, f) {
			return true, halt && old&runHalted == 0
		}
	}
}

// markedBy returns the run that marked ctx, or nil.
func markedBy(ctx context.Context) *run {
	if ctx == nil {
		return nil
	}
	r, _ := ctx.Value(markerKey{}).(*run)
	return r
}

// insideOf reports whether ctx belongs to a task or hook of b or of one of
// b's descendants: a Stop with such a ctx must not wait for itself.
func insideOf(ctx context.Context, b *Base) bool {
	r := markedBy(ctx)
	if r == nil {
		return false
	}
	for n := r.b.Node(); n != nil; n = n.Parent() {
		if n == b.Node() {
			return true
		}
	}
	return false
}
