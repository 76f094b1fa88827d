package supervisor

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
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
		s.Log().Warn().Err(ferr).Str("child", failed.id).Msg("restart failed")
		s.emit(Event{Kind: StartFailed, Child: failed.id, Label: svc.Label(), Reason: ferr, RestartCount: failed.restartCount()})
		if ls.halted() { // the supervisor stops: it stops the rest
			return
		}
		if errors.Is(ferr, service.ErrStopTimeout) && !s.spec.Backoff.Enabled() {
			// A task of its last run is still alive after the child's
			// shutdown timeout: retrying at once cannot help.
			s.giveUp(ls, ferr)
			return
		}
		if !s.allow() {
			s.giveUp(ls, ferr)
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
			s.giveUp(ls, err)
			return
		}
		for _, i := range plan.Stop {
			s.reportStopErr(kids[i], s.stopChild(ls, kids[i], ls.quiet))
		}
		group = group[:0:0]
		for _, i := range plan.Restart {
			group = append(group, kids[i])
		}
		if s.spec.Backoff.Enabled() {
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
	s.mu.Lock()
	terminated := c.terminated
	s.mu.Unlock()
	if terminated {
		return false, nil
	}
	ls.doing(opRestart, c)
	if c.spec.Replacement != nil {
		return true, s.replace(ls, c, ls.ctx)
	}
	_, h := c.current()
	stopErr, err := h.Restart(ls.quiet, ls.ctx, c.shutdown(ls.remaining(ls.ctx)))
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
	c.svc, c.h, c.nested, c.handled = fresh, fh, isSupervisor(fresh), 0
	s.mu.Unlock()
	return fh.Start(ctx, c.shutdown(ls.remaining(ctx)))
}

// restarted records a restart of c: its count, a log line, an event.
func (s *Supervisor) restarted(c *child) {
	c.ended = false // runs again: a significant child has not ended
	c.restarts.Add(1)
	svc, _ := c.current()
	s.Log().Info().Str("child", c.id).Int("restarts", c.restartCount()).Msg("child restarted")
	s.emit(Event{Kind: ChildRestarted, Child: c.id, Label: svc.Label(), RestartCount: c.restartCount()})
}

// reportStopErr reports what a stop of c the supervisor made for a restart
// (or to clean up an ended run) returned: it never fails the restart.
func (s *Supervisor) reportStopErr(c *child, err error) {
	if err == nil {
		return
	}
	svc, _ := c.current()
	s.Log().Warn().Err(err).Str("child", c.id).Msg("stopping child for its restart")
	s.emit(Event{Kind: StopFailed, Child: c.id, Label: svc.Label(), Reason: err, RestartCount: c.restartCount()})
}

// giveUp stops every child in reverse start order and crashes the
// supervisor with ErrMaxRestarts wrapping reason: its own supervisor, if
// any, sees a crash.
func (s *Supervisor) giveUp(ls *loopState, reason error) {
	s.Log().Error().Err(reason).Msg("restart intensity exceeded: giving up")
	s.emit(Event{Kind: MaxRestartsExceeded, Reason: reason})
	s.unwaitAll()
	kids := s.snapshot()
	for i := len(kids) - 1; i >= 0; i-- {
		_ = s.stopChild(ls, kids[i], ls.quiet)
	}
	s.Crash(fmt.Errorf("%w: %s: %w", ErrMaxRestarts, s.ShortLabel(), reason))
}
