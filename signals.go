package mode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gomode/mode/graph"
	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// runner is one Run of a Worker: the tree's three phases (start, run,
// stop), each listening to the signals.
type runner struct {
	w       *Worker
	log     *zerolog.Logger
	root    service.Service
	stopSig chan os.Signal // stop signals, buffered
	dumpSig chan os.Signal // dump signals, buffered (one pending dump is enough)
	signals int            // stop signals received so far
	forced  bool           // Run returned on a second signal, abandoning the tree
	ext     extensions
	stopBy  time.Time     // the stop's deadline, once it has begun (stopContext)
	writing chan struct{} // holds a token while a write to DumpTo is in progress
}

// minExtensionsStop is the least time StepStopped gets, even when the
// tree's stop has used the whole budget: enough to close a listener.
const minExtensionsStop = time.Second

// stopContext returns a context carrying the stop's deadline: StopTimeout
// from the first call, shared by StepStopping, the tree's stop and
// StepStopped (which gets at least min), so that the whole stop fits the
// budget a process manager gives (Kubernetes' grace period).
func (r *runner) stopContext(ctx context.Context, min time.Duration) (context.Context, context.CancelFunc) {
	r.stopBegins()
	return context.WithDeadline(context.WithoutCancel(ctx), maxTime(r.stopBy, time.Now().Add(min)))
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// stopBegins sets the stop's deadline, unless set: StopTimeout from now.
// A stop asked during the start (its rollback, then StepStopped) counts
// from the asking.
func (r *runner) stopBegins() {
	if r.stopBy.IsZero() {
		r.stopBy = time.Now().Add(r.w.stopTimeout())
	}
}

// stepStopping gives StepStopping to the extensions, under the stop's
// deadline.
func (r *runner) stepStopping(ctx context.Context) {
	sctx, cancel := r.stopContext(ctx, 0)
	defer cancel()
	r.ext.step(sctx, StepStopping)
}

// run takes the extensions and the tree through their steps and returns
// Run's error.
func (r *runner) run(ctx context.Context) (err error) {
	returned := false
	defer func() { // deferred: also when Ready or an extension ends the goroutine (runtime.Goexit)
		if !returned && !r.forced {
			r.goexit(ctx)
		}
		if !r.forced {
			switch ferr := r.stopExtensions(ctx); {
			case r.forced:
				err = ferr
			case ferr != nil: // StepStopped abandoned: the later phase wins
				logline.Err(r.log.Error, ferr, "the extensions' stop did not finish within its budget")
				err = withCode(ExitStopTimeout, errors.Join(err, ferr))
			}
		}
	}()
	err = r.runSteps(ctx)
	returned = true
	return err
}

// stopExtensions gives StepStopped to the extensions that started, on a
// goroutine, bounded by the stop timeout, and waits for it, dumping on
// dump signals. It is part of the stop: on a second stop signal it returns
// ErrForcedExit without waiting. An extension that ignores its ctx is
// abandoned shortly after the deadline (service.ErrStopTimeout), as the
// tree's own hooks are: the whole stop returns by the budget.
func (r *runner) stopExtensions(ctx context.Context) error {
	if r.ext.started == 0 {
		return nil
	}
	return r.stopping(ctx, minExtensionsStop, "the extensions' stop",
		"signal while the extensions stop: stopping (send it again to exit at once)",
		func(sctx context.Context) error {
			done := make(chan struct{})
			go func() { defer close(done); r.ext.stopped(sctx) }()
			select {
			case <-done:
				return nil
			case <-sctx.Done():
			}
			select {
			case <-done:
				return nil
			case <-time.After(extensionsSlack):
				return fmt.Errorf("%w: an extension's StepStopped did not return (abandoned)", service.ErrStopTimeout)
			}
		})
}

// extensionsSlack is how long past its deadline an extension's StepStopped
// may take before it is abandoned.
const extensionsSlack = 100 * time.Millisecond

// runSteps starts the extensions, then runs the tree.
func (r *runner) runSteps(ctx context.Context) error {
	if err := r.ext.starting(ctx); err != nil {
		logline.Err(r.log.Error, err, "start failed")
		return withCode(ExitStartFailed, err)
	}
	return r.runTree(ctx)
}

// goexit stops the tree, if it runs, as Run's goroutine ends without
// returning (Ready or an extension called runtime.Goexit, as t.FailNow
// does): the tree must not outlive Run, nor StepStopped come before its
// stop. The extensions get StepStopping first unless they had it.
func (r *runner) goexit(ctx context.Context) {
	if stillRunning(r.root) == nil {
		return
	}
	r.log.Error().Msg("Run's goroutine ended (runtime.Goexit in Ready or an extension): stopping")
	if r.ext.last < StepStopping {
		r.stepStopping(ctx)
	}
	if err := r.stop(ctx); err != nil {
		logline.Err(r.log.Error, err, "stop did not finish cleanly")
	}
}

// runTree takes the tree through its phases and returns Run's error.
func (r *runner) runTree(ctx context.Context) error {
	asked, err := r.start(ctx)
	if r.forced {
		service.Retire(seam.Token{}, r.root) // as the stop does (see stop)
		return err
	}
	if err != nil {
		return r.startFailed(ctx, asked, err)
	}
	r.log.Info().Str("service", r.root.ShortLabel()).Int("pid", os.Getpid()).Msg("worker started")
	r.ext.step(ctx, StepRunning)
	var crash error
	if asked { // the stop signal or ctx came as the start completed: not lost
		r.log.Info().Msg("stop requested during the start, which completed: stopping")
	} else if crash = r.ready(ctx); crash == nil {
		crash = r.wait(ctx)
	}
	r.stepStopping(ctx)
	stopErr := r.stop(ctx)
	if r.forced {
		return stopErr
	}
	switch {
	case stopErr != nil && errors.Is(stopErr, service.ErrStopTimeout):
		logline.Err(r.log.Error, stopErr, "stop did not finish within its budget")
		return withCode(ExitStopTimeout, errors.Join(crash, stopErr))
	case stopErr != nil:
		logline.Err(r.log.Error, stopErr, "stop did not finish cleanly")
		return withCode(ExitFailure, errors.Join(crash, stopErr))
	case crash != nil:
		r.log.Info().Msg("worker stopped after a crash")
		return withCode(ExitFailure, crash)
	}
	r.log.Info().Msg("worker stopped")
	return nil
}

// start starts the tree on a goroutine under a ctx that a stop signal
// cancels (a start waiting on a slow dependency ends, and is rolled back,
// on SIGTERM), and waits for it, dumping on dump signals. asked says that
// a stop was requested during the start. On a second stop signal it
// returns ErrForcedExit without waiting.
func (r *runner) start(ctx context.Context) (asked bool, err error) {
	sctx, cancel := context.WithCancel(service.WithLogger(ctx, r.log)) // the tree logs where the Worker does
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- service.Start(sctx, r.root) }()
	ctxDone := ctx.Done()
	for {
		select {
		case err := <-done:
			// ctx may have ended just as the start gave up because of it.
			return asked || (err != nil && ctx.Err() != nil), err
		case <-ctxDone:
			ctxDone = nil
			asked = true
			r.stopBegins()
			r.log.Info().Msg("context done during the start: cancelling the start")
		case sig := <-r.stopSig:
			if r.signals++; r.signals > 1 {
				return asked, r.forceExit(sig, "start")
			}
			asked = true
			r.stopBegins()
			r.log.Info().Str("signal", sig.String()).Msg("signal during the start: cancelling the start (send it again to exit at once)")
			cancel()
		case <-r.dumpSig:
			r.dump()
		}
	}
}

