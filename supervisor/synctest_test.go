package supervisor_test

// These tests run inside a testing/synctest bubble with no clock
// configured: backoff timers, the intensity window and stop budgets all
// run on the bubble's fake time.

import (
	"context"
	"errors"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// TestSynctestBackoff: a child that crashes at once is restarted after
// delays growing from Min by Factor up to Max, and again after Min once it
// has run quietly for ResetAfter.
func TestSynctestBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var starts []time.Duration
		t0 := time.Now()
		quietRun := false // the sixth run stays up for a minute
		f := service.Func("flaky", func(ctx context.Context) error {
			starts = append(starts, time.Since(t0))
			if len(starts) == 6 {
				quietRun = true
				select {
				case <-time.After(time.Minute):
				case <-ctx.Done():
					return nil
				}
			}
			return errBoom
		})
		f.Configure(service.Config{Name: "flaky", Logger: &quiet})
		sup := newSup(supervisor.Spec{
			MaxRestarts: 100, Window: time.Hour,
			Backoff: strategy.Backoff{Min: time.Second, Max: 8 * time.Second, Factor: 2, NoJitter: true, ResetAfter: 30 * time.Second},
		}, nil)
		must(t, sup.Add(t.Context(), f))
		must(t, service.Start(t.Context(), sup))
		time.Sleep(85 * time.Second)
		synctest.Wait()
		must(t, sup.Stop(context.Background()))
		if !quietRun {
			t.Fatal("the sixth run never came")
		}
		sec := func(n int) time.Duration { return time.Duration(n) * time.Second }
		// Delays 1, 2, 4, 8, 8; the sixth run (at 23s) lasts 60s, then
		// the delay is Min again.
		want := []time.Duration{0, sec(1), sec(3), sec(7), sec(15), sec(23), sec(84)}
		if !slices.Equal(starts, want) {
			t.Fatalf("runs began at %v, want %v", starts, want)
		}
	})
}

// stuckStop is a child whose OnStop hangs until released.
type stuckStop struct {
	service.Base
	release chan struct{}
}

func (s *stuckStop) OnStop(context.Context) error { <-s.release; return nil }

// TestSynctestChildShutdownTimeout: the supervisor's Stop abandons a hung
// child at the child's shutdown timeout and still stops its sibling in
// time, in fake time.
func TestSynctestChildShutdownTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := &stuckStop{release: make(chan struct{})}
		h.Configure(service.Config{Name: "hung", Logger: &quiet})
		sib := newWorker("sib")
		sup := newSup(supervisor.Spec{}, nil)
		must(t, sup.Add(t.Context(), sib))
		must(t, sup.Add(t.Context(), h, supervisor.ChildSpec{ShutdownTimeout: 3 * time.Second}))
		must(t, service.Start(t.Context(), sup))
		began := time.Now()
		err := sup.Stop(context.Background())
		took := time.Since(began)
		if !errors.Is(err, service.ErrStopTimeout) {
			t.Fatalf("Stop: %v, want ErrStopTimeout", err)
		}
		if took < 3*time.Second || took > 4*time.Second {
			t.Fatalf("Stop took %v, want the child's 3s", took)
		}
		if sib.State() != service.Shutdown || sup.State() != service.Shutdown {
			t.Fatalf("sibling %v, supervisor %v, want Shutdown", sib.State(), sup.State())
		}
		close(h.release)
		synctest.Wait()
	})
}

// startFails is a child whose OnStart fails.
type startFails struct{ service.Base }

func (*startFails) OnStart(context.Context) error { return errBoom }

// TestSynctestFailedStartUndoneWithinStopTimeout: when a child fails to
// start, the children started before it are stopped within the
// supervisor's stop budget, not each within its own (longer) shutdown
// timeout: a failed start is undone as a stop.
func TestSynctestFailedStartUndoneWithinStopTimeout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout time.Duration // the supervisor's StopTimeout; 0: DefaultStopTimeout
		within  time.Duration
	}{
		{name: "StopTimeout", timeout: 300 * time.Millisecond, within: time.Second},
		{name: "default", within: service.DefaultStopTimeout + time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := &stuckStop{release: make(chan struct{})}
				h.Configure(service.Config{Name: "hung", Logger: &quiet})
				bad := &startFails{}
				bad.Configure(service.Config{Name: "bad", Logger: &quiet})
				sup := newSup(supervisor.Spec{Service: service.Config{StopTimeout: tc.timeout}}, nil)
				must(t, sup.Add(t.Context(), h, supervisor.ChildSpec{ShutdownTimeout: time.Hour}))
				must(t, sup.Add(t.Context(), bad))
				began := time.Now()
				err := service.Start(context.Background(), sup)
				took := time.Since(began)
				close(h.release)
				synctest.Wait()
				if !errors.Is(err, errBoom) {
					t.Fatalf("Start: %v, want the child's error", err)
				}
				if took > tc.within {
					t.Fatalf("the failed start took %v, want at most %v (not the hung child's hour)", took, tc.within)
				}
				if st := sup.State(); st != service.Init {
					t.Fatalf("supervisor %v after the failed start, want init", st)
				}
			})
		})
	}
}
