package clock

import (
	"slices"
	"sync"
	"testing"
	"time"
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// received returns the value waiting on ch, if any, without blocking.
func received(ch <-chan time.Time) (time.Time, bool) {
	select {
	case v := <-ch:
		return v, true
	default:
		return time.Time{}, false
	}
}

func TestFakeNowSince(t *testing.T) {
	f := NewFake(epoch)
	f.Advance(3 * time.Second)
	if got := f.Now(); !got.Equal(epoch.Add(3 * time.Second)) {
		t.Fatalf("Now = %v", got)
	}
	if got := f.Since(epoch); got != 3*time.Second {
		t.Fatalf("Since = %v", got)
	}
	var zero Fake
	if !zero.Now().IsZero() {
		t.Fatal("zero Fake: want zero time")
	}
	zero.Advance(time.Second)
	if zero.Since(time.Time{}) != time.Second {
		t.Fatal("zero Fake does not advance")
	}
}

func TestFakeFiring(t *testing.T) {
	tests := []struct {
		name    string
		delays  []time.Duration
		advance []time.Duration // successive Advance calls
		fired   []bool          // per timer, after all advances
	}{
		{"none due", []time.Duration{2, 3}, []time.Duration{1}, []bool{false, false}},
		{"exactly at deadline", []time.Duration{2, 3}, []time.Duration{2}, []bool{true, false}},
		{"all due", []time.Duration{2, 3}, []time.Duration{10}, []bool{true, true}},
		{"in steps", []time.Duration{5, 1, 3}, []time.Duration{1, 1, 1}, []bool{false, true, true}},
		{"zero delay fires at once", []time.Duration{0, -1, 4}, nil, []bool{true, true, false}},
		{"negative advance ignored", []time.Duration{1}, []time.Duration{-5}, []bool{false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch)
			timers := make([]Timer, len(tt.delays))
			for i, d := range tt.delays {
				timers[i] = f.NewTimer(d * time.Second)
			}
			for _, a := range tt.advance {
				f.Advance(a * time.Second)
			}
			wantPending := 0
			for i, tm := range timers {
				v, ok := received(tm.C())
				if ok != tt.fired[i] {
					t.Fatalf("timer %d fired = %v, want %v", i, ok, tt.fired[i])
				}
				if !tt.fired[i] {
					wantPending++
					continue
				}
				// Each timer sees Now equal to its own deadline (or the
				// arming time for d ≤ 0).
				want := epoch.Add(max(tt.delays[i], 0) * time.Second)
				if !v.Equal(want) {
					t.Fatalf("timer %d sent %v, want %v", i, v, want)
				}
			}
			if got := f.Pending(); got != wantPending {
				t.Fatalf("Pending = %d, want %d", got, wantPending)
			}
		})
	}
}

