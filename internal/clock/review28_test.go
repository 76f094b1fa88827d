package clock

// Review 28: hostile tests of the fake (and real) clock.

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var r28Epoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// TestReview28StopResetLikeTimeTimer plays the same deterministic
// sequences on a real time.Timer (through Real) and on a Fake timer and
// compares what Stop and Reset return and what the channel holds. Only
// timers with d ≤ 0 or d of an hour are used on the real clock, so no
// outcome depends on scheduling.
func TestReview28StopResetLikeTimeTimer(t *testing.T) {
	type step func(tm Timer) any
	stop := func(tm Timer) any { return tm.Stop() }
	reset := func(d time.Duration) step { return func(tm Timer) any { return tm.Reset(d) } }
	recv := func(tm Timer) any { <-tm.C(); return "recv" } // blocks: only after a d ≤ 0 arming
	empty := func(tm Timer) any {
		select {
		case <-tm.C():
			return "stale value"
		default:
			return "empty"
		}
	}
	for _, tc := range []struct {
		name  string
		d     time.Duration
		steps []step
	}{
		{"pending Stop twice", time.Hour, []step{stop, stop, empty}},
		{"fired unreceived Stop", 0, []step{stop, empty, stop}},
		{"fired unreceived Reset", 0, []step{reset(time.Hour), empty, stop}},
		{"fired received Stop", 0, []step{recv, stop, empty}},
		{"fired received Reset", 0, []step{recv, reset(time.Hour), stop}},
		{"negative d", math.MinInt64, []step{recv, stop}},
		{"Reset 0 then receive", time.Hour, []step{reset(0), recv, stop, reset(-1), stop, empty}},
		{"Reset pending", time.Hour, []step{reset(time.Hour), reset(2 * time.Hour), stop, stop}},
		{"Stop then Reset 0", time.Hour, []step{stop, reset(0), recv, empty}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			play := func(c Clock) []any {
				tm := c.NewTimer(tc.d)
				defer tm.Stop()
				var out []any
				for _, s := range tc.steps {
					out = append(out, s(tm))
				}
				return out
			}
			real, fake := play(Real()), play(NewFake(r28Epoch))
			if len(real) != len(fake) {
				t.Fatal("lengths")
			}
			for i := range real {
				if real[i] != fake[i] {
					t.Fatalf("step %d: real %v, fake %v (real %v, fake %v)", i, real[i], fake[i], real, fake)
				}
			}
		})
	}
}

// TestReview28AfterFuncStopReset: Stop and Reset of an AfterFunc timer
// behave like time.AfterFunc's: Stop after the callback started is false,
// Reset after it re-arms it and the callback runs again.
func TestReview28AfterFuncStopReset(t *testing.T) {
	for _, c := range []Clock{Real(), NewFake(r28Epoch)} {
		ran := make(chan struct{}, 4)
		tm := c.AfterFunc(0, func() { ran <- struct{}{} })
		<-ran
		if tm.Stop() {
			t.Errorf("%T: Stop after the callback ran = true", c)
		}
		if tm.C() != nil {
			t.Errorf("%T: AfterFunc timer has a channel", c)
		}
		if tm.Reset(0) {
			t.Errorf("%T: Reset after the callback ran = true", c)
		}
		<-ran
		if tm.Reset(time.Hour) {
			t.Errorf("%T: Reset of a fired AfterFunc = true", c)
		}
		if !tm.Stop() {
			t.Errorf("%T: Stop of a re-armed AfterFunc = false", c)
		}
		if f, ok := c.(*Fake); ok {
			f.Settle()
		}
	}
}

// TestReview28CallbackChainSettle: callbacks arming callbacks with d ≤ 0
// form a chain that Settle waits for entirely; a callback arming one with
// d > 0 leaves it pending, and Settle does not wait for that.
func TestReview28CallbackChainSettle(t *testing.T) {
	f := NewFake(r28Epoch)
	var count atomic.Int32
	var step func()
	step = func() {
		if count.Add(1) < 100 {
			f.AfterFunc(0, step)
		} else {
			f.AfterFunc(time.Hour, func() { count.Add(1000) })
		}
	}
	f.AfterFunc(0, step)
	f.Settle()
	if got := count.Load(); got != 100 {
		t.Fatalf("Settle returned after %d of 100 chained callbacks", got)
	}
	if f.Pending() != 1 {
		t.Fatalf("pending %d", f.Pending())
	}
	f.Advance(time.Hour)
	f.Settle()
	if count.Load() != 1100 {
		t.Fatal("the hour timer did not run")
	}
}

