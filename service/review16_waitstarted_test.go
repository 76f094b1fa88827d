package service_test

import (
	"context"
	"testing"

	"github.com/gomode/mode/service"
)

// TestReview16WaitStartedFuncEndsAtOnce: WaitStarted returns nil once the
// run has reached Running, "even if it has stopped since". Without
// observers, startRun launches a Func's function in the section that sets
// Running (goFunc under Base.mu) and fires the run's running event only
// after that section: a function that ends at once (an error, a panic, a
// normal exit, a Stop of its own) can close the run's Done first, and a
// WaitStarted waiting meanwhile then returns the run's cause instead of
// nil. The window is a few instructions wide, so each case starts many
// Funcs; a WaitStarted begun before Start waits on the coming run.
func TestReview16WaitStartedFuncEndsAtOnce(t *testing.T) {
	const rounds = 3000
	cases := []struct {
		name string
		fn   func(f **service.FuncService) func(ctx context.Context) error
	}{
		{"error", func(**service.FuncService) func(context.Context) error {
			return func(context.Context) error { return errBoom }
		}},
		{"panic", func(**service.FuncService) func(context.Context) error {
			return func(context.Context) error { panic("kaboom") }
		}},
		{"normal exit", func(**service.FuncService) func(context.Context) error {
			return func(context.Context) error { return nil }
		}},
		{"own Stop", func(f **service.FuncService) func(context.Context) error {
			return func(ctx context.Context) error { return (*f).Stop(ctx) }
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			for i := 0; i < rounds; i++ {
				var f *service.FuncService
				f = service.Func("w", tc.fn(&f))
				f.Configure(service.Config{Logger: &quiet})
				_ = f.Done() // the coming run: WaitStarted below waits on it
				res := make(chan error, 1)
				go func() { res <- f.WaitStarted(ctx) }()
				must(t, service.Start(ctx, f))
				err := <-res
				if err := f.WaitUntilStopped(ctx); err != nil && tc.name == "normal exit" {
					t.Fatalf("WaitUntilStopped: %v", err)
				}
				_ = f.Stop(ctx)
				if err != nil {
					t.Fatalf("round %d: WaitStarted of a run that reached Running (Start returned nil): %v, want nil", i, err)
				}
			}
		})
	}
}