// startFailed is Run's outcome of a start that returned err. A rollback
// that ran out of its budget (code it abandoned still runs) makes it a stop
// timeout, whether the start was cancelled or failed: the later phase wins.
func (r *runner) startFailed(ctx context.Context, asked bool, err error) error {
	// As the stop does (see stop); but a root started elsewhere (its
	// owner's, which the Worker never ran) is left alone, as abandoned does.
	if !errors.Is(err, service.ErrAlreadyStarted) {
		service.Retire(seam.Token{}, r.root)
	}
	left := r.abandoned(ctx, err)
	switch {
	case left != nil || (asked && errors.Is(err, service.ErrStopTimeout)):
		err = errors.Join(err, left)
		logline.Err(r.log.Error, err, "start rolled back; code that did not return was abandoned")
		return withCode(ExitStopTimeout, err)
	case asked:
		logline.Err(r.log.Info, err, "start cancelled and rolled back: worker stopped")
		return nil
	}
	logline.Err(r.log.Error, err, "start failed")
	return withCode(ExitStartFailed, err)
}

// abandoned returns service.ErrStopTimeout naming what the rollback of a
// start that returned err abandoned and that still runs, or nil: services
// of the tree left neither in Init nor Shutdown (a supervisor still busy
// with a child's stop), and code the root's Stop, back in Init, names (it
// does nothing else then). A root that was not in Init (started
// elsewhere) is left alone.
func (r *runner) abandoned(ctx context.Context, err error) error {
	if errors.Is(err, service.ErrAlreadyStarted) || r.root.State() != service.Init {
		return nil
	}
	stuck := r.root.Stop(context.WithoutCancel(ctx))
	if left := stillRunning(r.root); left != nil {
		return errors.Join(fmt.Errorf("%w: the rollback abandoned %s", service.ErrStopTimeout, strings.Join(left, ", ")), stuck)
	}
	return stuck
}

