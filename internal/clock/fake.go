package clock

import (
	"container/heap"
	"context"
	"sync"
	"time"
)

// Fake is a Clock for tests whose time moves only when the test says so.
//
// Timers fire during [Fake.Advance] and [Fake.Set], in deadline order (ties
// in the order they were armed), time stepping to each one's deadline as it
// fires; a timer armed with d ≤ 0 fires at once. Channel timers get a
// non-blocking send of their deadline into a 1-slot channel. AfterFunc
// callbacks run on their own goroutine, as with time.AfterFunc;
// [Fake.Settle] waits for them. A callback cannot use the Fake before the
// Advance or Set that fired it has returned: its Now is the time that call
// moved to, not its own deadline, and a timer it arms counts from there (a
// callback re-arming itself every second fires once per Advance, however
// far Advance goes).
//
// Timers run on the fake's own timeline, as Go's timers run on the
// monotonic clock; [Fake.StepWall] steps the wall clock that Now reads
// without moving them, as an administrator or NTP stepping the system clock
// would. Fake times carry no monotonic reading, so code comparing them sees
// the step (with the real clock, only times from time.Now and their Add
// results are immune to it).
//
// Create one with [NewFake]; the zero Fake is also usable and starts at the
// zero time. All methods are safe for concurrent use.
type Fake struct {
	mu      sync.Mutex
	now     time.Time     // the timers' timeline
	wall    time.Duration // Now is now+wall (see StepWall)
	timers  timerHeap     // pending (armed, not yet fired or stopped); a min-heap by (deadline, seq)
	seq     uint64        // arming counter, breaks deadline ties
	running int           // AfterFunc callbacks started and not yet returned
	changed chan struct{} // closed and replaced whenever timers or running change
}

var _ Clock = (*Fake)(nil)

// NewFake returns a Fake whose time is start.
func NewFake(start time.Time) *Fake {
	return &Fake{now: start}
}

// Now returns the fake's current (wall-clock) time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now.Add(f.wall)
}

// Since returns Now().Sub(t).
func (f *Fake) Since(t time.Time) time.Duration {
	return f.Now().Sub(t)
}

// NewTimer returns a channel timer due at Now()+d.
func (f *Fake) NewTimer(d time.Duration) Timer {
	t := &fakeTimer{f: f, ch: make(chan time.Time, 1)}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// AfterFunc returns a timer that runs fn on a new goroutine when it fires,
// at Now()+d. Its C is nil.
func (f *Fake) AfterFunc(d time.Duration, fn func()) Timer {
	t := &fakeTimer{f: f, fn: fn}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arm(t, d)
	return t
}

// Advance moves time forward by d and fires, in deadline order, every timer
// due at or before the new time. A negative d does nothing; Advance(0) fires
// nothing new (timers due now have already fired when armed).
func (f *Fake) Advance(d time.Duration) {
	if d < 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.advanceTo(f.now.Add(d))
}

// Set moves time forward until Now is t, with the same firing rules as
// Advance. A t before Now is ignored: only StepWall moves time backward.
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t = t.Add(-f.wall)
	if t.Before(f.now) {
		return
	}
	f.advanceTo(t)
}

// StepWall steps the wall clock by d, back for a negative d: Now moves by d
// at once, while pending timers keep their remaining durations and fire
// nothing, like Go's timers (on the monotonic clock) when the system clock
// is stepped. A timer armed for Now+d before a step back of s thus fires
// when Now reads Now+d-s. NextDeadline and the values timers send are wall
// times, read after the step.
func (f *Fake) StepWall(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.wall += d
}

// BlockUntil waits until at least n timers are pending (armed and neither
// fired nor stopped), so a test knows the code under test has armed its
// timers before it advances time. It returns nil then, or ctx.Err() if ctx
// ends first. It does not poll.
func (f *Fake) BlockUntil(ctx context.Context, n int) error {
	return f.waitTimers(ctx, func(pending int) bool { return pending >= n })
}

// BlockUntilAtMost waits until at most n timers are pending, so a test
// knows the code under test has stopped the timers it no longer needs
// (BlockUntil is the other way). It returns nil then, or ctx.Err() if ctx
// ends first. It does not poll.
func (f *Fake) BlockUntilAtMost(ctx context.Context, n int) error {
	return f.waitTimers(ctx, func(pending int) bool { return pending <= n })
}

