package strategy

import (
	"math"
	"time"
)

// Window counts restarts in a sliding time window and refuses the one that
// would exceed an Intensity (OTP semantics).
//
// A restart at time t counts at time now while now - t < Window: one made
// exactly Window earlier no longer counts. Times passed in should not go
// backward; a timestamp later than now counts as inside the window.
//
// Use [NewWindow]; the zero Window is also usable and applies the default
// Intensity (DefaultMaxRestarts in DefaultWindow). Memory is a ring of at
// most MaxRestarts+1 timestamps, grown on demand. A Window is not safe for
// concurrent use.
type Window struct {
	in   Intensity // normalized; zero until first use by a zero Window
	buf  []time.Time
	head int // index of the oldest timestamp in buf
	n    int // number of timestamps held
}

// NewWindow returns an empty Window enforcing in (normalized), or the
// error of in.Validate().
func NewWindow(in Intensity) (*Window, error) {
	if err := in.Validate(); err != nil {
		return nil, err
	}
	return &Window{in: in.Normalize()}, nil
}

// Intensity returns the normalized limit the window enforces.
func (w *Window) Intensity() Intensity {
	w.init()
	return w.in
}

// Allow records a restart at now and reports whether it is allowed:
// counting it, the number of restarts within (now-Window, now] is at most
// MaxRestarts. A refused restart is recorded too (as OTP does), so the
// window stays exceeded until enough restarts age out. Under Never, Allow
// always returns false and records nothing.
func (w *Window) Allow(now time.Time) bool {
	w.init()
	if w.in.Never {
		return false
	}
	w.expire(now)
	w.push(now)
	return w.n <= w.in.MaxRestarts
}

// Len returns the number of recorded restarts that count at now. It does
// not change the window.
func (w *Window) Len(now time.Time) int {
	count := 0
	for i := w.n - 1; i >= 0; i-- {
		if now.Sub(w.at(i)) >= w.in.Window {
			break
		}
		count++
	}
	return count
}

// Reset forgets every recorded restart (a restarted supervisor starts with
// an empty window). It keeps the limit and the allocated ring.
func (w *Window) Reset() {
	clear(w.buf)
	w.head, w.n = 0, 0
}

// init gives a zero Window the default Intensity.
func (w *Window) init() {
	if w.in == (Intensity{}) {
		w.in = w.in.Normalize()
	}
}

// at returns the i-th oldest timestamp held.
func (w *Window) at(i int) time.Time {
	return w.buf[(w.head+i)%len(w.buf)]
}

// expire drops the timestamps that no longer count at now.
func (w *Window) expire(now time.Time) {
	for w.n > 0 && now.Sub(w.buf[w.head]) >= w.in.Window {
		w.buf[w.head] = time.Time{}
		w.head = (w.head + 1) % len(w.buf)
		w.n--
	}
}

// push appends t, growing the ring up to MaxRestarts+1 entries and then
// overwriting the oldest.
func (w *Window) push(t time.Time) {
	limit := w.in.MaxRestarts
	if limit < math.MaxInt {
		limit++
	}
	if w.n == len(w.buf) {
		if len(w.buf) < limit {
			w.grow(min(max(2*len(w.buf), 4), limit))
		} else {
			w.head = (w.head + 1) % len(w.buf)
			w.n--
		}
	}
	w.buf[(w.head+w.n)%len(w.buf)] = t
	w.n++
}

// grow moves the held timestamps, oldest first, into a ring of size size.
func (w *Window) grow(size int) {
	buf := make([]time.Time, size)
	for i := range w.n {
		buf[i] = w.at(i)
	}
	w.buf, w.head = buf, 0
}
