package supervisor_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// transitions records a service's state changes (service.Observer).
type transitions struct {
	mu  sync.Mutex
	all []string
}

func (o *transitions) StateChanged(_ service.Service, from, to service.State) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.all = append(o.all, from.String()+">"+to.String())
}

func (o *transitions) list() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.all...)
}

// TestReview16FuncRestartPaths walks the restart path of a Func child with
// and without observers: without, the section that makes the child Running
// also launches its function and ends the transition, and the stop half of
// a restart hands the state straight to the start half (no Shutdown in
// between); with, each step has its section and the observers hear every
// change. In both, the function must see its service Running at entry
// (it is launched after the state is set), every exit must be restarted
// (one restart per crash, counted), and with an observer the supervisor's
// goroutine's changes come in order: Stopping, Shutdown, Starting, Running.
func TestReview16FuncRestartPaths(t *testing.T) {
	const n = 200
	exits := []struct {
		name string
		fn   func() error
	}{
		{"error", func() error { return errors.New("boom") }},
		{"nil", func() error { return nil }},
		{"panic", func() error { panic("boom") }},
	}
	for _, observed := range []bool{false, true} {
		for _, ex := range exits {
			t.Run(fmt.Sprintf("observed=%v/%s", observed, ex.name), func(t *testing.T) {
				ctx := bg(t)
				ev := newEvents()
				sup := newSup(supervisor.Spec{MaxRestarts: 1 << 20, Window: time.Hour}, ev)
				lastIn := make(chan struct{}) // the last run has entered
				var (
					mu      sync.Mutex
					entered int
					wrong   []string
					f       *service.FuncService
				)
				f = service.Func("f", func(ctx context.Context) error {
					st := f.State()
					mu.Lock()
					entered++
					last, lastFirst := entered > n, entered == n+1
					if st != service.Running {
						wrong = append(wrong, st.String())
					}
					mu.Unlock()
					if last {
						if lastFirst {
							close(lastIn)
						}
						<-ctx.Done()
						return ctx.Err()
					}
					return ex.fn()
				})
				f.Configure(service.Config{Logger: &quiet})
				must(t, sup.Add(ctx, f, supervisor.ChildSpec{ID: "f"}))
				obs := &transitions{}
				if observed {
					detach, err := service.Observe(f, obs)
					must(t, err)
					defer detach()
				}
				must(t, service.Start(ctx, sup))
				ev.wait(t, supervisor.ChildRestarted, "f", n)
				<-lastIn // else the Stop may come before the last run's function runs: it would see Stopping
				must(t, sup.Stop(ctx))
				mu.Lock()
				defer mu.Unlock()
				if len(wrong) > 0 {
					t.Errorf("the function saw its service in %v at entry, want running", wrong)
				}
				if entered != n+1 {
					t.Errorf("function entered %d times, want %d", entered, n+1)
				}
				if got := f.RestartCount(); got != n {
					t.Errorf("RestartCount = %d, want %d", got, n)
				}
				if got := f.State(); got != service.Shutdown {
					t.Errorf("state after the supervisor's Stop = %v, want shutdown", got)
				}
				if !observed {
					return
				}
				// The supervisor's goroutine's changes, in order.
				want := []string{"crashed>stopping", "stopping>shutdown", "shutdown>starting", "starting>running"}
				if ex.name == "nil" {
					want[0] = "running>stopping" // a normal exit: not crashed
				}
				var seq []string
				for _, c := range obs.list() {
					for _, w := range want {
						if c == w {
							seq = append(seq, c)
						}
					}
				}
				if len(seq) == 0 || seq[0] != "starting>running" {
					t.Fatalf("changes begin with %v, want the first start's starting>running", seq[:min(len(seq), 1)])
				}
				seq = seq[1:]
				for i := 0; i+len(want) <= len(seq) && i/len(want) < n; i += len(want) {
					for j, w := range want {
						if seq[i+j] != w {
							t.Fatalf("restart %d: change %d is %s, want %s (changes %v)", i/len(want)+1, j, seq[i+j], w, seq[i:min(len(seq), i+len(want))])
						}
					}
				}
				if len(seq) < n*len(want) {
					t.Errorf("heard %d changes of the restarts, want at least %d", len(seq), n*len(want))
				}
			})
		}
	}
}

// TestReview16StuckRestartEndsShutdown: a restart whose stop half abandons
// a task that ignores its ctx fails (the previous run is still running:
// waitStuck), and the supervisor gives up. The child must be left in
// Shutdown, not in the Stopping a quiet restart's stop half leaves for its
// start half, with and without observers, under each strategy.
func TestReview16StuckRestartEndsShutdown(t *testing.T) {
	for _, st := range []strategy.Strategy{strategy.OneForOne, strategy.OneForAll, strategy.RestForOne} {
		for _, observed := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v/observed=%v", st, observed), func(t *testing.T) {
				ctx := bg(t)
				ev := newEvents()
				sup := newSup(supervisor.Spec{Strategy: st, MaxRestarts: 100, Window: time.Hour}, ev)
				release := make(chan struct{})
				done := make(chan struct{})
				f := service.Func("stuck", func(ctx context.Context) error {
					select {
					case <-done: // a later run: leave at once
						return nil
					default:
					}
					defer close(done)
					<-release // ignores ctx
					return nil
				})
				f.Configure(service.Config{Logger: &quiet})
				must(t, sup.Add(ctx, f, supervisor.ChildSpec{ID: "stuck", ShutdownTimeout: 20 * time.Millisecond}))
				if observed {
					detach, err := service.Observe(f, &transitions{})
					must(t, err)
					defer detach()
				}
				must(t, service.Start(ctx, sup))
				f.Crash(errors.New("boom"))
				gave := ev.wait(t, supervisor.MaxRestartsExceeded, "", 1)
				if r := gave[0].Reason; !errors.Is(r, service.ErrStopTimeout) || !strings.Contains(r.Error(), "previous run is still running") {
					t.Errorf("gave up with %v, want the restart's ErrStopTimeout: a previous run is still running", r)
				}
				if got := f.State(); got != service.Shutdown {
					t.Errorf("child state after the failed restart = %v, want shutdown", got)
				}
				close(release)
				<-done
				_ = sup.Stop(ctx) // crashed (it gave up): the stop reports it
				if got := f.State(); got != service.Shutdown {
					t.Errorf("child state after the supervisor's Stop = %v, want shutdown", got)
				}
			})
		}
	}
}
