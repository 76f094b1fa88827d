package bench

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"go.uber.org/goleak"
)

// TestGoroutinesPerSupervisor checks the goroutine budget: one
// goroutine per running supervisor, one per Func (or task), none for an
// idle Base service. Three nested supervisors, each with 10 Base children,
// and 5 Funcs under the innermost one, hold 3 + 5 goroutines: Start
// returns once every child has started, and a Func's goroutine is started
// during its Start.
func TestGoroutinesPerSupervisor(t *testing.T) {
	const (
		levels = 3
		bases  = 10
		funcs  = 5
	)
	ctx := context.Background()
	var sups []*supervisor.Supervisor
	for i := range levels {
		s := supervisor.New(supervisor.Spec{Service: quiet(fmt.Sprintf("sup%d", i))})
		for j := range bases {
			c := &idle{}
			c.Configure(quiet(fmt.Sprintf("base%d.%d", i, j)))
			if err := s.Add(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}
		if i > 0 {
			if err := sups[i-1].Add(context.Background(), s); err != nil {
				t.Fatal(err)
			}
		}
		sups = append(sups, s)
	}
	for j := range funcs {
		f := service.Func(fmt.Sprintf("func%d", j), func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		})
		f.Configure(quiet(""))
		if err := sups[levels-1].Add(context.Background(), f); err != nil {
			t.Fatal(err)
		}
	}

	// Let goroutines of earlier tests and of the runtime's start-up end
	// first (goleak retries until none is left), so the count is exact.
	if err := goleak.Find(); err != nil {
		t.Fatal(err)
	}
	before := runtime.NumGoroutine()
	if err := service.Start(ctx, sups[0]); err != nil {
		t.Fatal(err)
	}
	running := runtime.NumGoroutine()
	if err := sups[0].Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := running-before, levels+funcs; got != want {
		t.Errorf("a running tree of %d supervisors, %d Base services and %d Funcs holds %d goroutines, want %d",
			levels, levels*bases, funcs, got, want)
	}
	for _, s := range sups {
		if st := s.State(); st != service.Shutdown {
			t.Errorf("%s: state %v after Stop", s.Label(), st)
		}
	}
}
