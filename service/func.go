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
// crashes it. fn is the run, not part of the start: an exit or crash takes
// effect once Start has completed, so Start never fails because fn ended
// quickly. Once it has been stopped, returning the context's error is
// not a crash. The name is the ShortLabel (Config.Name overrides it).
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

func (m funcMachinery) StartMachinery(ctx context.Context) error {
	f := m.f
	if f.fn == nil {
		return errorf(ErrBadArgument, "nil function")
	}
	r := markedBy(ctx)
	t, err := r.addTask(f.typeLabel())
	if err != nil {
		return err
	}
	go r.runTask(t, f.fn, func(t *task, err error) {
		// fn is the run itself, not part of the start: whatever it returns
		// takes effect once the start has completed, so a Start never fails
		// because fn ended quickly. A start rolled back meanwhile closes
		// r.done instead.
		running := r.wait(&r.running)
		select {
		case <-running:
		case <-r.doneCh():
			select {
			case <-running: // it ran, then was stopped or crashed
			default:
				return
			}
		}
		if err != nil && !errors.Is(err, errFinal) {
			r.taskFailed(t, &taskError{name: f.typeLabel(), err: err})
			return
		}
		if r.stopped.Load() {
			return
		}
		f.final.Store(err != nil)
		_ = f.stop(r.ctx, stopExternal, -1) // from inside: finishes on its own goroutine
	})
	return nil
}

func (funcMachinery) StopMachinery(context.Context) {}
