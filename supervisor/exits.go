package supervisor

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gomode/mode/strategy"
	"github.com/rs/zerolog"
	"github.com/thejerf/suture/v4"
)

// handleExit applies the strategy to the exit c queued, unless it was
// handled already (its run was stopped or restarted by a decision since),
// or the child runs again.
func (s *Supervisor) handleExit(ls *loopState, c *child) {
	if ls.halted() {
		return
	}
	_, h := c.own()
	e := h.Exit()
	if !e.Ended || e.Run <= c.handled {
		return
	}
	c.handled = e.Run
	ls.doing(opExit, c) // its events run user code (OnEvent)
	s.applyExit(ls, c, e.Reason, e.Final)
}

// applyExit decides what the exit of c (a crash when crash is set, else
// normal; final: not to be restarted) means, and does it: stop, remove,
// restart (now or after a backoff), or give up.
func (s *Supervisor) applyExit(ls *loopState, c *child, crash error, final bool) {
	if c.is(flagGone) {
		return
	}
	kind := strategy.Normal
	if crash != nil {
		kind = strategy.Crash
	}
	act, err := s.decide(c, kind, final)
	allowed := s.record(c, crash, act.counts)
	if len(act.stop) == 0 && (len(act.restart) == 0 || s.backs) {
		// The ended run is cleaned up first, so that whoever reads the
		// event finds the child down. A group stops it in its place, a
		// restart at once as its first step.
		s.reportStopErr(c, s.stopChild(ls, c, ls.quiet))
		ls.doing(opExit, c) // the stop is done: its events run user code
	}
	s.exited(c, crash)
	if ls.halted() {
		// OnEvent crashed the supervisor, or a Stop came while the
		// crashed child was stopped: the supervisor's stop takes over (no
		// give-up, no removal), whether or not anyone listened.
		return
	}
	if errors.Is(crash, suture.ErrTerminateSupervisorTree) {
		s.giveUp(ls, c, crash)
		return
	}
	if err != nil {
		s.giveUp(ls, c, err)
		return
	}
	if !allowed {
		reason := crash
		if reason == nil {
			reason = fmt.Errorf("%s: exited normally", c.ID())
		}
		s.giveUp(ls, c, reason)
		return
	}
	s.stopEach(ls, act.stop, ls.quiet, s.reportStopErr)
	if len(act.stop) > 0 && len(act.remove) > 0 {
		ls.doing(opExit, c) // the stops are done: ChildRemoved runs user code
	}
	for _, x := range act.remove {
		s.drop(x, true)
	}
	if c.spec.Significant && (crash == nil || c.spec.Restart == strategy.Temporary) && s.significantEnded(c) {
		s.Log().Info().Str("child", c.ID()).Msg("Significant child ended: shutting down")
		_ = s.Stop(ls.ctx) // from inside (ls.ctx is marked with the run): it is queued
		return
	}
	if len(act.restart) > 0 {
		s.schedule(ls, act.restart, c)
	}
}

// exited logs and emits the exit of c (a crash when crash is set). The
// crash itself is logged at Error by the child that crashed. The line and
// the event are made only when written or heard: a restart nobody watches
// formats nothing.
func (s *Supervisor) exited(c *child, crash error) {
	kind, lvl, msg := ChildExited, zerolog.InfoLevel, "Child exited"
	if crash != nil {
		kind, lvl, msg = ChildCrashed, zerolog.DebugLevel, "Child crashed"
	}
	if s.logs(lvl) {
		s.Log().WithLevel(lvl).Err(crash).Str("child", c.ID()).Msg(msg)
	}
	if s.listened() {
		svc, _ := c.own()
		s.emit(Event{Kind: kind, Child: c.ID(), Label: svc.Label(), Reason: crash, RestartCount: c.restartCount()})
	}
}

// actions is a strategy.Plan in terms of children, in the order to act:
// stop (reverse start order; the exited child, stopped already, in its
// place), remove, restart (start order).
type actions struct {
	stop, remove, restart []*child
	counts                bool
}

// decide asks the strategy what the exit of c means. Under one-for-one
// only c is concerned: the plan is made from c alone, so a crash storm
// costs O(crashed), not O(children).
func (s *Supervisor) decide(c *child, kind strategy.ExitKind, final bool) (actions, error) {
	typ := c.spec.Restart
	if final && typ == strategy.Permanent {
		typ = strategy.Transient // an exit asking not to be restarted
	}
	if s.spec.Strategy == strategy.OneForOne {
		s.one[0] = c // valid until the next decision: the plan allocates nothing
		one := s.one[:]
		switch {
		case strategy.ShouldRestart(typ, kind):
			return actions{restart: one, counts: true}, nil
		case typ == strategy.Temporary:
			return actions{remove: one}, nil
		}
		return actions{}, nil
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
	stops := append(slices.Clone(plan.Stop), idx)
	slices.SortFunc(stops, func(a, b int) int { return b - a })
	return actions{stop: pick(view, stops), remove: pick(view, plan.Remove), restart: pick(view, plan.Restart), counts: plan.Counts}, nil
}

// pick returns the children of view at the indices of a strategy.Plan, in
// the plan's order.
func pick(view []*child, idx []int) []*child {
	out := make([]*child, 0, len(idx))
	for _, i := range idx {
		out = append(out, view[i])
	}
	return out
}

// significantEnded records that c ended on its own and reports whether the
// auto-shutdown condition now holds.
func (s *Supervisor) significantEnded(c *child) bool {
	c.ended = true
	switch s.spec.AutoShutdown {
	case AnySignificant:
		return true
	case AllSignificant:
		for _, x := range s.snapshot() {
			if x.spec.Significant && !x.ended {
				return false
			}
		}
		return true
	}
	return false
}