func TestFakeFiringOrder(t *testing.T) {
	tests := []struct {
		name   string
		delays []time.Duration
		want   []int // timer indices in firing order
	}{
		{"by deadline", []time.Duration{3, 1, 2}, []int{1, 2, 0}},
		{"ties in arming order", []time.Duration{2, 1, 2, 1}, []int{1, 3, 0, 2}},
		{"single", []time.Duration{7}, []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch)
			index := map[*fakeTimer]int{}
			for i, d := range tt.delays {
				index[f.NewTimer(d*time.Second).(*fakeTimer)] = i
			}
			// advanceTo fires f.timers[f.earliest()] first, then the next;
			// replay that choice to read the order.
			f.mu.Lock()
			var got []int
			for len(f.timers) > 0 {
				i := f.earliest()
				got = append(got, index[f.timers[i]])
				f.removeAt(i)
			}
			f.mu.Unlock()
			if !slices.Equal(got, tt.want) {
				t.Fatalf("order = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestFakeStepsThroughDeadlines(t *testing.T) {
	f := NewFake(epoch)
	delays := []time.Duration{3, 1, 2}
	timers := make([]Timer, len(delays))
	for i, d := range delays {
		timers[i] = f.NewTimer(d * time.Second)
	}
	for _, wantIdx := range []int{1, 2, 0} {
		dl, ok := f.NextDeadline()
		if !ok || !dl.Equal(epoch.Add(delays[wantIdx]*time.Second)) {
			t.Fatalf("NextDeadline = %v, %v", dl, ok)
		}
		f.Set(dl)
		for i, tm := range timers {
			if _, fired := received(tm.C()); fired != (i == wantIdx) {
				t.Fatalf("at %v timer %d fired = %v", dl, i, fired)
			}
		}
	}
	if _, ok := f.NextDeadline(); ok {
		t.Fatal("NextDeadline: want none left")
	}
}

func TestFakeAdvanceSpansDeadlines(t *testing.T) {
	f := NewFake(epoch)
	// One Advance spanning several deadlines fires each timer with Now at
	// its own deadline, then leaves Now at the target.
	a := f.NewTimer(2 * time.Second)
	b := f.NewTimer(1 * time.Second)
	f.Advance(5 * time.Second)
	va, _ := received(a.C())
	vb, _ := received(b.C())
	if !vb.Before(va) {
		t.Fatalf("b (%v) should fire before a (%v)", vb, va)
	}
	if got := f.Now(); !got.Equal(epoch.Add(5 * time.Second)) {
		t.Fatalf("Now after Advance = %v", got)
	}
}

func TestFakeStopReset(t *testing.T) {
	type step func(f *Fake, tm Timer) bool
	stop := func(f *Fake, tm Timer) bool { return tm.Stop() }
	reset := func(d time.Duration) step {
		return func(f *Fake, tm Timer) bool { return tm.Reset(d) }
	}
	tests := []struct {
		name      string
		before    func(f *Fake, tm Timer) // puts the timer in a state
		op        step
		want      bool          // Stop/Reset result
		thenAdv   time.Duration // advance after op
		wantValue bool          // a value is then waiting on C
	}{
		{"stop pending", func(*Fake, Timer) {}, stop, true, time.Hour, false},
		{"stop fired unreceived drains", func(f *Fake, _ Timer) { f.Advance(time.Second) }, stop, true, 0, false},
		{"stop fired received", func(f *Fake, tm Timer) { f.Advance(time.Second); <-tm.C() }, stop, false, 0, false},
		{"stop twice", func(_ *Fake, tm Timer) { tm.Stop() }, stop, false, time.Hour, false},
		{"reset pending", func(*Fake, Timer) {}, reset(3 * time.Second), true, 3 * time.Second, true},
		{"reset pending not yet due", func(*Fake, Timer) {}, reset(3 * time.Second), true, 2 * time.Second, false},
		{"reset fired unreceived drains stale", func(f *Fake, _ Timer) { f.Advance(time.Second) }, reset(time.Second), true, 0, false},
		{"reset fired received rearms", func(f *Fake, tm Timer) { f.Advance(time.Second); <-tm.C() }, reset(time.Second), false, time.Second, true},
		{"reset stopped rearms", func(_ *Fake, tm Timer) { tm.Stop() }, reset(time.Second), false, time.Second, true},
		{"reset zero fires at once", func(*Fake, Timer) {}, reset(0), true, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch)
			tm := f.NewTimer(time.Second)
			tt.before(f, tm)
			if got := tt.op(f, tm); got != tt.want {
				t.Fatalf("result = %v, want %v", got, tt.want)
			}
			f.Advance(tt.thenAdv)
			if _, ok := received(tm.C()); ok != tt.wantValue {
				t.Fatalf("value waiting = %v, want %v", ok, tt.wantValue)
			}
		})
	}
}

func TestFakeSet(t *testing.T) {
	tests := []struct {
		name      string
		to        time.Duration // relative to epoch+10s
		wantNow   time.Duration
		wantFired bool
	}{
		{"forward past deadline", 5 * time.Second, 15 * time.Second, true},
		{"forward to deadline", 2 * time.Second, 12 * time.Second, true},
		{"forward before deadline", time.Second, 11 * time.Second, false},
		{"same time", 0, 10 * time.Second, false},
		{"backward ignored", -5 * time.Second, 10 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch.Add(10 * time.Second))
			tm := f.NewTimer(2 * time.Second)
			f.Set(epoch.Add(10*time.Second + tt.to))
			if got := f.Since(epoch); got != tt.wantNow {
				t.Fatalf("now = epoch+%v, want epoch+%v", got, tt.wantNow)
			}
			if _, ok := received(tm.C()); ok != tt.wantFired {
				t.Fatalf("fired = %v, want %v", ok, tt.wantFired)
			}
		})
	}
}

