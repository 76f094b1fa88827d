package mode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/gomode/mode/graph"
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
}

// run takes the tree through its phases and returns Run's error.
func (r *runner) run(ctx context.Context) error {
	asked, err := r.start(ctx)
	if r.forced {
		return err
	}
	if err != nil {
		return r.startFailed(asked, err)
	}
	r.log.Info().Str("service", r.root.ShortLabel()).Int("pid", os.Getpid()).Msg("worker started")
	crash := r.ready()
	if crash == nil {
		crash = r.wait(ctx)
	}
	stopErr := r.stop(ctx)
	if r.forced {
		return stopErr
	}
	switch {
	case stopErr != nil && errors.Is(stopErr, service.ErrStopTimeout):
		r.log.Error().Err(stopErr).Msg("stop did not finish within its budget")
		return withCode(ExitStopTimeout, errors.Join(crash, stopErr))
	case stopErr != nil:
		r.log.Error().Err(stopErr).Msg("stop did not finish cleanly")
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
			r.log.Info().Msg("context done during the start: cancelling the start")
		case sig := <-r.stopSig:
			if r.signals++; r.signals > 1 {
				return asked, r.forceExit(sig, "start")
			}
			asked = true
			r.log.Info().Str("signal", sig.String()).Msg("signal during the start: cancelling the start (send it again to exit at once)")
			cancel()
		case <-r.dumpSig:
			r.w.dump()
		}
	}
}

// startFailed is Run's outcome of a start that returned err.
func (r *runner) startFailed(asked bool, err error) error {
	switch {
	case asked && errors.Is(err, service.ErrStopTimeout):
		r.log.Error().Err(err).Msg("start cancelled; code that did not return was abandoned")
		return withCode(ExitStopTimeout, err)
	case asked:
		r.log.Info().Err(err).Msg("start cancelled and rolled back: worker stopped")
		return nil
	}
	r.log.Error().Err(err).Msg("start failed")
	return withCode(ExitStartFailed, err)
}

// ready calls Worker.Ready; a panic in it is a crash of the tree (it
// stops, ExitFailure) instead of leaving the tree running.
func (r *runner) ready() (crash error) {
	if r.w.Ready == nil {
		return nil
	}
	defer func() {
		if v := recover(); v != nil {
			crash = fmt.Errorf("Ready: %w", &service.PanicError{Value: v, Stack: debug.Stack()})
			r.log.Error().Err(crash).Msg("Ready panicked: stopping")
		}
	}()
	r.w.Ready()
	return nil
}

// wait waits while the tree runs, dumping on dump signals, until ctx
// ends, a stop signal arrives or the root's run ends. It returns the
// crash, if the root crashed.
func (r *runner) wait(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			r.log.Info().Msg("context done: stopping")
			return nil
		case sig := <-r.stopSig:
			r.signals++
			r.log.Info().Str("signal", sig.String()).Msg("signal: stopping (send it again to exit at once)")
			return nil
		case <-r.dumpSig:
			r.w.dump()
		case <-r.root.Done():
			why := r.root.CrashReason()
			if why == nil {
				r.log.Info().Msg("tree ended: stopping")
				return nil
			}
			r.log.Error().Err(why).Msg("tree crashed: stopping")
			return fmt.Errorf("%s crashed: %w", r.root.ShortLabel(), why)
		}
	}
}

// stop stops the tree on a goroutine, bounded by the stop timeout, and
// waits for it, dumping on dump signals. On a second stop signal it
// returns ErrForcedExit without waiting.
func (r *runner) stop(ctx context.Context) error {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), r.w.stopTimeout())
	defer cancel() // after a forced exit, tells the abandoned stop to hurry
	done := make(chan error, 1)
	go func() { done <- r.root.Stop(sctx) }()
	for {
		select {
		case err := <-done:
			return err
		case sig := <-r.stopSig:
			if r.signals++; r.signals > 1 {
				return r.forceExit(sig, "stop")
			}
			r.log.Info().Str("signal", sig.String()).Msg("signal during the stop: already stopping (send it again to exit at once)")
		case <-r.dumpSig:
			r.w.dump()
		}
	}
}

// forceExit writes what is still running to DumpTo, logs it and returns
// the ErrForcedExit error naming it; what (the start or the stop) is left
// running, abandoned.
func (r *runner) forceExit(sig os.Signal, what string) error {
	r.forced = true
	left := stillRunning(r.root)
	out := r.w.dumpTo()
	_, _ = io.WriteString(out, "=== forced exit on "+sig.String()+": "+what+" abandoned; still running: "+
		strings.Join(left, ", ")+" ===\n"+service.Dump(r.root)+"\n")
	err := fmt.Errorf("%w (%s): %s abandoned; still running: %s", ErrForcedExit, sig, what, strings.Join(left, ", "))
	r.log.Error().Err(err).Msg("forced exit")
	return withCode(ExitForced, err)
}

// stillRunning lists the services of the tree at root that have not
// stopped, as "label [state]" in tree order; "nothing" if none.
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
	if len(left) == 0 {
		left = append(left, "nothing")
	}
	return left
}
