package service

import (
	"context"
	"errors"
)

// FuncService is a leaf service made from a function by Func.
type FuncService struct {
	Base
	name string
	fn   func(ctx context.Context) error
}

// Func makes a leaf service that runs fn in one goroutine for each run. fn
// gets the run context, cancelled when the service stops or crashes.
// Returning nil is a normal exit (the service stops itself; a Permanent
// child is restarted by its supervisor); returning an error, or panicking,
// crashes it. fn is the run, not part of the start: its goroutine starts
// once the start has completed (the state is Running), before Start
// returns, so Start never fails because fn ended quickly. Once the
// service has been stopped or has crashed (Crash), whatever fn returns is
// no new exit. The name is the ShortLabel (Config.Name overrides it).
// Starting a Func with a nil fn returns ErrBadArgument.
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

// errFinal marks a normal exit after which the service must not be started
// again by its supervisor (suture's ErrDoNotRestart).
var errFinal = errors.New("mode: final exit")

// funcTask readies the task of f's function, its pprof labels included
// (found here, holding no lock: see launch).
func (r *run) funcTask(f *FuncService) *task {
	t := r.fnTask // made with the run (newRun)
	if t == nil { // the run was made before the handover
		t = new(task)
	}
	*t = task{name: f.typeLabel(), fn: f.fn, kind: funcTask}
	t.labels = r.b.profileLabels().task(t.name)
	return t
}

// goFunc registers t, the function's task (funcTask), and starts it on a
// new goroutine, unless the run was stopped before fn could start.
// startRun calls it once the start has completed, before Start returns:
// fn is the run, not part of the start, so whatever it returns takes
// effect on a running service and a Start never fails because fn ended
// quickly. It takes no lock of b's: startRun may call it holding b.mu.
func (r *run) goFunc(t *task) {
	if r.addTask(t) == nil {
		// A function waits on ctx.Done(): its channel is made here, on
		// the starter's stack, not on the new goroutine's 2 KiB one,
		// which the allocator's slow path (a span refill now and then)
		// would overflow, costing a stack copy.
		r.ctx.Done()
		go runTasks(t)
	}
}

// funcExit handles the return of a Func's function: an error (or panic)
// crashes the run; nil or a final exit is a normal exit, unless Stop
// already cancelled the run or it crashed (Crash from outside). A
// supervised Func reports the exit to its supervisor, which stops it; any
// other stops itself.
func (r *run) funcExit(t *task, err error) {
	if err != nil && err != errFinal { // FromSuture returns errFinal as is
		t.failure = taskError{name: t.name, err: err}
		r.taskFailed(t, &t.failure) // no new crash once stopped or crashed
		return
	}
	if r.has(runStopped) || r.crashReason() != nil {
		return
	}
	f := runExited
	if err != nil {
		f |= runFinal
	}
	r.set(f)
	if r.b.link.Load() != nil {
		t.exit = true // runTask reports it once the task is unregistered
		return
	}
	_ = r.b.stop(r.ctx, stopExternal, -1) // from inside: finishes on its own goroutine
}
