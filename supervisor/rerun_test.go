package supervisor_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
	"go.uber.org/goleak"
)

// goid returns the calling goroutine's ID, read from its stack header
// ("goroutine 42 [running]:"). For tests only.
func goid() int64 {
	var buf [64]byte
	n := runtime.Stack(buf[:], false)
	f := bytes.Fields(buf[:n])
	id, _ := strconv.ParseInt(string(f[1]), 10, 64)
	return id
}

// A Func directly under a supervisor is restarted on the goroutine of its
// crashed run: every run, crashing by returning an error or by panicking,
// runs on the same goroutine.
func TestFuncRestartsOnItsOwnGoroutine(t *testing.T) {
	ctx := bg(t)
	const runs = 5
	ids := make(chan int64, runs)
	n := 0
	f := service.Func("crasher", func(ctx context.Context) error {
		ids <- goid()
		n++
		switch {
		case n == runs:
			<-ctx.Done()
			return nil
		case n%2 == 0:
			panic("boom")
		}
		return errBoom
	})
	f.Configure(service.Config{Logger: &quiet})
	ev := newEvents()
	sup := newSup(supervisor.Spec{MaxRestarts: runs}, ev)
	must(t, sup.Add(f))
	must(t, service.Start(ctx, sup))
	ev.wait(t, supervisor.ChildRestarted, "", runs-1)
	first := <-ids
	for i := 1; i < runs; i++ {
		if id := <-ids; id != first {
			t.Fatalf("run %d on goroutine %d, run 1 on %d", i+1, id, first)
		}
	}
	must(t, sup.Stop(ctx))
}

// The goroutine a crashed Func keeps for its next run ends whenever no run
// follows: the child is temporary (removed), the limit is exceeded (the
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
			must(t, sup.Add(f, tc.child))
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
	must(t, sup.Add(a))
	must(t, sup.Add(b))
	must(t, service.Start(ctx, sup))
	a.Crash(errBoom)
	ev.wait(t, supervisor.ChildRestarted, "b", 1)
	if n := ev.count(supervisor.StartFailed, ""); n != 0 {
		t.Fatalf("%d failed starts: %s", n, ev)
	}
	must(t, sup.Stop(ctx))
}
