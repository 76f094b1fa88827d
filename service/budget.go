package service

import (
	"context"
	"slices"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/logline"
	"github.com/rs/zerolog"
)

// budget is a stop budget on a service's clock. Its clock starts at the
// first question (remaining): until a Stop first has to wait for anything,
// it has only done bookkeeping, so a Stop that waits for nothing never
// reads the clock.
type budget struct {
	clk      clock.Clock
	d        time.Duration
	deadline time.Time
	started  bool
}

// newLimit makes the budget of a Stop: the stop timeout, cut by lim (when
// lim ≥ 0) and by ctx's deadline.
//
// A service whose StopTimeout is not set takes what its caller gives: the
// caller's budget (lim), else ctx's deadline, else DefaultStopTimeout; one
// whose StopTimeout is set takes the smaller of it and what it is given.
func newLimit(ctx context.Context, cfg *Config, lim time.Duration) budget {
	d := time.Duration(-1)
	if cfg.StopTimeout > 0 {
		d = cfg.StopTimeout
	}
	if lim >= 0 && (d < 0 || lim < d) {
		d = lim
	}
	if dl, ok := ctx.Deadline(); ok {
		if left := max(0, time.Until(dl)); d < 0 || left < d {
			d = left
		}
	}
	if d < 0 {
		d = DefaultStopTimeout
	}
	return budget{clk: clock.Or(cfg.Clock), d: d}
}

// remaining is what is left of the budget, never negative.
func (l *budget) remaining() time.Duration {
	if !l.started {
		l.deadline, l.started = l.clk.Now().Add(l.d), true
	}
	return max(0, l.deadline.Sub(l.clk.Now()))
}

// hookContext is the ctx of the stop hooks: not cancelled by the stop,
// marked with the run, ending with the budget.
func (l *budget) hookContext(parent context.Context, r *run) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithValue(parent, markerKey{}, r), l.remaining())
}

// waitClosed waits until ch is closed, at most d on clk, or until ctx ends;
// it reports whether ch was closed. A spent d only checks ch. While it
// waits for longer than noticeAfter it logs, at Info under b, what it
// waits for (w of r, see waitNotice) and how much of d is left: after 1s,
// then 2s, 4s... later. That costs nothing when ch closes within a
// second: the one timer, armed for min(d, 1s), is re-armed for the rest.
func waitClosed(ctx context.Context, clk clock.Clock, ch <-chan struct{}, d time.Duration, b *Base, r *run, w waitKind) bool {
	select {
	case <-ch:
		return true
	default:
	}
	if d <= 0 {
		return false
	}
	step := min(d, noticeAfter)
	t := clk.NewTimer(step)
	defer t.Stop()
	for waited := step; ; {
		select {
		case <-ch:
			return true
		case <-t.C():
			if waited < d {
				b.waitNotice(r, w, waited, d-waited)
				step = min(2*step, d-waited)
				waited += step
				t.Reset(step)
				continue
			}
		case <-ctx.Done():
		}
		break
	}
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// noticeAfter is how long a stop waits for something before it says so.
const noticeAfter = time.Second

// waitKind says what a stop waits for, for the line waitNotice logs.
type waitKind uint8

const (
	waitTasks      waitKind = iota // the run's tasks to return
	waitShutdown                   // SetShutdown (Config.WaitForShutdown)
	waitTransition                 // a Start, Stop or Restart in progress
)

// waitNotice logs, at Info, that a stop of b has waited for w of r for
// waited, and has left of its budget.
func (b *Base) waitNotice(r *run, w waitKind, waited, left time.Duration) {
	if !b.enabled(zerolog.InfoLevel) {
		return
	}
	e := b.Log().Info()
	switch w {
	case waitTasks:
		e = e.Strs("tasks", r.liveTaskNames()).Str("waiting_for", "tasks to return")
	case waitShutdown:
		e = e.Str("waiting_for", "SetShutdown")
	case waitTransition:
		e = e.Str("waiting_for", "the "+b.State().String()+" in progress")
	}
	e = logline.Dur(e, "waited", waited)
	logline.Dur(e, "budget_left", left).Msg("Stop is waiting")
}

func (b *Base) clock() clock.Clock {
	b.mu.Lock()
	defer b.mu.Unlock()
	return clock.Or(b.cfg.Clock)
}

// liveTaskNames names the run's tasks still running, sorted.
func (r *run) liveTaskNames() []string {
	r.mu.Lock()
	names := r.liveNamesLocked()
	r.mu.Unlock()
	slices.Sort(names)
	return names
}
