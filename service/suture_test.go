package service_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"

	"github.com/gomode/mode/service"
	"github.com/thejerf/suture/v4"
)

// sutureRun runs a suture supervisor holding svc until the returned stop
// func is called; stop cancels it and joins its goroutines.
func sutureRun(t *testing.T, svc suture.Service, hook func(suture.Event)) (stop func() error) {
	t.Helper()
	if hook == nil {
		hook = func(suture.Event) {}
	}
	sup := suture.New("sup", suture.Spec{EventHook: hook})
	sup.Add(svc)
	ctx, cancel := context.WithCancel(bg(t))
	errc := sup.ServeBackground(ctx)
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-errc
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// awaitRunning yields until s is Running. The engine offers no signal
// after a start's last step (OnStarted runs before the state becomes
// Running, and cancelling suture's ctx before that rolls the start back), so
// this spins on State with Gosched: no sleep, no time dependence.
func awaitRunning(t *testing.T, s service.Service) {
	t.Helper()
	ctx := bg(t)
	for s.State() != service.Running {
		if ctx.Err() != nil {
			t.Fatalf("%s never reached Running (state %v)", s.Label(), s.State())
		}
		runtime.Gosched()
	}
}

func TestToSutureStopsWithSupervisor(t *testing.T) {
	rec := &recorder{}
	p, c := newProbe("p", rec), newProbe("c", rec)
	must(t, p.AddDependency(c))
	started := make(chan struct{})
	p.onStart = func(ctx context.Context, _ *probe) error { close(started); return nil }
	adapter := service.ToSuture(p)
	if s, ok := adapter.(fmt.Stringer); !ok || s.String() != "p" {
		t.Errorf("adapter name %v", adapter)
	}
	stop := sutureRun(t, adapter, nil)
	<-started
	awaitRunning(t, p)
	if err := stop(); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("suture supervisor: %v", err)
	}
	wantStates(t, service.Shutdown, p, c)
	wantEvents(t, rec.take(), "p.OnFirstStart p.OnStart c.OnFirstStart c.OnStart c.OnStarted p.OnStarted "+
		"p.OnStop c.OnStop c.OnShutdown p.OnShutdown")
	if p.CrashReason() != nil {
		t.Fatalf("crash reason %v", p.CrashReason())
	}
}

// A crash ends Serve with the reason; suture serves it again, which
// restarts the service.
func TestToSutureRestartsAfterCrash(t *testing.T) {
	h := newHookSvc("h")
	started := make(chan struct{}, 2)
	h.onStarted = func(context.Context) error { started <- struct{}{}; return nil }
	terminated := make(chan any, 1)
	stop := sutureRun(t, service.ToSuture(h), func(e suture.Event) {
		if e, ok := e.(suture.EventServiceTerminate); ok {
			select {
			case terminated <- e.Err:
			default:
			}
		}
	})
	<-started
	awaitRunning(t, h)
	h.Crash(errBoom)
	if err, _ := (<-terminated).(error); !errors.Is(err, errBoom) {
		t.Fatalf("suture saw %v", err)
	}
	<-started
	awaitRunning(t, h)
	if h.State() != service.Running || h.RestartCount() != 1 || h.CrashReason() != nil {
		t.Fatalf("after suture's restart: %v, restarts %d, reason %v", h.State(), h.RestartCount(), h.CrashReason())
	}
	_ = stop()
	if h.State() != service.Shutdown {
		t.Fatalf("state %v", h.State())
	}
}

// sutureFunc is a suture.Service from a function.
type sutureFunc func(ctx context.Context) error

func (f sutureFunc) Serve(ctx context.Context) error { return f(ctx) }

// namedSuture is a suture.Service with a name.
type namedSuture struct{ sutureFunc }

func (namedSuture) String() string { return "named" }

func TestFromSuture(t *testing.T) {
	cases := []struct {
		name   string
		ret    error
		state  service.State
		reason error
	}{
		{"nil is a normal exit", nil, service.Shutdown, nil},
		{"ErrDoNotRestart is a normal exit", suture.ErrDoNotRestart, service.Shutdown, nil},
		{"wrapped ErrDoNotRestart is a normal exit", fmt.Errorf("done: %w", suture.ErrDoNotRestart), service.Shutdown, nil},
		{"an error is a crash", errBoom, service.Crashed, errBoom},
		{"ErrTerminateSupervisorTree is a crash", suture.ErrTerminateSupervisorTree, service.Crashed,
			suture.ErrTerminateSupervisorTree},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			gate := make(chan struct{})
			f := service.FromSuture(sutureFunc(func(context.Context) error { <-gate; return tc.ret }))
			f.Configure(service.Config{Logger: &quiet})
			must(t, service.Start(ctx, f))
			if f.ShortLabel() != "suture" {
				t.Errorf("ShortLabel %q", f.ShortLabel())
			}
			close(gate)
			err := f.WaitUntilStopped(ctx)
			if st := f.State(); st != tc.state {
				t.Fatalf("state %v, want %v (WaitUntilStopped: %v)", st, tc.state, err)
			}
			if tc.reason == nil {
				if err != nil || f.CrashReason() != nil {
					t.Fatalf("normal exit: WaitUntilStopped %v, reason %v", err, f.CrashReason())
				}
			} else if !errors.Is(err, tc.reason) || !errors.Is(f.CrashReason(), tc.reason) {
				t.Fatalf("crash: WaitUntilStopped %v, reason %v; want %v", err, f.CrashReason(), tc.reason)
			}
			must(t, f.Stop(ctx))
		})
	}
}

func TestFromSutureStoppedFromOutside(t *testing.T) {
	ctx := bg(t)
	entered := make(chan struct{})
	ss := namedSuture{func(ctx context.Context) error {
		close(entered)
		<-ctx.Done()
		return ctx.Err()
	}}
	f := service.FromSuture(ss)
	f.Configure(service.Config{Logger: &quiet})
	must(t, service.Start(ctx, f))
	if f.ShortLabel() != "named" {
		t.Errorf("ShortLabel %q, want the Stringer's", f.ShortLabel())
	}
	<-entered
	must(t, f.Stop(ctx))
	if f.State() != service.Shutdown || f.CrashReason() != nil {
		t.Fatalf("state %v, reason %v", f.State(), f.CrashReason())
	}
}
