package service_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/rs/zerolog"
)

// gatedFunc makes a Func named name that waits until the returned release
// func is called (so Start has returned: no exit races the start) and then
// returns what body returns.
func gatedFunc(name string, body func(ctx context.Context) error) (*service.FuncService, func()) {
	gate := make(chan struct{})
	var once sync.Once
	f := service.Func(name, func(ctx context.Context) error {
		<-gate
		return body(ctx)
	})
	f.Configure(service.Config{Logger: &quiet})
	return f, func() { once.Do(func() { close(gate) }) }
}

func TestFuncExits(t *testing.T) {
	errVal := fmt.Errorf("wrapped: %w", errBoom)
	cases := []struct {
		name      string
		body      func(ctx context.Context) error
		state     service.State
		reason    error  // nil: a normal exit
		inMessage string // the crash reason's message contains it
	}{
		{"nil is a normal exit", func(context.Context) error { return nil }, service.Shutdown, nil, ""},
		{"error crashes", func(context.Context) error { return errVal }, service.Crashed, errBoom, "worker"},
		{"context.Canceled on its own crashes", func(context.Context) error { return context.Canceled },
			service.Crashed, context.Canceled, "worker"},
		{"panic crashes with ErrPanic", func(context.Context) error { panic("kaboom") },
			service.Crashed, service.ErrPanic, "kaboom"},
		{"panic with an error unwraps to it", func(context.Context) error { panic(errBoom) },
			service.Crashed, errBoom, "boom"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			f, release := gatedFunc("worker", tc.body)
			must(t, service.Start(ctx, f))
			if f.State() != service.Running {
				t.Fatalf("state after Start: %v", f.State())
			}
			release()
			err := f.WaitUntilStopped(ctx)
			if tc.reason == nil {
				if err != nil {
					t.Fatalf("WaitUntilStopped: %v", err)
				}
			} else if !errors.Is(err, tc.reason) {
				t.Fatalf("WaitUntilStopped: %v, want %v", err, tc.reason)
			}
			if st := f.State(); st != tc.state {
				t.Fatalf("state %v, want %v", st, tc.state)
			}
			reason := f.CrashReason()
			switch {
			case tc.reason == nil && reason != nil:
				t.Fatalf("normal exit has a crash reason: %v", reason)
			case tc.reason != nil && !errors.Is(reason, tc.reason):
				t.Fatalf("crash reason %v, want %v", reason, tc.reason)
			case tc.reason != nil && !strings.Contains(reason.Error(), tc.inMessage):
				t.Fatalf("crash reason %q does not name %q", reason, tc.inMessage)
			}
			select {
			case <-f.Done():
			default:
				t.Fatal("Done open after the exit")
			}
			// Stop never returns the crash reason and leaves Shutdown.
			if err := f.Stop(ctx); err != nil {
				t.Fatalf("Stop after the exit: %v", err)
			}
			if f.State() != service.Shutdown {
				t.Fatalf("state after Stop: %v", f.State())
			}
		})
	}
}

func TestFuncPanicStack(t *testing.T) {
	ctx := bg(t)
	f, release := gatedFunc("panicker", func(context.Context) error { panicInFunc(); return nil })
	must(t, service.Start(ctx, f))
	release()
	err := f.WaitUntilStopped(ctx)
	var pe *service.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("reason %v (%T) is no *PanicError", err, err)
	}
	if pe.Value != "deep kaboom" {
		t.Fatalf("panic value %v", pe.Value)
	}
	if !strings.Contains(string(pe.Stack), "panicInFunc") {
		t.Fatalf("stack does not show the panicking function:\n%s", pe.Stack)
	}
	if strings.Contains(pe.Error(), "goroutine") {
		t.Fatalf("Error() carries the stack: %q", pe.Error())
	}
	must(t, f.Stop(ctx))
}

func panicInFunc() { panic("deep kaboom") }

func TestFuncStoppedFromOutside(t *testing.T) {
	errOther := errors.New("flush failed")
	cases := []struct {
		name    string
		ret     func(ctx context.Context) error
		stopErr error // nil: Stop must return nil
	}{
		{"ctx.Err()", func(ctx context.Context) error { return ctx.Err() }, nil},
		{"wrapped ctx.Err()", func(ctx context.Context) error { return fmt.Errorf("loop: %w", ctx.Err()) }, nil},
		{"nil", func(context.Context) error { return nil }, nil},
		{"context.Cause(ctx)", func(ctx context.Context) error { return context.Cause(ctx) }, nil},
		{"another error joins Stop's error", func(context.Context) error { return errOther }, errOther},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			entered := make(chan struct{})
			f := service.Func("worker", func(ctx context.Context) error {
				close(entered)
				<-ctx.Done()
				return tc.ret(ctx)
			})
			f.Configure(service.Config{Logger: &quiet})
			must(t, service.Start(ctx, f))
			<-entered
			err := f.Stop(ctx)
			switch {
			case tc.stopErr == nil && err != nil:
				t.Fatalf("Stop: %v", err)
			case tc.stopErr != nil && !errors.Is(err, tc.stopErr):
				t.Fatalf("Stop: %v, want %v", err, tc.stopErr)
			}
			if f.State() != service.Shutdown || f.CrashReason() != nil {
				t.Fatalf("state %v, reason %v: want shutdown, no crash", f.State(), f.CrashReason())
			}
			if err := f.WaitUntilStopped(ctx); err != nil {
				t.Fatalf("WaitUntilStopped: %v", err)
			}
		})
	}
}

