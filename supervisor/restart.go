package supervisor

import (
	"context"
	"fmt"
	"slices"

	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/strategy"
)

// restartGroup starts the children of group, in order. A failed start
// counts as one more restart; the retry covers what the strategy says
// (strategy.RetryAfterFailedStart), after backoff if configured. Nothing is
// left half-started.
func (s *Supervisor) restartGroup(ctx context.Context, group []*child) {
	for len(group) > 0 {
		var failed *child
		var ferr error
		for _, c := range group {
			if ctx.Err() != nil {
				return
			}
			started, err := s.restartOne(ctx, c)
			if err != nil {
				failed, ferr = c, err
				break
			}
			if !started {
				continue
			}
			c.restarts.Add(1)
			s.Log().Info().Str("child", c.id).Int("restarts", c.restartCount()).Msg("child restarted")
			s.emit(Event{Kind: ChildRestarted, Child: c.id, Label: c.svc.Label(), RestartCount: c.restartCount()})
			// A Func's function starts now, after the bookkeeping, and
			// before the next child of the group starts (it may need it).
			seam.Ops.Launch(c.svc)
		}
		if failed == nil || ctx.Err() != nil {
			return
		}
		s.Log().Warn().Err(ferr).Str("child", failed.id).Msg("restart failed")
		s.emit(Event{Kind: StartFailed, Child: failed.id, Label: failed.svc.Label(), Reason: ferr, RestartCount: failed.restartCount()})
		if !s.window.Allow(s.now()) {
			s.giveUp(ctx, ferr)
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
			s.giveUp(ctx, err)
			return
		}
		for _, i := range plan.Stop {
			s.stopChild(ctx, kids[i])
		}
		group = group[:0:0]
		for _, i := range plan.Restart {
			group = append(group, kids[i])
		}
		if s.backoff != nil {
			s.scheduleGroup(ctx, group)
			return
		}
	}
}

// restartOne starts c again: a fresh instance from its Replacement, or the
// same instance (Stop, reset, OnRestart, Start) unless a task of its last
// run is still alive, which fails the attempt with service.ErrStopTimeout.
// A restarted Func's function is held: the caller launches it
// (seam.Ops.Launch) once it has recorded the restart.
// A stop made by the supervisor is never reported back, so the restart's
// own stop is quiet too.
// It reports false, and does nothing, for a terminated child.
func (s *Supervisor) restartOne(ctx context.Context, c *child) (bool, error) {
	if c.terminated.Load() {
		return false, nil
	}
	if c.spec.Replacement != nil {
		s.stopChild(ctx, c)
		fresh := c.spec.Replacement()
		if fresh == nil {
			return false, fmt.Errorf("%w: Replacement of %q returned nil", ErrNilChild, c.id)
		}
		if err := seam.Ops.Replace(s, c.svc, fresh); err != nil {
			return false, err
		}
		s.mu.Lock()
		c.svc = fresh
		s.mu.Unlock()
		return true, seam.Ops.Restart(ctx, fresh, true)
	}
	// Restart stops c if it has not stopped yet, and refuses to start it
	// while a task of its last run is alive (service.ErrStopTimeout).
	return true, seam.Ops.Restart(ctx, c.svc, true)
}

// giveUp stops every child in reverse start order and crashes the
// supervisor with ErrMaxRestarts wrapping reason: its own supervisor, if
// any, sees a crash.
func (s *Supervisor) giveUp(ctx context.Context, reason error) {
	s.Log().Error().Err(reason).Msg("restart intensity exceeded: giving up")
	s.emit(Event{Kind: MaxRestartsExceeded, Reason: reason})
	kids := s.snapshot()
	for i := len(kids) - 1; i >= 0; i-- {
		s.stopChild(ctx, kids[i])
	}
	s.Crash(fmt.Errorf("%w: %s: %w", ErrMaxRestarts, s.ShortLabel(), reason))
}
