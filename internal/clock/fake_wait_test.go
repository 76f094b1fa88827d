package clock

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

func TestFakeAfterFuncSettle(t *testing.T) {
	tests := []struct {
		name    string
		delays  []time.Duration
		stop    []bool
		advance time.Duration
		want    int32
	}{
		{"all run", []time.Duration{1, 2, 3}, []bool{false, false, false}, 3, 3},
		{"some due", []time.Duration{1, 2, 3}, []bool{false, false, false}, 2, 2},
		{"stopped never run", []time.Duration{1, 2, 3}, []bool{true, false, true}, 3, 1},
		{"immediate", []time.Duration{0}, []bool{false}, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFake(epoch)
			var ran atomic.Int32
			for i, d := range tt.delays {
				tm := f.AfterFunc(d*time.Second, func() { ran.Add(1) })
				if tm.C() != nil {
					t.Fatal("AfterFunc C: want nil")
				}
				if tt.stop[i] && !tm.Stop() {
					t.Fatal("Stop of pending AfterFunc: want true")
				}
			}
			f.Advance(tt.advance * time.Second)
			f.Settle()
			if got := ran.Load(); got != tt.want {
				t.Fatalf("ran %d callbacks, want %d", got, tt.want)
			}
		})
	}
}

func TestFakeAfterFuncStopAfterFire(t *testing.T) {
	f := NewFake(epoch)
	tm := f.AfterFunc(time.Second, func() {})
	f.Advance(time.Second)
	f.Settle()
	if tm.Stop() {
		t.Fatal("Stop after fire: want false")
	}
	if tm.Reset(time.Second) {
		t.Fatal("Reset after fire: want false")
	}
	if f.Pending() != 1 {
		t.Fatal("Reset did not re-arm")
	}
	tm.Stop()
}

func TestFakeSettleWaitsForCallback(t *testing.T) {
	f := NewFake(epoch)
	release := make(chan struct{})
	var done atomic.Bool
	f.AfterFunc(time.Second, func() {
		<-release
		done.Store(true)
	})
	f.Advance(time.Second)
	settled := make(chan struct{})
	go func() {
		f.Settle()
		close(settled)
	}()
	close(release)
	<-settled
	if !done.Load() {
		t.Fatal("Settle returned before the callback")
	}
}

func TestFakeCallbackRearms(t *testing.T) {
	// A callback may use the Fake (the lock is not held while it runs).
	f := NewFake(epoch)
	var count atomic.Int32
	var tick func()
	tick = func() {
		if count.Add(1) < 3 {
			f.AfterFunc(time.Second, tick)
		}
	}
	f.AfterFunc(time.Second, tick)
	for range 3 {
		if err := f.BlockUntil(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		f.Advance(time.Second)
		f.Settle()
	}
	if got := count.Load(); got != 3 {
		t.Fatalf("ticks = %d, want 3", got)
	}
}

func TestFakeBlockUntil(t *testing.T) {
	f := NewFake(epoch)
	arm := make(chan time.Duration)
	fired := make(chan time.Time)
	go func() {
		tm := f.NewTimer(<-arm)
		fired <- <-tm.C()
	}()
	arm <- 5 * time.Second
	if err := f.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	f.Advance(5 * time.Second)
	if got := <-fired; !got.Equal(epoch.Add(5 * time.Second)) {
		t.Fatalf("fired at %v", got)
	}
	if err := f.BlockUntil(context.Background(), 0); err != nil {
		t.Fatalf("BlockUntil(0) = %v", err)
	}
}

func TestFakeBlockUntilCancelled(t *testing.T) {
	f := NewFake(epoch)
	f.NewTimer(time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- f.BlockUntil(ctx, 2) }()
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("BlockUntil = %v, want context.Canceled", err)
	}
}
