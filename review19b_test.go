package mode_test

// Review 19b: the Worker's documented claims, each pinned by a case.

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// r19bRoot is a root whose OnStop fails, or hangs (ignoring its ctx)
// until released, and whose task crashes the tree when told.
type r19bRoot struct {
	service.Base
	stopErr error
	hang    chan struct{} // OnStop waits for it to close, if set
	crash   chan struct{} // closing it makes the task fail
}

func (r *r19bRoot) OnStart(ctx context.Context) error {
	if r.crash == nil {
		return nil
	}
	return r.Go("main", func(ctx context.Context) error {
		select {
		case <-r.crash:
			return errBoomW
		case <-ctx.Done():
			return nil
		}
	})
}

func (r *r19bRoot) OnStop(context.Context) error {
	if r.hang != nil {
		<-r.hang
	}
	return r.stopErr
}

func newR19bRoot(cfg service.Config) *r19bRoot {
	l := zerolog.Nop()
	cfg.Logger = &l
	r := &r19bRoot{}
	r.Configure(cfg)
	return r
}

// runBounded runs w and fails the test if Run takes longer than limit (a
// generous bound, not a synchronisation).
func runBounded(t *testing.T, w *mode.Worker, ctx context.Context, limit time.Duration) (time.Duration, error) {
	t.Helper()
	begin := time.Now()
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	select {
	case err := <-done:
		return time.Since(begin), err
	case <-time.After(limit):
		t.Fatalf("Run did not return within %v", limit)
		return 0, nil
	}
}

// TestReview19bWrappedRunErrorKeepsItsCode: "Wrapping Run's error keeps its
// code."
func TestReview19bWrappedRunErrorKeepsItsCode(t *testing.T) {
	l := zerolog.Nop()
	nilFunc := service.Func("nil", nil)
	nilFunc.Configure(service.Config{Logger: &l})
	err := quietWorker(nilFunc).Run(context.Background())
	if mode.ExitCode(err) != mode.ExitStartFailed {
		t.Fatalf("Run: %v (exit %d)", err, mode.ExitCode(err))
	}
	for _, wrapped := range []error{
		fmt.Errorf("main: %w", err),
		fmt.Errorf("outer: %w", fmt.Errorf("main: %w", err)),
	} {
		if code := mode.ExitCode(wrapped); code != mode.ExitStartFailed {
			t.Errorf("ExitCode(%v) = %d, want %d", wrapped, code, mode.ExitStartFailed)
		}
	}
}

// TestReview19bStopErrorIsFailure: ExitFailure when "its stop returned an
// error other than a timeout"; Run returns "the stop's error".
func TestReview19bStopErrorIsFailure(t *testing.T) {
	root := newR19bRoot(service.Config{Name: "root"})
	root.stopErr = errBoomW
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w := quietWorker(root)
	w.Ready = cancel
	_, err := runBounded(t, w, ctx, time.Minute)
	if !errors.Is(err, errBoomW) || mode.ExitCode(err) != mode.ExitFailure {
		t.Fatalf("Run: %v (exit %d), want the stop's error and ExitFailure", err, mode.ExitCode(err))
	}
	if root.State() != service.Shutdown {
		t.Errorf("root state %v", root.State())
	}
}

// TestReview19bWorkerBudgetWins: the Worker's StopTimeout "is the deadline of
// the root's Stop ... every level below takes the smaller of its own timeout
// and what remains", so a root configured with a longer StopTimeout still
// stops by the Worker's; a crashed tree whose stop then hangs is
// ExitStopTimeout, and Run's error is "the stop's error
// (service.ErrStopTimeout ...), joined to the crash reason", the reason
// "wrapped with the root's label".
func TestReview19bWorkerBudgetWins(t *testing.T) {
	for _, crashed := range []bool{false, true} {
		t.Run(fmt.Sprintf("crashed=%v", crashed), func(t *testing.T) {
			root := newR19bRoot(service.Config{Name: "root", StopTimeout: time.Hour})
			root.hang = make(chan struct{})
			defer close(root.hang) // the abandoned OnStop returns: no goroutine left
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			w := quietWorker(root)
			w.StopTimeout = 200 * time.Millisecond
			if crashed {
				root.crash = make(chan struct{})
				w.Ready = func() { close(root.crash) }
			} else {
				w.Ready = cancel
			}
			took, err := runBounded(t, w, ctx, 20*time.Second)
			if took > 10*time.Second {
				t.Errorf("Run took %v with a 200ms Worker budget", took)
			}
			if !errors.Is(err, service.ErrStopTimeout) || mode.ExitCode(err) != mode.ExitStopTimeout {
				t.Fatalf("Run: %v (exit %d), want ErrStopTimeout and ExitStopTimeout", err, mode.ExitCode(err))
			}
			if !strings.Contains(err.Error(), "OnStop") {
				t.Errorf("Run's error does not name the abandoned OnStop: %v", err)
			}
			if crashed {
				if !errors.Is(err, errBoomW) {
					t.Errorf("Run: %v, want the crash reason joined", err)
				}
				if !strings.Contains(err.Error(), "root") {
					t.Errorf("crash reason not wrapped with the root's label: %v", err)
				}
			}
		})
	}
}
