package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// TestCrashMarksOnlyItsGeneration: a crash marks the subtree of the run
// that crashed, never a run started since. Before the fix, a parent's
// crash marked its children's current runs after cancelling its own run,
// so a Restart made by whoever saw the parent's Done could get its new
// children crashed by the old reason (the Restart failed with it, or the
// child's next crash never reached the root). The race needed many
// rounds to show; each round here is three crashes and two restarts.
func TestCrashMarksOnlyItsGeneration(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 50
	}
	for n := range rounds {
		nop := zerolog.Nop()
		root := &logSvc{}
		root.Configure(service.Config{Name: "api", Logger: &nop})
		fire := make(chan struct{})
		child := service.Func("cache", func(ctx context.Context) error {
			select {
			case <-fire:
				panic("cache broke")
			case <-ctx.Done():
				return nil
			}
		})
		child.Configure(service.Config{Logger: &nop})
		if err := root.AddDependency(child); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := service.Start(ctx, root); err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			select {
			case fire <- struct{}{}:
			case <-time.After(time.Minute):
				t.Fatalf("round %d, run %d: the child's function never ran: root %s, child %s (crashed by an older reason?)", n, i, root.State(), child.State())
			}
			wctx, cancel := context.WithTimeout(ctx, time.Minute)
			err := root.WaitUntilStopped(wctx)
			cancel()
			if !errors.Is(err, service.ErrPanic) {
				t.Fatalf("round %d, run %d: %v, want the panic: root %s, child %s", n, i, err, root.State(), child.State())
			}
			if i < 2 {
				if err := root.Restart(ctx); err != nil {
					t.Fatalf("round %d, restart %d: %v", n, i, err)
				}
				if st := child.State(); st != service.Running {
					t.Fatalf("round %d, restart %d: child %s after the restart, want running", n, i, st)
				}
			}
		}
		if err := root.Stop(ctx); err != nil {
			t.Fatal(err)
		}
	}
}