// stop stops the tree on a goroutine, bounded by the stop timeout, and
// waits for it, dumping on dump signals. On a second stop signal it
// returns ErrForcedExit without waiting.
func (r *runner) stop(ctx context.Context) error {
	// From now on the root's own Start and Restart return ErrStopped: a
	// Restart once this stop has returned would run the tree on after Run.
	service.Retire(seam.Token{}, r.root)
	err := r.stopping(ctx, 0, "stop",
		"signal during the stop: already stopping (send it again to exit at once)", r.root.Stop)
	if err != nil && !r.forced && !errors.Is(err, service.ErrStopTimeout) && errors.Is(err, context.DeadlineExceeded) {
		// The budget ended as the stop waited (for a hung Restart of the
		// root, say): a stop timeout too, whatever ran out first.
		err = fmt.Errorf("%w: %w", service.ErrStopTimeout, err)
	}
	return err
}

// stopping runs fn on a goroutine under the stop's deadline (at least min
// from now) and waits for it, dumping on dump signals and logging note on
// a first stop signal. On a second one it returns ErrForcedExit naming
// what as still running, without waiting.
func (r *runner) stopping(ctx context.Context, min time.Duration, what, note string, fn func(context.Context) error) error {
	sctx, cancel := r.stopContext(ctx, min)
	defer cancel() // after a forced exit, tells the abandoned stop to hurry
	done := make(chan error, 1)
	go func() {
		var err error
		defer func() { done <- err }() // deferred: also when fn ends the goroutine (runtime.Goexit)
		err = fn(sctx)
	}()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-r.stopSig:
			if r.signals++; r.signals > 1 {
				return r.forceExit(sig, what)
			}
			r.log.Info().Str("signal", sig.String()).Msg(note)
		case <-r.dumpSig:
			r.dump()
		}
	}
}

// forceExit writes what is still running to DumpTo, logs it and returns
// the ErrForcedExit error naming it; what (the start or the stop) is left
// running, abandoned.
func (r *runner) forceExit(sig os.Signal, what string) error {
	r.forced = true
	left := stillRunning(r.root)
	if left == nil {
		left = []string{"nothing"}
	}
	r.write("=== forced exit on "+sig.String()+": "+what+" abandoned; still running: "+
		strings.Join(left, ", ")+" ===\n"+service.Dump(r.root)+"\n", true)
	err := fmt.Errorf("%w (%s): %s abandoned; still running: %s", ErrForcedExit, sig, what, strings.Join(left, ", "))
	logline.Err(r.log.Error, err, "forced exit")
	return withCode(ExitForced, err)
}

// stillRunning lists the services of the tree at root that have not
// stopped, as "label [state]" in tree order; nil if none.
func stillRunning(root service.Service) []string {
	var left []string
	root.Node().Walk(func(n *graph.Node, _ int) bool {
		if s, ok := n.Value().(service.Service); ok {
			if st := s.State(); st != service.Init && st != service.Shutdown {
				left = append(left, s.Label()+" ["+st.String()+"]")
			}
		}
		return true
	})
	return left
}

// crashError is Run's error for a crashed tree: "<root> crashed: <reason>",
// naming the root once when the reason names it already (a Func's exit, a
// supervisor that gave up).
type crashError struct {
	root   string
	reason error
}

func (e *crashError) Error() string {
	return e.root + " crashed: " + strings.TrimPrefix(e.reason.Error(), e.root+": ")
}

func (e *crashError) Unwrap() error { return e.reason }
