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
}

// Func makes a leaf service that runs fn in one goroutine for each run. fn
// gets the run context, cancelled when the service stops or crashes.
// Returning nil is a normal exit (the service stops itself; a Permanent
// child is restarted by its supervisor); returning an error, or panicking,
// crashes it. fn is the run, not part of the start: its goroutine starts
// once the start has completed (the state is Running), before Start
// returns, so Start never fails because fn ended quickly. Once the
// service has been stopped, returning the context's error is not a crash. The name is the ShortLabel (Config.Name overrides it).
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

// launchFunc starts f's function as the run's task. startRun calls it
// once the start has completed, before Start returns: fn is the run, not
// part of the start, so whatever it returns takes effect on a running
// service and a Start never fails because fn ended quickly. The launch is
// the start's last step, so the goroutine that made the start (a
// supervisor's loop, say) has nothing left to do before fn can run.
func (r *run) launchFunc(f *FuncService) {
	t := &task{name: f.typeLabel(), fn: f.fn, kind: funcTask}
	if r.addTask(t) != nil {
		return // stopped before fn could start
	}
	go r.runTask(t)
}

// funcExit handles the return of a Func's function: an error (or panic)
// crashes the run; nil or a final exit stops the service, unless Stop
// already cancelled the run.
func (r *run) funcExit(t *task, err error) {
	if err != nil && !errors.Is(err, errFinal) {
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
