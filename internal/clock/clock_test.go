package clock

import (
	"testing"
	"time"
)

func TestOr(t *testing.T) {
	fake := NewFake(time.Unix(0, 0))
	tests := []struct {
		name string
		in   Clock
		want Clock
	}{
		{"nil gives real", nil, Real()},
		{"fake kept", fake, fake},
		{"real kept", Real(), Real()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Or(tt.in); got != tt.want {
				t.Fatalf("Or(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestRealClock(t *testing.T) {
	c := Real()
	before := time.Now()
	if now := c.Now(); now.Before(before) {
		t.Fatalf("Now %v before %v", now, before)
	}
	if c.Since(before) < 0 {
		t.Fatal("Since negative")
	}

	// A zero-duration timer fires without the test sleeping.
	tm := c.NewTimer(0)
	<-tm.C()
	if tm.Stop() {
		t.Fatal("Stop after receive: want false")
	}

	long := c.NewTimer(time.Hour)
	if !long.Reset(time.Hour) {
		t.Fatal("Reset of pending timer: want true")
	}
	if !long.Stop() {
		t.Fatal("Stop of pending timer: want true")
	}

	done := make(chan struct{})
	af := c.AfterFunc(0, func() { close(done) })
	<-done
	if af.C() != nil {
		t.Fatal("AfterFunc timer C: want nil")
	}
	stopped := c.AfterFunc(time.Hour, func() { t.Error("stopped AfterFunc ran") })
	if !stopped.Stop() {
		t.Fatal("Stop of pending AfterFunc: want true")
	}
}

func TestRealNoAllocs(t *testing.T) {
	c := Real()
	allocs := testing.AllocsPerRun(100, func() { _ = c.Now() })
	if allocs != 0 {
		t.Fatalf("Now allocates %v times", allocs)
	}
}

func TestStopwatch(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := NewFake(start)
	now := Stopwatch(f)
	f.Advance(time.Minute)
	if got := now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("fake stopwatch %v, want %v", got, start.Add(time.Minute))
	}

	now = Stopwatch(Real())
	before := time.Now()
	a := now()
	b := now()
	after := time.Now()
	if b.Before(a) {
		t.Fatalf("real stopwatch went back: %v then %v", a, b)
	}
	// Readings follow the monotonic clock, so they fall between the
	// time.Now readings around them.
	if a.Before(before) || after.Before(b) {
		t.Fatalf("real stopwatch %v, %v outside [%v, %v]", a, b, before, after)
	}
}
