package service

import (
	"context"
	"fmt"
)

// CheckHealth runs s's Healthcheck hook (Healthchecker) once, now, and
// says whether s is healthy: the call behind a /healthz or readiness
// handler. It is safe for concurrent use while the tree runs, beside
// monitoring (Config.MonitoringInterval), which calls the same hook: a
// Healthcheck may therefore run on several goroutines at once.
//
// The hook gets a context with ctx's values, cancelled when ctx ends or
// when s's run ends (s stops or crashes). CheckHealth is bounded by ctx:
// if ctx ends before the hook returns (and it does not return within a
// few tens of milliseconds after, as a hook that honours its ctx does),
// CheckHealth returns without it and
// the hook, left running on a goroutine of its own, is logged when it
// returns; until then s's Stop names it in its error (ErrStopTimeout) and a
// supervisor does not start s again beside it. A panic in the hook is recovered into a *PanicError, even under
// a supervisor with PassThroughPanics. No lock is held while it runs.
//
// CheckHealth returns nil when s is Running and its hook returned nil (or
// it has none: a running service without a hook is healthy). Otherwise:
//   - ErrNilService for a nil s (or a typed nil pointer);
//   - ErrNotRunning, naming the state, when s is not Running (Init,
//     Starting, Stopping, Shutdown, Crashed), before or after the hook ran;
//     for a crashed service the error also wraps the crash reason;
//   - ErrUnhealthy wrapping the hook's error (a *PanicError for a panic),
//     or wrapping ctx's error when ctx ended first (the hook is not called
//     when ctx has ended already).
//
// Nothing is crashed or restarted: unlike a failed check under monitoring,
// CheckHealth only reports. A Kubernetes readiness probe can map any error
// to 503; a liveness probe should usually check only that the process
// answers, and leave restarts to the supervisors.
func CheckHealth(ctx context.Context, s Service) error {
	if isNil(s) {
		return ErrNilService
	}
	b := s.base()
	b.mu.Lock()
	r, hooks, self := b.cur, b.hooks, b.selfLocked()
	b.mu.Unlock()
	if err := notRunning(s, r); err != nil {
		return err
	}
	if hooks&hasHealthcheck == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil { // ended already: the hook is not called
		return fmt.Errorf("%w: %s: healthcheck not run: %w", ErrUnhealthy, healthLabel(s), err)
	}
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(r.ctx, cancel)()
	err := b.checkBounded(hctx, ctx, self.(Healthchecker))
	if err := notRunning(s, r); err != nil {
		return err // s stopped or crashed meanwhile: that, not the hook's answer
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrUnhealthy, healthLabel(s), err)
	}
	return nil
}

// healthLabel is s's label for CheckHealth's errors, right even before s
// was handed over (when its Base does not know its outer type yet).
func healthLabel(s Service) string { return labelOf(s, s.base().Config().Name) }

// notRunning returns ErrNotRunning unless s is Running run r.
func notRunning(s Service, r *run) error {
	b := s.base()
	st := b.State()
	if st == Running && r != nil && r.ctx != nil {
		b.mu.Lock()
		same := b.cur == r
		b.mu.Unlock()
		if same {
			return nil
		}
	}
	if st == Crashed && r != nil {
		if reason := r.crashReason(); reason != nil {
			return fmt.Errorf("%w: %s (state %s): %w", ErrNotRunning, healthLabel(s), st, reason)
		}
	}
	return fmt.Errorf("%w: %s (state %s)", ErrNotRunning, healthLabel(s), st)
}

// checkBounded calls hc.Healthcheck(hctx), recovering a panic, and waits
// for it at most until ctx (the caller's) ends; a ctx that cannot end
// costs no goroutine.
func (b *Base) checkBounded(hctx, ctx context.Context, hc Healthchecker) error {
	check := func() (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = newPanicError(v)
			}
		}()
		return hc.Healthcheck(hctx)
	}
	if ctx.Done() == nil {
		return check()
	}
	c := &call{done: make(chan struct{})}
	go func() {
		b.labelGoroutine("Healthcheck") // as a bounded hook call: DumpStacks shows it under s
		err := check()
		if c.state.CompareAndSwap(callRunning, callReturned) {
			c.err = err
			close(c.done)
			return
		}
		close(c.done)
		ev := b.Log().Warn()
		if err != nil {
			ev = ev.Err(err)
		}
		ev.Msg("healthcheck abandoned by CheckHealth returned late")
	}()
	select {
	case <-c.done:
		return c.err
	case <-ctx.Done():
		// A hook that honours its ctx returns a moment after it ends: it
		// is not abandoned for that (as a bounded hook call).
		c.await(abandonGrace)
	}
	if !c.state.CompareAndSwap(callRunning, callAbandoned) {
		<-c.done // returned as ctx ended: its error is set
		return c.err
	}
	// Remembered as stuck: the service's Stop names it while it runs, and
	// a supervisor does not start the service again beside it.
	b.addStuck(pathOf(b)+": Healthcheck (CheckHealth)", c.done, true)
	return fmt.Errorf("healthcheck did not return: %w", ctx.Err())
}
