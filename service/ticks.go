package service

import (
	"iter"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/internal/logline"
)

// Ticks returns an iterator over the ticks of a fixed-rate timer (Python mode's
// itertimer), for use in a task:
//
//	for now := range s.Ticks(time.Second) {
//		poll(ctx) // one call per tick
//	}
//
// Each iteration (a range loop) runs on the run current when it begins and
// anchors its slots there: it yields at anchor + k·interval, k ≥ 1, like
// Every, the value being the clock's time at the wake. A slot passed while
// the loop body ran, or during a late wake, is skipped (logged, never
// yielded in a burst); a late wake yields at once and then sleeps only to
// the next slot. The iteration ends, without yielding, as soon as that run
// stops or crashes, and when the loop body breaks.
//
// A non-positive interval yields nothing (and logs an error); so does an
// iteration begun on a service that is not starting or running. Ticks
// starts no goroutine: it sleeps on a clock timer in the ranging goroutine.
func (b *Base) Ticks(interval time.Duration) iter.Seq[time.Time] {
	return func(yield func(time.Time) bool) {
		if interval <= 0 {
			logline.Dur(b.Log().Error(), "interval", interval).Msg("Ticks: non-positive interval; no ticks")
			return
		}
		r, err := b.runForTasks()
		if err != nil {
			return
		}
		clk := b.clock()
		plan := &everyPlan{anchor: clk.Now(), iv: interval}
		var sleep clock.Timer
		defer func() {
			if sleep != nil {
				sleep.Stop()
			}
		}()
		last := plan.anchor
		for {
			due := plan.next(last)
			if due.IsZero() {
				logline.Dur(b.Log().Warn(), "interval", interval).Msg("Ticks: no tick time left; the iteration ends")
				return
			}
			if wait := due.Sub(clk.Now()); wait > 0 {
				if sleep == nil {
					sleep = clk.NewTimer(wait)
				} else {
					sleep.Reset(wait)
				}
				select {
				case <-sleep.C():
				case <-r.doneCh():
					return
				}
			}
			select {
			case <-r.doneCh():
				return
			default:
			}
			now := clk.Now()
			served, skipped := plan.catchUp(due, now)
			if skipped > 0 {
				logline.Dur(b.Log().Warn(), "interval", interval).Int64("skipped", skipped).
					Msg("Ticks: woke late: missed ticks skipped")
			}
			last = served
			if !yield(now) {
				return
			}
		}
	}
}
