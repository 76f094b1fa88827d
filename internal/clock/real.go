package clock

import "time"

// Real returns the Clock backed by package time. It holds no state, starts
// no goroutines, and its timers are *time.Timer values behind the Timer interface.
func Real() Clock { return realClock{} }

type realClock struct{}

func (realClock) Now() time.Time                  { return time.Now() }
func (realClock) Since(t time.Time) time.Duration { return time.Since(t) }

func (realClock) NewTimer(d time.Duration) Timer {
	return realTimer{time.NewTimer(d)}
}

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return realTimer{time.AfterFunc(d, f)}
}

// realTimer adapts a *time.Timer. Being pointer-shaped, it is stored in a
// Timer interface without an allocation.
type realTimer struct{ t *time.Timer }

func (r realTimer) C() <-chan time.Time        { return r.t.C }
func (r realTimer) Stop() bool                 { return r.t.Stop() }
func (r realTimer) Reset(d time.Duration) bool { return r.t.Reset(d) }

// Stopwatch returns a function reading c's time for measuring intervals
// (restart windows, backoff): on the real clock it is the time of the call
// plus the monotonic time elapsed since, which is about half the cost of
// time.Now and unaffected by steps of the wall clock; on any other clock it
// is c.Now.
func Stopwatch(c Clock) func() time.Time {
	if _, ok := c.(realClock); !ok {
		return c.Now
	}
	epoch := time.Now()
	return func() time.Time { return epoch.Add(time.Since(epoch)) }
}
