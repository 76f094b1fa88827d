package mode_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// failStart is a root whose start fails.
type failStart struct{ service.Base }

func (s *failStart) OnStart(context.Context) error { return errors.New("no") }

// StepStopped gets at least a second when the stop budget is tiny, and
// the whole budget when the start failed (the stop's deadline begins with
// StepStopped then).
func TestReview2StopBudgetEdges(t *testing.T) {
	cases := []struct {
		name   string
		root   func() service.Service
		budget time.Duration
		left   [2]time.Duration // bounds of what StepStopped's ctx has left
	}{
		{"tiny budget", func() service.Service {
			return service.Func("job", func(ctx context.Context) error { <-ctx.Done(); return nil })
		}, time.Millisecond, [2]time.Duration{time.Second / 2, time.Second}},
		{"start failed", func() service.Service { return &failStart{} }, 3 * time.Second, [2]time.Duration{2 * time.Second, 3 * time.Second}},
		{"start failed, tiny budget", func() service.Service { return &failStart{} }, time.Millisecond, [2]time.Duration{time.Second / 2, time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := zerolog.Nop()
			root := tc.root()
			root.(interface{ Configure(service.Config) }).Configure(service.Config{Logger: &l})
			e := &deadlineExt{}
			w := quietWorker(root)
			w.StopTimeout = tc.budget
			w.Extensions = []mode.Extension{e}
			ctx, cancel := context.WithCancel(testCtx(t))
			defer cancel()
			w.Ready = cancel
			_ = w.Run(ctx)
			e.mu.Lock()
			defer e.mu.Unlock()
			if d, ok := e.left[mode.StepStopped]; !ok || d < tc.left[0] || d > tc.left[1] {
				t.Errorf("StepStopped: %v left (given: %v), want within %v", d, ok, tc.left)
			}
		})
	}
}

// A start cancelled by a signal counts the stop's budget from the signal:
// StepStopped after the rollback gets what remains of it (at least a
// second), not a fresh one.
func TestCancelledStartSharesTheStopBudget(t *testing.T) {
	const budget = 1500 * time.Millisecond
	l := zerolog.Nop()
	root := &startUntilCancelled{started: make(chan struct{})}
	root.Configure(service.Config{Logger: &l, StopTimeout: time.Second})
	child := &stopUntilBudget{}
	child.Configure(service.Config{Logger: &l})
	if err := root.AddDependency(child); err != nil {
		t.Fatal(err)
	}
	e := &deadlineExt{}
	w := quietWorker(root)
	w.StopTimeout = budget
	w.Extensions = []mode.Extension{e}
	ctx, cancel := context.WithCancel(testCtx(t))
	go func() { <-root.started; cancel() }()
	_ = w.Run(ctx) // the rollback runs out of its second: ErrStopTimeout
	// The rollback took its second: StepStopped has the rest of the 1.5s,
	// raised to a second, not 1.5s afresh.
	if d := e.left[mode.StepStopped]; d < 500*time.Millisecond || d > 1100*time.Millisecond {
		t.Errorf("StepStopped: %v left, want about a second", d)
	}
}

// startUntilCancelled's OnStarted (after its children started) holds until
// its ctx ends (a signal).
type startUntilCancelled struct {
	service.Base
	started chan struct{}
}

func (s *startUntilCancelled) OnStarted(ctx context.Context) error {
	close(s.started)
	<-ctx.Done()
	return ctx.Err()
}

// stopUntilBudget's OnStop holds until its budget ends.
type stopUntilBudget struct{ service.Base }

func (s *stopUntilBudget) OnStop(ctx context.Context) error { <-ctx.Done(); return nil }
