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
