package mode

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
)

// ready calls Worker.Ready; a panic in it is a crash of the tree (it
// stops, ExitFailure) instead of leaving the tree running. If Ready ends
// the goroutine (runtime.Goexit), the tree is stopped before it ends.
func (r *runner) ready(ctx context.Context) (crash error) {
	if r.w.Ready == nil {
		return nil
	}
	returned := false
	defer func() {
		if v := recover(); v != nil {
			pe := &service.PanicError{Value: v, Stack: debug.Stack()}
			crash = fmt.Errorf("Ready: %w", pe)
			logline.Stack(r.log.Error(), pe.Stack).Err(crash).Msg("Ready panicked: stopping")
		} else if !returned {
			r.log.Error().Msg("Ready ended the goroutine (runtime.Goexit): stopping")
			r.goexit(ctx)
		}
	}()
	r.w.Ready()
	returned = true
	return nil
}

// wait waits while the tree runs, dumping on dump signals, until ctx
// ends, a stop signal arrives or the root's run ends. It returns the
// crash, if the root crashed. The root's own Restart is no end: its stop
// half closes the run's Done, and wait goes on with the new run once the
// restart has started it again; a Restart that leaves the root down is a
// crash (see Worker.Run), a Stop (one that aborts a Restart included) a
// normal end.
func (r *runner) wait(ctx context.Context) error {
	var done, restart <-chan struct{} // the root's run's Done; a Restart's end
	var restartErr func() error
	var failed error // the last Restart's error, once wait saw it end
	look := true     // look at the root first: a Restart may have begun already
	for {
		if !look {
			select {
			case <-ctx.Done():
				r.log.Info().Msg("context done: stopping")
				return nil
			case sig := <-r.stopSig:
				r.signals++
				r.log.Info().Str("signal", sig.String()).Msg("signal: stopping (send it again to exit at once)")
				return nil
			case <-r.dumpSig:
				r.dump()
				continue
			case <-restart:
				failed = restartErr()
			case <-done:
			}
		}
		look = false
		// The root's run, or a Restart of it, has ended (or wait begins):
		// look at the root.
		if why := r.root.CrashReason(); why != nil {
			logline.Err(r.log.Error, why, "tree crashed: stopping")
			return &crashError{root: r.root.ShortLabel(), reason: why}
		}
		var st service.State
		var busy, down bool
		restart, restartErr, st, busy, done, down = service.Restarting(seam.Token{}, r.root)
		if restart != nil {
			done = nil // (again) restarting: wait for it
			continue
		}
		if st == service.Running && !busy {
			failed = nil
			continue // running (again): wait on its run's Done
		}
		if !down {
			r.log.Info().Msg("tree ended: stopping")
			return nil
		}
		if failed == nil { // over before wait could look
			failed = fmt.Errorf("a Restart left it %s", st)
		}
		logline.Err(r.log.Error, failed, "tree restart failed: stopping")
		return &crashError{root: r.root.ShortLabel(), reason: failed}
	}
}
