package mode_test

// Review 31: the Worker retires its root as its stop begins, or its start
// has failed (b0ef954).

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
)

// TestReview31RetireEdges: who else a retired root could hurt.
func TestReview31RetireEdges(t *testing.T) {
	t.Run("root started elsewhere", func(t *testing.T) {
		// A Worker given a service its owner already runs fails to
		// start it (ErrAlreadyStarted) and leaves it alone: the owner's
		// Restart and Stop of it must still work.
		s := newR23("root", service.Config{})
		must(t, service.Start(testCtx(t), s))
		w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: time.Second}
		err := r23Run(t, w, testCtx(t))(10 * time.Second)
		if !errors.Is(err, service.ErrAlreadyStarted) {
			t.Fatalf("Run: %v, want ErrAlreadyStarted", err)
		}
		if got := s.State(); got != service.Running {
			t.Fatalf("state after the Worker's failed start: %s, want running", got)
		}
		if err := s.Restart(testCtx(t)); err != nil {
			t.Errorf("owner's Restart after a Worker refused the service: %v", err)
		}
		must(t, s.Stop(testCtx(t)))
	})
	t.Run("second Run", func(t *testing.T) {
		// A second Run of the Worker returns ErrRunTwice and retires
		// nothing: the first run's root still restarts.
		s := newR23("root", service.Config{})
		ctx, cancel := context.WithCancel(testCtx(t))
		defer cancel()
		w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: time.Second}
		wait := r23Run(t, w, ctx)
		must(t, s.WaitStarted(testCtx(t)))
		if err := w.Run(testCtx(t)); !errors.Is(err, mode.ErrRunTwice) {
			t.Fatalf("second Run: %v, want ErrRunTwice", err)
		}
		if err := s.Restart(testCtx(t)); err != nil {
			t.Errorf("Restart during the first Run, after a second one: %v", err)
		}
		cancel()
		if err := wait(10 * time.Second); err != nil {
			t.Fatalf("Run: %v", err)
		}
		if err := s.Restart(testCtx(t)); !errors.Is(err, service.ErrStopped) {
			t.Errorf("Restart after Run: %v, want ErrStopped", err)
		}
	})
	t.Run("failed start", func(t *testing.T) {
		s := newR23("root", service.Config{})
		s.onStart = func(context.Context) error { return errors.New("no") }
		w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: time.Second}
		if err := r23Run(t, w, testCtx(t))(10 * time.Second); err == nil {
			t.Fatal("Run: nil after a failed start")
		}
		s.onStart = nil
		for name, f := range map[string]func() error{
			"Start":      func() error { return service.Start(testCtx(t), s) },
			"Restart":    func() error { return s.Restart(testCtx(t)) },
			"MaybeStart": func() error { _, err := service.MaybeStart(testCtx(t), s); return err },
		} {
			if err := f(); !errors.Is(err, service.ErrStopped) {
				t.Errorf("%s after the failed start: %v, want ErrStopped", name, err)
			}
		}
		if s.State() == service.Running {
			t.Error("root running after Run")
		}
	})
	t.Run("restart from its task during the stop", func(t *testing.T) {
		// The root's task calls Restart once the stop has begun: it
		// returns at once (ErrStopped: retired; the Restart doc's
		// ErrStopping for a call from inside is not what it gets), and
		// the root is not running after Run.
		s := newR23("root", service.Config{})
		got := make(chan error, 1)
		s.task = func(ctx context.Context) error {
			<-ctx.Done()
			got <- s.Restart(ctx)
			return nil
		}
		ctx, cancel := context.WithCancel(testCtx(t))
		w := &mode.Worker{Service: s, Logger: &r23Nop, StopTimeout: 5 * time.Second}
		wait := r23Run(t, w, ctx)
		must(t, s.WaitStarted(testCtx(t)))
		cancel()
		if err := wait(10 * time.Second); err != nil {
			t.Fatalf("Run: %v", err)
		}
		select {
		case err := <-got:
			if !errors.Is(err, service.ErrStopped) && !errors.Is(err, service.ErrStopping) {
				t.Errorf("Restart from the task during the stop: %v", err)
			}
		default:
			t.Fatal("the task's Restart had not returned when Run did")
		}
		if st := s.State(); st != service.Shutdown {
			t.Errorf("root %s after Run, want shutdown", st)
		}
	})
}
