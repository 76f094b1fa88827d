package supervisor

import (
	"slices"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/logline"
	"github.com/gomode/mode/strategy"
)

// waitGroup is a restart waiting out a backoff: its members, in start
// order, restart together when it is due. The supervisor's goroutine
// changes Supervisor.waiting and the members under s.mu, so that a dump
// reads them; it reads them without.
type waitGroup struct {
	members []*child
	due     time.Time
	timer   clock.Timer
}

// schedule restarts group now or, with backoff, after the delay of the
// child whose exit or failed start caused it (each child has its own
// backoff state). A group that shares a member with one already waiting
// merges with it: each child restarts once, at the later of the two
// times, in start order, so a dependency still starts before what
// depends on it.
func (s *Supervisor) schedule(ls *loopState, group []*child, cause *child) {
	if !s.backs {
		s.restartGroup(ls, group)
		return
	}
	if cause.backoff == nil {
		cause.backoff, _ = strategy.NewBackoffState(s.spec.Backoff) // Validate passed at start
	}
	now := s.now()
	due := now.Add(cause.backoff.Next(now, s.rnd.Float64()))
	members := slices.Clone(group)
	for i := 0; i < len(s.waiting); {
		w := s.waiting[i]
		if !overlaps(w.members, members) {
			i++
			continue
		}
		w.timer.Stop()
		members = append(members, w.members...)
		if w.due.After(due) {
			due = w.due
		}
		s.mu.Lock() // a dump reads s.waiting under s.mu
		s.waiting = slices.Delete(s.waiting, i, i+1)
		s.mu.Unlock()
	}
	members = s.inStartOrder(members)
	d := due.Sub(now)
	if d <= 0 {
		s.restartGroup(ls, members)
		return
	}
	w := &waitGroup{members: members, due: due}
	w.timer = ls.clk.AfterFunc(d, func() {
		s.mu.Lock()
		s.queue = append(s.queue, item{due: w})
		wake := s.wake
		s.mu.Unlock()
		poke(wake)
	})
	s.mu.Lock()
	s.waiting = append(s.waiting, w)
	s.mu.Unlock()
	for _, c := range members {
		c.delay = d
		logline.Dur(s.Log().Info().Str("child", c.ID()).Int("restarts", c.restartCount()), "delay", d).Msg("Restarting child after a backoff")
		svc, _ := c.current()
		s.emit(Event{Kind: BackoffStarted, Child: c.ID(), Label: svc.Label(), RestartCount: c.restartCount(), Delay: d})
	}
}

// due restarts w's members if w still waits (it was not merged or
// cancelled meanwhile).
func (s *Supervisor) due(ls *loopState, w *waitGroup) {
	i := slices.Index(s.waiting, w)
	if i < 0 || ls.halted() {
		return
	}
	s.mu.Lock()
	s.waiting = slices.Delete(s.waiting, i, i+1)
	s.mu.Unlock()
	s.restartGroup(ls, s.inStartOrder(w.members))
}

// unwait takes c out of the restarts waiting out a backoff (it was
// removed, terminated, or restarted by hand).
func (s *Supervisor) unwait(c *child) {
	var done []*waitGroup
	s.mu.Lock()
	for i := 0; i < len(s.waiting); {
		w := s.waiting[i]
		if j := slices.Index(w.members, c); j >= 0 {
			w.members = slices.Delete(w.members, j, j+1)
		}
		if len(w.members) == 0 {
			done = append(done, w)
			s.waiting = slices.Delete(s.waiting, i, i+1)
			continue
		}
		i++
	}
	s.mu.Unlock()
	for _, w := range done {
		w.timer.Stop()
	}
}

// unwaitAll cancels every restart waiting out a backoff.
func (s *Supervisor) unwaitAll() {
	s.mu.Lock()
	waiting := s.waiting
	s.waiting = nil
	s.mu.Unlock()
	for _, w := range waiting {
		w.timer.Stop()
	}
}

// inStartOrder returns the members of g that are still children, without
// duplicates, in start order.
func (s *Supervisor) inStartOrder(g []*child) []*child {
	var out []*child
	for _, c := range s.snapshot() {
		if slices.Contains(g, c) {
			out = append(out, c)
		}
	}
	return out
}

func overlaps(a, b []*child) bool {
	for _, c := range a {
		if slices.Contains(b, c) {
			return true
		}
	}
	return false
}