// TestReview28CallbackNowAndRearm pins what a callback sees: it runs on its
// own goroutine and cannot take the Fake's lock before Advance returns, so
// its Now is the time Advance moved to, not its own deadline, and a timer
// it arms is measured from there. A callback re-arming itself every second
// thus fires once per Advance, however far Advance goes (unlike a real
// clock, which would fire it each second). The package doc promises each
// timer sees Now equal to its deadline: that holds for a channel timer's
// value only; the doc now says so (the callback behaviour is the pinned
// one, not a defect of the fake).
func TestReview28CallbackNowAndRearm(t *testing.T) {
	f := NewFake(r28Epoch)
	seen := make(chan time.Time, 16)
	var tick func()
	tick = func() {
		seen <- f.Now()
		f.AfterFunc(time.Second, tick)
	}
	f.AfterFunc(time.Second, tick)
	ch := f.NewTimer(time.Second)
	f.Advance(10 * time.Second)
	f.Settle()
	if got := <-ch.C(); !got.Equal(r28Epoch.Add(time.Second)) {
		t.Errorf("channel timer value %v, want its deadline", got)
	}
	if got := <-seen; !got.Equal(r28Epoch.Add(10 * time.Second)) {
		t.Errorf("callback saw Now %v, want the Advance target", got)
	}
	if len(seen) != 0 {
		t.Errorf("self-rearming callback ran %d more times in one Advance", len(seen))
	}
	if d, ok := f.NextDeadline(); !ok || !d.Equal(r28Epoch.Add(11*time.Second)) {
		t.Errorf("re-armed at %v, want Advance target + 1s", d)
	}
}

// TestReview28ConcurrentAdvance: Advance from several goroutines while
// others arm and stop timers (run with -race): time moves by the sum,
// every timer armed before fires exactly once, in deadline order per
// channel.
func TestReview28ConcurrentAdvance(t *testing.T) {
	f := NewFake(r28Epoch)
	const timers = 200
	var fired atomic.Int32
	chans := make([]Timer, timers)
	for i := range chans {
		if i%2 == 0 {
			chans[i] = f.NewTimer(time.Duration(i+1) * time.Millisecond)
		} else {
			chans[i] = f.AfterFunc(time.Duration(i+1)*time.Millisecond, func() { fired.Add(1) })
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				f.Advance(time.Millisecond)
				tm := f.NewTimer(time.Hour)
				_ = tm.Stop()
				_ = f.Now()
				_, _ = f.NextDeadline()
			}
		}()
	}
	wg.Wait()
	f.Settle()
	if got := f.Now(); !got.Equal(r28Epoch.Add(400 * time.Millisecond)) {
		t.Fatalf("Now %v after 400 advances of 1ms", got)
	}
	if fired.Load() != timers/2 {
		t.Fatalf("%d callbacks", fired.Load())
	}
	for i := 0; i < timers; i += 2 {
		select {
		case v := <-chans[i].C():
			if !v.Equal(r28Epoch.Add(time.Duration(i+1) * time.Millisecond)) {
				t.Fatalf("timer %d sent %v", i, v)
			}
		default:
			t.Fatalf("timer %d did not fire", i)
		}
	}
	if f.Pending() != 0 {
		t.Fatalf("%d pending", f.Pending())
	}
}

