package supervisor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
)

// TestCrashStormWithOutsideRestarts: children crashing over and over
// (themselves, and a grandchild under them) while a caller outside
// restarts them, directly or through the supervisor: the tree keeps
// running, every call returns, and the stop is clean.
func TestCrashStormWithOutsideRestarts(t *testing.T) {
	tests := []struct {
		name    string
		restart func(ctx context.Context, s *supervisor.Supervisor, c *etNode) error
	}{
		{"child's own Restart", func(ctx context.Context, _ *supervisor.Supervisor, c *etNode) error { return c.Restart(ctx) }},
		{"supervisor's Terminate and RestartChild", func(ctx context.Context, s *supervisor.Supervisor, c *etNode) error {
			if err := s.Terminate(ctx, "c"); err != nil {
				return err
			}
			return s.RestartChild(ctx, "c")
		}},
	}
	boom := errors.New("boom")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			c, g := newET("c"), newET("g")
			etChain(t, c, g)
			s := etSup(t, "sup", supervisor.Spec{MaxRestarts: 1 << 20, Window: time.Hour}, c)
			if err := service.Start(ctx, s); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(3)
			go func() {
				defer wg.Done()
				for range 200 {
					c.Crash(boom)
				}
			}()
			go func() {
				defer wg.Done()
				for range 200 {
					g.Crash(boom)
				}
			}()
			go func() {
				defer wg.Done()
				for range 50 {
					err := tt.restart(ctx, s, c)
					if err != nil && !errors.Is(err, service.ErrNotStarted) && !errors.Is(err, supervisor.ErrChildRunning) &&
						!errors.Is(err, boom) && !errors.Is(err, service.ErrAlreadyStarted) && !errors.Is(err, supervisor.ErrNotRunning) {
						t.Errorf("restart: %v", err)
					}
				}
			}()
			wg.Wait()
			if st := s.State(); st != service.Running {
				t.Errorf("supervisor %v, want Running (reason %v)", st, s.CrashReason())
			}
			if err := s.Stop(ctx); err != nil {
				t.Errorf("stop: %v", err)
			}
			if c.State() == service.Running || g.State() == service.Running {
				t.Errorf("after the stop: c %v, g %v", c.State(), g.State())
			}
		})
	}
}
