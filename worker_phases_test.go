package mode_test

import (
	"context"
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// raiser raises SIGTERM from OnStarted: the signal reaches the Worker just
// as the start completes, before or after its last check.
type raiser struct{ service.Base }

func (r *raiser) OnStarted(context.Context) error {
	return syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
}

// A stop signal that arrives while the start completes is not lost: the
// start is rolled back, or the tree stops at once once started; Ready is
// not called for a tree that is being stopped. The race is narrow, so the
// test runs it many times.
func TestWorkerStopSignalAsStartEnds(t *testing.T) {
	l := zerolog.Nop()
	for i := range 30 {
		s := &raiser{}
		s.Configure(service.Config{Logger: &l})
		w := quietWorker(s)
		done := make(chan error, 1)
		go func() { done <- w.Run(context.Background()) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("run %d: Run: %v", i, err)
			}
		case <-time.After(time.Minute):
			t.Fatalf("run %d: Run did not return: the signal was lost (state %v)", i, s.State())
		}
		if st := s.State(); st != service.Init && st != service.Shutdown {
			t.Fatalf("run %d: state %v", i, st)
		}
	}
}

// hangStop is a service whose OnStop hangs (ignoring its ctx) until the
// test ends; its start hangs in OnStarted until its ctx ends, or fails.
type hangStop struct {
	service.Base
	failStart bool
	entered   chan struct{} // closed when OnStarted waits
	release   chan struct{} // lets OnStop return
}

func (s *hangStop) OnStarted(ctx context.Context) error {
	if s.failStart {
		return errors.New("no route to the database")
	}
	close(s.entered)
	<-ctx.Done()
	return ctx.Err()
}

func (s *hangStop) OnStop(context.Context) error {
	<-s.release
	return nil
}

// A start whose rollback runs out of its budget is ExitStopTimeout, and
// Run's error names what was abandoned, whether the start was cancelled
// (ctx ended) or failed on its own: the later phase wins.
func TestWorkerRollbackTimesOut(t *testing.T) {
	for _, tc := range []struct {
		name      string
		failStart bool
		code      int
	}{
		{"cancelled start", false, mode.ExitStopTimeout},
		{"failed start", true, mode.ExitStopTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := zerolog.Nop()
			s := &hangStop{failStart: tc.failStart, entered: make(chan struct{}), release: make(chan struct{})}
			t.Cleanup(func() { close(s.release) })
			s.Configure(service.Config{Logger: &l, StopTimeout: 50 * time.Millisecond})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := quietWorker(s)
			done := make(chan error, 1)
			go func() { done <- w.Run(ctx) }()
			if !tc.failStart {
				<-s.entered
				cancel()
			}
			var err error
			select {
			case err = <-done:
			case <-time.After(time.Minute):
				t.Fatal("Run did not return")
			}
			if code := mode.ExitCode(err); code != tc.code {
				t.Fatalf("Run: %v: exit %d, want %d", err, code, tc.code)
			}
			if !errors.Is(err, service.ErrStopTimeout) {
				t.Fatalf("Run: %v, want ErrStopTimeout", err)
			}
		})
	}
}

// A root that is already running elsewhere is a failed start, and the
// Worker leaves that tree alone.
func TestWorkerRootAlreadyRunning(t *testing.T) {
	s := idle()
	if err := service.Start(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	defer s.Stop(context.Background())
	err := quietWorker(s).Run(context.Background())
	if !errors.Is(err, service.ErrAlreadyStarted) || mode.ExitCode(err) != mode.ExitStartFailed {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
	if st := s.State(); st != service.Running {
		t.Fatalf("the running tree was disturbed: %v", st)
	}
}

// Ready that ends Run's goroutine (runtime.Goexit: t.FailNow in a user's
// test) does not leave the tree running: it is stopped first.
func TestWorkerReadyGoexit(t *testing.T) {
	w := quietWorker(idle())
	w.Ready = runtime.Goexit
	exited := make(chan struct{})
	go func() {
		defer close(exited)
		_ = w.Run(context.Background())
		t.Error("Run returned after runtime.Goexit")
	}()
	<-exited
	if st := w.Service.State(); st != service.Shutdown {
		_ = w.Service.Stop(context.Background())
		t.Fatalf("state %v, want shutdown", st)
	}
}
