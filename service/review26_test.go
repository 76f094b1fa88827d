package service_test

// Review 26: timers' shared diag flag across a Restart, Timers() while
// the service stops.

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
)

// TestReview26TimerFlagAcrossRestart: a call of timer "t" of the first
// run, ignoring its ctx, is abandoned by a Restart; the new run's timer
// "t" is calling meanwhile. The diag flag "t" belongs to the service (one
// Diag for every run) but its count is per run: the abandoned call's end
// clears the flag while the new run's call still runs.
func TestReview26TimerFlagAcrossRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		oldIn, newIn := make(chan struct{}, 1), make(chan struct{}, 1)
		gate := make(chan struct{})
		s := newR24("r26", 100*time.Millisecond, func(ctx context.Context, s *r24) error {
			n := runs.Add(1)
			var once atomic.Bool
			return s.Every(time.Second, func(ctx context.Context) error {
				if !once.CompareAndSwap(false, true) {
					return nil
				}
				if n == 1 {
					oldIn <- struct{}{}
					<-gate // ignores ctx: abandoned by the stop
					return nil
				}
				newIn <- struct{}{}
				<-ctx.Done()
				return nil
			}, service.Named("t"), service.ExecFirst())
		})
		if err := service.Start(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		defer func() { _ = s.Stop(context.Background()) }()
		<-oldIn
		if err := s.Restart(context.Background()); err != nil {
			t.Logf("Restart: %v", err) // the stop half abandoned the call
		}
		<-newIn
		if !s.Diag().Has("t") {
			t.Fatalf("flag not set while the new run's call runs: %v", s.Diag().Flags())
		}
		close(gate) // the abandoned call ends
		synctest.Wait()
		if !s.Diag().Has("t") {
			t.Errorf("flag %q cleared by the end of the last run's abandoned call while the new run's call runs (flags %v)", "t", s.Diag().Flags())
		}
	})
}

// TestReview26TimersWhileStopping: Timers() lists the run's timers while
// its stop is in progress (its doc: until the run is stopped) and is nil
// once it is.
func TestReview26TimersWhileStopping(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		inStop, release := make(chan struct{}), make(chan struct{})
		s := newR24("r26", time.Second, func(ctx context.Context, s *r24) error {
			return s.Every(time.Second, func(context.Context) error { return nil }, service.Named("t"))
		})
		s.onStop = func(context.Context, *r24) error { close(inStop); <-release; return nil }
		if err := service.Start(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- s.Stop(context.Background()) }()
		<-inStop
		if got := s.Timers(); len(got) != 1 || got[0].Name != "t" {
			t.Errorf("Timers() while stopping: %+v, want timer t", got)
		}
		close(release)
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		if got := s.Timers(); got != nil {
			t.Errorf("Timers() once stopped: %+v, want nil", got)
		}
	})
}
