package supervisor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"go.uber.org/goleak"
)

// A Func's runs each have their own goroutine (the goroutine of a crashed
// run ends; the supervisor starts the next run on a new one). No
// goroutine of a run outlives it, whatever ends the run:
// the child is temporary (removed), the limit is exceeded (the
// supervisor gives up), or the supervisor stops before restarting it
// (backoff). Each case ends with no goroutine of the tree left.
func TestFuncSpareGoroutineEnds(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spec  supervisor.Spec
		child supervisor.ChildSpec
		// wait until the outcome, then stop what is left
		settle func(t *testing.T, ev *events, sup *supervisor.Supervisor)
	}{
		{
			name:  "temporary child removed",
			child: supervisor.ChildSpec{Restart: strategy.Temporary},
			settle: func(t *testing.T, ev *events, sup *supervisor.Supervisor) {
				ev.wait(t, supervisor.ChildCrashed, "", 1)
				must(t, sup.Stop(bg(t)))
			},
		},
		{
			name: "limit exceeded",
			spec: supervisor.Spec{NeverRestart: true},
			settle: func(t *testing.T, ev *events, sup *supervisor.Supervisor) {
				ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)
				_ = sup.Stop(bg(t))
			},
		},
		{
			name: "stopped during backoff",
			spec: supervisor.Spec{Backoff: strategy.Backoff{Min: time.Hour, Max: time.Hour}},
			settle: func(t *testing.T, ev *events, sup *supervisor.Supervisor) {
				ev.wait(t, supervisor.BackoffStarted, "", 1)
				must(t, sup.Stop(bg(t)))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			crash := make(chan struct{})
			f := service.Func("crasher", func(ctx context.Context) error {
				select {
				case <-crash:
					return errBoom
				case <-ctx.Done():
					return nil
				}
			})
			f.Configure(service.Config{Logger: &quiet})
			ev := newEvents()
			sup := newSup(tc.spec, ev)
			must(t, sup.Add(context.Background(), f, tc.child))
			must(t, service.Start(bg(t), sup))
			close(crash) // every run crashes from now on
			tc.settle(t, ev, sup)
			if st := f.State(); st != service.Shutdown {
				t.Fatalf("child state %v, want Shutdown", st)
			}
		})
	}
}

// needsPeer is a service whose OnStart waits until its peer's function
// runs: a restarted Func's function must start before the next child of
// its group starts.
type needsPeer struct {
	service.Base
	peerRuns chan struct{}
}

func (n *needsPeer) OnStart(ctx context.Context) error {
	select {
	case <-n.peerRuns:
		return nil
	case <-time.After(10 * time.Second): // a deadlock would fail the test, not hang it
		return errors.New("the peer Func's function never ran")
	}
}

var _ service.OnStarter = (*needsPeer)(nil)

func TestGroupRestartLaunchesFuncBeforeNextChild(t *testing.T) {
	ctx := bg(t)
	runs := make(chan struct{}, 10)
	a := service.Func("a", func(ctx context.Context) error {
		runs <- struct{}{}
		<-ctx.Done()
		return nil
	})
	a.Configure(service.Config{Logger: &quiet})
	b := &needsPeer{peerRuns: runs}
	b.Configure(service.Config{Name: "b", Logger: &quiet})
	ev := newEvents()
	sup := newSup(supervisor.Spec{Strategy: strategy.OneForAll}, ev)
	must(t, sup.Add(context.Background(), a))
	must(t, sup.Add(context.Background(), b))
	must(t, service.Start(ctx, sup))
	a.Crash(errBoom)
	ev.wait(t, supervisor.ChildRestarted, "b", 1)
	if n := ev.count(supervisor.StartFailed, ""); n != 0 {
		t.Fatalf("%d failed starts: %s", n, ev)
	}
	must(t, sup.Stop(ctx))
}
