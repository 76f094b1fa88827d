package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/rs/zerolog"
)

// restartGroup starts the children of group again, in start order. A
// failed start counts as one more restart; the retry covers what the
// strategy says (strategy.RetryAfterFailedStart), after the failed child's
// backoff if configured. Nothing is left half-started.
func (s *Supervisor) restartGroup(ls *loopState, group []*child) {
	for len(group) > 0 {
		var failed *child
		var ferr error
		for _, c := range group {
			if ls.halted() {
				return
			}
			started, err := s.restartOne(ls, c)
			if err != nil {
				failed, ferr = c, err
				break
			}
			if started {
				s.restarted(c)
			}
		}
		if failed == nil {
			return
		}
		svc, _ := failed.current()
		s.logFailure(s.Log().Warn, failed, ferr, "Restart failed")
		s.emit(Event{Kind: StartFailed, Child: failed.ID(), Label: svc.Label(), Reason: ferr, RestartCount: failed.restartCount()})
		if ls.halted() { // the supervisor stops: it stops the rest
			return
		}
		if errors.Is(ferr, service.ErrStopTimeout) && !s.backs {
			// A task of its last run is still alive after the child's
			// shutdown timeout: retrying at once cannot help.
			s.giveUp(ls, failed, ferr)
			return
		}
		if !s.record(failed, nil, true) { // the failed attempt counts once more
			s.giveUp(ls, failed, ferr)
			return
		}
		kids := s.snapshot()
		idx := make([]int, 0, len(group))
		for _, c := range group {
			if i := slices.Index(kids, c); i >= 0 {
				idx = append(idx, i)
			}
		}
		plan, err := strategy.RetryAfterFailedStart(s.spec.Strategy, idx, slices.Index(kids, failed))
		if err != nil {
			s.giveUp(ls, failed, err)
			return
		}
		s.stopEach(ls, pick(kids, plan.Stop), ls.quiet, s.reportStopErr)
		group = pick(kids, plan.Restart)
		if s.backs {
			s.schedule(ls, group, failed)
			return
		}
	}
}

// restartOne starts c again: a fresh instance from its Replacement, or the
// same instance (stop, reset, OnRestart, start), which waits up to c's
// shutdown timeout for a task of its last run still alive and fails with
// service.ErrStopTimeout if it is. A stop made by the supervisor is never
// reported back; what the stop half returns is reported, not a failure.
// It reports false, and does nothing, for a terminated child.
func (s *Supervisor) restartOne(ls *loopState, c *child) (bool, error) {
	if c.is(flagTerminated) {
		return false, nil
	}
	ls.doing(opRestart, c)
	if c.spec.Replacement != nil {
		return true, s.replace(ls, c, ls.ctx)
	}
	_, h := c.own()
	stopErr, err := h.Restart(ls.quiet, ls.ctx, ls.quiet, c.shutdown(ls.remaining(ls.ctx)))
	s.reportStopErr(c, stopErr)
	return true, err
}

// replace stops c and puts a fresh instance from its Replacement in its
// place, then starts it under ctx.
func (s *Supervisor) replace(ls *loopState, c *child, ctx context.Context) error {
	s.reportStopErr(c, s.stopChild(ls, c, ls.quiet))
	ls.doing(opReplacement, c)
	var fresh service.Service
	if perr := s.callback(func() { fresh = c.spec.Replacement() }); perr != nil {
		return fmt.Errorf("Replacement: %w", perr)
	}
	fh, err := service.Engine(seam.Token{}, fresh)
	if err != nil {
		return fmt.Errorf("Replacement: %w", err)
	}
	_, old := c.current()
	if err := s.self().Replace(old, fh); err != nil {
		return err
	}
	s.mu.Lock()
	c.svc, c.h, c.handled = fresh, fh, 0
	c.set(flagNested, isSupervisor(fresh))
	s.mu.Unlock()
	return fh.Start(ctx, nil, c.shutdown(ls.remaining(ctx)))
}

// restarted records a restart of c: its count, a log line, an event.
func (s *Supervisor) restarted(c *child) {
	c.ended = false // runs again: a significant child has not ended
	c.restarts.Add(1)
	if s.logs(zerolog.InfoLevel) {
		logline.Dur(s.Log().Info().Str("child", c.ID()).Int("restarts", c.restartCount()), "delay", c.delay).Msg("Restarted child")
	}
	c.delay = 0
	if s.listened() { // the event is made only when someone may hear it
		svc, _ := c.own()
		s.emit(Event{Kind: ChildRestarted, Child: c.ID(), Label: svc.Label(), RestartCount: c.restartCount()})
	}
}

// reportStopErr reports what a stop of c the supervisor made for a restart
// (or to clean up an ended run) returned: it never fails the restart.
func (s *Supervisor) reportStopErr(c *child, err error) {
	if err == nil {
		return
	}
	svc, _ := c.current()
	s.logFailure(s.Log().Warn, c, err, "Stopping child for its restart failed")
	s.emit(Event{Kind: StopFailed, Child: c.ID(), Label: svc.Label(), Reason: err, RestartCount: c.restartCount()})
}

// giveUp stops every child in reverse start order and crashes the
// supervisor with ErrMaxRestarts wrapping reason (the failure of child c):
// its own supervisor, if any, sees a crash. The line it logs at Error says
// whether it escalates (it has a parent) or gives up (it is the root).
func (s *Supervisor) giveUp(ls *loopState, c *child, reason error) {
	e := s.Log().Error().Str("child", c.ID())
	msg := "Giving up: restart intensity exceeded"
	if p, ok := s.Node().Parent().Value().(service.Service); ok {
		e, msg = e.Str("escalate_to", p.ShortLabel()), "Escalating: restart intensity exceeded"
	}
	logline.Err(func() *zerolog.Event { return e }, reason, msg)
	s.emit(Event{Kind: MaxRestartsExceeded, Reason: reason})
	s.unwaitAll()
	kids := s.snapshot()
	slices.Reverse(kids)
	s.stopEach(ls, kids, ls.quiet, nil)
	s.Crash(&maxRestartsError{sup: s.ShortLabel(), child: c.named(reason), in: s.spec.intensity().Normalize(), reason: reason})
}

// logFailure logs what a start or stop of c returned: one line per error
// it joins, with the stack of a panic among them (once, see logline.Stack).
func (s *Supervisor) logFailure(level func() *zerolog.Event, c *child, err error, msg string) {
	logline.Err(func() *zerolog.Event {
		e := level().Str("child", c.ID())
		var pe *service.PanicError
		if e.Enabled() && errors.As(err, &pe) {
			e = logline.Stack(e, pe.Stack)
		}
		return e
	}, err, msg)
}

// named returns c's ID, or "" when reason's text starts with c's ID or
// label already (so the text does not say it twice).
func (c *child) named(reason error) string {
	if reason == nil {
		return c.ID()
	}
	r := reason.Error()
	svc, _ := c.current()
	for _, n := range []string{c.ID(), svc.ShortLabel(), svc.Label()} {
		if strings.HasPrefix(r, n+": ") {
			return ""
		}
	}
	return c.ID()
}
