package clock

import "time"

// Clock tells the time and makes timers. Implementations are safe for
// concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// Since returns the time elapsed since t; it is Now().Sub(t).
	Since(t time.Time) time.Duration
	// NewTimer returns a timer that sends the current time on its channel
	// once, after at least d. A d ≤ 0 fires at once.
	NewTimer(d time.Duration) Timer
	// AfterFunc returns a timer that calls f on its own goroutine once,
	// after at least d. A d ≤ 0 fires at once. The timer's C is nil.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a one-shot timer made by a [Clock]. Its methods are safe for
// concurrent use.
type Timer interface {
	// C returns the channel on which the timer delivers its time. It has
	// capacity 1 and the timer never blocks sending on it. C is nil for
	// timers made by AfterFunc.
	C() <-chan time.Time
	// Stop prevents the timer from firing. It returns true if the call
	// stopped a pending timer (a fired but unreceived value counts as
	// pending and is discarded), false if it had already fired or been
	// stopped. Stop does not wait for an AfterFunc callback already started.
	Stop() bool
	// Reset re-arms the timer to fire after d, discarding any unreceived
	// value, and returns what Stop would have returned.
	Reset(d time.Duration) bool
}

// Or returns c, or [Real]() if c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real()
	}
	return c
}