func TestFakeConcurrent(t *testing.T) {
	f := NewFake(epoch)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				d := time.Duration(g+i%5) * time.Millisecond
				var tm Timer
				if i%2 == 0 {
					tm = f.NewTimer(d)
				} else {
					tm = f.AfterFunc(d, func() { _ = f.Now() })
				}
				switch i % 3 {
				case 0:
					tm.Stop()
				case 1:
					tm.Reset(d)
				}
				_ = f.Pending()
				_, _ = f.NextDeadline()
			}
		}()
	}
	for range 50 {
		f.Advance(time.Millisecond)
	}
	wg.Wait()
	f.Advance(time.Hour)
	f.Settle()
	if f.Pending() != 0 {
		t.Fatalf("Pending = %d after advancing past every deadline", f.Pending())
	}
}

// TestFakeStepWall: a wall-clock step moves Now but not the timers, which
// keep their remaining durations as Go's monotonic timers do.
func TestFakeStepWall(t *testing.T) {
	f := NewFake(epoch)
	tm := f.NewTimer(10 * time.Second)
	f.StepWall(-time.Hour)
	if got, want := f.Now(), epoch.Add(-time.Hour); !got.Equal(want) {
		t.Fatalf("Now after step back = %v, want %v", got, want)
	}
	if _, ok := received(tm.C()); ok {
		t.Fatal("a step fired a timer")
	}
	if dl, ok := f.NextDeadline(); !ok || !dl.Equal(epoch.Add(10*time.Second-time.Hour)) {
		t.Fatalf("NextDeadline = %v, %v: want the wall time it fires at", dl, ok)
	}
	f.Advance(9 * time.Second)
	if _, ok := received(tm.C()); ok {
		t.Fatal("fired before its duration elapsed")
	}
	f.Advance(time.Second)
	v, ok := received(tm.C())
	if want := epoch.Add(10*time.Second - time.Hour); !ok || !v.Equal(want) {
		t.Fatalf("fired %v (%v), want the wall time %v", v, ok, want)
	}

	// Set is in wall time; a step forward fires nothing either.
	late := f.NewTimer(time.Minute) // due at wall epoch-1h+10s+1m
	f.StepWall(2 * time.Hour)
	if _, ok := received(late.C()); ok {
		t.Fatal("a step forward fired a timer")
	}
	f.Set(epoch.Add(time.Hour + 10*time.Second)) // Now, already
	if _, ok := received(late.C()); ok {
		t.Fatal("Set to Now fired a timer")
	}
	f.Set(epoch) // before Now: ignored
	if got := f.Now(); !got.Equal(epoch.Add(time.Hour + 10*time.Second)) {
		t.Fatalf("Set backward moved Now to %v", got)
	}
	f.Set(epoch.Add(time.Hour + 70*time.Second))
	if v, ok := received(late.C()); !ok || !v.Equal(epoch.Add(time.Hour+70*time.Second)) {
		t.Fatalf("late timer: %v (%v)", v, ok)
	}
	if got := f.Since(epoch); got != time.Hour+70*time.Second {
		t.Fatalf("Since = %v", got)
	}
}
