package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomode/mode/internal/clock"
	"github.com/gomode/mode/service"
)

func TestStopFromInsideTask(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)
	a1 := all[2]
	stopped := make(chan error, 1)
	must(t, service.Start(ctx, root))
	must(t, a1.Go("stopper", func(ctx context.Context) error {
		stopped <- root.Stop(ctx) // a descendant's task stops the root
		<-ctx.Done()
		return nil
	}))
	if err := <-stopped; err != nil {
		t.Fatalf("Stop from inside: %v", err)
	}
	must(t, root.WaitUntilStopped(ctx))
	wantStates(t, service.Shutdown, all...)
}

func TestStopFromInsideHooks(t *testing.T) {
	for _, hook := range []string{"OnStart", "OnStarted", "OnStop", "OnShutdown"} {
		t.Run(hook, func(t *testing.T) {
			ctx := bg(t)
			p := &selfStopper{hook: hook}
			p.Configure(service.Config{Logger: &quiet})
			err := service.Start(ctx, p)
			switch hook {
			case "OnStart", "OnStarted":
				// The stop aborts the start, which rolls back to Init.
				if !errors.Is(err, service.ErrStopped) {
					t.Fatalf("Start: %v", err)
				}
				if p.State() != service.Init {
					t.Fatalf("state %v", p.State())
				}
			default:
				must(t, err)
				must(t, p.Stop(ctx))
				if p.State() != service.Shutdown {
					t.Fatalf("state %v", p.State())
				}
			}
			if p.stopErr != nil {
				t.Fatalf("Stop inside %s: %v", hook, p.stopErr)
			}
		})
	}
}

type selfStopper struct {
	service.Base
	hook    string
	stopErr error
}

func (s *selfStopper) maybe(ctx context.Context, hook string) error {
	if hook == s.hook {
		s.stopErr = s.Stop(ctx)
	}
	return nil
}
func (s *selfStopper) OnStart(ctx context.Context) error    { return s.maybe(ctx, "OnStart") }
func (s *selfStopper) OnStarted(ctx context.Context) error  { return s.maybe(ctx, "OnStarted") }
func (s *selfStopper) OnStop(ctx context.Context) error     { return s.maybe(ctx, "OnStop") }
func (s *selfStopper) OnShutdown(ctx context.Context) error { return s.maybe(ctx, "OnShutdown") }

func TestConcurrentStopAndCrash(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)
	for _, p := range all {
		p.onStart = func(_ context.Context, p *probe) error { return p.Go("block", blockTask) }
	}
	must(t, service.Start(ctx, root))
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := all[i%len(all)]
			if i%2 == 0 {
				target.Crash(errBoom)
			} else {
				errs <- root.Stop(ctx)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		// A crash while stopping only adds its reason to Stop's error.
		if err != nil && !errors.Is(err, errBoom) {
			t.Errorf("Stop: %v", err)
		}
	}
	must(t, root.Stop(ctx))
	wantStates(t, service.Shutdown, all...)
}

func TestCrashMarksTree(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	root, all := tree(t, rec)
	must(t, service.Start(ctx, root))
	a1 := all[2]
	a1.Crash(errBoom)
	a1.Crash(errors.New("second reason loses"))
	// No supervisor anywhere: the whole tree is crashed with a1's reason.
	wantStates(t, service.Crashed, all...)
	for _, p := range all {
		if !errors.Is(p.CrashReason(), errBoom) {
			t.Errorf("%s: reason %v", p.name, p.CrashReason())
		}
		if !p.ShouldStop() {
			t.Errorf("%s: ShouldStop false", p.name)
		}
	}
	if err := root.WaitUntilStopped(ctx); !errors.Is(err, errBoom) {
		t.Fatalf("WaitUntilStopped: %v", err)
	}
	// Stop never returns the crash reason.
	must(t, root.Stop(ctx))
	wantStates(t, service.Shutdown, all...)
	// Restart runs it again with a clean reason.
	must(t, root.Restart(ctx))
	if root.CrashReason() != nil {
		t.Fatalf("reason after restart: %v", root.CrashReason())
	}
	must(t, root.Stop(ctx))
}

func TestTaskErrorAndPanicCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(context.Context) error
		want error
	}{
		{"error", func(context.Context) error { return errBoom }, errBoom},
		{"canceled on its own", func(context.Context) error { return context.Canceled }, context.Canceled},
		{"panic", func(context.Context) error { panic("kaboom") }, service.ErrPanic},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			p := newProbe("p", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Go("bad", tc.fn))
			if err := p.WaitUntilStopped(ctx); !errors.Is(err, tc.want) {
				t.Fatalf("reason %v, want %v", err, tc.want)
			}
			if !strings.Contains(p.CrashReason().Error(), `task "bad"`) {
				t.Errorf("reason does not name the task: %v", p.CrashReason())
			}
			var pe *service.PanicError
			if errors.As(p.CrashReason(), &pe) && len(pe.Stack) == 0 {
				t.Error("panic without stack")
			}
			must(t, p.Stop(ctx))
		})
	}
}

func TestStopTimeoutNamesStuckTask(t *testing.T) {
	ctx := bg(t)
	clk := clock.NewFake(time.Unix(0, 0))
	p := newProbe("p", &recorder{})
	p.Configure(service.Config{Name: "p", Logger: &quiet, Clock: clk, StopTimeout: time.Second})
	release := make(chan struct{})
	must(t, service.Start(ctx, p))
	must(t, p.Go("stuck", func(context.Context) error { <-release; return errBoom }))
	must(t, p.Go("stuck too", func(context.Context) error { <-release; return nil }))
	done := make(chan error, 1)
	go func() { done <- p.Stop(ctx) }()
	must(t, clk.BlockUntil(ctx, 1))
	clk.Advance(time.Second)
	err := <-done
	if !errors.Is(err, service.ErrStopTimeout) ||
		!strings.Contains(err.Error(), `p: task "stuck", p: task "stuck too"`) {
		t.Fatalf("Stop: %v", err)
	}
	if p.State() != service.Shutdown {
		t.Fatalf("state %v", p.State())
	}
	// The abandoned task's late error crashes nothing, not even a new run.
	must(t, p.Restart(ctx))
	close(release)
	must(t, p.Stop(ctx))
	if p.CrashReason() != nil {
		t.Fatalf("late error crashed the new run: %v", p.CrashReason())
	}
}

func TestWaitForShutdown(t *testing.T) {
	ctx := bg(t)
	clk := clock.NewFake(time.Unix(0, 0))
	p := newProbe("p", &recorder{})
	p.Configure(service.Config{Name: "p", Logger: &quiet, Clock: clk, WaitForShutdown: true, ShutdownTimeout: time.Second})

	// SetShutdown lets the stop go on.
	must(t, service.Start(ctx, p))
	done := make(chan error, 1)
	go func() { done <- p.Stop(ctx) }()
	must(t, clk.BlockUntil(ctx, 1))
	p.SetShutdown()
	must(t, <-done)

	// Without it the stop still completes after ShutdownTimeout and says so.
	must(t, p.Restart(ctx))
	go func() { done <- p.Stop(ctx) }()
	must(t, clk.BlockUntil(ctx, 1))
	clk.Advance(time.Second)
	if err := <-done; !errors.Is(err, service.ErrShutdownTimeout) {
		t.Fatalf("Stop: %v", err)
	}
	if p.State() != service.Shutdown {
		t.Fatalf("state %v", p.State())
	}
}

func TestStopErrorsJoined(t *testing.T) {
	ctx := bg(t)
	rec := &recorder{}
	p := newProbe("p", rec)
	p.fail["OnStop"] = errors.New("onstop failed")
	p.onStart = func(_ context.Context, p *probe) error {
		must(t, p.Defer(func() error { rec.add("first"); return errors.New("closer failed") }))
		must(t, p.Defer(func() error { rec.add("second"); return nil }))
		return p.Go("late", func(ctx context.Context) error {
			<-ctx.Done()
			return errors.New("flush failed")
		})
	}
	must(t, service.Start(ctx, p))
	rec.take()
	err := p.Stop(ctx)
	for _, want := range []string{"onstop failed", "closer failed", "flush failed"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Stop error %v lacks %q", err, want)
		}
	}
	wantEvents(t, rec.take(), "p.OnStop second first p.OnShutdown")
	if p.CrashReason() != nil {
		t.Fatalf("errors after Stop crashed: %v", p.CrashReason())
	}
}
