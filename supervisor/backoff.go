package supervisor

import (
	"context"
	"slices"

	"github.com/gomode/mode/internal/clock"
)

// scheduleGroup restarts group now or, with backoff, after a delay that
// never blocks the loop.
func (s *Supervisor) scheduleGroup(ctx context.Context, group []*child) {
	if s.backoff == nil {
		s.restartGroup(ctx, group)
		return
	}
	d := s.backoff.Next(s.now(), s.rnd.Float64())
	if d <= 0 {
		s.restartGroup(ctx, group)
		return
	}
	group = slices.Clone(group) // it outlives this decision (see decide)
	pt := &pendingTimer{}
	s.mu.Lock()
	if s.timers == nil {
		s.timers = make(map[*pendingTimer]struct{})
	}
	s.timers[pt] = struct{}{}
	pt.timer = s.clock().AfterFunc(d, func() {
		s.mu.Lock()
		if _, live := s.timers[pt]; !live {
			s.mu.Unlock()
			return
		}
		delete(s.timers, pt)
		s.due = append(s.due, group)
		w := s.wake
		s.mu.Unlock()
		poke(w)
	})
	s.mu.Unlock()
	for _, c := range group { // after the timer is armed: a fake clock may be advanced at once
		s.emit(Event{Kind: BackoffStarted, Child: c.id, Label: c.svc.Label(), RestartCount: c.restartCount(), Delay: d})
	}
}

// pendingTimer is a backoff delay in progress.
type pendingTimer struct{ timer clock.Timer }
