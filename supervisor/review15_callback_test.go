package supervisor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/strategy"
	"github.com/gomode/mode/supervisor"
)

// TestReview15DirectCallbackReentry: a Remove or Terminate made while the
// supervisor's goroutine does not run (before its first start, after a
// Stop) is performed on the caller's goroutine, and its events reach
// OnEvent there. A call from that OnEvent back into the supervisor (Stop,
// Restart, Start, Add, Remove) must not wait for the request it is called
// from: it returns within a second, and the Remove returns too.
func TestReview15DirectCallbackReentry(t *testing.T) {
	type op struct {
		name string
		call func(ctx context.Context, sup *supervisor.Supervisor) error
	}
	ops := []op{
		{"Stop", func(ctx context.Context, sup *supervisor.Supervisor) error { return sup.Stop(ctx) }},
		{"Restart", func(ctx context.Context, sup *supervisor.Supervisor) error { return sup.Restart(ctx) }},
		{"Start", func(ctx context.Context, sup *supervisor.Supervisor) error { return service.Start(ctx, sup) }},
		{"Add", func(ctx context.Context, sup *supervisor.Supervisor) error { return sup.Add(ctx, newWorker("late")) }},
		{"Remove other", func(ctx context.Context, sup *supervisor.Supervisor) error { return sup.Remove(ctx, sup.Child("b")) }},
	}
	phases := []struct {
		name  string
		setup func(t *testing.T, ctx context.Context, sup *supervisor.Supervisor)
	}{
		{"before start", func(*testing.T, context.Context, *supervisor.Supervisor) {}},
		{"after stop", func(t *testing.T, ctx context.Context, sup *supervisor.Supervisor) {
			must(t, service.Start(ctx, sup))
			must(t, sup.Stop(ctx))
		}},
	}
	takes := []struct {
		name string
		do   func(ctx context.Context, sup *supervisor.Supervisor) error
	}{
		{"Remove", func(ctx context.Context, sup *supervisor.Supervisor) error { return sup.Remove(ctx, sup.Child("a")) }},
		// a is Temporary: its Terminate removes it.
		{"Terminate", func(ctx context.Context, sup *supervisor.Supervisor) error { return sup.Terminate(ctx, "a") }},
	}
	for _, ph := range phases {
		for _, tk := range takes {
			for _, o := range ops {
				t.Run(ph.name+"/"+tk.name+"/"+o.name, func(t *testing.T) {
					ctx := bg(t)
					var (
						once    sync.Once
						called  bool
						callErr error
						took    time.Duration
					)
					var sup *supervisor.Supervisor
					sup = newSup(supervisor.Spec{OnEvent: func(e supervisor.Event) {
						if e.Kind != supervisor.ChildRemoved || e.Child != "a" {
							return
						}
						once.Do(func() {
							called = true
							// A bound, so that a deadlock fails the test
							// instead of hanging it.
							cctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
							defer cancel()
							began := time.Now()
							callErr = o.call(cctx, sup)
							took = time.Since(began)
						})
					}}, nil)
					must(t, sup.Add(ctx, newWorker("a"), supervisor.ChildSpec{Restart: strategy.Temporary}))
					must(t, sup.Add(ctx, newWorker("b")))
					ph.setup(t, ctx, sup)
					done := make(chan error, 1)
					go func() { done <- tk.do(ctx, sup) }()
					var err error
					select {
					case err = <-done:
					case <-time.After(10 * time.Second):
						t.Fatalf("%s did not return", tk.name)
					}
					defer func() { must(t, sup.Stop(ctx)) }()
					if err != nil && !errors.Is(err, supervisor.ErrNotRunning) {
						t.Errorf("%s: %v", tk.name, err)
					}
					if !called {
						t.Fatalf("no ChildRemoved event for a (%s %s)", ph.name, tk.name)
					}
					if took > time.Second || errors.Is(callErr, context.DeadlineExceeded) {
						t.Errorf("%s from OnEvent took %v: %v (it waits for the request it is called from)", o.name, took, callErr)
					}
				})
			}
		}
	}
}