// waitTimers waits until done(the number of pending timers) holds, or ctx
// ends, waking on each change of the timers. It does not poll.
func (f *Fake) waitTimers(ctx context.Context, done func(pending int) bool) error {
	for {
		f.mu.Lock()
		if done(len(f.timers)) {
			f.mu.Unlock()
			return nil
		}
		ch := f.changedLocked()
		f.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Settle waits until no AfterFunc callback is running: every callback
// started so far (and any started meanwhile) has returned. It must not be
// called from inside a callback, which would wait for itself.
func (f *Fake) Settle() {
	for {
		f.mu.Lock()
		if f.running == 0 {
			f.mu.Unlock()
			return
		}
		ch := f.changedLocked()
		f.mu.Unlock()
		<-ch
	}
}

// Pending returns the number of pending timers.
func (f *Fake) Pending() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.timers)
}

// NextDeadline returns the earliest pending deadline, as the wall time Now
// will read when it fires (unless the wall clock is stepped again), and
// false if no timer is pending.
func (f *Fake) NextDeadline() (time.Time, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if i := f.earliest(); i >= 0 {
		return f.timers[i].deadline.Add(f.wall), true
	}
	return time.Time{}, false
}

// arm schedules t at now+d, firing it at once if d ≤ 0. f.mu is held.
func (f *Fake) arm(t *fakeTimer, d time.Duration) {
	f.seq++
	t.seq = f.seq
	t.deadline = f.now.Add(d)
	if d <= 0 {
		f.fire(t)
		return
	}
	t.pending = true
	heap.Push(&f.timers, t)
	f.broadcast()
}

// advanceTo fires every timer due by target, in order, then sets now to
// target. f.mu is held.
func (f *Fake) advanceTo(target time.Time) {
	for {
		i := f.earliest()
		if i < 0 || f.timers[i].deadline.After(target) {
			break
		}
		t := f.timers[i]
		f.removeAt(i)
		if t.deadline.After(f.now) {
			f.now = t.deadline
		}
		f.fire(t)
	}
	f.now = target
}

// fire delivers t, which is no longer in f.timers. f.mu is held.
func (f *Fake) fire(t *fakeTimer) {
	t.pending = false
	if t.fn == nil {
		select {
		case t.ch <- f.now.Add(f.wall):
		default:
		}
		return
	}
	f.running++
	go f.run(t.fn)
}

// run calls an AfterFunc callback and accounts for its return.
func (f *Fake) run(fn func()) {
	defer func() {
		f.mu.Lock()
		f.running--
		f.broadcast()
		f.mu.Unlock()
	}()
	fn()
}

// earliest returns the index of the pending timer to fire first (the
// heap's top), or -1. f.mu is held.
func (f *Fake) earliest() int {
	if len(f.timers) == 0 {
		return -1
	}
	return 0
}

// removeAt drops f.timers[i] and wakes waiters. f.mu is held.
func (f *Fake) removeAt(i int) {
	heap.Remove(&f.timers, i)
	f.broadcast()
}

// timerHeap is the pending timers, a min-heap by deadline then arming
// order, so that firing n timers takes O(n log n) and stopping one
// O(log n) (review 28: a linear scan per firing made 10 000 firings take
// seconds). Each timer knows its index.
type timerHeap []*fakeTimer

func (h timerHeap) Len() int { return len(h) }

func (h timerHeap) Less(i, j int) bool {
	a, b := h[i], h[j]
	return a.deadline.Before(b.deadline) || (a.deadline.Equal(b.deadline) && a.seq < b.seq)
}

func (h timerHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}

func (h *timerHeap) Push(x any) {
	t := x.(*fakeTimer)
	t.index = len(*h)
	*h = append(*h, t)
}

func (h *timerHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	t.index = -1
	return t
}

// changedLocked returns the channel closed at the next change. f.mu is held.
func (f *Fake) changedLocked() <-chan struct{} {
	if f.changed == nil {
		f.changed = make(chan struct{})
	}
	return f.changed
}

// broadcast wakes every waiter. f.mu is held.
func (f *Fake) broadcast() {
	if f.changed != nil {
		close(f.changed)
		f.changed = nil
	}
}
