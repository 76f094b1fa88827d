package strategy

import (
	"math"
	"sort"
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
// most MaxRestarts+1 timestamps (8 bytes each, which the garbage collector
// does not scan), grown on demand. A Window is not safe for
// concurrent use.
type Window struct {
	in   Intensity       // normalized; zero until first use by a zero Window
	base time.Time       // the first timestamp held since the ring was last empty
	buf  []time.Duration // the timestamps held, as offsets from base
	head int             // index of the oldest timestamp in buf
	n    int             // number of timestamps held
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
// not change the window, and it takes O(log n) for n timestamps held: a
// binary search of the ring, whose timestamps are in the order recorded
// (a supervisor under a crash storm with a large MaxRestarts holds
// hundreds of thousands, and reports Len under its lock).
func (w *Window) Len(now time.Time) int {
	old := sort.Search(w.n, func(i int) bool { return w.age(now, w.at(i)) < w.in.Window })
	return w.n - old
}

// Reset forgets every recorded restart (a restarted supervisor starts with
// an empty window). It keeps the limit and the allocated ring.
func (w *Window) Reset() {
	w.head, w.n = 0, 0
}

// init gives a zero Window the default Intensity.
func (w *Window) init() {
	if w.in == (Intensity{}) {
		w.in = w.in.Normalize()
	}
}

// at returns the i-th oldest timestamp held, as an offset from base.
func (w *Window) at(i int) time.Duration {
	return w.buf[(w.head+i)%len(w.buf)]
}

// age returns how long before now the timestamp held as offset off was.
// It subtracts times, not offsets: now.Sub(base) saturates when now is
// centuries from base, and an offset subtracted from the saturated value
// would make an old restart look recent (review 28).
func (w *Window) age(now time.Time, off time.Duration) time.Duration {
	return now.Sub(w.base.Add(off))
}

// expire drops the timestamps that no longer count at now.
func (w *Window) expire(now time.Time) {
	for w.n > 0 && w.age(now, w.buf[w.head]) >= w.in.Window {
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
	if w.n == 0 { // none held (the last one may just have been dropped)
		w.base = t
	}
	off := t.Sub(w.base)
	if off == math.MaxInt64 || off == math.MinInt64 {
		// Saturated: the base is centuries before t (possible only with a
		// Window of centuries). Move it to the oldest restart held.
		w.rebase()
		off = t.Sub(w.base)
	}
	w.buf[(w.head+w.n)%len(w.buf)] = off
	w.n++
}

// rebase moves base to the oldest timestamp held, keeping the timestamps.
func (w *Window) rebase() {
	if w.n == 0 {
		return
	}
	first := w.at(0)
	w.base = w.base.Add(first)
	for i := range w.n {
		w.buf[(w.head+i)%len(w.buf)] -= first
	}
}

// grow moves the held timestamps, oldest first, into a ring of size size.
func (w *Window) grow(size int) {
	buf := make([]time.Duration, size)
	for i := range w.n {
		buf[i] = w.at(i)
	}
	w.buf, w.head = buf, 0
}
