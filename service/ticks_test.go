package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

func TestTicks(t *testing.T) {
	fake := clock.NewFake(epoch)
	ticks := newCalls()
	ended := make(chan struct{})
	s, _ := startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Go("ticker", func(ctx context.Context) error {
			defer close(ended)
			for now := range s.Ticks(time.Second) {
				ticks <- now
			}
			return nil
		})
	})
	armed(t, fake, 1)
	fake.Advance(time.Second)
	if at := ticks.next(t); !at.Equal(epoch.Add(time.Second)) {
		t.Fatalf("tick at %v", at)
	}
	armed(t, fake, 1)
	fake.Advance(10 * time.Second) // a stall: one tick, not ten
	if at := ticks.next(t); !at.Equal(epoch.Add(11 * time.Second)) {
		t.Fatalf("tick at %v", at)
	}
	armed(t, fake, 1)
	ticks.none(t)
	wantDeadline(t, fake, epoch.Add(12*time.Second))
	fake.Advance(1300 * time.Millisecond) // late: next sleep only to the slot
	ticks.next(t)
	armed(t, fake, 1)
	wantDeadline(t, fake, epoch.Add(13*time.Second))

	if err := s.Stop(timeCtx(t)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	default:
		t.Fatal("Ticks did not end with the run")
	}
	ticks.none(t)
}

func TestTicksBreakAndNothing(t *testing.T) {
	fake := clock.NewFake(epoch)
	done := make(chan int, 3)
	startTimed(t, fake, service.Config{}, func(ctx context.Context, s *timed) error {
		return s.Go("ticker", func(ctx context.Context) error {
			n := 0
			for range s.Ticks(0) { // non-positive: nothing
				n++
			}
			done <- n
			for range s.Ticks(-time.Second) {
				n++
			}
			done <- n
			for range s.Ticks(time.Second) {
				n++
				break
			}
			done <- n
			return nil
		})
	})
	if n := <-done; n != 0 {
		t.Fatalf("Ticks(0) yielded %d", n)
	}
	if n := <-done; n != 0 {
		t.Fatalf("Ticks(-1s) yielded %d", n)
	}
	armed(t, fake, 1)
	fake.Advance(time.Second)
	if n := <-done; n != 1 {
		t.Fatalf("break after %d ticks", n)
	}
	if p := fake.Pending(); p != 0 {
		t.Fatalf("%d timers left armed after break", p)
	}

	var idle timed
	for range idle.Ticks(time.Second) {
		t.Fatal("Ticks on a service never started yielded")
	}
}
