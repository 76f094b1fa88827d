package mode_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/gomode/mode/supervisor"
	"github.com/rs/zerolog"
)

// TestWorkerCrashText: Run's error for a crashed tree names the root once,
// whether or not the crash reason names it already (a supervisor that gave
// up names itself).
func TestWorkerCrashText(t *testing.T) {
	l := zerolog.Nop()
	var ready chan struct{} // closed by the Worker's Ready: the crash comes once the tree runs
	for _, tc := range []struct {
		name string
		root func() service.Service
		want string
	}{
		{"a service's own crash", func() service.Service {
			f := service.Func("job", func(ctx context.Context) error { return crashOnReady(ctx, ready) })
			f.Configure(service.Config{Name: "app", Logger: &l})
			return f
		}, "app crashed: job: boom"},
		{"a Func named by its name", func() service.Service {
			f := service.Func("job", func(ctx context.Context) error { return crashOnReady(ctx, ready) })
			f.Configure(service.Config{Logger: &l})
			return f
		}, "job crashed: boom"},
		{"a supervisor that gave up", func() service.Service {
			s := supervisor.New(supervisor.Spec{Service: service.Config{Name: "workers", Logger: &l}, NeverRestart: true})
			f := service.Func("pool", func(ctx context.Context) error { return crashOnReady(ctx, ready) })
			f.Configure(service.Config{Logger: &l})
			if err := s.Add(context.Background(), f); err != nil {
				t.Fatal(err)
			}
			return s
		}, "workers crashed: restart intensity exceeded (no restarts allowed): pool: boom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ready = make(chan struct{})
			w := quietWorker(tc.root())
			w.Ready = func() { close(ready) }
			done := make(chan error, 1)
			go func() { done <- w.Run(context.Background()) }()
			select {
			case err := <-done:
				if err == nil || err.Error() != tc.want || mode.ExitCode(err) != mode.ExitFailure {
					t.Fatalf("Run: %v (exit %d), want %q (exit %d)", err, mode.ExitCode(err), tc.want, mode.ExitFailure)
				}
			case <-time.After(time.Minute):
				t.Fatal("Run did not return")
			}
		})
	}
}

// crashOnReady fails with "boom" once ready is closed.
func crashOnReady(ctx context.Context, ready <-chan struct{}) error {
	select {
	case <-ready:
		return errors.New("boom")
	case <-ctx.Done():
		return nil
	}
}
