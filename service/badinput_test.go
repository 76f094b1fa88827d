package service_test

import (
	"context"
	"errors"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/gomode/mode/service"
)

// hookSvc is a service whose hooks are plain function fields (nil: no-op).
type hookSvc struct {
	service.Base
	onStart, onStarted, onStop, onShutdown func(ctx context.Context) error
}

func newHookSvc(name string) *hookSvc {
	h := &hookSvc{}
	h.Configure(service.Config{Name: name, Logger: &quiet})
	return h
}

func callIf(fn func(context.Context) error, ctx context.Context) error {
	if fn == nil {
		return nil
	}
	return fn(ctx)
}

func (h *hookSvc) OnStart(ctx context.Context) error    { return callIf(h.onStart, ctx) }
func (h *hookSvc) OnStarted(ctx context.Context) error  { return callIf(h.onStarted, ctx) }
func (h *hookSvc) OnStop(ctx context.Context) error     { return callIf(h.onStop, ctx) }
func (h *hookSvc) OnShutdown(ctx context.Context) error { return callIf(h.onShutdown, ctx) }

var (
	_ service.OnStarter     = (*hookSvc)(nil)
	_ service.OnStartedHook = (*hookSvc)(nil)
	_ service.OnStopper     = (*hookSvc)(nil)
	_ service.OnShutdowner  = (*hookSvc)(nil)
)

// startStopped starts s and stops it when the test ends.
func startStopped(t *testing.T, ctx context.Context, s service.Service) {
	t.Helper()
	must(t, service.Start(ctx, s))
	t.Cleanup(func() {
		if err := s.Stop(context.Background()); err != nil {
			t.Errorf("cleanup Stop(%s): %v", s.Label(), err)
		}
	})
}

// noHang runs fn and returns its error; a panic or a hang fails the test.
func noHang(t *testing.T, fn func() error) error {
	t.Helper()
	type result struct {
		err   error
		panic any
		stack []byte
	}
	ch := make(chan result, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				ch <- result{panic: v, stack: debug.Stack()}
			}
		}()
		ch <- result{err: fn()}
	}()
	watchdog := time.NewTimer(10 * time.Second) // a watchdog, not a synchronisation
	defer watchdog.Stop()
	select {
	case r := <-ch:
		if r.panic != nil {
			t.Fatalf("panicked: %v\n%s", r.panic, r.stack)
		}
		return r.err
	case <-watchdog.C:
		t.Fatal("hung for 10s")
		return nil
	}
}

// ownerA and ownerB share one Base: ownerB{a} is a different outer value
// with the same embedded Base as a.
type ownerA struct{ service.Base }
type ownerB struct{ *ownerA }

