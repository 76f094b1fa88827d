package supervisor_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

type valueKey struct{}

// runCtxs records the run ctx of every run of a Func.
type runCtxs struct {
	f    *service.FuncService
	runs chan context.Context
}

func newRunCtxs(name string) *runCtxs {
	rc := &runCtxs{runs: make(chan context.Context, 8)}
	rc.f = service.Func(name, func(ctx context.Context) error {
		rc.runs <- ctx
		<-ctx.Done()
		return ctx.Err()
	})
	rc.f.Configure(service.Config{Logger: &quiet})
	return rc
}

// next waits for the next run and checks its ctx: want's value, not
// cancelled by the end of the start ctx.
func (rc *runCtxs) next(t *testing.T, what, want string) context.Context {
	t.Helper()
	var ctx context.Context
	select {
	case ctx = <-rc.runs:
	case <-bg(t).Done():
		t.Fatalf("%s: %s: no run", what, rc.f.Label())
	}
	if v := ctx.Value(valueKey{}); v != want {
		t.Errorf("%s: %s: run ctx value %v, want %q", what, rc.f.Label(), v, want)
	}
	if ctx.Err() != nil {
		t.Errorf("%s: %s: run ctx cancelled while it runs: %v", what, rc.f.Label(), context.Cause(ctx))
	}
	return ctx
}

// The run ctx of a supervised child, and of a child of that child, keeps
// the values of the supervisor's start ctx and none of its cancellation,
// at the first start and after the supervisor's restarts (a manual
// restart takes the values of its caller's ctx); each run has its own
// ctx, cancelled with ErrStopped or the crash reason when it ends. (The
// supervisor makes the values ctx once per run and shares it.)
func TestRunCtxValuesAcrossRestarts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy strategy.Strategy
		restart  func(t *testing.T, sup *supervisor.Supervisor, a, g *runCtxs)
	}{
		{"one-for-one crash", strategy.OneForOne, func(t *testing.T, _ *supervisor.Supervisor, a, _ *runCtxs) {
			a.f.Crash(errBoom)
		}},
		{"one-for-all crash", strategy.OneForAll, func(t *testing.T, _ *supervisor.Supervisor, a, _ *runCtxs) {
			a.f.Crash(errBoom)
		}},
		{"grandchild crash", strategy.OneForOne, func(t *testing.T, _ *supervisor.Supervisor, _, g *runCtxs) {
			g.f.Crash(errBoom) // its parent, a Base child, crashes with it
		}},
		{"manual restart", strategy.OneForOne, func(t *testing.T, _ *supervisor.Supervisor, a, _ *runCtxs) {
			must(t, a.f.Restart(context.WithValue(bg(t), valueKey{}, "from restart")))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, g := newRunCtxs("a"), newRunCtxs("g")
			p := newWorker("p") // a Base child with a Func child of its own
			must(t, p.AddDependency(g.f))
			ev := newEvents()
			sup := newSup(supervisor.Spec{Strategy: tc.strategy}, ev)
			must(t, sup.Add(bg(t), a.f))
			must(t, sup.Add(bg(t), p))
			start, cancel := context.WithCancel(context.WithValue(bg(t), valueKey{}, "from start"))
			must(t, service.Start(start, sup))
			cancel() // the start ctx ends: no run may hear it
			first := map[string]context.Context{"a": a.next(t, "start", "from start"), "g": g.next(t, "start", "from start")}

			tc.restart(t, sup, a, g)
			again := map[string]context.Context{}
			if tc.name != "grandchild crash" {
				want := "from start"
				if tc.name == "manual restart" {
					want = "from restart"
				}
				again["a"] = a.next(t, "restart", want)
			}
			if tc.name != "one-for-one crash" && tc.name != "manual restart" {
				again["g"] = g.next(t, "restart", "from start")
			}
			for name, ctx := range again {
				old := first[name]
				if old.Err() == nil {
					t.Errorf("%s: the ended run's ctx is not cancelled", name)
				}
				if cause := context.Cause(old); !errors.Is(cause, errBoom) && !errors.Is(cause, service.ErrStopped) {
					t.Errorf("%s: the ended run's cause %v, want the crash or ErrStopped", name, cause)
				}
				if ctx == old {
					t.Errorf("%s: the new run shares the old run's ctx", name)
				}
			}
			must(t, sup.Stop(bg(t)))
			for name, ctx := range first {
				if c, ok := again[name]; ok {
					ctx = c
				}
				if !errors.Is(context.Cause(ctx), service.ErrStopped) {
					t.Errorf("%s: after Stop, cause %v, want ErrStopped", name, context.Cause(ctx))
				}
			}
		})
	}
}
