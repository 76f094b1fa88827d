package service

import (
	"context"
	"errors"

	"github.com/gomode/mode/internal/seam"
)

// FuncService is a leaf service made from a function by Func.
type FuncService struct {
	Base
	name string
	fn   func(ctx context.Context) error

	// The goroutine of a crashed run, parked to run the next run: see
	// offerSpare. Guarded by Base.mu.
	spare  chan *task // made on first use
	parked bool
	// Set by a supervisor's restart (startRun with hold) and read by its
	// Launch (launchHeld), both under the supervisor's lock of child
	// operations: a run whose function waits, and the parked goroutine
	// taken for it.
	held      *run
	heldSpare chan *task
}

// Func makes a leaf service that runs fn in one goroutine for each run. fn
// gets the run context, cancelled when the service stops or crashes.
// Returning nil is a normal exit (the service stops itself; a Permanent
// child is restarted by its supervisor); returning an error, or panicking,
// crashes it. fn is the run, not part of the start: its goroutine starts
// once the start has completed (the state is Running), before Start
// returns, so Start never fails because fn ended quickly. Once the
// service has been stopped, returning the context's error is not a crash.
// Directly under a supervisor, a crashed run's goroutine runs the next run
// (see the package doc, Goroutines). The name is the ShortLabel
// (Config.Name overrides it). Starting a Func with a nil fn returns
// ErrBadArgument.
func Func(name string, fn func(ctx context.Context) error) *FuncService {
	f := &FuncService{name: name, fn: fn}
	_ = f.adopt(f)
	return f
}

// Name returns the name given to Func.
func (f *FuncService) Name() string { return f.name }

func (f *FuncService) typeLabel() string {
	if f.name == "" {
		return "Func"
	}
	return f.name
}

func (f *FuncService) machinery() seam.Machinery { return funcMachinery{f} }

// errFinal marks a normal exit after which the service must not be started
// again by its supervisor (suture's ErrDoNotRestart).
var errFinal = errors.New("mode: final exit")

type funcMachinery struct{ f *FuncService }

// StartMachinery checks the function; startRun launches it once the start
// has completed (launchFunc).
func (m funcMachinery) StartMachinery(context.Context) error {
	if m.f.fn == nil {
		return errorf(ErrBadArgument, "nil function")
	}
	return nil
}

func (funcMachinery) StopMachinery(context.Context) {}

// launchFunc starts f's function as the run's task, on the parked
// goroutine of the last run if startRun took one (spare), else on a new
// goroutine. startRun calls it once the start has completed, before Start
// returns: fn is the run, not part of the start, so whatever it returns
// takes effect on a running service and a Start never fails because fn
// ended quickly.
func (r *run) launchFunc(f *FuncService, spare chan *task) {
	t := &task{name: f.typeLabel(), fn: f.fn, kind: funcTask}
	if r.addTask(t) != nil {
		t = nil // stopped before fn could start
	}
	switch {
	case spare != nil:
		spare <- t // nil lets the parked goroutine end
	case t != nil:
		go runTasks(t)
	}
}

// launchHeld launches the function of the run a supervisor's restart held
// (seam.Ops.Launch). If that run was stopped meanwhile (by a Stop or
// Restart of someone else), launchFunc finds it closed and only lets the
// parked goroutine end.
func (b *Base) launchHeld() {
	f, ok := b.owner.(*FuncService) // set at the handover, before any start
	if !ok || f.held == nil {
		return
	}
	r, spare := f.held, f.heldSpare
	f.held, f.heldSpare = nil, nil
	r.launchFunc(f, spare)
}

// offerSpare decides whether the goroutine of task t, the function of run
// r that has just returned, waits to run the next run instead of ending:
// DESIGN's "a Func rerun on its own goroutine". It does when a restart is
// sure to follow at once: the Func sits directly under a supervisor, r is
// still its current run (not abandoned by a Stop), and either this return
// crashed it (the supervisor is woken next) or a Restart is already in
// progress. It then returns the channel to wait on. The goroutine is
// handed the next run's task by launchFunc, or nil (and ends) by the
// transition that leaves the service stopped (endTransition): a Stop, a
// failed restart, a rollback. So a service that is not restarted keeps no
// goroutine once stopped.
func (r *run) offerSpare(t *task) chan *task {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	f, ok := b.owner.(*FuncService)
	if !ok || f.parked || b.cur != r || r.abandoned.Load() || b.link.Load() == nil {
		return nil
	}
	crashed := t.wake != nil && b.State() == Crashed
	restarting := b.trans != nil && b.trans.kind == transRestart
	if !crashed && !restarting {
		return nil
	}
	if f.spare == nil {
		f.spare = make(chan *task)
	}
	f.parked = true
	return f.spare
}

// takeSpareLocked takes b's parked goroutine, if b is a Func with one: the
// caller hands it a task or nil. b.mu is held.
func (b *Base) takeSpareLocked() chan *task {
	if f, ok := b.owner.(*FuncService); ok && f.parked {
		f.parked = false
		return f.spare
	}
	return nil
}

// funcExit handles the return of a Func's function: an error (or panic)
// crashes the run; nil or a final exit stops the service, unless Stop
// already cancelled the run.
func (r *run) funcExit(t *task, err error) {
	if err != nil && err != errFinal { // FromSuture returns errFinal as is
		t.failure = taskError{name: t.name, err: err}
		r.taskFailed(t, &t.failure)
		return
	}
	if r.stopped.Load() {
		return
	}
	f := r.b.self().(*FuncService)
	f.final.Store(err != nil)
	_ = f.stop(r.ctx, stopExternal, -1) // from inside: finishes on its own goroutine
}