func TestBadInput(t *testing.T) {
	var nilProbe *probe
	cases := []struct {
		name string
		want error // nil: the call must return nil
		run  func(t *testing.T, ctx context.Context) error
	}{
		{"Start nil", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			return service.Start(ctx, nil)
		}},
		{"Start typed nil pointer", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			return service.Start(ctx, nilProbe)
		}},
		{"MaybeStart nil", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			ok, err := service.MaybeStart(ctx, nil)
			if ok {
				t.Error("MaybeStart(nil) reported a start")
			}
			return err
		}},
		{"AddDependency nil", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			err := p.AddDependency(nil)
			wantChildren(t, p, 0)
			return err
		}},
		{"AddDependency typed nil", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			err := p.AddDependency(nilProbe)
			wantChildren(t, p, 0)
			return err
		}},
		{"AddRuntimeDependency typed nil", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			startStopped(t, ctx, p)
			err := p.AddRuntimeDependency(ctx, nilProbe)
			wantChildren(t, p, 0)
			return err
		}},
		{"same child added twice", service.ErrAlreadyAdded, func(t *testing.T, ctx context.Context) error {
			p, c := newProbe("p", &recorder{}), newProbe("c", &recorder{})
			must(t, p.AddDependency(c))
			err := p.AddDependency(c)
			wantChildren(t, p, 1)
			return err
		}},
		{"child of another parent", service.ErrHasParent, func(t *testing.T, ctx context.Context) error {
			a, b, c := newProbe("a", &recorder{}), newProbe("b", &recorder{}), newProbe("c", &recorder{})
			must(t, a.AddDependency(c))
			err := b.AddDependency(c)
			wantChildren(t, b, 0)
			if c.Node().Parent() != a.Node() {
				t.Error("child moved to the second parent")
			}
			return err
		}},
		{"root under its own descendant", service.ErrCycle, func(t *testing.T, ctx context.Context) error {
			root, all := tree(t, &recorder{})
			a1 := all[2]
			err := a1.AddDependency(root)
			wantChildren(t, a1, 0)
			if root.Node().Parent() != nil {
				t.Error("root got a parent")
			}
			return err
		}},
		{"inner node under its own descendant", service.ErrCycle, func(t *testing.T, ctx context.Context) error {
			_, all := tree(t, &recorder{})
			a, a1 := all[1], all[2]
			err := a1.AddDependency(a)
			wantChildren(t, a1, 0)
			return err
		}},
		{"service added to itself", service.ErrCycle, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			err := p.AddDependency(p)
			wantChildren(t, p, 0)
			return err
		}},
		{"AddDependency on a running parent", service.ErrRunning, func(t *testing.T, ctx context.Context) error {
			p, c := newProbe("p", &recorder{}), newProbe("c", &recorder{})
			startStopped(t, ctx, p)
			err := p.AddDependency(c)
			wantChildren(t, p, 0)
			if c.State() != service.Init {
				t.Errorf("child state %v", c.State())
			}
			return err
		}},
		{"AddDependency on a stopped parent", service.ErrRunning, func(t *testing.T, ctx context.Context) error {
			p, c := newProbe("p", &recorder{}), newProbe("c", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Stop(ctx))
			return p.AddDependency(c)
		}},
		{"AddRuntimeDependency on a stopped parent", service.ErrStopping, func(t *testing.T, ctx context.Context) error {
			p, c := newProbe("p", &recorder{}), newProbe("c", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Stop(ctx))
			err := p.AddRuntimeDependency(ctx, c)
			wantChildren(t, p, 0)
			return err
		}},
		{"Start on a running service", service.ErrAlreadyStarted, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			startStopped(t, ctx, p)
			err := service.Start(ctx, p)
			if p.State() != service.Running {
				t.Errorf("state %v after a second Start", p.State())
			}
			return err
		}},
		{"Stop of a never-started service", nil, func(t *testing.T, ctx context.Context) error {
			rec := &recorder{}
			p := newProbe("p", rec)
			err := p.Stop(ctx)
			if p.State() != service.Init {
				t.Errorf("state %v", p.State())
			}
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("hooks ran: %v", ev)
			}
			return err
		}},
		{"Restart of a never-started service", service.ErrNotStarted, func(t *testing.T, ctx context.Context) error {
			rec := &recorder{}
			p := newProbe("p", rec)
			err := p.Restart(ctx)
			if p.State() != service.Init || p.RestartCount() != 0 {
				t.Errorf("state %v, restarts %d", p.State(), p.RestartCount())
			}
			if ev := rec.take(); len(ev) != 0 {
				t.Errorf("hooks ran: %v", ev)
			}
			return err
		}},
		{"Go with nil fn", service.ErrBadArgument, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			startStopped(t, ctx, p)
			return p.Go("nil", nil)
		}},
		{"Defer with nil fn", service.ErrBadArgument, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			startStopped(t, ctx, p)
			return p.Defer(nil)
		}},
		{"AddCloser with nil closer", service.ErrBadArgument, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			startStopped(t, ctx, p)
			return p.AddCloser(nil)
		}},
		{"AddCloser with a typed nil closer", service.ErrBadArgument,
			func(t *testing.T, ctx context.Context) error {
				p := newProbe("p", &recorder{})
				startStopped(t, ctx, p)
				return p.AddCloser((*closerRec)(nil))
			}},
		{"Go before start", service.ErrNotStarted, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			return p.Go("early", func(context.Context) error {
				t.Error("task of a never-started service ran")
				return nil
			})
		}},
		{"Defer before start", service.ErrNotStarted, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			return p.Defer(func() error { t.Error("deferred fn ran"); return nil })
		}},
		{"Go after stop", service.ErrNotStarted, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			must(t, service.Start(ctx, p))
			must(t, p.Stop(ctx))
			return p.Go("late", func(context.Context) error {
				t.Error("task of a stopped service ran")
				return nil
			})
		}},
		{"Go from inside OnStop", service.ErrStopping, func(t *testing.T, ctx context.Context) error {
			h := newHookSvc("h")
			var goErr error
			h.onStop = func(context.Context) error {
				goErr = h.Go("late", func(context.Context) error {
					t.Error("task registered in OnStop ran")
					return nil
				})
				return nil
			}
			must(t, service.Start(ctx, h))
			must(t, h.Stop(ctx))
			return goErr
		}},
		{"Defer from inside OnStop", service.ErrStopping, func(t *testing.T, ctx context.Context) error {
			h := newHookSvc("h")
			var deferErr error
			h.onStop = func(context.Context) error {
				deferErr = h.Defer(func() error { t.Error("fn deferred in OnStop ran"); return nil })
				return nil
			}
			must(t, service.Start(ctx, h))
			must(t, h.Stop(ctx))
			return deferErr
		}},
		{"Go on a crashed service", service.ErrStopping, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			startStopped(t, ctx, p)
			p.Crash(errBoom)
			return p.Go("late", func(context.Context) error {
				t.Error("task of a crashed service ran")
				return nil
			})
		}},
		{"RemoveDependency of a non-child", service.ErrNotChild, func(t *testing.T, ctx context.Context) error {
			p, other := newProbe("p", &recorder{}), newProbe("other", &recorder{})
			startStopped(t, ctx, p)
			startStopped(t, ctx, other)
			err := p.RemoveDependency(ctx, other)
			if other.State() != service.Running {
				t.Errorf("non-child stopped: %v", other.State())
			}
			return err
		}},
		{"RemoveDependency of a grandchild", service.ErrNotChild, func(t *testing.T, ctx context.Context) error {
			root, all := tree(t, &recorder{})
			a1 := all[2]
			err := root.RemoveDependency(ctx, a1)
			if a1.Node().Parent() != all[1].Node() {
				t.Error("grandchild detached")
			}
			return err
		}},
		{"RemoveDependency nil", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			p := newProbe("p", &recorder{})
			return p.RemoveDependency(ctx, nil)
		}},
		{"RemoveDependency typed nil", service.ErrNilService,
			func(t *testing.T, ctx context.Context) error {
				p := newProbe("p", &recorder{})
				return p.RemoveDependency(ctx, nilProbe)
			}},
		{"one Base under two outer values (wrapper)", service.ErrTwoOwners, func(t *testing.T, ctx context.Context) error {
			a := &ownerA{}
			a.Configure(service.Config{Logger: &quiet})
			startStopped(t, ctx, a)
			err := service.Start(ctx, ownerB{a})
			if a.State() != service.Running {
				t.Errorf("state %v", a.State())
			}
			return err
		}},
		{"one Base under two outer values (&x.Base after x)", service.ErrTwoOwners, func(t *testing.T, ctx context.Context) error {
			x, parent := &ownerA{}, newProbe("parent", &recorder{})
			x.Configure(service.Config{Logger: &quiet})
			must(t, service.Start(ctx, x))
			t.Cleanup(func() { _ = x.Stop(context.Background()) })
			err := parent.AddDependency(&x.Base)
			wantChildren(t, parent, 0)
			return err
		}},
		{"one Base under two outer values (AddDependency first)", service.ErrTwoOwners, func(t *testing.T, ctx context.Context) error {
			x, parent := &ownerA{}, newProbe("parent", &recorder{})
			x.Configure(service.Config{Logger: &quiet})
			must(t, parent.AddDependency(x))
			return service.Start(ctx, &x.Base)
		}},
		{"Func with nil function", service.ErrBadArgument, func(t *testing.T, ctx context.Context) error {
			f := service.Func("nilfn", nil)
			f.Configure(service.Config{Logger: &quiet})
			err := service.Start(ctx, f)
			if f.State() != service.Init {
				t.Errorf("state %v after a failed start", f.State())
			}
			return err
		}},
		{"FromSuture(nil)", service.ErrBadArgument, func(t *testing.T, ctx context.Context) error {
			f := service.FromSuture(nil)
			f.Configure(service.Config{Logger: &quiet})
			return service.Start(ctx, f)
		}},
		{"ToSuture(nil).Serve", service.ErrNilService, func(t *testing.T, ctx context.Context) error {
			return service.ToSuture(nil).Serve(ctx)
		}},
		{"Await on a nil service", service.ErrNilService,
			func(t *testing.T, ctx context.Context) error {
				_, _, err := service.Await[int](ctx, nil, make(chan int))
				return err
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := bg(t)
			err := noHang(t, func() error { return tc.run(t, ctx) })
			switch {
			case tc.want == nil && err != nil:
				t.Fatalf("got %v, want nil", err)
			case tc.want != nil && !errors.Is(err, tc.want):
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func wantChildren(t *testing.T, s service.Service, n int) {
	t.Helper()
	if got := len(s.Node().Children()); got != n {
		t.Errorf("%s has %d children, want %d", s.Label(), got, n)
	}
}

// Crash(nil) still crashes, with ErrNilReason; Crash on a service with no
// run is ignored.
func TestCrashNilAndIdle(t *testing.T) {
	ctx := bg(t)
	p := newProbe("p", &recorder{})
	p.Crash(errBoom) // Init: ignored
	if p.State() != service.Init || p.CrashReason() != nil {
		t.Fatalf("Crash in Init: state %v, reason %v", p.State(), p.CrashReason())
	}
	must(t, service.Start(ctx, p))
	p.Crash(nil)
	if p.State() != service.Crashed || !errors.Is(p.CrashReason(), service.ErrNilReason) {
		t.Fatalf("Crash(nil): state %v, reason %v", p.State(), p.CrashReason())
	}
	p.Crash(errBoom) // first reason wins
	if !errors.Is(p.CrashReason(), service.ErrNilReason) {
		t.Fatalf("second Crash replaced the reason: %v", p.CrashReason())
	}
	must(t, p.Stop(ctx))
	p.Crash(errBoom) // Shutdown: ignored
	if p.State() != service.Shutdown {
		t.Fatalf("Crash after Stop: state %v", p.State())
	}
	// The run ended by a crash: WaitUntilStopped gives its reason.
	if err := p.WaitUntilStopped(ctx); !errors.Is(err, service.ErrNilReason) {
		t.Fatalf("WaitUntilStopped after crash and Stop: %v", err)
	}
}

// Config.Validate makes Start's check: a negative duration is
// ErrBadArgument, naming the field; zero values are the defaults.
func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		field string
		cfg   service.Config
	}{
		{"", service.Config{}},
		{"", service.Config{StopTimeout: time.Second, ShutdownTimeout: time.Second, MonitoringInterval: time.Second, HeartbeatDeadline: time.Second}},
		{"StopTimeout", service.Config{StopTimeout: -1}},
		{"ShutdownTimeout", service.Config{ShutdownTimeout: -time.Second}},
		{"MonitoringInterval", service.Config{MonitoringInterval: -time.Second}},
		{"HeartbeatDeadline", service.Config{HeartbeatDeadline: -time.Second}},
	} {
		err := tc.cfg.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.cfg, err)
			}
			continue
		}
		if !errors.Is(err, service.ErrBadArgument) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: %v, want ErrBadArgument naming it", tc.field, err)
		}
		s := newHookSvc("bad")
		s.Configure(tc.cfg)
		if serr := service.Start(context.Background(), s); !errors.Is(serr, service.ErrBadArgument) {
			t.Errorf("%s: Start: %v", tc.field, serr)
		}
	}
}
