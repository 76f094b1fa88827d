package mode

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// Step is a step of a Worker's run, as its Extensions see it.
type Step int

// The steps, in the order a run goes through them.
const (
	// StepStarting: the tree is about to start. An error fails the run
	// before the tree starts (ExitStartFailed).
	StepStarting Step = iota + 1
	// StepRunning: the tree has started (before Worker.Ready).
	StepRunning
	// StepStopping: the tree's stop begins (after a signal, ctx ending, a
	// crash or a normal exit).
	StepStopping
	// StepStopped: the run is over: the tree has stopped, or its start
	// failed or was rolled back. Every extension whose StepStarting
	// succeeded gets it, in reverse order, except after a forced exit.
	StepStopped
)

var stepNames = [...]string{StepStarting: "starting", StepRunning: "running", StepStopping: "stopping", StepStopped: "stopped"}

// String names the step.
func (s Step) String() string {
	if s >= StepStarting && s <= StepStopped {
		return stepNames[s]
	}
	return fmt.Sprintf("Step(%d)", int(s))
}

// Phase is what an Extension is told at each step of a Worker's run.
type Phase struct {
	// Step is the step of the run the extension is told of.
	Step Step
	// Root is the Worker's Service.
	Root service.Service
	// Log is the Worker's logger.
	Log *zerolog.Logger
}

// An Extension runs beside a Worker's tree, told of each step of the run
// (a status page, a readiness notifier): WorkerPhase is called at each
// Step, for each of Worker.Extensions in order (reverse order for
// StepStopped), on Run's goroutine (StepStopped: on a goroutine Run joins,
// while it listens to signals, so that a second stop signal exits at once
// as during the tree's stop, abandoning it). At the other steps signals
// wait while it runs: it must return promptly. ctx bounds the call only.
// At StepStopping and StepStopped it carries the stop's deadline:
// StopTimeout from when the stop began, shared with the tree's stop, so
// that the whole stop fits the budget a process manager gives (StepStopped
// gets at least a second, even when the tree's stop used it all); a
// StepStopped that ignores it is abandoned shortly after it, and Run
// returns service.ErrStopTimeout (ExitStopTimeout), as for the tree's
// hooks. At the other steps it is Run's ctx. A goroutine
// the extension starts is its own to end and join by the end of its
// StepStopped.
//
// An error (or a panic) at StepStarting fails the run before the tree
// starts: Run returns it (ExitStartFailed) after giving StepStopped to
// the extensions that had started. At the other steps it is logged and
// the run goes on. One that ends Run's goroutine (runtime.Goexit, as
// t.FailNow does) does not leave the tree running: as for Worker.Ready,
// the tree is stopped (StepStopping, if not given yet) and StepStopped
// given before the goroutine ends; Run does not return.
type Extension interface {
	WorkerPhase(ctx context.Context, p Phase) error
}

// extensions calls the Worker's extensions at each step and remembers how
// many got StepStarting right.
type extensions struct {
	list    []Extension
	log     *zerolog.Logger
	root    service.Service
	started int  // extensions whose StepStarting succeeded
	last    Step // the last step given (begun)
}

// starting gives StepStarting to each extension in order, stopping at the
// first error, which it returns.
func (x *extensions) starting(ctx context.Context) error {
	for _, e := range x.list {
		if err := x.call(ctx, e, StepStarting); err != nil {
			return fmt.Errorf("extension %T: %w", e, err)
		}
		x.started++
	}
	return nil
}

// step gives s (StepRunning, StepStopping) to the started extensions,
// logging errors.
func (x *extensions) step(ctx context.Context, s Step) {
	x.last = s
	for _, e := range x.list[:x.started] {
		x.logged(e, s, x.call(ctx, e, s))
	}
}

// stopped gives StepStopped to the started extensions, in reverse order,
// under ctx.
func (x *extensions) stopped(ctx context.Context) {
	for i := x.started - 1; i >= 0; i-- {
		x.logged(x.list[i], StepStopped, x.call(ctx, x.list[i], StepStopped))
	}
	x.started = 0
}

func (x *extensions) logged(e Extension, s Step, err error) {
	if err != nil {
		logline.Err(x.log.Error, err, fmt.Sprintf("extension %T failed at step %s", e, s))
	}
}

// call calls e at step s, returning its error or its panic as one.
func (x *extensions) call(ctx context.Context, e Extension, s Step) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &service.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return e.WorkerPhase(ctx, Phase{Step: s, Root: x.root, Log: x.log})
}
