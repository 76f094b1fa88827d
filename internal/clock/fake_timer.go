package clock

import "time"

// fakeTimer is a Timer of a Fake. Its mutable fields are guarded by f.mu.
type fakeTimer struct {
	f        *Fake
	ch       chan time.Time // nil for AfterFunc timers
	fn       func()         // nil for channel timers
	deadline time.Time
	seq      uint64
	index    int // position in f.timers while pending
	pending  bool
}

// C returns the timer's channel, nil for an AfterFunc timer.
func (t *fakeTimer) C() <-chan time.Time {
	if t.ch == nil {
		return nil
	}
	return t.ch
}

// Stop disarms t; see Timer.Stop.
func (t *fakeTimer) Stop() bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	return t.stopLocked()
}

// Reset re-arms t at now+d; see Timer.Reset.
func (t *fakeTimer) Reset(d time.Duration) bool {
	t.f.mu.Lock()
	defer t.f.mu.Unlock()
	was := t.stopLocked()
	t.f.arm(t, d)
	return was
}

// stopLocked disarms t and drains a stale value. t.f.mu is held.
func (t *fakeTimer) stopLocked() bool {
	was := t.pending
	if was {
		t.f.removeAt(t.index)
		t.pending = false
	}
	if t.ch != nil {
		select {
		case <-t.ch:
			was = true
		default:
		}
	}
	return was
}