// A Func that ended runs again after Restart, counting the restart.
func TestFuncRestartRunsAgain(t *testing.T) {
	ctx := bg(t)
	runs := make(chan int, 2)
	n := 0
	gate := make(chan struct{}, 2)
	f := service.Func("again", func(context.Context) error {
		<-gate
		n++
		runs <- n
		return nil
	})
	f.Configure(service.Config{Logger: &quiet})
	must(t, service.Start(ctx, f))
	gate <- struct{}{}
	must(t, f.WaitUntilStopped(ctx))
	must(t, f.Restart(ctx))
	if f.State() != service.Running || f.RestartCount() != 1 {
		t.Fatalf("after Restart: state %v, restarts %d", f.State(), f.RestartCount())
	}
	gate <- struct{}{}
	must(t, f.WaitUntilStopped(ctx))
	if a, b := <-runs, <-runs; a != 1 || b != 2 {
		t.Fatalf("runs %d %d", a, b)
	}
	if f.State() != service.Shutdown {
		t.Fatalf("state %v", f.State())
	}
}

func TestFuncLabels(t *testing.T) {
	ctx := bg(t)
	cases := []struct {
		name, cfgName   string
		short, labelled string
	}{
		{"worker", "", "worker", "worker"},
		{"worker", "w1", "w1", "worker(w1)"},
		{"", "", "Func", "Func"},
	}
	for _, tc := range cases {
		t.Run(tc.short, func(t *testing.T) {
			f, release := gatedFunc(tc.name, func(context.Context) error { return nil })
			f.Configure(service.Config{Name: tc.cfgName, Logger: &quiet})
			must(t, service.Start(ctx, f))
			if got := f.ShortLabel(); got != tc.short {
				t.Errorf("ShortLabel %q, want %q", got, tc.short)
			}
			if got := f.Label(); got != tc.labelled {
				t.Errorf("Label %q, want %q", got, tc.labelled)
			}
			release()
			must(t, f.WaitUntilStopped(ctx))
		})
	}
}

func TestFuncLabelBeforeHandover(t *testing.T) {
	f := service.Func("worker", func(context.Context) error { return nil })
	if got := f.ShortLabel(); got != "worker" {
		t.Fatalf("ShortLabel before Start %q, want %q", got, "worker")
	}
}

type labelled struct{ service.Base }

func TestLogLabelAfterHandover(t *testing.T) {
	ctx := bg(t)
	var buf bytes.Buffer
	logger := zerolog.New(&buf)
	s := &labelled{}
	s.Configure(service.Config{Logger: &logger})
	s.Log().Info().Msg("before")
	must(t, service.Start(ctx, s))
	defer func() { must(t, s.Stop(ctx)) }()
	buf.Reset()
	s.Log().Info().Msg("after")
	if !strings.Contains(buf.String(), `"service":"labelled"`) {
		t.Fatalf("log line after Start: %s", buf.String())
	}
}

// A Func's function starts once its Start has completed (children
// included), so a function that returns at once is a normal exit of a
// running service, never a failed Start.
func TestFuncStartsAfterStart(t *testing.T) {
	ctx := bg(t)
	type seen struct{ self, kid service.State }
	at := make(chan seen, 1)
	var f *service.FuncService
	kid := newHookSvc("kid")
	f = service.Func("quick", func(context.Context) error {
		at <- seen{f.State(), kid.State()}
		return nil
	})
	f.Configure(service.Config{Logger: &quiet})
	must(t, f.AddDependency(kid))
	if err := service.Start(ctx, f); err != nil {
		t.Fatalf("Start: %v (state %v)", err, f.State())
	}
	if got := <-at; got.self != service.Running || got.kid != service.Running {
		t.Fatalf("fn entered with states %v (Func) and %v (child), want Running and Running", got.self, got.kid)
	}
	must(t, f.WaitUntilStopped(ctx))
	if f.State() != service.Shutdown || kid.State() != service.Shutdown {
		t.Fatalf("states %v %v", f.State(), kid.State())
	}
	if err := f.CrashReason(); err != nil {
		t.Fatalf("CrashReason %v after a normal exit", err)
	}
}

// An idle Base service holds no goroutine once started.
func TestIdleServiceHoldsNoGoroutine(t *testing.T) {
	ctx := bg(t)
	const n = 100
	ss := make([]*hookSvc, n)
	for i := range ss {
		ss[i] = newHookSvc(fmt.Sprint("idle", i))
	}
	before := runtime.NumGoroutine()
	for _, s := range ss {
		must(t, service.Start(ctx, s))
	}
	after := runtime.NumGoroutine()
	for _, s := range ss {
		must(t, s.Stop(ctx))
	}
	// Goroutines of earlier tests still winding down can only lower the
	// delta; one goroutine per service would raise it by n.
	if d := after - before; d > 5 {
		t.Fatalf("%d idle services hold %d goroutines", n, d)
	}
}

// A running Func holds exactly one goroutine.
func TestFuncHoldsOneGoroutine(t *testing.T) {
	ctx := bg(t)
	const n = 100
	entered := make(chan struct{}, n)
	fs := make([]*service.FuncService, n)
	for i := range fs {
		fs[i] = service.Func(fmt.Sprint("f", i), func(ctx context.Context) error {
			entered <- struct{}{}
			<-ctx.Done()
			return ctx.Err()
		})
		fs[i].Configure(service.Config{Logger: &quiet})
	}
	before := runtime.NumGoroutine()
	for _, f := range fs {
		must(t, service.Start(ctx, f))
	}
	for range n {
		<-entered
	}
	after := runtime.NumGoroutine()
	for _, f := range fs {
		must(t, f.Stop(ctx))
	}
	if d := after - before; d < n-5 || d > n+5 {
		t.Fatalf("%d running Funcs hold %d goroutines, want %d", n, d, n)
	}
}
