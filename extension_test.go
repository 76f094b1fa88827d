package mode_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode"
	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// stepLog records the steps extensions see, with the root's state.
type stepLog struct {
	mu    sync.Mutex
	steps []string
}

func (l *stepLog) add(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.steps = append(l.steps, s)
}

func (l *stepLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.steps, " ")
}

// recExt records its steps; failAt makes one step fail (or panic).
type recExt struct {
	name   string
	log    *stepLog
	failAt mode.Step
	panics bool
}

var _ mode.Extension = (*recExt)(nil)

func (e *recExt) WorkerPhase(ctx context.Context, p mode.Phase) error {
	if p.Log == nil || p.Root == nil {
		return errors.New("phase without logger or root")
	}
	if _, ok := ctx.Deadline(); p.Step == mode.StepStopped && !ok {
		return errors.New("StepStopped without a deadline")
	}
	e.log.add(fmt.Sprintf("%s:%s:%s", e.name, p.Step, p.Root.State()))
	if p.Step == e.failAt {
		if e.panics {
			panic("extension bug")
		}
		return errBoomW
	}
	return nil
}

func TestWorkerExtensions(t *testing.T) {
	cases := []struct {
		name   string
		crash  bool      // the tree crashes once running, instead of stopping on ctx
		failAt mode.Step // of the second extension
		panics bool
		code   int
		want   string
	}{
		{
			name: "run and stop", code: mode.ExitOK,
			want: "a:starting:init b:starting:init a:running:running b:running:running a:stopping:running b:stopping:running b:stopped:shutdown a:stopped:shutdown",
		},
		{
			name: "second fails to start", failAt: mode.StepStarting, code: mode.ExitStartFailed,
			want: "a:starting:init b:starting:init a:stopped:init",
		},
		{
			name: "second panics at start", failAt: mode.StepStarting, panics: true, code: mode.ExitStartFailed,
			want: "a:starting:init b:starting:init a:stopped:init",
		},
		{
			name: "an error while running is logged", failAt: mode.StepRunning, code: mode.ExitOK,
			want: "a:starting:init b:starting:init a:running:running b:running:running a:stopping:running b:stopping:running b:stopped:shutdown a:stopped:shutdown",
		},
		{
			name: "a panic at the stop is logged", failAt: mode.StepStopped, panics: true, code: mode.ExitOK,
			want: "a:starting:init b:starting:init a:running:running b:running:running a:stopping:running b:stopping:running b:stopped:shutdown a:stopped:shutdown",
		},
		{
			name: "tree crashes", crash: true, code: mode.ExitFailure,
			want: "a:starting:init b:starting:init a:running:running b:running:running a:stopping:crashed b:stopping:crashed b:stopped:shutdown a:stopped:shutdown",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := zerolog.Nop()
			started := make(chan struct{})
			f := service.Func("job", func(ctx context.Context) error {
				if tc.crash {
					<-started // crash once the extensions have seen Running
					return errBoomW
				}
				<-ctx.Done()
				return nil
			})
			f.Configure(service.Config{Logger: &l})
			steps := &stepLog{}
			w := quietWorker(f)
			w.Extensions = []mode.Extension{&recExt{name: "a", log: steps}, &recExt{name: "b", log: steps, failAt: tc.failAt, panics: tc.panics}}
			ctx, cancel := context.WithCancel(testCtx(t))
			w.Ready = func() {
				close(started)
				if !tc.crash {
					cancel()
				}
			}
			err := w.Run(ctx)
			cancel()
			if code := mode.ExitCode(err); code != tc.code {
				t.Fatalf("Run: %v (code %d), want code %d", err, code, tc.code)
			}
			if tc.failAt == mode.StepStarting && (!errors.Is(err, errBoomW) && !errors.Is(err, service.ErrPanic) || f.State() != service.Init) {
				t.Errorf("Run: %v, tree %v: want the extension's error and a tree never started", err, f.State())
			}
			if got := steps.String(); got != tc.want {
				t.Errorf("steps:\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestWorkerNilExtension(t *testing.T) {
	var typedNil *recExt
	for _, ext := range []mode.Extension{nil, typedNil} {
		w := quietWorker(service.Func("job", func(context.Context) error { return nil }))
		w.Extensions = []mode.Extension{ext}
		err := w.Run(testCtx(t))
		if !errors.Is(err, mode.ErrNilExtension) || mode.ExitCode(err) != mode.ExitBadConfig {
			t.Errorf("Run with %#v: %v", ext, err)
		}
	}
}

func TestStepString(t *testing.T) {
	for s, want := range map[mode.Step]string{mode.StepStarting: "starting", mode.StepStopped: "stopped", 0: "Step(0)", 9: "Step(9)"} {
		if got := s.String(); got != want {
			t.Errorf("%d: %q, want %q", int(s), got, want)
		}
	}
}

// deadlineExt records how long each step's ctx has left.
type deadlineExt struct {
	mu   sync.Mutex
	left map[mode.Step]time.Duration
}

func (e *deadlineExt) WorkerPhase(ctx context.Context, p mode.Phase) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.left == nil {
		e.left = map[mode.Step]time.Duration{}
	}
	if d, ok := ctx.Deadline(); ok {
		e.left[p.Step] = time.Until(d)
	} else {
		e.left[p.Step] = -1
	}
	return nil
}

// slowStop is a root whose OnStop holds on until its budget ends.
type slowStop struct{ service.Base }

func (s *slowStop) OnStop(ctx context.Context) error { <-ctx.Done(); return nil }

// StepStopping, the tree's stop and StepStopped share one deadline:
// StopTimeout from when the stop began; StepStopped gets at least a
// second when the tree's stop used it all.
func TestWorkerExtensionsShareTheStopBudget(t *testing.T) {
	const budget = 1500 * time.Millisecond
	cases := []struct {
		name        string
		root        service.Service
		stoppedLeft [2]time.Duration // bounds of what StepStopped's ctx has left
	}{
		{"quick stop", service.Func("job", func(ctx context.Context) error { <-ctx.Done(); return nil }), [2]time.Duration{budget * 3 / 4, budget}},
		{"stop uses it all", &slowStop{}, [2]time.Duration{time.Second / 2, time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := zerolog.Nop()
			tc.root.(interface{ Configure(service.Config) }).Configure(service.Config{Logger: &l})
			e := &deadlineExt{}
			w := quietWorker(tc.root)
			w.StopTimeout = budget
			w.Extensions = []mode.Extension{e}
			ctx, cancel := context.WithCancel(testCtx(t))
			w.Ready = cancel
			_ = w.Run(ctx)
			if d := e.left[mode.StepStopping]; d <= budget/2 || d > budget {
				t.Errorf("StepStopping: %v left, want about %v", d, budget)
			}
			if d := e.left[mode.StepStopped]; d < tc.stoppedLeft[0] || d > tc.stoppedLeft[1] {
				t.Errorf("StepStopped: %v left, want within %v", d, tc.stoppedLeft)
			}
		})
	}
}