// TestReview28ExtremeDurations: Advance and timers at the ends of the
// Duration range neither panic nor misorder.
func TestReview28ExtremeDurations(t *testing.T) {
	var f Fake // the zero Fake starts at the zero time
	far := f.NewTimer(math.MaxInt64)
	near := f.NewTimer(1)
	f.Advance(-1)
	f.Advance(math.MinInt64)
	if !f.Now().IsZero() {
		t.Fatal("a negative Advance moved time")
	}
	f.Advance(math.MaxInt64)
	if _, ok := <-near.C(); !ok {
		t.Fatal("near")
	}
	if v := <-far.C(); !v.Equal(time.Time{}.Add(math.MaxInt64)) {
		t.Fatalf("far fired with %v", v)
	}
	f.Advance(math.MaxInt64) // past the first: Time.Add saturates, no panic
	f.Set(time.Time{})       // before Now: ignored
	if f.Since(time.Time{}) <= 0 {
		t.Fatal("Since")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := f.BlockUntil(ctx, -5); err != nil {
		t.Fatalf("BlockUntil(-5) = %v", err)
	}
	if err := f.BlockUntil(ctx, 1); err != context.Canceled {
		t.Fatalf("BlockUntil(1) on a cancelled ctx = %v", err)
	}
}

// TestReview28ManyTimers arms 100 000 timers, stops half and fires the
// rest with one Advance, in deadline order. Defect found: firing picked the
// earliest timer by a linear scan and Stop searched the list, so this was
// quadratic (20 000 timers: 8 s under -race); the pending timers are now a
// heap.
func TestReview28ManyTimers(t *testing.T) {
	const n = 100_000
	f := NewFake(r28Epoch)
	tms := make([]Timer, n)
	for i := range tms {
		tms[i] = f.NewTimer(time.Duration(n-i) * time.Millisecond)
	}
	start := time.Now()
	for i := 0; i < n; i += 2 {
		tms[i].Stop()
	}
	f.Advance(time.Hour)
	prev := time.Time{}
	for i := n - 1; i >= 0; i -= 2 { // in deadline order
		v := <-tms[i].C()
		if v.Before(prev) || !v.Equal(r28Epoch.Add(time.Duration(n-i)*time.Millisecond)) {
			t.Fatalf("timer %d sent %v", i, v)
		}
		prev = v
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("stopping %d and firing %d timers took %v", n/2, n/2, el)
	}
	if f.Pending() != 0 {
		t.Fatal("pending")
	}
}

// TestReview28StopRacesAdvance: Stop from one goroutine while another
// advances past the deadline — the callback runs exactly when Stop
// reported false; a channel timer's Stop is always true and leaves
// nothing to receive (a fired value not yet received counts as pending and
// is drained, as with Go ≥ 1.23 timers); run with -race.
func TestReview28StopRacesAdvance(t *testing.T) {
	for range 300 {
		f := NewFake(r28Epoch)
		var ran atomic.Int32
		af := f.AfterFunc(time.Second, func() { ran.Add(1) })
		ch := f.NewTimer(time.Second)
		var stoppedAF, stoppedCh bool
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); f.Advance(time.Second) }()
		go func() { defer wg.Done(); stoppedCh = ch.Stop(); stoppedAF = af.Stop() }()
		wg.Wait()
		f.Settle()
		if stoppedAF == (ran.Load() == 1) || ran.Load() > 1 {
			t.Fatalf("AfterFunc: Stop %v, callback ran %d times", stoppedAF, ran.Load())
		}
		select {
		case <-ch.C():
			if stoppedCh {
				t.Fatal("channel timer delivered after a Stop that returned true")
			}
		default:
			if !stoppedCh {
				t.Fatal("channel timer Stop = false before any receive")
			}
		}
	}
}

// TestReview28ResetInsideCallback: a callback resetting its own timer
// re-arms it from the time it runs, like time.AfterFunc's.
func TestReview28ResetInsideCallback(t *testing.T) {
	f := NewFake(r28Epoch)
	var ran atomic.Int32
	var tm Timer
	armed := make(chan struct{})
	tm = f.AfterFunc(time.Second, func() {
		<-armed
		if ran.Add(1) < 3 {
			if tm.Reset(time.Second) {
				t.Error("Reset inside the callback reported a pending timer")
			}
		}
	})
	close(armed)
	for range 5 {
		f.Advance(time.Second)
		f.Settle()
	}
	if ran.Load() != 3 || f.Pending() != 0 {
		t.Fatalf("ran %d times, %d pending", ran.Load(), f.Pending())
	}
}
