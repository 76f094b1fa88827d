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
)

// goexitExt ends Run's goroutine (runtime.Goexit, as t.FailNow or a
// testify require in a test's extension does) at one step, and records
// the root's state when it is given StepStopped.
type goexitExt struct {
	at          mode.Step
	stoppedWith service.State // the root's state at StepStopped; 0 if not given
}

func (e *goexitExt) WorkerPhase(_ context.Context, p mode.Phase) error {
	if p.Step == mode.StepStopped {
		e.stoppedWith = p.Root.State()
	}
	if p.Step == e.at {
		runtime.Goexit()
	}
	return nil
}

// An extension that ends Run's goroutine must not leave the tree running,
// as Ready's Goexit does not: the tree is stopped, and StepStopped is
// given once it has stopped, not while it still runs.
func TestReviewExtensionGoexit(t *testing.T) {
	for _, at := range []mode.Step{mode.StepStarting, mode.StepRunning, mode.StepStopping, mode.StepStopped} {
		t.Run(at.String(), func(t *testing.T) {
			w := quietWorker(idle())
			probe := &goexitExt{}
			w.Extensions = []mode.Extension{probe, &goexitExt{at: at}}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w.Ready = cancel // stop at once once running
			exited := make(chan struct{})
			go func() {
				defer close(exited)
				_ = w.Run(ctx)
			}()
			<-exited
			if st := w.Service.State(); st != service.Shutdown && st != service.Init {
				_ = w.Service.Stop(context.Background())
				t.Fatalf("Run's goroutine ended with the tree %v: left running", st)
			}
			if probe.stoppedWith != service.Shutdown && probe.stoppedWith != service.Init {
				t.Fatalf("StepStopped given while the tree was %v", probe.stoppedWith)
			}
		})
	}
}

// slowStopExt waits at StepStopped until its ctx ends (a Server shutting
// down while a client holds a request, a watchdog check that hangs).
type slowStopExt struct{ entered chan struct{} }

func (e *slowStopExt) WorkerPhase(ctx context.Context, p mode.Phase) error {
	if p.Step == mode.StepStopped {
		close(e.entered)
		<-ctx.Done()
	}
	return nil
}

// A second stop signal exits at once (Worker.Signals), also while the
// extensions are being stopped: StepStopped is part of the stop.
func TestReviewSecondSignalDuringExtensionsStop(t *testing.T) {
	w := quietWorker(idle())
	w.StopTimeout = 20 * time.Second
	ext := &slowStopExt{entered: make(chan struct{})}
	w.Extensions = []mode.Extension{ext}
	w.Ready = func() {
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			t.Error(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(context.Background()) }()
	<-ext.entered
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, mode.ErrForcedExit) {
			t.Errorf("Run: %v, want ErrForcedExit", err)
		}
	case <-time.After(5 * time.Second):
		t.Errorf("a second signal during StepStopped did not end Run")
		<-done
	}
}
