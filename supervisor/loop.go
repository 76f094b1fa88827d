package supervisor

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/seam"
	"github.com/gomode/mode/strategy"
	"github.com/thejerf/suture/v4"
)

// machinery is what the service engine runs besides the user's hooks.
type machinery struct{ s *Supervisor }

// StartMachinery validates the spec, resets the per-run state (an empty
// intensity window, no pending backoff) and starts the supervisor's one
// goroutine, before the children start.
func (m machinery) StartMachinery(ctx context.Context) error {
	s := m.s
	if err := s.spec.Validate(); err != nil {
		return err
	}
	w, err := strategy.NewWindow(s.spec.intensity())
	if err != nil {
		return err
	}
	s.window = w
	s.now = clock.Stopwatch(s.clock())
	s.backoff = nil
	if s.spec.Backoff.Enabled() {
		if s.backoff, err = strategy.NewBackoffState(s.spec.Backoff); err != nil {
			return err
		}
		s.rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	done := make(chan struct{})
	s.mu.Lock()
	if s.wake == nil {
		s.wake = make(chan struct{}, 1)
	}
	for _, c := range s.pending {
		c.pending = false
	}
	s.pending, s.due = nil, nil
	for _, c := range s.children {
		c.ended = false
	}
	s.loopDone = done
	s.mu.Unlock()
	return s.Go("supervisor", func(ctx context.Context) error {
		defer close(done)
		s.loop(ctx)
		return nil
	})
}

// poke wakes the loop without blocking: a 1-slot channel holds at most one
// pending wakeup, which is all the loop needs to look again.
func poke(wake chan struct{}) {
	select {
	case wake <- struct{}{}:
	default:
	}
}

// StopMachinery cancels pending backoff, wakes the loop and joins it (its
// context is already cancelled, which aborts a child operation in flight)
// before any child is stopped.
func (m machinery) StopMachinery(ctx context.Context) {
	s := m.s
	s.mu.Lock()
	for t := range s.timers {
		t.timer.Stop()
	}
	s.timers = nil
	done, wake := s.loopDone, s.wake
	s.mu.Unlock()
	if done == nil {
		return
	}
	poke(wake)
	select {
	case <-done:
	case <-ctx.Done():
		s.Log().Warn().Msg("supervisor loop did not return within the stop budget")
	}
}

// notify marks c pending and wakes the loop: a non-blocking send on a
// 1-slot channel, so wakeups are never lost nor block the crash path.
func (s *Supervisor) notify(c *child) {
	s.mu.Lock()
	if !c.pending {
		c.pending = true
		s.pending = append(s.pending, c)
	}
	w := s.wake
	s.mu.Unlock()
	poke(w)
}

// loop handles wakeups until its run is cancelled. It waits on the wake
// channel alone, a plain receive being cheaper than a select on every
// restart: whoever cancels the run wakes it too (StopMachinery), and until
// then a wakeup after the cancellation only makes it return.
func (s *Supervisor) loop(ctx context.Context) {
	s.loopCtx, s.detached = ctx, context.WithoutCancel(ctx)
	for {
		<-s.wake
		if ctx.Err() != nil {
			return
		}
		s.ops.Lock()
		s.drain(ctx)
		s.ops.Unlock()
	}
}

// drain handles every exit noted and every backoff that ended before it
// returns, so no exit waits for a later wakeup.
func (s *Supervisor) drain(ctx context.Context) {
	for ctx.Err() == nil {
		s.mu.Lock()
		// Swap the pending list with the batch last handled, so that a
		// steady stream of crashes allocates nothing here.
		batch := s.pending
		s.pending, s.spare = s.spare[:0], batch
		due := s.due
		s.due = nil
		for _, c := range batch {
			c.pending = false
		}
		s.mu.Unlock()
		if len(batch) == 0 && len(due) == 0 {
			return
		}
		for _, c := range batch {
			if ctx.Err() != nil {
				return
			}
			s.handleExit(ctx, c)
		}
		for _, g := range due {
			if ctx.Err() != nil {
				return
			}
			s.restartGroup(ctx, s.present(g))
		}
	}
}

// handleExit applies the strategy to the exit of c.
func (s *Supervisor) handleExit(ctx context.Context, c *child) {
	crash, final, ok := seam.Ops.Exited(c.svc)
	if !ok {
		return // running again (restarted meanwhile) or never ran
	}
	s.mu.Lock()
	present := !c.gone
	if present && crash != nil {
		c.lastReason = crash
	}
	s.mu.Unlock()
	if !present {
		return // removed
	}
	kind := strategy.Normal
	if crash != nil {
		kind = strategy.Crash
		s.Log().Warn().Err(crash).Str("child", c.id).Msg("child crashed")
		s.emit(Event{Kind: ChildCrashed, Child: c.id, Label: c.svc.Label(), Reason: crash, RestartCount: c.restartCount()})
	} else {
		s.Log().Info().Str("child", c.id).Msg("child exited")
		s.emit(Event{Kind: ChildExited, Child: c.id, Label: c.svc.Label(), RestartCount: c.restartCount()})
	}
	if errors.Is(crash, suture.ErrTerminateSupervisorTree) {
		s.giveUp(ctx, crash)
		return
	}
	act, err := s.decide(c, kind, final)
	if err != nil {
		s.giveUp(ctx, err)
		return
	}
	if act.counts && !s.window.Allow(s.now()) {
		reason := crash
		if reason == nil {
			reason = fmt.Errorf("normal exit of %s", c.id)
		}
		s.giveUp(ctx, reason)
		return
	}
	for _, b := range act.stop {
		s.stopChild(ctx, b)
	}
	for _, r := range act.remove {
		s.drop(r)
	}
	if crash == nil && c.spec.Significant && s.significantEnded(c) {
		s.Log().Info().Str("child", c.id).Msg("significant child ended: shutting down")
		_ = s.Stop(ctx) // from inside: finishes on its own goroutine
		return
	}
	if len(act.restart) > 0 {
		s.scheduleGroup(ctx, act.restart)
	}
}

// actions is a strategy.Plan in terms of children, in the order to act:
// stop (reverse start order, the exited child in its place, so every
// member has stopped before any restarts), remove, restart (start order).
type actions struct {
	stop, remove, restart []*child
	counts                bool
}

// decide asks the strategy what the exit of c means. Under one-for-one
// only c is concerned: the plan is made from c alone, so a crash storm
// costs O(crashed), not O(children), and allocates nothing: the plan's
// one-element slices share s.one, valid until the next decision.
func (s *Supervisor) decide(c *child, kind strategy.ExitKind, final bool) (actions, error) {
	typ := c.spec.Restart
	if final && typ == strategy.Permanent {
		typ = strategy.Transient // an exit asking not to be restarted
	}
	if s.spec.Strategy == strategy.OneForOne {
		// strategy.Decide for a lone child, without its allocations.
		s.one[0] = c
		one := s.one[:]
		switch {
		case strategy.ShouldRestart(typ, kind):
			return actions{restart: one, counts: true}, nil // the restart stops it first
		case typ == strategy.Temporary:
			return actions{stop: one, remove: one}, nil
		}
		return actions{stop: one}, nil // a crashed run is cleaned up
	}
	view := s.snapshot()
	idx := slices.Index(view, c)
	types := make([]strategy.RestartType, len(view))
	for i, x := range view {
		types[i] = x.spec.Restart
	}
	types[idx] = typ
	plan, err := strategy.Decide(s.spec.Strategy, types, idx, kind)
	if err != nil {
		return actions{}, err
	}
	pick := func(idx []int) []*child {
		out := make([]*child, 0, len(idx))
		for _, i := range idx {
			out = append(out, view[i])
		}
		return out
	}
	stops := append(slices.Clone(plan.Stop), idx)
	slices.SortFunc(stops, func(a, b int) int { return b - a })
	return actions{stop: pick(stops), remove: pick(plan.Remove), restart: pick(plan.Restart), counts: plan.Counts}, nil
}

// significantEnded records that c ended on its own and reports whether the
// auto-shutdown condition now holds.
func (s *Supervisor) significantEnded(c *child) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.ended = true
	switch s.spec.AutoShutdown {
	case AnySignificant:
		return true
	case AllSignificant:
		for _, x := range s.children {
			if x.spec.Significant && !x.ended {
				return false
			}
		}
		return true
	}
	return false
}

// stopChild stops c as its supervisor, not cancelled by the supervisor's
// own stop (so its tasks are joined, not abandoned).
func (s *Supervisor) stopChild(ctx context.Context, c *child) {
	if err := seam.Ops.Stop(s.detach(ctx), c.svc); err != nil {
		s.Log().Warn().Err(err).Str("child", c.id).Msg("stopping child")
	}
}

// detach returns ctx without its cancellation: the loop's own detached
// context when ctx is the loop's, made once per run.
func (s *Supervisor) detach(ctx context.Context) context.Context {
	if ctx == s.loopCtx {
		return s.detached
	}
	return context.WithoutCancel(ctx)
}

// snapshot returns the children in start order.
func (s *Supervisor) snapshot() []*child {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.children)
}

// present keeps the members of g that are still children.
func (s *Supervisor) present(g []*child) []*child {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := g[:0:0]
	for _, c := range g {
		if slices.Contains(s.children, c) {
			out = append(out, c)
		}
	}
	return out
}
